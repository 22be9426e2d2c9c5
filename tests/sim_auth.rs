//! Authentication in the simulator is verified for real: signatures, timestamps, nonces,
//! tokens, each failure answered with the cloud's own status and code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use chrono::Utc;
use http::HeaderValue;
use nodepool_sim::SimConfig;
use nodepool_sim::config;
use serde_json::json;
use support::*;

#[tokio::test]
async fn huawei_signature_failures() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let path = cce_base();

    assert_eq!(client.huawei("GET", &path, None).await.status, 200);

    // No credentials at all.
    let answer = client
        .send("GET", &path, http::HeaderMap::new(), Vec::new())
        .await;
    assert_eq!((answer.status, answer.code()), (401, Some("APIG.0301")));

    // A signature over a different body.
    let mut headers = client.huawei_headers("POST", &path, b"{}", Utc::now(), "application/json");
    headers.remove("host");
    let answer = client
        .send("POST", &path, headers, br#"{"a":1}"#.to_vec())
        .await;
    assert_eq!((answer.status, answer.code()), (401, Some("APIG.0303")));
    let message = answer.body["error_msg"].as_str().unwrap();
    assert!(
        message.contains("POST|/api/v3/projects/"),
        "the gateway echoes its canonical request: {message}"
    );
    assert!(!message.contains(config::DEMO_HUAWEI_SECRET_KEY));

    // A stale date.
    let stale = Utc::now() - chrono::Duration::minutes(20);
    let headers = client.huawei_headers("GET", &path, b"", stale, "application/json");
    let answer = client.send("GET", &path, headers, Vec::new()).await;
    assert_eq!((answer.status, answer.code()), (401, Some("APIG.0303")));

    // An unknown access key.
    let mut stranger = client.clone();
    stranger.huawei_ak = "UNKNOWNAK00000000000".into();
    let answer = stranger.huawei("GET", &path, None).await;
    assert_eq!((answer.status, answer.code()), (401, Some("APIG.0301")));

    // A wrong secret key.
    let mut wrong = client.clone();
    wrong.huawei_sk = nodepool_wire::signing::Secret::from("not-the-secret");
    assert_eq!(
        wrong.huawei("GET", &path, None).await.code(),
        Some("APIG.0303")
    );

    // A project the account does not own.
    let other =
        format!("/api/v3/projects/ffffffffffffffffffffffffffffffff/clusters/{CLUSTER}/nodepools");
    assert_eq!(client.huawei("GET", &other, None).await.status, 403);

    // Every rejected request is recorded with its code.
    let recorded = client.recorded().await;
    assert!(
        recorded
            .iter()
            .any(|r| r.error_code.as_deref() == Some("APIG.0303") && r.status == Some(401))
    );
}

#[tokio::test]
async fn iam_tokens_are_issued_checked_and_expire() {
    let mut config = SimConfig::instant();
    config.token_lifetime = Duration::from_secs(2);
    let sim = start(config).await;
    let client = TestClient::new(&sim);

    let (answer, token) = client
        .iam_login("sim-user", "wrong", "sim-domain", "cn-north-4")
        .await;
    assert_eq!(answer.status, 401);
    assert!(token.is_none());

    let (answer, token) = client
        .iam_login("sim-user", "sim-password", "sim-domain", "cn-north-4")
        .await;
    assert_eq!(answer.status, 201, "{:?}", answer.body);
    assert_eq!(answer.body["token"]["project"]["id"], PROJECT);
    assert!(answer.body["token"]["expires_at"].is_string());
    let token = token.expect("X-Subject-Token");
    assert_eq!(
        client
            .huawei_token(&token, "GET", &cce_base(), None)
            .await
            .status,
        200
    );
    assert_eq!(
        client
            .huawei_token("not-a-token", "GET", &cce_base(), None)
            .await
            .code(),
        Some("APIG.0301")
    );

    let expired = wait_for("token expiry", Duration::from_secs(10), || async {
        let answer = client.huawei_token(&token, "GET", &cce_base(), None).await;
        (answer.status == 401).then_some(answer)
    })
    .await;
    assert_eq!(expired.code(), Some("APIG.0307"));
    let recorded = client.recorded().await;
    let login = recorded.iter().find(|r| r.operation == "token").unwrap();
    assert_eq!(
        login.body.as_ref().unwrap()["auth"]["identity"]["password"]["user"]["password"],
        "******"
    );
}

#[tokio::test]
async fn alibaba_signature_timestamp_nonce_and_key_failures() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let params = vec![("ClusterId".to_owned(), ENS_CLUSTER.to_owned())];

    // V3: a good call, then a replay of the same nonce.
    let headers = client.ens_v3_headers("DescribeClusterNodePools", &params, Utc::now(), "nonce-1");
    assert_eq!(
        client.ens_v3_send(&params, headers.clone()).await.status,
        200
    );
    let replay = client.ens_v3_send(&params, headers).await;
    assert_eq!(replay.code(), Some("SignatureNonceUsed"));

    // V3: tampered query.
    let headers = client.ens_v3_headers("DescribeClusterNodePools", &params, Utc::now(), "nonce-2");
    let tampered = vec![("ClusterId".to_owned(), "eck-other".to_owned())];
    let answer = client.ens_v3_send(&tampered, headers).await;
    assert_eq!(
        (answer.status, answer.code()),
        (400, Some("SignatureDoesNotMatch"))
    );

    // V3: stale date.
    let stale = Utc::now() - chrono::Duration::minutes(16);
    let headers = client.ens_v3_headers("DescribeClusterNodePools", &params, stale, "nonce-3");
    assert_eq!(
        client.ens_v3_send(&params, headers).await.code(),
        Some("InvalidTimeStamp.Expired")
    );

    // V3: a body that does not match x-acs-content-sha256.
    let mut headers =
        client.ens_v3_headers("DescribeClusterNodePools", &params, Utc::now(), "nonce-4");
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    headers.remove("host");
    let query = format!("/?ClusterId={ENS_CLUSTER}");
    let answer = client
        .send("POST", &query, headers, b"PageSize=5".to_vec())
        .await;
    assert_eq!(answer.code(), Some("SignatureDoesNotMatch"));

    // V1: wrong secret, stale timestamp, reused nonce, unknown key.
    let mut wrong = client.clone();
    wrong.alibaba_secret = nodepool_wire::signing::Secret::from("nope");
    let answer = wrong
        .ens_v1("DescribeClusterNodePools", &[("ClusterId", ENS_CLUSTER)])
        .await;
    assert_eq!(answer.code(), Some("SignatureDoesNotMatch"));
    assert!(
        !answer.body["Message"]
            .as_str()
            .unwrap()
            .contains("sim-alibaba-secret")
    );
    let stale = client.ens_v1_params(
        "DescribeClusterNodePools",
        &[("ClusterId", ENS_CLUSTER)],
        Utc::now() - chrono::Duration::hours(1),
        "n1",
    );
    assert_eq!(
        client.ens_raw_query(&stale).await.code(),
        Some("InvalidTimeStamp.Expired")
    );
    let fresh = client.ens_v1_params(
        "DescribeClusterNodePools",
        &[("ClusterId", ENS_CLUSTER)],
        Utc::now(),
        "n2",
    );
    assert_eq!(client.ens_raw_query(&fresh).await.status, 200);
    assert_eq!(
        client.ens_raw_query(&fresh).await.code(),
        Some("SignatureNonceUsed")
    );
    let mut stranger = client.clone();
    stranger.alibaba_id = "LTAIUNKNOWN".into();
    let answer = stranger
        .ens_v1("DescribeClusterNodePools", &[("ClusterId", ENS_CLUSTER)])
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (404, Some("InvalidAccessKeyId.NotFound"))
    );

    // Unsigned.
    let answer = client
        .ens_raw_query(&[("Action".into(), "DescribeClusterNodePools".into())])
        .await;
    assert_eq!(answer.code(), Some("IncompleteSignature"));
}

#[tokio::test]
async fn another_alibaba_account_does_not_see_the_demo_cluster() {
    let mut config = SimConfig::instant();
    let yaml = "alibaba:\n  - accessKeyId: LTAIOTHER\n    accessKeySecret: other-secret\n    ensClusters: []\n";
    let other: SimConfig = SimConfig::from_yaml(yaml).unwrap();
    config.alibaba.extend(other.alibaba);
    let sim = start(config).await;
    let mut client = TestClient::new(&sim);
    client.alibaba_id = "LTAIOTHER".into();
    client.alibaba_secret = nodepool_wire::signing::Secret::from("other-secret");
    let answer = client
        .ens("DescribeClusterNodePools", &[("ClusterId", ENS_CLUSTER)])
        .await;
    assert_eq!(answer.status, 404, "{}", json!(answer.body));
}
