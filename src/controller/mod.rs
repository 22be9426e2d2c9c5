//! The NodePool controller: a kube-runtime `Controller` over NodePools, woken by what matters
//! (a NodePool's spec, deletion, finalizers and force-orphan annotation; a CloudAccount's spec;
//! the Secret an account uses; the removal of the owner of a pool a NodePool also declares),
//! running [`reconcile::reconcile`] with [`reconcile::error_policy`].
//!
//! The pipeline of one reconcile, a module per step: [`validate`] (pure), [`accounts`] and
//! [`observe`] (reads, from caches where a reflector exists), [`plan`] (pure), [`apply`],
//! [`cleanup`] (on deletion), [`status`] (pure) and [`report`] (status writes, Events). Each
//! step has its own error type; [`error::Error`] joins them with a bounded category.

pub mod account_health;
pub mod accounts;
pub mod acknowledge;
pub mod apply;
pub mod claims;
pub mod cleanup;
pub mod declared;
pub mod error;
pub mod filled;
pub mod observe;
pub mod plan;
pub mod preview;
pub mod progress;
pub mod reconcile;
pub mod refusal;
pub mod report;
pub mod status;
pub mod telemetry;
pub mod validate;

use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::{FutureExt, StreamExt};
use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::core::DeserializeGuard;
use kube::runtime::controller::Error as ControllerError;
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, ObjectRef, Store};
use kube::runtime::{Controller, WatchStreamExt, predicates, watcher};
use kube::{Api, Client, Resource, ResourceExt};

use crate::api::{
    APPROVE_PLAN_ANNOTATION, CloudAccount, FORCE_ORPHAN_ANNOTATION, NodePool, RETRY_ANNOTATION,
};
use crate::provider::retry::RetryPolicy;
use crate::provider::transport::{Timeouts, Transport};

/// Completes when shutdown begins; cloned by whatever must stop waiting then.
pub type Stopping = futures::future::Shared<futures::future::BoxFuture<'static, ()>>;

/// How the controller runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Watch one namespace, or all.
    pub namespace: Option<String>,
    /// Reconcile only the NodePools this label selector matches (one shard of several).
    pub selector: Option<String>,
    pub concurrency: u16,
    /// Drift checks of settled pools, unless the account or the NodePool says otherwise.
    pub poll_interval: Duration,
    /// Requeue while the cloud works.
    pub wait_interval: Duration,
    /// How pools are observed.
    pub observe: Observe,
    /// First error backoff (doubles per failure, at most 5 minutes).
    pub error_backoff: Duration,
    /// Refusals of one plan by the cloud (its 4xx to a create or update) after which the plan
    /// is not sent again until the spec changes or the NodePool asks for a retry.
    pub refused_plan_attempts: u32,
    pub retry: RetryPolicy,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (none when `None`).
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// Reconcile only while holding this Lease (none: always, for a single process).
    pub election: Option<crate::leader::Election>,
    /// How long reconciles in progress may take to finish after a shutdown signal; those
    /// still running then are stopped (a cloud call cut short is looked up again by whoever
    /// reconciles next, as after a crash).
    pub shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            namespace: None,
            selector: None,
            concurrency: 8,
            poll_interval: Duration::from_secs(300),
            wait_interval: Duration::from_secs(10),
            observe: Observe::List,
            error_backoff: Duration::from_secs(2),
            refused_plan_attempts: 10,
            retry: RetryPolicy::default(),
            metrics_addr: None,
            election: None,
            shutdown_timeout: Duration::from_secs(20),
        }
    }
}

/// How the cloud's view of pools is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Observe {
    /// One list per parent per poll window, shared by all its pools.
    List,
    /// Every pool by id on every poll.
    Get,
}

/// Shared by every reconcile.
pub struct Context {
    pub client: Client,
    pub config: Config,
    pub accounts: accounts::Accounts,
    pub health: account_health::AccountHealth,
    /// Every watched NodePool (for the one-owner check).
    pub pools: Store<DeserializeGuard<NodePool>>,
    /// Which NodePools declare each cloud pool.
    pub declared: Arc<declared::Declared>,
    pub observations: observe::list_cache::Observations,
    /// Who publishes the Events (see [`report`] for why each is published without a cache).
    pub reporter: Reporter,
    pub metrics: Arc<telemetry::Metrics>,
    pub failures: Mutex<HashMap<String, u32>>,
    pub last_warning: Mutex<HashMap<String, String>>,
}

/// What of a NodePool should wake the controller: its spec (generation, which also moves when
/// deletion starts), its finalizers, and the force-orphan, plan-approval and retry annotations. Its own status writes do
/// not, so a reconcile never triggers the next one.
fn reconcile_inputs(pool: &DeserializeGuard<NodePool>) -> Option<u64> {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    pool.meta().generation.hash(&mut hasher);
    pool.meta().deletion_timestamp.is_some().hash(&mut hasher);
    pool.finalizers().hash(&mut hasher);
    pool.annotations()
        .get(FORCE_ORPHAN_ANNOTATION)
        .hash(&mut hasher);
    pool.annotations()
        .get(APPROVE_PLAN_ANNOTATION)
        .hash(&mut hasher);
    pool.annotations().get(RETRY_ANNOTATION).hash(&mut hasher);
    Some(hasher.finish())
}

/// The NodePools that declare the same cloud pool as `gone` (woken when it goes, since one of
/// them becomes the owner).
fn same_cloud_pool(
    declared: &declared::Declared,
    gone: &DeserializeGuard<NodePool>,
) -> Vec<ObjectRef<DeserializeGuard<NodePool>>> {
    let Some(location) = readable(gone).and_then(validate::location) else {
        return Vec::new();
    };
    declared.others(&location, &gone.uid().unwrap_or_default())
}

/// What the NodePool cache keeps of a NodePool: neither its managed fields nor the
/// last-applied annotation, which no reconcile reads and which can be most of an object.
fn compact(pool: &mut DeserializeGuard<NodePool>) {
    let meta = pool.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.remove(LAST_APPLIED_ANNOTATION);
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// The NodePool, when the operator could read it.
pub fn readable(object: &DeserializeGuard<NodePool>) -> Option<&NodePool> {
    object.0.as_ref().ok()
}

/// The readable NodePools that `wanted` selects.
fn pools_where(
    store: &Store<DeserializeGuard<NodePool>>,
    wanted: impl Fn(&NodePool) -> bool,
) -> Vec<ObjectRef<DeserializeGuard<NodePool>>> {
    store
        .state()
        .into_iter()
        .filter(|p| readable(p).is_some_and(&wanted))
        .map(|p| ObjectRef::from_obj(&*p))
        .collect()
}

/// Tells the queue metrics that `pools` are woken, and passes them on.
fn queued(
    queue: &telemetry::Queue,
    pools: Vec<ObjectRef<DeserializeGuard<NodePool>>>,
) -> Vec<ObjectRef<DeserializeGuard<NodePool>>> {
    for pool in &pools {
        queue.woken(pool.namespace.as_deref(), &pool.name);
    }
    pools
}

/// A NodePool as the controller watches it: read, or reported as unreadable.
type Watched = DeserializeGuard<NodePool>;

type ReconcileResult = Result<
    (ObjectRef<Watched>, kube::runtime::controller::Action),
    ControllerError<error::Error, watcher::Error>,
>;

/// Logs reconcile failures once per distinct error of an object (a retry with the same error
/// stays quiet), and that the object reconciles again once it does.
#[derive(Default)]
struct FailureLog {
    /// `(namespace, name)` -> the last error logged.
    last: HashMap<(Option<String>, String), String>,
    /// NodePools whose last reconciles met a stale cached copy, with how many in a row.
    stale: HashMap<(Option<String>, String), u32>,
}

/// Reconciles in a row that may meet a stale cached copy before it is logged as a failure: on
/// a busy machine the watch can lag behind the API by more than one error backoff.
const STALE_TOLERATED: u32 = 5;

impl FailureLog {
    /// Counts one more stale copy met by `key`: whether that is still within what is expected.
    fn tolerates_stale(&mut self, key: (Option<String>, String)) -> bool {
        let streak = self.stale.entry(key).or_default();
        *streak += 1;
        *streak <= STALE_TOLERATED
    }

    fn note(&mut self, result: ReconcileResult) {
        match result {
            Ok((object, _)) => {
                let key = (object.namespace.clone(), object.name.clone());
                self.stale.remove(&key);
                if self.last.remove(&key).is_some() {
                    tracing::info!(
                        namespace = object.namespace.as_deref().unwrap_or_default(),
                        name = %object.name,
                        "reconciles again"
                    );
                }
            }
            Err(ControllerError::ReconcilerFailed(error, _))
                if error.is_deletion_pending() || error.is_shutting_down() => {}
            Err(ControllerError::ReconcilerFailed(error, object))
                if error.is_stale_copy()
                    && self.tolerates_stale((object.namespace.clone(), object.name.clone())) =>
            {
                tracing::debug!(name = %object.name, error = %error, "the cached NodePool was stale; reconciles again");
            }
            Err(ControllerError::ReconcilerFailed(error, object)) => {
                let text = report::one_line(&error.to_string());
                let key = (object.namespace.clone(), object.name.clone());
                if self.last.get(&key) == Some(&text) {
                    tracing::debug!(name = %object.name, error = %text, "reconcile failed again");
                    return;
                }
                tracing::warn!(
                    namespace = object.namespace.as_deref().unwrap_or_default(),
                    name = %object.name,
                    category = error.category(),
                    error = %text,
                    "reconcile failed"
                );
                self.last.insert(key, text);
            }
            Err(error) => {
                tracing::warn!(error = %report::one_line(&error.to_string()), "controller error")
            }
        }
    }
}

/// The watched namespace, or all.
fn scoped<K>(client: &Client, config: &Config) -> Api<K>
where
    K: Resource<Scope = kube::core::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match &config.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the controller until `shutdown` completes.
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let transport = Transport::new(Timeouts::default(), config.retry)?;
    let metrics = Arc::new(telemetry::Metrics::new(transport.metrics.clone()));
    if let Some(addr) = config.metrics_addr {
        let metrics = metrics.clone();
        // Bind before starting, so a taken port fails the command at once.
        let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
            anyhow::anyhow!("cannot listen on {addr} for /metrics, /healthz and /readyz: {e}")
        })?;
        tokio::spawn(async move {
            if let Err(error) = telemetry::serve(listener, metrics).await {
                tracing::error!(%error, "the metrics endpoint stopped");
            }
        });
    }
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        namespace = config.namespace.as_deref().unwrap_or("(all)"),
        selector = config.selector.as_deref().unwrap_or("(none)"),
        concurrency = config.concurrency,
        poll_interval_seconds = config.poll_interval.as_secs(),
        wait_interval_seconds = config.wait_interval.as_secs(),
        metrics_addr = %config
            .metrics_addr
            .map_or_else(|| "(off)".to_owned(), |a| a.to_string()),
        leader_election = config.election.is_some(),
        shutdown_timeout_seconds = config.shutdown_timeout.as_secs(),
        "nodepool-operator starting"
    );
    let bound = config.shutdown_timeout;
    match config.election.clone() {
        None => {
            let shutdown = shutdown.boxed().shared();
            let work = control(client, config, transport, metrics, shutdown.clone());
            drain_within(work, shutdown, bound).await
        }
        Some(election) => {
            let role = metrics.clone();
            crate::leader::lead(
                client.clone(),
                election,
                shutdown,
                move |leading| role.set_leading(leading),
                |stopped| async move {
                    let stopped = async move {
                        let _ = stopped.await;
                    }
                    .boxed()
                    .shared();
                    let work = control(client, config, transport, metrics, stopped.clone());
                    drain_within(work, stopped, bound).await
                },
            )
            .await
        }
    }
}

/// Runs `work` to its end, but once `stopping` completes, for at most `bound` more.
async fn drain_within(
    work: impl Future<Output = anyhow::Result<()>>,
    stopping: impl Future<Output = ()>,
    bound: Duration,
) -> anyhow::Result<()> {
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        () = stopping => {}
    }
    tracing::info!(
        timeout_seconds = bound.as_secs(),
        "shutting down: taking no new work, letting reconciles in progress finish"
    );
    match tokio::time::timeout(bound, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                timeout_seconds = bound.as_secs(),
                "reconciles still in progress after the shutdown timeout are stopped"
            );
            Ok(())
        }
    }
}

/// The controller itself: watches, caches and reconciles until `shutdown` completes.
async fn control(
    client: Client,
    config: Config,
    transport: Transport,
    metrics: Arc<telemetry::Metrics>,
    shutdown: Stopping,
) -> anyhow::Result<()> {
    let pools: Api<Watched> = scoped(&client, &config);
    let accounts: Api<DeserializeGuard<CloudAccount>> = scoped(&client, &config);
    let secrets: Api<PartialObjectMeta<Secret>> = scoped(&client, &config);
    let reporter = Reporter {
        controller: "nodepool-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    // Ready once the API server answers for NodePools (reachable, CRD installed, RBAC in place).
    pools
        .list(&kube::api::ListParams::default().limit(1))
        .await?;
    metrics
        .ready
        .store(true, std::sync::atomic::Ordering::Relaxed);

    let (pool_store, pool_writer) = reflector::store::<DeserializeGuard<NodePool>>();
    let (account_store, account_writer) = reflector::store::<DeserializeGuard<CloudAccount>>();
    let (secret_store, secret_writer) = reflector::store();
    let (wake, woken) =
        futures::channel::mpsc::unbounded::<ObjectRef<DeserializeGuard<NodePool>>>();
    let store_for_deletes = pool_store.clone();
    let declared = Arc::new(declared::Declared::default());
    let index = declared.clone();
    let acknowledger = acknowledge::Acknowledger::new(client.clone());
    let (seen_by, woken_by) = (metrics.clone(), metrics.clone());
    let pool_watch = match &config.selector {
        Some(selector) => watcher::Config::default().labels(selector),
        None => watcher::Config::default(),
    };
    let pool_events = watcher(pools, pool_watch)
        .default_backoff()
        .modify(compact)
        .reflect(pool_writer)
        .inspect(move |event| match event {
            Ok(event @ watcher::Event::Delete(gone)) => {
                // The others of its location, found before it leaves the index.
                let others = same_cloud_pool(&index, gone);
                index.apply(event);
                let (namespace, name) = (gone.namespace(), gone.name_any());
                seen_by.queue.forget(namespace.as_deref(), &name);
                seen_by
                    .pools
                    .forget(namespace.as_deref().unwrap_or_default(), &name);
                for other in others {
                    seen_by.queue.woken(other.namespace.as_deref(), &other.name);
                    let _ = wake.unbounded_send(other);
                }
            }
            // After a relist: NodePools deleted while the watch was down leave no series.
            Ok(event @ watcher::Event::InitDone) => {
                index.apply(event);
                let store = &store_for_deletes;
                seen_by.pools.retain(|namespace, name| {
                    let key = ObjectRef::new(name).within(namespace);
                    store.get(&key).is_some()
                });
            }
            Ok(event) => {
                index.apply(event);
                if let watcher::Event::Apply(pool) | watcher::Event::InitApply(pool) = event {
                    acknowledger.acknowledge(pool);
                }
            }
            Err(_) => {}
        })
        .applied_objects()
        .predicate_filter(reconcile_inputs, Default::default())
        .inspect(move |pool| {
            if let Ok(pool) = pool {
                woken_by
                    .queue
                    .woken(pool.namespace().as_deref(), &pool.name_any());
            }
        });
    // CloudAccounts wake their pools when their spec changes, not on status writes.
    let account_events = watcher(accounts, watcher::Config::default())
        .default_backoff()
        .reflect(account_writer)
        .applied_objects()
        .predicate_filter(predicates::generation, Default::default());
    // Secrets are watched by metadata only (no data held); a change wakes only the pools whose
    // account uses that Secret.
    let secret_events = watcher(secrets, watcher::Config::default())
        .default_backoff()
        .reflect(secret_writer)
        .touched_objects();

    let ctx = Arc::new(Context {
        client: client.clone(),
        accounts: accounts::Accounts::new(
            client.clone(),
            transport,
            account_store.clone(),
            secret_store,
            shutdown.clone(),
        ),
        health: account_health::AccountHealth::default(),
        pools: pool_store.clone(),
        declared,
        observations: observe::list_cache::Observations::default(),
        reporter,
        metrics: metrics.clone(),
        failures: Mutex::new(HashMap::new()),
        last_warning: Mutex::new(HashMap::new()),
        config: config.clone(),
    });
    let pools_of_account = pool_store.clone();
    let pools_of_secret = pool_store.clone();
    let unfilled = pool_store.clone();
    let stopping = shutdown.clone();
    let (queue_of_account, queue_of_secret) = (metrics.queue.clone(), metrics.queue.clone());
    let controller = Controller::for_stream(pool_events, pool_store)
        .watches_stream(
            account_events,
            move |account: DeserializeGuard<CloudAccount>| {
                let ns = account.namespace();
                let name = account.name_any();
                let pools = pools_where(&pools_of_account, |p| {
                    p.namespace() == ns && p.spec.account_ref.name == name
                });
                queued(&queue_of_account, pools)
            },
        )
        .watches_stream(secret_events, move |secret| {
            let ns = secret.namespace();
            let name = secret.name_any();
            let accounts: Vec<String> = account_store
                .state()
                .into_iter()
                .filter(|a| {
                    a.0.as_ref().is_ok_and(|a| {
                        a.namespace() == ns && a.spec.credentials_secret_ref.name == name
                    })
                })
                .map(|a| a.name_any())
                .collect();
            let pools = pools_where(&pools_of_secret, |p| {
                p.namespace() == ns && accounts.contains(&p.spec.account_ref.name)
            });
            queued(&queue_of_secret, pools)
        })
        .reconcile_on(woken)
        .with_config(kube::runtime::controller::Config::default().concurrency(config.concurrency))
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each({
            let mut failures = FailureLog::default();
            move |result| {
                failures.note(result);
                futures::future::ready(())
            }
        });
    // kube-runtime starts reconciles only once the NodePool cache is filled, and a stop ends
    // the watch that fills it: stopped before then, nothing is in progress and nothing ever
    // would be, so the controller is not waited for.
    let stopped_unfilled = async move {
        stopping.await;
        if unfilled.wait_until_ready().now_or_never().is_some() {
            futures::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = controller => {}
        () = stopped_unfilled => {
            tracing::info!("stopped before the NodePool cache was filled: no reconcile was in progress");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_stale_copies_in_a_row_are_expected_and_a_success_starts_the_count_again() {
        let mut log = FailureLog::default();
        let key = (Some("ns".to_owned()), "pool".to_owned());
        for _ in 0..STALE_TOLERATED {
            assert!(log.tolerates_stale(key.clone()));
        }
        assert!(!log.tolerates_stale(key.clone()), "one more is a failure");
        let object = ObjectRef::<Watched>::new("pool").within("ns");
        log.note(Ok((
            object,
            kube::runtime::controller::Action::await_change(),
        )));
        assert!(log.tolerates_stale(key), "counted afresh after a success");
    }
}
