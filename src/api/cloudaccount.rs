//! `CloudAccount`: how to reach one cloud account.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountProvider {
    Huawei,
    Alibaba,
}

/// A Secret in the account's namespace. Huawei: `accessKey` + `secretKey`, or `username` +
/// `password` + `domain` (IAM token mode). Alibaba: `accessKeyId` + `accessKeySecret`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretRef {
    pub name: String,
}

/// Endpoint overrides per service (the simulator, a private cloud, a sovereign region).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modelarts: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ens: Option<String>,
}

/// Calls per second and burst per API family (ENS: writes; reads get ten times as much).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateBudgetSpec {
    #[x_kube(validation = "self > 0.0")]
    pub requests_per_second: f64,
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 10000), extend("format" = "int32"))]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SignatureVersionSpec {
    #[default]
    V3,
    V1,
}

// kube-derive repeats `printcolumn(...)` by design.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "nodepool.io",
    version = "v1alpha1",
    kind = "CloudAccount",
    namespaced,
    status = "CloudAccountStatus",
    shortname = "cacct",
    printcolumn(name = "Provider", type_ = "string", json_path = ".spec.provider"),
    printcolumn(name = "Region", type_ = "string", json_path = ".spec.region"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("self.provider != 'huawei' || has(self.projectId)").message("projectId is required for Huawei accounts"))]
#[serde(rename_all = "camelCase")]
pub struct CloudAccountSpec {
    pub provider: AccountProvider,
    #[schemars(length(min = 1))]
    pub region: String,
    /// Huawei project id (CCE and ModelArts paths carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    pub credentials_secret_ref: SecretRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_budget: Option<RateBudgetSpec>,
    /// How often settled pools are compared with the cloud (seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400), extend("format" = "int32"))]
    pub poll_interval_seconds: Option<u32>,
    /// Alibaba signature version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_version: Option<SignatureVersionSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudAccountStatus {
    /// One condition per type (a list keyed by `type`, as kstatus and server-side apply expect).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
