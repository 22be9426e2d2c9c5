//! Kubeconfig files for a local control plane, with everything embedded so they can be copied.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

/// How a kubeconfig user authenticates.
pub enum Credentials<'a> {
    ClientCertificate { cert: &'a str, key: &'a str },
    BearerToken(&'a str),
}

/// The YAML of a one-cluster, one-user kubeconfig.
pub fn render(server: &str, ca_pem: &str, user: &str, credentials: Credentials<'_>) -> String {
    let user_entry = match credentials {
        Credentials::ClientCertificate { cert, key } => json!({
            "client-certificate-data": STANDARD.encode(cert),
            "client-key-data": STANDARD.encode(key),
        }),
        Credentials::BearerToken(token) => json!({"token": token}),
    };
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "nodepool-local", "cluster": {
            "server": server,
            "certificate-authority-data": STANDARD.encode(ca_pem),
        }}],
        "users": [{"name": user, "user": user_entry}],
        "contexts": [{"name": "nodepool-local", "context": {"cluster": "nodepool-local", "user": user}}],
        "current-context": "nodepool-local",
    });
    serde_yaml::to_string(&config).unwrap_or_default()
}

/// Writes a kubeconfig readable by its owner only (it carries credentials).
pub fn write(path: &Path, yaml: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(yaml.as_bytes())
}

/// Why a kubeconfig gave no client.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("kubeconfig {path}: {source}")]
    Kubeconfig {
        path: String,
        #[source]
        source: kube::config::KubeconfigError,
    },
    #[error("client for {path}: {source}")]
    Client {
        path: String,
        #[source]
        source: kube::Error,
    },
}

/// A client for the kubeconfig at `path`.
pub async fn client(path: &Path) -> Result<kube::Client, ClientError> {
    let shown = path.display().to_string();
    let kubeconfig =
        kube::config::Kubeconfig::read_from(path).map_err(|source| ClientError::Kubeconfig {
            path: shown.clone(),
            source,
        })?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|source| ClientError::Kubeconfig {
            path: shown.clone(),
            source,
        })?;
    kube::Client::try_from(config).map_err(|source| ClientError::Client {
        path: shown,
        source,
    })
}
