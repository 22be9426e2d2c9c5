//! Planning (pure): from the declared pool and what the cloud reports, the one next action.

use crate::provider::{CountUpdate, ObservedPool, PoolPhase};

use super::validate::Validated;

/// How a change of the node count starts in an update's reasons.
pub const NODE_COUNT: &str = "node count";

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Look the pool up by name, adopt it if it exists, create it otherwise.
    Create,
    /// Record the id of a pool found by name.
    Adopt,
    /// The pool is marked as owned by another NodePool (its uid): touch nothing.
    Conflict { owner: String },
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
    if let Some(owner) = &observed.owner
        && owner != &desired.owner
    {
        return Action::Conflict {
            owner: owner.clone(),
        };
    }
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
    let count = if desired.autoscaler_owns_count(Some(observed)) {
        // The cloud's autoscaler owns the count: observe it, never enforce it.
        CountUpdate::Keep
    } else {
        // What the cloud aims at, not what it has: a sold-out or failed pool that already
        // asks for the declared count is not asked again.
        let target = observed.desired.unwrap_or(observed.current);
        if target != desired.count {
            reasons.push(format!("{NODE_COUNT} {target} -> {}", desired.count));
        }
        CountUpdate::Set(desired.count)
    };
    if reasons.is_empty() {
        Action::Nothing
    } else {
        Action::Update { count, reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::provider::{Autoscaling, CloudKind, DesiredPool, PoolSpec};

    const ME: &str = "uid-me";

    fn desired(count: u32, autoscaling: Option<bool>) -> Validated {
        Validated {
            cloud: CloudKind::Cce,
            parent: "c".into(),
            pool: DesiredPool {
                name: "p".into(),
                spec: PoolSpec::Cce(Default::default()),
            },
            count,
            autoscaling,
            owner: ME.into(),
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
            owner: Some(ME.into()),
            job_id: None,
            spec: crate::provider::CloudSpec::Unknown,
        }
    }

    const PAUSED: Mode = Mode {
        paused: true,
        observe_only: false,
    };
    const OBSERVING: Mode = Mode {
        paused: false,
        observe_only: true,
    };

    fn count_of(action: &Action) -> Option<CountUpdate> {
        match action {
            Action::Update { count, .. } => Some(*count),
            _ => None,
        }
    }

    #[test]
    fn creates_when_missing_unless_paused_or_observing() {
        let d = desired(2, None);
        assert_eq!(plan(&d, Mode::default(), None, &[], None), Action::Create);
        assert_eq!(plan(&d, PAUSED, None, &[], None), Action::Nothing);
        assert_eq!(plan(&d, OBSERVING, None, &[], None), Action::Nothing);
    }

    #[test]
    fn adopts_a_pool_found_by_name_before_anything_else() {
        let mut pool = observed(PoolPhase::Ready, 5, 5);
        pool.owner = None;
        for mode in [Mode::default(), OBSERVING, PAUSED] {
            assert_eq!(
                plan(&desired(2, None), mode, Some(&pool), &[], None),
                Action::Adopt
            );
        }
    }

    #[test]
    fn a_pool_marked_by_another_nodepool_is_never_touched() {
        let mut pool = observed(PoolPhase::Ready, 5, 5);
        pool.owner = Some("uid-other".into());
        let conflict = Action::Conflict {
            owner: "uid-other".into(),
        };
        for (mode, recorded) in [
            (Mode::default(), None),
            (Mode::default(), Some("id")),
            (OBSERVING, None),
        ] {
            let drift = ["nodeTemplate.k8sTags".to_owned()];
            assert_eq!(
                plan(&desired(2, None), mode, Some(&pool), &drift, recorded),
                conflict
            );
        }
    }

    #[test]
    fn waits_while_the_cloud_works() {
        for phase in [PoolPhase::Creating, PoolPhase::Scaling, PoolPhase::Deleting] {
            assert_eq!(
                plan(
                    &desired(3, None),
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
    fn enforces_the_count_only_when_no_autoscaler_owns_it() {
        let pool = observed(PoolPhase::Ready, 2, 2);
        let mut autoscaled = pool.clone();
        autoscaled.autoscaling = Some(Autoscaling {
            enabled: true,
            min: Some(1),
            max: Some(6),
        });
        let drift = vec!["nodeTemplate.k8sTags".to_owned()];
        // (declared autoscaling, observed pool, drift) -> count update, if any
        type Row<'a> = (
            Option<bool>,
            &'a ObservedPool,
            &'a [String],
            Option<CountUpdate>,
        );
        let table: [Row; 7] = [
            (None, &pool, &[], Some(CountUpdate::Set(3))),
            (Some(false), &pool, &[], Some(CountUpdate::Set(3))),
            (Some(true), &pool, &[], None),
            (Some(true), &pool, &drift, Some(CountUpdate::Keep)),
            // Enabled in the console, or an `autoscaling` block removed from the spec.
            (None, &autoscaled, &[], None),
            (None, &autoscaled, &drift, Some(CountUpdate::Keep)),
            // Turned off in the spec: the update turns it off and sets the count.
            (Some(false), &autoscaled, &[], Some(CountUpdate::Set(3))),
        ];
        for (declared, observed, drift, expected) in table {
            let action = plan(
                &desired(3, declared),
                Mode::default(),
                Some(observed),
                drift,
                Some("id"),
            );
            assert_eq!(count_of(&action), expected, "{declared:?} {observed:?}");
        }
        assert_eq!(
            plan(
                &desired(2, None),
                Mode::default(),
                Some(&pool),
                &[],
                Some("id")
            ),
            Action::Nothing
        );
        assert_eq!(
            plan(
                &desired(2, None),
                PAUSED,
                Some(&observed(PoolPhase::Ready, 1, 1)),
                &[],
                Some("id")
            ),
            Action::Nothing
        );
    }

    #[test]
    fn a_pool_that_already_aims_at_the_count_is_not_asked_again() {
        for phase in [PoolPhase::SoldOut, PoolPhase::Error, PoolPhase::Ready] {
            // The cloud aims at 4 but holds 1 (no capacity, failed nodes): no update.
            let pool = observed(phase, 4, 1);
            assert_eq!(
                plan(
                    &desired(4, None),
                    Mode::default(),
                    Some(&pool),
                    &[],
                    Some("id")
                ),
                Action::Nothing,
                "{phase:?}"
            );
            // A new count still goes out.
            assert_eq!(
                count_of(&plan(
                    &desired(5, None),
                    Mode::default(),
                    Some(&pool),
                    &[],
                    Some("id")
                )),
                Some(CountUpdate::Set(5))
            );
        }
        // A cloud that reports no target is compared by what it has.
        let mut untargeted = observed(PoolPhase::Ready, 0, 2);
        untargeted.desired = None;
        assert_eq!(
            count_of(&plan(
                &desired(3, None),
                Mode::default(),
                Some(&untargeted),
                &[],
                Some("id")
            )),
            Some(CountUpdate::Set(3))
        );
    }
}
