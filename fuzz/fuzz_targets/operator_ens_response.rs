//! The operator's ENS client reading any answer body (JSON, then the action's response type as
//! `ens::parse` reads it, then `observe` or `choose_nodes_to_remove`): never a panic; a pool
//! declared exactly as the answer shows it has no drift; scale-in never picks more nodes than
//! it must, nor one already being removed.
//!
//! Input: one byte (the scale-in target), then the answer body (seeds:
//! `tests/fixtures/ens/*-response.json`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::split_selector;
use nodepool_operator::provider::ens::{choose_nodes_to_remove, drift, observe, parse};
use nodepool_operator::provider::{DesiredPool, PoolSpec};
use nodepool_wire::ens::{
    CreateClusterNodePoolResponse, DescribeClusterNodePoolsResponse, DescribeClusterNodesResponse,
    Nodepool,
};

fn check(pool: &Nodepool) {
    let observed = observe(pool);
    let declared = DesiredPool {
        name: observed.name.clone(),
        spec: PoolSpec::Ens {
            scaling_group: pool.scaling_group.clone().unwrap_or_default(),
            kubernetes_config: pool.kubernetes_config.clone(),
        },
    };
    let drifted = drift(&declared, &observed);
    assert!(
        drifted.is_empty(),
        "a pool as declared drifts in {drifted:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let (target, body) = split_selector(data);
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return;
    };
    if let Ok(answer) = parse::<DescribeClusterNodePoolsResponse>(value.clone(), "pool list") {
        answer.node_pools.iter().for_each(check);
    }
    if let Ok(answer) = parse::<Nodepool>(value.clone(), "pool") {
        check(&answer);
    }
    let _ = parse::<CreateClusterNodePoolResponse>(value.clone(), "created pool");
    if let Ok(answer) = parse::<DescribeClusterNodesResponse>(value, "node list") {
        let live: Vec<_> = answer
            .nodes
            .iter()
            .filter(|n| n.state.as_deref() != Some("removing"))
            .collect();
        let target = u32::from(target);
        let chosen = choose_nodes_to_remove(&answer.nodes, target);
        assert!(chosen.len() <= live.len().saturating_sub(target as usize));
        for id in &chosen {
            assert!(
                live.iter().any(|n| n.instance_id.as_deref() == Some(id)),
                "{id} is not a live node"
            );
        }
    }
});
