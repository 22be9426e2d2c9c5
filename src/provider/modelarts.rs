//! Huawei ModelArts v2 node pools through [`NodePoolProvider`].
//!
//! Updates are JSON merge patches (`application/merge-patch+json`): an omitted count stays as it
//! is, so keeping the count needs nothing special; removed labels are sent as `null`. Status
//! buckets are read in both of their documented forms.

use crate::provider::metrics::Operation;
use std::collections::BTreeMap;

use async_trait::async_trait;
use http::Method;
use serde_json::{Value, json};

use super::CloudSpec;
use super::huawei::{HuaweiService, HuaweiSession};
use super::{
    CloudError, CloudKind, CountUpdate, DeleteOutcome, DesiredPool, NodePoolProvider, ObservedPool,
    PoolPhase, PoolSpec, count,
};
use nodepool_wire::modelarts::{self as wire, NodePool, NodePoolList};

const MODELARTS: HuaweiService = HuaweiService::MODELARTS;

#[derive(Debug, Clone)]
pub struct ModelArtsProvider {
    session: HuaweiSession,
    /// e.g. `https://modelarts.cn-north-4.myhuaweicloud.com`.
    endpoint: url::Url,
}

impl ModelArtsProvider {
    pub fn new(session: HuaweiSession, endpoint: url::Url) -> Self {
        Self { session, endpoint }
    }

    /// The node pools of `resource_pool`, or the one named `pool`.
    fn url(&self, resource_pool: &str, pool: Option<&str>) -> Result<url::Url, CloudError> {
        let project = self.session.account.project_id.as_str();
        let mut segments = vec!["v2", project, "pools", resource_pool, "nodepools"];
        segments.extend(pool);
        MODELARTS.url(&self.endpoint, &segments)
    }

    async fn call(
        &self,
        operation: Operation,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Value, CloudError> {
        self.session
            .call_json(MODELARTS, operation, method, url, body, content_type)
            .await
    }

    /// A JSON merge patch of one pool: omitted fields stay as they are, `null` removes.
    async fn merge_patch(
        &self,
        resource_pool: &str,
        id: &str,
        body: &Value,
    ) -> Result<(), CloudError> {
        let url = self.url(resource_pool, Some(id))?;
        self.call(
            Operation::Update,
            Method::PATCH,
            url,
            Some(body),
            "application/merge-patch+json",
        )
        .await
        .map(drop)
    }
}

fn resources(
    desired: &DesiredPool,
) -> Result<(wire::Resources, &BTreeMap<String, String>), CloudError> {
    match &desired.spec {
        PoolSpec::ModelArts { spec, annotations } => {
            Ok((spec.resources.clone().unwrap_or_default(), annotations))
        }
        _ => Err(CloudError::InvalidRequest {
            status: 0,
            code: "WrongProvider".into(),
            message: "the ModelArts provider got a non-ModelArts pool spec".into(),
        }),
    }
}

/// The neutral view of a ModelArts pool.
pub fn observe(pool: &NodePool) -> ObservedPool {
    let name = pool
        .metadata
        .as_ref()
        .and_then(|m| m.name.clone())
        .unwrap_or_default();
    let spec_resources = pool
        .spec
        .as_ref()
        .and_then(|s| s.resources.clone())
        .unwrap_or_default();
    let desired = spec_resources.count.and_then(|n| u32::try_from(n).ok());
    let buckets = pool.status.as_ref().and_then(|s| s.resources.clone());
    let total = |b: &Option<wire::Bucket>| count(b.as_ref().map(wire::Bucket::total_count));
    let (creating, available, abnormal, deleting) = match &buckets {
        Some(b) => (
            total(&b.creating),
            total(&b.available),
            total(&b.abnormal),
            total(&b.deleting),
        ),
        None => (0, 0, 0, 0),
    };
    // Counts come from the answer: their sum saturates rather than overflowing.
    let current = creating.saturating_add(available).saturating_add(abnormal);
    let mut messages = Vec::new();
    if abnormal > 0 {
        messages.push(format!("{abnormal} node(s) abnormal"));
    }
    let phase = if buckets.is_none() {
        PoolPhase::Creating
    } else if deleting > 0 && current == 0 {
        PoolPhase::Deleting
    } else if abnormal > 0 {
        PoolPhase::Error
    } else if creating > 0 && available == 0 {
        PoolPhase::Creating
    } else if creating > 0 || deleting > 0 || desired.is_some_and(|d| d != available) {
        PoolPhase::Scaling
    } else {
        PoolPhase::Ready
    };
    let raw_state = format!(
        "creating={creating} available={available} abnormal={abnormal} deleting={deleting}"
    );
    ObservedPool {
        id: name.clone(),
        name,
        desired,
        current,
        ready: available,
        creating,
        deleting,
        raw_state,
        phase,
        messages,
        autoscaling: None,
        owner: spec_resources
            .labels
            .as_ref()
            .and_then(|labels| labels.get(super::OWNER_LABEL))
            .cloned(),
        // Reads answer `metadata.name` alone: an order id is only in create's answer.
        job_id: None,
        spec: pool.spec.clone().map_or(CloudSpec::Unknown, |spec| {
            CloudSpec::ModelArts(Box::new(spec))
        }),
    }
}

/// The resources ModelArts reports of the pool (none known: empty).
fn observed_resources(observed: &ObservedPool) -> wire::Resources {
    match &*observed.spec.settings() {
        CloudSpec::ModelArts(spec) => spec.resources.clone().unwrap_or_default(),
        _ => wire::Resources::default(),
    }
}

/// A list that is a set, in one order, so the cloud's order is never a difference.
fn as_set<T: serde::Serialize + Clone>(items: &Option<Vec<T>>) -> Vec<String> {
    let mut keys: Vec<String> = items
        .iter()
        .flatten()
        .map(|item| serde_json::to_string(item).unwrap_or_default())
        .collect();
    keys.sort();
    keys
}

/// The merge patch converging `observed` to `desired`: only the labels that differ (a removed
/// one as null, since maps merge key by key), the taints or tags when they differ (lists are
/// replaced whole), and the count when it moves.
pub fn patch_body(
    desired: &DesiredPool,
    observed: &ObservedPool,
    count: CountUpdate,
) -> Result<Value, CloudError> {
    let (want, _) = resources(desired)?;
    let have = observed_resources(observed);
    let mut patch = serde_json::Map::new();
    let mut labels = serde_json::Map::new();
    let had = have.labels.clone().unwrap_or_default();
    for (k, v) in want.labels.iter().flatten() {
        if had.get(k) != Some(v) {
            labels.insert(k.clone(), json!(v));
        }
    }
    for k in had.keys() {
        if !want.labels.as_ref().is_some_and(|l| l.contains_key(k)) {
            labels.insert(k.clone(), Value::Null);
        }
    }
    if !labels.is_empty() {
        patch.insert("labels".into(), Value::Object(labels));
    }
    if as_set(&want.taints) != as_set(&have.taints) {
        patch.insert(
            "taints".into(),
            json!(want.taints.clone().unwrap_or_default()),
        );
    }
    if as_set(&want.tags) != as_set(&have.tags) {
        patch.insert("tags".into(), json!(want.tags.clone().unwrap_or_default()));
    }
    if let CountUpdate::Set(n) = count
        && have.count != Some(i64::from(n))
    {
        patch.insert("count".into(), json!(n));
        let max = want.max_count.map_or(i64::from(n), |m| m.max(i64::from(n)));
        patch.insert("maxCount".into(), json!(max));
    }
    Ok(json!({"spec": {"resources": patch}}))
}

/// Mutable settings that differ between the declared and the observed pool.
pub fn drift(desired: &DesiredPool, observed: &ObservedPool) -> Vec<String> {
    let Ok((want, _)) = resources(desired) else {
        return vec!["provider".into()];
    };
    let have = observed_resources(observed);
    let mut drifted = Vec::new();
    if want.labels.clone().unwrap_or_default() != have.labels.clone().unwrap_or_default() {
        drifted.push("resources.labels".into());
    }
    if as_set(&want.taints) != as_set(&have.taints) {
        drifted.push("resources.taints".into());
    }
    if as_set(&want.tags) != as_set(&have.tags) {
        drifted.push("resources.tags".into());
    }
    drifted
}

#[async_trait]
impl NodePoolProvider for ModelArtsProvider {
    fn cloud(&self) -> CloudKind {
        CloudKind::ModelArts
    }

    async fn list(&self, resource_pool: &str) -> Result<Vec<ObservedPool>, CloudError> {
        let value = self
            .call(
                Operation::List,
                Method::GET,
                self.url(resource_pool, None)?,
                None,
                "application/json",
            )
            .await?;
        let list: NodePoolList = MODELARTS.parse(value, "pool list")?;
        Ok(list.items.iter().map(observe).collect())
    }

    async fn find(
        &self,
        resource_pool: &str,
        name: &str,
    ) -> Result<Option<ObservedPool>, CloudError> {
        // The name is the id.
        self.get(resource_pool, name).await
    }

    async fn get(
        &self,
        resource_pool: &str,
        name: &str,
    ) -> Result<Option<ObservedPool>, CloudError> {
        let url = self.url(resource_pool, Some(name))?;
        match self
            .call(Operation::Get, Method::GET, url, None, "application/json")
            .await
        {
            Ok(value) => Ok(Some(observe(&MODELARTS.parse::<NodePool>(value, "pool")?))),
            Err(CloudError::NotFound { code, message })
                if message.contains("pool not found") && !message.contains("nodepool") =>
            {
                // The resource pool itself is missing: that is not "no such node pool".
                Err(CloudError::NotFound { code, message })
            }
            Err(CloudError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn create(
        &self,
        resource_pool: &str,
        desired: &DesiredPool,
    ) -> Result<ObservedPool, CloudError> {
        let (resources, annotations) = resources(desired)?;
        let pool = NodePool {
            kind: Some("NodePool".into()),
            api_version: Some("v2".into()),
            metadata: Some(wire::Metadata {
                name: Some(desired.name.clone()),
                annotations: Some(annotations.clone()),
                ..Default::default()
            }),
            spec: Some(wire::NodePoolSpec {
                resources: Some(resources),
                ..Default::default()
            }),
            ..Default::default()
        };
        let body = serde_json::to_value(&pool).map_err(|e| CloudError::transport(e.to_string()))?;
        let value = self
            .call(
                Operation::Create,
                Method::POST,
                self.url(resource_pool, None)?,
                Some(&body),
                "application/json",
            )
            .await?;
        Ok(observe(
            &MODELARTS.parse::<NodePool>(value, "created pool")?,
        ))
    }

    async fn update(
        &self,
        resource_pool: &str,
        observed: &ObservedPool,
        desired: &DesiredPool,
        count: CountUpdate,
    ) -> Result<(), CloudError> {
        let body = patch_body(desired, observed, count)?;
        if body["spec"]["resources"]
            .as_object()
            .is_some_and(|r| r.is_empty())
        {
            // Nothing differs: no call.
            return Ok(());
        }
        self.merge_patch(resource_pool, &observed.id, &body).await
    }

    async fn delete(&self, resource_pool: &str, name: &str) -> Result<DeleteOutcome, CloudError> {
        let url = self.url(resource_pool, Some(name))?;
        match self
            .call(
                Operation::Delete,
                Method::DELETE,
                url,
                None,
                "application/json",
            )
            .await
        {
            Ok(_) => Ok(DeleteOutcome::Started { job_id: None }),
            Err(CloudError::NotFound { .. }) => Ok(DeleteOutcome::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    async fn unmark(&self, resource_pool: &str, observed: &ObservedPool) -> Result<(), CloudError> {
        if observed.owner.is_none() {
            return Ok(());
        }
        let body = json!({"spec": {"resources": {"labels": {super::OWNER_LABEL: null}}}});
        self.merge_patch(resource_pool, &observed.id, &body).await
    }

    fn drift(&self, desired: &DesiredPool, observed: &ObservedPool) -> Vec<String> {
        drift(desired, observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(labels: &[(&str, &str)], count: i64) -> DesiredPool {
        let resources = wire::Resources {
            flavor: Some("modelarts.vm.2u4g.dcc".into()),
            count: Some(count),
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            taints: Some(vec![
                wire::Taint {
                    key: "a".into(),
                    effect: "NoSchedule".into(),
                    ..Default::default()
                },
                wire::Taint {
                    key: "b".into(),
                    effect: "NoSchedule".into(),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        DesiredPool {
            name: "p".into(),
            spec: PoolSpec::ModelArts {
                spec: wire::NodePoolSpec {
                    resources: Some(resources),
                    ..Default::default()
                },
                annotations: BTreeMap::new(),
            },
        }
    }

    /// What the cloud reports of `pool`, with its taints in the other order.
    fn reported(pool: &DesiredPool) -> ObservedPool {
        let PoolSpec::ModelArts { spec, .. } = &pool.spec else {
            unreachable!()
        };
        let mut spec = spec.clone();
        if let Some(taints) = spec.resources.as_mut().and_then(|r| r.taints.as_mut()) {
            taints.reverse();
        }
        let mut observed = observe(&NodePool::default());
        observed.spec = CloudSpec::ModelArts(Box::new(spec));
        observed
    }

    #[test]
    fn a_patch_carries_only_what_changed() {
        let cloud = reported(&declared(&[("team", "ml"), ("tier", "gold")], 2));
        let label_only = patch_body(
            &declared(&[("team", "infra"), ("tier", "gold")], 2),
            &cloud,
            CountUpdate::Set(2),
        )
        .unwrap();
        assert_eq!(
            label_only,
            json!({"spec": {"resources": {"labels": {"team": "infra"}}}})
        );
        let removed =
            patch_body(&declared(&[("team", "ml")], 2), &cloud, CountUpdate::Set(2)).unwrap();
        assert_eq!(
            removed,
            json!({"spec": {"resources": {"labels": {"tier": null}}}})
        );
        let same = declared(&[("team", "ml"), ("tier", "gold")], 2);
        let count_only = patch_body(&same, &cloud, CountUpdate::Set(4)).unwrap();
        assert_eq!(
            count_only,
            json!({"spec": {"resources": {"count": 4, "maxCount": 4}}})
        );
        assert!(
            drift(&same, &cloud).is_empty(),
            "reordered taints are no drift"
        );
        assert_eq!(
            patch_body(&same, &cloud, CountUpdate::Set(2)).unwrap(),
            json!({"spec": {"resources": {}}})
        );
    }

    /// Bucket counts that each fit a node count but not their sum saturate `current` instead of
    /// overflowing it (a panic in debug builds, a wrapped count below `ready` otherwise).
    #[test]
    fn huge_bucket_counts_saturate() {
        let pool: NodePool = serde_json::from_value(json!({
            "metadata": {"name": "p"},
            "status": {"resources": {
                "creating": {"count": 2},
                "available": [{"count": u32::MAX}],
                "abnormal": {"count": u32::MAX},
            }}
        }))
        .unwrap_or_default();
        let observed = observe(&pool);
        assert_eq!(observed.current, u32::MAX);
        assert_eq!(observed.ready, u32::MAX);
        assert_eq!(observed.phase, PoolPhase::Error);
    }
}
