//! An update sends only what changed: on each cloud, the recorded request bodies of a
//! settings-only, a count-only and a mixed change, made by the real operator against the
//! simulator and a real API server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Patch, PatchParams};
use nodepool_operator::provider::NodePoolProvider;
use nodepool_sim::RecordedRequest;
use serde_json::{Value, json};
use support::operator::*;
use support::wait_for;

/// Applies `patch` to the sample NodePool and returns the cloud writes it caused, once the
/// pool is Ready again with `nodes` nodes.
async fn change(env: &Env, which: Which, patch: Value, nodes: i32) -> Vec<RecordedRequest> {
    let name = name_of(which);
    let mark = env.sim.requests().last().unwrap().seq;
    let generation = env.pools().get(name).await.unwrap().metadata.generation;
    env.pools()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let writes = |requests: Vec<RecordedRequest>| -> Vec<RecordedRequest> {
        requests
            .into_iter()
            .filter(|r| {
                r.seq > mark
                    && r.method != "GET"
                    && !r.operation.starts_with("Describe")
                    && r.operation != "token"
            })
            .collect()
    };
    let sim = &env.sim;
    wait_for("the change reaches the cloud", DEADLINE, || async {
        writes(sim.requests())
            .iter()
            .any(|r| r.status == Some(200))
            .then_some(())
    })
    .await;
    env.wait_pool(name, "Ready with the change", |p| {
        let status = p.status.clone().unwrap_or_default();
        p.metadata.generation != generation
            && status.observed_generation == p.metadata.generation
            && status.current_node == Some(nodes)
            && condition(p, "Ready") == Some(("True".into(), "PoolReady".into()))
    })
    .await;
    writes(env.sim.requests())
}

fn keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// An ENS parameter that carries JSON (sent as a string in the RPC query).
fn ens_json(request: &RecordedRequest, key: &str) -> Value {
    let value = request.params.as_ref().unwrap()[key].clone();
    match value {
        Value::String(text) => serde_json::from_str(&text).unwrap(),
        other => other,
    }
}

#[tokio::test]
async fn a_cce_update_carries_only_the_changed_labels_or_the_count() {
    let env = setup(Which::Cce).await;
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_ready("cce-workers", 2).await;
    let spec = |writes: &[RecordedRequest]| {
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].operation, "update");
        writes[0].body.as_ref().unwrap()["spec"].clone()
    };

    let label = change(&env, Which::Cce, Which::Cce.change_patch(), 2).await;
    let sent = spec(&label);
    assert_eq!(
        keys(&sent),
        [
            "initialNodeCount",
            "labelPolicyOnExistingNodes",
            "nodeTemplate"
        ],
        "{sent}"
    );
    // The nodes already running get the change too, not only new ones.
    assert_eq!(sent["labelPolicyOnExistingNodes"], "refresh");
    assert_eq!(keys(&sent["nodeTemplate"]), ["k8sTags"], "{sent}");
    assert_eq!(sent["nodeTemplate"]["k8sTags"]["team"], "infra");
    // The count protection: CCE drains a pool whose update omits it.
    assert_eq!(sent["initialNodeCount"], 2);

    let count = change(&env, Which::Cce, Which::Cce.count_patch(3), 3).await;
    assert_eq!(spec(&count), json!({"initialNodeCount": 3}));

    let mixed = json!({"spec": {"cce": {"initialNodeCount": 4, "nodeTemplate": {"k8sTags": {"team": "ops"}}}}});
    let both = spec(&change(&env, Which::Cce, mixed, 4).await);
    assert_eq!(
        keys(&both),
        [
            "initialNodeCount",
            "labelPolicyOnExistingNodes",
            "nodeTemplate"
        ],
        "{both}"
    );
    assert_eq!(keys(&both["nodeTemplate"]), ["k8sTags"], "{both}");
    assert_eq!(both["nodeTemplate"]["k8sTags"]["team"], "ops");
    assert_eq!(both["initialNodeCount"], 4);
}

#[tokio::test]
async fn a_modelarts_patch_carries_only_the_changed_label_or_the_count() {
    let env = setup(Which::ModelArts).await;
    env.apply_all(sample(Which::ModelArts.sample(), &env.sim))
        .await;
    env.wait_ready("modelarts-train", 2).await;
    let body = |writes: &[RecordedRequest]| {
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].operation, "patch");
        writes[0].body.clone().unwrap()
    };
    let label = change(&env, Which::ModelArts, Which::ModelArts.change_patch(), 2).await;
    assert_eq!(
        body(&label),
        json!({"spec": {"resources": {"labels": {"team": "infra"}}}})
    );
    let count = change(&env, Which::ModelArts, Which::ModelArts.count_patch(3), 3).await;
    assert_eq!(
        body(&count),
        json!({"spec": {"resources": {"count": 3, "maxCount": 3}}})
    );
    let mixed = json!({"spec": {"modelarts": {"resources": {"count": 4, "maxCount": 4, "labels": {"team": "ops"}}}}});
    assert_eq!(
        body(&change(&env, Which::ModelArts, mixed, 4).await),
        json!({"spec": {"resources": {"labels": {"team": "ops"}, "count": 4, "maxCount": 4}}})
    );
}

#[tokio::test]
async fn an_ens_change_modifies_only_the_changed_setting_and_scales_only_for_the_count() {
    let env = setup(Which::Ens).await;
    env.apply_all(sample(Which::Ens.sample(), &env.sim)).await;
    env.wait_ready("ens-edge", 2).await;
    let operations = |writes: &[RecordedRequest]| -> Vec<String> {
        writes.iter().map(|r| r.operation.clone()).collect()
    };

    let image = change(&env, Which::Ens, Which::Ens.change_patch(), 2).await;
    assert_eq!(operations(&image), ["ModifyClusterNodePool"]);
    assert_eq!(
        ens_json(&image[0], "ScalingGroup"),
        json!({"ImageId": "m-newimage"})
    );
    assert!(
        image[0]
            .params
            .as_ref()
            .unwrap()
            .get("KubernetesConfig")
            .is_none()
    );

    let count = change(&env, Which::Ens, Which::Ens.count_patch(3), 3).await;
    assert_eq!(operations(&count), ["ScaleClusterNodePool"]);

    let mixed =
        json!({"spec": {"ens": {"scalingGroup": {"desiredSize": 4, "imageId": "m-other"}}}});
    let both = change(&env, Which::Ens, mixed, 4).await;
    assert_eq!(
        operations(&both),
        ["ModifyClusterNodePool", "ScaleClusterNodePool"]
    );
    assert_eq!(
        ens_json(&both[0], "ScalingGroup"),
        json!({"ImageId": "m-other"})
    );
}

/// Ten poll windows of a settled CCE pool and a ModelArts pool with two taints and two tags,
/// which the cloud lists in an order of its own and to whose labels it adds its own key: no
/// write at all.
#[tokio::test]
async fn what_the_cloud_adds_or_reorders_causes_no_write() {
    use std::time::Duration;

    let mut env = Env::new(nodepool_sim::SimConfig {
        timing: support::fast_timing(100, 50),
        reorder_lists: true,
        ..nodepool_sim::SimConfig::default()
    })
    .await;
    env.apply_all(sample(Which::Cce.account(), &env.sim)).await;
    let sets = json!({
        "taints": [{"key": "a", "effect": "NoSchedule"}, {"key": "b", "value": "x", "effect": "NoExecute"}],
    });
    let mut cce = sample(Which::Cce.sample(), &env.sim).remove(0);
    cce["spec"]["cce"]["nodeTemplate"]["taints"] = sets["taints"].clone();
    cce["spec"]["cce"]["nodeTemplate"]["userTags"] =
        json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]);
    let mut modelarts = sample(Which::ModelArts.sample(), &env.sim).remove(0);
    modelarts["spec"]["modelarts"]["resources"]["taints"] = sets["taints"].clone();
    modelarts["spec"]["modelarts"]["resources"]["tags"] =
        json!([{"key": "a", "value": "1"}, {"key": "b", "value": "2"}]);
    // Each NodePool's own interval wins over the samples' account setting.
    cce["spec"]["pollIntervalSeconds"] = json!(1);
    modelarts["spec"]["pollIntervalSeconds"] = json!(1);
    env.apply_all(vec![cce, modelarts]).await;
    env.start_operator(Duration::from_secs(1));
    env.wait_ready("cce-workers", 2).await;
    env.wait_ready("modelarts-train", 2).await;
    // The cloud really lists them in the other order.
    let cloud = support::clients::cce(
        &env.sim,
        support::clients::ak_sk(),
        support::clients::transport(Default::default()),
    );
    let listed = cloud
        .find(support::CLUSTER, "cce-workers")
        .await
        .unwrap()
        .unwrap();
    let nodepool_operator::provider::CloudSpec::Cce(spec) = listed.spec else {
        panic!("CCE reports the pool's settings")
    };
    let taints = spec.node_template.unwrap().taints.unwrap();
    assert_eq!(taints[0].key, "b");
    let sim = &env.sim;
    let settled = sim.requests().last().unwrap().seq;
    let lists = |cloud: &str| {
        sim.requests()
            .iter()
            .filter(|r| r.seq > settled && r.operation == "list" && r.path.contains(cloud))
            .count()
    };
    wait_for("ten poll windows of both pools", DEADLINE, || async {
        (lists("/clusters/") >= 10 && lists("/pools/") >= 10).then_some(())
    })
    .await;
    let writes: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.seq > settled && r.method != "GET" && r.operation != "token")
        .map(|r| format!("{} {}", r.operation, r.path))
        .collect();
    assert!(writes.is_empty(), "writes on a settled pool: {writes:?}");
    let cce = env.pools().get("cce-workers").await.unwrap();
    assert_eq!(condition(&cce, "Reconciling").unwrap().1, "Reconciled");
}

/// Ten poll windows of a settled ENS pool whose data disk leaves its category out and whose
/// Kubernetes config declares only `userData`, while the cloud answers with the category and
/// an empty `PreUserData` filled in: no write at all.
#[tokio::test]
async fn what_ens_fills_in_by_itself_causes_no_write() {
    use std::time::Duration;

    let mut env = Env::new(nodepool_sim::SimConfig {
        timing: support::fast_timing(100, 50),
        fill_defaults: true,
        ..nodepool_sim::SimConfig::default()
    })
    .await;
    env.apply_all(sample(Which::Ens.account(), &env.sim)).await;
    let mut ens = sample(Which::Ens.sample(), &env.sim).remove(0);
    ens["spec"]["ens"]["scalingGroup"]["dataDisks"] = json!([{"size": 40}]);
    ens["spec"]["ens"]["kubernetesConfig"] = json!({"userData": "ZWNobyBvawo="});
    ens["spec"]["pollIntervalSeconds"] = json!(1);
    env.apply_all(vec![ens]).await;
    env.start_operator(Duration::from_secs(1));
    env.wait_ready("ens-edge", 2).await;
    let sim = &env.sim;
    // The cloud really reports what it filled in.
    let cloud = support::clients::ens(
        sim,
        Default::default(),
        support::clients::transport(Default::default()),
    );
    let listed = cloud
        .find(support::ENS_CLUSTER, "ens-edge")
        .await
        .unwrap()
        .unwrap();
    let nodepool_operator::provider::CloudSpec::Ens(settings) = listed.spec else {
        panic!("ENS reports the pool's settings")
    };
    let disks = settings.scaling_group.data_disks.unwrap();
    assert_eq!(disks[0].category.as_deref(), Some("cloud_efficiency"));
    let scripts = settings.kubernetes_config.unwrap();
    assert_eq!(scripts.pre_user_data.as_deref(), Some(""));
    let settled = sim.requests().last().unwrap().seq;
    let lists = || {
        sim.requests()
            .iter()
            .filter(|r| r.seq > settled && r.operation == "DescribeClusterNodePools")
            .count()
    };
    wait_for("ten poll windows", DEADLINE, || async {
        (lists() >= 10).then_some(())
    })
    .await;
    let writes: Vec<String> = sim
        .requests()
        .iter()
        .filter(|r| r.seq > settled && !r.operation.starts_with("Describe"))
        .map(|r| r.operation.clone())
        .collect();
    assert!(writes.is_empty(), "writes on a settled pool: {writes:?}");
    let ens = env.pools().get("ens-edge").await.unwrap();
    assert_eq!(condition(&ens, "Reconciling").unwrap().1, "Reconciled");
}
