//! Huawei Cloud ModelArts v2 node pools (`/v2/{project_id}/pools/{pool_name}/nodepools`).
//!
//! Quirks these types carry: create answers 200 (not 201) echoing the pool without `status`;
//! updates are JSON merge patches; the status has no phase but buckets
//! `status.resources.{creating, available, abnormal, deleting}`, each typed as one object by the
//! SDKs and shown as an array in the resource-pool documents ([`Bucket`] reads both and writes
//! back the form it read).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePool {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub spec: Option<NodePoolSpec>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<NodePoolStatus>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Billing keys such as `os.modelarts/billing.mode`, `os.modelarts/order.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// `spec.resources`: flavor, committed `count`, elastic `maxCount` and node settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azs: Option<Vec<AzCount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pool: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub taints: Option<Vec<Taint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extend_params: Option<serde_json::Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creating_step: Option<CreatingStep>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_volume: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_volumes: Option<Vec<Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<Os>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct AzCount {
    pub az: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    pub effect: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Network {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vpc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_groups: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CreatingStep {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<i64>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub step_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Os {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_type: Option<String>,
    /// `"true"` lets ModelArts pick the image matching the flavor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_match: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NodePoolStatus {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resources: Option<StatusResources>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Nodes by state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct StatusResources {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creating: Option<Bucket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub available: Option<Bucket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub abnormal: Option<Bucket>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleting: Option<Bucket>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// One status bucket: an object (SDK typing) or an array of them (resource-pool documents).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Bucket {
    One(BucketEntry),
    Many(Vec<BucketEntry>),
}

impl Bucket {
    /// Nodes in this bucket.
    pub fn total_count(&self) -> i64 {
        match self {
            Bucket::One(entry) => entry.count.unwrap_or(0),
            // The cloud's numbers: a sum past i64 saturates rather than overflowing.
            Bucket::Many(entries) => entries
                .iter()
                .filter_map(|e| e.count)
                .fold(0, i64::saturating_add),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BucketEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flavor: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub azs: Option<Vec<AzCount>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_pool: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolList {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub items: Vec<NodePool>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// A PATCH body (JSON merge patch): only what changes.
pub type NodePoolPatch = NodePool;

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(count: i64) -> BucketEntry {
        BucketEntry {
            count: Some(count),
            ..Default::default()
        }
    }

    /// Entries whose counts add up past `i64::MAX` saturate the total instead of overflowing
    /// it (a panic in debug builds, a wrapped count otherwise).
    #[test]
    fn bucket_totals_saturate() {
        let bucket = Bucket::Many(vec![entry(i64::MAX), entry(1), entry(-3)]);
        assert_eq!(bucket.total_count(), i64::MAX - 3);
        assert_eq!(Bucket::One(entry(7)).total_count(), 7);
    }
}
