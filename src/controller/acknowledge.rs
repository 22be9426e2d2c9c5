//! The first status of a new NodePool, written as soon as the watch sees it: `Pending`,
//! `Synced` False with reason `Queued`. A burst of creates waits for reconcile slots and for the
//! accounts' rate budgets; without this, a NodePool far back in the queue would show no status
//! at all for minutes, and GitOps tools could not tell "queued" from "ignored". The write is a
//! JSON patch that first tests that the NodePool still has no status, so it never overwrites
//! what a reconcile wrote, and a finalizer added meanwhile does not make it fail.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;
use tokio::sync::Semaphore;

use super::plan::Mode;
use super::report::now;
use super::status::{self, Inputs, Observation, Outcome};
use super::{Watched, readable};
use crate::api::NodePool;

/// Acknowledgements written at once (each is one small status patch, answered in about 20 ms):
/// 8 sent about 200 a second, fewer than a burst of creates arrives with (docs/benchmarks.md,
/// "Pickup").
const AT_ONCE: usize = 32;

#[derive(Clone)]
pub struct Acknowledger {
    client: Client,
    permits: Arc<Semaphore>,
    /// NodePools (by uid) whose acknowledgement is on its way: the watch shows a new NodePool
    /// again when its finalizer is added, before the acknowledgement lands.
    pending: Arc<Mutex<HashSet<String>>>,
}

/// Whether `object` is a NodePool no reconcile or acknowledgement has written yet.
fn unacknowledged(object: &Watched) -> Option<&NodePool> {
    let pool = readable(object)?;
    (pool.status.is_none() && pool.metadata.deletion_timestamp.is_none()).then_some(pool)
}

/// The acknowledgement of `pool`: a JSON patch that applies only while it has no status.
pub fn patch(pool: &NodePool, now: &str) -> Result<json_patch::Patch, serde_json::Error> {
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
    serde_json::from_value(json!([
        {"op": "test", "path": "/status", "value": null},
        {"op": "add", "path": "/status", "value": status},
    ]))
}

impl Acknowledger {
    pub fn new(client: Client) -> Self {
        Self {
            client,
            permits: Arc::new(Semaphore::new(AT_ONCE)),
            pending: Arc::default(),
        }
    }

    /// Writes the first status of `object` in the background, if it has none.
    pub fn acknowledge(&self, object: &Watched) {
        let Some(pool) = unacknowledged(object) else {
            return;
        };
        let (Some(namespace), name, Some(uid)) = (pool.namespace(), pool.name_any(), pool.uid())
        else {
            return;
        };
        let Ok(patch) = patch(pool, &now()) else {
            return;
        };
        if !self.lock().insert(uid.clone()) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Ok(_permit) = this.permits.acquire().await {
                let api: Api<NodePool> = Api::namespaced(this.client.clone(), &namespace);
                let written = api
                    .patch_status(&name, &PatchParams::default(), &Patch::<()>::Json(patch))
                    .await;
                match written {
                    Ok(_) => {}
                    // It has a status by now (422: the test failed), or it is gone.
                    Err(kube::Error::Api(status)) if [404, 409, 422].contains(&status.code) => {}
                    Err(error) => {
                        tracing::debug!(%namespace, %name, %error, "could not acknowledge the NodePool")
                    }
                }
            }
            this.lock().remove(&uid);
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
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
    fn the_acknowledgement_says_queued_and_applies_only_without_a_status() {
        let written = patch(&pool(Some("42")), "2026-01-01T00:00:00Z").expect("a patch");
        let written = serde_json::to_value(written).expect("JSON");
        assert_eq!(
            written[0],
            json!({"op": "test", "path": "/status", "value": null})
        );
        assert_eq!(written[1]["op"], "add");
        let status = &written[1]["value"];
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
