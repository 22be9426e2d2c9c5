//! The NodePool status (pure): what the cloud reports and how the last reconcile went, in the
//! same shape for every cloud. Deterministic: the same inputs give the same status, and no
//! clock value appears except a condition's `lastTransitionTime` on a transition.

use crate::api::{NodePoolStatus, set_condition};
use crate::provider::{CloudKind, ObservedPool, PoolPhase};

use super::desired::Validated;
use super::plan::Mode;

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

#[allow(clippy::too_many_arguments)]
pub fn build(
    previous: &NodePoolStatus,
    cloud: Option<CloudKind>,
    desired: Option<&Validated>,
    mode: Mode,
    observed: Option<&ObservedPool>,
    outcome: &Outcome,
    generation: Option<i64>,
    now: &str,
) -> NodePoolStatus {
    let mut status = previous.clone();
    status.provider = cloud.map(|c| c.as_str().to_owned()).or(status.provider);
    status.observed_generation = generation;
    if let Some(desired) = desired {
        status.pool_name = Some(desired.pool.name.clone());
        status.desired_node = if desired.autoscaling {
            observed.and_then(|o| o.desired).and_then(count)
        } else {
            count(desired.count)
        };
    }
    match observed {
        Some(pool) => {
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
        None => {
            if status.phase.is_none() || matches!(outcome, Outcome::Synced) {
                status.phase = Some("Pending".to_owned());
            }
            status.current_node = None;
            status.creating_node = None;
            status.deleting_node = None;
            status.cloud_state = None;
        }
    }
    let ready_counts = match (desired, observed) {
        (Some(d), Some(o)) => d.autoscaling || (o.current == d.count && o.ready == d.count),
        _ => false,
    };
    let ready = observed.is_some_and(|o| o.phase == PoolPhase::Ready) && ready_counts;
    let (ready_reason, ready_message) = match observed {
        Some(o) if ready => (
            "PoolReady".to_owned(),
            format!("{} of {} nodes ready", o.ready, o.current),
        ),
        Some(o) => (
            phase_word(o.phase).to_owned(),
            if o.messages.is_empty() {
                format!("{} of {} nodes ready", o.ready, o.current)
            } else {
                o.messages.join("; ")
            },
        ),
        None => (
            "PoolNotFound".to_owned(),
            "the cloud pool does not exist yet".to_owned(),
        ),
    };
    set_condition(
        &mut status.conditions,
        "Ready",
        ready,
        &ready_reason,
        &ready_message,
        generation,
        now,
    );
    let (synced, reason, message) = match outcome {
        Outcome::Invalid(message) => (false, "InvalidSpec".to_owned(), message.clone()),
        Outcome::Failed { reason, message } => (false, reason.clone(), message.clone()),
        Outcome::Synced if mode.paused => (
            false,
            "Paused".to_owned(),
            "spec.paused is set: no changes are made to the cloud".to_owned(),
        ),
        Outcome::Synced if mode.observe_only => (
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
        generation,
        now,
    );
    status
}
