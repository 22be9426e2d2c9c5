//! Alibaba Cloud ENS (2017-11-10) cluster node-pool actions over RPC: `POST /` with every
//! parameter in the query string (or a form body), nested objects as one parameter holding a
//! JSON string (`NodepoolInfo={"Name":"p1"}`).
//!
//! There is no single-pool read: clients list with `DescribeClusterNodePools` (paged) and
//! filter. Scale-out sends the new total (`ScaleClusterNodePool`, `Body={"Count":N}`, which must
//! exceed the current count); scale-in removes chosen nodes (`DeleteClusterNodes`).

mod actions;
mod validate;

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

use actions::*;
use validate::*;

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

const ANSWERED_SCALING_GROUP_KEYS: [&str; 9] = [
    "VswitchIds",
    "DataDisks",
    "InstanceChargeType",
    "InstanceTypes",
    "SystemDiskCategory",
    "SystemDiskSize",
    "ImageId",
    "KeyPairName",
    "Password",
];

fn render_pool(cluster_id: &str, region: &str, pool: &Pool) -> Value {
    let counts = pool.nodes.counts();
    // The answer's ScalingGroup holds the template alone (CreateClusterNodePool's documented
    // response, and the SDK's model): the size is reported as Status.DesiredNodes.
    let mut scaling_group = serde_json::Map::new();
    for key in ANSWERED_SCALING_GROUP_KEYS {
        if let Some(value) = pool.scaling_group.get(key) {
            scaling_group.insert(key.to_owned(), value.clone());
        }
    }
    if scaling_group.contains_key("Password") {
        scaling_group.insert("Password".to_owned(), json!("**********"));
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
        ..Notes::default()
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
