//! Contract: every example under `tests/fixtures/{cce,modelarts,ens,iam}` (the seed documents'
//! examples and the shapes of the reference notes) survives a trip through the wire types
//! unchanged: deserialise, serialise, same JSON.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use nodepool_wire::ens::{self, RpcRequest};
use nodepool_wire::{cce, huawei_error, iam, modelarts};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone()).expect("fixture deserialises");
    serde_json::to_value(&typed).expect("serialises")
}

/// ENS request fixtures are parameter sets; nested parameters are JSON strings, compared as JSON.
fn params_round_trip<R: RpcRequest>(value: &Value) -> Value {
    let pairs: Vec<(String, String)> = value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let request = R::from_params(&pairs).expect("parameters parse");
    params_as_json(&request.to_params())
}

fn params_as_json(pairs: &[(String, String)]) -> Value {
    let map = pairs
        .iter()
        .map(|(k, v)| {
            let parsed = serde_json::from_str::<Value>(v)
                .ok()
                .filter(|p| p.is_object() || p.is_array());
            (
                k.clone(),
                parsed.unwrap_or_else(|| Value::String(v.clone())),
            )
        })
        .collect();
    Value::Object(map)
}

/// The wire type each fixture belongs to; a fixture without one fails the test.
fn check(relative: &str, value: &Value) -> Option<(Value, Value)> {
    let expected = if relative.starts_with("ens/") && relative.ends_with("-request.json") {
        params_as_json(
            &value
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
                .collect::<Vec<_>>(),
        )
    } else {
        value.clone()
    };
    let actual = match relative {
        "cce/create-request.json"
        | "cce/create-request-turbo.json"
        | "cce/create-request-zh.json"
        | "cce/create-response.json"
        | "cce/create-response-turbo.json"
        | "cce/create-response-zh.json"
        | "cce/delete-response.json"
        | "cce/update-request.json"
        | "cce/update-request-keep-count.json" => round_trip::<cce::NodePool>(value),
        "cce/list-response.json" => round_trip::<cce::NodePoolList>(value),
        "cce/scale-request.json" => round_trip::<cce::ScaleRequest>(value),
        "cce/job-response.json" => round_trip::<cce::Job>(value),
        "cce/error-service.json" | "cce/error-sdk-spelling.json" => {
            round_trip::<huawei_error::CceError>(value)
        }
        "cce/error-gateway-throttled.json"
        | "iam/error-gateway.json"
        | "modelarts/error-400.json"
        | "modelarts/error-404.json" => round_trip::<huawei_error::GatewayError>(value),
        "modelarts/create-request.json"
        | "modelarts/create-response.json"
        | "modelarts/patch-request.json"
        | "modelarts/patch-response.json"
        | "modelarts/get-response-bucket-object.json"
        | "modelarts/get-response-bucket-array.json" => round_trip::<modelarts::NodePool>(value),
        "modelarts/list-response.json" => round_trip::<modelarts::NodePoolList>(value),
        "ens/create-cluster-node-pool-request.json" => {
            params_round_trip::<ens::CreateClusterNodePoolRequest>(value)
        }
        "ens/describe-cluster-node-pools-request.json" => {
            params_round_trip::<ens::DescribeClusterNodePoolsRequest>(value)
        }
        "ens/scale-cluster-node-pool-request.json" => {
            params_round_trip::<ens::ScaleClusterNodePoolRequest>(value)
        }
        "ens/delete-cluster-nodes-request.json" => {
            params_round_trip::<ens::DeleteClusterNodesRequest>(value)
        }
        "ens/describe-cluster-nodes-request.json" => {
            params_round_trip::<ens::DescribeClusterNodesRequest>(value)
        }
        "ens/modify-cluster-node-pool-request.json" => {
            params_round_trip::<ens::ModifyClusterNodePoolRequest>(value)
        }
        "ens/delete-cluster-node-pool-request.json" => {
            params_round_trip::<ens::DeleteClusterNodePoolRequest>(value)
        }
        "ens/create-cluster-node-pool-response.json" => {
            round_trip::<ens::CreateClusterNodePoolResponse>(value)
        }
        "ens/describe-cluster-node-pools-response.json" => {
            round_trip::<ens::DescribeClusterNodePoolsResponse>(value)
        }
        "ens/describe-cluster-nodes-response.json" => {
            round_trip::<ens::DescribeClusterNodesResponse>(value)
        }
        "ens/request-id-response.json" => round_trip::<ens::RequestIdResponse>(value),
        "ens/error-throttling.json" | "ens/error-param.json" => round_trip::<ens::EnsError>(value),
        "iam/token-request.json" | "iam/token-request-project-id.json" => {
            round_trip::<iam::TokenRequest>(value)
        }
        "iam/token-response.json" => round_trip::<iam::TokenResponse>(value),
        _ => return None,
    };
    Some((expected, actual))
}

#[test]
fn every_fixture_round_trips_losslessly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = 0;
    let mut unmapped = Vec::new();
    for cloud in ["cce", "modelarts", "ens", "iam"] {
        let mut entries: Vec<_> = std::fs::read_dir(root.join(cloud))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            let relative = format!("{cloud}/{}", path.file_name().unwrap().to_string_lossy());
            let value: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            match check(&relative, &value) {
                Some((expected, actual)) => {
                    assert_eq!(actual, expected, "{relative} changed in a round trip");
                    checked += 1;
                }
                None => unmapped.push(relative),
            }
        }
    }
    assert!(
        unmapped.is_empty(),
        "fixtures without a wire type: {unmapped:?}"
    );
    assert!(checked >= 40, "only {checked} fixtures checked");
}

#[test]
fn modelarts_buckets_keep_their_form() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/modelarts");
    for (file, is_array) in [
        ("get-response-bucket-object.json", false),
        ("get-response-bucket-array.json", true),
    ] {
        let pool: modelarts::NodePool =
            serde_json::from_str(&std::fs::read_to_string(root.join(file)).unwrap()).unwrap();
        let resources = pool.status.unwrap().resources.unwrap();
        let available = resources.available.unwrap();
        assert_eq!(
            matches!(available, modelarts::Bucket::Many(_)),
            is_array,
            "{file}"
        );
        assert_eq!(available.total_count(), 2);
        assert_eq!(resources.creating.unwrap().total_count(), 1);
    }
}

#[test]
fn cce_error_reads_both_spellings() {
    let service: huawei_error::CceError =
        serde_json::from_str(r#"{"errorCode":"CCE.01400001","errorMessage":"bad"}"#).unwrap();
    let sdk: huawei_error::CceError =
        serde_json::from_str(r#"{"error_code":"CCE.01404001","error_msg":"gone"}"#).unwrap();
    assert_eq!(
        (service.code(), service.message()),
        (Some("CCE.01400001"), Some("bad"))
    );
    assert_eq!(
        (sdk.code(), sdk.message()),
        (Some("CCE.01404001"), Some("gone"))
    );
}

#[test]
fn ens_parameters_name_what_is_missing_or_malformed() {
    let pairs = vec![("ClusterId".to_owned(), "eck-1".to_owned())];
    let error = ens::CreateClusterNodePoolRequest::from_params(&pairs).unwrap_err();
    assert_eq!(error, ens::EnsParamError::Missing("NodepoolInfo".into()));
    let pairs = vec![
        ("ClusterId".to_owned(), "eck-1".to_owned()),
        ("NodepoolId".to_owned(), "np1".to_owned()),
        ("Body".to_owned(), "{\"Count\":".to_owned()),
    ];
    let error = ens::ScaleClusterNodePoolRequest::from_params(&pairs).unwrap_err();
    assert!(
        matches!(error, ens::EnsParamError::Malformed { ref name, .. } if name == "Body"),
        "{error}"
    );
    // Nested objects travel as one JSON-string parameter each.
    let request = ens::ScaleClusterNodePoolRequest {
        cluster_id: "c".into(),
        nodepool_id: "np".into(),
        count: 4,
    };
    assert!(
        request
            .to_params()
            .contains(&("Body".to_owned(), "{\"Count\":4}".to_owned()))
    );
}

#[test]
fn debug_output_hides_passwords() {
    let group = ens::ScalingGroup {
        password: Some("hunter2".into()),
        ..Default::default()
    };
    assert!(!format!("{group:?}").contains("hunter2"));
    let login = cce::Login {
        user_password: Some(Value::String("hunter2".into())),
        ..Default::default()
    };
    assert!(!format!("{login:?}").contains("hunter2"));
    let request: iam::TokenRequest = serde_json::from_str(
        r#"{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"u","password":"hunter2","domain":{"name":"d"}}}}}}"#,
    )
    .unwrap();
    assert!(!format!("{request:?}").contains("hunter2"));
}
