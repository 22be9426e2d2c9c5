//! The wire types of every API read from any JSON (as the operator reads answers and the
//! simulator reads bodies): never a panic, and what a type writes it reads back unchanged (the
//! `extra` fields keep what the type does not model).
//!
//! Input: one byte choosing the type, then the JSON document (seeds: every JSON fixture under
//! `tests/fixtures/{cce,modelarts,ens,iam}`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::split_selector;
use nodepool_wire::{cce, ens, huawei_error, iam, modelarts};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: Serialize + DeserializeOwned>(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<T>(data) else {
        return;
    };
    let written = match serde_json::to_value(&value) {
        Ok(written) => written,
        Err(error) => panic!(
            "{} read but does not write: {error}",
            std::any::type_name::<T>()
        ),
    };
    let again: T = match serde_json::from_value(written.clone()) {
        Ok(again) => again,
        Err(error) => panic!(
            "{} does not read what it wrote: {error}\n{written}",
            std::any::type_name::<T>()
        ),
    };
    let rewritten = serde_json::to_value(&again).unwrap_or_default();
    assert_eq!(
        rewritten,
        written,
        "{} changed through a round trip",
        std::any::type_name::<T>()
    );
}

fuzz_target!(|data: &[u8]| {
    let (selector, document) = split_selector(data);
    match selector % 18 {
        0 => round_trip::<cce::NodePool>(document),
        1 => round_trip::<cce::NodePoolList>(document),
        2 => round_trip::<cce::ScaleRequest>(document),
        3 => round_trip::<cce::Job>(document),
        4 => round_trip::<huawei_error::CceError>(document),
        5 => round_trip::<huawei_error::GatewayError>(document),
        6 => round_trip::<modelarts::NodePool>(document),
        7 => round_trip::<modelarts::NodePoolList>(document),
        8 => round_trip::<iam::TokenRequest>(document),
        9 => round_trip::<ens::Nodepool>(document),
        10 => round_trip::<ens::ScalingGroup>(document),
        11 => round_trip::<ens::KubernetesConfig>(document),
        12 => round_trip::<ens::CreateClusterNodePoolResponse>(document),
        13 => round_trip::<ens::DescribeClusterNodePoolsResponse>(document),
        14 => round_trip::<ens::DescribeClusterNodesResponse>(document),
        15 => round_trip::<ens::RequestIdResponse>(document),
        16 => round_trip::<ens::EnsError>(document),
        _ => round_trip::<ens::NodepoolInfo>(document),
    }
});
