//! Alibaba Cloud ENS (2017-11-10) cluster node-pool actions.
//!
//! Quirks these types carry: RPC style, every parameter in the query string, and nested
//! objects as ONE parameter holding a JSON string (`NodepoolInfo={"Name":"test1"}`), which
//! [`rpc_params`] encodes and decodes from the request types' serde form; there is no
//! single-pool read (list and filter); scale-out sends the new total (`Body={"Count":N}`),
//! scale-in names the nodes to delete.
//!
//! One file for every ENS request and response type (seven actions), the way the API reference
//! lists them.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Extra;
use crate::rpc_params;

pub const API_VERSION: &str = "2017-11-10";

/// A parameter missing or malformed, named as the API names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnsParamError {
    #[error("the parameter {0} is required")]
    Missing(String),
    #[error("the parameter {name} is malformed: {reason}")]
    Malformed { name: String, reason: String },
}

impl EnsParamError {
    /// The parameter named.
    pub fn parameter(&self) -> &str {
        match self {
            Self::Missing(name) | Self::Malformed { name, .. } => name,
        }
    }
}

/// An action's business parameters, to and from RPC parameters as [`rpc_params`] derives them
/// from the request's serde representation.
pub trait RpcRequest: Serialize + DeserializeOwned {
    const ACTION: &'static str;
    /// Whether sending the request twice does no more than sending it once.
    const REPEATABLE: bool = true;
    /// Parameters whose absence or unreadable JSON is reported before any other error.
    const CHECKED_FIRST: &'static [&'static str] = &[];

    fn to_params(&self) -> Vec<(String, String)> {
        // Request structs hold plain data, which always encodes.
        rpc_params::to_params(self).unwrap_or_default()
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        rpc_params::from_params_checking_first(params, Self::CHECKED_FIRST)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodepoolInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodepool_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ens_region_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScalingGroup {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vswitch_ids: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_size: Option<i64>,
    /// `PostPaid` or `PrePaid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_charge_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_pair_name: Option<String>,
    /// Masked (`**********`) in answers; never printed by `Debug`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk_category: Option<String>,
    /// GB, at least 20, a multiple of 10.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_disk_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_disks: Option<Vec<DataDisk>>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl fmt::Debug for ScalingGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScalingGroup")
            .field("image_id", &self.image_id)
            .field("instance_types", &self.instance_types)
            .field("vswitch_ids", &self.vswitch_ids)
            .field("desired_size", &self.desired_size)
            .field("instance_charge_type", &self.instance_charge_type)
            .field("key_pair_name", &self.key_pair_name)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("system_disk_category", &self.system_disk_category)
            .field("system_disk_size", &self.system_disk_size)
            .field("data_disks", &self.data_disks)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataDisk {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Scripts run on nodes, Base64-encoded.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KubernetesConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pre_user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateClusterNodePoolRequest {
    pub cluster_id: String,
    pub nodepool_info: NodepoolInfo,
    pub scaling_group: ScalingGroup,
    pub kubernetes_config: Option<KubernetesConfig>,
}

impl RpcRequest for CreateClusterNodePoolRequest {
    const ACTION: &'static str = "CreateClusterNodePool";
    // ENS has no duplicate-name check: a second create makes a second pool.
    const REPEATABLE: bool = false;
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClusterNodePoolsRequest {
    pub cluster_id: String,
    pub page_number: Option<i64>,
    pub page_size: Option<i64>,
}

impl RpcRequest for DescribeClusterNodePoolsRequest {
    const ACTION: &'static str = "DescribeClusterNodePools";
}

/// `Body` of ScaleClusterNodePool (`Count`: the new total) and DeleteClusterNodes (`Nodes`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ActionBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodes: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScaleClusterNodePoolRequest {
    pub cluster_id: String,
    pub nodepool_id: String,
    /// The new total, greater than the current count; sent as `Body={"Count":N}`.
    #[serde(rename = "Body", with = "body_count")]
    pub count: i64,
}

/// A scale-out count as the [`ActionBody`] it travels in.
mod body_count {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    use super::ActionBody;

    pub fn serialize<S: Serializer>(count: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        ActionBody {
            count: Some(*count),
            ..ActionBody::default()
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        ActionBody::deserialize(deserializer)?
            .count
            .ok_or_else(|| D::Error::missing_field("Body.Count"))
    }
}

impl RpcRequest for ScaleClusterNodePoolRequest {
    const ACTION: &'static str = "ScaleClusterNodePool";
    const CHECKED_FIRST: &'static [&'static str] = &["Body"];
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteClusterNodesRequest {
    pub cluster_id: String,
    /// Sent as `Body={"Nodes":[...]}`.
    #[serde(rename = "Body", with = "body_nodes")]
    pub nodes: Vec<String>,
    pub release_node: Option<bool>,
}

/// The nodes to delete as the [`ActionBody`] they travel in.
mod body_nodes {
    use serde::{Deserialize, Deserializer, Serialize, Serializer, de::Error};

    use super::ActionBody;

    pub fn serialize<S: Serializer>(nodes: &[String], serializer: S) -> Result<S::Ok, S::Error> {
        ActionBody {
            nodes: Some(nodes.to_vec()),
            ..ActionBody::default()
        }
        .serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<String>, D::Error> {
        ActionBody::deserialize(deserializer)?
            .nodes
            .ok_or_else(|| D::Error::missing_field("Body.Nodes"))
    }
}

impl RpcRequest for DeleteClusterNodesRequest {
    const ACTION: &'static str = "DeleteClusterNodes";
    const CHECKED_FIRST: &'static [&'static str] = &["Body"];
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClusterNodesRequest {
    pub cluster_id: String,
    pub nodepool_id: Option<String>,
    pub page_number: Option<i64>,
    pub page_size: Option<i64>,
}

impl RpcRequest for DescribeClusterNodesRequest {
    const ACTION: &'static str = "DescribeClusterNodes";
}

/// A template change (no size: `ScalingGroup.DesiredSize` is refused).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ModifyClusterNodePoolRequest {
    pub cluster_id: String,
    pub nodepool_info: NodepoolInfo,
    pub scaling_group: Option<ScalingGroup>,
    pub kubernetes_config: Option<KubernetesConfig>,
}

impl RpcRequest for ModifyClusterNodePoolRequest {
    const ACTION: &'static str = "ModifyClusterNodePool";
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteClusterNodePoolRequest {
    pub cluster_id: String,
    pub nodepool_id: String,
}

impl RpcRequest for DeleteClusterNodePoolRequest {
    const ACTION: &'static str = "DeleteClusterNodePool";
}

/// A node pool as CreateClusterNodePool and DescribeClusterNodePools return it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Nodepool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodepool_info: Option<NodepoolInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scaling_group: Option<ScalingGroup>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes_config: Option<KubernetesConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<NodepoolStatus>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NodepoolStatus {
    /// `active` is the only documented value; `scaling`, `removing`, `deleting` also occur.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_nodes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desired_nodes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serving_nodes: Option<i64>,
    /// Being created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initial_nodes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removing_nodes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_nodes: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateClusterNodePoolResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodepool: Option<Nodepool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Page {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_number: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_size: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<i64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClusterNodePoolsResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
    #[serde(default)]
    pub node_pools: Vec<Nodepool>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterNode {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nodepool_id: Option<String>,
    /// `initial`, `running`, `removing` (and `failed`). ENS reports no creation time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeClusterNodesResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<Page>,
    #[serde(default)]
    pub nodes: Vec<ClusterNode>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Answer of actions that return only a request id.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RequestIdResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Alibaba error body.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EnsError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recommend: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
