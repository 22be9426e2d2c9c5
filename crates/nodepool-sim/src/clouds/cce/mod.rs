//! CCE v3 node pools: `/api/v3/projects/{project_id}/clusters/{cluster_id}/nodepools[/{id}]`
//! and `/api/v3/projects/{project_id}/jobs/{job_id}`.
//!
//! Pools keep the JSON the client sent (plus what the server adds: `metadata.uid`, timestamps,
//! `spec.type`, the `cce.cloud.com/cce-nodepool` label), so answers echo requests the way the
//! real API does. Counts and `phase` are computed from the provisioning clock at each read.

mod actions;
mod validate;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use http::StatusCode;
use serde_json::{Value, json};

use super::cce_timestamp;
use crate::Sim;
use crate::admin::PoolView;
use crate::auth::Principal;
use crate::config::SimConfig;
use crate::dispatch::Incoming;
use crate::provision::NodeSet;
use crate::request::Cloud;
use crate::response::SimResponse;
use crate::route::CceOp;
use nodepool_wire::cce as wire;

use actions::*;

/// Label CCE adds to every pool's `k8sTags`.
pub const POOL_LABEL: &str = "cce.cloud.com/cce-nodepool";
/// Largest node count a cluster accepts in one pool.
const CLUSTER_MAX_NODES: u32 = 1000;

#[derive(Debug)]
struct Pool {
    uid: String,
    /// The pool as the API renders it, without `status`.
    body: Value,
    nodes: NodeSet,
    deleting: bool,
    job_id: Option<String>,
    /// The cluster's default pool, hidden from lists unless `showDefaultNodePool=true`.
    default: bool,
}

#[derive(Debug)]
struct Job {
    uid: String,
    project: String,
    cluster: String,
    pool_uid: String,
    pool_name: String,
    created: DateTime<Utc>,
}

#[derive(Debug, Default)]
pub struct CceState {
    /// (project id, cluster id) -> pools in creation order.
    clusters: BTreeMap<(String, String), Vec<Pool>>,
    jobs: HashMap<String, Job>,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> SimResponse {
    SimResponse::cce_error(status, code, message)
}

fn invalid(message: impl Into<String>) -> SimResponse {
    error(StatusCode::BAD_REQUEST, "CCE.01400001", message)
}

fn not_found(what: &str) -> SimResponse {
    error(
        StatusCode::NOT_FOUND,
        "CCE.01404001",
        format!("Resource not found: {what}"),
    )
}

impl CceState {
    pub fn new(config: &SimConfig) -> Self {
        let mut state = Self::default();
        for account in &config.huawei {
            for project in &account.projects {
                for cluster in &project.cce_clusters {
                    let default_pool = Pool {
                        uid: format!("{cluster}-defaultpool"),
                        body: json!({
                            "kind": "NodePool",
                            "apiVersion": "v3",
                            "metadata": {"name": "DefaultPool", "uid": format!("{cluster}-defaultpool")},
                            "spec": {"type": "vm", "initialNodeCount": 0, "nodeTemplate": {}},
                        }),
                        nodes: NodeSet::new("", "default-"),
                        deleting: false,
                        job_id: None,
                        default: true,
                    };
                    state
                        .clusters
                        .insert((project.id.clone(), cluster.clone()), vec![default_pool]);
                }
            }
        }
        state
    }

    pub fn node_sets(&self) -> impl Iterator<Item = &NodeSet> {
        self.clusters.values().flatten().map(|p| &p.nodes)
    }

    pub fn node_sets_mut(&mut self) -> impl Iterator<Item = &mut NodeSet> {
        self.clusters.values_mut().flatten().map(|p| &mut p.nodes)
    }

    pub fn node_set(&self, uid: &str) -> Option<&NodeSet> {
        self.clusters
            .values()
            .flatten()
            .find(|p| p.uid == uid)
            .map(|p| &p.nodes)
    }

    pub fn node_set_mut(&mut self, uid: &str) -> Option<&mut NodeSet> {
        self.clusters
            .values_mut()
            .flatten()
            .find(|p| p.uid == uid)
            .map(|p| &mut p.nodes)
    }

    /// Pools whose deletion finished leave the API (later reads answer 404).
    pub fn remove_deleted(&mut self) {
        for pools in self.clusters.values_mut() {
            pools.retain(|p| !(p.deleting && p.nodes.is_empty()));
        }
    }

    pub fn views(&self) -> Vec<PoolView> {
        self.clusters
            .iter()
            .flat_map(|((_, cluster), pools)| {
                pools.iter().filter(|p| !p.default).map(move |p| {
                    let counts = p.nodes.counts();
                    PoolView {
                        cloud: Cloud::Cce,
                        id: p.uid.clone(),
                        name: pool_name(&p.body).to_owned(),
                        parent: cluster.clone(),
                        desired: p.nodes.target,
                        current: counts.live(),
                        creating: counts.creating,
                        deleting: counts.deleting,
                        state: phase(p).to_owned(),
                        shortfall: p.nodes.shortfall,
                    }
                })
            })
            .collect()
    }

    fn pools(&self, project: &str, cluster: &str) -> Option<&Vec<Pool>> {
        self.clusters.get(&(project.to_owned(), cluster.to_owned()))
    }

    fn pool(&self, project: &str, cluster: &str, uid: &str) -> Result<&Pool, SimResponse> {
        let pools = self
            .pools(project, cluster)
            .ok_or_else(|| not_found(&format!("cluster {cluster}")))?;
        pools
            .iter()
            .find(|p| p.uid == uid)
            .ok_or_else(|| not_found(&format!("node pool {uid}")))
    }

    fn pool_mut(
        &mut self,
        project: &str,
        cluster: &str,
        uid: &str,
    ) -> Result<&mut Pool, SimResponse> {
        let pools = self
            .clusters
            .get_mut(&(project.to_owned(), cluster.to_owned()))
            .ok_or_else(|| not_found(&format!("cluster {cluster}")))?;
        pools
            .iter_mut()
            .find(|p| p.uid == uid)
            .ok_or_else(|| not_found(&format!("node pool {uid}")))
    }
}

fn pool_name(body: &Value) -> &str {
    body["metadata"]["name"].as_str().unwrap_or_default()
}

fn phase(pool: &Pool) -> &'static str {
    let counts = pool.nodes.counts();
    if pool.deleting {
        "Deleting"
    } else if pool.nodes.shortfall > 0 {
        "SoldOut"
    } else if counts.creating > 0 || counts.deleting > 0 {
        "Synchronizing"
    } else {
        ""
    }
}

/// The pool with its current status.
fn render(pool: &Pool) -> Value {
    let counts = pool.nodes.counts();
    let mut status = json!({
        "currentNode": counts.live(),
        "creatingNode": counts.creating,
        "deletingNode": counts.deleting,
        "phase": phase(pool),
    });
    if let Some(job) = &pool.job_id {
        status["jobId"] = json!(job);
    }
    if pool.nodes.shortfall > 0 {
        let message = format!(
            "flavor {} is sold out: {} of the requested nodes cannot be created",
            pool.nodes.flavor, pool.nodes.shortfall
        );
        status["conditions"] = json!([
            {"type": "Scalable", "status": "False", "reason": "ResourceInsufficient", "message": message},
            {"type": "ResourceInsufficient", "status": "True", "reason": "SoldOut", "message": message},
        ]);
    }
    let mut body = pool.body.clone();
    body["status"] = status;
    body
}

/// The node count the pool aims at: the declared count, kept within the autoscaler's bounds
/// when autoscaling is on.
fn bounded_target(spec: &Value, count: u32) -> u32 {
    let autoscaling = &spec["autoscaling"];
    if autoscaling["enable"].as_bool() != Some(true) {
        return count;
    }
    let as_u32 = |v: &Value| v.as_u64().and_then(|n| u32::try_from(n).ok());
    let min = as_u32(&autoscaling["minNodeCount"]).unwrap_or(0);
    let max = as_u32(&autoscaling["maxNodeCount"]).unwrap_or(u32::MAX);
    count.clamp(min, max.max(min))
}

pub fn handle(sim: &Sim, req: &Incoming, op: &CceOp, _principal: &Principal) -> SimResponse {
    let result = match op {
        CceOp::List { project, cluster } => list(sim, req, project, cluster),
        CceOp::Create { project, cluster } => create(sim, req, project, cluster),
        CceOp::Get {
            project,
            cluster,
            id,
        } => {
            let world = sim.world(req.instant);
            world
                .cce
                .pool(project, cluster, id)
                .map(|p| SimResponse::json(StatusCode::OK, &render(p)))
        }
        CceOp::Update {
            project,
            cluster,
            id,
        } => update(sim, req, project, cluster, id),
        CceOp::Delete {
            project,
            cluster,
            id,
        } => delete(sim, req, project, cluster, id),
        CceOp::Scale {
            project,
            cluster,
            id,
        } => scale(sim, req, project, cluster, id),
        CceOp::Job { project, job } => get_job(sim, req, project, job),
    };
    result.unwrap_or_else(|response| response)
}

fn parse_body(req: &Incoming) -> Result<Value, SimResponse> {
    let value: Value = serde_json::from_slice(&req.body)
        .map_err(|e| invalid(format!("The request body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(invalid("The request body must be a JSON object."));
    }
    Ok(value)
}
