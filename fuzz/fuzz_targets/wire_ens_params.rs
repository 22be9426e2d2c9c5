//! ENS request parameters read into each action's request type (`rpc_params::from_params`, as
//! the simulator validates them): never a panic, and a request read back from the parameters it
//! writes is the same request.
//!
//! Input: one byte choosing the action, then the parameters as a JSON object (the fixtures'
//! form) or a query string.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{rpc_params, split_selector};
use nodepool_wire::ens::{
    CreateClusterNodePoolRequest, DeleteClusterNodePoolRequest, DeleteClusterNodesRequest,
    DescribeClusterNodePoolsRequest, DescribeClusterNodesRequest, ModifyClusterNodePoolRequest,
    RpcRequest, ScaleClusterNodePoolRequest,
};

fn round_trip<R: RpcRequest + PartialEq + std::fmt::Debug>(params: &[(String, String)]) {
    let Ok(request) = R::from_params(params) else {
        return;
    };
    let written = request.to_params();
    match R::from_params(&written) {
        Ok(again) => assert_eq!(again, request, "{} changed through {written:?}", R::ACTION),
        Err(error) => panic!(
            "{} cannot read its own parameters {written:?}: {error}",
            R::ACTION
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, rest) = split_selector(data);
    let params = rpc_params(rest);
    match selector % 7 {
        0 => round_trip::<CreateClusterNodePoolRequest>(&params),
        1 => round_trip::<DescribeClusterNodePoolsRequest>(&params),
        2 => round_trip::<ScaleClusterNodePoolRequest>(&params),
        3 => round_trip::<DeleteClusterNodesRequest>(&params),
        4 => round_trip::<DescribeClusterNodesRequest>(&params),
        5 => round_trip::<ModifyClusterNodePoolRequest>(&params),
        _ => round_trip::<DeleteClusterNodePoolRequest>(&params),
    }
});
