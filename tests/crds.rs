//! The committed CRDs under `crds/` are exactly what the Rust types generate, and the schema
//! rules a user meets at `kubectl apply` hold.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use nodepool_operator::api::crds_yaml;

#[test]
fn committed_crds_match_the_types() {
    let generated = crds_yaml().unwrap();
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/crds/nodepool.io.yaml");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "crds/nodepool.io.yaml is stale: run `cargo run -- crds > crds/nodepool.io.yaml`"
    );
}
