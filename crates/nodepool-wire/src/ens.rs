//! Alibaba Cloud ENS (2017-11-10) cluster node-pool actions.
//!
//! Quirks these types carry: RPC style, every parameter in the query string, and nested
//! objects as ONE parameter holding a JSON string (`NodepoolInfo={"Name":"test1"}`), which
//! [`Params`] encodes and decodes; there is no single-pool read (list and filter); scale-out
//! sends the new total (`Body={"Count":N}`), scale-in names the nodes to delete.

use std::fmt;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::Extra;

pub const API_VERSION: &str = "2017-11-10";

/// A parameter missing or malformed, named as the API names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnsParamError {
    #[error("the parameter {0} is required")]
    Missing(String),
    #[error("the parameter {name} is malformed: {reason}")]
    Malformed { name: String, reason: String },
}

/// Decoded RPC parameters with typed accessors.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    fn raw(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn string(&self, name: &str) -> Result<Option<String>, EnsParamError> {
        Ok(self.raw(name).map(str::to_owned))
    }

    pub fn required_string(&self, name: &str) -> Result<String, EnsParamError> {
        self.raw(name)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| EnsParamError::Missing(name.into()))
    }

    pub fn number(&self, name: &str) -> Result<Option<i64>, EnsParamError> {
        self.raw(name)
            .map(|v| {
                v.parse::<i64>().map_err(|e| EnsParamError::Malformed {
                    name: name.into(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    pub fn boolean(&self, name: &str) -> Result<Option<bool>, EnsParamError> {
        self.raw(name)
            .map(|v| match v {
                "true" => Ok(true),
                "false" => Ok(false),
                other => Err(EnsParamError::Malformed {
                    name: name.into(),
                    reason: format!("{other:?} is not true or false"),
                }),
            })
            .transpose()
    }

    /// A nested object sent as a JSON string.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, EnsParamError> {
        self.raw(name)
            .map(|v| {
                serde_json::from_str(v).map_err(|e| EnsParamError::Malformed {
                    name: name.into(),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    pub fn required_json<T: DeserializeOwned>(&self, name: &str) -> Result<T, EnsParamError> {
        self.json(name)?
            .ok_or_else(|| EnsParamError::Missing(name.into()))
    }

    fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_owned(), value.into()));
    }

    fn push_opt<T: ToString>(&mut self, name: &str, value: &Option<T>) {
        if let Some(v) = value {
            self.push(name, v.to_string());
        }
    }

    fn push_json<T: Serialize>(&mut self, name: &str, value: &T) {
        // Serialising plain data structs cannot fail.
        self.push(name, serde_json::to_string(value).unwrap_or_default());
    }
}

/// An action's business parameters, to and from RPC parameters.
pub trait RpcRequest: Sized {
    const ACTION: &'static str;
    /// Whether sending the request twice does no more than sending it once.
    const REPEATABLE: bool = true;
    fn to_params(&self) -> Vec<(String, String)>;
    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError>;
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

#[derive(Debug, Clone, PartialEq, Default)]
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

    fn to_params(&self) -> Vec<(String, String)> {
        let mut p = Params::default();
        p.push("ClusterId", self.cluster_id.clone());
        p.push_json("NodepoolInfo", &self.nodepool_info);
        p.push_json("ScalingGroup", &self.scaling_group);
        if let Some(config) = &self.kubernetes_config {
            p.push_json("KubernetesConfig", config);
        }
        p.0
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        let p = Params(params.to_vec());
        Ok(Self {
            cluster_id: p.required_string("ClusterId")?,
            nodepool_info: p.required_json("NodepoolInfo")?,
            scaling_group: p.required_json("ScalingGroup")?,
            kubernetes_config: p.json("KubernetesConfig")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeClusterNodePoolsRequest {
    pub cluster_id: String,
    pub page_number: Option<i64>,
    pub page_size: Option<i64>,
}

impl RpcRequest for DescribeClusterNodePoolsRequest {
    const ACTION: &'static str = "DescribeClusterNodePools";

    fn to_params(&self) -> Vec<(String, String)> {
        let mut p = Params::default();
        p.push("ClusterId", self.cluster_id.clone());
        p.push_opt("PageNumber", &self.page_number);
        p.push_opt("PageSize", &self.page_size);
        p.0
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        let p = Params(params.to_vec());
        Ok(Self {
            cluster_id: p.required_string("ClusterId")?,
            page_number: p.number("PageNumber")?,
            page_size: p.number("PageSize")?,
        })
    }
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

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ScaleClusterNodePoolRequest {
    pub cluster_id: String,
    pub nodepool_id: String,
    /// The new total, greater than the current count.
    pub count: i64,
}

impl RpcRequest for ScaleClusterNodePoolRequest {
    const ACTION: &'static str = "ScaleClusterNodePool";

    fn to_params(&self) -> Vec<(String, String)> {
        let mut p = Params::default();
        p.push("ClusterId", self.cluster_id.clone());
        p.push("NodepoolId", self.nodepool_id.clone());
        p.push_json(
            "Body",
            &ActionBody {
                count: Some(self.count),
                ..ActionBody::default()
            },
        );
        p.0
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        let p = Params(params.to_vec());
        let body: ActionBody = p.required_json("Body")?;
        Ok(Self {
            cluster_id: p.required_string("ClusterId")?,
            nodepool_id: p.required_string("NodepoolId")?,
            count: body
                .count
                .ok_or_else(|| EnsParamError::Missing("Body.Count".into()))?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteClusterNodesRequest {
    pub cluster_id: String,
    pub nodes: Vec<String>,
    pub release_node: Option<bool>,
}

impl RpcRequest for DeleteClusterNodesRequest {
    const ACTION: &'static str = "DeleteClusterNodes";

    fn to_params(&self) -> Vec<(String, String)> {
        let mut p = Params::default();
        p.push("ClusterId", self.cluster_id.clone());
        p.push_json(
            "Body",
            &ActionBody {
                nodes: Some(self.nodes.clone()),
                ..ActionBody::default()
            },
        );
        p.push_opt("ReleaseNode", &self.release_node);
        p.0
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        let p = Params(params.to_vec());
        let body: ActionBody = p.required_json("Body")?;
        Ok(Self {
            cluster_id: p.required_string("ClusterId")?,
            nodes: body
                .nodes
                .ok_or_else(|| EnsParamError::Missing("Body.Nodes".into()))?,
            release_node: p.boolean("ReleaseNode")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DescribeClusterNodesRequest {
    pub cluster_id: String,
    pub nodepool_id: Option<String>,
    pub page_number: Option<i64>,
    pub page_size: Option<i64>,
}

impl RpcRequest for DescribeClusterNodesRequest {
    const ACTION: &'static str = "DescribeClusterNodes";

    fn to_params(&self) -> Vec<(String, String)> {
        let mut p = Params::default();
        p.push("ClusterId", self.cluster_id.clone());
        p.push_opt("NodepoolId", &self.nodepool_id);
        p.push_opt("PageNumber", &self.page_number);
        p.push_opt("PageSize", &self.page_size);
        p.0
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        let p = Params(params.to_vec());
        Ok(Self {
            cluster_id: p.required_string("ClusterId")?,
            nodepool_id: p.string("NodepoolId")?,
            page_number: p.number("PageNumber")?,
            page_size: p.number("PageSize")?,
        })
    }
}

/// A template change (no size: `ScalingGroup.DesiredSize` is refused).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ModifyClusterNodePoolRequest {
    pub cluster_id: String,
    pub nodepool_info: NodepoolInfo,
    pub scaling_group: Option<ScalingGroup>,
    pub kubernetes_config: Option<KubernetesConfig>,
}

impl RpcRequest for ModifyClusterNodePoolRequest {
    const ACTION: &'static str = "ModifyClusterNodePool";

    fn to_params(&self) -> Vec<(String, String)> {
        let mut p = Params::default();
        p.push("ClusterId", self.cluster_id.clone());
        p.push_json("NodepoolInfo", &self.nodepool_info);
        if let Some(group) = &self.scaling_group {
            p.push_json("ScalingGroup", group);
        }
        if let Some(config) = &self.kubernetes_config {
            p.push_json("KubernetesConfig", config);
        }
        p.0
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        let p = Params(params.to_vec());
        Ok(Self {
            cluster_id: p.required_string("ClusterId")?,
            nodepool_info: p.required_json("NodepoolInfo")?,
            scaling_group: p.json("ScalingGroup")?,
            kubernetes_config: p.json("KubernetesConfig")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct DeleteClusterNodePoolRequest {
    pub cluster_id: String,
    pub nodepool_id: String,
}

impl RpcRequest for DeleteClusterNodePoolRequest {
    const ACTION: &'static str = "DeleteClusterNodePool";

    fn to_params(&self) -> Vec<(String, String)> {
        vec![
            ("ClusterId".into(), self.cluster_id.clone()),
            ("NodepoolId".into(), self.nodepool_id.clone()),
        ]
    }

    fn from_params(params: &[(String, String)]) -> Result<Self, EnsParamError> {
        let p = Params(params.to_vec());
        Ok(Self {
            cluster_id: p.required_string("ClusterId")?,
            nodepool_id: p.required_string("NodepoolId")?,
        })
    }
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
    /// `initial`, `running`, `removing` (and `failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<String>,
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
