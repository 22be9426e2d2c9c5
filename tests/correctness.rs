//! End to end, the cases users hit: no hot loop on a wrong key or a shared account, one owner
//! per cloud pool, deletions that end or say why, status that tells the truth, creates that
//! are never repeated blindly. Real operator, real control plane, the simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, ResourceExt};
use nodepool_operator::api::{CloudAccount, NodePool};
use nodepool_operator::controller::observe::CREATE_LOOKUP_AGE;
use nodepool_operator::controller::validate;
use nodepool_operator::provider::retry::RetryPolicy;
use nodepool_operator::provider::{CountUpdate, DesiredPool, NodePoolProvider, PoolSpec};
use nodepool_sim::{Cloud, FaultEffect, FaultRule, RunningSim, SimConfig};
use serde_json::{Value, json};
use support::operator::*;
use support::{clients, fast_timing, wait_for};

const SETTLED: Duration = Duration::from_secs(300);
/// How long a test watches for something that must not happen.
const QUIET: Duration = Duration::from_secs(3);

fn message(pool: &NodePool, type_: &str) -> String {
    pool.status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| c.message.to_string())
        .unwrap_or_default()
}

fn is(pool: &NodePool, type_: &str, status: &str, reason: &str) -> bool {
    condition(pool, type_) == Some((status.into(), reason.into()))
}

/// A provider for the simulator's demo identities, as a user's console or script would be.
fn console(sim: &RunningSim, which: Which) -> Box<dyn NodePoolProvider> {
    let transport = clients::transport(RetryPolicy::none());
    match which {
        Which::Cce => Box::new(clients::cce(sim, clients::ak_sk(), transport)),
        Which::ModelArts => Box::new(clients::modelarts(sim, clients::ak_sk(), transport)),
        Which::Ens => Box::new(clients::ens(sim, Default::default(), transport)),
    }
}

/// The cloud pool a sample NodePool declares, without any ownership mark, and its parent.
fn declared(which: Which, sim: &RunningSim, name: &str) -> (String, DesiredPool) {
    let mut manifest = sample(which.sample(), sim)[0].clone();
    manifest["metadata"]["name"] = json!(name);
    let pool: NodePool = serde_json::from_value(manifest).unwrap();
    let validated = validate::validate(&pool).unwrap();
    (validated.parent, validated.pool)
}

fn requests_of(sim: &RunningSim, operation: &str) -> usize {
    sim.requests()
        .iter()
        .filter(|r| r.operation == operation)
        .count()
}

/// Puts `key=value` under the labels (CCE `k8sTags`, ModelArts `labels`) of a declared pool.
fn with_label(mut pool: DesiredPool, key: &str, value: &str) -> DesiredPool {
    match &mut pool.spec {
        PoolSpec::Cce(spec) => {
            spec.node_template
                .get_or_insert_default()
                .k8s_tags
                .get_or_insert_default()
                .insert(key.into(), value.into());
        }
        PoolSpec::ModelArts { spec, .. } => {
            spec.resources
                .get_or_insert_default()
                .labels
                .get_or_insert_default()
                .insert(key.into(), value.into());
        }
        PoolSpec::Ens { .. } => {}
    }
    pool
}

#[tokio::test]
async fn a_wrong_key_is_reported_in_stable_words_and_retried_with_backoff() {
    for which in [Which::Ens, Which::Cce] {
        let mut env = Env::fast().await;
        let mut account = sample(which.account(), &env.sim);
        let key = if which == Which::Ens {
            "accessKeySecret"
        } else {
            "secretKey"
        };
        account[0]["stringData"][key] = json!("not-the-secret");
        env.apply_all(account).await;
        env.start_operator(SETTLED);
        env.apply_all(sample(which.sample(), &env.sim)).await;
        let name = name_of(which);
        let failed = env
            .wait_pool(name, "the refused key reported", |p| {
                is(p, "Synced", "False", "CloudAuth")
            })
            .await;
        let text = message(&failed, "Synced");
        for volatile in ["string to sign", "canonicalRequest", "x-sdk-date", "Nonce"] {
            assert!(!text.contains(volatile), "{which:?}: {text}");
        }
        // The refusal stays as written, and the operator backs off instead of looping.
        let calls_before = env.sim.requests().len();
        tokio::time::sleep(QUIET).await;
        let calls = env.sim.requests().len() - calls_before;
        let after = env.pools().get(name).await.unwrap();
        assert_eq!(
            after.resource_version(),
            failed.resource_version(),
            "{which:?}: the status is not rewritten on every retry"
        );
        assert!(calls <= 8, "{which:?}: {calls} cloud calls in {QUIET:?}");
        assert!(calls >= 1, "{which:?}: the failure is still retried");
    }
}

#[tokio::test]
async fn a_shared_account_gets_one_verdict_and_is_not_rewritten() {
    let mut env = Env::fast().await;
    // ModelArts sits behind a cloud that does not know the account's key; CCE accepts it.
    let mut other = SimConfig {
        timing: fast_timing(100, 50),
        ..SimConfig::default()
    };
    other.huawei[0].access_key = "SIMHUAWEIAKUNKNOWN01".into();
    let refusing = RunningSim::start(other, "127.0.0.1:0").await.unwrap();
    let mut account = sample(Which::Cce.account(), &env.sim);
    account[1]["spec"]["endpoints"]["modelarts"] = json!(refusing.url());
    // Both pools keep reconciling: the CCE one every poll, the ModelArts one on its backoff.
    account[1]["spec"]["pollIntervalSeconds"] = json!(1);
    env.apply_all(account).await;
    env.start_operator(SETTLED);
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.apply_all(sample(Which::ModelArts.sample(), &env.sim))
        .await;
    env.wait_ready("cce-workers", 2).await;
    env.wait_pool("modelarts-train", "ModelArts refused", |p| {
        is(p, "Synced", "False", "CloudAuth")
    })
    .await;
    let accounts: Api<CloudAccount> = Api::namespaced(env.client.clone(), &env.ns);
    let refused = wait_for("the account's verdict", DEADLINE, || async {
        let account = accounts.get("huawei").await.unwrap();
        let ready = account
            .status
            .as_ref()?
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")?
            .clone();
        (ready.status == "False" && ready.reason == "CloudAuth").then_some((account, ready))
    })
    .await;
    assert!(
        refused
            .1
            .message
            .starts_with("modelarts: authentication failed"),
        "{}",
        refused.1.message
    );
    tokio::time::sleep(QUIET).await;
    let after = accounts.get("huawei").await.unwrap();
    assert_eq!(
        after.resource_version(),
        refused.0.resource_version(),
        "the account's status is written once, not by every pool in turn"
    );
    assert_eq!(
        condition(&env.pools().get("cce-workers").await.unwrap(), "Ready").unwrap(),
        ("True".to_owned(), "PoolReady".to_owned())
    );
}

#[tokio::test]
async fn two_nodepools_declaring_one_cloud_pool_get_one_owner_and_a_conflict() {
    let mut env = Env::fast().await;
    // This operator watches every namespace, but only this test's NodePools (by label).
    let selector = format!("e2e-run={}", env.ns.name);
    let other = env.cluster.namespace("e2e-other").await;
    for ns in [&env.ns.name, &other.name] {
        for manifest in sample(Which::Cce.account(), &env.sim) {
            support::create_manifest(&env.client, ns, manifest)
                .await
                .unwrap();
        }
    }
    env.start_operator_with(nodepool_operator::controller::Config {
        namespace: None,
        selector: Some(selector.clone()),
        ..env.config(SETTLED)
    });
    let labelled = |name: &str, pool_name: Option<&str>| {
        let mut manifest = sample(Which::Cce.sample(), &env.sim)[0].clone();
        manifest["metadata"]["name"] = json!(name);
        manifest["metadata"]["labels"] = json!({"e2e-run": env.ns.name});
        if let Some(pool_name) = pool_name {
            manifest["spec"]["poolName"] = json!(pool_name);
        }
        manifest
    };
    env.create(labelled("cce-workers", None)).await.unwrap();
    let owner = env.wait_ready("cce-workers", 2).await;
    let pool_id = owner.status.unwrap().pool_id.unwrap();

    // The same pool declared from another namespace, and under another name with poolName.
    support::create_manifest(&env.client, &other, labelled("cce-workers", None))
        .await
        .unwrap();
    env.create(labelled("second-name", Some("cce-workers")))
        .await
        .unwrap();
    let others: Api<NodePool> = Api::namespaced(env.client.clone(), &other);
    let wait_conflict = |api: Api<NodePool>, name: &'static str| async move {
        wait_for("a Conflict", DEADLINE, || async {
            let pool = api.get(name).await.unwrap();
            (is(&pool, "Synced", "False", "Conflict") && is(&pool, "Ready", "False", "Conflict"))
                .then_some(pool)
        })
        .await
    };
    let newcomer = wait_conflict(others.clone(), "cce-workers").await;
    let owner_ref = format!("{}/cce-workers", env.ns.name);
    assert!(
        message(&newcomer, "Synced").contains(&owner_ref),
        "{}",
        message(&newcomer, "Synced")
    );
    assert_eq!(newcomer.status.as_ref().unwrap().pool_id, None);
    let renamed = wait_conflict(env.pools(), "second-name").await;
    assert!(message(&renamed, "Synced").contains(&owner_ref));

    // The newcomer's changes reach no cloud pool.
    let updates_before = requests_of(&env.sim, "update");
    others
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.count_patch(4)),
        )
        .await
        .unwrap();
    wait_for("the newcomer's change seen", DEADLINE, || async {
        let pool = others.get("cce-workers").await.unwrap();
        (pool.status.as_ref()?.observed_generation == pool.metadata.generation).then_some(())
    })
    .await;
    assert_eq!(requests_of(&env.sim, "update"), updates_before);
    assert_eq!(env.sim_pools(Cloud::Cce).len(), 1);
    assert_eq!(env.sim_pools(Cloud::Cce)[0].current, 2);

    // Deleting a newcomer leaves the owner's pool alone.
    env.delete_and_wait_gone("second-name").await;
    assert_eq!(env.sim_pools(Cloud::Cce).len(), 1);
    assert_eq!(
        env.pools()
            .get("cce-workers")
            .await
            .unwrap()
            .status
            .unwrap()
            .pool_id,
        Some(pool_id)
    );

    // When the owner goes (and its pool with it), the newcomer takes over at once.
    env.delete_and_wait_gone("cce-workers").await;
    wait_for("the newcomer Ready with its own pool", DEADLINE, || async {
        let pool = others.get("cce-workers").await.unwrap();
        (pool.status.as_ref()?.current_node == Some(4) && is(&pool, "Ready", "True", "PoolReady"))
            .then_some(())
    })
    .await;
    assert_eq!(env.sim_pools(Cloud::Cce).len(), 1);
    others
        .delete("cce-workers", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("the newcomer gone", DEADLINE, || async {
        others
            .get_opt("cce-workers")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(env.sim_pools(Cloud::Cce).is_empty());
}

#[tokio::test]
async fn a_cloud_pool_marked_by_another_nodepool_is_left_alone() {
    for which in [Which::Cce, Which::ModelArts] {
        let env = setup(which).await;
        let name = name_of(which);
        // Another operator (another cluster) owns a pool of this name.
        let (parent, pool) = declared(which, &env.sim, name);
        let pool = with_label(pool, "nodepool.io/owner", "uid-of-someone-else");
        console(&env.sim, which)
            .create(&parent, &pool)
            .await
            .unwrap();
        env.apply_all(sample(which.sample(), &env.sim)).await;
        let refused = env
            .wait_pool(name, "a Conflict", |p| is(p, "Synced", "False", "Conflict"))
            .await;
        assert!(
            message(&refused, "Synced").contains("uid-of-someone-else"),
            "{which:?}: {}",
            message(&refused, "Synced")
        );
        assert_eq!(refused.status.unwrap().pool_id, None);
        env.delete_and_wait_gone(name).await;
        assert_eq!(
            env.sim_pools(which.cloud()).len(),
            1,
            "{which:?}: left in place"
        );
        let writes = env
            .sim
            .requests()
            .iter()
            .filter(|r| matches!(r.operation.as_str(), "update" | "patch" | "delete"))
            .count();
        assert_eq!(
            writes, 0,
            "{which:?}: the other owner's pool is never written"
        );
    }
}

#[tokio::test]
async fn deleting_a_nodepool_whose_parent_does_not_exist_finishes() {
    for which in ALL {
        let env = setup(which).await;
        let name = name_of(which);
        let mut manifest = sample(which.sample(), &env.sim)[0].clone();
        match which {
            Which::Cce => {
                manifest["spec"]["cce"]["clusterId"] = json!("00000000-0000-0000-0000-00000000dead")
            }
            Which::ModelArts => {
                manifest["spec"]["modelarts"]["poolName"] =
                    json!("pool-no-such-resource-pool-0000000000000")
            }
            Which::Ens => manifest["spec"]["ens"]["clusterId"] = json!("eck-nosuch01"),
        }
        env.create(manifest).await.unwrap();
        env.wait_pool(name, "the missing parent reported", |p| {
            is(p, "Synced", "False", "CloudNotFound")
        })
        .await;
        env.delete_and_wait_gone(name).await;
    }
}

#[tokio::test]
async fn a_deletion_blocked_by_bad_credentials_says_why_and_force_orphan_releases_it() {
    let env = setup(Which::Cce).await;
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_ready("cce-workers", 2).await;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &env.ns);
    secrets
        .patch(
            "huawei-credentials",
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"secretKey": "revoked"}})),
        )
        .await
        .unwrap();
    env.pools()
        .delete("cce-workers", &DeleteParams::default())
        .await
        .unwrap();
    let blocked = env
        .wait_pool("cce-workers", "the blocked deletion reported", |p| {
            is(p, "Synced", "False", "CloudAuth")
                && p.status.as_ref().unwrap().phase.as_deref() == Some("Deleting")
        })
        .await;
    assert!(is(&blocked, "Ready", "False", "Deleting"));
    let text = message(&blocked, "Synced");
    assert!(
        text.contains("cannot be deleted") && text.contains("nodepool.io/force-orphan=true"),
        "{text}"
    );
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(env.client.clone(), &env.ns);
    wait_for("a DeletionBlocked event", DEADLINE, || async {
        events
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .any(|e| e.reason.as_deref() == Some("DeletionBlocked"))
            .then_some(())
    })
    .await;
    env.pools()
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(
                &json!({"metadata": {"annotations": {"nodepool.io/force-orphan": "true"}}}),
            ),
        )
        .await
        .unwrap();
    wait_for("the NodePool released", DEADLINE, || async {
        env.pools()
            .get_opt("cce-workers")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(env.sim_pools(Cloud::Cce).len(), 1, "the cloud pool stays");
}

#[tokio::test]
async fn a_sold_out_pool_is_not_asked_again_for_the_same_count() {
    let mut env = Env::new(SimConfig {
        timing: fast_timing(100, 50),
        capacity: [("s6.large.2".to_owned(), 1)].into(),
        ..SimConfig::default()
    })
    .await;
    env.apply_all(sample(Which::Cce.account(), &env.sim)).await;
    env.start_operator(SETTLED);
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_pool("cce-workers", "SoldOut", |p| {
        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("SoldOut")
    })
    .await;
    let updates = requests_of(&env.sim, "update");
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        requests_of(&env.sim, "update"),
        updates,
        "the cloud already aims at the declared count"
    );
}

#[tokio::test]
async fn autoscaling_enabled_in_the_console_is_never_overridden() {
    let mut env = Env::fast().await;
    let mut account = sample(Which::Cce.account(), &env.sim);
    account[1]["spec"]["pollIntervalSeconds"] = json!(1);
    env.apply_all(account).await;
    env.start_operator(SETTLED);
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    let ready = env.wait_ready("cce-workers", 2).await;
    let id = ready.status.clone().unwrap().pool_id.unwrap();
    // A user turns autoscaling on in the console; the spec says nothing about it.
    let cloud = console(&env.sim, Which::Cce);
    let (parent, _) = declared(Which::Cce, &env.sim, "cce-workers");
    let observed = cloud.get(&parent, &id).await.unwrap().unwrap();
    let mut pool: NodePool =
        serde_json::from_value(sample(Which::Cce.sample(), &env.sim)[0].clone()).unwrap();
    pool.metadata.uid = ready.metadata.uid.clone();
    pool.spec.cce.as_mut().unwrap().autoscaling = Some(
        serde_json::from_value(json!({"enable": true, "minNodeCount": 1, "maxNodeCount": 6}))
            .unwrap(),
    );
    let console_pool = validate::validate(&pool).unwrap().pool;
    cloud
        .update(&parent, &observed, &console_pool, CountUpdate::Keep)
        .await
        .unwrap();
    let console_change = env.sim.requests().len();
    let answer = reqwest::Client::new()
        .post(format!("{}/_sim/pools/cce/{id}/autoscale", env.sim.url()))
        .json(&json!({"count": 5}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    env.wait_ready("cce-workers", 5).await;
    // Polls go on (1 s), and none pushes the declared 2 over the autoscaler.
    tokio::time::sleep(QUIET).await;
    let pushed: Vec<Value> = env
        .sim
        .requests()
        .into_iter()
        .skip(console_change)
        .filter(|r| r.operation == "update")
        .filter_map(|r| r.body)
        .filter(|body| body["spec"].get("initialNodeCount").is_some())
        .collect();
    assert!(pushed.is_empty(), "{pushed:?}");
    assert_eq!(env.sim_pools(Cloud::Cce)[0].current, 5);
}

#[tokio::test]
async fn during_a_cloud_outage_the_last_counts_stay_and_ready_is_unknown() {
    let env = setup(Which::Cce).await;
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_ready("cce-workers", 2).await;
    env.sim
        .add_fault(FaultRule {
            cloud: Some(Cloud::Cce),
            operation: None,
            effect: FaultEffect::Error { status: 503 },
            rate: None,
            count: None,
        })
        .unwrap();
    env.pools()
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.count_patch(3)),
        )
        .await
        .unwrap();
    let during = env
        .wait_pool("cce-workers", "the outage reported", |p| {
            is(p, "Synced", "False", "CloudUnavailable")
        })
        .await;
    let status = during.status.clone().unwrap();
    assert_eq!(status.current_node, Some(2));
    assert_eq!(status.phase.as_deref(), Some("Ready"));
    assert!(status.pool_id.is_some());
    assert!(is(&during, "Ready", "Unknown", "NotObserved"));
    tokio::time::sleep(QUIET).await;
    assert_eq!(
        env.pools()
            .get("cce-workers")
            .await
            .unwrap()
            .resource_version(),
        during.resource_version(),
        "retries through the outage write no status"
    );
    env.sim.clear_faults();
    env.wait_ready("cce-workers", 3).await;
}

#[tokio::test]
async fn a_paused_nodepool_whose_pool_was_deleted_shows_no_stale_counts() {
    let mut env = Env::fast().await;
    let mut account = sample(Which::Cce.account(), &env.sim);
    account[1]["spec"]["pollIntervalSeconds"] = json!(1);
    env.apply_all(account).await;
    env.start_operator(SETTLED);
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    let ready = env.wait_ready("cce-workers", 2).await;
    env.pools()
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"paused": true}})),
        )
        .await
        .unwrap();
    env.wait_pool("cce-workers", "paused", |p| {
        is(p, "Synced", "False", "Paused")
    })
    .await;
    let (parent, _) = declared(Which::Cce, &env.sim, "cce-workers");
    console(&env.sim, Which::Cce)
        .delete(&parent, &ready.status.unwrap().pool_id.unwrap())
        .await
        .unwrap();
    let gone = env
        .wait_pool("cce-workers", "the pool reported gone", |p| {
            is(p, "Ready", "False", "PoolNotFound")
        })
        .await;
    let status = gone.status.unwrap();
    assert_eq!(status.current_node, None);
    assert_eq!(status.creating_node, None);
    assert_eq!(status.cloud_state, None);
    assert_eq!(status.pool_id, None);
    assert_eq!(status.phase.as_deref(), Some("Pending"));
    assert!(
        env.sim_pools(Cloud::Cce).is_empty(),
        "paused: nothing is created"
    );
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_makes_one_ens_pool() {
    let env = setup(Which::Ens).await;
    env.sim
        .add_fault(FaultRule {
            cloud: Some(Cloud::Ens),
            operation: Some("CreateClusterNodePool".into()),
            effect: FaultEffect::DropAfterServing,
            rate: None,
            count: Some(1),
        })
        .unwrap();
    env.apply_all(sample(Which::Ens.sample(), &env.sim)).await;
    env.wait_ready("ens-edge", 2).await;
    assert_eq!(env.sim_pools(Cloud::Ens).len(), 1, "one pool, not two");
    assert_eq!(requests_of(&env.sim, "CreateClusterNodePool"), 1);
}

#[tokio::test]
async fn a_pool_made_after_the_last_list_is_adopted_not_created_again() {
    for which in [Which::Ens, Which::Cce] {
        let env = setup(which).await;
        // The parent's list made for the create's lookup is kept for the poll window.
        env.apply_all(sample(which.sample(), &env.sim)).await;
        env.wait_ready(name_of(which), 2).await;
        let list = match which {
            Which::Ens => "DescribeClusterNodePools",
            _ => "list",
        };
        // Once that list is too old for a create's lookup (but well within the poll window).
        let sim = &env.sim;
        wait_for(
            "the last list older than a create lookup",
            DEADLINE,
            || async {
                let last = sim.requests().into_iter().rfind(|r| r.operation == list)?;
                let at = chrono::DateTime::parse_from_rfc3339(&last.time).ok()?;
                let age = chrono::Utc::now().signed_duration_since(at).to_std().ok()?;
                (age > CREATE_LOOKUP_AGE).then_some(())
            },
        )
        .await;
        // Someone makes a pool by hand, then declares it.
        let (parent, pool) = declared(which, &env.sim, "made-by-hand");
        let made = console(&env.sim, which)
            .create(&parent, &pool)
            .await
            .unwrap();
        let creates = requests_of(&env.sim, which.create_operation());
        let mut manifest = sample(which.sample(), &env.sim)[0].clone();
        manifest["metadata"]["name"] = json!("made-by-hand");
        env.create(manifest).await.unwrap();
        let adopted = env.wait_ready("made-by-hand", 2).await;
        assert_eq!(adopted.status.unwrap().pool_id, Some(made.id), "{which:?}");
        assert_eq!(
            requests_of(&env.sim, which.create_operation()),
            creates,
            "{which:?}: looked up by name, not created"
        );
        assert_eq!(env.sim_pools(which.cloud()).len(), 2, "{which:?}");
    }
}

#[tokio::test]
async fn pools_never_flip_back_after_they_turn_ready() {
    // Scaling takes a second, long enough for another pool's reconcile to list it mid-way.
    let mut env = Env::new(SimConfig {
        timing: fast_timing(1000, 50),
        ..SimConfig::default()
    })
    .await;
    env.apply_all(sample(Which::Cce.account(), &env.sim)).await;
    env.start_operator(SETTLED);
    let template = sample(Which::Cce.sample(), &env.sim)[0].clone();
    for name in ["scaled", "relabelled"] {
        let mut pool = template.clone();
        pool["metadata"]["name"] = json!(name);
        env.create(pool).await.unwrap();
    }
    env.wait_ready("scaled", 2).await;
    env.wait_ready("relabelled", 2).await;
    env.pools()
        .patch(
            "scaled",
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.count_patch(4)),
        )
        .await
        .unwrap();
    // The other pool's change makes it list the cluster while the first one scales.
    env.pools()
        .patch(
            "relabelled",
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.change_patch()),
        )
        .await
        .unwrap();
    let ready = env.wait_ready("scaled", 4).await;
    tokio::time::sleep(QUIET).await;
    let after = env.pools().get("scaled").await.unwrap();
    assert_eq!(
        after.status.as_ref().unwrap().phase.as_deref(),
        Some("Ready"),
        "an older list never overwrites a newer read"
    );
    assert_eq!(after.resource_version(), ready.resource_version());
}

/// GETs of `resource` the operator made in the test's namespace, by object name.
fn operator_reads(env: &Env, resource: &str) -> Vec<String> {
    env.cluster
        .audit_events_of(support::cluster::OPERATOR_USER)
        .into_iter()
        .filter(|e| e["stage"] == "ResponseComplete" && e["verb"] == "get")
        .filter(|e| e["objectRef"]["namespace"] == env.ns.name.as_str())
        .filter(|e| e["objectRef"]["resource"] == resource)
        .map(|e| {
            e["objectRef"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_secret_change_wakes_only_the_pools_that_use_it_and_accounts_come_from_the_cache() {
    let env = setup(Which::Cce).await;
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_ready("cce-workers", 2).await;
    let accounts_read = operator_reads(&env, "cloudaccounts").len();
    let secrets_read = operator_reads(&env, "secrets").len();
    // A Secret no account uses comes and changes.
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), &env.ns);
    let unrelated: Secret = serde_json::from_value(json!({
        "metadata": {"name": "unrelated"},
        "stringData": {"token": "one"},
    }))
    .unwrap();
    secrets
        .create(&Default::default(), &unrelated)
        .await
        .unwrap();
    secrets
        .patch(
            "unrelated",
            &PatchParams::default(),
            &Patch::Merge(&json!({"stringData": {"token": "two"}})),
        )
        .await
        .unwrap();
    // Then the account's own Secret is rotated: its pool reads it once more.
    secrets
        .patch(
            "huawei-credentials",
            &PatchParams::default(),
            &Patch::Merge(&json!({"metadata": {"annotations": {"rotated": "1"}}})),
        )
        .await
        .unwrap();
    wait_for("the rotated Secret read", DEADLINE, || async {
        (operator_reads(&env, "secrets").len() > secrets_read).then_some(())
    })
    .await;
    let reads = operator_reads(&env, "secrets");
    assert_eq!(
        &reads[secrets_read..],
        ["huawei-credentials"],
        "only the account's Secret, once"
    );
    assert_eq!(
        operator_reads(&env, "cloudaccounts").len(),
        accounts_read,
        "CloudAccounts are read from the watch cache"
    );
}

#[tokio::test]
async fn a_cloud_refusal_that_clears_by_itself_is_retried_without_a_spec_change() {
    let env = setup(Which::Cce).await;
    let upgrading = |operation: &str, count| FaultRule {
        cloud: Some(Cloud::Cce),
        operation: Some(operation.into()),
        effect: FaultEffect::Refuse {
            status: 400,
            code: "CCE.01400001".into(),
            message: "the cluster is being upgraded".into(),
        },
        rate: None,
        count: Some(count),
    };
    env.sim.add_fault(upgrading("create", 2)).unwrap();
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    let refused = env
        .wait_pool("cce-workers", "the refusal reported", |p| {
            is(p, "Synced", "False", "CloudInvalidRequest")
        })
        .await;
    assert!(
        message(&refused, "Synced").contains("CCE.01400001: the cluster is being upgraded"),
        "{}",
        message(&refused, "Synced")
    );
    let ready = env.wait_ready("cce-workers", 2).await;
    assert_eq!(
        ready.metadata.generation, refused.metadata.generation,
        "no spec change was needed"
    );
    // A refused deletion is retried the same way.
    env.sim.add_fault(upgrading("delete", 1)).unwrap();
    env.delete_and_wait_gone("cce-workers").await;
    assert!(env.sim_pools(Cloud::Cce).is_empty());
}

/// A NodePool and a CloudAccount stored under an earlier schema (written to etcd directly, as
/// an older CRD version left them): integers beyond the int32 the operator's types hold.
#[tokio::test]
async fn a_nodepool_the_operator_cannot_read_is_reported_and_the_others_go_on() {
    let env = setup(Which::Cce).await;
    let mut unreadable = sample(Which::Cce.sample(), &env.sim)[0].clone();
    let ns = env.ns.name.clone();
    unreadable["metadata"] = json!({
        "name": "unreadable",
        "namespace": ns,
        "uid": "00000000-0000-0000-0000-00000000beef",
        "generation": 1,
        "creationTimestamp": "2026-01-01T00:00:00Z",
    });
    unreadable["spec"]["cce"]["nodeTemplate"]["billingMode"] = json!(1_u64 << 40);
    env.cluster
        .etcd_put(
            &format!("/registry/nodepool.io/nodepools/{ns}/unreadable"),
            &unreadable,
        )
        .await;
    assert!(
        env.pools().get("unreadable").await.is_err(),
        "the API server serves it, the operator's types cannot read it"
    );
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_ready("cce-workers", 2).await;
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(env.client.clone(), &env.ns);
    let note = wait_for("a MalformedObject event", DEADLINE, || async {
        events
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .into_iter()
            .find(|e| {
                e.reason.as_deref() == Some("MalformedObject")
                    && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("unreadable")
            })
            .and_then(|e| e.note)
    })
    .await;
    assert!(
        note.contains("cannot be read by this operator") && note.contains("1099511627776"),
        "{note}"
    );
    // A CloudAccount stored the same way: its NodePools say so; they do not wait silently.
    let mut account = sample(Which::Cce.account(), &env.sim)
        .into_iter()
        .find(|m| m["kind"] == "CloudAccount")
        .unwrap();
    account["metadata"] = json!({
        "name": "unreadable-account",
        "namespace": ns,
        "uid": "00000000-0000-0000-0000-00000000cafe",
        "generation": 1,
        "creationTimestamp": "2026-01-01T00:00:00Z",
    });
    account["spec"]["pollIntervalSeconds"] = json!(1_u64 << 40);
    env.cluster
        .etcd_put(
            &format!("/registry/nodepool.io/cloudaccounts/{ns}/unreadable-account"),
            &account,
        )
        .await;
    let mut on_it = sample(Which::Cce.sample(), &env.sim)[0].clone();
    on_it["metadata"]["name"] = json!("on-unreadable-account");
    on_it["spec"]["accountRef"]["name"] = json!("unreadable-account");
    env.create(on_it).await.unwrap();
    let waiting = env
        .wait_pool(
            "on-unreadable-account",
            "the unreadable account reported",
            |p| is(p, "Synced", "False", "MalformedObject"),
        )
        .await;
    let text = message(&waiting, "Synced");
    assert!(
        text.contains("unreadable-account cannot be read by this operator"),
        "{text}"
    );
    // Nothing was created for either, and the readable pool is still Ready.
    let names: Vec<String> = env
        .sim_pools(Cloud::Cce)
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert_eq!(names, ["cce-workers"]);
    env.wait_ready("cce-workers", 2).await;
}

#[tokio::test]
async fn nodepools_queued_behind_the_rate_budget_say_so_at_once() {
    let mut env = Env::fast().await;
    // One call every ten seconds and one reconcile at a time: the last of six NodePools waits
    // a minute for its turn.
    let mut account = sample(Which::Cce.account(), &env.sim);
    account[1]["spec"]["rateBudget"] = json!({"requestsPerSecond": 0.1, "burst": 1});
    env.apply_all(account).await;
    let mut config = env.config(SETTLED);
    config.concurrency = 1;
    env.start_operator_with(config);
    let template = sample(Which::Cce.sample(), &env.sim)[0].clone();
    let names: Vec<String> = (0..6).map(|i| format!("queued-{i}")).collect();
    for name in &names {
        let mut pool = template.clone();
        pool["metadata"]["name"] = json!(name);
        env.create(pool).await.unwrap();
    }
    let pools = env.pools();
    let last = wait_for(
        "every NodePool with a status",
        Duration::from_secs(15),
        || async {
            let listed = pools.list(&Default::default()).await.ok()?;
            listed
                .items
                .iter()
                .all(|p| p.status.is_some())
                .then(|| listed.items.into_iter().find(|p| p.name_any() == names[5]))
                .flatten()
        },
    )
    .await;
    assert!(is(&last, "Synced", "False", "Queued"), "{:?}", last.status);
    assert!(is(&last, "Ready", "Unknown", "Queued"), "{:?}", last.status);
    assert_eq!(
        last.status.and_then(|s| s.phase).as_deref(),
        Some("Pending")
    );
}
