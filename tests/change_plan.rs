//! `changePolicy: Manual`: the plan is shown in status and nothing reaches the cloud until a
//! person approves it by annotating the NodePool with the plan's hash; then it is carried out
//! and the plan is gone. Real operator, real API server, simulator.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use kube::api::{Patch, PatchParams};
use nodepool_operator::api::{APPROVE_PLAN_ANNOTATION, NodePool, Plan};
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
    let plan = pool.status.clone().unwrap().plan.unwrap();
    (pool, plan)
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
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(env.client.clone(), &env.ns);
    wait_for(
        "the Planned, Approved and Applied events",
        DEADLINE,
        || async {
            let reasons: Vec<String> = events
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .filter_map(|e| e.reason)
                .collect();
            ["Planned", "Approved", "Applied"]
                .iter()
                .all(|r| reasons.iter().any(|have| have == r))
                .then_some(())
        },
    )
    .await;
}
