//! From a pool the cloud lists to the NodePool that declares it as it is (pure), so that
//! applying the manifest adopts the pool with no change: the cloud's own settings in the
//! cloud's own field names, the count the cloud aims at, never a password, never the marks the
//! cloud or the operator add.

use serde_json::{Value, json};

use crate::api::{
    AccountRef, CcePoolSpec, DeletionPolicy, EnsDataDisk, EnsKubernetesConfig, EnsPoolSpec,
    EnsScalingGroup, ModelArtsPoolSpec, ModelArtsResources, NodePool, NodePoolSpec,
};
use crate::controller::validate;
use crate::provider::cce::SERVER_LABEL_PREFIX;
use crate::provider::{CloudKind, CloudSpec, EnsSettings, OWNER_LABEL, ObservedPool};

/// Where the imported NodePools go and how they treat their pools.
#[derive(Debug, Clone)]
pub struct Target {
    pub namespace: String,
    pub account: String,
    pub cloud: CloudKind,
    /// CCE cluster, ModelArts resource pool or ENS cluster.
    pub parent: String,
    /// Declare the pools `observeOnly`: report them, never change them.
    pub observe_only: bool,
}

/// Why a listed pool gets no manifest.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("pool {pool} ({id}) is not imported: {reason}")]
pub struct Skipped {
    pub pool: String,
    pub id: String,
    pub reason: String,
}

/// A Kubernetes object name for a cloud pool name: lowercase letters, digits, `-` and `.`,
/// starting and ending with a letter or digit (the pool's own name stays in `spec.poolName`).
pub fn object_name(pool: &str, id: &str) -> String {
    let mapped: String = pool
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut name: String = trimmed.chars().take(253).collect();
    name = name
        .trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned();
    if name.is_empty() {
        name = format!("pool-{}", id.to_ascii_lowercase());
    }
    name
}

/// Removes every key that names a password, at any depth: a manifest never carries one.
fn drop_passwords(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.retain(|key, _| !key.to_ascii_lowercase().contains("password"));
            map.values_mut().for_each(drop_passwords);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_passwords),
        _ => {}
    }
}

/// Removes the labels the cloud or the operator set themselves from a label map.
fn drop_marks(labels: Option<&mut Value>) {
    let Some(labels) = labels else { return };
    let empty = match labels {
        Value::Object(map) => {
            map.retain(|key, _| key != OWNER_LABEL && !key.starts_with(SERVER_LABEL_PREFIX));
            map.is_empty()
        }
        _ => false,
    };
    if empty {
        *labels = Value::Null;
    }
}

fn count(pool: &ObservedPool) -> Result<i32, String> {
    let count = pool.desired.unwrap_or(pool.current);
    i32::try_from(count).map_err(|_| format!("node count {count} is out of range"))
}

fn typed<T: serde::de::DeserializeOwned>(mut value: Value, what: &str) -> Result<T, String> {
    drop_passwords(&mut value);
    serde_path_to_error::deserialize(value)
        .map_err(|e| format!("the cloud's {what} does not fit a NodePool: {e}"))
}

fn cce(
    target: &Target,
    pool: &ObservedPool,
    spec: &nodepool_wire::cce::NodePoolSpec,
) -> Result<CcePoolSpec, String> {
    let mut value = serde_json::to_value(spec).map_err(|e| e.to_string())?;
    if let Some(map) = value.as_object_mut() {
        map.insert("clusterId".into(), json!(target.parent));
        map.insert("initialNodeCount".into(), json!(count(pool)?));
        // Settings for creating the pool, not part of what it is.
        map.remove("ignoreInitialNodeCount");
    }
    drop_marks(value.pointer_mut("/nodeTemplate/k8sTags"));
    typed(value, "CCE spec")
}

fn modelarts(
    target: &Target,
    pool: &ObservedPool,
    spec: &nodepool_wire::modelarts::NodePoolSpec,
) -> Result<ModelArtsPoolSpec, String> {
    let resources = spec
        .resources
        .as_ref()
        .ok_or_else(|| "the cloud reports no resources".to_owned())?;
    let mut value = serde_json::to_value(resources).map_err(|e| e.to_string())?;
    if let Some(map) = value.as_object_mut() {
        map.insert("count".into(), json!(count(pool)?));
        // The resource pool and the creation progress are the cloud's, not settings.
        map.remove("nodePool");
        map.remove("creatingStep");
    }
    drop_marks(value.pointer_mut("/labels"));
    let resources: ModelArtsResources = typed(value, "ModelArts resources")?;
    Ok(ModelArtsPoolSpec {
        pool_name: target.parent.clone(),
        annotations: None,
        resources,
    })
}

fn small(value: Option<i64>, what: &str) -> Result<Option<i32>, String> {
    value
        .map(|v| i32::try_from(v).map_err(|_| format!("{what} {v} is out of range")))
        .transpose()
}

fn ens(
    target: &Target,
    pool: &ObservedPool,
    settings: &EnsSettings,
) -> Result<EnsPoolSpec, String> {
    let group = &settings.scaling_group;
    let key_pair_name = group.key_pair_name.clone().ok_or_else(|| {
        "its nodes log in with a password, and a NodePool declares a key pair (KeyPairName) only".to_owned()
    })?;
    let data_disks = group
        .data_disks
        .as_ref()
        .map(|disks| {
            disks
                .iter()
                .map(|d| {
                    Ok(EnsDataDisk {
                        category: d.category.clone(),
                        size: small(d.size, "data disk size")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()
        })
        .transpose()?;
    Ok(EnsPoolSpec {
        cluster_id: target.parent.clone(),
        scaling_group: EnsScalingGroup {
            image_id: group.image_id.clone().unwrap_or_default(),
            instance_types: group.instance_types.clone().unwrap_or_default(),
            vswitch_ids: group.vswitch_ids.clone().unwrap_or_default(),
            desired_size: count(pool)?,
            instance_charge_type: group.instance_charge_type.clone(),
            key_pair_name,
            system_disk_category: group.system_disk_category.clone(),
            system_disk_size: small(group.system_disk_size, "system disk size")?,
            data_disks,
        },
        kubernetes_config: settings
            .kubernetes_config
            .as_ref()
            .map(|c| EnsKubernetesConfig {
                pre_user_data: c.pre_user_data.clone(),
                user_data: c.user_data.clone(),
            }),
    })
}

/// The NodePool that declares `pool` as the cloud reports it, or why there is none.
pub fn nodepool(target: &Target, pool: &ObservedPool) -> Result<NodePool, Skipped> {
    let skipped = |reason: String| Skipped {
        pool: pool.name.clone(),
        id: pool.id.clone(),
        reason,
    };
    if let Some(owner) = &pool.owner {
        return Err(skipped(format!(
            "it is marked as owned by NodePool uid {owner} (release it from that NodePool first)"
        )));
    }
    let mut spec = NodePoolSpec {
        account_ref: AccountRef {
            name: target.account.clone(),
        },
        pool_name: Some(pool.name.clone()),
        // Deleting an imported NodePool leaves the pool it found: set Delete to hand it over.
        deletion_policy: DeletionPolicy::Orphan,
        paused: false,
        observe_only: target.observe_only,
        change_policy: Default::default(),
        poll_interval_seconds: None,
        cce: None,
        modelarts: None,
        ens: None,
    };
    match (&pool.spec, target.cloud) {
        (CloudSpec::Cce(wire), CloudKind::Cce) => {
            spec.cce = Some(Box::new(cce(target, pool, wire).map_err(skipped)?))
        }
        (CloudSpec::ModelArts(wire), CloudKind::ModelArts) => {
            spec.modelarts = Some(Box::new(modelarts(target, pool, wire).map_err(skipped)?))
        }
        (CloudSpec::Ens(settings), CloudKind::Ens) => {
            spec.ens = Some(Box::new(ens(target, pool, settings).map_err(skipped)?))
        }
        _ => return Err(skipped("the cloud did not report its settings".into())),
    }
    let mut object = NodePool::new(&object_name(&pool.name, &pool.id), spec);
    object.metadata.namespace = Some(target.namespace.clone());
    // The operator's own check of what the schema cannot say (a CCE DefaultPool, a ModelArts
    // `-default` pool): a manifest it would refuse is not printed.
    validate::validate(&object).map_err(|invalid| skipped(invalid.0))?;
    Ok(object)
}

/// The manifest as the user applies it: no status, no empty metadata.
pub fn to_yaml(pool: &NodePool) -> Result<String, serde_yaml::Error> {
    let object = json!({
        "apiVersion": "nodepool.io/v1alpha1",
        "kind": "NodePool",
        "metadata": {
            "name": pool.metadata.name,
            "namespace": pool.metadata.namespace,
        },
        "spec": pool.spec,
    });
    serde_yaml::to_string(&object)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::Labels;
    use crate::provider::PoolPhase;
    use nodepool_wire::{cce, ens};

    fn target(cloud: CloudKind) -> Target {
        Target {
            namespace: "platform".into(),
            account: "huawei".into(),
            cloud,
            parent: "cluster-1".into(),
            observe_only: true,
        }
    }

    fn listed(name: &str, spec: CloudSpec) -> ObservedPool {
        ObservedPool {
            id: "id-1".into(),
            name: name.into(),
            desired: Some(3),
            current: 2,
            ready: 2,
            creating: 1,
            deleting: 0,
            raw_state: String::new(),
            phase: PoolPhase::Scaling,
            messages: vec![],
            autoscaling: None,
            owner: None,
            job_id: None,
            spec,
        }
    }

    fn cce_listed(name: &str) -> ObservedPool {
        let template = cce::NodeTemplate {
            flavor: Some("s6.large.2".into()),
            az: Some("cn-north-4a".into()),
            login: Some(cce::Login {
                ssh_key: Some("kp".into()),
                user_password: Some(json!({"username": "root", "password": "hunter2"})),
                ..Default::default()
            }),
            root_volume: Some(cce::Volume {
                volumetype: Some("SATA".into()),
                size: Some(40),
                ..Default::default()
            }),
            k8s_tags: Some(BTreeMap::from([
                ("team".to_owned(), "ml".to_owned()),
                ("cce.cloud.com/cce-nodepool".to_owned(), name.to_owned()),
            ])),
            extend_param: Some(
                serde_json::from_value(json!({"maxPods": 110, "adminPassword": "hunter2"}))
                    .unwrap(),
            ),
            ..Default::default()
        };
        listed(
            name,
            CloudSpec::Cce(Box::new(cce::NodePoolSpec {
                node_template: Some(template),
                initial_node_count: Some(1),
                ..Default::default()
            })),
        )
    }

    #[test]
    fn a_cce_pool_is_declared_as_the_cloud_reports_it_without_marks_or_passwords() {
        let nodepool = nodepool(&target(CloudKind::Cce), &cce_listed("gpu-a")).unwrap();
        assert_eq!(nodepool.metadata.name.as_deref(), Some("gpu-a"));
        assert_eq!(nodepool.metadata.namespace.as_deref(), Some("platform"));
        let spec = &nodepool.spec;
        assert_eq!(spec.pool_name.as_deref(), Some("gpu-a"));
        assert!(spec.observe_only);
        assert_eq!(spec.deletion_policy, DeletionPolicy::Orphan);
        let cce = spec.cce.as_ref().unwrap();
        assert_eq!(cce.cluster_id, "cluster-1");
        // The count the cloud aims at, not the one it had when the pool was created.
        assert_eq!(cce.initial_node_count, 3);
        assert_eq!(cce.node_template.flavor, "s6.large.2");
        let tags = cce.node_template.k8s_tags.clone().unwrap();
        assert_eq!(
            tags,
            Labels::from_iter([("team".to_owned(), "ml".to_owned())])
        );
        let yaml = to_yaml(&nodepool).unwrap();
        assert!(!yaml.contains("hunter2"), "{yaml}");
        assert!(!yaml.to_ascii_lowercase().contains("password"), "{yaml}");
        assert!(yaml.contains("maxPods: 110"), "{yaml}");
        assert!(!yaml.contains("status"), "{yaml}");
    }

    #[test]
    fn pools_a_nodepool_cannot_take_are_left_out_with_the_reason() {
        let mut owned = cce_listed("owned");
        owned.owner = Some("uid-9".into());
        let mut no_settings = cce_listed("bare");
        no_settings.spec = CloudSpec::Unknown;
        let password_login = listed(
            "edge",
            CloudSpec::Ens(Box::new(EnsSettings {
                scaling_group: ens::ScalingGroup {
                    password: Some("hunter2".into()),
                    ..Default::default()
                },
                kubernetes_config: None,
            })),
        );
        let cases = [
            (CloudKind::Cce, cce_listed("DefaultPool"), "naming rule"),
            (CloudKind::Cce, owned, "owned by NodePool uid uid-9"),
            (CloudKind::Cce, no_settings, "did not report its settings"),
            (CloudKind::Ens, password_login, "password"),
        ];
        for (cloud, pool, why) in cases {
            let skipped = nodepool(&target(cloud), &pool).unwrap_err();
            assert!(skipped.to_string().contains(why), "{skipped}");
            assert!(!skipped.to_string().contains("hunter2"));
        }
    }

    #[test]
    fn an_ens_pool_keeps_its_scaling_group() {
        let pool = listed(
            "Edge Pool #1",
            CloudSpec::Ens(Box::new(EnsSettings {
                scaling_group: ens::ScalingGroup {
                    image_id: Some("m-1".into()),
                    instance_types: Some(vec!["ens.sn1.small".into()]),
                    vswitch_ids: Some(vec!["vsw-1".into()]),
                    desired_size: Some(2),
                    key_pair_name: Some("kp".into()),
                    system_disk_size: Some(40),
                    ..Default::default()
                },
                kubernetes_config: None,
            })),
        );
        let nodepool = nodepool(&target(CloudKind::Ens), &pool).unwrap();
        assert_eq!(nodepool.metadata.name.as_deref(), Some("edge-pool--1"));
        assert_eq!(nodepool.spec.pool_name.as_deref(), Some("Edge Pool #1"));
        let group = &nodepool.spec.ens.as_ref().unwrap().scaling_group;
        assert_eq!(group.desired_size, 3);
        assert_eq!(group.system_disk_size, Some(40));
        assert_eq!(group.key_pair_name, "kp");
    }

    #[test]
    fn object_names_are_valid_kubernetes_names() {
        assert_eq!(object_name("workers", "x"), "workers");
        assert_eq!(object_name("-GPU_pool-", "x"), "gpu-pool");
        assert_eq!(object_name("###", "AbC"), "pool-abc");
        assert_eq!(object_name(&"a".repeat(300), "x").len(), 253);
    }
}
