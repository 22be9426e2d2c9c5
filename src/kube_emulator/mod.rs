//! An in-memory Kubernetes API server for tests and local trials, reached through an ordinary
//! kubeconfig by `kubectl` and kube-rs alike, and strict where the real API server is strict.
//!
//! Serves CustomResourceDefinitions (from a folder at start and through
//! `apiextensions.k8s.io/v1`), custom resources of every served CRD version, core `v1`
//! Namespaces, Secrets and Events, `events.k8s.io/v1` Events, `coordination.k8s.io/v1` Leases,
//! and discovery. Semantics follow the API server: one global `resourceVersion` counter, `uid`,
//! `creationTimestamp`, `generation` moved by spec changes only; get, list (label and
//! `metadata.name`/`metadata.namespace` field selectors, `limit`/`continue`), watch (ordered
//! events from a version, bookmarks when asked, `timeoutSeconds`, `410 Gone` as an `ERROR` event
//! for versions older than the history window); create, update with optimistic concurrency
//! (409), delete with preconditions, merge patch, JSON patch (a failing `test` is refused), the
//! `status` subresource (each side ignores the other's fields), finalizers and
//! `deletionTimestamp` (no new finalizers once deletion started); for custom resources the
//! structural schema: pruning of unknown fields (also in `status` and `metadata`), defaults,
//! types, `required`, `enum`, `pattern`, bounds, lengths, item counts, `nullable`, `allOf`/
//! `anyOf`/`oneOf`/`not`, and CEL `x-kubernetes-validations` with transition rules, answered
//! with `422 Invalid` Status objects shaped like the real ones. `kubectl get` receives Tables
//! with the CRD's printer columns.
//!
//! Fault hooks ([`RunningEmulator::close_watches`], [`RunningEmulator::fail_next`],
//! [`RunningEmulator::set_latency`], [`RunningEmulator::compact`]) and an audit log
//! ([`RunningEmulator::audit`]) serve tests.
//!
//! Not implemented (known differences):
//! - Server-side apply is a subset: `application/apply-patch+yaml` with a required
//!   `fieldManager` creates the object or merges the applied configuration into it (merge-patch
//!   semantics); field ownership, `managedFields` and conflict detection are not tracked, so
//!   `force` has no effect and no apply conflict is ever reported.
//! - Strategic merge patch is treated as a merge patch for built-in types (lists are replaced,
//!   not merged by key); for custom resources it is refused with 415, as the API server does.
//! - No authentication or authorization (every token is accepted; the audit log records what
//!   was asked so tests can derive RBAC), no admission webhooks, no `dryRun`, no
//!   `deletecollection`, no `resourceVersionMatch`, no garbage collection by owner references,
//!   no namespace cascade deletion, no conversion between CRD versions (all served versions
//!   share one stored object, re-labelled with the requested `apiVersion`), no OpenAPI
//!   documents (`/openapi/v2` and `/openapi/v3` answer 404; use `kubectl --validate=false`),
//!   no protobuf, no HTTP/2, no aggregated discovery (clients fall back to the legacy documents).
//! - Only `metadata.name` and `metadata.namespace` field selectors are supported; others are
//!   refused with 400 as the API server refuses unknown field labels.

mod audit;
mod discovery;
mod jsonpath;
mod kubeconfig;
mod ops;
mod registry;
mod schema;
mod selector;
mod server;
mod status;
mod store;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

pub use audit::{AuditEntry, FailRule};
pub use kubeconfig::kubeconfig;

use audit::Hooks;
use server::Shared;
use store::State;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("cannot read CRD folder {path}: {source}")]
    ReadCrds {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid CRD in {path}: {message}")]
    BadCrd { path: PathBuf, message: String },
    #[error("cannot listen: {0}")]
    Listen(std::io::Error),
    #[error("cannot build a client: {0}")]
    Client(String),
}

/// Configures an emulator.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    crds_dirs: Vec<PathBuf>,
    history_window: usize,
    bookmark_interval: Duration,
    listen: String,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            crds_dirs: Vec::new(),
            history_window: 10_000,
            bookmark_interval: Duration::from_secs(5),
            listen: "127.0.0.1:0".into(),
        }
    }
}

/// Entry point: `Emulator::builder().crds_dir("crds").start().await?`.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

impl EmulatorBuilder {
    /// Loads every `.yaml`/`.yml`/`.json` CRD in `dir` at start (several documents per file).
    pub fn crds_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.crds_dirs.push(dir.into());
        self
    }

    /// How many changes watches can replay; older versions get 410 Gone.
    pub fn history_window(mut self, changes: usize) -> Self {
        self.history_window = changes;
        self
    }

    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Address to listen on (default: a free port on 127.0.0.1).
    pub fn listen(mut self, addr: impl Into<String>) -> Self {
        self.listen = addr.into();
        self
    }

    pub async fn start(self) -> Result<RunningEmulator, EmulatorError> {
        let mut state = State::new(self.history_window);
        for ns in ["default", "kube-system", "kube-public"] {
            let target = ops::Target {
                resource: &namespace_type(&state),
                namespace: "",
            };
            let _ = ops::create(&mut state, &target, json!({"metadata": {"name": ns}}));
        }
        for dir in &self.crds_dirs {
            for crd in load_crds(dir)? {
                let target = ops::Target {
                    resource: &crd_type(&state),
                    namespace: "",
                };
                let name = crd["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                ops::create(&mut state, &target, crd).map_err(|e| EmulatorError::BadCrd {
                    path: dir.clone(),
                    message: format!("{name}: {}", e.body["message"].as_str().unwrap_or_default()),
                })?;
            }
        }
        let listener = TcpListener::bind(&self.listen)
            .await
            .map_err(EmulatorError::Listen)?;
        let addr = listener.local_addr().map_err(EmulatorError::Listen)?;
        let (close_watches, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            hooks: Hooks::default(),
            close_watches,
            bookmark_interval: self.bookmark_interval,
        });
        let (stop, mut stopped) = watch::channel(false);
        let accept_shared = shared.clone();
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = stopped.changed() => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let shared = accept_shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| server::handle(shared.clone(), req));
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(RunningEmulator {
            addr,
            shared,
            stop,
            task: Some(task),
        })
    }
}

fn namespace_type(state: &State) -> registry::ResourceType {
    state
        .registry
        .get("", "v1", "namespaces")
        .cloned()
        .unwrap_or_else(|| unreachable!("namespaces are built in"))
}

fn crd_type(state: &State) -> registry::ResourceType {
    state
        .registry
        .get("apiextensions.k8s.io", "v1", "customresourcedefinitions")
        .cloned()
        .unwrap_or_else(|| unreachable!("CRDs are built in"))
}

fn load_crds(dir: &Path) -> Result<Vec<Value>, EmulatorError> {
    let read_error = |source| EmulatorError::ReadCrds {
        path: dir.to_owned(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(read_error)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        })
        .collect();
    paths.sort();
    let mut crds = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| EmulatorError::ReadCrds {
            path: path.clone(),
            source,
        })?;
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value = <Value as serde::Deserialize>::deserialize(document).map_err(|e| {
                EmulatorError::BadCrd {
                    path: path.clone(),
                    message: e.to_string(),
                }
            })?;
            if value.is_object() && value["kind"] == "CustomResourceDefinition" {
                crds.push(value);
            }
        }
    }
    Ok(crds)
}

/// A running emulator; stops when dropped.
#[derive(Debug)]
pub struct RunningEmulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl RunningEmulator {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kube-rs client for this emulator.
    pub fn client(&self) -> Result<kube::Client, EmulatorError> {
        let uri: http::Uri = self
            .url()
            .parse()
            .map_err(|e: http::uri::InvalidUri| EmulatorError::Client(e.to_string()))?;
        let config = kube::Config::new(uri);
        kube::Client::try_from(config).map_err(|e| EmulatorError::Client(e.to_string()))
    }

    pub fn kubeconfig(&self) -> String {
        kubeconfig(&self.url())
    }

    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        std::fs::write(path, self.kubeconfig())
    }

    /// Requests served so far.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.shared
            .hooks
            .audit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Ends every open watch now (clients must resume).
    pub fn close_watches(&self) {
        self.shared
            .close_watches
            .send_modify(|generation| *generation += 1);
    }

    /// Fails the next matching requests with 500 or 429.
    pub fn fail_next(&self, rule: FailRule) {
        self.shared
            .hooks
            .fail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(rule);
    }

    /// Removes every pending failure rule.
    pub fn clear_failures(&self) {
        self.shared
            .hooks
            .fail
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Delays every request.
    pub fn set_latency(&self, latency: Duration) {
        *self
            .shared
            .hooks
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = latency;
    }

    /// Forgets the change history: watches from any earlier version get 410 Gone.
    pub fn compact(&self) {
        self.shared.lock().compact();
    }

    /// The current global resource version.
    pub fn resource_version(&self) -> u64 {
        self.shared.lock().rv
    }

    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.close_watches();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.shared
            .close_watches
            .send_modify(|generation| *generation += 1);
    }
}
