//! Per-NodePool gauges: node counts and phase as the status shows them, one series set per
//! NodePool, removed when the NodePool goes so a deleted pool leaves no stale series.

use std::collections::HashMap;
use std::sync::Mutex;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::api::NodePoolStatus;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    namespace: String,
    name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    namespace: String,
    name: String,
    phase: String,
}

#[derive(Debug, Default)]
pub struct PoolMetrics {
    desired: Family<PoolLabels, Gauge>,
    current: Family<PoolLabels, Gauge>,
    creating: Family<PoolLabels, Gauge>,
    deleting: Family<PoolLabels, Gauge>,
    phase: Family<PhaseLabels, Gauge>,
    /// The phase each NodePool's phase series carries, to remove it when the phase moves.
    phases: Mutex<HashMap<(String, String), String>>,
}

impl PoolMetrics {
    pub fn register(&self, registry: &mut Registry) {
        for (name, help, family) in [
            (
                "pool_desired_nodes",
                "Nodes the cloud pool aims at, per NodePool",
                &self.desired,
            ),
            (
                "pool_current_nodes",
                "Nodes of the cloud pool that exist and are not being deleted, per NodePool",
                &self.current,
            ),
            (
                "pool_creating_nodes",
                "Nodes being created, per NodePool",
                &self.creating,
            ),
            (
                "pool_deleting_nodes",
                "Nodes being deleted, per NodePool",
                &self.deleting,
            ),
        ] {
            registry.register(name, help, family.clone());
        }
        registry.register(
            "pool_phase",
            "1 for the phase each NodePool's status shows (one series per NodePool)",
            self.phase.clone(),
        );
    }

    /// Shows what the status of `namespace/name` says.
    pub fn show(&self, namespace: &str, name: &str, status: &NodePoolStatus) {
        let labels = PoolLabels {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        for (family, value) in [
            (&self.desired, status.desired_node),
            (&self.current, status.current_node),
            (&self.creating, status.creating_node),
            (&self.deleting, status.deleting_node),
        ] {
            match value {
                Some(n) => {
                    family.get_or_create(&labels).set(i64::from(n));
                }
                None => {
                    family.remove(&labels);
                }
            }
        }
        let phase = status.phase.clone().unwrap_or_else(|| "Pending".to_owned());
        let key = (labels.namespace.clone(), labels.name.clone());
        let previous = self
            .phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, phase.clone());
        if let Some(previous) = previous
            && previous != phase
        {
            self.phase.remove(&PhaseLabels {
                namespace: labels.namespace.clone(),
                name: labels.name.clone(),
                phase: previous,
            });
        }
        self.phase
            .get_or_create(&PhaseLabels {
                namespace: labels.namespace,
                name: labels.name,
                phase,
            })
            .set(1);
    }

    /// Removes every series of `namespace/name`.
    pub fn forget(&self, namespace: &str, name: &str) {
        let labels = PoolLabels {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        };
        for family in [&self.desired, &self.current, &self.creating, &self.deleting] {
            family.remove(&labels);
        }
        let key = (labels.namespace, labels.name);
        let phase = self
            .phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key);
        if let Some(phase) = phase {
            let (namespace, name) = key;
            self.phase.remove(&PhaseLabels {
                namespace,
                name,
                phase,
            });
        }
    }

    /// Removes the series of every NodePool `keep` rejects (after a relist, for NodePools
    /// deleted while the watch was down).
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        let gone: Vec<(String, String)> = self
            .phases
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .filter(|(namespace, name)| !keep(namespace, name))
            .cloned()
            .collect();
        for (namespace, name) in gone {
            self.forget(&namespace, &name);
        }
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
