//! ENS cluster node pools in the simulator: RPC with JSON-string parameters, paging, scale-out
//! by total, scale-in by node, flow control.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use nodepool_sim::SimConfig;
use serde_json::{Value, json};
use support::*;

fn scaling_group(desired: u32) -> String {
    json!({
        "ImageId": "m-6734fzvcwcv2o8jj201cpa7ox",
        "InstanceTypes": ["ens.sn1.small"],
        "VswitchIds": ["vsw-58eu2p6v64qw8ihhit1wz7wgv"],
        "DesiredSize": desired,
        "InstanceChargeType": "PostPaid",
        "KeyPairName": "key-pair-name",
        "SystemDiskCategory": "cloud_efficiency",
        "SystemDiskSize": 80,
        "DataDisks": [{"Category": "cloud_efficiency", "Size": 80}],
    })
    .to_string()
}

async fn create(client: &TestClient, name: &str, desired: u32) -> String {
    let info = json!({"Name": name}).to_string();
    let group = scaling_group(desired);
    let answer = client
        .ens(
            "CreateClusterNodePool",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("NodepoolInfo", &info),
                ("ScalingGroup", &group),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["Nodepool"]["NodepoolInfo"]["NodepoolId"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn pool_status(client: &TestClient, id: &str) -> Value {
    let answer = client
        .ens(
            "DescribeClusterNodePools",
            &[("ClusterId", ENS_CLUSTER), ("PageSize", "100")],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["NodePools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["NodepoolInfo"]["NodepoolId"] == id)
        .map(|p| p["Status"].clone())
        .unwrap_or(Value::Null)
}

async fn wait_serving(client: &TestClient, id: &str, n: u64) -> Value {
    wait_for("serving nodes", Duration::from_secs(10), || async {
        let status = pool_status(client, id).await;
        (status["State"] == "active" && status["ServingNodes"] == n && status["TotalNodes"] == n)
            .then_some(status)
    })
    .await
}

#[tokio::test]
async fn create_scale_out_scale_in_modify_delete() {
    let config = SimConfig {
        timing: fast_timing(1500, 100),
        ..SimConfig::default()
    };
    let sim = start(config).await;
    let client = TestClient::new(&sim);

    let info = json!({"Name": "edge"}).to_string();
    let mut group: Value = serde_json::from_str(&scaling_group(2)).unwrap();
    group["Password"] = json!("Secret-Passw0rd");
    let group = group.to_string();
    let created = client
        .ens(
            "CreateClusterNodePool",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("NodepoolInfo", &info),
                ("ScalingGroup", &group),
            ],
        )
        .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    let pool = &created.body["Nodepool"];
    assert_eq!(pool["NodepoolInfo"]["EnsRegionId"], "cn-guiyang-14");
    assert_eq!(
        pool["ScalingGroup"]["Password"], "**********",
        "passwords are masked in answers"
    );
    assert!(created.body["RequestId"].is_string());
    let id = pool["NodepoolInfo"]["NodepoolId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(id.starts_with("np"));
    assert_eq!(pool_status(&client, &id).await["InitialNodes"], 2);
    wait_serving(&client, &id, 2).await;

    // Scale out: Count is the new total and must exceed the current one.
    let answer = client
        .ens(
            "ScaleClusterNodePool",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("NodepoolId", &id),
                ("Body", r#"{"Count":2}"#),
            ],
        )
        .await;
    assert_eq!((answer.status, answer.code()), (400, Some("BadRequest")));
    let answer = client
        .ens(
            "ScaleClusterNodePool",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("NodepoolId", &id),
                ("Body", r#"{"Count":4}"#),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    wait_serving(&client, &id, 4).await;

    // Scale in: delete chosen nodes.
    let nodes = client
        .ens(
            "DescribeClusterNodes",
            &[("ClusterId", ENS_CLUSTER), ("NodepoolId", &id)],
        )
        .await
        .body;
    let node_ids: Vec<String> = nodes["Nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["InstanceId"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(node_ids.len(), 4);
    assert!(
        nodes["Nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["State"] == "running")
    );
    let body = json!({"Nodes": [node_ids[0], node_ids[1]]}).to_string();
    let answer = client
        .ens(
            "DeleteClusterNodes",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("Body", &body),
                ("ReleaseNode", "true"),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let status = wait_serving(&client, &id, 2).await;
    assert_eq!(status["DesiredNodes"], 2);

    // Template change without a size.
    let info = json!({"NodepoolId": id}).to_string();
    let answer = client
        .ens(
            "ModifyClusterNodePool",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("NodepoolInfo", &info),
                ("ScalingGroup", r#"{"DesiredSize":5}"#),
            ],
        )
        .await;
    assert_eq!(answer.status, 400, "DesiredSize cannot be modified");
    let answer = client
        .ens(
            "ModifyClusterNodePool",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("NodepoolInfo", &info),
                ("ScalingGroup", r#"{"ImageId":"m-new"}"#),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    let answer = client
        .ens(
            "DeleteClusterNodePool",
            &[("ClusterId", ENS_CLUSTER), ("NodepoolId", &id)],
        )
        .await;
    assert_eq!(answer.status, 200);
    wait_for("pool gone", Duration::from_secs(10), || async {
        pool_status(&client, &id).await.is_null().then_some(())
    })
    .await;
}

#[tokio::test]
async fn describe_pages_through_pools() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    for i in 0..5 {
        create(&client, &format!("p{i}"), 0).await;
    }
    let page = client
        .ens(
            "DescribeClusterNodePools",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("PageNumber", "2"),
                ("PageSize", "2"),
            ],
        )
        .await
        .body;
    assert_eq!(
        page["Page"],
        json!({"PageNumber": 2, "PageSize": 2, "TotalCount": 5})
    );
    let names: Vec<&str> = page["NodePools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["NodepoolInfo"]["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["p2", "p3"]);
    let answer = client
        .ens(
            "DescribeClusterNodePools",
            &[("ClusterId", ENS_CLUSTER), ("PageSize", "500")],
        )
        .await;
    assert_eq!(answer.status, 400);
}

#[tokio::test]
async fn ens_validation_errors() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let info = json!({"Name": "v"}).to_string();
    let mut bad_disk: Value = serde_json::from_str(&scaling_group(1)).unwrap();
    bad_disk["SystemDiskSize"] = json!(25);
    let mut no_login: Value = serde_json::from_str(&scaling_group(1)).unwrap();
    no_login.as_object_mut().unwrap().remove("KeyPairName");
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (
            vec![
                ("NodepoolInfo", info.clone()),
                ("ScalingGroup", scaling_group(1)),
            ],
            "MissingParameter",
        ),
        (
            vec![
                ("ClusterId", ENS_CLUSTER.into()),
                ("NodepoolInfo", "{not json".into()),
                ("ScalingGroup", scaling_group(1)),
            ],
            "InvalidParameter.NodepoolInfo",
        ),
        (
            vec![
                ("ClusterId", ENS_CLUSTER.into()),
                ("NodepoolInfo", info.clone()),
                ("ScalingGroup", bad_disk.to_string()),
            ],
            "BadRequest",
        ),
        (
            vec![
                ("ClusterId", ENS_CLUSTER.into()),
                ("NodepoolInfo", info.clone()),
                ("ScalingGroup", no_login.to_string()),
            ],
            "BadRequest",
        ),
    ];
    for (params, code) in cases {
        let params: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = client.ens("CreateClusterNodePool", &params).await;
        assert_eq!(answer.code(), Some(code), "{params:?}: {:?}", answer.body);
        assert!(answer.body["RequestId"].is_string() && answer.body["Message"].is_string());
    }
    let answer = client
        .ens(
            "CreateClusterNodePool",
            &[
                ("ClusterId", "eck-unknown"),
                ("NodepoolInfo", &info),
                ("ScalingGroup", &scaling_group(1)),
            ],
        )
        .await;
    assert_eq!(answer.status, 404);
    let answer = client.ens("NoSuchAction", &[]).await;
    assert_eq!(
        (answer.status, answer.code()),
        (404, Some("InvalidAction.NotFound"))
    );
}

#[tokio::test]
async fn write_bursts_above_ten_per_second_are_throttled() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let mut tasks = Vec::new();
    for i in 0..40 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let info = json!({"Name": format!("burst{i}")}).to_string();
            client
                .ens(
                    "CreateClusterNodePool",
                    &[
                        ("ClusterId", ENS_CLUSTER),
                        ("NodepoolInfo", &info),
                        ("ScalingGroup", &scaling_group(0)),
                    ],
                )
                .await
        }));
    }
    let mut throttled = 0;
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.code() {
            Some("Throttling.User") => {
                throttled += 1;
                assert_eq!(answer.status, 400);
                assert_eq!(
                    answer.body["Message"],
                    "Request was denied due to user flow control."
                );
            }
            None => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(throttled > 0, "a burst of 40 writes is throttled");
    // Whatever the machine's speed, no rolling second admitted more than 10 writes.
    let admitted: Vec<chrono::DateTime<chrono::Utc>> = sim
        .requests()
        .into_iter()
        .filter(|r| r.operation == "CreateClusterNodePool" && r.status == Some(200))
        .map(|r| {
            chrono::DateTime::parse_from_rfc3339(&r.time)
                .unwrap()
                .with_timezone(&chrono::Utc)
        })
        .collect();
    for (i, start) in admitted.iter().enumerate() {
        let window = admitted
            .iter()
            .filter(|t| **t >= *start && **t < *start + chrono::Duration::seconds(1))
            .count();
        assert!(
            window <= 10,
            "{window} writes admitted within a second of write {i}"
        );
    }
    assert_eq!(
        sim.pools().len(),
        admitted.len(),
        "throttled calls create nothing"
    );
    // Reads have their own, larger budget.
    assert_eq!(
        client
            .ens("DescribeClusterNodePools", &[("ClusterId", ENS_CLUSTER)])
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn v1_signed_calls_work_too() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let info = json!({"Name": "v1pool"}).to_string();
    let group = scaling_group(1);
    let answer = client
        .ens_v1(
            "CreateClusterNodePool",
            &[
                ("ClusterId", ENS_CLUSTER),
                ("NodepoolInfo", &info),
                ("ScalingGroup", &group),
            ],
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let recorded = client.recorded().await;
    let create = recorded
        .iter()
        .find(|r| r.operation == "CreateClusterNodePool")
        .unwrap();
    assert_eq!(
        create.params.as_ref().unwrap()["NodepoolInfo"]["Name"],
        "v1pool"
    );
    assert!(create.params.as_ref().unwrap().get("Signature").is_none());
}
