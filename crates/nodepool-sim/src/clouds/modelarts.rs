//! ModelArts v2 node pools: `/v2/{project_id}/pools/{pool_name}/nodepools[/{nodepool_name}]`.
//!
//! Create answers 200 (not 201) with the pool echoed and no status; PATCH is a JSON merge patch
//! (`application/merge-patch+json`, and `application/json` as the SDKs send it). Status has no
//! phase: `status.resources` holds `creating`, `available`, `abnormal` and `deleting` buckets,
//! rendered as objects or arrays as configured.
//!
//! One file for the whole simulated ModelArts API: its state, routes and checks share private
//! types, and the API is small enough to read in one piece.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use http::StatusCode;
use regex::Regex;
use serde_json::{Value, json};

use crate::Sim;
use crate::admin::PoolView;
use crate::auth::Principal;
use crate::config::{BucketForm, SimConfig};
use crate::dispatch::Incoming;
use crate::provision::NodeSet;
use crate::request::Cloud;
use crate::response::SimResponse;
use crate::route::ModelArtsOp;
use nodepool_wire::modelarts as wire;

static NODE_POOL_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z][a-z0-9-]{0,48}[a-z0-9]$").ok());

#[derive(Debug)]
struct Pool {
    name: String,
    /// The pool as rendered, without `status`.
    body: Value,
    nodes: NodeSet,
    deleting: bool,
}

#[derive(Debug, Default)]
pub struct ModelArtsState {
    /// (project id, resource pool name) -> node pools in creation order.
    pools: BTreeMap<(String, String), Vec<Pool>>,
}

fn invalid(message: impl Into<String>) -> SimResponse {
    SimResponse::modelarts_error(
        StatusCode::BAD_REQUEST,
        "ModelArts.50004000",
        format!("Bad request. {}", message.into()),
    )
}

fn not_found(what: impl Into<String>) -> SimResponse {
    SimResponse::modelarts_error(StatusCode::NOT_FOUND, "ModelArts.50015001", what)
}

/// A unique key for a node pool across resource pools (for `/_sim` endpoints).
fn pool_key(resource_pool: &str, name: &str) -> String {
    format!("{resource_pool}/{name}")
}

impl ModelArtsState {
    pub fn new(config: &SimConfig) -> Self {
        let mut state = Self::default();
        for account in &config.huawei {
            for project in &account.projects {
                for pool in &project.modelarts_pools {
                    state
                        .pools
                        .insert((project.id.clone(), pool.clone()), Vec::new());
                }
            }
        }
        state
    }

    pub fn node_sets(&self) -> impl Iterator<Item = &NodeSet> {
        self.pools.values().flatten().map(|p| &p.nodes)
    }

    pub fn node_sets_mut(&mut self) -> impl Iterator<Item = &mut NodeSet> {
        self.pools.values_mut().flatten().map(|p| &mut p.nodes)
    }

    /// `key` is `{resource pool}/{node pool}`.
    pub fn node_set(&self, key: &str) -> Option<&NodeSet> {
        self.pools
            .iter()
            .flat_map(|((_, rp), pools)| pools.iter().map(move |p| (rp, p)))
            .find(|(rp, p)| pool_key(rp, &p.name) == key)
            .map(|(_, p)| &p.nodes)
    }

    pub fn node_set_mut(&mut self, key: &str) -> Option<&mut NodeSet> {
        self.pools
            .iter_mut()
            .flat_map(|((_, rp), pools)| pools.iter_mut().map(move |p| (rp, p)))
            .find(|(rp, p)| pool_key(rp, &p.name) == key)
            .map(|(_, p)| &mut p.nodes)
    }

    pub fn remove_deleted(&mut self) {
        for pools in self.pools.values_mut() {
            pools.retain(|p| !(p.deleting && p.nodes.is_empty()));
        }
    }

    pub fn views(&self) -> Vec<PoolView> {
        self.pools
            .iter()
            .flat_map(|((_, resource_pool), pools)| {
                pools.iter().map(move |p| {
                    let counts = p.nodes.counts();
                    PoolView {
                        cloud: Cloud::ModelArts,
                        id: pool_key(resource_pool, &p.name),
                        name: p.name.clone(),
                        parent: resource_pool.clone(),
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

    fn resource_pool(&self, project: &str, pool: &str) -> Result<&Vec<Pool>, SimResponse> {
        self.pools
            .get(&(project.to_owned(), pool.to_owned()))
            .ok_or_else(|| not_found("pool not found"))
    }

    fn node_pool(&self, project: &str, pool: &str, name: &str) -> Result<&Pool, SimResponse> {
        self.resource_pool(project, pool)?
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| not_found(format!("nodepool {name} not found")))
    }

    fn node_pool_mut(
        &mut self,
        project: &str,
        pool: &str,
        name: &str,
    ) -> Result<&mut Pool, SimResponse> {
        self.pools
            .get_mut(&(project.to_owned(), pool.to_owned()))
            .ok_or_else(|| not_found("pool not found"))?
            .iter_mut()
            .find(|p| p.name == name)
            .ok_or_else(|| not_found(format!("nodepool {name} not found")))
    }
}

/// The simulator's one-word summary of a ModelArts pool (the API itself has no phase).
fn state_word(pool: &Pool) -> &'static str {
    let counts = pool.nodes.counts();
    if pool.deleting {
        "deleting"
    } else if pool.nodes.shortfall > 0 {
        "abnormal"
    } else if counts.creating > 0 {
        "creating"
    } else if counts.deleting > 0 {
        "scaling-in"
    } else {
        "available"
    }
}

fn render(pool: &Pool, form: BucketForm) -> Value {
    let counts = pool.nodes.counts();
    let flavor = pool.nodes.flavor.clone();
    let bucket = |count: u32| {
        let one = json!({"flavor": flavor, "count": count, "nodePool": pool.name});
        match form {
            BucketForm::Object => one,
            BucketForm::Array => json!([one]),
        }
    };
    let mut resources = serde_json::Map::new();
    for (key, count) in [
        ("creating", counts.creating),
        ("available", counts.running),
        ("abnormal", pool.nodes.shortfall),
        ("deleting", counts.deleting),
    ] {
        if count > 0 {
            resources.insert(key.into(), bucket(count));
        }
    }
    let mut body = pool.body.clone();
    // A read's metadata is the name alone (the SDK's `NodePoolMetadata`): annotations are
    // answered by create and patch only.
    body["metadata"] = json!({"name": pool.name});
    body["status"] = json!({"resources": resources});
    body
}

pub fn handle(sim: &Sim, req: &Incoming, op: &ModelArtsOp, _principal: &Principal) -> SimResponse {
    let form = sim.config.modelarts_bucket_form;
    let result = match op {
        ModelArtsOp::List { project, pool } => {
            let world = sim.world(req.instant);
            world.modelarts.resource_pool(project, pool).map(|pools| {
                let items: Vec<Value> = pools.iter().map(|p| render(p, form)).collect();
                SimResponse::json(
                    StatusCode::OK,
                    &json!({"apiVersion": "v2", "kind": "NodePoolList", "items": items}),
                )
            })
        }
        ModelArtsOp::Get {
            project,
            pool,
            name,
        } => {
            let world = sim.world(req.instant);
            world
                .modelarts
                .node_pool(project, pool, name)
                .map(|p| SimResponse::json(StatusCode::OK, &render(p, form)))
        }
        ModelArtsOp::Nodes {
            project,
            pool,
            name,
        } => {
            let world = sim.world(req.instant);
            world.modelarts.node_pool(project, pool, name).map(|p| {
                let items: Vec<Value> = p
                    .nodes
                    .nodes
                    .iter()
                    .map(|n| {
                        json!({
                            "kind": "Node",
                            "apiVersion": "v1",
                            "metadata": {"name": n.id, "creationTimestamp": n.created_at.to_rfc3339(),
                                         "labels": {"os.modelarts.node/nodepool": p.name}},
                            "spec": {"flavor": p.nodes.flavor},
                            "status": {"phase": match n.state {
                                crate::provision::NodeState::Creating => "Creating",
                                crate::provision::NodeState::Running => "Available",
                                crate::provision::NodeState::Deleting => "Deleting",
                            }},
                        })
                    })
                    .collect();
                SimResponse::json(StatusCode::OK, &json!({"kind": "NodeList", "apiVersion": "v1", "items": items}))
            })
        }
        ModelArtsOp::Create { project, pool } => create(sim, req, project, pool),
        ModelArtsOp::Patch {
            project,
            pool,
            name,
        } => patch(sim, req, project, pool, name),
        ModelArtsOp::Delete {
            project,
            pool,
            name,
        } => delete(sim, req, project, pool, name),
    };
    result.unwrap_or_else(|response| response)
}

fn parse_object(req: &Incoming) -> Result<Value, SimResponse> {
    let value: Value = serde_json::from_slice(&req.body)
        .map_err(|e| invalid(format!("invalid JSON body: {e}")))?;
    if !value.is_object() {
        return Err(invalid("the body must be a JSON object"));
    }
    Ok(value)
}

fn check_name(name: &str) -> Result<(), SimResponse> {
    let ok =
        NODE_POOL_NAME.as_ref().is_some_and(|re| re.is_match(name)) && !name.ends_with("-default");
    if ok {
        Ok(())
    } else {
        Err(invalid(format!(
            "invalid nodepool name {name:?}: 2 to 50 characters of lowercase letters, digits and hyphens, \
             starting with a letter, not ending with - or -default"
        )))
    }
}

/// `spec.resources` rules: flavor, count and maxCount present, `maxCount >= count`.
fn check_resources(resources: &Value) -> Result<(u32, String), SimResponse> {
    if !resources.is_object() {
        return Err(invalid("spec.resources is required"));
    }
    let flavor = resources["flavor"]
        .as_str()
        .filter(|f| !f.is_empty())
        .ok_or_else(|| invalid("spec.resources.flavor is required"))?;
    let count = resources["count"]
        .as_u64()
        .and_then(|c| u32::try_from(c).ok())
        .ok_or_else(|| {
            invalid("spec.resources.count is required and must be a non-negative integer")
        })?;
    let max_count = resources["maxCount"].as_u64().ok_or_else(|| {
        invalid("spec.resources.maxCount is required and must be a non-negative integer")
    })?;
    if max_count < u64::from(count) {
        return Err(invalid(format!(
            "spec.resources.maxCount {max_count} is less than count {count}"
        )));
    }
    if let Some(azs) = resources["azs"].as_array() {
        for (i, az) in azs.iter().enumerate() {
            if !az["az"].is_string() || !az["count"].is_u64() {
                return Err(invalid(format!(
                    "spec.resources.azs[{i}] needs az and count"
                )));
            }
        }
    }
    Ok((count, flavor.to_owned()))
}

fn create(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    resource_pool: &str,
) -> Result<SimResponse, SimResponse> {
    let mut body = parse_object(req)?;
    serde_path_to_error::deserialize::<_, wire::NodePool>(body.clone())
        .map_err(|e| invalid(format!("the body does not match the NodePool schema: {e}")))?;
    if body["kind"] != "NodePool" {
        return Err(invalid("kind must be NodePool"));
    }
    if body["apiVersion"] != "v2" {
        return Err(invalid("apiVersion must be v2"));
    }
    let name = body["metadata"]["name"]
        .as_str()
        .ok_or_else(|| invalid("metadata.name is required"))?
        .to_owned();
    check_name(&name)?;
    let (count, flavor) = check_resources(&body["spec"]["resources"])?;

    let mut world = sim.world(req.instant);
    let pools = world.modelarts.resource_pool(project, resource_pool)?;
    if pools.iter().any(|p| p.name == name) {
        return Err(invalid(format!("nodepool {name} already exists")));
    }
    if body["metadata"]["annotations"].is_null() {
        body["metadata"]["annotations"] = json!({});
    }
    crate::clouds::reorder_lists(
        &sim.config,
        &mut body,
        &["/spec/resources/taints", "/spec/resources/tags"],
    );
    let answer = body.clone();
    let created = Pool {
        name: name.clone(),
        body,
        nodes: NodeSet::new(flavor, "node-"),
        deleting: false,
    };
    if let Some(pools) = world
        .modelarts
        .pools
        .get_mut(&(project.to_owned(), resource_pool.to_owned()))
    {
        pools.push(created);
    }
    world.set_target(
        &sim.config,
        Cloud::ModelArts,
        &pool_key(resource_pool, &name),
        count,
        req.instant,
    );
    Ok(SimResponse::json(StatusCode::OK, &answer))
}

fn patch(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    resource_pool: &str,
    name: &str,
) -> Result<SimResponse, SimResponse> {
    let content_type = req
        .header("content-type")
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !(content_type.starts_with("application/merge-patch+json")
        || content_type.starts_with("application/json"))
    {
        return Err(SimResponse::modelarts_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "ModelArts.50004000",
            format!(
                "Bad request. unsupported content type {content_type:?}; use application/merge-patch+json"
            ),
        ));
    }
    let patch = parse_object(req)?;
    for key in patch.as_object().into_iter().flat_map(|o| o.keys()) {
        if !matches!(key.as_str(), "metadata" | "spec") {
            return Err(invalid(format!("field {key} cannot be patched")));
        }
    }
    if let Some(new_name) = patch["metadata"]["name"].as_str()
        && new_name != name
    {
        return Err(invalid("metadata.name cannot be changed"));
    }
    let mut world = sim.world(req.instant);
    let pool = world
        .modelarts
        .node_pool_mut(project, resource_pool, name)?;
    if pool.deleting {
        return Err(invalid(format!("nodepool {name} is being deleted")));
    }
    let mut updated = pool.body.clone();
    json_patch::merge(&mut updated, &patch);
    serde_path_to_error::deserialize::<_, wire::NodePool>(updated.clone()).map_err(|e| {
        invalid(format!(
            "the patched pool does not match the NodePool schema: {e}"
        ))
    })?;
    let (count, flavor) = check_resources(&updated["spec"]["resources"])?;
    if flavor != pool.nodes.flavor {
        return Err(invalid("spec.resources.flavor cannot be changed"));
    }
    let resources = &patch["spec"]["resources"];
    if resources.get("taints").is_some() || resources.get("tags").is_some() {
        crate::clouds::reorder_lists(
            &sim.config,
            &mut updated,
            &["/spec/resources/taints", "/spec/resources/tags"],
        );
    }
    pool.body = updated;
    let answer = json!({"metadata": {"annotations": pool.body["metadata"]["annotations"]}, "spec": pool.body["spec"]});
    world.set_target(
        &sim.config,
        Cloud::ModelArts,
        &pool_key(resource_pool, name),
        count,
        req.instant,
    );
    Ok(SimResponse::json(StatusCode::OK, &answer))
}

fn delete(
    sim: &Sim,
    req: &Incoming,
    project: &str,
    resource_pool: &str,
    name: &str,
) -> Result<SimResponse, SimResponse> {
    let mut world = sim.world(req.instant);
    let pool = world
        .modelarts
        .node_pool_mut(project, resource_pool, name)?;
    let prepaid = pool.body["metadata"]["annotations"]["os.modelarts/billing.mode"] == "1";
    if prepaid {
        return Err(invalid(
            "yearly/monthly node pools cannot be deleted; unsubscribe instead",
        ));
    }
    if !pool.deleting {
        pool.deleting = true;
        pool.nodes.delete_all(req.instant, &sim.config.timing);
    }
    let answer = render(pool, sim.config.modelarts_bucket_form);
    Ok(SimResponse::json(StatusCode::OK, &answer))
}
