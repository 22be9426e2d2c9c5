//! Alibaba ENS cluster node pools through [`NodePoolProvider`].
//!
//! ENS has no single-pool read: pools are listed page by page and filtered. Scale-out sends the
//! new total (`ScaleClusterNodePool`); scale-in deletes chosen nodes (`DeleteClusterNodes`):
//! failed nodes first, then nodes still initialising, then the newest.

use async_trait::async_trait;
use serde_json::Value;

use super::alibaba::AlibabaSession;
use super::metrics::Operation;
use super::{
    CloudError, CloudKind, CountUpdate, DeleteOutcome, DesiredPool, NodePoolProvider, ObservedPool,
    PoolPhase, PoolSpec, count,
};
use super::{CloudSpec, EnsSettings};
use nodepool_wire::ens::{
    self as wire, API_VERSION, ClusterNode, CreateClusterNodePoolRequest,
    CreateClusterNodePoolResponse, DeleteClusterNodePoolRequest, DeleteClusterNodesRequest,
    DescribeClusterNodePoolsRequest, DescribeClusterNodePoolsResponse, DescribeClusterNodesRequest,
    DescribeClusterNodesResponse, ModifyClusterNodePoolRequest, Nodepool, RpcRequest,
    ScaleClusterNodePoolRequest,
};

const PAGE_SIZE: i64 = 100;

#[derive(Debug, Clone)]
pub struct EnsProvider {
    session: AlibabaSession,
}

/// An ENS answer as the type `T`; `what` names it in the error, with the failing path.
pub fn parse<T: serde::de::DeserializeOwned>(value: Value, what: &str) -> Result<T, CloudError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| CloudError::transport(format!("unexpected {what} from ENS: {e}")))
}

fn ens_spec(
    desired: &DesiredPool,
) -> Result<(&wire::ScalingGroup, Option<&wire::KubernetesConfig>), CloudError> {
    match &desired.spec {
        PoolSpec::Ens {
            scaling_group,
            kubernetes_config,
        } => Ok((scaling_group, kubernetes_config.as_ref())),
        _ => Err(CloudError::InvalidRequest {
            status: 0,
            code: "WrongProvider".into(),
            message: "the ENS provider got a non-ENS pool spec".into(),
        }),
    }
}

/// The neutral view of an ENS pool.
pub fn observe(pool: &Nodepool) -> ObservedPool {
    let info = pool.nodepool_info.clone().unwrap_or_default();
    let status = pool.status.clone().unwrap_or_default();
    let total = count(status.total_nodes);
    let removing = count(status.removing_nodes);
    let initial = count(status.initial_nodes);
    let serving = count(status.serving_nodes);
    let failed = count(status.failed_nodes);
    let raw_state = status.state.clone().unwrap_or_default();
    let mut messages = Vec::new();
    if failed > 0 {
        messages.push(format!("{failed} node(s) failed"));
    }
    let phase = match raw_state.as_str() {
        "deleting" => PoolPhase::Deleting,
        _ if failed > 0 => PoolPhase::Error,
        _ if initial > 0 && serving == 0 && removing == 0 => PoolPhase::Creating,
        "active" if initial == 0 && removing == 0 => PoolPhase::Ready,
        _ => PoolPhase::Scaling,
    };
    ObservedPool {
        id: info.nodepool_id.clone().unwrap_or_default(),
        name: info.name.clone().unwrap_or_default(),
        desired: status.desired_nodes.and_then(|n| u32::try_from(n).ok()),
        current: total.saturating_sub(removing),
        ready: serving,
        creating: initial,
        deleting: removing,
        raw_state,
        phase,
        messages,
        autoscaling: None,
        owner: None,
        job_id: None,
        spec: CloudSpec::Ens(Box::new(EnsSettings {
            scaling_group: pool.scaling_group.clone().unwrap_or_default(),
            kubernetes_config: pool.kubernetes_config.clone(),
        })),
    }
}

/// The nodes to remove to go from the live nodes to `target`: failed first, then initialising,
/// then the last listed (ENS lists a pool's nodes in creation order and reports no creation
/// time, so the last listed are the newest).
pub fn choose_nodes_to_remove(nodes: &[ClusterNode], target: u32) -> Vec<String> {
    let mut live: Vec<(usize, &ClusterNode)> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| n.state.as_deref() != Some("removing"))
        .collect();
    let surplus = live.len().saturating_sub(target as usize);
    let rank = |n: &ClusterNode| match n.state.as_deref() {
        Some("failed") => 0,
        Some("initial") => 1,
        _ => 2,
    };
    live.sort_by(|(a_at, a), (b_at, b)| rank(a).cmp(&rank(b)).then_with(|| b_at.cmp(a_at)));
    live.into_iter()
        .take(surplus)
        .filter_map(|(_, n)| n.instance_id.clone())
        .collect()
}

/// What a ModifyClusterNodePool call must change: only the declared scaling-group settings
/// that differ from the cloud's, and the Kubernetes config when it differs; `None` when
/// nothing differs.
pub fn modification(
    desired: &DesiredPool,
    observed: &ObservedPool,
) -> Result<Option<(wire::ScalingGroup, Option<wire::KubernetesConfig>)>, CloudError> {
    let (want, want_config) = ens_spec(desired)?;
    let empty = EnsSettings::default();
    let settings = observed.spec.settings();
    let observed_settings = match &*settings {
        CloudSpec::Ens(settings) => settings,
        _ => &empty,
    };
    let have = &observed_settings.scaling_group;
    fn differing<T: Clone + PartialEq>(want: &Option<T>, have: &Option<T>) -> Option<T> {
        want.as_ref().filter(|w| Some(*w) != have.as_ref()).cloned()
    }
    // Disks and scripts are compared by what is declared: a default the cloud fills in (a
    // disk's category, an empty script) is no difference.
    fn not_held<T: Clone + serde::Serialize>(want: &Option<T>, have: &Option<T>) -> Option<T> {
        let value = |v: &Option<T>| serde_json::to_value(v).unwrap_or_default();
        want.as_ref()
            .filter(|_| !holds(&value(want), &value(have)))
            .cloned()
    }
    let group = wire::ScalingGroup {
        image_id: differing(&want.image_id, &have.image_id),
        instance_types: differing(&want.instance_types, &have.instance_types),
        vswitch_ids: differing(&want.vswitch_ids, &have.vswitch_ids),
        key_pair_name: differing(&want.key_pair_name, &have.key_pair_name),
        system_disk_size: differing(&want.system_disk_size, &have.system_disk_size),
        data_disks: not_held(&want.data_disks, &have.data_disks),
        ..Default::default()
    };
    let config = not_held(&want_config.cloned(), &observed_settings.kubernetes_config);
    if group == wire::ScalingGroup::default() && config.is_none() {
        return Ok(None);
    }
    Ok(Some((group, config)))
}

/// Whether what the cloud reports holds every value declared: keys the cloud adds, and keys
/// it answers empty that were never declared, are no difference; lists keep their order (ENS
/// reads instance types and vSwitches in priority order).
fn holds(declared: &serde_json::Value, reported: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (declared, reported) {
        (Value::Null, _) => true,
        (Value::Object(declared), _) => declared
            .iter()
            .all(|(key, value)| holds(value, reported.get(key).unwrap_or(&Value::Null))),
        (Value::Array(declared), Value::Array(reported)) => {
            declared.len() == reported.len()
                && declared.iter().zip(reported).all(|(d, r)| holds(d, r))
        }
        (declared, reported) => declared == reported,
    }
}

/// Template settings that differ (scaling group fields the user declared, Kubernetes config).
pub fn drift(desired: &DesiredPool, observed: &ObservedPool) -> Vec<String> {
    let Ok(modification) = modification(desired, observed) else {
        return vec!["provider".into()];
    };
    let Some((group, config)) = modification else {
        return Vec::new();
    };
    [
        ("ImageId", group.image_id.is_some()),
        ("InstanceTypes", group.instance_types.is_some()),
        ("VswitchIds", group.vswitch_ids.is_some()),
        ("KeyPairName", group.key_pair_name.is_some()),
        ("SystemDiskSize", group.system_disk_size.is_some()),
        ("DataDisks", group.data_disks.is_some()),
    ]
    .into_iter()
    .filter(|(_, differs)| *differs)
    .map(|(name, _)| format!("ScalingGroup.{name}"))
    .chain(config.map(|_| "KubernetesConfig".to_owned()))
    .collect()
}

/// The operation an ENS action is counted as.
trait Counted: RpcRequest {
    const OPERATION: Operation;
}

macro_rules! counted {
    ($($request:ident => $operation:ident),* $(,)?) => {
        $(impl Counted for $request {
            const OPERATION: Operation = Operation::$operation;
        })*
    };
}

counted! {
    CreateClusterNodePoolRequest => Create,
    DescribeClusterNodePoolsRequest => List,
    ScaleClusterNodePoolRequest => Scale,
    DeleteClusterNodesRequest => Scale,
    DescribeClusterNodesRequest => ListNodes,
    ModifyClusterNodePoolRequest => Update,
    DeleteClusterNodePoolRequest => Delete,
}

impl EnsProvider {
    pub fn new(session: AlibabaSession) -> Self {
        Self { session }
    }

    async fn call<R: Counted>(&self, request: &R, write: bool) -> Result<Value, CloudError> {
        self.session
            .rpc(
                R::ACTION,
                R::OPERATION,
                API_VERSION,
                &request.to_params(),
                write,
                R::REPEATABLE,
            )
            .await
    }

    async fn nodes(&self, cluster: &str, pool_id: &str) -> Result<Vec<ClusterNode>, CloudError> {
        let mut nodes = Vec::new();
        for page in 1.. {
            let request = DescribeClusterNodesRequest {
                cluster_id: cluster.into(),
                nodepool_id: Some(pool_id.into()),
                page_number: Some(page),
                page_size: Some(PAGE_SIZE),
            };
            let answer: DescribeClusterNodesResponse =
                parse(self.call(&request, false).await?, "node list")?;
            let got = answer.nodes.len();
            nodes.extend(answer.nodes);
            let total = answer.page.and_then(|p| p.total_count).unwrap_or(0);
            if got == 0 || nodes.len() as i64 >= total {
                break;
            }
        }
        Ok(nodes)
    }
}

#[async_trait]
impl NodePoolProvider for EnsProvider {
    fn cloud(&self) -> CloudKind {
        CloudKind::Ens
    }

    async fn list(&self, cluster: &str) -> Result<Vec<ObservedPool>, CloudError> {
        let mut pools = Vec::new();
        for page in 1.. {
            let request = DescribeClusterNodePoolsRequest {
                cluster_id: cluster.into(),
                page_number: Some(page),
                page_size: Some(PAGE_SIZE),
            };
            let answer: DescribeClusterNodePoolsResponse =
                parse(self.call(&request, false).await?, "pool list")?;
            let got = answer.node_pools.len();
            pools.extend(answer.node_pools.iter().map(observe));
            let total = answer.page.and_then(|p| p.total_count).unwrap_or(0);
            if got == 0 || pools.len() as i64 >= total {
                break;
            }
        }
        Ok(pools)
    }

    async fn get(&self, cluster: &str, id: &str) -> Result<Option<ObservedPool>, CloudError> {
        Ok(self.list(cluster).await?.into_iter().find(|p| p.id == id))
    }

    async fn create(
        &self,
        cluster: &str,
        desired: &DesiredPool,
    ) -> Result<ObservedPool, CloudError> {
        let (scaling_group, kubernetes_config) = ens_spec(desired)?;
        let request = CreateClusterNodePoolRequest {
            cluster_id: cluster.into(),
            nodepool_info: wire::NodepoolInfo {
                name: Some(desired.name.clone()),
                ..Default::default()
            },
            scaling_group: scaling_group.clone(),
            kubernetes_config: kubernetes_config.cloned(),
        };
        let answer: CreateClusterNodePoolResponse =
            parse(self.call(&request, true).await?, "created pool")?;
        let pool = answer.nodepool.ok_or_else(|| {
            CloudError::transport("CreateClusterNodePool answered without Nodepool")
        })?;
        Ok(observe(&pool))
    }

    async fn update(
        &self,
        cluster: &str,
        observed: &ObservedPool,
        desired: &DesiredPool,
        count: CountUpdate,
    ) -> Result<(), CloudError> {
        if let Some((scaling_group, kubernetes_config)) = modification(desired, observed)? {
            // The size is not a template setting (ModifyClusterNodePool refuses DesiredSize),
            // and a setting left out stays as it is.
            let request = ModifyClusterNodePoolRequest {
                cluster_id: cluster.into(),
                nodepool_info: wire::NodepoolInfo {
                    nodepool_id: Some(observed.id.clone()),
                    ..Default::default()
                },
                scaling_group: (scaling_group != wire::ScalingGroup::default())
                    .then_some(scaling_group),
                kubernetes_config,
            };
            self.call(&request, true).await?;
        }
        let CountUpdate::Set(target) = count else {
            return Ok(());
        };
        if target > observed.current {
            let request = ScaleClusterNodePoolRequest {
                cluster_id: cluster.into(),
                nodepool_id: observed.id.clone(),
                count: i64::from(target),
            };
            self.call(&request, true).await?;
        } else if target < observed.current {
            let nodes = choose_nodes_to_remove(&self.nodes(cluster, &observed.id).await?, target);
            if !nodes.is_empty() {
                let request = DeleteClusterNodesRequest {
                    cluster_id: cluster.into(),
                    nodes,
                    release_node: Some(true),
                };
                self.call(&request, true).await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, cluster: &str, id: &str) -> Result<DeleteOutcome, CloudError> {
        let request = DeleteClusterNodePoolRequest {
            cluster_id: cluster.into(),
            nodepool_id: id.into(),
        };
        match self.call(&request, true).await {
            Ok(_) => Ok(DeleteOutcome::Started { job_id: None }),
            Err(CloudError::NotFound { code, .. }) if code.contains("Nodepool") => {
                Ok(DeleteOutcome::AlreadyGone)
            }
            Err(error) => Err(error),
        }
    }

    fn drift(&self, desired: &DesiredPool, observed: &ObservedPool) -> Vec<String> {
        drift(desired, observed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(id: &str, state: &str) -> ClusterNode {
        ClusterNode {
            instance_id: Some(id.into()),
            state: Some(state.into()),
            ..Default::default()
        }
    }

    #[test]
    fn what_the_cloud_fills_in_is_no_difference_but_a_declared_value_is() {
        use serde_json::json;
        for (declared, reported, expected) in [
            (
                json!([{"Size": 40}]),
                json!([{"Size": 40, "Category": "cloud_efficiency"}]),
                true,
            ),
            (json!([{"Size": 40}]), json!([{"Size": 80}]), false),
            (
                json!([{"Size": 40}]),
                json!([{"Size": 40}, {"Size": 40}]),
                false,
            ),
            (
                json!([{"Category": "ssd"}]),
                json!([{"Category": "cloud_efficiency"}]),
                false,
            ),
            (
                json!({"UserData": "x"}),
                json!({"UserData": "x", "PreUserData": ""}),
                true,
            ),
            (json!({"UserData": "x"}), json!({"PreUserData": "x"}), false),
            (json!({"UserData": "x"}), json!(null), false),
            (json!({"UserData": null}), json!(null), true),
            // Priority lists keep their order.
            (json!(["a", "b"]), json!(["b", "a"]), false),
        ] {
            assert_eq!(
                holds(&declared, &reported),
                expected,
                "{declared} in {reported}"
            );
        }
    }

    #[test]
    fn scale_in_removes_failed_then_initialising_then_newest() {
        // Listed oldest first, as ENS lists them.
        let nodes = [
            node("broken", "failed"),
            node("old", "running"),
            node("booting", "initial"),
            node("new", "running"),
            node("leaving", "removing"),
        ];
        assert_eq!(choose_nodes_to_remove(&nodes, 3), ["broken"]);
        assert_eq!(
            choose_nodes_to_remove(&nodes, 1),
            ["broken", "booting", "new"]
        );
        assert!(choose_nodes_to_remove(&nodes, 4).is_empty());
    }
}
