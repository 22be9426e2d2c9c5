//! ModelArts v2 node pools in the simulator: create (200), status buckets, merge patch, delete.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use nodepool_sim::SimConfig;
use nodepool_sim::config::BucketForm;
use serde_json::{Value, json};
use support::*;

fn pool_body(name: &str, count: u32) -> Value {
    json!({
        "kind": "NodePool",
        "apiVersion": "v2",
        "metadata": {"name": name, "annotations": {}},
        "spec": {"resources": {"flavor": "modelarts.vm.2u4g.dcc", "count": count, "maxCount": count}}
    })
}

async fn wait_available(client: &TestClient, name: &str, count: u64) -> Value {
    wait_for("available count", Duration::from_secs(10), || async {
        let pool = client
            .huawei("GET", &format!("{}/{name}", modelarts_base()), None)
            .await
            .body;
        let resources = &pool["status"]["resources"];
        let available = resources["available"]["count"].as_u64().unwrap_or(0);
        (available == count
            && resources.get("creating").is_none()
            && resources.get("deleting").is_none())
        .then_some(pool)
    })
    .await
}

#[tokio::test]
async fn create_patch_delete_lifecycle() {
    let config = SimConfig {
        timing: fast_timing(1500, 100),
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let client = TestClient::new(&sim);

    let created = client
        .huawei("POST", &modelarts_base(), Some(&pool_body("np-a", 2)))
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    assert!(
        created.body.get("status").is_none(),
        "create echoes the pool without status"
    );

    let creating = client
        .huawei("GET", &format!("{}/np-a", modelarts_base()), None)
        .await
        .body;
    assert_eq!(creating["status"]["resources"]["creating"]["count"], 2);
    wait_available(&client, "np-a", 2).await;

    // Merge patch with the documented content type, then with the SDKs' one.
    let patch = json!({"spec": {"resources": {"count": 3, "maxCount": 3}}});
    let answer = client
        .huawei_with(
            "PATCH",
            &format!("{}/np-a", modelarts_base()),
            Some(&patch),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["spec"]["resources"]["count"], 3);
    assert_eq!(
        answer.body["spec"]["resources"]["flavor"], "modelarts.vm.2u4g.dcc",
        "merge keeps unpatched fields"
    );
    wait_available(&client, "np-a", 3).await;
    let patch = json!({"metadata": {"annotations": {"team": "ml"}}, "spec": {"resources": {"count": 1, "maxCount": 1}}});
    let answer = client
        .huawei_with(
            "PATCH",
            &format!("{}/np-a", modelarts_base()),
            Some(&patch),
            "application/json;charset=UTF-8",
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["metadata"]["annotations"]["team"], "ml");
    let pool = wait_available(&client, "np-a", 1).await;
    // Reads answer the name alone, as the SDK's NodePoolMetadata has it.
    assert_eq!(pool["metadata"], json!({"name": "np-a"}));

    let list = client.huawei("GET", &modelarts_base(), None).await.body;
    assert_eq!(list["kind"], "NodePoolList");
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let deleted = client
        .huawei("DELETE", &format!("{}/np-a", modelarts_base()), None)
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["status"]["resources"]["deleting"]["count"], 1);
    let gone = wait_for("deleted", Duration::from_secs(10), || async {
        let answer = client
            .huawei("GET", &format!("{}/np-a", modelarts_base()), None)
            .await;
        (answer.status == 404).then_some(answer)
    })
    .await;
    assert_eq!(gone.code(), Some("ModelArts.50015001"));
}

#[tokio::test]
async fn buckets_can_be_rendered_as_arrays() {
    let mut config = SimConfig::instant();
    config.modelarts_bucket_form = BucketForm::Array;
    let sim = start(config).await;
    let client = TestClient::new(&sim);
    client
        .huawei("POST", &modelarts_base(), Some(&pool_body("np-b", 2)))
        .await;
    let pool = client
        .huawei("GET", &format!("{}/np-b", modelarts_base()), None)
        .await
        .body;
    assert_eq!(pool["status"]["resources"]["available"][0]["count"], 2);
}

#[tokio::test]
async fn modelarts_validation_and_not_found() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    for (body, needle) in [
        (pool_body("np-", 1), "name"),
        (pool_body("a", 1), "name"),
        (pool_body("np-default", 1), "name"),
        (
            {
                let mut b = pool_body("np-c", 2);
                b["spec"]["resources"]["maxCount"] = json!(1);
                b
            },
            "maxCount",
        ),
        (
            {
                let mut b = pool_body("np-d", 1);
                b["spec"]["resources"]
                    .as_object_mut()
                    .unwrap()
                    .remove("flavor");
                b
            },
            "flavor",
        ),
    ] {
        let answer = client.huawei("POST", &modelarts_base(), Some(&body)).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, Some("ModelArts.50004000")),
            "{body}"
        );
        assert!(
            answer.body["error_msg"].as_str().unwrap().contains(needle),
            "{:?}",
            answer.body
        );
    }
    let missing = format!("/v2/{PROJECT}/pools/pool-sim-does-not-exist-000000000000000/nodepools");
    let answer = client.huawei("GET", &missing, None).await;
    assert_eq!(
        (answer.status, answer.code()),
        (404, Some("ModelArts.50015001"))
    );
    let answer = client
        .huawei(
            "PATCH",
            &format!("{}/nope", modelarts_base()),
            Some(&json!({"spec": {}})),
        )
        .await;
    assert_eq!(answer.status, 404);
    let patch = json!({"spec": {"resources": {"count": 1}}});
    let answer = client
        .huawei_with(
            "PATCH",
            &format!("{}/nope", modelarts_base()),
            Some(&patch),
            "text/plain",
        )
        .await;
    assert_eq!(answer.status, 415);
}
