//! Validate (pure): a NodePool becomes the pool to converge to ([`Validated`]), or the reason
//! its spec cannot be acted on ([`InvalidSpec`]).

use kube::ResourceExt;

use crate::api::{NodePool, NodePoolSpec};
use crate::provider::{CloudKind, DesiredPool, OWNER_LABEL, ObservedPool, PoolSpec};

/// The pool a NodePool asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Validated {
    pub cloud: CloudKind,
    /// CCE cluster, ModelArts resource pool or ENS cluster.
    pub parent: String,
    pub pool: DesiredPool,
    pub count: u32,
    /// Cloud-side autoscaling as declared: on, off, or not said (then the cloud's own setting
    /// stands).
    pub autoscaling: Option<bool>,
    /// The NodePool's uid, which marks the cloud pool as its own.
    pub owner: String,
}

impl Validated {
    /// Whether the cloud's autoscaler owns the node count: when the spec turns it on, or says
    /// nothing while the cloud reports it on (enabled in the console, or a removed
    /// `autoscaling` block). The operator never pushes a count over an active autoscaler.
    pub fn autoscaler_owns_count(&self, observed: Option<&ObservedPool>) -> bool {
        match self.autoscaling {
            Some(enabled) => enabled,
            None => observed
                .and_then(|o| o.autoscaling)
                .is_some_and(|a| a.enabled),
        }
    }
}

fn convert<T: serde::de::DeserializeOwned>(
    value: impl serde::Serialize,
    what: &str,
) -> Result<T, String> {
    let json = serde_json::to_value(value).map_err(|e| format!("{what}: {e}"))?;
    serde_path_to_error::deserialize(json).map_err(|e| format!("{what}: {e}"))
}

fn cce_name_ok(name: &str) -> bool {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (1..=50).contains(&name.len())
        && valid_chars
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && name != "DefaultPool"
}

fn modelarts_name_ok(name: &str) -> bool {
    let valid_chars = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (2..=50).contains(&name.len())
        && valid_chars
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with('-')
        && !name.ends_with("-default")
}

/// A spec that cannot be acted on until it changes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid spec: {0}")]
pub struct InvalidSpec(pub String);

impl InvalidSpec {
    pub fn category(&self) -> &'static str {
        "InvalidSpec"
    }
}

/// Checks what the schema cannot (rules that depend on `metadata.name`) and builds the
/// provider-side pool.
pub fn validate(pool: &NodePool) -> Result<Validated, InvalidSpec> {
    validated(pool).map_err(InvalidSpec)
}

fn validated(pool: &NodePool) -> Result<Validated, String> {
    let spec: &NodePoolSpec = &pool.spec;
    let name = spec
        .pool_name
        .clone()
        .or_else(|| pool.metadata.name.clone())
        .unwrap_or_default();
    // ENS node pools carry no labels or tags: their ownership rests on the operator's cache.
    let owner = pool.uid().unwrap_or_default();
    match (&spec.cce, &spec.modelarts, &spec.ens) {
        (Some(cce), None, None) => {
            if !cce_name_ok(&name) {
                return Err(format!(
                    "pool name {name:?} does not follow CCE's naming rule (1-50 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, not DefaultPool)"
                ));
            }
            let mut body = serde_json::to_value(cce).map_err(|e| e.to_string())?;
            if let Some(map) = body.as_object_mut() {
                map.remove("clusterId");
            }
            let mut wire_spec: nodepool_wire::cce::NodePoolSpec = convert(body, "cce")?;
            if !owner.is_empty() {
                wire_spec
                    .node_template
                    .get_or_insert_default()
                    .k8s_tags
                    .get_or_insert_default()
                    .insert(OWNER_LABEL.to_owned(), owner.clone());
            }
            let autoscaling = cce.autoscaling.as_ref().map(|a| a.enable);
            Ok(Validated {
                cloud: CloudKind::Cce,
                parent: cce.cluster_id.clone(),
                pool: DesiredPool {
                    name,
                    spec: PoolSpec::Cce(wire_spec),
                },
                count: u32::try_from(cce.initial_node_count)
                    .map_err(|_| "initialNodeCount must not be negative".to_owned())?,
                autoscaling,
                owner,
            })
        }
        (None, Some(ma), None) => {
            if !modelarts_name_ok(&name) {
                return Err(format!(
                    "pool name {name:?} does not follow ModelArts' naming rule (2-50 lowercase letters, digits and hyphens, starting with a letter, not ending with - or -default)"
                ));
            }
            let mut resources: nodepool_wire::modelarts::Resources =
                convert(&ma.resources, "modelarts.resources")?;
            if !owner.is_empty() {
                resources
                    .labels
                    .get_or_insert_default()
                    .insert(OWNER_LABEL.to_owned(), owner.clone());
            }
            Ok(Validated {
                cloud: CloudKind::ModelArts,
                parent: ma.pool_name.clone(),
                pool: DesiredPool {
                    name,
                    spec: PoolSpec::ModelArts {
                        spec: nodepool_wire::modelarts::NodePoolSpec {
                            resources: Some(resources),
                            ..Default::default()
                        },
                        annotations: ma
                            .annotations
                            .iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect(),
                    },
                },
                count: u32::try_from(ma.resources.count)
                    .map_err(|_| "count must not be negative".to_owned())?,
                autoscaling: None,
                owner,
            })
        }
        (None, None, Some(ens)) => {
            if name.is_empty() || name.len() > 128 {
                return Err(format!("pool name {name:?} must have 1 to 128 characters"));
            }
            let group = &ens.scaling_group;
            let scaling_group = nodepool_wire::ens::ScalingGroup {
                image_id: Some(group.image_id.clone()),
                instance_types: Some(group.instance_types.clone()),
                vswitch_ids: Some(group.vswitch_ids.clone()),
                desired_size: Some(i64::from(group.desired_size)),
                instance_charge_type: group.instance_charge_type.clone(),
                key_pair_name: Some(group.key_pair_name.clone()),
                system_disk_category: group.system_disk_category.clone(),
                system_disk_size: group.system_disk_size.map(i64::from),
                data_disks: group.data_disks.as_ref().map(|disks| {
                    disks
                        .iter()
                        .map(|d| nodepool_wire::ens::DataDisk {
                            category: d.category.clone(),
                            size: d.size.map(i64::from),
                            ..Default::default()
                        })
                        .collect()
                }),
                ..Default::default()
            };
            let kubernetes_config =
                ens.kubernetes_config
                    .as_ref()
                    .map(|c| nodepool_wire::ens::KubernetesConfig {
                        pre_user_data: c.pre_user_data.clone(),
                        user_data: c.user_data.clone(),
                        ..Default::default()
                    });
            Ok(Validated {
                cloud: CloudKind::Ens,
                parent: ens.cluster_id.clone(),
                pool: DesiredPool {
                    name,
                    spec: PoolSpec::Ens {
                        scaling_group,
                        kubernetes_config,
                    },
                },
                count: u32::try_from(group.desired_size)
                    .map_err(|_| "desiredSize must not be negative".to_owned())?,
                autoscaling: None,
                owner,
            })
        }
        _ => Err("exactly one of cce, modelarts, ens must be set".into()),
    }
}

/// Where a NodePool's cloud pool lives, read without validation (cleanup must work even when
/// the spec is no longer valid).
pub fn location(pool: &NodePool) -> Option<(CloudKind, String, String)> {
    let spec = &pool.spec;
    let name = spec
        .pool_name
        .clone()
        .or_else(|| pool.metadata.name.clone())?;
    if let Some(cce) = &spec.cce {
        return Some((CloudKind::Cce, cce.cluster_id.clone(), name));
    }
    if let Some(ma) = &spec.modelarts {
        return Some((CloudKind::ModelArts, ma.pool_name.clone(), name));
    }
    spec.ens
        .as_ref()
        .map(|ens| (CloudKind::Ens, ens.cluster_id.clone(), name))
}
