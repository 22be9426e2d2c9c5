//! Per-NodePool gauges: node counts and phase as the status shows them, one series set per
//! NodePool, removed when the NodePool goes so a deleted pool leaves no stale series.
//!
//! They are kept in one map (namespace, then name) and rendered by a collector at scrape
//! time, rather than as five label families: each NodePool costs one entry, not five copies of
//! its namespace and name, and showing an unchanged status allocates nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;

use crate::api::NodePoolStatus;

/// What one NodePool's status shows.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shown {
    desired: Option<i32>,
    current: Option<i32>,
    creating: Option<i32>,
    deleting: Option<i32>,
    phase: String,
}

type Shows = HashMap<String, HashMap<String, Shown>>;

#[derive(Debug, Default, Clone)]
pub struct PoolMetrics {
    shown: Arc<Mutex<Shows>>,
}

/// Which count of a status a gauge shows.
type Count = fn(&Shown) -> Option<i32>;

/// The count gauges: name, help, and which count of a status each shows.
const COUNTS: [(&str, &str, Count); 4] = [
    (
        "pool_desired_nodes",
        "Nodes the cloud pool aims at, per NodePool",
        |s| s.desired,
    ),
    (
        "pool_current_nodes",
        "Nodes of the cloud pool that exist and are not being deleted, per NodePool",
        |s| s.current,
    ),
    (
        "pool_creating_nodes",
        "Nodes being created, per NodePool",
        |s| s.creating,
    ),
    (
        "pool_deleting_nodes",
        "Nodes being deleted, per NodePool",
        |s| s.deleting,
    ),
];

impl PoolMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register_collector(Box::new(self.clone()));
    }

    fn lock(&self) -> MutexGuard<'_, Shows> {
        self.shown.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Shows what the status of `namespace/name` says.
    pub fn show(&self, namespace: &str, name: &str, status: &NodePoolStatus) {
        let phase = status.phase.as_deref().unwrap_or("Pending");
        let mut shown = self.lock();
        let of_namespace = match shown.get_mut(namespace) {
            Some(pools) => pools,
            None => shown.entry(namespace.to_owned()).or_default(),
        };
        let counts = (
            status.desired_node,
            status.current_node,
            status.creating_node,
            status.deleting_node,
        );
        if let Some(pool) = of_namespace.get_mut(name) {
            (pool.desired, pool.current, pool.creating, pool.deleting) = counts;
            if pool.phase != phase {
                phase.clone_into(&mut pool.phase);
            }
            return;
        }
        let (desired, current, creating, deleting) = counts;
        of_namespace.insert(
            name.to_owned(),
            Shown {
                desired,
                current,
                creating,
                deleting,
                phase: phase.to_owned(),
            },
        );
    }

    /// Removes every series of `namespace/name`.
    pub fn forget(&self, namespace: &str, name: &str) {
        let mut shown = self.lock();
        if let Some(pools) = shown.get_mut(namespace) {
            pools.remove(name);
            if pools.is_empty() {
                shown.remove(namespace);
            }
        }
    }

    /// Removes the series of every NodePool `keep` rejects (after a relist, for NodePools
    /// deleted while the watch was down).
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        let mut shown = self.lock();
        for (namespace, pools) in shown.iter_mut() {
            pools.retain(|name, _| keep(namespace, name));
        }
        shown.retain(|_, pools| !pools.is_empty());
    }
}

impl Collector for PoolMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let shown = self.lock();
        // Sorted, so that a scrape reads the same from one to the next.
        let mut pools: Vec<(&str, &str, &Shown)> = shown
            .iter()
            .flat_map(|(namespace, pools)| {
                pools
                    .iter()
                    .map(move |(name, pool)| (namespace.as_str(), name.as_str(), pool))
            })
            .collect();
        pools.sort_unstable_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        for (metric, help, count) in COUNTS {
            let mut family = encoder.encode_descriptor(metric, help, None, MetricType::Gauge)?;
            for (namespace, name, pool) in &pools {
                if let Some(n) = count(pool) {
                    let labels = [("namespace", *namespace), ("name", *name)];
                    ConstGauge::new(i64::from(n)).encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let mut family = encoder.encode_descriptor(
            "pool_phase",
            "1 for the phase each NodePool's status shows (one series per NodePool)",
            None,
            MetricType::Gauge,
        )?;
        for (namespace, name, pool) in &pools {
            let labels = [
                ("namespace", *namespace),
                ("name", *name),
                ("phase", pool.phase.as_str()),
            ];
            ConstGauge::new(1i64).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    fn text(pools: &PoolMetrics) -> String {
        let mut registry = Registry::default();
        pools.register(&mut registry);
        let mut out = String::new();
        encode(&mut out, &registry).unwrap();
        out
    }

    #[test]
    fn one_phase_series_per_pool_and_none_once_it_is_gone() {
        let pools = PoolMetrics::default();
        let mut status = NodePoolStatus {
            phase: Some("Creating".into()),
            desired_node: Some(3),
            current_node: Some(0),
            creating_node: Some(3),
            deleting_node: Some(0),
            ..Default::default()
        };
        pools.show("team", "gpu", &status);
        status.phase = Some("Ready".into());
        status.current_node = Some(3);
        status.creating_node = Some(0);
        pools.show("team", "gpu", &status);
        pools.show("team", "cpu", &status);
        let shown = text(&pools);
        assert!(shown.contains(r#"pool_phase{namespace="team",name="gpu",phase="Ready"} 1"#));
        assert!(!shown.contains(r#"phase="Creating""#), "{shown}");
        assert!(shown.contains(r#"pool_current_nodes{namespace="team",name="gpu"} 3"#));

        pools.forget("team", "gpu");
        pools.retain(|_, name| name != "cpu");
        let shown = text(&pools);
        assert!(!shown.contains(r#"name="gpu""#), "{shown}");
        assert!(!shown.contains(r#"name="cpu""#), "{shown}");
    }
}
