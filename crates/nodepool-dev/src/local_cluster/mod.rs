//! A local Kubernetes control plane: a real etcd and kube-apiserver started as child processes
//! on free loopback ports, the way controller-runtime's envtest does. `dev` starts one when no
//! cluster is reachable; `control-plane` starts one on its own; the end-to-end tests run on it.
//!
//! There is no controller-manager: no garbage collection, no namespace deletion, no token
//! controller (tokens come from the TokenRequest API).

pub mod assets;
pub mod certs;
pub mod kubeconfig;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use assets::{Assets, AssetsError};

/// How long each process may take to become healthy (generous: 2 slow cores).
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Records every request's metadata (the end-to-end tests read it to check RBAC), and the
/// bodies written to NodePools, CloudAccounts and Events, so a test can scan what the operator
/// wrote for credentials; Secrets stay at metadata level.
const AUDIT_POLICY: &str = "apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Request
    resources:
      - group: nodepool.io
      - group: \"\"
        resources: [events]
      - group: events.k8s.io
  - level: Metadata
";

/// A running etcd and kube-apiserver; both are stopped when this is dropped.
pub struct LocalCluster {
    dir: PathBuf,
    url: String,
    etcd_url: String,
    etcd: Option<Child>,
    apiserver: Option<Child>,
}

/// Why a local control plane did not start.
#[derive(Debug, thiserror::Error)]
pub enum LocalClusterError {
    #[error(transparent)]
    Assets(#[from] AssetsError),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("generating certificates: {0}")]
    Certificates(#[from] rcgen::Error),
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} exited ({status}) before it was ready; its log {log} ends with:\n{tail}")]
    Exited {
        what: &'static str,
        status: std::process::ExitStatus,
        log: PathBuf,
        tail: String,
    },
    #[error("{what} was not ready at {url} within {timeout:?}; see {log}")]
    NotReady {
        what: &'static str,
        url: String,
        timeout: Duration,
        log: PathBuf,
    },
    #[error(transparent)]
    Client(#[from] kubeconfig::ClientError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LocalClusterError + '_ {
    move |source| LocalClusterError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn free_port() -> Result<u16, LocalClusterError> {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").map_err(io(Path::new("127.0.0.1:0")))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(io(Path::new("127.0.0.1:0")))
}

fn write(path: &Path, text: &str) -> Result<(), LocalClusterError> {
    std::fs::write(path, text).map_err(io(path))
}

/// The last lines of a log, to show why a process died.
fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

fn spawn(binary: &Path, args: &[String], log: &Path) -> Result<Child, LocalClusterError> {
    let out = std::fs::File::create(log).map_err(io(log))?;
    let err = out.try_clone().map_err(io(log))?;
    Command::new(binary)
        .args(args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|source| LocalClusterError::Spawn {
            binary: binary.to_path_buf(),
            source,
        })
}

impl LocalCluster {
    /// Starts etcd and kube-apiserver with their state, certificates, logs and audit log under
    /// `dir`, and waits until the API server is ready and namespace `default` exists.
    pub async fn start(assets: &Assets, dir: &Path) -> Result<Self, LocalClusterError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let certs = certs::Certificates::generate()?;
        let file = |name: &str| dir.join(name);
        write(&file("ca.crt"), &certs.ca)?;
        write(&file("apiserver.crt"), &certs.serving.cert)?;
        write(&file("apiserver.key"), &certs.serving.key)?;
        write(&file("service-account.pub"), &certs.service_account_public)?;
        write(&file("service-account.key"), &certs.service_account_private)?;
        write(&file("audit-policy.yaml"), AUDIT_POLICY)?;

        let (client_port, peer_port, secure_port) = (free_port()?, free_port()?, free_port()?);
        let etcd_url = format!("http://127.0.0.1:{client_port}");
        let peer_url = format!("http://127.0.0.1:{peer_port}");
        let url = format!("https://127.0.0.1:{secure_port}");
        // For tools that read or write the storage directly, as a test of objects stored under
        // another schema does.
        write(&file("etcd-url"), &etcd_url)?;
        let kubeconfig_path = file("kubeconfig");
        kubeconfig::write(
            &kubeconfig_path,
            &kubeconfig::render(
                &url,
                &certs.ca,
                "admin",
                kubeconfig::Credentials::ClientCertificate {
                    cert: &certs.admin.cert,
                    key: &certs.admin.key,
                },
            ),
        )
        .map_err(io(&kubeconfig_path))?;

        let mut cluster = Self {
            dir: dir.to_path_buf(),
            url: url.clone(),
            etcd_url: etcd_url.clone(),
            etcd: None,
            apiserver: None,
        };
        let data = file("etcd-data");
        let etcd_args: Vec<String> = [
            "--name=local".to_owned(),
            format!("--data-dir={}", data.display()),
            format!("--listen-client-urls={etcd_url}"),
            format!("--advertise-client-urls={etcd_url}"),
            format!("--listen-peer-urls={peer_url}"),
            format!("--initial-advertise-peer-urls={peer_url}"),
            format!("--initial-cluster=local={peer_url}"),
            "--unsafe-no-fsync=true".to_owned(),
            "--log-level=warn".to_owned(),
        ]
        .into();
        let etcd_log = file("etcd.log");
        cluster.etcd = Some(spawn(&assets.etcd(), &etcd_args, &etcd_log)?);
        cluster.wait_etcd(&etcd_log).await?;

        let path = |name: &str| file(name).display().to_string();
        let apiserver_args: Vec<String> = [
            format!("--etcd-servers={etcd_url}"),
            "--bind-address=127.0.0.1".to_owned(),
            "--advertise-address=127.0.0.1".to_owned(),
            format!("--secure-port={secure_port}"),
            format!("--tls-cert-file={}", path("apiserver.crt")),
            format!("--tls-private-key-file={}", path("apiserver.key")),
            format!("--client-ca-file={}", path("ca.crt")),
            "--authorization-mode=RBAC".to_owned(),
            "--service-cluster-ip-range=10.0.0.0/24".to_owned(),
            "--allow-privileged=true".to_owned(),
            "--disable-admission-plugins=ServiceAccount".to_owned(),
            format!("--service-account-issuer={url}/"),
            format!("--service-account-key-file={}", path("service-account.pub")),
            format!(
                "--service-account-signing-key-file={}",
                path("service-account.key")
            ),
            format!("--audit-policy-file={}", path("audit-policy.yaml")),
            format!("--audit-log-path={}", path("audit.log")),
            "--audit-log-mode=blocking".to_owned(),
        ]
        .into();
        let apiserver_log = file("kube-apiserver.log");
        cluster.apiserver = Some(spawn(
            &assets.kube_apiserver(),
            &apiserver_args,
            &apiserver_log,
        )?);
        cluster.wait_apiserver(&apiserver_log).await?;
        Ok(cluster)
    }

    /// Fails at once when the process has exited.
    fn check_alive(&mut self, apiserver: bool, log: &Path) -> Result<(), LocalClusterError> {
        let (what, child) = if apiserver {
            ("kube-apiserver", self.apiserver.as_mut())
        } else {
            ("etcd", self.etcd.as_mut())
        };
        if let Some(child) = child
            && let Ok(Some(status)) = child.try_wait()
        {
            return Err(LocalClusterError::Exited {
                what,
                status,
                log: log.to_path_buf(),
                tail: tail(log),
            });
        }
        Ok(())
    }

    async fn wait_etcd(&mut self, log: &Path) -> Result<(), LocalClusterError> {
        let http = reqwest::Client::new();
        let health = format!("{}/health", self.etcd_url);
        let start = Instant::now();
        loop {
            self.check_alive(false, log)?;
            if let Ok(response) = http.get(&health).send().await
                && response.status().is_success()
            {
                return Ok(());
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(LocalClusterError::NotReady {
                    what: "etcd",
                    url: health,
                    timeout: START_TIMEOUT,
                    log: log.to_path_buf(),
                });
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_apiserver(&mut self, log: &Path) -> Result<(), LocalClusterError> {
        let client = self.admin_client().await?;
        let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> =
            kube::Api::all(client.clone());
        let start = Instant::now();
        loop {
            self.check_alive(true, log)?;
            let ready = match http::Request::get("/readyz").body(Vec::new()) {
                Ok(request) => client.request_text(request).await.is_ok(),
                Err(_) => false,
            };
            if ready && matches!(namespaces.get_opt("default").await, Ok(Some(_))) {
                return Ok(());
            }
            if start.elapsed() > START_TIMEOUT {
                return Err(LocalClusterError::NotReady {
                    what: "kube-apiserver",
                    url: format!("{}/readyz", self.url),
                    timeout: START_TIMEOUT,
                    log: log.to_path_buf(),
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// `https://127.0.0.1:PORT` of the API server.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `http://127.0.0.1:PORT` of etcd (its v3 JSON gateway serves compaction, for tests).
    pub fn etcd_url(&self) -> &str {
        &self.etcd_url
    }

    /// Where state, logs and the audit log live.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin (`system:masters`) kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The API server's audit log (JSON lines: metadata, plus the bodies written to NodePools, CloudAccounts and Events).
    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// The CA that signed the serving certificate.
    pub fn ca_pem(&self) -> Result<String, LocalClusterError> {
        let path = self.dir.join("ca.crt");
        std::fs::read_to_string(&path).map_err(io(&path))
    }

    pub async fn admin_client(&self) -> Result<kube::Client, LocalClusterError> {
        Ok(kubeconfig::client(&self.kubeconfig()).await?)
    }

    /// Process ids of kube-apiserver and etcd, while they run.
    pub fn pids(&self) -> Vec<u32> {
        [&self.apiserver, &self.etcd]
            .into_iter()
            .flatten()
            .map(Child::id)
            .collect()
    }

    /// Stops kube-apiserver, then etcd, and waits for both.
    pub fn stop(&mut self) {
        for child in [self.apiserver.take(), self.etcd.take()]
            .into_iter()
            .flatten()
        {
            let mut child = child;
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.stop();
    }
}
