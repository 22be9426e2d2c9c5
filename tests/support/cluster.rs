//! A real etcd + kube-apiserver shared by the tests of one test binary, the way envtest runs
//! one per suite. nextest runs every test in its own process, so the control plane lives in a
//! supervisor process (`nodepool-dev control-plane --exit-with-pid <runner>`) that the
//! first test starts and that stops both servers when the test runner exits. Its state, logs
//! and audit log sit under `target/tmp/control-plane/`; a failing test marks them to be kept.
//!
//! Each test works in a namespace of its own (the control plane has no controller-manager,
//! so namespaces are never deleted).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::authentication::v1::{TokenRequest, TokenRequestSpec};
use k8s_openapi::api::core::v1::{Namespace, ServiceAccount};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::discovery::{Discovery, Scope};
use nodepool_dev::local_cluster::kubeconfig;
use nodepool_dev::local_cluster::{Assets, AssetsError};

/// The operator's identity, from `deploy/rbac.yaml`.
pub const OPERATOR_NAMESPACE: &str = "nodepool-system";
pub const OPERATOR_ACCOUNT: &str = "nodepool-operator";
pub const OPERATOR_USER: &str = "system:serviceaccount:nodepool-system:nodepool-operator";

const START_DEADLINE: Duration = Duration::from_secs(180);

/// A handle on the shared control plane, valid in the calling test.
pub struct Cluster {
    pub dir: PathBuf,
    pub url: String,
    pub ca_pem: String,
    /// `system:masters`.
    pub admin: kube::Client,
}

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One folder per test binary and test run (the runner's pid tells runs apart).
fn state_dir() -> PathBuf {
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "tests".into());
    let binary = binary.split('-').next().unwrap_or("tests").to_owned();
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("control-plane")
        .join(format!("{binary}-{}", std::os::unix::process::parent_id()))
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Removes the folders of earlier runs whose supervisor is gone, unless a test failed there.
fn remove_stale_runs(root: &Path) {
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        let dir = entry.path();
        if !dir.is_dir() || dir.join("keep").exists() {
            continue;
        }
        // A run whose lock is held is starting or in use, whatever its pid file says.
        let in_use = std::fs::File::open(dir.with_extension("lock"))
            .is_ok_and(|lock| lock.try_lock().is_err());
        if in_use {
            continue;
        }
        let pid = std::fs::read_to_string(dir.join("supervisor.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        if pid.is_none_or(|pid| !alive(pid)) {
            let _ = std::fs::remove_dir_all(&dir);
            for suffix in ["out", "err", "lock"] {
                let _ = std::fs::remove_file(dir.with_extension(suffix));
            }
        }
    }
}

/// The control-plane binaries: found, or built by `scripts/control-plane` (minutes, once).
fn assets() -> Assets {
    match Assets::locate(None) {
        Ok(assets) => assets,
        Err(AssetsError::NotBuilt(_)) => {
            eprintln!("building kube-apiserver and etcd from source (scripts/control-plane) ...");
            Assets::build(&manifest_dir().join("scripts/control-plane")).unwrap()
        }
        Err(e) => panic!("{e}"),
    }
}

/// Starts the supervisor and waits for its `export KUBECONFIG=` line.
fn start_supervisor(dir: &Path) {
    // Built (which may take a while) before this run's files exist.
    let binary = super::workspace_binary("nodepool-dev");
    let assets = assets();
    let root = dir.parent().unwrap();
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    let out_path = root.join(format!("{name}.out"));
    let err_path = root.join(format!("{name}.err"));
    let out = std::fs::File::create(&out_path).unwrap();
    let err = std::fs::File::create(&err_path).unwrap();
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(binary)
        .arg("control-plane")
        .arg("--assets")
        .arg(&assets.dir)
        .arg("--state-dir")
        .arg(dir)
        .arg("--exit-with-pid")
        .arg(std::os::unix::process::parent_id().to_string())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group: the runner's per-test cleanup must not take it down.
        .process_group(0)
        .spawn()
        .expect("nodepool-dev control-plane starts");
    let start = std::time::Instant::now();
    loop {
        let printed = std::fs::read_to_string(&out_path).unwrap_or_default();
        if printed.contains("export KUBECONFIG=") {
            break;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "the control plane exited ({status}): {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        assert!(
            start.elapsed() < START_DEADLINE,
            "the control plane did not start within {START_DEADLINE:?}; see {}",
            err_path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(dir.join("supervisor.pid"), child.id().to_string()).unwrap();
}

fn server_url(kubeconfig_path: &Path) -> String {
    let config = kube::config::Kubeconfig::read_from(kubeconfig_path).unwrap();
    config.clusters[0]
        .cluster
        .as_ref()
        .and_then(|c| c.server.clone())
        .unwrap()
}

/// Server-side applies every document of a YAML file (cluster-scoped or into its namespace).
pub async fn apply_file(client: &kube::Client, path: &Path, discovery: &Discovery) {
    let text = std::fs::read_to_string(path).unwrap();
    let params = PatchParams::apply("nodepool-tests").force();
    for document in serde_yaml::Deserializer::from_str(&text) {
        let value: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
        if value.is_null() {
            continue;
        }
        let object: DynamicObject = serde_json::from_value(value).unwrap();
        let types = object.types.clone().unwrap();
        let gvk = kube::core::GroupVersionKind::try_from(&types).unwrap();
        let (resource, caps) = discovery.resolve_gvk(&gvk).unwrap();
        let api: Api<DynamicObject> = match (caps.scope, object.metadata.namespace.as_deref()) {
            (Scope::Cluster, _) => Api::all_with(client.clone(), &resource),
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(client.clone(), ns, &resource),
            (Scope::Namespaced, None) => Api::default_namespaced_with(client.clone(), &resource),
        };
        let name = object.metadata.name.clone().unwrap();
        api.patch(&name, &params, &Patch::Apply(&object))
            .await
            .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()));
    }
}

/// A TokenRequest token for a ServiceAccount (no token controller runs here).
pub async fn service_account_token(admin: &kube::Client, namespace: &str, account: &str) -> String {
    let accounts: Api<ServiceAccount> = Api::namespaced(admin.clone(), namespace);
    let request = TokenRequest {
        spec: TokenRequestSpec {
            audiences: vec![],
            expiration_seconds: Some(24 * 3600),
            ..Default::default()
        },
        ..Default::default()
    };
    accounts
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .unwrap()
        .status
        .unwrap()
        .token
}

/// CRDs, the operator's namespace and RBAC, and a token for its ServiceAccount.
async fn install(dir: &Path, admin: &kube::Client) {
    let discovery = Discovery::new(admin.clone()).run().await.unwrap();
    apply_file(
        admin,
        &manifest_dir().join("crds/nodepool.io.yaml"),
        &discovery,
    )
    .await;
    apply_file(
        admin,
        &manifest_dir().join("deploy/namespace.yaml"),
        &discovery,
    )
    .await;
    apply_file(admin, &manifest_dir().join("deploy/rbac.yaml"), &discovery).await;
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(admin.clone());
    for name in ["nodepools.nodepool.io", "cloudaccounts.nodepool.io"] {
        kube::runtime::wait::await_condition(
            crds.clone(),
            name,
            kube::runtime::wait::conditions::is_crd_established(),
        )
        .await
        .unwrap();
    }
    let token = service_account_token(admin, OPERATOR_NAMESPACE, OPERATOR_ACCOUNT).await;
    std::fs::write(dir.join("operator.token"), &token).unwrap();
    std::fs::write(dir.join("installed"), "").unwrap();
}

impl Cluster {
    /// The control plane of this test binary, started on first use and set up once.
    pub async fn shared() -> Cluster {
        let dir = state_dir();
        let root = dir.parent().unwrap().to_path_buf();
        std::fs::create_dir_all(&root).unwrap();
        let lock_path = root.join(format!(
            "{}.lock",
            dir.file_name().unwrap().to_string_lossy()
        ));
        let lock = std::fs::File::create(&lock_path).unwrap();
        let lock = tokio::task::spawn_blocking(move || {
            lock.lock().unwrap();
            lock
        })
        .await
        .unwrap();
        let running = std::fs::read_to_string(dir.join("supervisor.pid"))
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_some_and(alive);
        if !running {
            remove_stale_runs(&root);
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || start_supervisor(&dir))
                .await
                .unwrap();
        }
        let kubeconfig_path = dir.join("kubeconfig");
        let url = server_url(&kubeconfig_path);
        let ca_pem = std::fs::read_to_string(dir.join("ca.crt")).unwrap();
        let admin = kubeconfig::client(&kubeconfig_path).await.unwrap();
        if !dir.join("installed").exists() {
            install(&dir, &admin).await;
        }
        drop(lock);
        Cluster {
            dir,
            url,
            ca_pem,
            admin,
        }
    }

    /// The admin kubeconfig (for kubectl).
    /// Writes `value` at `key` in etcd directly (through its JSON gateway), bypassing the API
    /// server's validation: what an object stored under an earlier schema looks like.
    pub async fn etcd_put(&self, key: &str, value: &serde_json::Value) {
        use base64::Engine;
        let etcd = std::fs::read_to_string(self.dir.join("etcd-url")).unwrap();
        let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
        let body = serde_json::json!({
            "key": encode(key.as_bytes()),
            "value": encode(&serde_json::to_vec(value).unwrap()),
        });
        let answer = reqwest::Client::new()
            .post(format!("{}/v3/kv/put", etcd.trim()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{:?}", answer.text().await);
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// The token of the operator's ServiceAccount (bound by `deploy/rbac.yaml`).
    pub fn operator_token(&self) -> String {
        std::fs::read_to_string(self.dir.join("operator.token")).unwrap()
    }

    pub fn audit_log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// The audit events of the requests `user` made, in order.
    pub fn audit_events_of(&self, user: &str) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.audit_log())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
            .filter(|event| event["user"]["username"] == user)
            .collect()
    }

    /// A client acting as the operator's ServiceAccount.
    pub async fn operator_client(&self) -> kube::Client {
        self.client_with_token(&self.url, &self.operator_token())
            .await
    }

    /// Writes a kubeconfig for `nodepool-operator run` processes: the operator's ServiceAccount
    /// token, for the server at `url` (the API server, or a fault-injecting proxy in front of it).
    pub fn write_operator_kubeconfig(&self, url: &str, path: &Path) -> PathBuf {
        let yaml = kubeconfig::render(
            url,
            &self.ca_pem,
            "operator",
            kubeconfig::Credentials::BearerToken(self.operator_token().trim()),
        );
        std::fs::write(path, yaml).unwrap();
        path.to_owned()
    }

    /// A client presenting `token` to the server at `url` (the API server, or a
    /// fault-injecting proxy in front of it).
    pub async fn client_with_token(&self, url: &str, token: &str) -> kube::Client {
        let yaml = kubeconfig::render(
            url,
            &self.ca_pem,
            "token",
            kubeconfig::Credentials::BearerToken(token),
        );
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&yaml).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    }

    /// A fresh namespace for one test; the returned guard keeps the logs if the test fails.
    pub async fn namespace(&self, prefix: &str) -> TestNamespace {
        let name = format!(
            "{prefix}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let namespaces: Api<Namespace> = Api::all(self.admin.clone());
        let namespace: Namespace =
            serde_json::from_value(serde_json::json!({"metadata": {"name": name}})).unwrap();
        namespaces
            .create(&PostParams::default(), &namespace)
            .await
            .unwrap();
        TestNamespace {
            name,
            dir: self.dir.clone(),
        }
    }

    /// Runs kubectl as admin with `args`; returns (success, stdout, stderr).
    pub async fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let kubeconfig = self.kubeconfig();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        tokio::task::spawn_blocking(move || {
            let output = Command::new("kubectl")
                .env("KUBECONFIG", &kubeconfig)
                .env("HOME", std::env::temp_dir())
                .args(&args)
                .output()
                .expect("kubectl runs (CI installs it)");
            (
                output.status.success(),
                String::from_utf8_lossy(&output.stdout).into_owned(),
                String::from_utf8_lossy(&output.stderr).into_owned(),
            )
        })
        .await
        .unwrap()
    }
}

/// A test's namespace; when the test panics, the control plane's logs are kept for reading.
pub struct TestNamespace {
    pub name: String,
    dir: PathBuf,
}

impl std::ops::Deref for TestNamespace {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Ok(mut keep) = std::fs::File::create(self.dir.join("keep")) {
                let _ = writeln!(keep, "namespace {} failed", self.name);
            }
            eprintln!(
                "control-plane logs, audit log and state kept in {} (namespace {})",
                self.dir.display(),
                self.name
            );
        }
    }
}
