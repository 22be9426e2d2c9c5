//! CCE v3 node pools in the simulator: lifecycle, counts on the provisioning clock, the update
//! trap, capacity, validation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use nodepool_sim::SimConfig;
use serde_json::{Value, json};
use support::*;

fn pool_body(name: &str, count: u32) -> Value {
    json!({
        "kind": "NodePool",
        "apiVersion": "v3",
        "metadata": {"name": name},
        "spec": {
            "initialNodeCount": count,
            "nodeTemplate": {
                "flavor": "s6.large.2",
                "az": "cn-north-4a",
                "login": {"sshKey": "kp"},
                "rootVolume": {"volumetype": "SATA", "size": 40},
                "dataVolumes": [{"volumetype": "SATA", "size": 100}],
                "k8sTags": {"team": "ml"}
            }
        }
    })
}

async fn get_pool(client: &TestClient, uid: &str) -> support::Answer {
    client
        .huawei("GET", &format!("{}/{uid}", cce_base()), None)
        .await
}

async fn wait_settled(client: &TestClient, uid: &str, current: u64) -> Value {
    wait_for("pool settled", Duration::from_secs(10), || async {
        let pool = get_pool(client, uid).await.body;
        let status = &pool["status"];
        (status["phase"] == ""
            && status["creatingNode"] == 0
            && status["deletingNode"] == 0
            && status["currentNode"] == current)
            .then_some(pool)
    })
    .await
}

#[tokio::test]
async fn create_answers_201_then_nodes_arrive_on_the_clock() {
    let config = SimConfig {
        timing: fast_timing(1500, 100),
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let client = TestClient::new(&sim);

    let created = client
        .huawei("POST", &cce_base(), Some(&pool_body("web", 2)))
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let uid = created.body["metadata"]["uid"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body["status"],
        json!({"currentNode": 0, "creatingNode": 0, "deletingNode": 0, "phase": ""})
    );
    assert_eq!(
        created.body["spec"]["nodeTemplate"]["k8sTags"]["cce.cloud.com/cce-nodepool"],
        "web"
    );
    assert_eq!(
        created.body["spec"]["nodeTemplate"]["k8sTags"]["team"],
        "ml"
    );

    let creating = get_pool(&client, &uid).await.body;
    assert_eq!(creating["status"]["creatingNode"], 2);
    assert_eq!(creating["status"]["phase"], "Synchronizing");

    let settled = wait_settled(&client, &uid, 2).await;
    assert_eq!(settled["metadata"]["name"], "web");

    let list = client.huawei("GET", &cce_base(), None).await;
    assert_eq!(list.body["kind"], "List");
    let names: Vec<&str> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["web"], "the default pool is hidden");
    let with_default = client
        .huawei(
            "GET",
            &format!("{}?showDefaultNodePool=true", cce_base()),
            None,
        )
        .await;
    assert_eq!(with_default.body["items"].as_array().unwrap().len(), 2);

    let view = sim.pools().into_iter().find(|p| p.id == uid).unwrap();
    assert_eq!((view.desired, view.current, view.creating), (2, 2, 0));
}

#[tokio::test]
async fn scale_out_and_in_through_update() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let uid = client
        .huawei("POST", &cce_base(), Some(&pool_body("scaled", 1)))
        .await
        .body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_settled(&client, &uid, 1).await;

    let out = json!({"metadata": {"name": "scaled"}, "spec": {"initialNodeCount": 4}});
    let answer = client
        .huawei("PUT", &format!("{}/{uid}", cce_base()), Some(&out))
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    wait_settled(&client, &uid, 4).await;

    let scale_in = json!({"metadata": {"name": "scaled"}, "spec": {"initialNodeCount": 2}});
    client
        .huawei("PUT", &format!("{}/{uid}", cce_base()), Some(&scale_in))
        .await;
    let settled = wait_settled(&client, &uid, 2).await;
    assert_eq!(settled["spec"]["initialNodeCount"], 2);
}

#[tokio::test]
async fn update_without_initial_node_count_scales_to_zero_unless_ignored() {
    let config = SimConfig {
        timing: fast_timing(0, 60_000),
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let client = TestClient::new(&sim);
    let uid = client
        .huawei("POST", &cce_base(), Some(&pool_body("trap", 3)))
        .await
        .body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    wait_settled(&client, &uid, 3).await;

    // ignoreInitialNodeCount keeps the count while changing labels.
    let keep = json!({"metadata": {"name": "trap"}, "spec": {"ignoreInitialNodeCount": true,
        "nodeTemplate": {"k8sTags": {"team": "infra"}}}});
    let kept = client
        .huawei("PUT", &format!("{}/{uid}", cce_base()), Some(&keep))
        .await
        .body;
    assert_eq!(kept["status"]["currentNode"], 3);
    assert_eq!(kept["status"]["deletingNode"], 0);
    assert_eq!(kept["spec"]["nodeTemplate"]["k8sTags"]["team"], "infra");
    assert_eq!(
        kept["spec"]["nodeTemplate"]["k8sTags"]["cce.cloud.com/cce-nodepool"],
        "trap"
    );

    // The trap: the same change without either field drains the pool.
    let drain =
        json!({"metadata": {"name": "trap"}, "spec": {"nodeTemplate": {"k8sTags": {"team": "x"}}}});
    let drained = client
        .huawei("PUT", &format!("{}/{uid}", cce_base()), Some(&drain))
        .await
        .body;
    assert_eq!(drained["status"]["deletingNode"], 3);
    assert_eq!(drained["status"]["currentNode"], 0);
    assert_eq!(drained["spec"]["initialNodeCount"], 0);
}

#[tokio::test]
async fn delete_answers_deleting_with_job_then_404() {
    let config = SimConfig {
        timing: fast_timing(0, 200),
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let client = TestClient::new(&sim);
    let uid = client
        .huawei("POST", &cce_base(), Some(&pool_body("gone", 1)))
        .await
        .body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = client
        .huawei("DELETE", &format!("{}/{uid}", cce_base()), None)
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body["status"]["phase"], "Deleting");
    let job = deleted.body["status"]["jobId"].as_str().unwrap().to_owned();
    let job_path = format!("/api/v3/projects/{PROJECT}/jobs/{job}");
    assert_eq!(
        client.huawei("GET", &job_path, None).await.body["status"]["phase"],
        "Running"
    );

    let gone = wait_for("pool gone", Duration::from_secs(10), || async {
        let answer = get_pool(&client, &uid).await;
        (answer.status == 404).then_some(answer)
    })
    .await;
    assert_eq!(gone.code(), Some("CCE.01404001"));
    let job = client.huawei("GET", &job_path, None).await.body;
    assert_eq!(job["status"]["phase"], "Success");
    assert!(
        job["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap()
            .ends_with("+0000 UTC")
    );
}

#[tokio::test]
async fn validation_errors_use_cce_codes() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let cases = [
        (
            pool_body("Bad_Name", 1),
            400,
            "CCE.01400001",
            "metadata.name",
        ),
        (
            pool_body("DefaultPool", 1),
            400,
            "CCE.01400001",
            "DefaultPool",
        ),
        (
            {
                let mut b = pool_body("small-disk", 1);
                b["spec"]["nodeTemplate"]["rootVolume"]["size"] = json!(20);
                b
            },
            400,
            "CCE.01400001",
            "rootVolume.size",
        ),
        (
            {
                let mut b = pool_body("no-count", 1);
                b["spec"]
                    .as_object_mut()
                    .unwrap()
                    .remove("initialNodeCount");
                b
            },
            400,
            "CCE.01400001",
            "initialNodeCount",
        ),
        (
            {
                let mut b = pool_body("bounds", 1);
                b["spec"]["autoscaling"] =
                    json!({"enable": true, "minNodeCount": 3, "maxNodeCount": 1});
                b
            },
            400,
            "CCE.01400001",
            "minNodeCount",
        ),
        (
            {
                let mut b = pool_body("typed", 1);
                b["spec"]["initialNodeCount"] = json!("two");
                b
            },
            400,
            "CCE.01400001",
            "initialNodeCount",
        ),
    ];
    for (body, status, code, needle) in cases {
        let answer = client.huawei("POST", &cce_base(), Some(&body)).await;
        assert_eq!(answer.status, status, "{body}: {:?}", answer.body);
        assert_eq!(answer.code(), Some(code));
        let message = answer.body["errorMessage"].as_str().unwrap();
        assert!(
            message.contains(needle),
            "{message} should mention {needle}"
        );
    }

    assert_eq!(
        client
            .huawei("POST", &cce_base(), Some(&pool_body("twice", 1)))
            .await
            .status,
        201
    );
    let duplicate = client
        .huawei("POST", &cce_base(), Some(&pool_body("twice", 1)))
        .await;
    assert_eq!(
        (duplicate.status, duplicate.code()),
        (409, Some("CCE.01409001"))
    );

    let unknown_cluster = format!(
        "/api/v3/projects/{PROJECT}/clusters/00000000-0000-0000-0000-000000000000/nodepools"
    );
    let answer = client.huawei("GET", &unknown_cluster, None).await;
    assert_eq!((answer.status, answer.code()), (404, Some("CCE.01404001")));
    let answer = client
        .huawei("GET", &format!("{}/no-such-uid", cce_base()), None)
        .await;
    assert_eq!((answer.status, answer.code()), (404, Some("CCE.01404001")));

    let uid = client.huawei("GET", &cce_base(), None).await.body["items"][0]["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let change_flavor = json!({"metadata": {"name": "twice"}, "spec": {"initialNodeCount": 1, "nodeTemplate": {"flavor": "c7.large.2"}}});
    let answer = client
        .huawei(
            "PUT",
            &format!("{}/{uid}", cce_base()),
            Some(&change_flavor),
        )
        .await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body["errorMessage"]
            .as_str()
            .unwrap()
            .contains("flavor")
    );
}

#[tokio::test]
async fn sold_out_flavor_gives_phase_and_condition_until_capacity_frees() {
    let mut config = SimConfig::instant();
    config.capacity.insert("s6.large.2".into(), 3);
    let sim = start(config).await;
    let client = TestClient::new(&sim);
    let first = client
        .huawei("POST", &cce_base(), Some(&pool_body("first", 2)))
        .await
        .body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = client
        .huawei("POST", &cce_base(), Some(&pool_body("second", 3)))
        .await
        .body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    let short = get_pool(&client, &second).await.body;
    assert_eq!(short["status"]["phase"], "SoldOut");
    assert_eq!(short["status"]["currentNode"], 1);
    let conditions = short["status"]["conditions"].as_array().unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c["type"] == "ResourceInsufficient" && c["status"] == "True")
    );

    // Freeing capacity lets the short pool complete.
    let body = json!({"metadata": {"name": "first"}, "spec": {"initialNodeCount": 0}});
    client
        .huawei("PUT", &format!("{}/{first}", cce_base()), Some(&body))
        .await;
    wait_settled(&client, &second, 3).await;
}

#[tokio::test]
async fn autoscaler_changes_counts_within_bounds() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let mut body = pool_body("auto", 0);
    body["spec"]["autoscaling"] = json!({"enable": true, "minNodeCount": 1, "maxNodeCount": 5});
    let uid = client.huawei("POST", &cce_base(), Some(&body)).await.body["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_owned();
    // The autoscaler keeps the pool at its minimum.
    wait_settled(&client, &uid, 1).await;
    let answer = client
        .admin(
            "POST",
            &format!("/_sim/pools/cce/{uid}/autoscale"),
            Some(json!({"count": 4})),
        )
        .await;
    assert_eq!(answer.status, 200);
    let pool = wait_settled(&client, &uid, 4).await;
    assert_eq!(
        pool["spec"]["initialNodeCount"], 0,
        "the autoscaler does not rewrite the declared count"
    );
}
