//! Huawei Cloud CCE v3 node pools (`/api/v3/projects/{project_id}/clusters/{cluster_id}/nodepools`).
//!
//! Quirks these types carry: create answers 201 with zero counts and an empty `phase`; list
//! hides the cluster's default pool unless `showDefaultNodePool=true`; the server adds the label
//! `cce.cloud.com/cce-nodepool` to `nodeTemplate.k8sTags`; an update without `initialNodeCount`
//! and without `ignoreInitialNodeCount: true` sets the pool's target to 0; deletion answers 200
//! with `phase: Deleting` and a `jobId`; `phase` `""` means settled.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

/// Label CCE adds to every pool's `k8sTags`.
pub const POOL_LABEL: &str = "cce.cloud.com/cce-nodepool";

/// A node pool (create request, get/create/update/delete answer, list item).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "super::is_default")]
    pub metadata: NodePoolMetadata,
    #[serde(default, skip_serializing_if = "super::is_default")]
    pub spec: NodePoolSpec,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<NodePoolStatus>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolMetadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The pool id (`{nodepool_id}` in paths).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_timestamp: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    /// `vm` (default), `ElasticBMS` or `pm`.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub pool_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_template: Option<NodeTemplate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_node_count: Option<i64>,
    /// Update only: keep the current count instead of applying `initialNodeCount`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignore_initial_node_count: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_management: Option<NodeManagement>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_security_groups: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_security_groups: Option<Vec<Value>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub az: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<Login>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<Volume>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_volumes: Option<Vec<Volume>>,
    /// Disk initialisation (storageSelectors, storageGroups); kept as the cloud writes it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage: Option<Value>,
    #[serde(rename = "publicIP", skip_serializing_if = "Option::is_none")]
    pub public_ip: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_nic_spec: Option<Value>,
    /// Nodes created per batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub billing_mode: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<Taint>>,
    #[serde(rename = "k8sTags", skip_serializing_if = "Option::is_none")]
    pub k8s_tags: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_tags: Option<Vec<UserTag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_param: Option<serde_json::Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for NodeTemplate {
    // `login` may hold a password; everything else is shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NodeTemplate")
            .field("flavor", &self.flavor)
            .field("az", &self.az)
            .field("os", &self.os)
            .field("login", &self.login)
            .field("root_volume", &self.root_volume)
            .field("data_volumes", &self.data_volumes)
            .field("count", &self.count)
            .field("taints", &self.taints)
            .field("k8s_tags", &self.k8s_tags)
            .field("user_tags", &self.user_tags)
            .field("extend_param", &self.extend_param)
            .finish_non_exhaustive()
    }
}

/// Node login: a key pair name or a password.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Login {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ssh_key: Option<String>,
    /// A password object or string; never printed by `Debug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_password: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Login")
            .field("ssh_key", &self.ssh_key)
            .field("user_password", &self.user_password.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub volumetype: Option<String>,
    /// GiB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_param: Option<serde_json::Map<String, Value>>,
    #[serde(rename = "hw:passthrough", skip_serializing_if = "Option::is_none")]
    pub hw_passthrough: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UserTag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Autoscaling {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_node_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_node_count: Option<i64>,
    /// Minutes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_down_cooldown_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeManagement {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_group_reference: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolStatus {
    /// Nodes in the pool except those being deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_node: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creating_node: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleting_node: Option<i64>,
    /// Ready nodes (newer API versions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub active_node: Option<i64>,
    /// `""` (settled), `Synchronizing`, `Synchronized`, `SoldOut`, `Deleting`, `Error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    /// Set on delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conditions: Option<Vec<Condition>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub condition_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_probe_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_transit_time: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `GET .../nodepools` answer.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default)]
    pub items: Vec<NodePool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `POST .../nodepools/{id}/operation/scale` body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleRequest {
    pub kind: String,
    pub api_version: String,
    pub spec: ScaleSpec,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScaleSpec {
    pub desired_node_count: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scale_groups: Vec<String>,
}

/// `GET /api/v3/projects/{project_id}/jobs/{job_id}` answer. Timestamps use CCE's own format
/// (`2020-02-02 08:12:40.672772389 +0000 UTC`), kept as strings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub metadata: Extra,
    #[serde(default, skip_serializing_if = "Extra::is_empty")]
    pub spec: Extra,
    #[serde(default, skip_serializing_if = "super::is_default")]
    pub status: JobStatus,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JobStatus {
    /// `Initializing`, `Running`, `Failed`, `Success`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
