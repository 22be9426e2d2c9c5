//! The first status of a new NodePool, written as soon as the watch sees it: `Pending`,
//! `Synced` False with reason `Queued`. A burst of creates waits for reconcile slots and for the
//! accounts' rate budgets; without this, a NodePool far back in the queue would show no status
//! at all for minutes, and GitOps tools could not tell "queued" from "ignored". The write is
//! conditional on the version the watch saw, so it never overwrites what a reconcile wrote.

use std::sync::Arc;

use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio::sync::Semaphore;

use super::plan::Mode;
use super::report::now;
use super::status::{self, Inputs, Observation, Outcome};
use super::{Watched, readable};
use crate::api::NodePool;

/// Acknowledgements written at once (each is one small status patch).
const AT_ONCE: usize = 8;

#[derive(Clone)]
pub struct Acknowledger {
    client: Client,
    permits: Arc<Semaphore>,
}

/// Whether `object` is a NodePool no reconcile or acknowledgement has written yet.
fn unacknowledged(object: &Watched) -> Option<&NodePool> {
    let pool = readable(object)?;
    (pool.status.is_none() && pool.metadata.deletion_timestamp.is_none()).then_some(pool)
}

/// The acknowledgement of `pool`, as a merge patch that applies only to the version seen.
pub fn patch(pool: &NodePool, now: &str) -> Option<serde_json::Value> {
    let version = pool.resource_version()?;
    let inputs = Inputs {
        cloud: None,
        desired: None,
        mode: Mode {
            paused: pool.spec.paused,
            observe_only: pool.spec.observe_only,
        },
        observation: &Observation::NotRead,
        outcome: &Outcome::Queued,
        generation: pool.metadata.generation,
        now,
    };
    let status = status::build(&Default::default(), &inputs);
    Some(json!({"metadata": {"resourceVersion": version}, "status": status}))
}

impl Acknowledger {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            permits: Arc::new(Semaphore::new(AT_ONCE)),
        }
    }

    /// Writes the first status of `object` in the background, if it has none.
    pub fn acknowledge(&self, object: &Watched) {
        let Some(pool) = unacknowledged(object) else {
            return;
        };
        let (Some(namespace), name) = (pool.namespace(), pool.name_any()) else {
            return;
        };
        let Some(patch) = patch(pool, &now()) else {
            return;
        };
        let (client, permits) = (self.client.clone(), self.permits.clone());
        tokio::spawn(async move {
            let Ok(_permit) = permits.acquire_owned().await else {
                return;
            };
            let api: Api<NodePool> = Api::namespaced(client, &namespace);
            match api
                .patch_status(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {}
                // Changed since (a reconcile wrote its status, or the spec moved): nothing to do.
                Err(kube::Error::Api(status)) if status.code == 409 || status.code == 404 => {}
                Err(error) => {
                    tracing::debug!(%namespace, %name, %error, "could not acknowledge the NodePool")
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(version: Option<&str>) -> NodePool {
        let sample = include_str!("../../deploy/samples/nodepool-ens.yaml");
        let mut pool: NodePool = serde_yaml::from_str(sample).expect("the ENS sample");
        pool.metadata.namespace = Some("ns".into());
        pool.metadata.generation = Some(3);
        pool.metadata.resource_version = version.map(str::to_owned);
        pool
    }

    #[test]
    fn the_acknowledgement_says_queued_and_applies_only_to_the_version_seen() {
        let written = patch(&pool(Some("42")), "2026-01-01T00:00:00Z").expect("a patch");
        assert_eq!(written["metadata"]["resourceVersion"], "42");
        let status = &written["status"];
        assert_eq!(status["phase"], "Pending");
        assert_eq!(status["observedGeneration"], 3);
        let condition = |kind: &str| {
            status["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == kind))
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(condition("Synced")["status"], "False");
        assert_eq!(condition("Synced")["reason"], "Queued");
        assert_eq!(condition("Ready")["status"], "Unknown");
        assert!(patch(&pool(None), "now").is_none(), "no version, no write");
    }

    #[test]
    fn only_new_nodepools_are_acknowledged() {
        let mut fresh = pool(Some("1"));
        assert!(unacknowledged(&kube::core::DeserializeGuard(Ok(fresh.clone()))).is_some());
        fresh.status = Some(Default::default());
        assert!(unacknowledged(&kube::core::DeserializeGuard(Ok(fresh.clone()))).is_none());
        fresh.status = None;
        fresh.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
        assert!(unacknowledged(&kube::core::DeserializeGuard(Ok(fresh))).is_none());
    }
}
