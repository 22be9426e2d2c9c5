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
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::provider::metrics::CallMetrics;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    /// `ok` or an error category.
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    cloud: String,
    operation: String,
    result: String,
}

/// Reconcile metrics; cloud-call counters come from the shared transport.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<ResultLabels, Counter>,
    duration: Histogram,
    calls: CallMetrics,
    /// Set once the controller's watches are running.
    pub ready: AtomicBool,
    /// Set while this process waits for the leader Lease.
    standby: AtomicBool,
    leader: Gauge,
}

impl Metrics {
    pub fn new(calls: CallMetrics) -> Self {
        let mut registry = Registry::with_prefix("nodepool");
        let reconciles = Family::<ResultLabels, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles by result (ok or error category)",
            reconciles.clone(),
        );
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register(
            "reconcile_duration_seconds",
            "Time spent in one reconcile",
            duration.clone(),
        );
        let leader = Gauge::default();
        registry.register(
            "leader",
            "1 while this process reconciles (it holds the leader Lease, or election is off), 0 while it stands by",
            leader.clone(),
        );
        leader.set(1);
        Self {
            registry,
            reconciles,
            duration,
            calls,
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
        let mut calls_registry = Registry::with_prefix("nodepool");
        let calls = Family::<CallLabels, Counter>::default();
        for ((cloud, operation, result), count) in self.calls.snapshot() {
            calls
                .get_or_create(&CallLabels {
                    cloud: cloud.into(),
                    operation: operation.into(),
                    result: result.into(),
                })
                .inc_by(count);
        }
        calls_registry.register(
            "cloud_calls",
            "Cloud API calls by cloud, operation and result",
            calls,
        );
        let mut text = String::new();
        encode_registry(&mut text, &self.registry)?;
        encode_registry(&mut text, &calls_registry)?;
        encode_eof(&mut text)?;
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
