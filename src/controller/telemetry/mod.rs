//! Prometheus metrics of the operator and the `/metrics`, `/healthz`, `/readyz` endpoints.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::provider::metrics::CallMetrics;

mod pools;
mod process;
mod queue;

pub use pools::PoolMetrics;
pub use queue::Queue;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    /// `ok` or an error category.
    result: String,
}

/// The operator's metrics: reconciles, cloud calls (counted by the shared transport), the
/// work queue, per-NodePool state, leadership and the process.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    duration: Histogram,
    pub pools: Arc<PoolMetrics>,
    pub queue: Arc<Queue>,
    /// Set once the controller's watches are running.
    pub ready: AtomicBool,
    /// Set while this process waits for the leader Lease.
    standby: AtomicBool,
    leader: Gauge,
}

impl Metrics {
    pub fn new(calls: CallMetrics) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(process::Process));
        let own = registry.sub_registry_with_prefix("nodepool");
        let reconciles = Family::<ResultLabels, Counter>::default();
        own.register(
            "reconciles",
            "Reconciles by result (ok or error category)",
            reconciles.clone(),
        );
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        own.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            duration.clone(),
        );
        let leader = Gauge::default();
        own.register(
            "leader",
            "1 while this process reconciles (it holds the leader Lease, or election is off), 0 while it stands by",
            leader.clone(),
        );
        leader.set(1);
        calls.register(own);
        let pools = Arc::new(PoolMetrics::default());
        pools.register(own);
        let queue = Arc::new(Queue::default());
        own.register_collector(Box::new(queue.clone()));
        Self {
            registry,
            reconciles,
            duration,
            pools,
            queue,
            ready: AtomicBool::new(false),
            standby: AtomicBool::new(false),
            leader,
        }
    }

    /// Records whether this process leads (reconciles) or stands by.
    pub fn set_leading(&self, leading: bool) {
        self.standby.store(!leading, Ordering::Relaxed);
        self.leader.set(i64::from(leading));
    }

    pub fn observe(&self, result: &str, elapsed: Duration) {
        self.reconciles
            .get_or_create(&ResultLabels {
                result: result.to_owned(),
            })
            .inc();
        self.duration.observe(elapsed.as_secs_f64());
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut text = String::new();
        encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

async fn metrics(State(metrics): State<Arc<Metrics>>) -> impl IntoResponse {
    match metrics.render() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        ),
        Err(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            String::new(),
        ),
    }
}

/// Ready while reconciling, and while standing by (a standby is a healthy replica: a rollout
/// must not wait for it to lead); the body says which.
async fn ready(State(metrics): State<Arc<Metrics>>) -> (StatusCode, &'static str) {
    if metrics.standby.load(Ordering::Relaxed) {
        (StatusCode::OK, "standby: not leading\n")
    } else if metrics.ready.load(Ordering::Relaxed) {
        (StatusCode::OK, "leading\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "starting\n")
    }
}

/// Serves `/metrics`, `/healthz` and `/readyz` on a bound listener.
pub async fn serve(listener: tokio::net::TcpListener, state: Arc<Metrics>) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { StatusCode::OK }))
        .route("/readyz", get(ready))
        .with_state(state);
    axum::serve(listener, app).await
}
