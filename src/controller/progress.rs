//! The kstatus conditions `Reconciling` and `Stalled` (pure), derived from the rest of a
//! NodePool's status, so that Flux, Argo CD and `kubectl wait` tell "still working" from
//! "needs a person" without knowing this operator:
//! - `Stalled` is True when the operator cannot get further without a change by a user: a spec
//!   it cannot act on, a cloud pool another NodePool owns, a cloud that refuses the account or
//!   the request, a pool the cloud reports in error or sold out;
//! - `Reconciling` is True while the pool is on its way to the spec (queued, being created,
//!   scaled, updated or deleted, or the cloud briefly unavailable);
//! - both are False once the pool is as declared, and while the NodePool is paused.
//!
//! Both are always present (True or False), so their transition times tell when the last stall
//! or the last change happened.

use crate::api::{ConditionStatus, NodePoolStatus, set_condition};

use super::status::Outcome;

/// Failure categories that persist until someone changes the spec, the account or the cloud
/// side (a cloud's 4xx), as opposed to outages and throttling that pass by themselves.
const NEEDS_A_PERSON: &[&str] = &[
    "InvalidSpec",
    "MalformedObject",
    "AccountNotFound",
    "CredentialsUnavailable",
    "CloudAuth",
    "CloudInvalidRequest",
    "CloudQuota",
    "CloudNotFound",
    "CloudAlreadyExists",
];

/// (status, reason, message) of one condition.
type Verdict = (ConditionStatus, &'static str, String);

fn ready_condition(status: &NodePoolStatus) -> Option<(&str, &str, &str)> {
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .map(|c| (c.status.as_str(), c.reason.as_str(), c.message.as_str()))
}

fn stalled(status: &NodePoolStatus, outcome: &Outcome) -> Option<(&'static str, String)> {
    match outcome {
        Outcome::Invalid(message) => return Some(("InvalidSpec", message.clone())),
        Outcome::Conflict(message) => return Some(("Conflict", message.clone())),
        Outcome::Failed { reason, message } => {
            if let Some(category) = NEEDS_A_PERSON.iter().find(|c| **c == reason.as_str()) {
                return Some((category, message.clone()));
            }
        }
        Outcome::Refused(message) => return Some(("ChangeRefused", message.clone())),
        Outcome::Synced | Outcome::Queued | Outcome::AwaitingApproval(_) => {}
    }
    let (_, _, message) = ready_condition(status)?;
    match status.phase.as_deref() {
        Some("Error") => Some(("PoolError", message.to_owned())),
        Some("SoldOut") => Some(("SoldOut", message.to_owned())),
        _ => None,
    }
}

/// What the pool is on its way to, when it is not there yet.
fn reconciling(status: &NodePoolStatus, outcome: &Outcome) -> Option<(&'static str, String)> {
    if let Outcome::Failed { message, .. } = outcome {
        // An outage or throttling: retried with backoff.
        return Some(("Retrying", message.clone()));
    }
    if let Outcome::AwaitingApproval(message) = outcome {
        return Some(("AwaitingApproval", message.clone()));
    }
    if matches!(outcome, Outcome::Queued) {
        return Some(("Queued", "waiting for a reconcile slot".to_owned()));
    }
    let (ready, reason, message) = ready_condition(status)?;
    if ready == ConditionStatus::True.as_str() {
        return None;
    }
    let reason = match reason {
        "Creating" | "PoolNotFound" => "Creating",
        "Deleting" => "Deleting",
        // A pool the cloud calls ready whose counts differ from the spec's.
        _ => "Scaling",
    };
    Some((reason, message.to_owned()))
}

/// Sets `Reconciling` and `Stalled` from the status built so far and how the reconcile went.
pub fn set(
    status: &mut NodePoolStatus,
    outcome: &Outcome,
    paused: bool,
    generation: Option<i64>,
    now: &str,
) {
    let (stall, progress): (Verdict, Verdict) = if paused {
        let message = "spec.paused is set: no changes are made to the cloud".to_owned();
        (
            (ConditionStatus::False, "Paused", message.clone()),
            (ConditionStatus::False, "Paused", message),
        )
    } else if let Some((reason, message)) = stalled(status, outcome) {
        (
            (ConditionStatus::True, reason, message),
            (
                ConditionStatus::False,
                "Stalled",
                "waiting for a change; see the Stalled condition".to_owned(),
            ),
        )
    } else {
        let progress = match reconciling(status, outcome) {
            Some((reason, message)) => (ConditionStatus::True, reason, message),
            None => (
                ConditionStatus::False,
                "Reconciled",
                "the cloud pool is as declared".to_owned(),
            ),
        };
        (
            (
                ConditionStatus::False,
                "Progressing",
                "nothing blocks the NodePool".to_owned(),
            ),
            progress,
        )
    };
    status.message = Some(summary(status, &stall, &progress));
    set_verdict(status, "Stalled", stall, generation, now);
    set_verdict(status, "Reconciling", progress, generation, now);
}

/// The one line `kubectl get np` shows: the stall, else the work in progress, else the nodes.
fn summary(status: &NodePoolStatus, stall: &Verdict, progress: &Verdict) -> String {
    let said = |(_, reason, message): &Verdict| format!("{reason}: {message}");
    if stall.0 == ConditionStatus::True || progress.1 == "Paused" {
        return said(stall);
    }
    if progress.0 == ConditionStatus::True {
        return said(progress);
    }
    ready_condition(status)
        .map(|(_, _, message)| message.to_owned())
        .unwrap_or_default()
}

/// Marks the NodePool as being changed right now (a create, scale or update just sent), which
/// the observation made before the change cannot show yet.
pub fn acting(
    status: &mut NodePoolStatus,
    reason: &'static str,
    message: String,
    generation: Option<i64>,
    now: &str,
) {
    let stalled = status
        .conditions
        .iter()
        .any(|c| c.type_ == "Stalled" && c.status == ConditionStatus::True.as_str());
    if !stalled {
        status.message = Some(format!("{reason}: {message}"));
        set_verdict(
            status,
            "Reconciling",
            (ConditionStatus::True, reason, message),
            generation,
            now,
        );
    }
}

fn set_verdict(
    status: &mut NodePoolStatus,
    type_: &str,
    verdict: Verdict,
    generation: Option<i64>,
    now: &str,
) {
    let (value, reason, message) = verdict;
    set_condition(
        &mut status.conditions,
        type_,
        value,
        reason,
        &message,
        generation,
        now,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::status::tests::{condition, seen, status_of};
    use crate::controller::status::{Observation, deleting};
    use crate::provider::PoolPhase;

    fn verdicts(status: &NodePoolStatus) -> [(String, String); 2] {
        ["Reconciling", "Stalled"].map(|type_| {
            let (value, reason, _) = condition(status, type_);
            (value, reason)
        })
    }

    fn pair(reconciling: (&str, &str), stalled: (&str, &str)) -> [(String, String); 2] {
        [reconciling, stalled].map(|(v, r)| (v.to_owned(), r.to_owned()))
    }

    fn failed(reason: &str) -> Outcome {
        Outcome::Failed {
            reason: reason.into(),
            message: format!("{reason}: the cloud said no"),
        }
    }

    #[test]
    fn every_state_a_user_meets_has_one_kstatus_verdict() {
        let fresh = NodePoolStatus::default();
        let cases = [
            (
                seen(PoolPhase::Ready, 2),
                Outcome::Synced,
                pair(("False", "Reconciled"), ("False", "Progressing")),
            ),
            (
                seen(PoolPhase::Creating, 0),
                Outcome::Synced,
                pair(("True", "Creating"), ("False", "Progressing")),
            ),
            (
                Observation::Absent,
                Outcome::Synced,
                pair(("True", "Creating"), ("False", "Progressing")),
            ),
            (
                seen(PoolPhase::Scaling, 1),
                Outcome::Synced,
                pair(("True", "Scaling"), ("False", "Progressing")),
            ),
            // The cloud calls it ready, but it has fewer nodes than declared.
            (
                seen(PoolPhase::Ready, 1),
                Outcome::Synced,
                pair(("True", "Scaling"), ("False", "Progressing")),
            ),
            (
                seen(PoolPhase::SoldOut, 1),
                Outcome::Synced,
                pair(("False", "Stalled"), ("True", "SoldOut")),
            ),
            (
                seen(PoolPhase::Error, 1),
                Outcome::Synced,
                pair(("False", "Stalled"), ("True", "PoolError")),
            ),
            (
                Observation::NotRead,
                Outcome::Queued,
                pair(("True", "Queued"), ("False", "Progressing")),
            ),
            (
                Observation::NotRead,
                Outcome::Invalid("no".into()),
                pair(("False", "Stalled"), ("True", "InvalidSpec")),
            ),
            (
                seen(PoolPhase::Ready, 2),
                Outcome::Conflict("a/b".into()),
                pair(("False", "Stalled"), ("True", "Conflict")),
            ),
            (
                Observation::NotRead,
                failed("CloudAuth"),
                pair(("False", "Stalled"), ("True", "CloudAuth")),
            ),
            (
                Observation::NotRead,
                failed("CloudQuota"),
                pair(("False", "Stalled"), ("True", "CloudQuota")),
            ),
            (
                Observation::NotRead,
                failed("AccountNotFound"),
                pair(("False", "Stalled"), ("True", "AccountNotFound")),
            ),
            (
                Observation::NotRead,
                failed("CloudUnavailable"),
                pair(("True", "Retrying"), ("False", "Progressing")),
            ),
            (
                seen(PoolPhase::Ready, 2),
                failed("CloudThrottled"),
                pair(("True", "Retrying"), ("False", "Progressing")),
            ),
            // A refused change: stalled, and the pool running on its old settings is not Ready.
            (
                seen(PoolPhase::Ready, 2),
                Outcome::Refused("CCE.01400012: no".into()),
                pair(("False", "Stalled"), ("True", "ChangeRefused")),
            ),
        ];
        for (observation, outcome, expected) in cases {
            let status = status_of(&fresh, &observation, &outcome, "t1");
            assert_eq!(verdicts(&status), expected, "{observation:?} {outcome:?}");
            if matches!(outcome, Outcome::Refused(_)) {
                assert_eq!(condition(&status, "Ready").1, "ChangeRefused");
            }
        }
    }

    #[test]
    fn the_message_column_says_the_stall_else_the_work_else_the_nodes() {
        let fresh = NodePoolStatus::default();
        let cases = [
            (
                seen(PoolPhase::Ready, 2),
                Outcome::Synced,
                "2 of 2 nodes ready",
            ),
            (
                Observation::NotRead,
                failed("CloudAuth"),
                "CloudAuth: CloudAuth: the cloud said no",
            ),
            (
                Observation::NotRead,
                Outcome::Queued,
                "Queued: waiting for a reconcile slot",
            ),
            (
                seen(PoolPhase::Ready, 2),
                failed("CloudThrottled"),
                "Retrying: CloudThrottled: the cloud said no",
            ),
        ];
        for (observation, outcome, message) in cases {
            let status = status_of(&fresh, &observation, &outcome, "t1");
            assert_eq!(status.message.as_deref(), Some(message), "{outcome:?}");
        }
    }

    #[test]
    fn a_stall_carries_the_reason_a_person_acts_on() {
        let status = status_of(
            &NodePoolStatus::default(),
            &Observation::NotRead,
            &failed("CloudAuth"),
            "t1",
        );
        let stalled = status
            .conditions
            .iter()
            .find(|c| c.type_ == "Stalled")
            .unwrap();
        assert_eq!(stalled.message, "CloudAuth: the cloud said no");
    }

    #[test]
    fn a_deletion_is_in_progress_until_the_cloud_refuses_it() {
        let waiting = deleting(&NodePoolStatus::default(), None, Some(1), "t1");
        assert_eq!(
            verdicts(&waiting),
            pair(("True", "Deleting"), ("False", "Progressing"))
        );
        let refused = deleting(
            &waiting,
            Some(("CloudAuth", "APIG.0301: bad key")),
            Some(1),
            "t2",
        );
        assert_eq!(
            verdicts(&refused),
            pair(("False", "Stalled"), ("True", "CloudAuth"))
        );
        let retried = deleting(
            &waiting,
            Some(("CloudUnavailable", "HTTP 503")),
            Some(1),
            "t2",
        );
        assert_eq!(
            verdicts(&retried),
            pair(("True", "Retrying"), ("False", "Progressing"))
        );
    }

    #[test]
    fn a_change_just_sent_shows_as_reconciling_but_never_hides_a_stall() {
        let mut ready = status_of(
            &NodePoolStatus::default(),
            &seen(PoolPhase::Ready, 2),
            &Outcome::Synced,
            "t1",
        );
        acting(
            &mut ready,
            "Scaling",
            "changing node count 2 -> 5".into(),
            Some(1),
            "t2",
        );
        assert_eq!(
            ready.message.as_deref(),
            Some("Scaling: changing node count 2 -> 5")
        );
        assert_eq!(
            condition(&ready, "Reconciling"),
            ("True".into(), "Scaling".into(), "t2".into())
        );
        let mut sold_out = status_of(
            &NodePoolStatus::default(),
            &seen(PoolPhase::SoldOut, 1),
            &Outcome::Synced,
            "t1",
        );
        acting(
            &mut sold_out,
            "Scaling",
            "changing node count 1 -> 2".into(),
            Some(1),
            "t2",
        );
        assert_eq!(condition(&sold_out, "Reconciling").0, "False");
    }

    #[test]
    fn a_settled_pool_keeps_its_transition_times() {
        let first = status_of(
            &NodePoolStatus::default(),
            &seen(PoolPhase::Creating, 0),
            &Outcome::Synced,
            "t1",
        );
        let ready = status_of(&first, &seen(PoolPhase::Ready, 2), &Outcome::Synced, "t2");
        let again = status_of(&ready, &seen(PoolPhase::Ready, 2), &Outcome::Synced, "t3");
        assert_eq!(ready, again);
        assert_eq!(condition(&again, "Reconciling").2, "t2");
        assert_eq!(condition(&again, "Stalled").2, "t1");
    }
}
