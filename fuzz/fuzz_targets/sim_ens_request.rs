//! ENS RPC actions on the simulator with any parameters, signed as the operator signs them (V3
//! headers, or V1 parameters in the query string or a form body), after a pool made from the
//! documented `CreateClusterNodePool` example: a signed request is never refused for its
//! signature, every answer is JSON, and the pools and nodes the simulator then serves are
//! read by the operator's ENS client (`observe`, `choose_nodes_to_remove`).
//!
//! Input: one byte (bits 0-2: the action, 7 = the `Action` parameter's; bit 3: V3; bit 4: V1
//! in a form body), then the parameters as a JSON object or a query string (seeds:
//! `tests/fixtures/ens/*-request.json`). The examples' cluster and pool ids stand for the
//! simulator's cluster and the pool made first.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{body_json, new_sim, rpc_params, serve, signed_ens_request, split_selector};
use nodepool_operator::provider::ens::{choose_nodes_to_remove, observe, parse};
use nodepool_sim::Sim;
use nodepool_sim::config::DEMO_ENS_CLUSTER_ID;
use nodepool_sim::fuzzing::SimResponse;
use nodepool_wire::ens::{DescribeClusterNodePoolsResponse, DescribeClusterNodesResponse};

const CREATE: &[u8] =
    include_bytes!("../../tests/fixtures/ens/create-cluster-node-pool-request.json");
const EXAMPLE_CLUSTER: &str = "eck-xxxxxxxx";
const EXAMPLE_POOL: &str = "np1176939548ac49e59febe82dcbf1ad56";
const ACTIONS: [&str; 7] = [
    "CreateClusterNodePool",
    "DescribeClusterNodePools",
    "ScaleClusterNodePool",
    "DeleteClusterNodes",
    "DescribeClusterNodes",
    "ModifyClusterNodePool",
    "DeleteClusterNodePool",
];
/// Parameters the signing itself sets.
const ENVELOPE: [&str; 9] = [
    "Action",
    "Version",
    "Format",
    "AccessKeyId",
    "Signature",
    "SignatureMethod",
    "SignatureVersion",
    "SignatureNonce",
    "Timestamp",
];
/// Error codes that mean the signature or its envelope was refused.
const AUTH_CODES: [&str; 8] = [
    "IncompleteSignature",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId.NotFound",
    "MissingParameter.Signature",
    "InvalidTimeStamp.Format",
    "InvalidTimeStamp.Expired",
    "SignatureNonceUsed",
    "InvalidVersion",
];

fn call(sim: &Sim, action: &str, params: &[(String, String)], flags: u8) -> Option<SimResponse> {
    let req = signed_ens_request(action, params, flags & 8 != 0, flags & 16 != 0)?;
    let response = serve(sim, req);
    let code = response.error_code.clone().unwrap_or_default();
    assert!(
        !AUTH_CODES.contains(&code.as_str()),
        "a signed {action} was refused: {}",
        String::from_utf8_lossy(&response.body)
    );
    Some(response)
}

fn cluster() -> (String, String) {
    ("ClusterId".into(), DEMO_ENS_CLUSTER_ID.into())
}

fn substituted(params: Vec<(String, String)>, pool: &str) -> Vec<(String, String)> {
    params
        .into_iter()
        .map(|(k, v)| {
            let v = v
                .replace(EXAMPLE_CLUSTER, DEMO_ENS_CLUSTER_ID)
                .replace(EXAMPLE_POOL, pool);
            (k, v)
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = split_selector(data);
    let sim = new_sim();
    let Some(created) = call(
        &sim,
        ACTIONS[0],
        &substituted(rpc_params(CREATE), ""),
        selector & 8,
    ) else {
        return;
    };
    assert!(
        created.status.is_success(),
        "the documented example is refused"
    );
    let pool = body_json(&created)["Nodepool"]["NodepoolInfo"]["NodepoolId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!pool.is_empty(), "a created pool has no id");

    let mut params = substituted(rpc_params(rest), &pool);
    let action = match ACTIONS.get(usize::from(selector & 7)) {
        Some(action) => (*action).to_owned(),
        None => params
            .iter()
            .find(|(k, _)| k == "Action")
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    };
    params.retain(|(k, _)| !ENVELOPE.contains(&k.as_str()));
    if call(&sim, &action, &params, selector).is_none() {
        return;
    }

    let Some(pools) = call(&sim, ACTIONS[1], &[cluster()], 0) else {
        return;
    };
    assert_eq!(pools.status.as_u16(), 200, "listing pools was refused");
    let answer: DescribeClusterNodePoolsResponse = match parse(body_json(&pools), "pool list") {
        Ok(answer) => answer,
        Err(error) => panic!("the operator cannot read the pool list: {error}"),
    };
    for listed in &answer.node_pools {
        let observed = observe(listed);
        let Some(nodes) = call(
            &sim,
            ACTIONS[4],
            &[cluster(), ("NodepoolId".into(), observed.id.clone())],
            0,
        ) else {
            continue;
        };
        assert_eq!(nodes.status.as_u16(), 200, "listing nodes was refused");
        let nodes: DescribeClusterNodesResponse = match parse(body_json(&nodes), "node list") {
            Ok(nodes) => nodes,
            Err(error) => panic!("the operator cannot read the node list: {error}"),
        };
        let remove = choose_nodes_to_remove(&nodes.nodes, observed.current / 2);
        assert!(remove.len() <= nodes.nodes.len());
    }
});
