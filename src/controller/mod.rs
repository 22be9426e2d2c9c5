//! The NodePool controller: a kube-runtime `Controller` over NodePools, woken also by changes
//! of CloudAccounts and Secrets, running [`reconcile::reconcile`] with [`reconcile::error_policy`].

pub mod accounts;
pub mod desired;
pub mod error;
pub mod observe;
pub mod plan;
pub mod reconcile;
pub mod status;
pub mod telemetry;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, ResourceExt};

use crate::api::{CloudAccount, NodePool};
use crate::provider::retry::RetryPolicy;
use crate::provider::transport::{Timeouts, Transport};

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Watch one namespace, or all.
    pub namespace: Option<String>,
    pub concurrency: u16,
    /// Drift checks of settled pools, unless the account or the NodePool says otherwise.
    pub poll_interval: Duration,
    /// Requeue while the cloud works.
    pub wait_interval: Duration,
    /// First error backoff (doubles per failure, at most 5 minutes).
    pub error_backoff: Duration,
    pub retry: RetryPolicy,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (none when `None`).
    pub metrics_addr: Option<std::net::SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            namespace: None,
            concurrency: 8,
            poll_interval: Duration::from_secs(300),
            wait_interval: Duration::from_secs(10),
            error_backoff: Duration::from_secs(2),
            retry: RetryPolicy::default(),
            metrics_addr: None,
        }
    }
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub config: Config,
    pub accounts: accounts::Accounts,
    pub observations: observe::Observations,
    pub recorder: Recorder,
    pub metrics: Arc<telemetry::Metrics>,
    pub failures: Mutex<HashMap<String, u32>>,
    pub last_warning: Mutex<HashMap<String, String>>,
}

/// Runs the controller until `shutdown` completes.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let transport = Transport::new(Timeouts::default(), config.retry)?;
    let (pools, accounts, secrets): (Api<NodePool>, Api<CloudAccount>, Api<Secret>) =
        match &config.namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
            ),
            None => (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client.clone()),
            ),
        };
    let metrics = Arc::new(telemetry::Metrics::new(transport.metrics.clone()));
    if let Some(addr) = config.metrics_addr {
        let metrics = metrics.clone();
        // Bind before starting, so a taken port fails the command at once.
        let listener = tokio::net::TcpListener::bind(addr).await?;
        tokio::spawn(async move {
            if let Err(error) = telemetry::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics endpoint stopped");
            }
        });
    }
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: "nodepool-operator".into(),
            instance: std::env::var("POD_NAME").ok(),
        },
    );
    let ctx = Arc::new(Context {
        client: client.clone(),
        accounts: accounts::Accounts::new(transport),
        observations: observe::Observations::default(),
        recorder,
        metrics: metrics.clone(),
        failures: Mutex::new(HashMap::new()),
        last_warning: Mutex::new(HashMap::new()),
        config: config.clone(),
    });
    // Ready once the API server answers for NodePools (reachable, CRD installed, RBAC in place).
    pools
        .list(&kube::api::ListParams::default().limit(1))
        .await?;
    metrics
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    let controller = Controller::new(pools, watcher::Config::default());
    let store = controller.store();
    let store_for_secrets = store.clone();
    controller
        .watches(accounts, watcher::Config::default(), move |account| {
            let ns = account.namespace();
            let name = account.name_any();
            store
                .state()
                .into_iter()
                .filter(|p| p.namespace() == ns && p.spec.account_ref.name == name)
                .map(|p| ObjectRef::from_obj(&*p))
                .collect::<Vec<_>>()
        })
        .watches(secrets, watcher::Config::default(), move |secret| {
            let ns = secret.namespace();
            store_for_secrets
                .state()
                .into_iter()
                .filter(|p| p.namespace() == ns)
                .map(|p| ObjectRef::from_obj(&*p))
                .collect::<Vec<_>>()
        })
        .with_config(kube::runtime::controller::Config::default().concurrency(config.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "reconcile error");
            }
        })
        .await;
    Ok(())
}
