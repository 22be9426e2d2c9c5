//! Alibaba Cloud ENS (2017-11-10) cluster node-pool actions over RPC: `POST /` with every
//! parameter in the query string (or a form body), nested objects as one parameter holding a
//! JSON string (`NodepoolInfo={"Name":"p1"}`).
//!
//! There is no single-pool read: clients list with `DescribeClusterNodePools` (paged) and
//! filter. Scale-out sends the new total (`ScaleClusterNodePool`, `Body={"Count":N}`, which must
//! exceed the current count); scale-in removes chosen nodes (`DeleteClusterNodes`).

use std::collections::BTreeMap;

use base64::Engine;
use http::StatusCode;
use serde_json::{Value, json};

use crate::Sim;
use crate::admin::PoolView;
use crate::auth::Principal;
use crate::config::SimConfig;
use crate::dispatch::{Incoming, Notes};
use crate::provision::{NodeSet, NodeState};
use crate::ratelimit::RateClass;
use crate::request::{Cloud, mask_secrets};
use crate::response::{Outcome, SimResponse};
use nodepool_wire::ens::{self as wire, EnsParamError, RpcRequest};

/// Parameters that belong to the RPC envelope and signature, not to the action.
const ENVELOPE: &[&str] = &[
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
    "RegionId",
    "SecurityToken",
];

#[derive(Debug)]
struct Pool {
    id: String,
    name: String,
    scaling_group: Value,
    kubernetes_config: Value,
    nodes: NodeSet,
    deleting: bool,
}

#[derive(Debug)]
struct Cluster {
    region: String,
    /// Index of the owning account: other accounts do not see the cluster.
    owner: usize,
    pools: Vec<Pool>,
}

#[derive(Debug, Default)]
pub struct EnsState {
    clusters: BTreeMap<String, Cluster>,
}

type Params = BTreeMap<String, String>;

fn bad_request(message: impl std::fmt::Display) -> SimResponse {
    SimResponse::ens_error(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Request param error. {message}"),
    )
}

fn missing(name: &str) -> SimResponse {
    SimResponse::ens_error(
        StatusCode::BAD_REQUEST,
        "MissingParameter",
        format!(
            "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
        ),
    )
}

fn invalid(name: &str, why: impl std::fmt::Display) -> SimResponse {
    SimResponse::ens_error(
        StatusCode::BAD_REQUEST,
        &format!("InvalidParameter.{name}"),
        format!("The specified parameter \"{name}\" is not valid: {why}"),
    )
}

fn cluster_not_found(id: &str) -> SimResponse {
    SimResponse::ens_error(
        StatusCode::NOT_FOUND,
        "InvalidClusterId.NotFound",
        format!("The specified cluster {id} does not exist."),
    )
}

fn pool_not_found(id: &str) -> SimResponse {
    SimResponse::ens_error(
        StatusCode::NOT_FOUND,
        "InvalidNodepoolId.NotFound",
        format!("The specified node pool {id} does not exist."),
    )
}

impl EnsState {
    pub fn new(config: &SimConfig) -> Self {
        let mut clusters = BTreeMap::new();
        for (owner, account) in config.alibaba.iter().enumerate() {
            for cluster in &account.ens_clusters {
                clusters.insert(
                    cluster.id.clone(),
                    Cluster {
                        region: cluster.region.clone(),
                        owner,
                        pools: Vec::new(),
                    },
                );
            }
        }
        Self { clusters }
    }

    pub fn node_sets(&self) -> impl Iterator<Item = &NodeSet> {
        self.clusters
            .values()
            .flat_map(|c| c.pools.iter().map(|p| &p.nodes))
    }

    pub fn node_sets_mut(&mut self) -> impl Iterator<Item = &mut NodeSet> {
        self.clusters
            .values_mut()
            .flat_map(|c| c.pools.iter_mut().map(|p| &mut p.nodes))
    }

    pub fn node_set(&self, id: &str) -> Option<&NodeSet> {
        self.clusters
            .values()
            .flat_map(|c| &c.pools)
            .find(|p| p.id == id)
            .map(|p| &p.nodes)
    }

    pub fn node_set_mut(&mut self, id: &str) -> Option<&mut NodeSet> {
        self.clusters
            .values_mut()
            .flat_map(|c| &mut c.pools)
            .find(|p| p.id == id)
            .map(|p| &mut p.nodes)
    }

    pub fn remove_deleted(&mut self) {
        for cluster in self.clusters.values_mut() {
            cluster
                .pools
                .retain(|p| !(p.deleting && p.nodes.is_empty()));
        }
    }

    pub fn views(&self) -> Vec<PoolView> {
        self.clusters
            .iter()
            .flat_map(|(cluster_id, cluster)| {
                cluster.pools.iter().map(move |p| {
                    let counts = p.nodes.counts();
                    PoolView {
                        cloud: Cloud::Ens,
                        id: p.id.clone(),
                        name: p.name.clone(),
                        parent: cluster_id.clone(),
                        desired: p.nodes.target,
                        current: counts.live(),
                        creating: counts.creating,
                        deleting: counts.deleting,
                        state: state_word(p).into(),
                        shortfall: p.nodes.shortfall,
                    }
                })
            })
            .collect()
    }

    fn cluster(&self, id: &str, account: usize) -> Result<&Cluster, SimResponse> {
        self.clusters
            .get(id)
            .filter(|c| c.owner == account)
            .ok_or_else(|| cluster_not_found(id))
    }

    fn cluster_mut(&mut self, id: &str, account: usize) -> Result<&mut Cluster, SimResponse> {
        self.clusters
            .get_mut(id)
            .filter(|c| c.owner == account)
            .ok_or_else(|| cluster_not_found(id))
    }
}

fn state_word(pool: &Pool) -> &'static str {
    let counts = pool.nodes.counts();
    if pool.deleting {
        "deleting"
    } else if counts.creating > 0 || pool.nodes.shortfall > 0 {
        "scaling"
    } else if counts.deleting > 0 {
        "removing"
    } else {
        "active"
    }
}

fn render_pool(cluster_id: &str, region: &str, pool: &Pool) -> Value {
    let counts = pool.nodes.counts();
    let mut scaling_group = pool.scaling_group.clone();
    if scaling_group.get("Password").is_some() {
        scaling_group["Password"] = json!("**********");
    }
    json!({
        "ClusterId": cluster_id,
        "NodepoolInfo": {"EnsRegionId": region, "Name": pool.name, "NodepoolId": pool.id},
        "ScalingGroup": scaling_group,
        "KubernetesConfig": pool.kubernetes_config,
        "Status": {
            "State": state_word(pool),
            "TotalNodes": counts.creating + counts.running + counts.deleting,
            "DesiredNodes": pool.nodes.target,
            "ServingNodes": counts.running,
            "InitialNodes": counts.creating,
            "RemovingNodes": counts.deleting,
            "FailedNodes": pool.nodes.shortfall,
        },
    })
}

fn ok(body: Value) -> SimResponse {
    let mut body = body;
    body["RequestId"] = json!(crate::response::new_request_id());
    SimResponse::json(StatusCode::OK, &body)
}

/// Writes and reads, as counted by per-user flow control.
fn rate_class(action: &str) -> Option<RateClass> {
    match action {
        "CreateClusterNodePool"
        | "ScaleClusterNodePool"
        | "ModifyClusterNodePool"
        | "DeleteClusterNodePool"
        | "DeleteClusterNodes" => Some(RateClass::Write),
        "DescribeClusterNodePools" | "DescribeClusterNodes" => Some(RateClass::Read),
        _ => None,
    }
}

pub fn handle(sim: &Sim, req: &Incoming, principal: &Principal) -> (Outcome, Notes) {
    let all = req.rpc_params();
    let action = all
        .iter()
        .find(|(k, _)| k == "Action")
        .map(|(_, v)| v.clone())
        .or_else(|| req.header("x-acs-action").map(str::to_owned))
        .unwrap_or_default();
    let params: Params = all
        .into_iter()
        .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
        .collect();
    let mut recorded: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), recorded_value(v)))
        .collect();
    let mut masked = Value::Object(std::mem::take(&mut recorded));
    mask_secrets(&mut masked);
    let notes = Notes {
        body: None,
        params: masked.as_object().cloned(),
    };

    let response = serve(sim, req, principal, &action, &params).unwrap_or_else(|r| r);
    (Outcome::Respond(response), notes)
}

/// JSON-string parameters are recorded as JSON, so tests can inspect them.
fn recorded_value(raw: &str) -> Value {
    match serde_json::from_str::<Value>(raw) {
        Ok(v @ (Value::Object(_) | Value::Array(_))) => v,
        _ => Value::String(raw.to_owned()),
    }
}

fn serve(
    sim: &Sim,
    req: &Incoming,
    principal: &Principal,
    action: &str,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    if action.is_empty() {
        return Err(missing("Action"));
    }
    let Some(class) = rate_class(action) else {
        return Err(SimResponse::ens_error(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            format!("Specified api {action} is not found, please check your url and method."),
        ));
    };
    let limit = match class {
        RateClass::Write => sim.config.ens_limits.writes_per_second,
        RateClass::Read => sim.config.ens_limits.reads_per_second,
    };
    if !sim
        .limiter
        .admit(&principal.name(), class, limit, req.instant)
    {
        return Err(SimResponse::throttled(Some(Cloud::Ens)));
    }
    check_shape(action, params)?;
    let account = principal.account();
    match action {
        "CreateClusterNodePool" => create(sim, req, account, params),
        "DescribeClusterNodePools" => describe_pools(sim, req, account, params),
        "ScaleClusterNodePool" => scale(sim, req, account, params),
        "DeleteClusterNodes" => delete_nodes(sim, req, account, params),
        "DescribeClusterNodes" => describe_nodes(sim, req, account, params),
        "ModifyClusterNodePool" => modify(sim, req, account, params),
        "DeleteClusterNodePool" => delete_pool(sim, req, account, params),
        _ => Err(missing("Action")),
    }
}

/// The wire types are the schema: parameters they cannot read are missing or malformed.
fn check_shape(action: &str, params: &Params) -> Result<(), SimResponse> {
    let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let result = match action {
        "CreateClusterNodePool" => {
            wire::CreateClusterNodePoolRequest::from_params(&pairs).map(drop)
        }
        "DescribeClusterNodePools" => {
            wire::DescribeClusterNodePoolsRequest::from_params(&pairs).map(drop)
        }
        "ScaleClusterNodePool" => wire::ScaleClusterNodePoolRequest::from_params(&pairs).map(drop),
        "DeleteClusterNodes" => wire::DeleteClusterNodesRequest::from_params(&pairs).map(drop),
        "DescribeClusterNodes" => wire::DescribeClusterNodesRequest::from_params(&pairs).map(drop),
        "ModifyClusterNodePool" => {
            wire::ModifyClusterNodePoolRequest::from_params(&pairs).map(drop)
        }
        "DeleteClusterNodePool" => {
            wire::DeleteClusterNodePoolRequest::from_params(&pairs).map(drop)
        }
        _ => Ok(()),
    };
    result.map_err(|error| match error {
        EnsParamError::Missing(name) => missing(&name),
        EnsParamError::Malformed { name, reason } => invalid(&name, reason),
    })
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, SimResponse> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(name))
}

fn json_param(params: &Params, name: &str) -> Result<Option<Value>, SimResponse> {
    match params.get(name) {
        None => Ok(None),
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => Ok(Some(v)),
            Ok(_) => Err(invalid(name, "must be a JSON object")),
            Err(e) => Err(invalid(name, format!("not valid JSON: {e}"))),
        },
    }
}

fn required_json(params: &Params, name: &str) -> Result<Value, SimResponse> {
    json_param(params, name)?.ok_or_else(|| missing(name))
}

fn int_param(
    params: &Params,
    name: &str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, SimResponse> {
    match params.get(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(invalid(
                name,
                format!("{raw:?} must be an integer in [{min}, {max}]"),
            )),
        },
    }
}

fn disk_size(value: &Value, path: &str) -> Result<(), SimResponse> {
    if value.is_null() {
        return Ok(());
    }
    match value.as_u64() {
        Some(size) if size >= 20 && size % 10 == 0 => Ok(()),
        _ => Err(bad_request(format!(
            "{path} must be an integer of at least 20 and a multiple of 10, got {value}"
        ))),
    }
}

/// The `ScalingGroup` rules; `creating` also requires what a create needs.
fn check_scaling_group(group: &Value, creating: bool) -> Result<(), SimResponse> {
    let non_empty_list = |key: &str| {
        group[key]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
    };
    if creating {
        if group["ImageId"].as_str().is_none_or(|s| s.is_empty()) {
            return Err(bad_request("ScalingGroup.ImageId is required"));
        }
        for key in ["InstanceTypes", "VswitchIds"] {
            if !non_empty_list(key) {
                return Err(bad_request(format!(
                    "ScalingGroup.{key} must be a non-empty list of strings"
                )));
            }
        }
        if group["KeyPairName"].as_str().is_none_or(str::is_empty)
            && group["Password"].as_str().is_none_or(str::is_empty)
        {
            return Err(bad_request("ScalingGroup needs KeyPairName or Password"));
        }
    } else {
        for key in ["InstanceTypes", "VswitchIds"] {
            if !group[key].is_null() && !non_empty_list(key) {
                return Err(bad_request(format!(
                    "ScalingGroup.{key} must be a non-empty list of strings"
                )));
            }
        }
    }
    if let Some(t) = group.get("InstanceChargeType")
        && !matches!(t.as_str(), Some("PostPaid" | "PrePaid"))
    {
        return Err(bad_request(format!(
            "ScalingGroup.InstanceChargeType must be PostPaid or PrePaid, got {t}"
        )));
    }
    if let Some(c) = group.get("SystemDiskCategory")
        && !matches!(
            c.as_str(),
            Some("local_ssd" | "local_hdd" | "cloud_efficiency" | "cloud_ssd")
        )
    {
        return Err(bad_request(format!(
            "ScalingGroup.SystemDiskCategory must be one of local_ssd, local_hdd, cloud_efficiency, cloud_ssd, got {c}"
        )));
    }
    disk_size(&group["SystemDiskSize"], "ScalingGroup.SystemDiskSize")?;
    if let Some(disks) = group.get("DataDisks") {
        let disks = disks
            .as_array()
            .ok_or_else(|| bad_request("ScalingGroup.DataDisks must be a list"))?;
        for (i, disk) in disks.iter().enumerate() {
            disk_size(&disk["Size"], &format!("ScalingGroup.DataDisks[{i}].Size"))?;
        }
    }
    if let Some(size) = group.get("DesiredSize")
        && size.as_u64().is_none_or(|n| n > 1000)
    {
        return Err(bad_request(format!(
            "ScalingGroup.DesiredSize must be an integer in [0, 1000], got {size}"
        )));
    }
    Ok(())
}

fn check_kubernetes_config(config: &Value) -> Result<(), SimResponse> {
    for key in ["PreUserData", "UserData"] {
        if let Some(v) = config.get(key) {
            let valid = v
                .as_str()
                .is_some_and(|s| base64::engine::general_purpose::STANDARD.decode(s).is_ok());
            if !valid {
                return Err(bad_request(format!(
                    "KubernetesConfig.{key} must be Base64"
                )));
            }
        }
    }
    Ok(())
}

fn create(
    sim: &Sim,
    req: &Incoming,
    account: usize,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    let cluster_id = required(params, "ClusterId")?;
    let info = required_json(params, "NodepoolInfo")?;
    let name = info["Name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| missing("NodepoolInfo.Name"))?;
    if name.chars().count() > 128 || name.chars().any(char::is_whitespace) {
        return Err(bad_request(
            "NodepoolInfo.Name must be 1 to 128 characters without spaces",
        ));
    }
    let group = required_json(params, "ScalingGroup")?;
    check_scaling_group(&group, true)?;
    let kubernetes_config = json_param(params, "KubernetesConfig")?.unwrap_or_else(|| json!({}));
    check_kubernetes_config(&kubernetes_config)?;
    let desired = group["DesiredSize"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0);
    let flavor = group["InstanceTypes"][0]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let mut world = sim.world(req.instant);
    let cluster = world.ens.cluster_mut(cluster_id, account)?;
    let id = format!("np{}", uuid::Uuid::new_v4().simple());
    cluster.pools.push(Pool {
        id: id.clone(),
        name: name.to_owned(),
        scaling_group: group,
        kubernetes_config,
        nodes: NodeSet::new(flavor, "i-"),
        deleting: false,
    });
    world.set_target(&sim.config, Cloud::Ens, &id, desired, req.instant);
    let cluster = world.ens.cluster(cluster_id, account)?;
    let pool = cluster
        .pools
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(|| pool_not_found(&id))?;
    Ok(ok(
        json!({"Nodepool": render_pool(cluster_id, &cluster.region, pool)}),
    ))
}

fn describe_pools(
    sim: &Sim,
    req: &Incoming,
    account: usize,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    let cluster_id = required(params, "ClusterId")?;
    let page_number = int_param(params, "PageNumber", 1, 1, u32::MAX)?;
    let page_size = int_param(params, "PageSize", 10, 1, 100)?;
    let world = sim.world(req.instant);
    let cluster = world.ens.cluster(cluster_id, account)?;
    let start = (page_number as usize - 1).saturating_mul(page_size as usize);
    let pools: Vec<Value> = cluster
        .pools
        .iter()
        .skip(start)
        .take(page_size as usize)
        .map(|p| render_pool(cluster_id, &cluster.region, p))
        .collect();
    Ok(ok(json!({
        "Page": {"PageNumber": page_number, "PageSize": page_size, "TotalCount": cluster.pools.len()},
        "NodePools": pools,
    })))
}

fn body_param(params: &Params) -> Result<Value, SimResponse> {
    required_json(params, "Body")
}

fn scale(
    sim: &Sim,
    req: &Incoming,
    account: usize,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    let cluster_id = required(params, "ClusterId")?;
    let pool_id = required(params, "NodepoolId")?;
    let body = body_param(params)?;
    let count = body["Count"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n <= 1000)
        .ok_or_else(|| bad_request("Body.Count must be an integer in [0, 1000]"))?;
    let mut world = sim.world(req.instant);
    let cluster = world.ens.cluster(cluster_id, account)?;
    let pool = cluster
        .pools
        .iter()
        .find(|p| p.id == pool_id)
        .ok_or_else(|| pool_not_found(pool_id))?;
    if pool.deleting {
        return Err(bad_request(format!("node pool {pool_id} is being deleted")));
    }
    let current = pool.nodes.counts().live();
    if count <= current {
        return Err(bad_request(format!(
            "Body.Count {count} must be greater than the current number of nodes ({current}); ScaleClusterNodePool only scales out, use DeleteClusterNodes to scale in"
        )));
    }
    world.set_target(&sim.config, Cloud::Ens, pool_id, count, req.instant);
    Ok(ok(json!({})))
}

fn delete_nodes(
    sim: &Sim,
    req: &Incoming,
    account: usize,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    let cluster_id = required(params, "ClusterId")?;
    let body = body_param(params)?;
    let nodes: Vec<String> = body["Nodes"]
        .as_array()
        .filter(|a| !a.is_empty())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .ok_or_else(|| bad_request("Body.Nodes must be a non-empty list of instance ids"))?;
    if let Some(release) = params.get("ReleaseNode")
        && !matches!(release.as_str(), "true" | "false")
    {
        return Err(invalid("ReleaseNode", "must be true or false"));
    }
    let mut world = sim.world(req.instant);
    let cluster = world.ens.cluster_mut(cluster_id, account)?;
    let known = |id: &String| {
        cluster
            .pools
            .iter()
            .any(|p| p.nodes.nodes.iter().any(|n| &n.id == id))
    };
    if let Some(unknown) = nodes.iter().find(|id| !known(id)) {
        return Err(bad_request(format!(
            "node {unknown} is not in cluster {cluster_id}"
        )));
    }
    for pool in &mut cluster.pools {
        pool.nodes.delete_nodes(
            &nodes
                .iter()
                .filter(|id| pool.nodes.nodes.iter().any(|n| &n.id == *id))
                .cloned()
                .collect::<Vec<_>>(),
            req.instant,
            &sim.config.timing,
        );
    }
    Ok(ok(json!({})))
}

fn describe_nodes(
    sim: &Sim,
    req: &Incoming,
    account: usize,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    let cluster_id = required(params, "ClusterId")?;
    let pool_filter = params.get("NodepoolId");
    let page_number = int_param(params, "PageNumber", 1, 1, u32::MAX)?;
    let page_size = int_param(params, "PageSize", 10, 1, 100)?;
    let world = sim.world(req.instant);
    let cluster = world.ens.cluster(cluster_id, account)?;
    if let Some(id) = pool_filter
        && !cluster.pools.iter().any(|p| &p.id == id)
    {
        return Err(pool_not_found(id));
    }
    let nodes: Vec<Value> = cluster
        .pools
        .iter()
        .filter(|p| pool_filter.is_none_or(|id| &p.id == id))
        .flat_map(|p| {
            p.nodes.nodes.iter().map(|n| {
                json!({
                    "InstanceId": n.id,
                    "NodepoolId": p.id,
                    "InstanceType": p.nodes.flavor,
                    "EnsRegionId": cluster.region,
                    "CreationTime": n.created_at.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                    "State": match n.state {
                        NodeState::Creating => "initial",
                        NodeState::Running => "running",
                        NodeState::Deleting => "removing",
                    },
                })
            })
        })
        .collect();
    let total = nodes.len();
    let start = (page_number as usize - 1).saturating_mul(page_size as usize);
    let page: Vec<Value> = nodes
        .into_iter()
        .skip(start)
        .take(page_size as usize)
        .collect();
    Ok(ok(json!({
        "Page": {"PageNumber": page_number, "PageSize": page_size, "TotalCount": total},
        "Nodes": page,
    })))
}

fn modify(
    sim: &Sim,
    req: &Incoming,
    account: usize,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    let cluster_id = required(params, "ClusterId")?;
    let info = required_json(params, "NodepoolInfo")?;
    let pool_id = info["NodepoolId"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| missing("NodepoolInfo.NodepoolId"))?;
    let group = json_param(params, "ScalingGroup")?;
    if let Some(group) = &group {
        if group.get("DesiredSize").is_some() {
            return Err(bad_request(
                "ScalingGroup.DesiredSize cannot be modified; use ScaleClusterNodePool or DeleteClusterNodes",
            ));
        }
        check_scaling_group(group, false)?;
    }
    let kubernetes_config = json_param(params, "KubernetesConfig")?;
    if let Some(config) = &kubernetes_config {
        check_kubernetes_config(config)?;
    }
    let mut world = sim.world(req.instant);
    let cluster = world.ens.cluster_mut(cluster_id, account)?;
    let pool = cluster
        .pools
        .iter_mut()
        .find(|p| p.id == pool_id)
        .ok_or_else(|| pool_not_found(pool_id))?;
    if pool.deleting {
        return Err(bad_request(format!("node pool {pool_id} is being deleted")));
    }
    if let (Some(updates), Some(stored)) = (
        group.as_ref().and_then(Value::as_object),
        pool.scaling_group.as_object_mut(),
    ) {
        for (key, value) in updates {
            stored.insert(key.clone(), value.clone());
        }
    }
    if let Some(config) = kubernetes_config {
        pool.kubernetes_config = config;
    }
    if let Some(flavor) = pool.scaling_group["InstanceTypes"][0].as_str() {
        pool.nodes.flavor = flavor.to_owned();
    }
    Ok(ok(json!({})))
}

fn delete_pool(
    sim: &Sim,
    req: &Incoming,
    account: usize,
    params: &Params,
) -> Result<SimResponse, SimResponse> {
    let cluster_id = required(params, "ClusterId")?;
    let pool_id = required(params, "NodepoolId")?;
    let mut world = sim.world(req.instant);
    let cluster = world.ens.cluster_mut(cluster_id, account)?;
    let pool = cluster
        .pools
        .iter_mut()
        .find(|p| p.id == pool_id)
        .ok_or_else(|| pool_not_found(pool_id))?;
    if !pool.deleting {
        pool.deleting = true;
        pool.nodes.delete_all(req.instant, &sim.config.timing);
    }
    Ok(ok(json!({})))
}
