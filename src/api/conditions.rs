//! kstatus-compatible conditions whose `lastTransitionTime` moves only on a transition.

use compact_str::CompactString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A kstatus-compatible condition; its `lastTransitionTime` moves only when its `status` does.
// Compact strings: the type, status, reason and time (and most messages) fit in the string's
// own 24 bytes, so the conditions of a cached NodePool take no allocation of their own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// The condition's type, e.g. `Ready` or `Synced`; one condition per type.
    #[serde(rename = "type")]
    #[schemars(with = "String")]
    pub type_: CompactString,
    /// `True`, `False` or `Unknown`.
    #[schemars(with = "String")]
    pub status: CompactString,
    /// One CamelCase word saying why, e.g. `PoolReady`, `InvalidSpec`, `CredentialsWork`, `CloudThrottled`.
    #[schemars(with = "String")]
    pub reason: CompactString,
    /// What happened, in words; the cloud's error code and message when a cloud call failed.
    #[serde(default)]
    #[schemars(with = "String")]
    pub message: CompactString,
    /// When `status` last changed (RFC 3339, to the second).
    #[schemars(with = "String")]
    pub last_transition_time: CompactString,
    /// The `metadata.generation` the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

/// A condition's status (kstatus): `Unknown` when the operator cannot tell, for instance while
/// the cloud does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => "True",
            ConditionStatus::False => "False",
            ConditionStatus::Unknown => "Unknown",
        }
    }
}

impl From<bool> for ConditionStatus {
    fn from(value: bool) -> Self {
        if value {
            ConditionStatus::True
        } else {
            ConditionStatus::False
        }
    }
}

/// Sets a condition; the transition time changes only when the status does.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: impl Into<ConditionStatus>,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &str,
) {
    let status = status.into().as_str();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = now.into();
            }
            existing.status = status.into();
            existing.reason = reason.into();
            existing.message = message.into();
            existing.observed_generation = generation;
        }
        None => conditions.push(Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: message.into(),
            last_transition_time: now.into(),
            observed_generation: generation,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_time_moves_only_on_status_change() {
        let mut conditions = Vec::new();
        set_condition(
            &mut conditions,
            "Ready",
            false,
            "Creating",
            "",
            Some(1),
            "t1",
        );
        set_condition(
            &mut conditions,
            "Ready",
            false,
            "Scaling",
            "more",
            Some(1),
            "t2",
        );
        assert_eq!(conditions[0].last_transition_time, "t1");
        assert_eq!(conditions[0].reason, "Scaling");
        set_condition(
            &mut conditions,
            "Ready",
            true,
            "PoolReady",
            "",
            Some(1),
            "t3",
        );
        assert_eq!(conditions[0].last_transition_time, "t3");
        set_condition(
            &mut conditions,
            "Ready",
            ConditionStatus::Unknown,
            "CloudUnreachable",
            "",
            Some(1),
            "t4",
        );
        assert_eq!(conditions[0].status, "Unknown");
        assert_eq!(conditions[0].last_transition_time, "t4");
    }
}
