//! Huawei CCE v3 node pools through [`NodePoolProvider`].
//!
//! Every update carries `initialNodeCount`, or `ignoreInitialNodeCount: true` when the count is
//! not ours to set: CCE resets an omitted count to 0 and drains the pool. Labels CCE adds itself
//! (`cce.cloud.com/...`) are never drift. Deleting a pool that is already gone is success.
//!
//! About 340 lines of client and 100 of table tests for the count and drift rules.

use crate::provider::metrics::Operation;
use async_trait::async_trait;
use http::Method;
use serde_json::{Value, json};

use super::CloudSpec;
use super::huawei::{HuaweiService, HuaweiSession};
use super::{
    Autoscaling, CloudError, CloudKind, CountUpdate, DeleteOutcome, DesiredPool, NodePoolProvider,
    ObservedPool, PoolPhase, PoolSpec, count,
};
use nodepool_wire::cce::{self as wire, NodePool, NodePoolList, NodePoolSpec};

const CCE: HuaweiService = HuaweiService::CCE;

/// Label keys CCE manages itself.
pub const SERVER_LABEL_PREFIX: &str = "cce.cloud.com/";

#[derive(Debug, Clone)]
pub struct CceProvider {
    session: HuaweiSession,
    /// e.g. `https://cce.cn-north-4.myhuaweicloud.com`.
    endpoint: url::Url,
}

impl CceProvider {
    pub fn new(session: HuaweiSession, endpoint: url::Url) -> Self {
        Self { session, endpoint }
    }

    /// The node pools of `cluster`, or the one named `pool`.
    fn url(&self, cluster: &str, pool: Option<&str>) -> Result<url::Url, CloudError> {
        let project = self.session.account.project_id.as_str();
        let mut segments = vec![
            "api",
            "v3",
            "projects",
            project,
            "clusters",
            cluster,
            "nodepools",
        ];
        segments.extend(pool);
        CCE.url(&self.endpoint, &segments)
    }

    async fn call(
        &self,
        operation: Operation,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
    ) -> Result<Value, CloudError> {
        self.session
            .call_json(CCE, operation, method, url, body, "application/json")
            .await
    }
}

/// The neutral view of a CCE pool.
pub fn observe(pool: &NodePool) -> ObservedPool {
    let status = pool.status.clone().unwrap_or_default();
    let raw_state = status.phase.clone().unwrap_or_default();
    let current = count(status.current_node);
    let creating = count(status.creating_node);
    let deleting = count(status.deleting_node);
    let ready = status
        .active_node
        .map_or(current.saturating_sub(creating), |n| count(Some(n)));
    let mut messages = Vec::new();
    for condition in status.conditions.iter().flatten() {
        let problem = match condition.condition_type.as_deref() {
            Some("Scalable") => condition.status.as_deref() == Some("False"),
            Some(_) => condition.status.as_deref() == Some("True"),
            None => false,
        };
        if problem {
            messages.push(super::error::stable_text(&format!(
                "{}: {}: {}",
                condition.condition_type.as_deref().unwrap_or_default(),
                condition.reason.as_deref().unwrap_or_default(),
                condition.message.as_deref().unwrap_or_default()
            )));
        }
    }
    let phase = match raw_state.as_str() {
        "Deleting" => PoolPhase::Deleting,
        "SoldOut" => PoolPhase::SoldOut,
        "Error" => PoolPhase::Error,
        _ if creating > 0 && ready == 0 && deleting == 0 => PoolPhase::Creating,
        _ if creating > 0 || deleting > 0 || !raw_state.is_empty() => PoolPhase::Scaling,
        _ => PoolPhase::Ready,
    };
    let autoscaling = pool.spec.autoscaling.as_ref().map(|a| Autoscaling {
        enabled: a.enable.unwrap_or(false),
        min: a.min_node_count.and_then(|n| u32::try_from(n).ok()),
        max: a.max_node_count.and_then(|n| u32::try_from(n).ok()),
    });
    let owner = pool
        .spec
        .node_template
        .as_ref()
        .and_then(|t| t.k8s_tags.as_ref())
        .and_then(|tags| tags.get(super::OWNER_LABEL))
        .cloned();
    ObservedPool {
        id: pool.metadata.uid.clone().unwrap_or_default(),
        name: pool.metadata.name.clone().unwrap_or_default(),
        desired: pool
            .spec
            .initial_node_count
            .and_then(|n| u32::try_from(n).ok()),
        current,
        ready,
        creating,
        deleting,
        raw_state,
        phase,
        messages,
        autoscaling,
        owner,
        job_id: status.job_id,
        spec: CloudSpec::Cce(Box::new(pool.spec.clone())),
    }
}

fn cce_spec(desired: &DesiredPool) -> Result<&NodePoolSpec, CloudError> {
    match &desired.spec {
        PoolSpec::Cce(spec) => Ok(spec),
        _ => Err(CloudError::InvalidRequest {
            status: 0,
            code: "WrongProvider".into(),
            message: "the CCE provider got a non-CCE pool spec".into(),
        }),
    }
}

/// Which in-place settings differ between the declared spec and the cloud's (`None`: the cloud
/// did not report its settings, so all of them count as different).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Changed {
    k8s_tags: bool,
    taints: bool,
    user_tags: bool,
    autoscaling: bool,
}

/// `reported`: the observed pool's settings, opened once by the caller.
fn changed(spec: &NodePoolSpec, reported: &CloudSpec) -> Changed {
    let CloudSpec::Cce(actual) = reported else {
        return Changed {
            k8s_tags: true,
            taints: true,
            user_tags: true,
            autoscaling: spec.autoscaling.is_some(),
        };
    };
    let empty = wire::NodeTemplate::default();
    let want = spec.node_template.as_ref().unwrap_or(&empty);
    let have = actual.node_template.as_ref().unwrap_or(&empty);
    // Taints and user tags are sets: the cloud may list them in any order.
    let taints = |t: &Option<Vec<wire::Taint>>| {
        let mut v = t.clone().unwrap_or_default();
        v.sort_by(|a, b| (&a.key, &a.effect, &a.value).cmp(&(&b.key, &b.effect, &b.value)));
        v
    };
    let tags = |t: &Option<Vec<wire::UserTag>>| {
        let mut v = t.clone().unwrap_or_default();
        v.sort_by(|a, b| (&a.key, &a.value).cmp(&(&b.key, &b.value)));
        v
    };
    let autoscaling = spec.autoscaling.as_ref().is_some_and(|want| {
        let have = actual.autoscaling.clone().unwrap_or_default();
        want.enable.unwrap_or(false) != have.enable.unwrap_or(false)
            || (want.min_node_count.is_some() && want.min_node_count != have.min_node_count)
            || (want.max_node_count.is_some() && want.max_node_count != have.max_node_count)
            || (want.scale_down_cooldown_time.is_some()
                && want.scale_down_cooldown_time != have.scale_down_cooldown_time)
            || (want.priority.is_some() && want.priority != have.priority)
    });
    Changed {
        k8s_tags: user_labels(want.k8s_tags.as_ref()) != user_labels(have.k8s_tags.as_ref()),
        taints: taints(&want.taints) != taints(&have.taints),
        user_tags: tags(&want.user_tags) != tags(&have.user_tags),
        autoscaling,
    }
}

/// The PUT body: only the in-place settings that differ from what the cloud reports and,
/// always, either the count or the instruction to keep it (CCE scales a pool whose update
/// omits both to zero).
pub fn update_body(
    desired: &DesiredPool,
    observed: &ObservedPool,
    count: CountUpdate,
) -> Result<Value, CloudError> {
    let spec = cce_spec(desired)?;
    let changed = changed(spec, &observed.spec.settings());
    let mut body_spec = serde_json::Map::new();
    let empty = wire::NodeTemplate::default();
    let template = spec.node_template.as_ref().unwrap_or(&empty);
    let mut mutable = serde_json::Map::new();
    // Absent means unchanged and an empty list removes all, so a changed setting goes out
    // whole, as declared.
    if changed.k8s_tags {
        mutable.insert(
            "k8sTags".into(),
            json!(template.k8s_tags.clone().unwrap_or_default()),
        );
    }
    if changed.taints {
        mutable.insert(
            "taints".into(),
            json!(template.taints.clone().unwrap_or_default()),
        );
    }
    if changed.user_tags {
        mutable.insert(
            "userTags".into(),
            json!(template.user_tags.clone().unwrap_or_default()),
        );
    }
    if !mutable.is_empty() {
        body_spec.insert("nodeTemplate".into(), Value::Object(mutable));
    }
    // Without these CCE may leave the nodes it already runs as they were: a changed set
    // reaches every node, not only the ones created later.
    for (sent, policy) in [
        (changed.k8s_tags, "labelPolicyOnExistingNodes"),
        (changed.taints, "taintPolicyOnExistingNodes"),
        (changed.user_tags, "userTagsPolicyOnExistingNodes"),
    ] {
        if sent {
            body_spec.insert(policy.into(), json!("refresh"));
        }
    }
    if changed.autoscaling
        && let Some(autoscaling) = &spec.autoscaling
    {
        body_spec.insert("autoscaling".into(), json!(autoscaling));
    }
    match count {
        CountUpdate::Set(n) => body_spec.insert("initialNodeCount".into(), json!(n)),
        CountUpdate::Keep => body_spec.insert("ignoreInitialNodeCount".into(), json!(true)),
    };
    Ok(json!({"metadata": {"name": desired.name}, "spec": body_spec}))
}

fn user_labels(
    labels: Option<&std::collections::BTreeMap<String, String>>,
) -> std::collections::BTreeMap<String, String> {
    labels
        .into_iter()
        .flatten()
        .filter(|(k, _)| !k.starts_with(SERVER_LABEL_PREFIX))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Mutable settings that differ between the declared and the observed pool.
pub fn drift(desired: &DesiredPool, observed: &ObservedPool) -> Vec<String> {
    let Ok(spec) = cce_spec(desired) else {
        return vec!["provider".into()];
    };
    let reported = observed.spec.settings();
    if !matches!(*reported, CloudSpec::Cce(_)) {
        return vec!["spec".into()];
    }
    let changed = changed(spec, &reported);
    [
        (changed.k8s_tags, "nodeTemplate.k8sTags"),
        (changed.taints, "nodeTemplate.taints"),
        (changed.user_tags, "nodeTemplate.userTags"),
        (changed.autoscaling, "autoscaling"),
    ]
    .into_iter()
    .filter(|(differs, _)| *differs)
    .map(|(_, name)| name.to_owned())
    .collect()
}

#[async_trait]
impl NodePoolProvider for CceProvider {
    fn cloud(&self) -> CloudKind {
        CloudKind::Cce
    }

    async fn list(&self, cluster: &str) -> Result<Vec<ObservedPool>, CloudError> {
        let value = self
            .call(Operation::List, Method::GET, self.url(cluster, None)?, None)
            .await?;
        let list: NodePoolList = CCE.parse(value, "pool list")?;
        Ok(list.items.iter().map(observe).collect())
    }

    async fn get(&self, cluster: &str, id: &str) -> Result<Option<ObservedPool>, CloudError> {
        match self
            .call(
                Operation::Get,
                Method::GET,
                self.url(cluster, Some(id))?,
                None,
            )
            .await
        {
            Ok(value) => Ok(Some(observe(&CCE.parse::<NodePool>(value, "pool")?))),
            Err(CloudError::NotFound { .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    async fn create(
        &self,
        cluster: &str,
        desired: &DesiredPool,
    ) -> Result<ObservedPool, CloudError> {
        let pool = NodePool {
            kind: Some("NodePool".into()),
            api_version: Some("v3".into()),
            metadata: wire::NodePoolMetadata {
                name: Some(desired.name.clone()),
                ..Default::default()
            },
            spec: cce_spec(desired)?.clone(),
            ..Default::default()
        };
        let body = serde_json::to_value(&pool).map_err(|e| CloudError::transport(e.to_string()))?;
        let value = self
            .call(
                Operation::Create,
                Method::POST,
                self.url(cluster, None)?,
                Some(&body),
            )
            .await?;
        Ok(observe(&CCE.parse::<NodePool>(value, "created pool")?))
    }

    async fn update(
        &self,
        cluster: &str,
        observed: &ObservedPool,
        desired: &DesiredPool,
        count: CountUpdate,
    ) -> Result<(), CloudError> {
        let body = update_body(desired, observed, count)?;
        let url = self.url(cluster, Some(&observed.id))?;
        self.call(Operation::Update, Method::PUT, url, Some(&body))
            .await
            .map(drop)
    }

    async fn delete(&self, cluster: &str, id: &str) -> Result<DeleteOutcome, CloudError> {
        match self
            .call(
                Operation::Delete,
                Method::DELETE,
                self.url(cluster, Some(id))?,
                None,
            )
            .await
        {
            Ok(value) => {
                let job_id = value["status"]["jobId"].as_str().map(str::to_owned);
                Ok(DeleteOutcome::Started { job_id })
            }
            Err(CloudError::NotFound { .. }) => Ok(DeleteOutcome::AlreadyGone),
            Err(error) => Err(error),
        }
    }

    async fn unmark(&self, cluster: &str, observed: &ObservedPool) -> Result<(), CloudError> {
        let empty = NodePoolSpec::default();
        let settings = observed.spec.settings();
        let actual = match &*settings {
            CloudSpec::Cce(spec) => spec,
            _ => &empty,
        };
        let mut labels = user_labels(
            actual
                .node_template
                .as_ref()
                .and_then(|t| t.k8s_tags.as_ref()),
        );
        if labels.remove(super::OWNER_LABEL).is_none() {
            return Ok(());
        }
        // Only k8sTags is sent (absent settings stay as they are), and the count is kept.
        let body = json!({
            "metadata": {"name": observed.name},
            "spec": {"nodeTemplate": {"k8sTags": labels}, "ignoreInitialNodeCount": true},
        });
        let url = self.url(cluster, Some(&observed.id))?;
        self.call(Operation::Update, Method::PUT, url, Some(&body))
            .await
            .map(drop)
    }

    fn drift(&self, desired: &DesiredPool, observed: &ObservedPool) -> Vec<String> {
        drift(desired, observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn desired(labels: &[(&str, &str)]) -> DesiredPool {
        let template = wire::NodeTemplate {
            flavor: Some("s6.large.2".into()),
            k8s_tags: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        DesiredPool {
            name: "p".into(),
            spec: PoolSpec::Cce(NodePoolSpec {
                node_template: Some(template),
                initial_node_count: Some(2),
                ..Default::default()
            }),
        }
    }

    fn observed_as(spec: CloudSpec) -> ObservedPool {
        ObservedPool {
            id: "u".into(),
            name: "p".into(),
            desired: Some(2),
            current: 2,
            ready: 2,
            creating: 0,
            deleting: 0,
            raw_state: String::new(),
            phase: PoolPhase::Ready,
            messages: vec![],
            autoscaling: None,
            owner: None,
            job_id: None,
            spec,
        }
    }

    fn reported(pool: &DesiredPool) -> ObservedPool {
        let PoolSpec::Cce(spec) = &pool.spec else {
            unreachable!()
        };
        let mut spec = spec.clone();
        if let Some(t) = spec.node_template.as_mut() {
            t.k8s_tags
                .get_or_insert_default()
                .insert(wire::POOL_LABEL.into(), "p".into());
        }
        observed_as(CloudSpec::Cce(Box::new(spec)))
    }

    #[test]
    fn every_update_body_carries_a_count_instruction() {
        let unknown = observed_as(CloudSpec::Unknown);
        let keep = update_body(&desired(&[]), &unknown, CountUpdate::Keep).unwrap();
        assert_eq!(keep["spec"]["ignoreInitialNodeCount"], true);
        assert!(keep["spec"].get("initialNodeCount").is_none());
        let set = update_body(&desired(&[]), &unknown, CountUpdate::Set(5)).unwrap();
        assert_eq!(set["spec"]["initialNodeCount"], 5);
    }

    #[test]
    fn an_update_sends_only_what_changed_and_the_count_protection() {
        let cloud = reported(&desired(&[("team", "ml"), ("tier", "gold")]));
        let label_only = update_body(
            &desired(&[("team", "infra"), ("tier", "gold")]),
            &cloud,
            CountUpdate::Keep,
        )
        .unwrap();
        assert_eq!(
            label_only["spec"],
            json!({"nodeTemplate": {"k8sTags": {"team": "infra", "tier": "gold"}}, "labelPolicyOnExistingNodes": "refresh", "ignoreInitialNodeCount": true})
        );
        let same = desired(&[("team", "ml"), ("tier", "gold")]);
        let count_only = update_body(&same, &cloud, CountUpdate::Set(5)).unwrap();
        assert_eq!(count_only["spec"], json!({"initialNodeCount": 5}));
        // Unknown settings (an answer without them): everything declared goes out.
        let unknown =
            update_body(&same, &observed_as(CloudSpec::Unknown), CountUpdate::Set(5)).unwrap();
        assert_eq!(unknown["spec"]["nodeTemplate"]["k8sTags"]["team"], "ml");
        assert_eq!(unknown["spec"]["nodeTemplate"]["taints"], json!([]));
    }

    #[test]
    fn taints_and_user_tags_listed_in_another_order_are_not_drift() {
        let mut pool = desired(&[]);
        let PoolSpec::Cce(spec) = &mut pool.spec else {
            unreachable!()
        };
        let template = spec.node_template.as_mut().unwrap();
        let taint = |key: &str| wire::Taint {
            key: key.into(),
            value: None,
            effect: "NoSchedule".into(),
        };
        template.taints = Some(vec![taint("a"), taint("b")]);
        let mut cloud = reported(&pool);
        let CloudSpec::Cce(reported_spec) = &mut cloud.spec else {
            unreachable!()
        };
        reported_spec.node_template.as_mut().unwrap().taints = Some(vec![taint("b"), taint("a")]);
        assert!(drift(&pool, &cloud).is_empty());
    }

    #[test]
    fn server_added_labels_are_not_drift() {
        let mut observed_spec = match desired(&[("team", "ml")]).spec {
            PoolSpec::Cce(spec) => spec,
            _ => unreachable!(),
        };
        if let Some(t) = observed_spec.node_template.as_mut() {
            t.k8s_tags
                .get_or_insert_default()
                .insert(wire::POOL_LABEL.into(), "p".into());
        }
        let observed = ObservedPool {
            id: "u".into(),
            name: "p".into(),
            desired: Some(2),
            current: 2,
            ready: 2,
            creating: 0,
            deleting: 0,
            raw_state: String::new(),
            phase: PoolPhase::Ready,
            messages: vec![],
            autoscaling: None,
            owner: None,
            job_id: None,
            spec: CloudSpec::Cce(Box::new(observed_spec)),
        };
        assert!(drift(&desired(&[("team", "ml")]), &observed).is_empty());
        assert_eq!(
            drift(&desired(&[("team", "infra")]), &observed),
            ["nodeTemplate.k8sTags"]
        );
    }

    #[test]
    fn phases_map_from_cce_status() {
        let pool = |phase: &str, current, creating, deleting| NodePool {
            status: Some(wire::NodePoolStatus {
                phase: Some(phase.into()),
                current_node: Some(current),
                creating_node: Some(creating),
                deleting_node: Some(deleting),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(observe(&pool("", 2, 0, 0)).phase, PoolPhase::Ready);
        assert_eq!(
            observe(&pool("Synchronizing", 2, 2, 0)).phase,
            PoolPhase::Creating
        );
        assert_eq!(
            observe(&pool("Synchronizing", 3, 1, 0)).phase,
            PoolPhase::Scaling
        );
        assert_eq!(observe(&pool("", 1, 0, 2)).phase, PoolPhase::Scaling);
        assert_eq!(observe(&pool("SoldOut", 1, 0, 0)).phase, PoolPhase::SoldOut);
        assert_eq!(
            observe(&pool("Deleting", 0, 0, 1)).phase,
            PoolPhase::Deleting
        );
        assert_eq!(observe(&pool("Error", 0, 0, 0)).phase, PoolPhase::Error);
    }
}
