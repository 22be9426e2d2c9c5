//! The CCE node-pool operations (list, create, update, delete, scale, job status), each
//! reading its request, changing the world and answering in the cloud's response shape.

use super::*;
pub(super) fn list(
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

pub(super) fn create(
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
    crate::clouds::reorder_lists(
        &sim.config,
        &mut body,
        &["/spec/nodeTemplate/taints", "/spec/nodeTemplate/userTags"],
    );
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

pub(super) fn update(
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
    if template.get("taints").is_some() || template.get("userTags").is_some() {
        crate::clouds::reorder_lists(
            &sim.config,
            stored,
            &["/spec/nodeTemplate/taints", "/spec/nodeTemplate/userTags"],
        );
    }
    let target = count.map(|c| bounded_target(&stored["spec"], c));
    let current_target = pool.nodes.target;
    let target = target.unwrap_or_else(|| bounded_target(&pool.body["spec"], current_target));
    world.set_target(&sim.config, Cloud::Cce, uid, target, req.instant);
    let pool = world.cce.pool(project, cluster, uid)?;
    Ok(SimResponse::json(StatusCode::OK, &render(pool)))
}

pub(super) fn delete(
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

pub(super) fn scale(
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

pub(super) fn get_job(
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
