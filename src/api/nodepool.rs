//! `NodePool`: one cloud node pool, declared with the cloud's own field names.
//!
//! One file for the whole NodePool schema (three clouds' blocks and the status), so the CRD
//! reads top to bottom; its schema tests follow.

use std::collections::BTreeMap;

use litemap::LiteMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Condition;

/// A map of a few string keys and values (labels, annotations), sorted by key like a
/// `BTreeMap` but held in one vector: a B-tree node is about half a kilobyte even for the one
/// label most NodePools carry, and every NodePool is cached.
pub type Labels = LiteMap<String, String>;

/// The CloudAccount whose region, credentials and endpoints reach the pool's cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AccountRef {
    /// Name of a CloudAccount in the NodePool's namespace.
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

/// Whether a change waits for a person's approval.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ChangePolicy {
    /// Carry out every change at once.
    #[default]
    Auto,
    /// Carry out a change only after its plan is approved.
    Manual,
}

impl ChangePolicy {
    fn is_auto(&self) -> bool {
        *self == ChangePolicy::Auto
    }
}

/// What the operator is about to do to the cloud pool, shown before it does it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Plan {
    /// `Create` (a new cloud pool) or `Update` (settings or node count of the existing one).
    pub action: String,
    /// A digest of the plan; `Manual` NodePools carry it out once annotated `nodepool.io/approve-plan=<hash>`.
    pub hash: String,
    /// Each setting that changes: the field, its value in the cloud and the declared one, and its change class.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<PlannedChange>,
    /// Nodes the plan adds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes_added: Option<i32>,
    /// Nodes the plan removes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nodes_removed: Option<i32>,
    /// How often the cloud refused this plan; past the operator's limit it is not sent again until the spec changes or the NodePool's `nodepool.io/retry` annotation takes a new value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
}

/// The cloud's refusals of one plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Refusal {
    /// Refusals so far.
    pub times: u32,
    /// The cloud's code and message of the last refusal.
    pub message: String,
    /// The `nodepool.io/retry` annotation's value when the count started; a new value starts it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<String>,
}

/// One setting a plan changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlannedChange {
    /// The field under `spec` (`cce.nodeTemplate.k8sTags`).
    pub field: String,
    /// Its value as the cloud reports it (JSON).
    pub from: String,
    /// Its declared value (JSON).
    pub to: String,
    /// `in place` or `new nodes only` (see docs/fields.md).
    pub change: String,
}

/// The node pool to converge to: the account, lifecycle switches and exactly one of `cce`, `modelarts`, `ens`, written with the cloud's own field names.
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
    doc = "A cloud node pool (Huawei Cloud CCE or ModelArts, Alibaba Cloud ENS) that the operator creates, scales and deletes through the cloud's API, reporting the cloud's view in status.",
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
    printcolumn(name = "Message", type_ = "string", json_path = ".status.message"),
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
        name = "Synced Message",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Synced\")].message",
        priority = 1
    )
)]
#[x_kube(
    cel,
    validation = Rule::new("[has(self.cce), has(self.modelarts), has(self.ens)].exists_one(x, x)").message("exactly one of cce, modelarts, ens must be set"),
    validation = Rule::new("has(self.cce) == has(oldSelf.cce) && has(self.modelarts) == has(oldSelf.modelarts) && has(self.ens) == has(oldSelf.ens)").message("the provider cannot be changed"),
    validation = Rule::new("has(self.poolName) == has(oldSelf.poolName) && (!has(self.poolName) || self.poolName == oldSelf.poolName)").message("poolName cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("!has(self.cce) || !has(self.poolName) || (self.poolName.matches('^[a-z]([a-z0-9-]{0,48}[a-z0-9])?$') && self.poolName != 'DefaultPool')").message("a CCE pool name has 1 to 50 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, not DefaultPool"),
    validation = Rule::new("!has(self.modelarts) || !has(self.poolName) || (self.poolName.matches('^[a-z][a-z0-9-]{0,48}[a-z0-9]$') && !self.poolName.endsWith('-default'))").message("a ModelArts node pool name has 2 to 50 characters: lowercase letters, digits and hyphens, starting with a letter, not ending with - or -default")
)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    /// The CloudAccount (in this namespace) whose credentials and endpoints reach the cloud.
    pub account_ref: AccountRef,
    /// [immutable] The cloud pool's name (CCE and ModelArts `metadata.name`, ENS `NodepoolInfo.Name`); defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_name: Option<String>,
    /// What deleting the NodePool does to the cloud pool: `Delete` (default) deletes it and waits until it is gone, `Orphan` leaves it as it is.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Stop every write to the cloud (status still reports what the cloud says).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Adopt and report an existing pool; never create, change or delete it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub observe_only: bool,
    /// `Auto` (default): changes reach the cloud at once. `Manual`: the operator shows each change in `status.plan` and makes it only once the NodePool is annotated `nodepool.io/approve-plan=<status.plan.hash>`.
    #[serde(default, skip_serializing_if = "ChangePolicy::is_auto")]
    pub change_policy: ChangePolicy,
    /// How often the settled pool is compared with the cloud, in seconds (1-86400); overrides the CloudAccount's `pollIntervalSeconds`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400), extend("format" = "int32"))]
    pub poll_interval_seconds: Option<u32>,
    /// A Huawei CCE node pool: the `spec` of CCE's node-pool API and the cluster it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cce: Option<Box<CcePoolSpec>>,
    /// A Huawei ModelArts node pool: ModelArts' node-pool `spec` and the resource pool it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modelarts: Option<Box<ModelArtsPoolSpec>>,
    /// An Alibaba ENS node pool: the parameters of ENS `CreateClusterNodePool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ens: Option<Box<EnsPoolSpec>>,
}

/// A Huawei CCE node pool (`spec` of the CCE API, plus the cluster it belongs to).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.clusterId == oldSelf.clusterId").message("cce.clusterId cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.type) == has(oldSelf.type) && (!has(self.type) || self.type == oldSelf.type)").message("cce.type cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.nodeManagement) == has(oldSelf.nodeManagement) && (!has(self.nodeManagement) || self.nodeManagement == oldSelf.nodeManagement)").message("cce.nodeManagement cannot be changed in place: create a new NodePool with the new value, then delete this one")
)]
#[serde(rename_all = "camelCase")]
pub struct CcePoolSpec {
    /// [immutable] The CCE cluster of the pool (`{cluster_id}` in CCE's node-pool API path).
    pub cluster_id: String,
    /// [immutable] CCE `spec.type`: `vm` (default, ECS virtual machines), `ElasticBMS` (elastic bare-metal servers, CCE Turbo clusters) or `pm` (bare-metal servers).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["vm", "ElasticBMS", "pm"]))]
    pub pool_type: Option<String>,
    /// CCE `spec.nodeTemplate`: the settings every node of the pool is created with.
    pub node_template: CceNodeTemplate,
    /// [in place] CCE `spec.initialNodeCount`: the pool's node count (0-1000, and no more than the cluster's node limit), enforced unless autoscaling is enabled.
    #[schemars(range(min = 0, max = 1000))]
    pub initial_node_count: i32,
    /// CCE `spec.autoscaling`: the cloud's autoscaler; while it is enabled the node count is observed, never enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<CceAutoscaling>,
    /// [immutable] CCE `spec.nodeManagement` (`serverGroupReference`: the ECS group every node is created in), passed to CCE as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub node_management: Option<Value>,
}

/// CCE `spec.nodeTemplate`: the settings of every node of the pool (each field says how it may change).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.flavor == oldSelf.flavor").message("cce.nodeTemplate.flavor cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("self.az == oldSelf.az").message("cce.nodeTemplate.az cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("self.rootVolume == oldSelf.rootVolume").message("cce.nodeTemplate.rootVolume cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.os) == has(oldSelf.os) && (!has(self.os) || self.os == oldSelf.os)").message("cce.nodeTemplate.os cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.login) == has(oldSelf.login) && (!has(self.login) || self.login == oldSelf.login)").message("cce.nodeTemplate.login cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.dataVolumes) == has(oldSelf.dataVolumes) && (!has(self.dataVolumes) || self.dataVolumes == oldSelf.dataVolumes)").message("cce.nodeTemplate.dataVolumes cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.extendParam) == has(oldSelf.extendParam) && (!has(self.extendParam) || self.extendParam == oldSelf.extendParam)").message("cce.nodeTemplate.extendParam cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.storage) == has(oldSelf.storage) && (!has(self.storage) || self.storage == oldSelf.storage)").message("cce.nodeTemplate.storage cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.runtime) == has(oldSelf.runtime) && (!has(self.runtime) || self.runtime == oldSelf.runtime)").message("cce.nodeTemplate.runtime cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.nodeNicSpec) == has(oldSelf.nodeNicSpec) && (!has(self.nodeNicSpec) || self.nodeNicSpec == oldSelf.nodeNicSpec)").message("cce.nodeTemplate.nodeNicSpec cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.publicIP) == has(oldSelf.publicIP) && (!has(self.publicIP) || self.publicIP == oldSelf.publicIP)").message("cce.nodeTemplate.publicIP cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.billingMode) == has(oldSelf.billingMode) && (!has(self.billingMode) || self.billingMode == oldSelf.billingMode)").message("cce.nodeTemplate.billingMode cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("!has(self.dataVolumes) || self.dataVolumes.all(v, !has(v.size) || (v.size >= 100 && v.size <= 32768))").message("data volumes are 100 to 32768 GiB"),
    validation = Rule::new("!has(self.rootVolume.size) || (self.rootVolume.size >= 40 && self.rootVolume.size <= 1024)").message("the root volume is 40 to 1024 GiB")
)]
#[serde(rename_all = "camelCase")]
pub struct CceNodeTemplate {
    /// [immutable] CCE `spec.nodeTemplate.flavor`: the nodes' ECS flavor (e.g. `s6.large.2`).
    #[schemars(length(min = 1))]
    pub flavor: String,
    /// [immutable] CCE `spec.nodeTemplate.az`: the nodes' availability zone (e.g. `cn-north-4a`; `random` lets CCE choose per scale-out).
    #[schemars(length(min = 1))]
    pub az: String,
    /// [immutable] CCE `spec.nodeTemplate.os`: the nodes' operating system (e.g. `EulerOS 2.9`); not needed when `extendParam` sets `alpha.cce/NodeImageID`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    /// [immutable] CCE `spec.nodeTemplate.login`: how to log in to the nodes (a key pair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<CceLogin>,
    /// [immutable] CCE `spec.nodeTemplate.rootVolume`: the nodes' system disk (40 to 1024 GiB).
    pub root_volume: CceVolume,
    /// [immutable] CCE `spec.nodeTemplate.dataVolumes`: the nodes' data disks (at most 16, each 100 to 32768 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16))]
    pub data_volumes: Option<Vec<CceVolume>>,
    #[serde(rename = "k8sTags", default, skip_serializing_if = "Option::is_none")]
    /// [in place] CCE `spec.nodeTemplate.k8sTags`: Kubernetes labels of the nodes; at most 19 (CCE allows 20 and the operator's ownership mark takes one).
    #[schemars(with = "Option<BTreeMap<String, String>>", extend("maxProperties" = 19))]
    pub k8s_tags: Option<Labels>,
    /// [in place] CCE `spec.nodeTemplate.taints`: Kubernetes taints of the nodes (at most 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 20))]
    pub taints: Option<Vec<CceTaint>>,
    /// [in place] CCE `spec.nodeTemplate.userTags`: cloud resource tags of the nodes' servers (at most 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8))]
    pub user_tags: Option<Vec<CceUserTag>>,
    /// [immutable] CCE `spec.nodeTemplate.extendParam`: extended node settings (`maxPods`, `alpha.cce/preInstall`, `alpha.cce/postInstall`, `alpha.cce/NodeImageID`, ...), passed to CCE as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub extend_param: Option<Value>,
    /// [immutable] CCE `spec.nodeTemplate.storage`: how the nodes' disks are initialised (`storageSelectors`, `storageGroups`), passed to CCE as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub storage: Option<Value>,
    /// [immutable] CCE `spec.nodeTemplate.runtime`: the nodes' container runtime (`name`; CCE's default is docker), passed to CCE as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub runtime: Option<Value>,
    /// [immutable] CCE `spec.nodeTemplate.nodeNicSpec`: the nodes' network interfaces (`primaryNic.subnetId`, `extNics`), passed to CCE as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub node_nic_spec: Option<Value>,
    /// [immutable] CCE `spec.nodeTemplate.publicIP`: EIPs for the nodes (`ids` of existing EIPs, or `count` and `eip` to create them), passed to CCE as written.
    #[serde(rename = "publicIP", default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub public_ip: Option<Value>,
    /// [immutable] CCE `spec.nodeTemplate.billingMode`: the nodes' billing mode (`0` in CCE's examples; CCE documents it as not supported yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billing_mode: Option<i32>,
}

/// Key-pair login (passwords do not belong in a manifest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CceLogin {
    /// CCE `spec.nodeTemplate.login.sshKey`: the name of the key pair that logs in to the nodes.
    pub ssh_key: String,
}

/// A CCE node disk (CCE `Volume`: the `rootVolume` or one of the `dataVolumes`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CceVolume {
    /// CCE `volumetype`: the EVS disk type (e.g. `SATA`, `SAS`; ECS `root_volume.volumetype`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumetype: Option<String>,
    /// CCE `size`: the disk size in GiB (CCE writes GB): 40 to 1024 for the root volume, 100 to 32768 for a data volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
    /// CCE volume `extendParam`: the disk's extension parameters (e.g. `useType: docker`; ECS `extendparam`), passed to CCE as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub extend_param: Option<Value>,
}

/// A Kubernetes taint CCE puts on every node of the pool (CCE `spec.nodeTemplate.taints[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CceTaint {
    /// CCE `taints[].key`: the taint's key.
    pub key: String,
    /// CCE `taints[].value`: the taint's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// CCE `taints[].effect`: `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    #[schemars(extend("enum" = ["NoSchedule", "PreferNoSchedule", "NoExecute"]))]
    pub effect: String,
}

/// A cloud resource tag (CCE `spec.nodeTemplate.userTags[]`, ModelArts `spec.resources.tags[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
pub struct CceUserTag {
    /// Tag key (CCE `userTags[].key`, ModelArts `tags[].key`); it may not start with `CCE-` or `__type_baremetal`.
    #[x_kube(validation = Rule::new("!self.startsWith('CCE-') && !self.startsWith('__type_baremetal')").message("user tag keys may not start with CCE- or __type_baremetal"))]
    pub key: String,
    /// Tag value (CCE `userTags[].value`, ModelArts `tags[].value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// CCE `spec.autoscaling`: the cloud autoscaler's settings for the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.minNodeCount) || !has(self.maxNodeCount) || self.minNodeCount <= self.maxNodeCount").message("minNodeCount must not exceed maxNodeCount")
)]
#[serde(rename_all = "camelCase")]
pub struct CceAutoscaling {
    /// [in place] CCE `autoscaling.enable`: turns CCE autoscaling on; the node count is then observed, never enforced.
    #[serde(default)]
    pub enable: bool,
    /// [in place] CCE `autoscaling.minNodeCount`: the fewest nodes a scale-down leaves (at least 0, at most `maxNodeCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub min_node_count: Option<i32>,
    /// [in place] CCE `autoscaling.maxNodeCount`: the most nodes a scale-up reaches (at least `minNodeCount`, at most the cluster's node limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub max_node_count: Option<i32>,
    /// [in place] CCE `autoscaling.scaleDownCooldownTime`: minutes during which nodes added by a scale-up are not scaled down (at least 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub scale_down_cooldown_time: Option<i32>,
    /// [in place] CCE `autoscaling.priority`: the pool's weight; pools of higher weight are scaled up first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
}

/// A Huawei ModelArts node pool in a resource pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.poolName == oldSelf.poolName").message("modelarts.poolName (the resource pool) cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.annotations) == has(oldSelf.annotations) && (!has(self.annotations) || self.annotations == oldSelf.annotations)").message("modelarts.annotations cannot be changed in place: create a new NodePool with the new value, then delete this one")
)]
#[serde(rename_all = "camelCase")]
pub struct ModelArtsPoolSpec {
    /// [immutable] The resource pool the node pool belongs to (`{pool_name}` in ModelArts' node-pool API path). The node pool's own name is `spec.poolName`.
    #[schemars(length(min = 1))]
    pub pool_name: String,
    /// [immutable] ModelArts `metadata.annotations` of the node pool: billing keys such as `os.modelarts/billing.mode`, `os.modelarts/period.num`, `os.modelarts/order.id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub annotations: Option<Labels>,
    /// ModelArts `spec.resources`: the pool's flavor, node count and node settings.
    pub resources: ModelArtsResources,
}

/// ModelArts `spec.resources` (`PoolResource`): the flavor, node count and node settings of the pool; each field says how it may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.maxCount) || self.maxCount >= self.count").message("maxCount must be at least count"),
    validation = Rule::new("self.flavor == oldSelf.flavor").message("modelarts.resources.flavor cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.azs) == has(oldSelf.azs) && (!has(self.azs) || self.azs == oldSelf.azs)").message("modelarts.resources.azs cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.network) == has(oldSelf.network) && (!has(self.network) || self.network == oldSelf.network)").message("modelarts.resources.network cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.extendParams) == has(oldSelf.extendParams) && (!has(self.extendParams) || self.extendParams == oldSelf.extendParams)").message("modelarts.resources.extendParams cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.os) == has(oldSelf.os) && (!has(self.os) || self.os == oldSelf.os)").message("modelarts.resources.os cannot be changed in place: create a new NodePool with the new value, then delete this one")
)]
#[serde(rename_all = "camelCase")]
pub struct ModelArtsResources {
    /// [immutable] ModelArts `spec.resources.flavor`: the nodes' resource flavor (e.g. `modelarts.vm.gpu.t4u8`).
    #[schemars(length(min = 1))]
    pub flavor: String,
    /// [in place] ModelArts `spec.resources.count`: the committed node count (at least 0).
    #[schemars(range(min = 0))]
    pub count: i32,
    /// [in place] ModelArts `spec.resources.maxCount`: the elastic node count; equal to `count` in a physical pool, at least `count` in a logical pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i32>,
    /// [immutable] ModelArts `spec.resources.azs`: how the nodes spread over availability zones (`[{az, count}]`), passed to ModelArts as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "preserve_list")]
    pub azs: Option<Vec<Value>>,
    /// [new nodes only] ModelArts `spec.resources.taints`: Kubernetes taints of the nodes (not allowed in a non-privileged pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<ModelArtsTaint>>,
    /// [in place] ModelArts `spec.resources.labels`: Kubernetes labels of the nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<BTreeMap<String, String>>")]
    pub labels: Option<Labels>,
    /// [in place] ModelArts `spec.resources.tags`: cloud resource tags of the nodes (not allowed in a non-privileged pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<CceUserTag>>,
    /// [immutable] ModelArts `spec.resources.network`: the nodes' `vpc`, `subnet` and `securityGroups` ids (not allowed in a non-privileged pool), passed to ModelArts as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub network: Option<Value>,
    /// [immutable] ModelArts `spec.resources.extendParams`: custom settings (e.g. `dockerBaseSize`, the container engine space per node, 0 for no limit), passed to ModelArts as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub extend_params: Option<Value>,
    /// [immutable] ModelArts `spec.resources.os`: the nodes' OS image (`name`, `imageId`, `imageType`), passed to ModelArts as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "super::schema::preserve_object")]
    pub os: Option<Value>,
}

fn preserve_list(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}})
}

/// A Kubernetes taint ModelArts puts on every node of the pool (ModelArts `spec.resources.taints[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ModelArtsTaint {
    /// ModelArts `taints[].key`: the taint's key.
    pub key: String,
    /// ModelArts `taints[].value`: the taint's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// ModelArts `taints[].effect`: the taint's effect (`NoSchedule`, `PreferNoSchedule` or `NoExecute`).
    pub effect: String,
}

/// An Alibaba ENS cluster node pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("self.clusterId == oldSelf.clusterId").message("ens.clusterId cannot be changed in place: create a new NodePool with the new value, then delete this one")
)]
#[serde(rename_all = "camelCase")]
pub struct EnsPoolSpec {
    /// [immutable] ENS `ClusterId`: the edge cluster of the pool (e.g. `eck-xxxxxxxx`).
    #[schemars(length(min = 1))]
    pub cluster_id: String,
    /// ENS `ScalingGroup`: image, instance types, network, size and disks of the pool's instances.
    pub scaling_group: EnsScalingGroup,
    /// ENS `KubernetesConfig`: scripts each instance runs around joining the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_config: Option<EnsKubernetesConfig>,
}

/// ENS `ScalingGroup`: the instances of the pool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(
    cel,
    validation = Rule::new("!has(self.systemDiskSize) || (self.systemDiskSize >= 20 && self.systemDiskSize % 10 == 0)").message("systemDiskSize must be at least 20 and a multiple of 10"),
    validation = Rule::new("!has(self.dataDisks) || self.dataDisks.all(d, !has(d.size) || (d.size >= 20 && d.size % 10 == 0))").message("data disk sizes must be at least 20 and multiples of 10"),
    validation = Rule::new("has(self.instanceChargeType) == has(oldSelf.instanceChargeType) && (!has(self.instanceChargeType) || self.instanceChargeType == oldSelf.instanceChargeType)").message("ens.scalingGroup.instanceChargeType cannot be changed in place: create a new NodePool with the new value, then delete this one"),
    validation = Rule::new("has(self.systemDiskCategory) == has(oldSelf.systemDiskCategory) && (!has(self.systemDiskCategory) || self.systemDiskCategory == oldSelf.systemDiskCategory)").message("ens.scalingGroup.systemDiskCategory cannot be changed in place: create a new NodePool with the new value, then delete this one")
)]
#[serde(rename_all = "camelCase")]
pub struct EnsScalingGroup {
    /// [new nodes only] ENS `ScalingGroup.ImageId`: the instances' image (e.g. `m-6734fzvcwcv2o8jj201cpa7ox`).
    #[schemars(length(min = 1))]
    pub image_id: String,
    /// [new nodes only] ENS `ScalingGroup.InstanceTypes`: the instance types of the nodes (e.g. `ens.sn1.small`); at least one.
    #[schemars(length(min = 1))]
    pub instance_types: Vec<String>,
    /// [new nodes only] ENS `ScalingGroup.VswitchIds`: the instances' vSwitches, in the cluster's ENS region; at least one.
    #[schemars(length(min = 1))]
    pub vswitch_ids: Vec<String>,
    /// [in place] ENS `ScalingGroup.DesiredSize`: the node count (0-1000); more nodes are added with ENS `ScaleClusterNodePool`, fewer by removing chosen nodes.
    #[schemars(range(min = 0, max = 1000))]
    pub desired_size: i32,
    /// [immutable] ENS `ScalingGroup.InstanceChargeType`: `PostPaid` (pay as you go) or `PrePaid` (subscription).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["PostPaid", "PrePaid"]))]
    pub instance_charge_type: Option<String>,
    /// [new nodes only] ENS `ScalingGroup.KeyPairName`: the key pair that logs in to the instances (passwords do not belong in a manifest).
    #[schemars(length(min = 1))]
    pub key_pair_name: String,
    /// [immutable] ENS `ScalingGroup.SystemDiskCategory`: `local_ssd`, `local_hdd`, `cloud_efficiency` or `cloud_ssd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["local_ssd", "local_hdd", "cloud_efficiency", "cloud_ssd"]))]
    pub system_disk_category: Option<String>,
    /// [new nodes only] ENS `ScalingGroup.SystemDiskSize`: the system disk in GB, at least 20 and a multiple of 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_disk_size: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// [new nodes only] ENS `ScalingGroup.DataDisks`: the instances' data disks; at most 16 (an ENS instance's data-disk limit; it also bounds the CEL rule's cost).
    #[schemars(length(max = 16))]
    pub data_disks: Option<Vec<EnsDataDisk>>,
}

/// An ENS data disk (ENS `ScalingGroup.DataDisks[]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnsDataDisk {
    /// ENS `DataDisks[].Category`: the disk category (e.g. `cloud_efficiency`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// ENS `DataDisks[].Size`: the disk size in GB, at least 20 and a multiple of 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i32>,
}

/// ENS `KubernetesConfig`: Base64-encoded scripts each instance runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnsKubernetesConfig {
    /// [new nodes only] ENS `KubernetesConfig.PreUserData`: a Base64 script run on an instance after it is created, before it joins the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_user_data: Option<String>,
    /// [new nodes only] ENS `KubernetesConfig.UserData`: a Base64 script run on an instance after it joins the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
}

/// What the cloud reports, in one vocabulary for all clouds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolStatus {
    /// The pool's cloud API: `cce`, `modelarts` or `ens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The pool's phase, one vocabulary for all clouds: `Pending`, `Creating`, `Scaling`, `Ready`, `SoldOut`, `Deleting` or `Error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// What a person should know now, in one line: why the NodePool is stalled, what it is doing, or how many nodes are ready (the `Message` column of `kubectl get np`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The cloud's own state word, kept beside `phase` (CCE `status.phase`, ENS `Status.State`, ModelArts the counts of its status buckets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud_state: Option<String>,
    /// The cloud's id of the pool (CCE `metadata.uid`, ENS `NodepoolId`, ModelArts the node pool's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_id: Option<String>,
    /// The cloud pool's name (`spec.poolName`, or `metadata.name`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_name: Option<String>,
    /// The node count the pool aims at: the declared count, or the cloud's target while cloud-side autoscaling owns it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub desired_node: Option<i32>,
    /// Nodes in the pool but those being deleted (CCE `status.currentNode`, ENS `TotalNodes` minus `RemovingNodes`, ModelArts creating + available + abnormal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_node: Option<i32>,
    /// Nodes being created (CCE `status.creatingNode`, ENS `InitialNodes`, ModelArts `status.resources.creating`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creating_node: Option<i32>,
    /// Nodes being deleted (CCE `status.deletingNode`, ENS `RemovingNodes`, ModelArts `status.resources.deleting`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleting_node: Option<i32>,
    /// The last job id the cloud returned (CCE `status.jobId` of the pool's deletion).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_job_id: Option<String>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The change the operator is about to make or, under `changePolicy: Manual`, waits to have approved; gone once it is carried out.
    // Boxed: most NodePools have none, and every status is cached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<Box<Plan>>,
    /// One condition per type (a list keyed by `type`, as kstatus and server-side apply expect): `Ready` (the pool is settled at its size), `Synced` (the last reconcile went through), `Reconciling` (on its way to the spec) and `Stalled` (waiting for a person), with kstatus meanings.
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
