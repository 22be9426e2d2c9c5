//! The NodePool status (pure): what the cloud reports and how the last reconcile went, in the
//! same shape for every cloud. Deterministic: the same inputs give the same status, and no
//! clock value appears except a condition's `lastTransitionTime` on a transition.
//!
//! Longer than most files here because its table tests (the second half) sit next to the
//! rules they pin down.

use serde_json::{Map, Value, json};

use crate::api::{ConditionStatus, FORCE_ORPHAN_ANNOTATION, NodePoolStatus, set_condition};
use crate::provider::{CloudKind, ObservedPool, PoolPhase};

use super::plan::Mode;
use super::progress;
use super::validate::Validated;

/// What the cloud said about the pool this time.
// One value per reconcile, never held in bulk: boxing the pool would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Seen(ObservedPool),
    /// The cloud says there is no such pool.
    Absent,
    /// The cloud was not read or did not answer: the last observation stands.
    NotRead,
}

impl Observation {
    pub fn pool(&self) -> Option<&ObservedPool> {
        match self {
            Observation::Seen(pool) => Some(pool),
            _ => None,
        }
    }
}

/// How the reconcile went.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Synced,
    /// The spec cannot be acted on until it changes.
    Invalid(String),
    /// A failure, with its category (the reason) and message (the cloud's code and text).
    Failed {
        reason: String,
        message: String,
    },
    /// Another NodePool owns the cloud pool (the message names it).
    Conflict(String),
    /// Seen, not reconciled yet: waiting for a reconcile slot or the account's rate budget.
    Queued,
    /// A `changePolicy: Manual` NodePool's plan waits for approval (the message says how).
    AwaitingApproval(String),
    /// The cloud refused the planned create or update (the message: its code and text, and
    /// once it did so too often, that the plan is held).
    Refused(String),
}

/// Everything a status is built from.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    pub cloud: Option<CloudKind>,
    pub desired: Option<&'a Validated>,
    pub mode: Mode,
    pub observation: &'a Observation,
    pub outcome: &'a Outcome,
    pub generation: Option<i64>,
    pub now: &'a str,
}

pub fn phase_word(phase: PoolPhase) -> &'static str {
    match phase {
        PoolPhase::Creating => "Creating",
        PoolPhase::Scaling => "Scaling",
        PoolPhase::Ready => "Ready",
        PoolPhase::SoldOut => "SoldOut",
        PoolPhase::Deleting => "Deleting",
        PoolPhase::Error => "Error",
    }
}

fn count(n: u32) -> Option<i32> {
    i32::try_from(n).ok()
}

/// The Ready condition: (status, reason, message).
fn readiness(inputs: &Inputs) -> (ConditionStatus, String, String) {
    if let Outcome::Conflict(message) = inputs.outcome {
        return (ConditionStatus::False, "Conflict".into(), message.clone());
    }
    // Whatever the pool looks like, it is not as declared while its change is refused.
    if let Outcome::Refused(message) = inputs.outcome {
        return (
            ConditionStatus::False,
            "ChangeRefused".into(),
            message.clone(),
        );
    }
    match inputs.observation {
        Observation::Seen(o) => {
            let counts_ok = inputs.desired.is_some_and(|d| {
                d.autoscaler_owns_count(Some(o)) || (o.current == d.count && o.ready == d.count)
            });
            let nodes = format!("{} of {} nodes ready", o.ready, o.current);
            if o.phase == PoolPhase::Ready && counts_ok {
                (ConditionStatus::True, "PoolReady".into(), nodes)
            } else {
                let message = if o.messages.is_empty() {
                    nodes
                } else {
                    o.messages.join("; ")
                };
                (ConditionStatus::False, phase_word(o.phase).into(), message)
            }
        }
        Observation::Absent => (
            ConditionStatus::False,
            "PoolNotFound".into(),
            "the cloud pool does not exist yet".into(),
        ),
        Observation::NotRead => match inputs.outcome {
            Outcome::Invalid(_) => (
                ConditionStatus::False,
                "InvalidSpec".into(),
                "the spec cannot be acted on; see the Synced condition".into(),
            ),
            Outcome::Queued => (
                ConditionStatus::Unknown,
                "Queued".into(),
                "the cloud pool has not been read yet".into(),
            ),
            _ => (
                ConditionStatus::Unknown,
                "NotObserved".into(),
                "the cloud pool could not be read; see the Synced condition".into(),
            ),
        },
    }
}

fn clear_pool(status: &mut NodePoolStatus) {
    status.pool_id = None;
    status.phase = Some("Pending".to_owned());
    status.cloud_state = None;
    status.current_node = None;
    status.creating_node = None;
    status.deleting_node = None;
}

pub fn build(previous: &NodePoolStatus, inputs: &Inputs) -> NodePoolStatus {
    let mut status = previous.clone();
    status.provider = inputs
        .cloud
        .map(|c| c.as_str().to_owned())
        .or(status.provider);
    status.observed_generation = inputs.generation;
    if let Some(desired) = inputs.desired {
        status.pool_name = Some(desired.pool.name.clone());
        let observed = inputs.observation.pool();
        status.desired_node = if desired.autoscaler_owns_count(observed) {
            match inputs.observation {
                Observation::Seen(o) => o.desired.and_then(count),
                Observation::Absent => None,
                Observation::NotRead => status.desired_node,
            }
        } else {
            count(desired.count)
        };
    }
    let conflict = matches!(inputs.outcome, Outcome::Conflict(_));
    match inputs.observation {
        Observation::Seen(pool) if !conflict => {
            status.pool_id = Some(pool.id.clone());
            status.phase = Some(phase_word(pool.phase).to_owned());
            status.cloud_state = Some(pool.raw_state.clone());
            status.current_node = count(pool.current);
            status.creating_node = count(pool.creating);
            status.deleting_node = count(pool.deleting);
            if pool.job_id.is_some() {
                status.last_job_id = pool.job_id.clone();
            }
        }
        Observation::NotRead if !conflict => {
            if status.phase.is_none() {
                status.phase = Some("Pending".to_owned());
            }
        }
        // Nothing of a pool that is gone, or that another NodePool owns, applies.
        _ => clear_pool(&mut status),
    }
    let (ready, reason, message) = readiness(inputs);
    set_condition(
        &mut status.conditions,
        "Ready",
        ready,
        &reason,
        &message,
        inputs.generation,
        inputs.now,
    );
    let (synced, reason, message) = match inputs.outcome {
        Outcome::Invalid(message) => (false, "InvalidSpec".to_owned(), message.clone()),
        Outcome::Failed { reason, message } => (false, reason.clone(), message.clone()),
        Outcome::Refused(message) => (false, "CloudInvalidRequest".to_owned(), message.clone()),
        Outcome::Conflict(message) => (false, "Conflict".to_owned(), message.clone()),
        Outcome::AwaitingApproval(message) => {
            (false, "AwaitingApproval".to_owned(), message.clone())
        }
        Outcome::Queued => (
            false,
            "Queued".to_owned(),
            "queued: NodePools are reconciled a few at a time, within each account's rate budget"
                .to_owned(),
        ),
        Outcome::Synced if inputs.mode.paused => (
            false,
            "Paused".to_owned(),
            "spec.paused is set: no changes are made to the cloud".to_owned(),
        ),
        Outcome::Synced if inputs.mode.observe_only => (
            true,
            "ObserveOnly".to_owned(),
            "observing the cloud pool; no changes are made".to_owned(),
        ),
        Outcome::Synced => (
            true,
            "Synced".to_owned(),
            "the cloud pool matches the spec or is converging to it".to_owned(),
        ),
    };
    set_condition(
        &mut status.conditions,
        "Synced",
        synced,
        &reason,
        &message,
        inputs.generation,
        inputs.now,
    );
    progress::set(
        &mut status,
        inputs.outcome,
        inputs.mode.paused,
        inputs.generation,
        inputs.now,
    );
    status
}

/// The status of a NodePool being deleted: `blocked` says why the cloud pool cannot be
/// deleted now (reason, message), and the message says how to release it.
pub fn deleting(
    previous: &NodePoolStatus,
    blocked: Option<(&str, &str)>,
    generation: Option<i64>,
    now: &str,
) -> NodePoolStatus {
    let mut status = previous.clone();
    status.phase = Some(phase_word(PoolPhase::Deleting).to_owned());
    status.observed_generation = generation;
    set_condition(
        &mut status.conditions,
        "Ready",
        false,
        "Deleting",
        "the NodePool is being deleted",
        generation,
        now,
    );
    let outcome = match blocked {
        None => Outcome::Synced,
        Some((reason, error)) => Outcome::Failed {
            reason: reason.to_owned(),
            message: format!(
                "the cloud pool cannot be deleted: {error}; fix the cause, or annotate the NodePool with {FORCE_ORPHAN_ANNOTATION}=true to leave the cloud pool in place and finish the deletion"
            ),
        },
    };
    let (synced, reason, message) = match &outcome {
        Outcome::Failed { reason, message } => (false, reason.as_str(), message.as_str()),
        _ => (true, "Deleting", "waiting for the cloud to delete the pool"),
    };
    set_condition(
        &mut status.conditions,
        "Synced",
        synced,
        reason,
        message,
        generation,
        now,
    );
    progress::set(&mut status, &outcome, false, generation, now);
    status
}

/// The merge patch from `previous` to `next`: a field that no longer applies is sent as null,
/// since a merge patch leaves out what it omits.
pub fn patch(previous: &NodePoolStatus, next: &NodePoolStatus) -> Value {
    let as_map = |status: &NodePoolStatus| match serde_json::to_value(status) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    let mut body = as_map(next);
    for key in as_map(previous).keys() {
        if !body.contains_key(key) {
            body.insert(key.clone(), Value::Null);
        }
    }
    json!({ "status": body })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::provider::{DesiredPool, PoolSpec};

    pub(crate) fn desired() -> Validated {
        Validated {
            cloud: CloudKind::Cce,
            parent: "c".into(),
            pool: DesiredPool {
                name: "p".into(),
                spec: PoolSpec::Cce(Default::default()),
            },
            count: 2,
            autoscaling: None,
            owner: "uid".into(),
        }
    }

    pub(crate) fn seen(phase: PoolPhase, current: u32) -> Observation {
        Observation::Seen(ObservedPool {
            id: "id".into(),
            name: "p".into(),
            desired: Some(2),
            current,
            ready: current,
            creating: 0,
            deleting: 0,
            raw_state: String::new(),
            phase,
            messages: vec![],
            autoscaling: None,
            owner: Some("uid".into()),
            job_id: None,
            spec: crate::provider::CloudSpec::Unknown,
        })
    }

    pub(crate) fn status_of(
        previous: &NodePoolStatus,
        observation: &Observation,
        outcome: &Outcome,
        now: &str,
    ) -> NodePoolStatus {
        let desired = desired();
        build(
            previous,
            &Inputs {
                cloud: Some(CloudKind::Cce),
                desired: Some(&desired),
                mode: Mode::default(),
                observation,
                outcome,
                generation: Some(1),
                now,
            },
        )
    }

    pub(crate) fn condition(status: &NodePoolStatus, type_: &str) -> (String, String, String) {
        let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap();
        (
            c.status.to_string(),
            c.reason.to_string(),
            c.last_transition_time.to_string(),
        )
    }

    #[test]
    fn the_same_inputs_give_the_same_status() {
        let ready = status_of(
            &NodePoolStatus::default(),
            &seen(PoolPhase::Ready, 2),
            &Outcome::Synced,
            "t1",
        );
        let again = status_of(&ready, &seen(PoolPhase::Ready, 2), &Outcome::Synced, "t2");
        assert_eq!(ready, again);
        assert_eq!(condition(&again, "Ready").0, "True");
    }

    #[test]
    fn ready_needs_every_declared_node_present_and_ready() {
        let Observation::Seen(mut pool) = seen(PoolPhase::Ready, 2) else {
            unreachable!()
        };
        pool.ready = 1;
        let one_not_ready = status_of(
            &NodePoolStatus::default(),
            &Observation::Seen(pool.clone()),
            &Outcome::Synced,
            "t1",
        );
        assert_eq!(condition(&one_not_ready, "Ready").0, "False");
        pool.ready = 2;
        pool.current = 3;
        let one_too_many = status_of(
            &NodePoolStatus::default(),
            &Observation::Seen(pool),
            &Outcome::Synced,
            "t1",
        );
        assert_eq!(condition(&one_too_many, "Ready").0, "False");
    }

    #[test]
    fn under_an_autoscaler_the_cloud_reports_on_its_count_is_shown_and_ready() {
        let Observation::Seen(mut pool) = seen(PoolPhase::Ready, 5) else {
            unreachable!()
        };
        pool.desired = Some(5);
        pool.autoscaling = Some(crate::provider::Autoscaling {
            enabled: true,
            min: Some(1),
            max: Some(6),
        });
        // The spec asks for 2 and says nothing of autoscaling; the cloud's autoscaler wants 5.
        let status = status_of(
            &NodePoolStatus::default(),
            &Observation::Seen(pool),
            &Outcome::Synced,
            "t1",
        );
        assert_eq!(status.desired_node, Some(5));
        assert_eq!(status.current_node, Some(5));
        assert_eq!(condition(&status, "Ready").0, "True");
    }

    #[test]
    fn an_unanswered_read_keeps_the_last_observation_and_makes_ready_unknown() {
        let ready = status_of(
            &NodePoolStatus::default(),
            &seen(PoolPhase::Ready, 2),
            &Outcome::Synced,
            "t1",
        );
        let outage = Outcome::Failed {
            reason: "CloudUnavailable".into(),
            message: "transient failure: HTTP 503".into(),
        };
        let during = status_of(&ready, &Observation::NotRead, &outage, "t2");
        assert_eq!(during.current_node, Some(2));
        assert_eq!(during.phase.as_deref(), Some("Ready"));
        assert_eq!(during.pool_id.as_deref(), Some("id"));
        assert_eq!(
            condition(&during, "Ready"),
            ("Unknown".into(), "NotObserved".into(), "t2".into())
        );
        assert_eq!(condition(&during, "Synced").1, "CloudUnavailable");
        // Retrying through the same outage changes nothing.
        assert_eq!(
            status_of(&during, &Observation::NotRead, &outage, "t3"),
            during
        );
    }

    #[test]
    fn a_pool_that_is_gone_leaves_no_counts_and_the_patch_removes_them() {
        let ready = status_of(
            &NodePoolStatus::default(),
            &seen(PoolPhase::Ready, 2),
            &Outcome::Synced,
            "t1",
        );
        let gone = status_of(&ready, &Observation::Absent, &Outcome::Synced, "t2");
        assert_eq!(gone.current_node, None);
        assert_eq!(gone.pool_id, None);
        assert_eq!(gone.phase.as_deref(), Some("Pending"));
        let body = patch(&ready, &gone);
        for field in [
            "currentNode",
            "creatingNode",
            "deletingNode",
            "cloudState",
            "poolId",
        ] {
            assert_eq!(body["status"][field], Value::Null, "{field}");
            assert!(
                body["status"].get(field).is_some(),
                "{field} is sent as null"
            );
        }
        assert_eq!(body["status"]["phase"], "Pending");
    }

    #[test]
    fn a_conflict_is_reported_on_both_conditions_and_records_no_pool() {
        // A NodePool that recorded the pool before its owner was known gives it up.
        let recorded = status_of(
            &NodePoolStatus::default(),
            &seen(PoolPhase::Ready, 2),
            &Outcome::Synced,
            "t1",
        );
        let conflict = Outcome::Conflict("owned by NodePool a/b".into());
        for observation in [Observation::NotRead, seen(PoolPhase::Ready, 2)] {
            let status = status_of(&recorded, &observation, &conflict, "t2");
            assert_eq!(condition(&status, "Ready").1, "Conflict");
            assert_eq!(condition(&status, "Synced").1, "Conflict");
            assert_eq!(status.phase.as_deref(), Some("Pending"));
            assert_eq!(status.pool_id, None);
            assert_eq!(status.current_node, None);
        }
    }

    #[test]
    fn a_blocked_deletion_says_how_to_release_the_nodepool() {
        let status = deleting(
            &NodePoolStatus::default(),
            Some(("CloudAuth", "authentication failed: APIG.0301: bad key")),
            Some(2),
            "t1",
        );
        let synced = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Synced")
            .unwrap();
        assert_eq!(synced.reason, "CloudAuth");
        assert!(synced.message.contains("APIG.0301"));
        assert!(synced.message.contains("nodepool.io/force-orphan=true"));
        assert_eq!(status.phase.as_deref(), Some("Deleting"));
    }
}
