//! The simulator never panics and never hangs: 10,000 random and mutated requests, signed and
//! unsigned, each answered in bounded time with a well-formed error in the format of the API the
//! path addresses (or a success).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use chrono::Utc;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use support::*;

const REQUESTS: usize = 10_000;
const WORKERS: usize = 8;

fn seeds() -> Vec<Value> {
    vec![
        json!({"kind": "NodePool", "apiVersion": "v3", "metadata": {"name": "fz"}, "spec": {"initialNodeCount": 1,
            "nodeTemplate": {"flavor": "s6.large.2", "az": "az1", "rootVolume": {"size": 40}, "dataVolumes": [{"size": 100}],
            "taints": [{"key": "k", "value": "v", "effect": "NoSchedule"}], "k8sTags": {"a": "b"}},
            "autoscaling": {"enable": true, "minNodeCount": 0, "maxNodeCount": 3}}}),
        json!({"kind": "NodePool", "apiVersion": "v2", "metadata": {"name": "fz-pool", "annotations": {}},
            "spec": {"resources": {"flavor": "modelarts.vm.2u4g.dcc", "count": 1, "maxCount": 1, "azs": [{"az": "a", "count": 1}]}}}),
        json!({"spec": {"resources": {"count": 2, "maxCount": 2}}}),
        json!({"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "sim-user", "password": "sim-password", "domain": {"name": "sim-domain"}}}}, "scope": {"project": {"name": "cn-north-4"}}}}),
    ]
}

fn random_scalar(rng: &mut ChaCha8Rng) -> Value {
    match rng.random_range(0..8) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(rng.random_range(-5..2000)),
        3 => json!(i64::MAX),
        4 => json!(-1.5e300),
        5 => json!(""),
        6 => json!("😀\u{0}\\\"'<>&%"),
        _ => json!([]),
    }
}

/// Mutates a JSON value in place at a random depth.
fn mutate(value: &mut Value, rng: &mut ChaCha8Rng, depth: u32) {
    match value {
        Value::Object(map) if !map.is_empty() && depth < 6 => {
            let keys: Vec<String> = map.keys().cloned().collect();
            let key = keys.choose(rng).cloned().unwrap_or_default();
            match rng.random_range(0..5) {
                0 => {
                    map.remove(&key);
                }
                1 => {
                    map.insert(key, random_scalar(rng));
                }
                2 => {
                    map.insert(format!("extra{}", rng.random::<u16>()), random_scalar(rng));
                }
                _ => {
                    if let Some(child) = map.get_mut(&key) {
                        mutate(child, rng, depth + 1);
                    }
                }
            }
        }
        Value::Array(items) if !items.is_empty() && depth < 6 => {
            let i = rng.random_range(0..items.len());
            if rng.random_bool(0.3) {
                items.push(random_scalar(rng));
            } else {
                mutate(&mut items[i], rng, depth + 1);
            }
        }
        _ => *value = random_scalar(rng),
    }
}

fn random_path(rng: &mut ChaCha8Rng, pool_ids: &[String]) -> String {
    let id = pool_ids.choose(rng).cloned().unwrap_or_else(|| "x".into());
    let garbage = [
        "%zz",
        "..",
        "%2F",
        "é",
        "a%00b",
        "",
        "DefaultPool",
        "99999999999999999999",
    ];
    let g = *garbage.choose(rng).unwrap_or(&"");
    let paths = [
        cce_base(),
        format!("{}/{id}", cce_base()),
        format!("{}/{g}", cce_base()),
        format!("{}/{id}/operation/scale", cce_base()),
        format!("/api/v3/projects/{PROJECT}/jobs/{g}"),
        format!("/api/v3/projects/{g}/clusters/{g}/nodepools"),
        modelarts_base(),
        format!("{}/fz-pool", modelarts_base()),
        format!("{}/{g}/nodes", modelarts_base()),
        format!("/v2/{PROJECT}/pools/{g}/nodepools"),
        "/v3/auth/tokens".into(),
        "/".into(),
        format!("/?Action=CreateClusterNodePool&ClusterId={ENS_CLUSTER}&NodepoolInfo={g}"),
        format!("/?Action={g}"),
        format!("/{g}/{g}"),
        "/api".into(),
        "/_sim/pools".into(),
        "/_sim/faults/abc".into(),
    ];
    paths.choose(rng).cloned().unwrap_or_default()
}

fn body_bytes(rng: &mut ChaCha8Rng, seeds: &[Value]) -> Vec<u8> {
    match rng.random_range(0..6) {
        0 => Vec::new(),
        1 => (0..rng.random_range(1..200))
            .map(|_| rng.random::<u8>())
            .collect(),
        2 => {
            let text =
                serde_json::to_vec(seeds.choose(rng).unwrap_or(&Value::Null)).unwrap_or_default();
            let cut = rng.random_range(0..text.len().max(1));
            text[..cut].to_vec()
        }
        _ => {
            let mut value = seeds.choose(rng).cloned().unwrap_or(Value::Null);
            for _ in 0..rng.random_range(1..4) {
                mutate(&mut value, rng, 0);
            }
            serde_json::to_vec(&value).unwrap_or_default()
        }
    }
}

fn ens_params(rng: &mut ChaCha8Rng) -> (String, Vec<(String, String)>) {
    let actions = [
        "CreateClusterNodePool",
        "DescribeClusterNodePools",
        "ScaleClusterNodePool",
        "DeleteClusterNodes",
        "DescribeClusterNodes",
        "ModifyClusterNodePool",
        "DeleteClusterNodePool",
        "Bogus",
    ];
    let action = actions.choose(rng).copied().unwrap_or("Bogus").to_owned();
    let mut group = json!({"ImageId": "m-1", "InstanceTypes": ["ens.sn1.small"], "VswitchIds": ["vsw-1"], "KeyPairName": "k",
        "SystemDiskSize": 40, "DataDisks": [{"Size": 20}], "DesiredSize": 1});
    mutate(&mut group, rng, 0);
    let mut params = vec![
        (
            "ClusterId".to_owned(),
            if rng.random_bool(0.8) {
                ENS_CLUSTER.to_owned()
            } else {
                "eck-?".to_owned()
            },
        ),
        (
            "NodepoolInfo".to_owned(),
            json!({"Name": "fz", "NodepoolId": "np0"}).to_string(),
        ),
        ("ScalingGroup".to_owned(), group.to_string()),
        (
            "Body".to_owned(),
            json!({"Count": rng.random_range(0..5), "Nodes": ["i-1"]}).to_string(),
        ),
        ("PageSize".to_owned(), rng.random_range(0..200).to_string()),
        (
            "PageNumber".to_owned(),
            ["1", "0", "-1", "x", "999999999999"]
                .choose(rng)
                .copied()
                .unwrap_or("1")
                .to_owned(),
        ),
    ];
    let keep = rng.random_range(0..=params.len());
    params.truncate(keep);
    if rng.random_bool(0.2) {
        params.push((
            "KubernetesConfig".to_owned(),
            "{\"UserData\":\"!!notbase64\"}".to_owned(),
        ));
    }
    (action, params)
}

/// Checks an answer has the error shape of some simulated API.
fn assert_well_formed(status: u16, body: &[u8], context: &str) {
    assert!(
        status < 500,
        "{context}: server error {status}: {}",
        String::from_utf8_lossy(body)
    );
    let value: Value = serde_json::from_slice(body).unwrap_or_else(|_| {
        panic!(
            "{context}: body is not JSON: {}",
            String::from_utf8_lossy(body)
        )
    });
    if status >= 400 {
        let has_code = ["errorCode", "error_code", "Code", "error"]
            .iter()
            .any(|k| value.get(*k).is_some());
        assert!(has_code, "{context}: error without a code: {value}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_random_and_mutated_requests_get_well_formed_answers() {
    let mut config = nodepool_sim::SimConfig::instant();
    // Flow control would answer most ENS calls with Throttling.User and hide the handlers.
    config.ens_limits.writes_per_second = 1_000_000;
    config.ens_limits.reads_per_second = 1_000_000;
    let sim = start(config).await;
    let client = TestClient::new(&sim);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    // A few real pools so mutated updates and deletes hit existing objects.
    let mut pool_ids = Vec::new();
    for i in 0..3 {
        let mut body = seeds()[0].clone();
        body["metadata"]["name"] = json!(format!("real{i}"));
        let answer = client.huawei("POST", &cce_base(), Some(&body)).await;
        pool_ids.push(answer.body["metadata"]["uid"].as_str().unwrap().to_owned());
    }

    let mut workers = Vec::new();
    for worker in 0..WORKERS {
        let client = client.clone();
        let http = http.clone();
        let pool_ids = pool_ids.clone();
        workers.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(0xF022 + worker as u64);
            let seeds = seeds();
            let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];
            let mut admin_calls = 0usize;
            for i in 0..REQUESTS / WORKERS {
                let context = format!("worker {worker} request {i}");
                let kind = rng.random_range(0..10);
                let (method, path, headers, body) = if kind < 3 {
                    // ENS, mostly signed correctly with mutated parameters.
                    let (action, params) = ens_params(&mut rng);
                    let params: Vec<(String, String)> = params;
                    let nonce = format!("{worker}-{i}");
                    let headers = client.ens_v3_headers(&action, &params, Utc::now(), &nonce);
                    let query: String = form_urlencoded::Serializer::new(String::new())
                        .extend_pairs(&params)
                        .finish();
                    ("POST".to_owned(), format!("/?{query}"), headers, Vec::new())
                } else {
                    let method = methods
                        .choose(&mut rng)
                        .copied()
                        .unwrap_or("GET")
                        .to_owned();
                    let path = random_path(&mut rng, &pool_ids);
                    let body = body_bytes(&mut rng, &seeds);
                    let headers = if kind < 8 && !path.contains('%') && !path.contains("..") {
                        // Signed, so the request reaches the cloud handlers.
                        client.huawei_headers(&method, &path, &body, Utc::now(), "application/json")
                    } else {
                        let mut h = http::HeaderMap::new();
                        let junk = [
                            "SDK-HMAC-SHA256 Access=, SignedHeaders=, Signature=",
                            "ACS3-HMAC-SHA256 Credential=x",
                            "Bearer x",
                            "SDK-HMAC-SHA256",
                        ];
                        h.insert(
                            "authorization",
                            http::HeaderValue::from_static(
                                junk.choose(&mut rng).copied().unwrap_or("x"),
                            ),
                        );
                        h.insert("x-auth-token", http::HeaderValue::from_static("MIIgarbage"));
                        if rng.random_bool(0.5) {
                            h.remove("x-auth-token");
                        }
                        h
                    };
                    (method, path, headers, body)
                };
                let mut request = http.request(
                    reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                    format!("{}{}", client.base, path),
                );
                for (name, value) in headers.iter() {
                    if name != "host" {
                        request = request.header(name, value);
                    }
                }
                if path.starts_with("/_sim") {
                    admin_calls += 1;
                }
                let response = request
                    .body(body)
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("{context}: no answer: {e}"));
                let status = response.status().as_u16();
                let bytes = response
                    .bytes()
                    .await
                    .unwrap_or_else(|e| panic!("{context}: body: {e}"));
                if method == "HEAD" {
                    continue;
                }
                assert_well_formed(status, &bytes, &format!("{context} {method} {path}"));
            }
            admin_calls
        }));
    }
    let mut admin_calls = 0;
    for worker in workers {
        admin_calls += worker.await.expect("worker finished without panicking");
    }
    let health = client.admin("GET", "/_sim/health", None).await;
    assert_eq!(health.body["status"], "ok");
    // Every cloud request was answered and recorded (the 3 setup creates included); the
    // simulator's own endpoints are not recorded.
    assert_eq!(sim.requests().len(), REQUESTS - admin_calls + 3);
}
