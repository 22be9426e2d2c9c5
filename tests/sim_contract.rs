//! Contract: every example request under `tests/fixtures/` is accepted by the simulator.

mod support;

use std::path::Path;

use serde_json::{Value, json};
use support::*;

#[allow(clippy::unwrap_used)]
fn ens_params(value: &Value, overrides: &[(&str, String)]) -> Vec<(String, String)> {
    value
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            let replaced = overrides
                .iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone());
            (
                k.clone(),
                replaced.unwrap_or_else(|| v.as_str().unwrap_or_default().to_owned()),
            )
        })
        .collect()
}

async fn ens_call(client: &TestClient, action: &str, params: Vec<(String, String)>) -> Answer {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    client.ens(action, &pairs).await
}

#[tokio::test]
#[allow(clippy::unwrap_used)]
async fn every_request_fixture_is_accepted() {
    let sim = start_instant().await;
    let client = TestClient::new(&sim);
    let mut accepted = Vec::new();

    for file in [
        "create-request.json",
        "create-request-turbo.json",
        "create-request-zh.json",
    ] {
        let answer = client
            .huawei("POST", &cce_base(), Some(&fixture(&format!("cce/{file}"))))
            .await;
        assert_eq!(answer.status, 201, "cce/{file}: {:?}", answer.body);
        accepted.push(format!("cce/{file}"));
    }
    let list = client.huawei("GET", &cce_base(), None).await.body;
    let uid = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == "my-node-pool")
        .map(|p| p["metadata"]["uid"].as_str().unwrap().to_owned())
        .unwrap();
    for file in ["update-request.json", "update-request-keep-count.json"] {
        let answer = client
            .huawei(
                "PUT",
                &format!("{}/{uid}", cce_base()),
                Some(&fixture(&format!("cce/{file}"))),
            )
            .await;
        assert_eq!(answer.status, 200, "cce/{file}: {:?}", answer.body);
        accepted.push(format!("cce/{file}"));
    }
    let answer = client
        .huawei(
            "POST",
            &format!("{}/{uid}/operation/scale", cce_base()),
            Some(&fixture("cce/scale-request.json")),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    accepted.push("cce/scale-request.json".into());

    let answer = client
        .huawei(
            "POST",
            &modelarts_base(),
            Some(&fixture("modelarts/create-request.json")),
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body,
        fixture("modelarts/create-response.json"),
        "create echoes the pool as documented"
    );
    accepted.push("modelarts/create-request.json".into());
    let answer = client
        .huawei_with(
            "PATCH",
            &format!("{}/nodepool-1", modelarts_base()),
            Some(&fixture("modelarts/patch-request.json")),
            "application/merge-patch+json",
        )
        .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        answer.body["spec"],
        fixture("modelarts/patch-response.json")["spec"]
    );
    accepted.push("modelarts/patch-request.json".into());

    for file in ["token-request.json", "token-request-project-id.json"] {
        let response = client
            .http
            .post(format!("{}/v3/auth/tokens", client.base))
            .json(&fixture(&format!("iam/{file}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201, "iam/{file}");
        accepted.push(format!("iam/{file}"));
    }

    let cluster = ("ClusterId", ENS_CLUSTER.to_owned());
    let created = ens_call(
        &client,
        "CreateClusterNodePool",
        ens_params(
            &fixture("ens/create-cluster-node-pool-request.json"),
            std::slice::from_ref(&cluster),
        ),
    )
    .await;
    assert_eq!(created.status, 200, "{:?}", created.body);
    accepted.push("ens/create-cluster-node-pool-request.json".into());
    let pool_id = created.body["Nodepool"]["NodepoolInfo"]["NodepoolId"]
        .as_str()
        .unwrap()
        .to_owned();
    let pool = ("NodepoolId", pool_id.clone());
    let answer = ens_call(
        &client,
        "DescribeClusterNodePools",
        ens_params(
            &fixture("ens/describe-cluster-node-pools-request.json"),
            std::slice::from_ref(&cluster),
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    accepted.push("ens/describe-cluster-node-pools-request.json".into());
    let answer = ens_call(
        &client,
        "ScaleClusterNodePool",
        ens_params(
            &fixture("ens/scale-cluster-node-pool-request.json"),
            &[cluster.clone(), pool.clone()],
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    accepted.push("ens/scale-cluster-node-pool-request.json".into());
    let nodes = ens_call(
        &client,
        "DescribeClusterNodes",
        ens_params(
            &fixture("ens/describe-cluster-nodes-request.json"),
            &[cluster.clone(), pool.clone()],
        ),
    )
    .await;
    assert_eq!(nodes.status, 200, "{:?}", nodes.body);
    accepted.push("ens/describe-cluster-nodes-request.json".into());
    let node = nodes.body["Nodes"][0]["InstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = ("Body", json!({"Nodes": [node]}).to_string());
    let answer = ens_call(
        &client,
        "DeleteClusterNodes",
        ens_params(
            &fixture("ens/delete-cluster-nodes-request.json"),
            &[cluster.clone(), body],
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    accepted.push("ens/delete-cluster-nodes-request.json".into());
    let info = ("NodepoolInfo", json!({"NodepoolId": pool_id}).to_string());
    let answer = ens_call(
        &client,
        "ModifyClusterNodePool",
        ens_params(
            &fixture("ens/modify-cluster-node-pool-request.json"),
            &[cluster.clone(), info],
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    accepted.push("ens/modify-cluster-node-pool-request.json".into());
    let answer = ens_call(
        &client,
        "DeleteClusterNodePool",
        ens_params(
            &fixture("ens/delete-cluster-node-pool-request.json"),
            &[cluster, pool],
        ),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    accepted.push("ens/delete-cluster-node-pool-request.json".into());

    // No request fixture is left out.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for cloud in ["cce", "modelarts", "ens", "iam"] {
        for entry in std::fs::read_dir(root.join(cloud)).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            if name.contains("-request") {
                let relative = format!("{cloud}/{name}");
                assert!(
                    accepted.contains(&relative),
                    "{relative} is not sent to the simulator"
                );
            }
        }
    }
}
