//! A plan the cloud refuses (pure): each refusal is counted in `status.plan.refused`, and past
//! the operator's limit the plan is not sent again. A refusal may clear by itself (a cluster
//! being upgraded), so a few are retried with backoff; one that persists needs a person, and
//! resending it forever would only spend the account's quota. A spec change makes a new plan
//! (its hash covers the generation); the `nodepool.io/retry` annotation with a new value sends
//! the same plan again.

use crate::api::{Plan, Refusal};

/// Carries the count of refusals over from the plan shown before, when it is the same plan and
/// the retry annotation has not taken a new value since the count started.
pub fn carry_over(plan: &mut Plan, previous: Option<&Plan>, retry: Option<&str>) {
    plan.refused = previous
        .filter(|p| p.hash == plan.hash)
        .and_then(|p| p.refused.clone())
        .filter(|r| r.retry.as_deref() == retry);
}

/// Counts one more refusal of `plan`, with the cloud's message.
pub fn record(plan: &mut Plan, message: String, retry: Option<&str>) {
    let times = plan.refused.as_ref().map_or(0, |r| r.times) + 1;
    plan.refused = Some(Refusal {
        times,
        message,
        retry: retry.map(str::to_owned),
    });
}

/// Whether `plan` was refused `limit` times: it waits for a spec change or a retry.
pub fn given_up(plan: &Plan, limit: u32) -> bool {
    plan.refused.as_ref().is_some_and(|r| r.times >= limit)
}

/// What the NodePool says of a plan the cloud keeps refusing.
pub fn explanation(plan: &Plan, name: &str) -> String {
    let (times, message) = plan
        .refused
        .as_ref()
        .map_or((0, ""), |r| (r.times, r.message.as_str()));
    format!(
        "the cloud refused plan {} {times} times ({message}); it is not sent again until the spec changes, or: kubectl annotate nodepool {name} {}=<a new value> --overwrite",
        plan.hash,
        crate::api::RETRY_ANNOTATION
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(hash: &str) -> Plan {
        Plan {
            action: "Update".into(),
            hash: hash.into(),
            changes: Vec::new(),
            nodes_added: None,
            nodes_removed: None,
            refused: None,
        }
    }

    fn refused(hash: &str, times: u32, retry: Option<&str>) -> Plan {
        let mut p = plan(hash);
        p.refused = Some(Refusal {
            times,
            message: "CCE.01400001: no".into(),
            retry: retry.map(str::to_owned),
        });
        p
    }

    #[test]
    fn the_count_survives_only_for_the_same_plan_and_the_same_retry_value() {
        for (previous, retry, expected) in [
            (Some(refused("a", 2, None)), None, Some(2)),
            (Some(refused("a", 2, Some("1"))), Some("1"), Some(2)),
            // A new plan (a spec change) starts again.
            (Some(refused("b", 2, None)), None, None),
            // A new retry value starts again, as does a removed one.
            (Some(refused("a", 3, None)), Some("1"), None),
            (Some(refused("a", 3, Some("1"))), Some("2"), None),
            (Some(refused("a", 3, Some("1"))), None, None),
            (Some(plan("a")), None, None),
            (None, None, None),
        ] {
            let mut current = plan("a");
            carry_over(&mut current, previous.as_ref(), retry);
            assert_eq!(
                current.refused.map(|r| r.times),
                expected,
                "{previous:?} {retry:?}"
            );
        }
    }

    #[test]
    fn refusals_count_up_to_the_limit_and_keep_the_last_message() {
        let mut current = plan("a");
        for n in 1..=3 {
            assert!(!given_up(&current, 3), "after {} refusals", n - 1);
            record(
                &mut current,
                format!("CCE.01400001: refusal {n}"),
                Some("x"),
            );
        }
        assert!(given_up(&current, 3));
        let refusal = current.refused.clone().unwrap();
        assert_eq!(refusal.times, 3);
        assert_eq!(refusal.message, "CCE.01400001: refusal 3");
        assert_eq!(refusal.retry.as_deref(), Some("x"));
        let text = explanation(&current, "workers");
        assert!(
            text.contains("plan a 3 times (CCE.01400001: refusal 3)"),
            "{text}"
        );
        assert!(
            text.contains("kubectl annotate nodepool workers nodepool.io/retry="),
            "{text}"
        );
    }
}
