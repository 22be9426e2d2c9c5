//! CCE v3 node pools: `/api/v3/projects/{project_id}/clusters/{cluster_id}/nodepools[/{id}]`
//! and `/api/v3/projects/{project_id}/jobs/{job_id}`.
//!
//! Pools keep the JSON the client sent (plus what the server adds: `metadata.uid`, timestamps,
//! `spec.type`, the `cce.cloud.com/cce-nodepool` label), so answers echo requests the way the
//! real API does. Counts and `phase` are computed from the provisioning clock at each read.

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

fn list(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    cluster: &str,
) -> Result<SimResponse, SimResponse> {
    let show_default = req
        .query_pairs()
        .iter()
        .any(|(k, v)| k == "showDefaultNodePool" && v == "true");
    let world = sim.world(req.instant);
    let pools = world
        .cce
        .pools(project, cluster)
        .ok_or_else(|| not_found(&format!("cluster {cluster}")))?;
    let items: Vec<Value> = pools
        .iter()
        .filter(|p| show_default || !p.default)
        .map(render)
        .collect();
    Ok(SimResponse::json(
        StatusCode::OK,
        &json!({"kind": "List", "apiVersion": "v3", "items": items}),
    ))
}

fn create(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    cluster: &str,
) -> Result<SimResponse, SimResponse> {
    let mut body = parse_body(req)?;
    // The wire type is the schema: a request it cannot read is malformed.
    serde_path_to_error::deserialize::<_, wire::NodePool>(body.clone()).map_err(|e| {
        invalid(format!(
            "The request body does not match the NodePool schema: {e}"
        ))
    })?;
    if body["kind"] != "NodePool" {
        return Err(invalid("kind: must be NodePool"));
    }
    if body["apiVersion"] != "v3" {
        return Err(invalid("apiVersion: must be v3"));
    }
    let name = body["metadata"]["name"]
        .as_str()
        .ok_or_else(|| invalid("metadata.name: required"))?
        .to_owned();
    validate::pool_name(&name).map_err(invalid)?;
    let spec = &body["spec"];
    if !spec.is_object() {
        return Err(invalid("spec: required"));
    }
    if !spec["nodeTemplate"].is_object() {
        return Err(invalid("spec.nodeTemplate: required"));
    }
    validate::node_template(&spec["nodeTemplate"], true).map_err(invalid)?;
    validate::autoscaling(&spec["autoscaling"]).map_err(invalid)?;
    let count = validate::node_count(
        &spec["initialNodeCount"],
        "spec.initialNodeCount",
        CLUSTER_MAX_NODES,
    )
    .map_err(invalid)?
    .ok_or_else(|| invalid("spec.initialNodeCount: required"))?;
    if let Some(t) = spec["type"].as_str()
        && !["vm", "ElasticBMS", "pm"].contains(&t)
    {
        return Err(invalid(format!(
            "spec.type: {t:?} is not one of vm, ElasticBMS, pm"
        )));
    }

    let mut world = sim.world(req.instant);
    let pools = world
        .cce
        .pools(project, cluster)
        .ok_or_else(|| not_found(&format!("cluster {cluster}")))?;
    if pools.iter().any(|p| pool_name(&p.body) == name) {
        return Err(error(
            StatusCode::CONFLICT,
            "CCE.01409001",
            format!("The node pool name {name} already exists in cluster {cluster}."),
        ));
    }

    let uid = uuid::Uuid::new_v4().to_string();
    let now = cce_timestamp(req.now);
    body["metadata"]["uid"] = json!(uid);
    body["metadata"]["creationTimestamp"] = json!(now);
    body["metadata"]["updateTimestamp"] = json!(now);
    if body["spec"]["type"].is_null() {
        body["spec"]["type"] = json!("vm");
    }
    let template = &mut body["spec"]["nodeTemplate"];
    if !template["k8sTags"].is_object() {
        template["k8sTags"] = json!({});
    }
    template["k8sTags"][POOL_LABEL] = json!(name);
    let flavor = template["flavor"].as_str().unwrap_or_default().to_owned();
    let target = bounded_target(&body["spec"], count);
    let created = Pool {
        uid: uid.clone(),
        body,
        nodes: NodeSet::new(flavor, "node-"),
        deleting: false,
        job_id: None,
        default: false,
    };
    // The create answer shows the pool before any node exists, as the API documents.
    let mut answer = created.body.clone();
    answer["status"] = json!({"currentNode": 0, "creatingNode": 0, "deletingNode": 0, "phase": ""});
    if let Some(pools) = world
        .cce
        .clusters
        .get_mut(&(project.to_owned(), cluster.to_owned()))
    {
        pools.push(created);
    }
    world.set_target(&sim.config, Cloud::Cce, &uid, target, req.instant);
    Ok(SimResponse::json(StatusCode::CREATED, &answer))
}

fn update(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    cluster: &str,
    uid: &str,
) -> Result<SimResponse, SimResponse> {
    let body = parse_body(req)?;
    serde_path_to_error::deserialize::<_, wire::NodePool>(body.clone()).map_err(|e| {
        invalid(format!(
            "The request body does not match the NodePool schema: {e}"
        ))
    })?;
    let spec = &body["spec"];
    let template = &spec["nodeTemplate"];
    if !template.is_null() {
        validate::node_template(template, false).map_err(invalid)?;
    }
    validate::autoscaling(&spec["autoscaling"]).map_err(invalid)?;
    let declared = validate::node_count(
        &spec["initialNodeCount"],
        "spec.initialNodeCount",
        CLUSTER_MAX_NODES,
    )
    .map_err(invalid)?;
    let ignore_count = spec["ignoreInitialNodeCount"].as_bool() == Some(true);
    let new_name = body["metadata"]["name"].as_str().map(str::to_owned);
    if let Some(name) = &new_name {
        validate::pool_name(name).map_err(invalid)?;
    }

    let mut world = sim.world(req.instant);
    let pools = world
        .cce
        .pools(project, cluster)
        .ok_or_else(|| not_found(&format!("cluster {cluster}")))?;
    if let Some(name) = &new_name
        && pools
            .iter()
            .any(|p| p.uid != uid && pool_name(&p.body) == name)
    {
        return Err(error(
            StatusCode::CONFLICT,
            "CCE.01409001",
            format!("The node pool name {name} already exists in cluster {cluster}."),
        ));
    }
    let pool = world.cce.pool_mut(project, cluster, uid)?;
    if pool.deleting || pool.default {
        return Err(invalid(format!(
            "node pool {uid} cannot be updated: it is being deleted or is the default pool"
        )));
    }
    let stored = &mut pool.body;
    for fixed in ["flavor", "az"] {
        if let Some(new) = template[fixed].as_str()
            && stored["spec"]["nodeTemplate"][fixed].as_str() != Some(new)
        {
            return Err(invalid(format!(
                "spec.nodeTemplate.{fixed}: cannot be changed after creation"
            )));
        }
    }
    if let Some(name) = &new_name {
        stored["metadata"]["name"] = json!(name);
    }
    // Absent means unchanged; an empty list or map removes every entry.
    if let Some(updates) = template.as_object() {
        for (key, value) in updates {
            if matches!(key.as_str(), "flavor" | "az") {
                continue;
            }
            stored["spec"]["nodeTemplate"][key] = value.clone();
        }
    }
    let name = pool_name(stored).to_owned();
    let tags = &mut stored["spec"]["nodeTemplate"]["k8sTags"];
    if !tags.is_object() {
        *tags = json!({});
    }
    tags[POOL_LABEL] = json!(name);
    for section in [
        "autoscaling",
        "nodeManagement",
        "customSecurityGroups",
        "podSecurityGroups",
    ] {
        if !spec[section].is_null() {
            stored["spec"][section] = spec[section].clone();
        }
    }
    // The update trap: without initialNodeCount and without ignoreInitialNodeCount the
    // target count becomes 0.
    let count = if ignore_count {
        None
    } else {
        let count = declared.unwrap_or(0);
        stored["spec"]["initialNodeCount"] = json!(count);
        Some(count)
    };
    stored["metadata"]["updateTimestamp"] = json!(cce_timestamp(req.now));
    let target = count.map(|c| bounded_target(&stored["spec"], c));
    let current_target = pool.nodes.target;
    let target = target.unwrap_or_else(|| bounded_target(&pool.body["spec"], current_target));
    world.set_target(&sim.config, Cloud::Cce, uid, target, req.instant);
    let pool = world.cce.pool(project, cluster, uid)?;
    Ok(SimResponse::json(StatusCode::OK, &render(pool)))
}

fn delete(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    cluster: &str,
    uid: &str,
) -> Result<SimResponse, SimResponse> {
    let mut world = sim.world(req.instant);
    let pool = world.cce.pool_mut(project, cluster, uid)?;
    if pool.default {
        return Err(invalid("The default node pool cannot be deleted."));
    }
    if !pool.deleting {
        pool.deleting = true;
        pool.nodes.delete_all(req.instant, &sim.config.timing);
        let job = uuid::Uuid::new_v4().to_string();
        pool.job_id = Some(job.clone());
        let record = Job {
            uid: job.clone(),
            project: project.to_owned(),
            cluster: cluster.to_owned(),
            pool_uid: uid.to_owned(),
            pool_name: pool_name(&pool.body).to_owned(),
            created: req.now,
        };
        world.cce.jobs.insert(job, record);
    }
    let pool = world.cce.pool(project, cluster, uid)?;
    // The answer shows the pool with phase Deleting even when its nodes are already gone.
    Ok(SimResponse::json(StatusCode::OK, &render(pool)))
}

fn scale(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    cluster: &str,
    uid: &str,
) -> Result<SimResponse, SimResponse> {
    let body = parse_body(req)?;
    let desired = validate::node_count(
        &body["spec"]["desiredNodeCount"],
        "spec.desiredNodeCount",
        CLUSTER_MAX_NODES,
    )
    .map_err(invalid)?
    .ok_or_else(|| invalid("spec.desiredNodeCount: required"))?;
    let mut world = sim.world(req.instant);
    let pool = world.cce.pool_mut(project, cluster, uid)?;
    if pool.deleting {
        return Err(invalid(format!("node pool {uid} is being deleted")));
    }
    pool.body["spec"]["initialNodeCount"] = json!(desired);
    world.set_target(&sim.config, Cloud::Cce, uid, desired, req.instant);
    Ok(SimResponse::json(StatusCode::OK, &json!({})))
}

fn get_job(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    job_id: &str,
) -> Result<SimResponse, SimResponse> {
    let world = sim.world(req.instant);
    let job = world
        .cce
        .jobs
        .get(job_id)
        .filter(|j| j.project == project)
        .ok_or_else(|| not_found(&format!("job {job_id}")))?;
    let pool_still_there = world
        .cce
        .pools(&job.project, &job.cluster)
        .is_some_and(|pools| pools.iter().any(|p| p.uid == job.pool_uid));
    let phase = if pool_still_there {
        "Running"
    } else {
        "Success"
    };
    let created = cce_timestamp(job.created);
    Ok(SimResponse::json(
        StatusCode::OK,
        &json!({
            "kind": "Job",
            "apiVersion": "v3",
            "metadata": {"uid": job.uid, "creationTimestamp": created, "updateTimestamp": cce_timestamp(req.now)},
            "spec": {
                "type": "DeleteNodepool",
                "clusterUID": job.cluster,
                "resourceID": job.pool_uid,
                "resourceName": job.pool_name,
            },
            "status": {"phase": phase, "reason": ""},
        }),
    ))
}
