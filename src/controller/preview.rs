//! The plan shown before a change (pure): from the planned action, the declared pool and what
//! the cloud reports, each setting that changes (from -> to, with its change class), the nodes
//! added or removed, and a digest a person approves it by.

use std::sync::OnceLock;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::api::fields::{Change, contract};
use crate::api::{Plan, PlannedChange};
use crate::provider::{CloudKind, CloudSpec, ObservedPool, PoolSpec};

use super::plan::{Action, NODE_COUNT};
use super::validate::Validated;

/// The class of each contract path (`cce.nodeTemplate.k8sTags`), read once from the schema.
fn class_of(path: &str) -> Option<Change> {
    static CLASSES: OnceLock<Vec<(String, Change)>> = OnceLock::new();
    CLASSES
        .get_or_init(|| {
            contract()
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f.path, f.change))
                .collect()
        })
        .iter()
        // A block whose fields share a class (`ens.kubernetesConfig`) has that class.
        .find(|(p, _)| p == path || p.starts_with(&format!("{path}.")))
        .map(|(_, c)| *c)
}

/// A drift name (the cloud's path, as providers report it) as (contract path, JSON pointer
/// into the cloud's spec).
fn locate(cloud: CloudKind, drifted: &str) -> (String, String) {
    let pointer = format!("/{}", drifted.replace('.', "/"));
    match cloud {
        CloudKind::Cce => (format!("cce.{drifted}"), pointer),
        CloudKind::ModelArts => (format!("modelarts.{drifted}"), pointer),
        CloudKind::Ens => {
            // `ScalingGroup.ImageId` is `ens.scalingGroup.imageId` in the NodePool.
            let camel: Vec<String> = drifted
                .split('.')
                .map(|part| {
                    let mut chars = part.chars();
                    chars
                        .next()
                        .map(|first| first.to_ascii_lowercase().to_string() + chars.as_str())
                        .unwrap_or_default()
                })
                .collect();
            (format!("ens.{}", camel.join(".")), pointer)
        }
    }
}

fn declared_value(spec: &PoolSpec) -> Value {
    match spec {
        PoolSpec::Cce(spec) => serde_json::to_value(spec).unwrap_or_default(),
        PoolSpec::ModelArts { spec, .. } => serde_json::to_value(spec).unwrap_or_default(),
        PoolSpec::Ens {
            scaling_group,
            kubernetes_config,
        } => json!({"ScalingGroup": scaling_group, "KubernetesConfig": kubernetes_config}),
    }
}

fn reported_value(spec: &CloudSpec) -> Value {
    match spec {
        CloudSpec::Unknown => Value::Null,
        CloudSpec::Cce(spec) => serde_json::to_value(spec).unwrap_or_default(),
        CloudSpec::ModelArts(spec) => serde_json::to_value(spec).unwrap_or_default(),
        CloudSpec::Ens(settings) => json!({
            "ScalingGroup": settings.scaling_group,
            "KubernetesConfig": settings.kubernetes_config,
        }),
        CloudSpec::Kept(_) => match &*spec.settings() {
            CloudSpec::Kept(_) => Value::Null,
            settings => reported_value(settings),
        },
    }
}

fn text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "(none)".to_owned(),
        Some(value) => value.to_string(),
    }
}

fn count_field(cloud: CloudKind) -> &'static str {
    match cloud {
        CloudKind::Cce => "cce.initialNodeCount",
        CloudKind::ModelArts => "modelarts.resources.count",
        CloudKind::Ens => "ens.scalingGroup.desiredSize",
    }
}

/// The hash covers the spec's generation too, so an approval left on the NodePool never
/// approves a later plan that happens to look the same.
fn digest(plan: &Plan, generation: Option<i64>) -> String {
    let canonical = json!([
        generation,
        plan.action,
        plan.changes,
        plan.nodes_added,
        plan.nodes_removed
    ]);
    let hash = Sha256::digest(canonical.to_string().as_bytes());
    hex::encode(&hash[..6])
}

/// The plan of `action`, or `None` for an action that changes nothing in the cloud.
pub fn describe(
    desired: &Validated,
    observed: Option<&ObservedPool>,
    action: &Action,
    generation: Option<i64>,
) -> Option<Plan> {
    let count = i32::try_from(desired.count).ok();
    let mut plan = match action {
        Action::Create => Plan {
            action: "Create".into(),
            hash: String::new(),
            changes: Vec::new(),
            nodes_added: count,
            nodes_removed: None,
            refused: None,
        },
        Action::Update { reasons, .. } => {
            let declared = declared_value(&desired.pool.spec);
            let reported = observed.map_or(Value::Null, |o| reported_value(&o.spec));
            let target = observed.map(|o| o.desired.unwrap_or(o.current));
            let mut plan = Plan {
                action: "Update".into(),
                hash: String::new(),
                changes: Vec::new(),
                nodes_added: None,
                nodes_removed: None,
                refused: None,
            };
            for reason in reasons {
                if reason.starts_with(NODE_COUNT) {
                    let from = target.unwrap_or_default();
                    let to = desired.count;
                    plan.changes.push(PlannedChange {
                        field: count_field(desired.cloud).to_owned(),
                        from: from.to_string(),
                        to: to.to_string(),
                        change: Change::InPlace.word().to_owned(),
                    });
                    let delta = i64::from(to) - i64::from(from);
                    let nodes = i32::try_from(delta.unsigned_abs()).ok();
                    if delta > 0 {
                        plan.nodes_added = nodes;
                    } else if delta < 0 {
                        plan.nodes_removed = nodes;
                    }
                    continue;
                }
                let (field, pointer) = locate(desired.cloud, reason);
                plan.changes.push(PlannedChange {
                    change: class_of(&field)
                        .unwrap_or(Change::InPlace)
                        .word()
                        .to_owned(),
                    from: text(reported.pointer(&pointer)),
                    to: text(declared.pointer(&pointer)),
                    field,
                });
            }
            plan
        }
        Action::Adopt | Action::Conflict { .. } | Action::Wait | Action::Nothing => return None,
    };
    plan.hash = digest(&plan, generation);
    Some(plan)
}

/// The plan in one line, for events and the approval message.
pub fn summary(plan: &Plan) -> String {
    let mut parts: Vec<String> = plan
        .changes
        .iter()
        .map(|c| format!("{} {} -> {} ({})", c.field, c.from, c.to, c.change))
        .collect();
    if let Some(n) = plan.nodes_added {
        parts.push(format!("{n} nodes added"));
    }
    if let Some(n) = plan.nodes_removed {
        parts.push(format!("{n} nodes removed"));
    }
    format!(
        "{} plan {}: {}",
        plan.action,
        plan.hash,
        if parts.is_empty() {
            "no setting changes".to_owned()
        } else {
            parts.join("; ")
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::status::Observation;
    use crate::controller::status::tests::{desired, seen};
    use crate::provider::{CountUpdate, PoolPhase};

    fn observed() -> ObservedPool {
        let Observation::Seen(pool) = seen(PoolPhase::Ready, 2) else {
            unreachable!()
        };
        pool
    }

    #[test]
    fn a_create_adds_the_declared_nodes() {
        let plan = describe(&desired(), None, &Action::Create, Some(1)).unwrap();
        assert_eq!(plan.action, "Create");
        assert_eq!(plan.nodes_added, Some(2));
        assert!(plan.changes.is_empty());
        assert_eq!(plan.hash.len(), 12);
    }

    #[test]
    fn an_update_lists_each_change_with_its_class_and_the_nodes() {
        let mut wanted = desired();
        wanted.count = 5;
        let update = Action::Update {
            count: CountUpdate::Set(5),
            reasons: vec!["nodeTemplate.k8sTags".into(), "node count 2 -> 5".into()],
        };
        let plan = describe(&wanted, Some(&observed()), &update, Some(1)).unwrap();
        let fields: Vec<(&str, &str, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.field.as_str(), c.to.as_str(), c.change.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("cce.nodeTemplate.k8sTags", "(none)", "in place"),
                ("cce.initialNodeCount", "5", "in place"),
            ]
        );
        assert_eq!(plan.changes[1].from, "2");
        assert_eq!((plan.nodes_added, plan.nodes_removed), (Some(3), None));
        // The same plan has the same hash; another plan another.
        assert_eq!(
            describe(&wanted, Some(&observed()), &update, Some(1))
                .unwrap()
                .hash,
            plan.hash
        );
        wanted.count = 1;
        let fewer = Action::Update {
            count: CountUpdate::Set(1),
            reasons: vec!["node count 2 -> 1".into()],
        };
        let smaller = describe(&wanted, Some(&observed()), &fewer, Some(1)).unwrap();
        assert_eq!(
            (smaller.nodes_added, smaller.nodes_removed),
            (None, Some(1))
        );
        assert_ne!(smaller.hash, plan.hash);
        // The same change at a later generation needs its own approval.
        let later = describe(&wanted, Some(&observed()), &fewer, Some(2)).unwrap();
        assert_ne!(later.hash, smaller.hash);
        assert!(
            summary(&smaller).contains("cce.initialNodeCount 2 -> 1 (in place); 1 nodes removed")
        );
    }

    #[test]
    fn ens_settings_map_to_their_nodepool_fields_and_class() {
        assert_eq!(
            locate(CloudKind::Ens, "ScalingGroup.ImageId").0,
            "ens.scalingGroup.imageId"
        );
        assert_eq!(
            class_of("ens.scalingGroup.imageId"),
            Some(Change::NewNodesOnly)
        );
        assert_eq!(class_of("ens.kubernetesConfig"), Some(Change::NewNodesOnly));
        assert_eq!(class_of("cce.autoscaling"), Some(Change::InPlace));
    }

    #[test]
    fn nothing_to_change_has_no_plan() {
        for action in [Action::Nothing, Action::Wait, Action::Adopt] {
            assert_eq!(
                describe(&desired(), Some(&observed()), &action, Some(1)),
                None
            );
        }
    }
}
