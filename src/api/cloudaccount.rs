//! `CloudAccount`: how to reach one cloud account.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Condition;

/// The account's cloud: `huawei` (CCE and ModelArts pools) or `alibaba` (ENS pools).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AccountProvider {
    /// Huawei Cloud: CCE and ModelArts.
    Huawei,
    /// Alibaba Cloud: ENS.
    Alibaba,
}

/// A Secret in the account's namespace. Huawei: `accessKey` + `secretKey`, or `username` + `password` + `domain` (IAM token mode). Alibaba: `accessKeyId` + `accessKeySecret`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SecretRef {
    /// The Secret's name, in the account's namespace.
    pub name: String,
}

/// Endpoint overrides per service (the simulator, a private cloud, a sovereign region).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Endpoints {
    /// CCE endpoint URL; defaults to `https://cce.{region}.myhuaweicloud.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cce: Option<String>,
    /// ModelArts endpoint URL; defaults to `https://modelarts.{region}.myhuaweicloud.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modelarts: Option<String>,
    /// Huawei IAM endpoint URL (token mode: `POST /v3/auth/tokens`); defaults to `https://iam.{region}.myhuaweicloud.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iam: Option<String>,
    /// ENS endpoint URL; defaults to `https://ens.aliyuncs.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ens: Option<String>,
}

/// Calls per second and burst per API family (ENS: writes; reads get ten times as much).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateBudgetSpec {
    /// Calls per second (more than 0); for ENS the write rate, with reads at ten times it.
    #[x_kube(validation = "self > 0.0")]
    pub requests_per_second: f64,
    /// Calls allowed at once (1-10000, default 1); for ENS the write burst, with ten times as many reads.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 10000), extend("format" = "int32"))]
    pub burst: u32,
}

fn one() -> u32 {
    1
}

/// How Alibaba requests are signed: `V3` (`ACS3-HMAC-SHA256`, the default) or `V1` (`HMAC-SHA1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SignatureVersionSpec {
    /// `ACS3-HMAC-SHA256` headers (the SDKs' default).
    #[default]
    V3,
    /// `HMAC-SHA1` query signature.
    V1,
}

/// How to reach one cloud account: its cloud, region, project, credentials and endpoints.
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
    doc = "How to reach one cloud account (Huawei Cloud or Alibaba Cloud): region, project, credentials Secret, endpoints and rate budget; NodePools name it in spec.accountRef.",
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
    /// The account's cloud: `huawei` (CCE and ModelArts pools) or `alibaba` (ENS pools).
    pub provider: AccountProvider,
    /// The cloud region (e.g. `cn-north-4`); Huawei's default endpoints are built from it. ENS is called at its central endpoint, whatever the region.
    #[schemars(length(min = 1))]
    pub region: String,
    /// Huawei project id (`{project_id}` in CCE and ModelArts API paths); required for Huawei.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// The Secret with the credentials, in the account's namespace. Huawei: `accessKey` + `secretKey`, or `username` + `password` + `domain` (IAM token mode). Alibaba: `accessKeyId` + `accessKeySecret`.
    pub credentials_secret_ref: SecretRef,
    /// Endpoint overrides per service (the simulator, a private cloud, a sovereign region).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<Endpoints>,
    /// Calls per second and burst per API family (ENS: writes, reads get ten times as much). Defaults: Huawei 10/s with burst 5; ENS 8 writes/s with burst 1, under its 10/s quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_budget: Option<RateBudgetSpec>,
    /// How often settled pools are compared with the cloud, in seconds (1-86400); a NodePool's `pollIntervalSeconds` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 86400), extend("format" = "int32"))]
    pub poll_interval_seconds: Option<u32>,
    /// How Alibaba requests are signed: `V3` (`ACS3-HMAC-SHA256`, the default) or `V1` (`HMAC-SHA1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature_version: Option<SignatureVersionSpec>,
}

/// Whether the account's credentials and endpoints work, as its NodePools found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CloudAccountStatus {
    /// One condition per type (a list keyed by `type`, as kstatus and server-side apply expect): `Ready` says whether the credentials and endpoints work, per service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,
    /// The `metadata.generation` this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}
