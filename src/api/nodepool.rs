//! `NodePool`: one cloud node pool, declared with the cloud's own field names.
//!
//! One file for the whole NodePool schema (three clouds' blocks and the status), so the CRD
//! reads top to bottom; its schema tests follow.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Condition;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountRef {
    /// A CloudAccount in the NodePool's namespace.
    pub name: String,
}

/// What happens to the cloud pool when the NodePool is deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Delete the cloud pool and wait until it is gone.
    #[default]
    Delete,
    /// Leave the cloud pool as it is.
    Orphan,
}

// kube-derive repeats `printcolumn(...)` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "nodepool.io",
    version = "v1alpha1",
    kind = "NodePool",
    namespaced,
    status = "NodePoolStatus",
    shortname = "np",
    printcolumn(name = "Provider", type_ = "string", json_path = ".status.provider"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Desired", type_ = "integer", json_path = ".status.desiredNode"),
    printcolumn(name = "Current", type_ = "integer", json_path = ".status.currentNode"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Synced",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Pool ID",
        type_ = "string",
        json_path = ".status.poolId",
        priority = 1
    ),
    printcolumn(
        name = "Cloud State",
        type_ = "string",
        json_path = ".status.cloudState",
        priority = 1
    ),
    printcolumn(
        name = "Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].message",
        priority = 1
    )
)]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.cce), has(self.modelarts), has(self.ens)].exists_one(x, x)").message("exactly one of cce, modelarts, ens must be set"),
    validation = Rule::new("has(self.cce) == has(oldSelf.cce) && has(self.modelarts) == has(oldSelf.modelarts) && has(self.ens) == has(oldSelf.ens)").message("the provider cannot be changed"),
    validation = Rule::new("has(self.poolName) == has(oldSelf.poolName) && (!has(self.poolName) || self.poolName == oldSelf.poolName)").message("poolName is immutable"),
    validation = Rule::new("!has(self.cce) || !has(self.poolName) || (self.poolName.matches('^[a-z]([a-z0-9-]{0,48}[a-z0-9])?$') && self.poolName != 'DefaultPool')").message("a CCE pool name has 1 to 50 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, not DefaultPool"),
    validation = Rule::new("!has(self.modelarts) || !has(self.poolName) || (self.poolName.matches('^[a-z][a-z0-9-]{0,48}[a-z0-9]$') && !self.poolName.endsWith('-default'))").message("a ModelArts node pool name has 2 to 50 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with - or -default")
)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    pub account_ref: AccountRef,
    /// The cloud pool's name; defaults to `metadata.name`; immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_name: Option<String>,
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Stop every write to the cloud (status still reports what the cloud says).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Adopt and report an existing pool; never create, change or delete it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observe_only: bool,
    /// Overrides the account's poll interval (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400), extend("format" = "int32"))]
    pub poll_interval_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cce: Option<CcePoolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modelarts: Option<ModelArtsPoolSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ens: Option<EnsPoolSpec>,
}

/// A Huawei CCE node pool (`spec` of the CCE API, plus the cluster it belongs to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.clusterId == oldSelf.clusterId").message("clusterId is immutable")
)]
#[serde(rename_all = "camelCase")]
pub struct CcePoolSpec {
    pub cluster_id: String,
    /// `vm` (default), `ElasticBMS` or `pm`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["vm", "ElasticBMS", "pm"]))]
    pub pool_type: Option<String>,
    pub node_template: CceNodeTemplate,
    /// Node count (enforced unless autoscaling is enabled).
    #[schemars(range(min = 0, max = 1000))]
    pub initial_node_count: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<CceAutoscaling>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub node_management: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.flavor == oldSelf.flavor && self.az == oldSelf.az").message("flavor and az cannot be changed"),
    validation = Rule::new("!has(self.dataVolumes) || self.dataVolumes.all(v, !has(v.size) || (v.size >= 100 && v.size <= 32768))").message("data volumes are 100 to 32768 GiB"),
    validation = Rule::new("!has(self.rootVolume.size) || (self.rootVolume.size >= 40 && self.rootVolume.size <= 1024)").message("the root volume is 40 to 1024 GiB")
)]
#[serde(rename_all = "camelCase")]
pub struct CceNodeTemplate {
    #[schemars(length(min = 1))]
    pub flavor: String,
    #[schemars(length(min = 1))]
    pub az: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<CceLogin>,
    pub root_volume: CceVolume,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub data_volumes: Option<Vec<CceVolume>>,
    #[serde(rename = "k8sTags", default, skip_serializing_if = "Option::is_none")]
    /// At most 19: CCE allows 20 and the operator's ownership mark takes one.
    #[schemars(extend("maxProperties" = 19))]
    pub k8s_tags: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub taints: Option<Vec<CceTaint>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    pub user_tags: Option<Vec<CceUserTag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub extend_param: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub storage: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub runtime: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub node_nic_spec: Option<Value>,
    #[serde(rename = "publicIP", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub public_ip: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_mode: Option<i32>,
}

/// Key-pair login (passwords do not belong in a manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CceLogin {
    pub ssh_key: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CceVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumetype: Option<String>,
    /// GiB.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub extend_param: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CceTaint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[schemars(extend("enum" = ["NoSchedule", "PreferNoSchedule", "NoExecute"]))]
    pub effect: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
pub struct CceUserTag {
    #[x_kube(validation = Rule::new("!self.startsWith('CCE-') && !self.startsWith('__type_baremetal')").message("user tag keys may not start with CCE- or __type_baremetal"))]
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.minNodeCount) || !has(self.maxNodeCount) || self.minNodeCount <= self.maxNodeCount").message("minNodeCount must not exceed maxNodeCount")
)]
#[serde(rename_all = "camelCase")]
pub struct CceAutoscaling {
    #[serde(default)]
    pub enable: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_node_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_node_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub scale_down_cooldown_time: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

/// A Huawei ModelArts node pool in a resource pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.poolName == oldSelf.poolName").message("poolName (the resource pool) is immutable")
)]
#[serde(rename_all = "camelCase")]
pub struct ModelArtsPoolSpec {
    /// The resource pool the node pool belongs to.
    #[schemars(length(min = 1))]
    pub pool_name: String,
    /// `metadata.annotations` of the node pool (billing keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    pub resources: ModelArtsResources,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.maxCount) || self.maxCount >= self.count").message("maxCount must be at least count"),
    validation = Rule::new("self.flavor == oldSelf.flavor").message("flavor cannot be changed")
)]
#[serde(rename_all = "camelCase")]
pub struct ModelArtsResources {
    #[schemars(length(min = 1))]
    pub flavor: String,
    #[schemars(range(min = 0))]
    pub count: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_list")]
    pub azs: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<ModelArtsTaint>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<CceUserTag>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub network: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub extend_params: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub os: Option<Value>,
}

fn preserve_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelArtsTaint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: String,
}

/// An Alibaba ENS cluster node pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.clusterId == oldSelf.clusterId").message("clusterId is immutable")
)]
#[serde(rename_all = "camelCase")]
pub struct EnsPoolSpec {
    #[schemars(length(min = 1))]
    pub cluster_id: String,
    pub scaling_group: EnsScalingGroup,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_config: Option<EnsKubernetesConfig>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.systemDiskSize) || (self.systemDiskSize >= 20 && self.systemDiskSize % 10 == 0)").message("systemDiskSize must be at least 20 and a multiple of 10"),
    validation = Rule::new("!has(self.dataDisks) || self.dataDisks.all(d, !has(d.size) || (d.size >= 20 && d.size % 10 == 0))").message("data disk sizes must be at least 20 and multiples of 10")
)]
#[serde(rename_all = "camelCase")]
pub struct EnsScalingGroup {
    #[schemars(length(min = 1))]
    pub image_id: String,
    #[schemars(length(min = 1))]
    pub instance_types: Vec<String>,
    #[schemars(length(min = 1))]
    pub vswitch_ids: Vec<String>,
    /// Node count.
    #[schemars(range(min = 0, max = 1000))]
    pub desired_size: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["PostPaid", "PrePaid"]))]
    pub instance_charge_type: Option<String>,
    /// Key-pair login (passwords do not belong in a manifest).
    #[schemars(length(min = 1))]
    pub key_pair_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["local_ssd", "local_hdd", "cloud_efficiency", "cloud_ssd"]))]
    pub system_disk_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_disk_size: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// At most 16 (an ENS instance's data-disk limit; it also bounds the CEL rule's cost).
    #[schemars(length(max = 16))]
    pub data_disks: Option<Vec<EnsDataDisk>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnsDataDisk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnsKubernetesConfig {
    /// Base64 script run before the node joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_user_data: Option<String>,
    /// Base64 script run after the node joins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
}

/// What the cloud reports, in one vocabulary for all clouds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolStatus {
    /// `cce`, `modelarts` or `ens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Pending, Creating, Scaling, Ready, SoldOut, Deleting, Error, Paused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// The cloud's own state word.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_state: Option<String>,
    /// The cloud's id of the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_node: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_node: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating_node: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting_node: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_job_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// One condition per type (a list keyed by `type`, as kstatus and server-side apply expect).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cce_spec() -> serde_json::Value {
        json!({
            "accountRef": {"name": "huawei"},
            "cce": {"clusterId": "c1", "initialNodeCount": 2,
                    "nodeTemplate": {"flavor": "s6.large.2", "az": "az1", "rootVolume": {"size": 40}}}
        })
    }

    #[test]
    fn exactly_one_provider_block() {
        assert!(NodePoolSpec::validate_cel(&cce_spec(), None).is_ok());
        let mut both = cce_spec();
        both["ens"] = json!({"clusterId": "e"});
        assert!(NodePoolSpec::validate_cel(&both, None).is_err());
        let none = json!({"accountRef": {"name": "a"}});
        assert!(NodePoolSpec::validate_cel(&none, None).is_err());
    }

    #[test]
    fn provider_pool_name_and_cluster_are_immutable() {
        let old = cce_spec();
        let mut renamed = cce_spec();
        renamed["poolName"] = json!("other");
        assert!(NodePoolSpec::validate_cel(&renamed, Some(&old)).is_err());
        let moved = json!({"clusterId": "c2", "initialNodeCount": 2, "nodeTemplate": {"flavor": "f", "az": "a", "rootVolume": {}}});
        let before = json!({"clusterId": "c1", "initialNodeCount": 2, "nodeTemplate": {"flavor": "f", "az": "a", "rootVolume": {}}});
        assert!(CcePoolSpec::validate_cel(&moved, Some(&before)).is_err());
        assert!(CcePoolSpec::validate_cel(&before, Some(&before)).is_ok());
    }

    #[test]
    fn cce_names_volumes_and_autoscaling_bounds() {
        let mut bad_name = cce_spec();
        bad_name["poolName"] = json!("Bad_Name");
        assert!(NodePoolSpec::validate_cel(&bad_name, None).is_err());
        bad_name["poolName"] = json!("DefaultPool");
        assert!(NodePoolSpec::validate_cel(&bad_name, None).is_err());
        let small_root = json!({"flavor": "f", "az": "a", "rootVolume": {"size": 20}});
        assert!(CceNodeTemplate::validate_cel(&small_root, None).is_err());
        let big_data = json!({"flavor": "f", "az": "a", "rootVolume": {"size": 40}, "dataVolumes": [{"size": 50}]});
        assert!(CceNodeTemplate::validate_cel(&big_data, None).is_err());
        assert!(
            CceAutoscaling::validate_cel(
                &json!({"enable": true, "minNodeCount": 3, "maxNodeCount": 1}),
                None
            )
            .is_err()
        );
        assert!(
            CceAutoscaling::validate_cel(
                &json!({"enable": true, "minNodeCount": 1, "maxNodeCount": 3}),
                None
            )
            .is_ok()
        );
    }

    #[test]
    fn ens_disks_and_modelarts_counts() {
        let group = |size: i32| json!({"imageId": "m", "instanceTypes": ["t"], "vswitchIds": ["v"], "desiredSize": 1, "keyPairName": "k", "systemDiskSize": size});
        assert!(EnsScalingGroup::validate_cel(&group(40), None).is_ok());
        assert!(EnsScalingGroup::validate_cel(&group(25), None).is_err());
        assert!(EnsScalingGroup::validate_cel(&group(10), None).is_err());
        let resources =
            |count: i32, max: i32| json!({"flavor": "f", "count": count, "maxCount": max});
        assert!(ModelArtsResources::validate_cel(&resources(2, 2), None).is_ok());
        assert!(ModelArtsResources::validate_cel(&resources(3, 2), None).is_err());
        assert!(
            ModelArtsResources::validate_cel(
                &resources(2, 2),
                Some(&json!({"flavor": "g", "count": 2}))
            )
            .is_err()
        );
    }
}
