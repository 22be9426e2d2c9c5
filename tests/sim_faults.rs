//! Fault injection: by rate or count, per cloud and operation, configured at start or at run
//! time, deterministic for a seed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use nodepool_sim::{Cloud, FaultEffect, FaultRule, SimConfig};
use serde_json::json;
use support::*;

#[tokio::test]
async fn count_rule_fails_exactly_n_calls_in_the_clouds_format() {
    let mut config = SimConfig::instant();
    config.faults.push(FaultRule {
        cloud: Some(Cloud::Cce),
        operation: Some("list".into()),
        effect: FaultEffect::Error { status: 503 },
        rate: None,
        count: Some(2),
    });
    let sim = start(config).await;
    let client = TestClient::new(&sim);
    let statuses: Vec<u16> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(client.huawei("GET", &cce_base(), None).await.status);
        }
        v
    };
    assert_eq!(statuses, [503, 503, 200]);
    let first = client
        .huawei("GET", &format!("{}/x", cce_base()), None)
        .await;
    assert_eq!(first.status, 404, "other operations are untouched");
    let recorded = client.recorded().await;
    assert_eq!(recorded.iter().filter(|r| r.fault.is_some()).count(), 2);
}

#[tokio::test]
async fn runtime_rules_throttle_drop_and_delay() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);

    let rule = json!({"cloud": "ens", "operation": "DescribeClusterNodePools", "effect": {"type": "throttle"}, "count": 1});
    let id = client.admin("POST", "/_sim/faults", Some(rule)).await.body["id"]
        .as_u64()
        .unwrap();
    let answer = client
        .ens("DescribeClusterNodePools", &[("ClusterId", ENS_CLUSTER)])
        .await;
    assert_eq!(answer.code(), Some("Throttling.User"));
    assert_eq!(
        client
            .ens("DescribeClusterNodePools", &[("ClusterId", ENS_CLUSTER)])
            .await
            .status,
        200
    );
    let faults = client.admin("GET", "/_sim/faults", None).await.body;
    assert_eq!(faults[0]["id"], id);
    assert_eq!(faults[0]["hits"], 1);

    let rule = json!({"cloud": "modelarts", "effect": {"type": "throttle"}, "count": 1});
    client.admin("POST", "/_sim/faults", Some(rule)).await;
    let answer = client.huawei("GET", &modelarts_base(), None).await;
    assert_eq!((answer.status, answer.code()), (429, Some("APIG.0308")));

    let rule = json!({"cloud": "cce", "operation": "list", "effect": {"type": "drop"}, "count": 1});
    client.admin("POST", "/_sim/faults", Some(rule)).await;
    let url = format!("{}{}", client.base, cce_base());
    let headers = client.huawei_headers(
        "GET",
        &cce_base(),
        b"",
        chrono::Utc::now(),
        "application/json",
    );
    let mut request = client.http.get(&url);
    for (name, value) in headers.iter() {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    let dropped = request.send().await;
    assert!(
        dropped.is_err(),
        "the connection is closed without an answer"
    );

    let rule = json!({"cloud": "cce", "operation": "list", "effect": {"type": "latency", "millis": 300}, "count": 1});
    client.admin("POST", "/_sim/faults", Some(rule)).await;
    let started = Instant::now();
    assert_eq!(client.huawei("GET", &cce_base(), None).await.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));

    let bad = client
        .admin(
            "POST",
            "/_sim/faults",
            Some(json!({"effect": {"type": "error", "status": 404}})),
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        client.admin("DELETE", "/_sim/faults", None).await.status,
        200
    );
    assert_eq!(
        client.admin("GET", "/_sim/faults", None).await.body,
        json!([])
    );
}

#[tokio::test]
async fn rate_rules_replay_identically_for_a_seed() {
    async fn run(seed: u64) -> Vec<u16> {
        let mut config = SimConfig::instant();
        config.fault_seed = seed;
        config.faults.push(FaultRule {
            cloud: Some(Cloud::Cce),
            operation: None,
            effect: FaultEffect::Error { status: 500 },
            rate: Some(0.3),
            count: None,
        });
        let sim = start(config).await;
        let client = TestClient::new(&sim);
        let mut statuses = Vec::new();
        for _ in 0..40 {
            statuses.push(client.huawei("GET", &cce_base(), None).await.status);
        }
        statuses
    }
    let first = run(42).await;
    assert_eq!(first, run(42).await);
    let failures = first.iter().filter(|s| **s == 500).count();
    assert!(
        (3..=25).contains(&failures),
        "{failures} of 40 failed at rate 0.3"
    );
}

/// A signed Huawei request sent as is, so a dropped connection shows as the transport error it
/// is instead of failing the helper.
async fn huawei_raw(
    client: &TestClient,
    method: &str,
    path: &str,
    body: &serde_json::Value,
) -> reqwest::Result<reqwest::Response> {
    let bytes = serde_json::to_vec(body).unwrap();
    let headers =
        client.huawei_headers(method, path, &bytes, chrono::Utc::now(), "application/json");
    let mut request = client.http.request(
        reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
        format!("{}{path}", client.base),
    );
    for (name, value) in headers.iter() {
        if name != "host" {
            request = request.header(name, value);
        }
    }
    request.body(bytes).send().await
}

#[tokio::test]
async fn drop_after_serving_creates_the_pool_but_loses_the_answer() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let rule = json!({"cloud": "cce", "operation": "create", "effect": {"type": "dropAfterServing"}, "count": 1});
    assert_eq!(
        client
            .admin("POST", "/_sim/faults", Some(rule))
            .await
            .status,
        200
    );
    let body = cce_pool_body("lost-answer");

    let lost = huawei_raw(&client, "POST", &cce_base(), &body).await;
    assert!(
        lost.is_err(),
        "the connection is closed without an answer: {lost:?}"
    );

    let pools = client.admin("GET", "/_sim/pools", None).await.body;
    let created: Vec<_> = pools
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["cloud"] == "cce" && p["name"] == "lost-answer")
        .collect();
    assert_eq!(created.len(), 1, "the create was served: {pools}");
    assert_eq!(
        sim.pools()
            .iter()
            .filter(|p| p.cloud == Cloud::Cce && p.name == "lost-answer")
            .count(),
        1
    );

    let recorded = client.recorded().await;
    let create = recorded
        .iter()
        .find(|r| r.operation == "create")
        .expect("the create is recorded");
    assert_eq!(create.status, None, "no answer was delivered");
    assert_eq!(
        create.fault.as_deref(),
        Some("DropAfterServing { served: 201 }")
    );
    assert_eq!(create.body.as_ref(), Some(&body));

    let again = client.huawei("POST", &cce_base(), Some(&body)).await;
    assert_eq!(
        (again.status, again.code()),
        (409, Some("CCE.01409001")),
        "the retried create finds the pool the lost answer created"
    );
    let faults = client.admin("GET", "/_sim/faults", None).await.body;
    assert_eq!(faults[0]["hits"], 1);
}

#[tokio::test]
async fn hold_answer_serves_and_records_the_request_before_the_answer_arrives() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let rule = json!({"cloud": "cce", "operation": "create", "effect": {"type": "holdAnswer", "millis": 60000}, "count": 1});
    assert_eq!(
        client
            .admin("POST", "/_sim/faults", Some(rule))
            .await
            .status,
        200
    );
    let body = cce_pool_body("held-answer");

    // The client gives up (as a crashed operator would) while the answer is held.
    let held = tokio::time::timeout(
        Duration::from_millis(500),
        huawei_raw(&client, "POST", &cce_base(), &body),
    )
    .await;
    assert!(held.is_err(), "the answer is held back: {held:?}");

    let created = sim
        .pools()
        .iter()
        .filter(|p| p.cloud == Cloud::Cce && p.name == "held-answer")
        .count();
    assert_eq!(created, 1, "the create was served");
    let recorded = client.recorded().await;
    let create = recorded
        .iter()
        .find(|r| r.operation == "create")
        .expect("the create is recorded while its answer is held");
    assert_eq!(create.status, Some(201));
    assert_eq!(
        create.fault.as_deref(),
        Some("HoldAnswer { millis: 60000 }")
    );
}

const UPGRADING: &str = "the cluster is being upgraded";

#[tokio::test]
async fn refuse_answers_the_clouds_client_error_once_then_the_create_succeeds() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let rule = json!({
        "cloud": "cce",
        "operation": "create",
        "effect": {"type": "refuse", "status": 400, "code": "CCE.01400001", "message": UPGRADING},
        "count": 1
    });
    assert_eq!(
        client
            .admin("POST", "/_sim/faults", Some(rule))
            .await
            .status,
        200
    );
    let body = json!({
        "kind": "NodePool",
        "apiVersion": "v3",
        "metadata": {"name": "while-upgrading"},
        "spec": {
            "initialNodeCount": 1,
            "nodeTemplate": {
                "flavor": "s6.large.2",
                "az": "cn-north-4a",
                "login": {"sshKey": "kp"},
                "rootVolume": {"volumetype": "SATA", "size": 40}
            }
        }
    });

    let refused = client.huawei("POST", &cce_base(), Some(&body)).await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.body,
        json!({"errorCode": "CCE.01400001", "errorMessage": UPGRADING}),
        "CCE's own error body"
    );
    assert!(
        !sim.pools().iter().any(|p| p.name == "while-upgrading"),
        "a refused create creates nothing"
    );

    let created = client.huawei("POST", &cce_base(), Some(&body)).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    assert_eq!(
        sim.pools()
            .iter()
            .filter(|p| p.cloud == Cloud::Cce && p.name == "while-upgrading")
            .count(),
        1
    );

    let recorded = client.recorded().await;
    let creates: Vec<_> = recorded
        .iter()
        .filter(|r| r.operation == "create")
        .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[0].status, Some(400));
    assert_eq!(creates[0].error_code.as_deref(), Some("CCE.01400001"));
    assert!(
        creates[0]
            .fault
            .as_deref()
            .is_some_and(|f| f.starts_with("Refuse {")),
        "{:?}",
        creates[0].fault
    );
    assert_eq!(creates[1].status, Some(201));
    assert_eq!(creates[1].fault, None);
    let faults = client.admin("GET", "/_sim/faults", None).await.body;
    assert_eq!(faults[0]["hits"], 1);
}

#[tokio::test]
async fn refuse_on_ens_answers_in_alibabas_error_format() {
    let mut config = SimConfig::instant();
    config.faults.push(FaultRule {
        cloud: Some(Cloud::Ens),
        operation: Some("CreateClusterNodePool".into()),
        effect: FaultEffect::Refuse {
            status: 400,
            code: "IncorrectClusterStatus".into(),
            message: UPGRADING.into(),
        },
        rate: None,
        count: Some(1),
    });
    let sim = start(config).await;
    let client = TestClient::new(&sim);
    let info = json!({"Name": "edge-upgrading"}).to_string();
    let group = json!({
        "ImageId": "m-6734fzvcwcv2o8jj201cpa7ox",
        "InstanceTypes": ["ens.sn1.small"],
        "VswitchIds": ["vsw-58eu2p6v64qw8ihhit1wz7wgv"],
        "DesiredSize": 1,
        "InstanceChargeType": "PostPaid",
        "KeyPairName": "key-pair-name",
        "SystemDiskCategory": "cloud_efficiency",
        "SystemDiskSize": 80,
        "DataDisks": [{"Category": "cloud_efficiency", "Size": 80}],
    })
    .to_string();
    let params = [
        ("ClusterId", ENS_CLUSTER),
        ("NodepoolInfo", info.as_str()),
        ("ScalingGroup", group.as_str()),
    ];

    let refused = client.ens("CreateClusterNodePool", &params).await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.code(), Some("IncorrectClusterStatus"));
    assert_eq!(refused.body["Code"], "IncorrectClusterStatus");
    assert_eq!(refused.body["Message"], UPGRADING);
    assert_eq!(refused.body["HostId"], "ens.aliyuncs.com");
    let request_id = refused.body["RequestId"].as_str().unwrap();
    assert_eq!(
        refused.body["Recommend"],
        format!(
            "https://api.aliyun.com/troubleshoot?q=IncorrectClusterStatus&product=Ens&requestId={request_id}"
        )
    );
    let mut keys: Vec<_> = refused.body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    assert_eq!(
        keys,
        ["Code", "HostId", "Message", "Recommend", "RequestId"]
    );

    let created = client.ens("CreateClusterNodePool", &params).await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert!(created.body["Nodepool"]["NodepoolInfo"]["NodepoolId"].is_string());

    let recorded = client.recorded().await;
    let creates: Vec<_> = recorded
        .iter()
        .filter(|r| r.operation == "CreateClusterNodePool")
        .collect();
    assert_eq!(creates.len(), 2);
    assert_eq!(creates[0].status, Some(400));
    assert_eq!(
        creates[0].error_code.as_deref(),
        Some("IncorrectClusterStatus")
    );
    assert!(creates[0].fault.is_some());
    assert_eq!(
        (creates[1].status, creates[1].fault.as_deref()),
        (Some(200), None)
    );
}

#[tokio::test]
async fn refuse_rules_need_a_4xx_status_and_a_code() {
    let refuse = |status: u16, code: &str| FaultRule {
        cloud: Some(Cloud::Cce),
        operation: Some("create".into()),
        effect: FaultEffect::Refuse {
            status,
            code: code.into(),
            message: UPGRADING.into(),
        },
        rate: None,
        count: Some(1),
    };
    assert_eq!(refuse(400, "CCE.01400001").validate(), Ok(()));
    assert_eq!(
        refuse(503, "CCE.01400001").validate(),
        Err("refuse status must be 4xx, got 503".to_owned())
    );
    assert_eq!(
        refuse(400, "").validate(),
        Err("refuse code must not be empty".to_owned())
    );

    let sim = start_instant().await;
    assert_eq!(
        sim.add_fault(refuse(503, "CCE.01400001")),
        Err("refuse status must be 4xx, got 503".to_owned())
    );
    let client = TestClient::new(&sim);
    let bad = client
        .admin(
            "POST",
            "/_sim/faults",
            Some(json!({"effect": {"type": "refuse", "status": 400, "code": "", "message": UPGRADING}})),
        )
        .await;
    assert_eq!(
        (bad.status, &bad.body),
        (400, &json!({"error": "refuse code must not be empty"}))
    );
    assert_eq!(
        client.admin("GET", "/_sim/faults", None).await.body,
        json!([])
    );
}

/// A CCE create body for a one-node pool named `name`.
fn cce_pool_body(name: &str) -> serde_json::Value {
    json!({
        "kind": "NodePool",
        "apiVersion": "v3",
        "metadata": {"name": name},
        "spec": {
            "initialNodeCount": 1,
            "nodeTemplate": {
                "flavor": "s6.large.2",
                "az": "cn-north-4a",
                "login": {"sshKey": "kp"},
                "rootVolume": {"volumetype": "SATA", "size": 40}
            }
        }
    })
}
