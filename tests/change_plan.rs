//! `changePolicy: Manual`: the plan is shown in status and nothing reaches the cloud until a
//! person approves it by annotating the NodePool with the plan's hash; then it is carried out
//! and the plan is gone. Real operator, real API server, simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Patch, PatchParams};
use nodepool_operator::api::{APPROVE_PLAN_ANNOTATION, NodePool, Plan, RETRY_ANNOTATION};
use nodepool_sim::{Cloud, FaultEffect, FaultRule};
use serde_json::json;
use support::operator::*;
use support::wait_for;

const NAME: &str = "cce-workers";

async fn waiting_plan(env: &Env, action: &str) -> (NodePool, Plan) {
    let pool = env
        .wait_pool(NAME, &format!("a {action} plan awaiting approval"), |p| {
            let status = p.status.clone().unwrap_or_default();
            status
                .plan
                .as_ref()
                .is_some_and(|plan| plan.action == action)
                && condition(p, "Synced").is_some_and(|(_, reason)| reason == "AwaitingApproval")
        })
        .await;
    let plan = *pool.status.clone().unwrap().plan.unwrap();
    (pool, plan)
}

/// The (reason, note) of every Event in the test's namespace.
async fn told(env: &Env) -> Vec<(String, String)> {
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(env.client.clone(), &env.ns);
    events
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|e| Some((e.reason?, e.note.unwrap_or_default())))
        .collect()
}

async fn approve(env: &Env, hash: &str) {
    let patch = json!({"metadata": {"annotations": {APPROVE_PLAN_ANNOTATION: hash}}});
    env.pools()
        .patch(NAME, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

fn cloud_writes(env: &Env, after: u64) -> Vec<String> {
    env.sim
        .requests()
        .into_iter()
        .filter(|r| r.seq > after && r.method != "GET" && r.operation != "token")
        .map(|r| r.operation)
        .collect()
}

#[tokio::test]
async fn a_manual_nodepool_shows_its_plan_and_acts_only_once_approved() {
    let env = setup(Which::Cce).await;
    let mut manifest = sample(Which::Cce.sample(), &env.sim).remove(0);
    manifest["spec"]["changePolicy"] = json!("Manual");
    env.create(manifest).await.unwrap();

    // The create waits: shown, explained, nothing sent.
    let (pool, plan) = waiting_plan(&env, "Create").await;
    assert_eq!(plan.nodes_added, Some(2));
    let synced = pool.status.clone().unwrap().conditions;
    let message = &synced.iter().find(|c| c.type_ == "Synced").unwrap().message;
    assert!(
        message.contains(&format!("{APPROVE_PLAN_ANNOTATION}={}", plan.hash)),
        "{message}"
    );
    assert_eq!(
        condition(&pool, "Reconciling").unwrap().1,
        "AwaitingApproval"
    );
    assert!(
        cloud_writes(&env, 0).is_empty(),
        "{:?}",
        cloud_writes(&env, 0)
    );
    assert!(env.sim_pools(Which::Cce.cloud()).is_empty());

    // Approved: carried out, and the plan is gone.
    approve(&env, &plan.hash).await;
    let ready = env.wait_ready(NAME, 2).await;
    assert_eq!(ready.status.unwrap().plan, None);
    // A create that waited for approval is told as a plan, unlike one carried out at once.
    wait_for(
        "the create plan's Planned and Applied events",
        DEADLINE,
        || async {
            let told = told(&env).await;
            let has = |reason: &str| {
                told.iter()
                    .any(|(r, note)| r == reason && note.contains(&plan.hash))
            };
            (has("Planned") && has("Applied")).then_some(())
        },
    )
    .await;

    // A scale-in waits for its own approval: the old one does not cover it.
    let mark = env.sim.requests().last().unwrap().seq;
    env.pools()
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.count_patch(1)),
        )
        .await
        .unwrap();
    let (_, scale_in) = waiting_plan(&env, "Update").await;
    assert_eq!(scale_in.nodes_removed, Some(1));
    let change = &scale_in.changes[0];
    assert_eq!(
        (
            change.field.as_str(),
            change.from.as_str(),
            change.to.as_str(),
            change.change.as_str()
        ),
        ("cce.initialNodeCount", "2", "1", "in place")
    );
    assert!(
        cloud_writes(&env, mark).is_empty(),
        "{:?}",
        cloud_writes(&env, mark)
    );
    approve(&env, &scale_in.hash).await;
    let smaller = env.wait_ready(NAME, 1).await;
    assert_eq!(smaller.status.unwrap().plan, None);
    assert_eq!(cloud_writes(&env, mark), ["update"]);

    // Events tell the story.
    wait_for(
        "the Planned, Approved and Applied events",
        DEADLINE,
        || async {
            let reasons: Vec<String> = told(&env).await.into_iter().map(|(r, _)| r).collect();
            ["Planned", "Approved", "Applied"]
                .iter()
                .all(|r| reasons.iter().any(|have| have == r))
                .then_some(())
        },
    )
    .await;
}

fn calls(env: &Env, operation: &str) -> usize {
    env.sim
        .requests()
        .iter()
        .filter(|r| r.operation == operation)
        .count()
}

/// A change the cloud keeps refusing (CCE's 400 to every update) is tried the operator's
/// number of times (3 in tests), then shown as Stalled and not Ready, and no longer sent while
/// the pool is still polled; a new value of the retry annotation sends it once more.
#[tokio::test]
async fn a_change_the_cloud_keeps_refusing_is_stalled_never_ready_and_not_sent_again() {
    let mut env = Env::fast().await;
    env.apply_all(sample(Which::Cce.account(), &env.sim)).await;
    env.start_operator(std::time::Duration::from_secs(300));
    let mut manifest = sample(Which::Cce.sample(), &env.sim).remove(0);
    // Polled every second, so that a resend would show within a few seconds.
    manifest["spec"]["pollIntervalSeconds"] = json!(1);
    env.create(manifest).await.unwrap();
    env.wait_ready(NAME, 2).await;

    env.sim
        .add_fault(FaultRule {
            cloud: Some(Cloud::Cce),
            operation: Some("update".into()),
            effect: FaultEffect::Refuse {
                status: 400,
                code: "CCE.01400012".into(),
                message: "the node pool cannot be updated".into(),
            },
            rate: None,
            count: None,
        })
        .unwrap();
    env.pools()
        .patch(
            NAME,
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.change_patch()),
        )
        .await
        .unwrap();
    let stalled = env
        .wait_pool(NAME, "the refused change given up", |p| {
            let plan = p.status.clone().unwrap_or_default().plan;
            plan.and_then(|p| p.refused).is_some_and(|r| r.times == 3)
        })
        .await;
    assert_eq!(
        condition(&stalled, "Stalled"),
        Some(("True".into(), "ChangeRefused".into()))
    );
    assert_eq!(
        condition(&stalled, "Ready"),
        Some(("False".into(), "ChangeRefused".into())),
        "a pool whose change is refused is not shown as Ready"
    );
    let status = stalled.status.clone().unwrap();
    let message = status.message.clone().unwrap_or_default();
    assert!(
        message.contains("CCE.01400012") && message.contains("not sent again"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{RETRY_ANNOTATION}=")),
        "{message}"
    );
    assert_eq!(calls(&env, "update"), 3);

    // Polled (a list per poll window), never sent again.
    let lists = calls(&env, "list");
    wait_for("three more poll windows", DEADLINE, || async {
        (calls(&env, "list") >= lists + 3).then_some(())
    })
    .await;
    assert_eq!(calls(&env, "update"), 3, "a given-up change is not resent");
    let still = env.pools().get(NAME).await.unwrap();
    assert_eq!(still.status, Some(status), "and its status stays as it was");

    // The cloud accepts it again; a retry sends it once more.
    env.sim.clear_faults();
    let retry = json!({"metadata": {"annotations": {RETRY_ANNOTATION: "1"}}});
    env.pools()
        .patch(NAME, &PatchParams::default(), &Patch::Merge(&retry))
        .await
        .unwrap();
    let done = env
        .wait_pool(NAME, "the change carried out", |p| {
            p.status.clone().unwrap_or_default().plan.is_none()
                && condition(p, "Ready") == Some(("True".into(), "PoolReady".into()))
        })
        .await;
    assert_eq!(
        condition(&done, "Stalled"),
        Some(("False".into(), "Progressing".into()))
    );
    assert_eq!(calls(&env, "update"), 4);
}
