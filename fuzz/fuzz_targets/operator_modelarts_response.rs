//! The operator's ModelArts client reading any answer body (JSON, then `NodePool` or
//! `NodePoolList`, then `observe`, both bucket forms): never a panic, never an overflow in the
//! node counts; a pool declared exactly as the answer shows it has no drift, and the merge
//! patch for it is a JSON object.
//!
//! Input: the answer body (seeds: `tests/fixtures/modelarts/*-response*.json`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_operator::provider::huawei::HuaweiService;
use nodepool_operator::provider::modelarts::{drift, observe, patch_body};
use nodepool_operator::provider::{CountUpdate, DesiredPool, PoolSpec};
use nodepool_wire::modelarts::{NodePool, NodePoolList};

fn check(pool: &NodePool) {
    let observed = observe(pool);
    assert!(observed.ready <= observed.current, "{observed:?}");
    let declared = DesiredPool {
        name: observed.name.clone(),
        spec: PoolSpec::ModelArts {
            spec: pool.spec.clone().unwrap_or_default(),
            annotations: Default::default(),
        },
    };
    let drifted = drift(&declared, &observed);
    assert!(
        drifted.is_empty(),
        "a pool as declared drifts in {drifted:?}"
    );
    match patch_body(&declared, &observed, CountUpdate::Set(observed.current)) {
        Ok(patch) => assert!(patch["spec"]["resources"].is_object()),
        Err(error) => panic!("no patch for a ModelArts pool: {error}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(pool) = HuaweiService::MODELARTS.parse::<NodePool>(value.clone(), "pool") {
        check(&pool);
    }
    if let Ok(list) = HuaweiService::MODELARTS.parse::<NodePoolList>(value, "pool list") {
        list.items.iter().for_each(check);
    }
});
