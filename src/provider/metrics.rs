//! Cloud-call metrics, shared by every client through the transport: calls by cloud, operation
//! and result, and the time each HTTP exchange took. The operation is one vocabulary for all
//! clouds, so one dashboard fits them all.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// What a cloud call does, in the same words for every cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// The pools of a cluster or resource pool.
    List,
    /// One pool.
    Get,
    Create,
    /// A change of the pool's settings (CCE PUT, ModelArts merge patch, ENS
    /// `ModifyClusterNodePool`).
    Update,
    /// A change of the node count (ENS `ScaleClusterNodePool`, `DeleteClusterNodes`).
    Scale,
    Delete,
    /// The nodes of one pool (ENS `DescribeClusterNodes`).
    ListNodes,
    /// An IAM token (Huawei).
    Token,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::List => "list",
            Operation::Get => "get",
            Operation::Create => "create",
            Operation::Update => "update",
            Operation::Scale => "scale",
            Operation::Delete => "delete",
            Operation::ListNodes => "list_nodes",
            Operation::Token => "token",
        }
    }
}

impl EncodeLabelValue for Operation {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    cloud: &'static str,
    operation: Operation,
    /// `ok` or an error category.
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LatencyLabels {
    cloud: &'static str,
    operation: Operation,
}

fn latency_histogram() -> Histogram {
    // 5 ms to about 41 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 14))
}

#[derive(Debug, Clone)]
pub struct CallMetrics {
    calls: Family<CallLabels, Counter>,
    latency: Family<LatencyLabels, Histogram, fn() -> Histogram>,
}

impl Default for CallMetrics {
    fn default() -> Self {
        Self {
            calls: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
        }
    }
}

impl CallMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the families to `registry`.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "cloud_calls",
            "Cloud API calls by cloud, operation and result (ok or an error category); a retried call counts once per attempt",
            self.calls.clone(),
        );
        registry.register(
            "cloud_call_duration_seconds",
            "Time of one HTTP exchange with a cloud API (rate-budget waits excluded)",
            self.latency.clone(),
        );
    }

    /// Counts one attempt of a call.
    pub fn record(&self, cloud: &'static str, operation: Operation, result: &'static str) {
        self.calls
            .get_or_create(&CallLabels {
                cloud,
                operation,
                result,
            })
            .inc();
    }

    /// Records the time one HTTP exchange took.
    pub fn time(&self, cloud: &'static str, operation: Operation, seconds: f64) {
        self.latency
            .get_or_create(&LatencyLabels { cloud, operation })
            .observe(seconds);
    }
}
