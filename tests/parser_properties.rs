//! The parsers that read what comes over the network, under arbitrary and mutated input: the
//! stable, bounded counterpart of the cargo-fuzz targets under `fuzz/` (same entry points).
//!
//! - ENS RPC parameters into every action's request type, and back (`rpc_params`);
//! - every wire type from JSON, written and read back unchanged;
//! - Huawei SDK-HMAC-SHA256 and Alibaba V1 / V3 signatures: a request signed as the clients
//!   sign it verifies where the simulator verifies it, one changed signature byte does not,
//!   and reading any `Authorization` header never panics;
//! - the simulator's whole pipeline (route, authenticate, serve) on any request, and on signed
//!   requests with mutated documented bodies, whose resulting pools the operator's clients read;
//! - the operator's clients reading any answer: pools (`observe`, drift) and errors
//!   (`classify`).
//!
//! Each property runs 800 to 3,000 cases (mutated fixtures and arbitrary input), about a
//! minute in all in a debug build on two cores.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use nodepool_operator::provider::huawei::HuaweiService;
use nodepool_operator::provider::transport::HttpResponse;
use nodepool_operator::provider::{
    self as provider, CountUpdate, DesiredPool, ErrorCategory, PoolSpec,
};
use nodepool_sim::config::{
    DEMO_ALIBABA_ACCESS_KEY_ID, DEMO_ALIBABA_ACCESS_KEY_SECRET, DEMO_CCE_CLUSTER_ID,
    DEMO_ENS_CLUSTER_ID, DEMO_HUAWEI_ACCESS_KEY, DEMO_HUAWEI_PROJECT_ID, DEMO_HUAWEI_SECRET_KEY,
    DEMO_MODELARTS_POOL,
};
use nodepool_sim::fuzzing::{Incoming, Outcome, SimResponse, dispatch};
use nodepool_sim::{Sim, SimConfig};
use nodepool_wire::ens::{self, RpcRequest};
use nodepool_wire::signing::{Secret, alibaba, huawei};
use nodepool_wire::{cce, huawei_error, iam, modelarts};

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

// ---- fixtures and JSON mutation ----

macro_rules! fixture {
    ($path:literal) => {
        ($path, include_str!(concat!("fixtures/", $path)))
    };
}

const FIXTURES: &[(&str, &str)] = &[
    fixture!("cce/create-request.json"),
    fixture!("cce/create-request-turbo.json"),
    fixture!("cce/create-request-zh.json"),
    fixture!("cce/create-response.json"),
    fixture!("cce/create-response-turbo.json"),
    fixture!("cce/create-response-zh.json"),
    fixture!("cce/delete-response.json"),
    fixture!("cce/list-response.json"),
    fixture!("cce/job-response.json"),
    fixture!("cce/scale-request.json"),
    fixture!("cce/update-request.json"),
    fixture!("cce/update-request-keep-count.json"),
    fixture!("cce/error-gateway-throttled.json"),
    fixture!("cce/error-sdk-spelling.json"),
    fixture!("cce/error-service.json"),
    fixture!("modelarts/create-request.json"),
    fixture!("modelarts/create-response.json"),
    fixture!("modelarts/patch-request.json"),
    fixture!("modelarts/patch-response.json"),
    fixture!("modelarts/list-response.json"),
    fixture!("modelarts/get-response-bucket-array.json"),
    fixture!("modelarts/get-response-bucket-object.json"),
    fixture!("modelarts/error-400.json"),
    fixture!("modelarts/error-404.json"),
    fixture!("ens/create-cluster-node-pool-request.json"),
    fixture!("ens/create-cluster-node-pool-response.json"),
    fixture!("ens/describe-cluster-node-pools-request.json"),
    fixture!("ens/describe-cluster-node-pools-response.json"),
    fixture!("ens/describe-cluster-nodes-request.json"),
    fixture!("ens/describe-cluster-nodes-response.json"),
    fixture!("ens/scale-cluster-node-pool-request.json"),
    fixture!("ens/delete-cluster-nodes-request.json"),
    fixture!("ens/delete-cluster-node-pool-request.json"),
    fixture!("ens/modify-cluster-node-pool-request.json"),
    fixture!("ens/request-id-response.json"),
    fixture!("ens/error-param.json"),
    fixture!("ens/error-throttling.json"),
    fixture!("iam/token-request.json"),
    fixture!("iam/token-request-project-id.json"),
    fixture!("iam/token-response.json"),
    fixture!("iam/error-gateway.json"),
];

fn fixture(path: &str) -> Value {
    let (_, text) = FIXTURES
        .iter()
        .find(|(p, _)| *p == path)
        .unwrap_or_else(|| panic!("no fixture {path}"));
    serde_json::from_str(text).unwrap()
}

fn fixtures_under(prefix: &str) -> Vec<Value> {
    FIXTURES
        .iter()
        .filter(|(p, _)| p.starts_with(prefix))
        .map(|(_, text)| serde_json::from_str(text).unwrap())
        .collect()
}

/// Every object key of the fixtures, so arbitrary documents name real fields.
fn known_keys() -> Vec<String> {
    fn walk(value: &Value, keys: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    keys.push(k.clone());
                    walk(v, keys);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| walk(v, keys)),
            _ => {}
        }
    }
    let mut keys = Vec::new();
    for (_, text) in FIXTURES {
        walk(&serde_json::from_str(text).unwrap(), &mut keys);
    }
    keys.sort();
    keys.dedup();
    keys
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        prop_oneof![
            Just(i64::MAX),
            Just(i64::MIN),
            Just(-1),
            Just(0),
            Just(u32::MAX as i64 + 1)
        ]
        .prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
        "[0-9a-f]{16,40}".prop_map(Value::from),
    ]
}

/// Arbitrary JSON whose object keys are mostly real field names.
fn json_value(keys: Vec<String>) -> impl Strategy<Value = Value> {
    let key = prop_oneof![4 => prop::sample::select(keys), 1 => ".{0,8}"];
    scalar().prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
        ]
    })
}

/// One edit of a document: at the node the path bits lead to, replace, remove, wrap or empty.
#[derive(Debug, Clone)]
struct Edit {
    path: u64,
    kind: u8,
    with: Value,
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    prop::collection::vec(
        (any::<u64>(), any::<u8>(), scalar()).prop_map(|(path, kind, with)| Edit {
            path,
            kind,
            with,
        }),
        1..5,
    )
}

fn apply(value: &mut Value, edit: &Edit) {
    let mut node = value;
    let mut path = edit.path;
    loop {
        let step = (path % 7) as usize;
        path /= 7;
        let len = match &*node {
            Value::Object(map) => map.len(),
            Value::Array(items) => items.len(),
            _ => 0,
        };
        // Stop here one time in seven, or where there is nothing below.
        if len == 0 || step == 0 || path == 0 {
            break;
        }
        let index = (path as usize) % len;
        node = match node {
            Value::Object(map) => map.values_mut().nth(index).unwrap(),
            Value::Array(items) => &mut items[index],
            _ => unreachable!(),
        };
    }
    match edit.kind % 6 {
        0 | 1 => *node = edit.with.clone(),
        2 => match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map
                    .keys()
                    .nth(edit.path as usize % map.len())
                    .cloned()
                    .unwrap();
                map.remove(&key);
            }
            Value::Array(items) if !items.is_empty() => {
                items.remove(edit.path as usize % items.len());
            }
            _ => *node = Value::Null,
        },
        3 => *node = json!([node.clone()]),
        4 => {
            let replacement = match &*node {
                Value::Object(_) => json!({}),
                Value::Array(_) => json!([]),
                Value::String(s) => json!(s.repeat(3)),
                other => json!(other.to_string()),
            };
            *node = replacement;
        }
        _ => {
            if let Value::Object(map) = node {
                map.insert(format!("k{}", edit.path % 5), edit.with.clone());
            }
        }
    }
}

fn mutated(mut value: Value, edits: &[Edit]) -> Value {
    for edit in edits {
        apply(&mut value, edit);
    }
    value
}

/// Documents to feed a parser: fixtures of `prefix` under edits, or arbitrary JSON.
fn documents(prefix: &str) -> impl Strategy<Value = Value> + use<> {
    let seeds = fixtures_under(prefix);
    prop_oneof![
        3 => (prop::sample::select(seeds), edits()).prop_map(|(seed, edits)| mutated(seed, &edits)),
        1 => json_value(known_keys()),
    ]
}

// ---- ENS RPC parameters ----

fn params_of(value: &Value) -> Vec<(String, String)> {
    value
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| match v {
                    Value::String(s) => (k.clone(), s.clone()),
                    other => (k.clone(), other.to_string()),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An ENS request fixture whose nested JSON parameters are mutated as documents, or whose
/// values are replaced by arbitrary text.
fn ens_params() -> impl Strategy<Value = Vec<(String, String)>> {
    let seeds = fixtures_under("ens/")
        .into_iter()
        .filter(|v| v.get("ClusterId").is_some())
        .collect::<Vec<_>>();
    let nested = (prop::sample::select(seeds.clone()), edits()).prop_map(|(seed, edits)| {
        let mut params = params_of(&seed);
        for (_, v) in params.iter_mut() {
            if let Ok(inner) = serde_json::from_str::<Value>(v)
                && inner.is_object()
            {
                *v = mutated(inner, &edits).to_string();
            }
        }
        params
    });
    let texts = (
        prop::sample::select(seeds),
        prop::collection::vec((any::<prop::sample::Index>(), ".{0,16}"), 1..4),
    )
        .prop_map(|(seed, replacements)| {
            let mut params = params_of(&seed);
            for (index, text) in replacements {
                if !params.is_empty() {
                    let at = index.index(params.len());
                    params[at].1 = text;
                }
            }
            params
        });
    let arbitrary = prop::collection::vec(
        (
            prop_oneof![
                prop::sample::select(vec![
                    "ClusterId",
                    "NodepoolId",
                    "NodepoolInfo",
                    "ScalingGroup",
                    "KubernetesConfig",
                    "Body",
                    "ReleaseNode",
                    "PageNumber",
                    "PageSize",
                ])
                .prop_map(str::to_owned),
                ".{0,8}",
            ],
            ".{0,24}",
        ),
        0..8,
    );
    prop_oneof![2 => nested, 2 => texts, 1 => arbitrary]
}

fn ens_round_trip<R: RpcRequest + PartialEq + std::fmt::Debug>(
    params: &[(String, String)],
) -> Result<(), TestCaseError> {
    match R::from_params(params) {
        Ok(request) => {
            let written = request.to_params();
            let again = R::from_params(&written)
                .map_err(|e| TestCaseError::fail(format!("{}: {e} in {written:?}", R::ACTION)))?;
            prop_assert_eq!(again, request);
        }
        Err(error) => prop_assert!(!error.parameter().is_empty(), "{error}"),
    }
    Ok(())
}

#[test]
fn ens_parameters_read_into_every_action_and_back() {
    runner(3000)
        .run(&ens_params(), |params| {
            ens_round_trip::<ens::CreateClusterNodePoolRequest>(&params)?;
            ens_round_trip::<ens::DescribeClusterNodePoolsRequest>(&params)?;
            ens_round_trip::<ens::ScaleClusterNodePoolRequest>(&params)?;
            ens_round_trip::<ens::DeleteClusterNodesRequest>(&params)?;
            ens_round_trip::<ens::DescribeClusterNodesRequest>(&params)?;
            ens_round_trip::<ens::ModifyClusterNodePoolRequest>(&params)?;
            ens_round_trip::<ens::DeleteClusterNodePoolRequest>(&params)
        })
        .unwrap();
}

// ---- wire types from JSON ----

fn json_round_trip<T: Serialize + DeserializeOwned>(value: &Value) -> Result<(), TestCaseError> {
    let Ok(typed) = serde_json::from_value::<T>(value.clone()) else {
        return Ok(());
    };
    let name = std::any::type_name::<T>();
    let written = serde_json::to_value(&typed)
        .map_err(|e| TestCaseError::fail(format!("{name} does not write: {e}")))?;
    let again: T = serde_json::from_value(written.clone())
        .map_err(|e| TestCaseError::fail(format!("{name} does not read {written}: {e}")))?;
    prop_assert_eq!(serde_json::to_value(&again).unwrap(), written, "{}", name);
    Ok(())
}

#[test]
fn wire_types_read_what_they_write() {
    runner(2000)
        .run(&documents(""), |doc| {
            json_round_trip::<cce::NodePool>(&doc)?;
            json_round_trip::<cce::NodePoolList>(&doc)?;
            json_round_trip::<cce::ScaleRequest>(&doc)?;
            json_round_trip::<cce::Job>(&doc)?;
            json_round_trip::<huawei_error::CceError>(&doc)?;
            json_round_trip::<huawei_error::GatewayError>(&doc)?;
            json_round_trip::<modelarts::NodePool>(&doc)?;
            json_round_trip::<modelarts::NodePoolList>(&doc)?;
            json_round_trip::<iam::TokenRequest>(&doc)?;
            json_round_trip::<ens::Nodepool>(&doc)?;
            json_round_trip::<ens::ScalingGroup>(&doc)?;
            json_round_trip::<ens::CreateClusterNodePoolResponse>(&doc)?;
            json_round_trip::<ens::DescribeClusterNodePoolsResponse>(&doc)?;
            json_round_trip::<ens::DescribeClusterNodesResponse>(&doc)?;
            json_round_trip::<ens::RequestIdResponse>(&doc)?;
            json_round_trip::<ens::EnsError>(&doc)
        })
        .unwrap();
}

// ---- signatures ----

/// A request as it arrives: any method, path, query, headers (valid HTTP names, any bytes
/// in values) and body.
#[derive(Debug, Clone)]
struct Request {
    method: Method,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

fn request() -> impl Strategy<Value = Request> {
    let method = prop_oneof![
        Just(Method::GET),
        Just(Method::POST),
        Just(Method::PUT),
        Just(Method::PATCH),
        Just(Method::DELETE),
        "[A-Z]{1,8}".prop_map(|m| Method::from_bytes(m.as_bytes()).unwrap()),
    ];
    let header = (
        prop_oneof![
            prop::sample::select(vec![
                "host",
                "content-type",
                "x-sdk-date",
                "x-sdk-content-sha256",
                "x-acs-date",
                "x-acs-action",
                "x-acs-version",
                "x-acs-signature-nonce",
                "x-acs-content-sha256",
                "authorization",
                "x-auth-token",
                "test_underscore",
            ])
            .prop_map(str::to_owned),
            "[a-z][a-z0-9_-]{0,10}",
        ],
        prop_oneof![
            "[ -~]{0,24}".prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..16),
        ],
    );
    (
        method,
        "(/[^?#]{0,10}){0,4}",
        "[a-zA-Z0-9=&%+*~ ._-]{0,40}",
        prop::collection::vec(header, 0..6),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(method, path, query, pairs, body)| {
            let mut headers = HeaderMap::new();
            for (name, value) in pairs {
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_bytes(&value),
                ) {
                    headers.append(name, value);
                }
            }
            Request {
                method,
                path,
                query,
                headers,
                body,
            }
        })
}

/// `signature` with the character at `at` changed to another of the same alphabet.
fn one_changed(signature: &str, at: usize, alphabet: &[u8]) -> String {
    let mut bytes = signature.as_bytes().to_vec();
    let at = at % bytes.len().max(1);
    if let Some(b) = bytes.get_mut(at) {
        let index = alphabet.iter().position(|c| c == b).unwrap_or(0);
        *b = alphabet[(index + 1) % alphabet.len()];
    }
    String::from_utf8(bytes).unwrap()
}

const HEX: &[u8] = b"0123456789abcdef";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

#[test]
fn huawei_signatures_verify_and_one_changed_byte_does_not() {
    let secret = Secret::from("fuzz-secret");
    runner(2000)
        .run(&(request(), any::<usize>()), |(mut req, at)| {
            let method = req.method.to_string();
            // Whatever Authorization the request carries, reading and checking it never panics.
            if let Some(value) = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                && let Ok(auth) = huawei::parse_authorization(value)
            {
                let signable = huawei::SignableRequest {
                    method: &method,
                    path: &req.path,
                    query: &req.query,
                    headers: &req.headers,
                    body: &req.body,
                };
                let _ = huawei::verify(&signable, &auth, &secret);
            }
            req.headers.remove("authorization");
            req.headers.insert(
                huawei::DATE_HEADER,
                HeaderValue::from_static("20240101T000000Z"),
            );
            let signable = huawei::SignableRequest {
                method: &method,
                path: &req.path,
                query: &req.query,
                headers: &req.headers,
                body: &req.body,
            };
            let Ok(signature) = huawei::sign(&signable, "AK", &secret) else {
                // Only a signed header whose values are all binary cannot be signed.
                prop_assert!(req.headers.values().any(|v| v.to_str().is_err()));
                return Ok(());
            };
            let auth = huawei::parse_authorization(&signature.authorization)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(huawei::verify(&signable, &auth, &secret).is_ok());
            let tampered = huawei::HuaweiAuthorization {
                signature: one_changed(&auth.signature, at, HEX),
                ..auth.clone()
            };
            prop_assert!(huawei::verify(&signable, &tampered, &secret).is_err());
            prop_assert!(huawei::verify(&signable, &auth, &Secret::from("other")).is_err());
            Ok(())
        })
        .unwrap();
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn encode_query(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

#[test]
fn alibaba_v1_signatures_verify_once_sent_and_one_changed_byte_does_not() {
    let secret = Secret::from("fuzz-secret");
    runner(2000)
        .run(&(request(), any::<usize>()), |(req, at)| {
            let method = req.method.as_str();
            let params = query_pairs(&req.query);
            let _ = alibaba::v1_verify(method, &params, &secret);
            let mut signed = params.clone();
            alibaba::v1_sign_params(method, &mut signed, &secret);
            // As the operator sends it (its query string) and the simulator reads it.
            let received = query_pairs(&encode_query(&signed));
            prop_assert!(alibaba::v1_verify(method, &received, &secret).is_ok());
            let mut tampered = received.clone();
            let position = tampered.iter().position(|(k, _)| k == "Signature").unwrap();
            tampered[position].1 = one_changed(&tampered[position].1, at, BASE64);
            prop_assert!(alibaba::v1_verify(method, &tampered, &secret).is_err());
            Ok(())
        })
        .unwrap();
}

#[test]
fn alibaba_v3_signatures_verify_and_one_changed_byte_does_not() {
    let secret = Secret::from("fuzz-secret");
    runner(2000)
        .run(&(request(), any::<usize>()), |(mut req, at)| {
            let method = req.method.to_string();
            let query = query_pairs(&req.query);
            if let Some(value) = req
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                && let Ok(auth) = alibaba::v3_parse_authorization(value)
            {
                let _ =
                    alibaba::v3_verify(&method, &req.path, &query, &req.headers, &auth, &secret);
            }
            req.headers.remove("authorization");
            req.headers.insert(
                alibaba::CONTENT_SHA256,
                HeaderValue::from_str(&hex::encode(Sha256::digest(&req.body))).unwrap(),
            );
            let Ok(signature) =
                alibaba::v3_sign(&method, &req.path, &query, &req.headers, "AK", &secret)
            else {
                prop_assert!(req.headers.values().any(|v| v.to_str().is_err()));
                return Ok(());
            };
            let auth = alibaba::v3_parse_authorization(&signature.authorization)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert!(
                alibaba::v3_verify(&method, &req.path, &query, &req.headers, &auth, &secret)
                    .is_ok()
            );
            let tampered = alibaba::AlibabaV3Authorization {
                signature: one_changed(&auth.signature, at, HEX),
                ..auth.clone()
            };
            prop_assert!(
                alibaba::v3_verify(&method, &req.path, &query, &req.headers, &tampered, &secret)
                    .is_err()
            );
            Ok(())
        })
        .unwrap();
}

// ---- the simulator's pipeline ----

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

fn incoming(method: Method, path: &str, query: &str, headers: HeaderMap, body: &[u8]) -> Incoming {
    Incoming {
        method,
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: Bytes::copy_from_slice(body),
        now: Utc::now(),
        instant: Instant::now(),
    }
}

/// Serves one request; every answer is given (no fault rules) and is JSON.
fn serve(
    rt: &tokio::runtime::Runtime,
    sim: &Sim,
    req: Incoming,
) -> Result<SimResponse, TestCaseError> {
    let Outcome::Respond(response) = rt.block_on(dispatch(sim, req)) else {
        return Err(TestCaseError::fail("a request was dropped"));
    };
    let parsed = serde_json::from_slice::<Value>(&response.body);
    prop_assert!(
        parsed.is_ok(),
        "{} with a body that is not JSON: {:?}",
        response.status,
        String::from_utf8_lossy(&response.body)
    );
    Ok(response)
}

fn body_json(response: &SimResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

#[test]
fn the_simulator_answers_any_request_in_json_and_serves_no_unsigned_one() {
    let rt = rt();
    let paths = prop_oneof![
        Just(format!(
            "/api/v3/projects/{DEMO_HUAWEI_PROJECT_ID}/clusters/{DEMO_CCE_CLUSTER_ID}/nodepools"
        )),
        Just(format!(
            "/v2/{DEMO_HUAWEI_PROJECT_ID}/pools/{DEMO_MODELARTS_POOL}/nodepools/x"
        )),
        Just("/".to_owned()),
        Just("/v3/auth/tokens".to_owned()),
        "(/[a-z0-9%]{0,6}){0,6}",
    ];
    runner(1500)
        .run(
            &(request(), paths, documents("")),
            |(mut req, path, doc)| {
                if path.starts_with("/_sim") {
                    return Ok(());
                }
                req.path = path;
                if req.body.first() == Some(&b'j') {
                    req.body = doc.to_string().into_bytes();
                }
                let sim = Sim::new(SimConfig::instant());
                let response = serve(
                    &rt,
                    &sim,
                    incoming(
                        req.method.clone(),
                        &req.path,
                        &req.query,
                        req.headers.clone(),
                        &req.body,
                    ),
                )?;
                prop_assert!(
                    !response.status.is_success() || req.path == "/v3/auth/tokens",
                    "unsigned {} {} was served",
                    req.method,
                    req.path
                );
                Ok(())
            },
        )
        .unwrap();
}

fn huawei_signed(method: Method, path: &str, body: &[u8], content_type: &str) -> Incoming {
    let mut req = incoming(method, path, "", HeaderMap::new(), body);
    req.headers
        .insert("host", HeaderValue::from_static("sim.local"));
    req.headers
        .insert("content-type", HeaderValue::from_str(content_type).unwrap());
    req.headers.insert(
        huawei::DATE_HEADER,
        HeaderValue::from_str(&huawei::sdk_date(req.now)).unwrap(),
    );
    let signature = huawei::sign(
        &huawei::SignableRequest {
            method: req.method.as_str(),
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        },
        DEMO_HUAWEI_ACCESS_KEY,
        &Secret::from(DEMO_HUAWEI_SECRET_KEY),
    )
    .unwrap();
    req.headers.insert(
        "authorization",
        HeaderValue::from_str(&signature.authorization).unwrap(),
    );
    req
}

#[test]
fn cce_requests_with_mutated_bodies_leave_pools_the_operator_reads() {
    let rt = rt();
    let base = format!(
        "/api/v3/projects/{DEMO_HUAWEI_PROJECT_ID}/clusters/{DEMO_CCE_CLUSTER_ID}/nodepools"
    );
    let create = fixture("cce/create-request.json").to_string();
    runner(800)
        .run(&(0u8..6, documents("cce/")), |(op, doc)| {
            let sim = Sim::new(SimConfig::instant());
            let created = serve(
                &rt,
                &sim,
                huawei_signed(Method::POST, &base, create.as_bytes(), "application/json"),
            )?;
            prop_assert_eq!(created.status.as_u16(), 201);
            let id = body_json(&created)["metadata"]["uid"]
                .as_str()
                .unwrap()
                .to_owned();
            let one = format!("{base}/{id}");
            let body = doc.to_string();
            let (method, path) = match op {
                0 => (Method::POST, base.clone()),
                1 => (Method::PUT, one.clone()),
                2 => (Method::POST, format!("{one}/operation/scale")),
                3 => (Method::DELETE, one.clone()),
                4 => (Method::GET, one.clone()),
                _ => (Method::GET, base.clone()),
            };
            let answer = serve(
                &rt,
                &sim,
                huawei_signed(method, &path, body.as_bytes(), "application/json"),
            )?;
            prop_assert!(answer.status.as_u16() != 401, "{:?}", answer.error_code);
            let listed = serve(
                &rt,
                &sim,
                huawei_signed(Method::GET, &base, b"", "application/json"),
            )?;
            prop_assert_eq!(listed.status.as_u16(), 200);
            let list: cce::NodePoolList = HuaweiService::CCE
                .parse(body_json(&listed), "pool list")
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for pool in &list.items {
                let observed = provider::cce::observe(pool);
                prop_assert!(matches!(
                    observed.spec,
                    nodepool_operator::provider::CloudSpec::Cce(_)
                ));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn modelarts_requests_with_mutated_bodies_leave_pools_the_operator_reads() {
    let rt = rt();
    let base = format!("/v2/{DEMO_HUAWEI_PROJECT_ID}/pools/{DEMO_MODELARTS_POOL}/nodepools");
    let create = fixture("modelarts/create-request.json").to_string();
    runner(800)
        .run(&(0u8..4, documents("modelarts/")), |(op, doc)| {
            let sim = Sim::new(SimConfig::instant());
            let created = serve(
                &rt,
                &sim,
                huawei_signed(Method::POST, &base, create.as_bytes(), "application/json"),
            )?;
            prop_assert!(created.status.is_success());
            let one = format!("{base}/nodepool-1");
            let body = doc.to_string();
            let (method, path, content_type) = match op {
                0 => (Method::POST, base.clone(), "application/json"),
                1 => (Method::PATCH, one.clone(), "application/merge-patch+json"),
                2 => (Method::DELETE, one.clone(), "application/json"),
                _ => (Method::GET, format!("{one}/nodes"), "application/json"),
            };
            let answer = serve(
                &rt,
                &sim,
                huawei_signed(method, &path, body.as_bytes(), content_type),
            )?;
            prop_assert!(answer.status.as_u16() != 401, "{:?}", answer.error_code);
            let listed = serve(
                &rt,
                &sim,
                huawei_signed(Method::GET, &base, b"", "application/json"),
            )?;
            prop_assert_eq!(listed.status.as_u16(), 200);
            let list: modelarts::NodePoolList = HuaweiService::MODELARTS
                .parse(body_json(&listed), "pool list")
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            for pool in &list.items {
                let observed = provider::modelarts::observe(pool);
                prop_assert!(observed.ready <= observed.current);
            }
            Ok(())
        })
        .unwrap();
}

/// An ENS call signed with the demo AccessKey, V3 or V1 (query string or form body).
fn ens_signed(action: &str, params: &[(String, String)], v3: bool, in_body: bool) -> Incoming {
    let secret = Secret::from(DEMO_ALIBABA_ACCESS_KEY_SECRET);
    let now = Utc::now();
    let nonce = uuid::Uuid::new_v4().simple().to_string();
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("sim.local"));
    if v3 {
        for (name, value) in [
            ("x-acs-action", action.to_owned()),
            ("x-acs-version", ens::API_VERSION.to_owned()),
            ("x-acs-date", alibaba::alibaba_timestamp(now)),
            ("x-acs-signature-nonce", nonce),
            (alibaba::CONTENT_SHA256, hex::encode(Sha256::digest(b""))),
        ] {
            headers.insert(name, HeaderValue::from_str(&value).unwrap());
        }
        let signature = alibaba::v3_sign(
            "POST",
            "/",
            params,
            &headers,
            DEMO_ALIBABA_ACCESS_KEY_ID,
            &secret,
        )
        .unwrap();
        headers.insert(
            "authorization",
            HeaderValue::from_str(&signature.authorization).unwrap(),
        );
        return incoming(Method::POST, "/", &encode_query(params), headers, b"");
    }
    let mut all = params.to_vec();
    for (k, v) in [
        ("Action", action.to_owned()),
        ("Version", ens::API_VERSION.to_owned()),
        ("Format", "JSON".to_owned()),
        ("AccessKeyId", DEMO_ALIBABA_ACCESS_KEY_ID.to_owned()),
        ("SignatureMethod", "HMAC-SHA1".to_owned()),
        ("SignatureVersion", "1.0".to_owned()),
        ("SignatureNonce", nonce),
        ("Timestamp", alibaba::alibaba_timestamp(now)),
    ] {
        all.push((k.to_owned(), v));
    }
    alibaba::v1_sign_params("POST", &mut all, &secret);
    if in_body {
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        incoming(
            Method::POST,
            "/",
            "",
            headers,
            encode_query(&all).as_bytes(),
        )
    } else {
        incoming(Method::POST, "/", &encode_query(&all), headers, b"")
    }
}

const ENS_ACTIONS: [&str; 7] = [
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

#[test]
fn ens_requests_with_mutated_parameters_are_never_refused_for_their_signature() {
    let rt = rt();
    let create: Vec<(String, String)> =
        params_of(&fixture("ens/create-cluster-node-pool-request.json"))
            .into_iter()
            .map(|(k, v)| (k, v.replace("eck-xxxxxxxx", DEMO_ENS_CLUSTER_ID)))
            .collect();
    let auth_codes = [
        "IncompleteSignature",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId.NotFound",
        "InvalidTimeStamp.Format",
        "InvalidTimeStamp.Expired",
        "SignatureNonceUsed",
        "InvalidVersion",
    ];
    runner(800)
        .run(
            &(0usize..7, any::<bool>(), any::<bool>(), ens_params()),
            |(action, v3, in_body, params)| {
                let sim = Sim::new(SimConfig::instant());
                let created = serve(&rt, &sim, ens_signed(ENS_ACTIONS[0], &create, v3, false))?;
                prop_assert!(created.status.is_success());
                let pool = body_json(&created)["Nodepool"]["NodepoolInfo"]["NodepoolId"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                let params: Vec<(String, String)> = params
                    .into_iter()
                    .filter(|(k, _)| !ENVELOPE.contains(&k.as_str()))
                    .map(|(k, v)| {
                        let v = v
                            .replace("eck-xxxxxxxx", DEMO_ENS_CLUSTER_ID)
                            .replace("np1176939548ac49e59febe82dcbf1ad56", &pool);
                        (k, v)
                    })
                    .collect();
                let answer = serve(
                    &rt,
                    &sim,
                    ens_signed(ENS_ACTIONS[action], &params, v3, in_body),
                )?;
                let code = answer.error_code.clone().unwrap_or_default();
                prop_assert!(!auth_codes.contains(&code.as_str()), "{}", code);
                let listed = serve(
                    &rt,
                    &sim,
                    ens_signed(
                        ENS_ACTIONS[1],
                        &[("ClusterId".into(), DEMO_ENS_CLUSTER_ID.into())],
                        v3,
                        false,
                    ),
                )?;
                prop_assert_eq!(listed.status.as_u16(), 200);
                let list: ens::DescribeClusterNodePoolsResponse =
                    provider::ens::parse(body_json(&listed), "pool list")
                        .map_err(|e| TestCaseError::fail(e.to_string()))?;
                list.node_pools.iter().for_each(|p| {
                    provider::ens::observe(p);
                });
                Ok(())
            },
        )
        .unwrap();
}

// ---- the operator reading answers ----

#[test]
fn the_operator_reads_any_pool_answer_and_a_pool_as_declared_has_no_drift() {
    runner(3000)
        .run(&documents(""), |doc| {
            if let Ok(pool) = HuaweiService::CCE.parse::<cce::NodePool>(doc.clone(), "pool") {
                let observed = provider::cce::observe(&pool);
                let declared = DesiredPool {
                    name: observed.name.clone(),
                    spec: PoolSpec::Cce(pool.spec.clone()),
                };
                prop_assert_eq!(
                    provider::cce::drift(&declared, &observed),
                    Vec::<String>::new()
                );
            }
            if let Ok(pool) =
                HuaweiService::MODELARTS.parse::<modelarts::NodePool>(doc.clone(), "pool")
            {
                let observed = provider::modelarts::observe(&pool);
                prop_assert!(observed.ready <= observed.current);
                let declared = DesiredPool {
                    name: observed.name.clone(),
                    spec: PoolSpec::ModelArts {
                        spec: pool.spec.clone().unwrap_or_default(),
                        annotations: Default::default(),
                    },
                };
                prop_assert_eq!(
                    provider::modelarts::drift(&declared, &observed),
                    Vec::<String>::new()
                );
                prop_assert!(
                    provider::modelarts::patch_body(&declared, &observed, CountUpdate::Keep)
                        .is_ok()
                );
            }
            if let Ok(pool) = provider::ens::parse::<ens::Nodepool>(doc.clone(), "pool") {
                let observed = provider::ens::observe(&pool);
                let declared = DesiredPool {
                    name: observed.name.clone(),
                    spec: PoolSpec::Ens {
                        scaling_group: pool.scaling_group.clone().unwrap_or_default(),
                        kubernetes_config: pool.kubernetes_config.clone(),
                    },
                };
                prop_assert_eq!(
                    provider::ens::drift(&declared, &observed),
                    Vec::<String>::new()
                );
            }
            if let Ok(nodes) =
                provider::ens::parse::<ens::DescribeClusterNodesResponse>(doc.clone(), "node list")
            {
                let live = nodes
                    .nodes
                    .iter()
                    .filter(|n| n.state.as_deref() != Some("removing"))
                    .count();
                let chosen = provider::ens::choose_nodes_to_remove(&nodes.nodes, 1);
                prop_assert!(chosen.len() <= live.saturating_sub(1));
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn the_operator_reads_any_error_answer_as_a_typed_error() {
    let headers = prop_oneof![
        Just(None),
        (Just("retry-after"), "[0-9]{1,6}|[ -~]{0,8}").prop_map(Some),
        (Just("x-acs-retry-after"), "[0-9.e+-]{1,8}|1e300|NaN|-1").prop_map(Some),
    ];
    let bodies = prop_oneof![
        documents("").prop_map(|d| d.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..400),
        "[ -~]{0,600}".prop_map(String::into_bytes),
    ];
    runner(3000)
        .run(&(100u16..600, headers, bodies), |(status, header, body)| {
            let mut map = HeaderMap::new();
            if let Some((name, value)) = header
                && let Ok(value) = HeaderValue::from_str(&value)
            {
                map.insert(name, value);
            }
            let response = HttpResponse {
                status,
                headers: map,
                body: Bytes::from(body.clone()),
            };
            let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            for (error, code) in [
                (
                    provider::huawei::classify(&response),
                    ["errorCode", "error_code"]
                        .iter()
                        .find_map(|k| parsed[*k].as_str()),
                ),
                (
                    provider::alibaba::classify(&response),
                    parsed["Code"].as_str(),
                ),
            ] {
                let message = error.message();
                prop_assert!(message.len() <= 300);
                for word in message.split_whitespace() {
                    prop_assert!(
                        word.chars().filter(char::is_ascii_digit).count() < 6,
                        "{}",
                        word
                    );
                }
                if error.retry_after().is_some() {
                    prop_assert_eq!(error.category(), ErrorCategory::Throttled);
                }
                if let Some(code) = code.filter(|c| !c.is_empty()) {
                    prop_assert_eq!(error.code(), Some(code));
                }
            }
            Ok(())
        })
        .unwrap();
}
