//! The seven ENS node-pool actions, each reading its parameters, changing the world and
//! answering in the cloud's response shape.

use super::*;
pub(super) fn create(
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
    let mut group = required_json(params, "ScalingGroup")?;
    check_scaling_group(&group, true)?;
    let mut kubernetes_config =
        json_param(params, "KubernetesConfig")?.unwrap_or_else(|| json!({}));
    check_kubernetes_config(&kubernetes_config)?;
    crate::clouds::fill_ens_defaults(&sim.config, &mut group);
    crate::clouds::fill_ens_config_defaults(&sim.config, &mut kubernetes_config);
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

pub(super) fn describe_pools(
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

pub(super) fn body_param(params: &Params) -> Result<Value, SimResponse> {
    required_json(params, "Body")
}

pub(super) fn scale(
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

pub(super) fn delete_nodes(
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
        && !(release.eq_ignore_ascii_case("true") || release.eq_ignore_ascii_case("false"))
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

pub(super) fn describe_nodes(
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
                // The fields of the SDK's node model the simulator knows; ENS reports neither
                // instance type nor creation time, and lists a pool's nodes oldest first.
                json!({
                    "ClusterId": cluster_id,
                    "InstanceId": n.id,
                    "NodepoolId": p.id,
                    "EnsRegionId": cluster.region,
                    "ImageId": p.scaling_group["ImageId"],
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

pub(super) fn modify(
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
    let mut group = json_param(params, "ScalingGroup")?;
    if let Some(group) = group.as_mut() {
        if group.get("DesiredSize").is_some() {
            return Err(bad_request(
                "ScalingGroup.DesiredSize cannot be modified; use ScaleClusterNodePool or DeleteClusterNodes",
            ));
        }
        check_scaling_group(group, false)?;
        crate::clouds::fill_ens_defaults(&sim.config, group);
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
    if let Some(mut config) = kubernetes_config {
        crate::clouds::fill_ens_config_defaults(&sim.config, &mut config);
        pool.kubernetes_config = config;
    }
    if let Some(flavor) = pool.scaling_group["InstanceTypes"][0].as_str() {
        pool.nodes.flavor = flavor.to_owned();
    }
    Ok(ok(json!({})))
}

pub(super) fn delete_pool(
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
