//! Planning (pure): from the declared pool and what the cloud reports, the one next action.

use crate::provider::{CountUpdate, ObservedPool, PoolPhase};

use super::desired::Validated;

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Look the pool up by name, adopt it if it exists, create it otherwise.
    Create,
    /// Record the id of a pool found by name.
    Adopt,
    /// Converge settings and, when ours to set, the count.
    Update {
        count: CountUpdate,
        reasons: Vec<String>,
    },
    /// The cloud is working; look again soon.
    Wait,
    /// Settled and as declared.
    Nothing,
}

/// Switches that limit what the operator may do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mode {
    pub paused: bool,
    pub observe_only: bool,
}

pub fn plan(
    desired: &Validated,
    mode: Mode,
    observed: Option<&ObservedPool>,
    drift: &[String],
    recorded_id: Option<&str>,
) -> Action {
    let Some(observed) = observed else {
        return if mode.paused || mode.observe_only {
            Action::Nothing
        } else {
            Action::Create
        };
    };
    if recorded_id != Some(observed.id.as_str()) {
        return Action::Adopt;
    }
    if mode.paused || mode.observe_only {
        return Action::Nothing;
    }
    match observed.phase {
        PoolPhase::Creating | PoolPhase::Scaling | PoolPhase::Deleting => return Action::Wait,
        PoolPhase::Ready | PoolPhase::SoldOut | PoolPhase::Error => {}
    }
    let mut reasons: Vec<String> = drift.to_vec();
    let count = if desired.autoscaling {
        // The cloud's autoscaler owns the count: observe it, never enforce it.
        CountUpdate::Keep
    } else {
        if observed.desired != Some(desired.count) || observed.current != desired.count {
            reasons.push(format!(
                "node count {} -> {}",
                observed.desired.unwrap_or(observed.current),
                desired.count
            ));
        }
        CountUpdate::Set(desired.count)
    };
    if reasons.is_empty() {
        // A sold-out or failed pool already asks for the right count; retrying would not help.
        Action::Nothing
    } else {
        Action::Update { count, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{CloudKind, DesiredPool, PoolSpec};

    fn desired(count: u32, autoscaling: bool) -> Validated {
        Validated {
            cloud: CloudKind::Cce,
            parent: "c".into(),
            pool: DesiredPool {
                name: "p".into(),
                spec: PoolSpec::Cce(Default::default()),
            },
            count,
            autoscaling,
        }
    }

    fn observed(phase: PoolPhase, target: u32, current: u32) -> ObservedPool {
        ObservedPool {
            id: "id".into(),
            name: "p".into(),
            desired: Some(target),
            current,
            ready: current,
            creating: 0,
            deleting: 0,
            raw_state: String::new(),
            phase,
            messages: vec![],
            autoscaling: None,
            job_id: None,
            spec: serde_json::Value::Null,
        }
    }

    #[test]
    fn creates_when_missing_unless_paused_or_observing() {
        assert_eq!(
            plan(&desired(2, false), Mode::default(), None, &[], None),
            Action::Create
        );
        assert_eq!(
            plan(
                &desired(2, false),
                Mode {
                    paused: true,
                    ..Mode::default()
                },
                None,
                &[],
                None
            ),
            Action::Nothing
        );
        assert_eq!(
            plan(
                &desired(2, false),
                Mode {
                    observe_only: true,
                    ..Mode::default()
                },
                None,
                &[],
                None
            ),
            Action::Nothing
        );
    }

    #[test]
    fn adopts_a_pool_found_by_name_before_anything_else() {
        let pool = observed(PoolPhase::Ready, 5, 5);
        assert_eq!(
            plan(&desired(2, false), Mode::default(), Some(&pool), &[], None),
            Action::Adopt
        );
        assert_eq!(
            plan(
                &desired(2, false),
                Mode {
                    observe_only: true,
                    ..Mode::default()
                },
                Some(&pool),
                &[],
                None
            ),
            Action::Adopt
        );
    }

    #[test]
    fn waits_while_the_cloud_works() {
        for phase in [PoolPhase::Creating, PoolPhase::Scaling, PoolPhase::Deleting] {
            assert_eq!(
                plan(
                    &desired(3, false),
                    Mode::default(),
                    Some(&observed(phase, 2, 2)),
                    &[],
                    Some("id")
                ),
                Action::Wait
            );
        }
    }

    #[test]
    fn enforces_the_count_only_without_autoscaling() {
        let pool = observed(PoolPhase::Ready, 2, 2);
        assert!(matches!(
            plan(
                &desired(3, false),
                Mode::default(),
                Some(&pool),
                &[],
                Some("id")
            ),
            Action::Update {
                count: CountUpdate::Set(3),
                ..
            }
        ));
        assert_eq!(
            plan(
                &desired(3, true),
                Mode::default(),
                Some(&pool),
                &[],
                Some("id")
            ),
            Action::Nothing
        );
        let drift = vec!["nodeTemplate.k8sTags".to_owned()];
        assert!(matches!(
            plan(
                &desired(3, true),
                Mode::default(),
                Some(&pool),
                &drift,
                Some("id")
            ),
            Action::Update {
                count: CountUpdate::Keep,
                ..
            }
        ));
        assert_eq!(
            plan(
                &desired(2, false),
                Mode::default(),
                Some(&pool),
                &[],
                Some("id")
            ),
            Action::Nothing
        );
        assert_eq!(
            plan(
                &desired(2, false),
                Mode {
                    paused: true,
                    ..Mode::default()
                },
                Some(&observed(PoolPhase::Ready, 1, 1)),
                &[],
                Some("id")
            ),
            Action::Nothing
        );
    }
}
