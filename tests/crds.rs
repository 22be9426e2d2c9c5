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

#[test]
fn the_field_contract_in_docs_is_current() {
    let generated = nodepool_operator::api::fields::markdown()
        .unwrap_or_else(|unclassified| panic!("fields without a change class: {unclassified:?}"));
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/fields.md");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/fields.md is stale: run `cargo run -- fields > docs/fields.md`"
    );
}

/// Every field marked immutable is guarded by a transition rule on its parent that compares it
/// with `oldSelf` and names it in the message a user sees.
#[test]
fn every_immutable_field_is_refused_by_the_schema_with_its_name() {
    use kube::CustomResourceExt;
    use nodepool_operator::api::NodePool;
    use nodepool_operator::api::fields::{Change, contract};

    let crd = serde_json::to_value(NodePool::crd()).unwrap();
    let spec = crd
        .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
        .unwrap();
    let fields = contract().unwrap();
    let mut unguarded = Vec::new();
    let mut immutable = 0;
    for field in fields.iter().filter(|f| f.change == Change::Immutable) {
        immutable += 1;
        let (parent, name) = field.path.rsplit_once('.').unwrap_or(("", &field.path));
        let mut schema = spec;
        for step in parent.split('.').filter(|s| !s.is_empty()) {
            schema = &schema["properties"][step];
        }
        let guarded = schema["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|rule| {
                let text = rule["rule"].as_str().unwrap_or_default();
                let message = rule["message"].as_str().unwrap_or_default();
                text.contains(&format!("oldSelf.{name}"))
                    && message.starts_with(&field.path)
                    && message.contains("create a new NodePool")
            });
        if !guarded {
            unguarded.push(field.path.clone());
        }
    }
    assert!(immutable >= 20, "{immutable}");
    assert!(
        unguarded.is_empty(),
        "immutable but not refused: {unguarded:?}"
    );
}
