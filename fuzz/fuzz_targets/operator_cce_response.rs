//! The operator's CCE client reading any answer body (JSON, then `NodePool` or `NodePoolList`
//! as `HuaweiService::parse` reads it, then `observe`): never a panic; a pool declared exactly
//! as the answer shows it has no drift.
//!
//! Input: the answer body (seeds: `tests/fixtures/cce/*-response*.json`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_operator::provider::cce::{drift, observe};
use nodepool_operator::provider::huawei::HuaweiService;
use nodepool_operator::provider::{DesiredPool, PoolSpec};
use nodepool_wire::cce::{NodePool, NodePoolList};

fn check(pool: &NodePool) {
    let observed = observe(pool);
    let declared = DesiredPool {
        name: observed.name.clone(),
        spec: PoolSpec::Cce(pool.spec.clone()),
    };
    let drifted = drift(&declared, &observed);
    assert!(
        drifted.is_empty(),
        "a pool as declared drifts in {drifted:?}"
    );
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(pool) = HuaweiService::CCE.parse::<NodePool>(value.clone(), "pool") {
        check(&pool);
    }
    if let Ok(list) = HuaweiService::CCE.parse::<NodePoolList>(value, "pool list") {
        list.items.iter().for_each(check);
    }
});
