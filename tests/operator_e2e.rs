//! End to end: the real operator (in-process, as the ServiceAccount `deploy/rbac.yaml` binds)
//! against a real etcd + kube-apiserver and the cloud simulator, with the sample manifests of
//! `deploy/samples/`, on all three clouds. Each test works in a namespace of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use kube::Api;
use kube::api::{Patch, PatchParams};
use nodepool_operator::api::CloudAccount;
use nodepool_operator::controller::Config;
use nodepool_sim::{Cloud, FaultEffect, FaultRule, SimConfig};
use serde_json::{Value, json};
use support::kube_proxy::FailRule;
use support::operator::*;
use support::wait_for;

#[tokio::test]
async fn apply_scale_change_and_delete_on_every_cloud() {
    for which in ALL {
        let env = setup(which).await;
        let name = name_of(which);
        env.apply_all(sample(which.sample(), &env.sim)).await;
        let ready = env.wait_ready(name, 2).await;
        let status = ready.status.clone().unwrap();
        assert_eq!(status.desired_node, Some(2), "{which:?}");
        assert_eq!(status.phase.as_deref(), Some("Ready"));
        assert_eq!(condition(&ready, "Synced").unwrap().0, "True");
        assert_eq!(status.observed_generation, ready.metadata.generation);
        let pool_id = status.pool_id.clone().unwrap();
        // Events tell the story; the account says its credentials work.
        let events: Api<k8s_openapi::api::events::v1::Event> =
            Api::namespaced(env.client.clone(), &env.ns);
        // The Ready event is published after the status write that shows Ready.
        wait_for("the Created and Ready events", DEADLINE, || async {
            let reasons: Vec<String> = events
                .list(&Default::default())
                .await
                .unwrap()
                .items
                .into_iter()
                .filter_map(|e| e.reason)
                .collect();
            (reasons.iter().any(|r| r == "Created") && reasons.iter().any(|r| r == "Ready"))
                .then_some(())
        })
        .await;
        let accounts: Api<CloudAccount> = Api::namespaced(env.client.clone(), &env.ns);
        let account_name = if which == Which::Ens {
            "alibaba"
        } else {
            "huawei"
        };
        let account = accounts.get(account_name).await.unwrap();
        let ready = account
            .status
            .unwrap()
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Ready")
            .unwrap();
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            ("True", "CredentialsWork")
        );
        assert_eq!(env.sim_pools(which.cloud()).len(), 1);
        let sim_id = env.sim_pools(which.cloud())[0].id.clone();
        assert!(
            sim_id == pool_id || sim_id.ends_with(&format!("/{pool_id}")),
            "{sim_id} vs {pool_id}"
        );

        env.pools()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&which.count_patch(4)),
            )
            .await
            .unwrap();
        env.wait_ready(name, 4).await;
        env.pools()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&which.count_patch(1)),
            )
            .await
            .unwrap();
        env.wait_ready(name, 1).await;
        assert_eq!(env.sim_pools(which.cloud())[0].current, 1, "{which:?}");

        env.pools()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&which.change_patch()),
            )
            .await
            .unwrap();
        let sim = &env.sim;
        wait_for("the change reaches the cloud", DEADLINE, || async {
            sim.requests()
                .iter()
                .any(|r| r.operation == which.change_operation() && r.status == Some(200))
                .then_some(())
        })
        .await;

        env.delete_and_wait_gone(name).await;
        assert!(
            env.sim_pools(which.cloud()).is_empty(),
            "{which:?}: the cloud pool is deleted"
        );
    }
}

/// An operator behind a proxy, with the account of `which` applied.
async fn setup_with_proxy(which: Which) -> Env {
    let mut env = Env::fast().await;
    env.apply_all(sample(which.account(), &env.sim)).await;
    env.with_proxy().await;
    env.start_operator(Duration::from_secs(300));
    env
}

/// Applies the sample NodePool of `which` again while every status write fails until three
/// have (the first status, at most two tries, and at least one reconcile's): the NodePool
/// reconciles with no status at all, so it has only the cloud to go by.
async fn declare_again_while_status_writes_fail(env: &Env, which: Which) {
    let proxy = env.proxy.as_ref().unwrap();
    proxy.fail(FailRule {
        method: Some("PATCH".into()),
        resource: Some("nodepools".into()),
        subresource: Some("status".into()),
        status: 500,
        count: 1000,
        ..FailRule::default()
    });
    env.apply_all(sample(which.sample(), &env.sim)).await;
    let status_path = format!("/{}/status", name_of(which));
    wait_for("three failed status writes", DEADLINE, || async {
        let failed = proxy
            .requests()
            .iter()
            .filter(|r| r.method == "PATCH" && r.path.ends_with(&status_path))
            .filter(|r| r.status == 500)
            .count();
        (failed >= 3).then_some(())
    })
    .await;
    proxy.clear();
}

/// The cloud pool id of the NodePool `name` once it is Ready with 2 nodes.
async fn ready_pool_id(env: &Env, name: &str) -> String {
    env.wait_ready(name, 2)
        .await
        .status
        .unwrap()
        .pool_id
        .unwrap()
}

fn successful_creates(env: &Env, which: Which) -> usize {
    env.sim
        .requests()
        .iter()
        .filter(|r| r.operation == which.create_operation())
        .filter(|r| r.status == Some(200) || r.status == Some(201))
        .count()
}

/// A new pool is told once and written few times, since a burst of creates makes every one of
/// these writes for each NodePool: its Events are `Created` and `Ready` (no `Planned`,
/// `Applied` or `Creating` beside `Created`), and the pool's id arrives with the status that
/// shows it `Creating`, not in a write of its own.
#[tokio::test]
async fn a_create_is_told_by_created_and_ready_and_its_id_comes_with_its_status() {
    for which in ALL {
        let env = setup(which).await;
        let name = name_of(which);
        env.apply_all(sample(which.sample(), &env.sim)).await;
        env.wait_ready(name, 2).await;
        let regarding = |event: &Value| {
            event["objectRef"]["namespace"] == env.ns.name.as_str()
                && event["requestObject"]["regarding"]["name"] == name
        };
        wait_for("the Ready event", DEADLINE, || async {
            env.cluster
                .audit_events_of(support::cluster::OPERATOR_USER)
                .iter()
                .any(|e| regarding(e) && e["requestObject"]["reason"] == "Ready")
                .then_some(())
        })
        .await;
        let audited = env.cluster.audit_events_of(support::cluster::OPERATOR_USER);
        let reasons: Vec<&str> = audited
            .iter()
            .filter(|e| e["objectRef"]["resource"] == "events" && regarding(e))
            .filter_map(|e| e["requestObject"]["reason"].as_str())
            .collect();
        assert_eq!(reasons, ["Created", "Ready"], "{which:?}");

        let status_writes: Vec<&Value> = audited
            .iter()
            .filter(|e| {
                e["objectRef"]["namespace"] == env.ns.name.as_str()
                    && e["objectRef"]["name"] == name
                    && e["objectRef"]["subresource"] == "status"
            })
            .map(|e| &e["requestObject"]["status"])
            .collect();
        let first_with_id = status_writes
            .iter()
            .find(|status| status.get("poolId").is_some())
            .unwrap();
        assert_eq!(
            first_with_id["phase"], "Creating",
            "{which:?}: {first_with_id}"
        );
    }
}

/// Orphaning removes the operator's mark from the cloud pool; declaring the NodePool again
/// adopts that pool at once, even when its first status writes fail (it must not trust a list
/// made before the mark went).
#[tokio::test]
async fn orphan_policy_leaves_the_cloud_pool_and_adoption_takes_it_back() {
    for which in ALL {
        let env = setup_with_proxy(which).await;
        let name = name_of(which);
        let mut manifests = sample(which.sample(), &env.sim);
        manifests[0]["spec"]["deletionPolicy"] = json!("Orphan");
        env.apply_all(manifests).await;
        let first = ready_pool_id(&env, name).await;
        env.delete_and_wait_gone(name).await;
        assert_eq!(
            env.sim_pools(which.cloud()).len(),
            1,
            "{which:?}: orphaned pool stays"
        );

        // Declaring it again adopts the existing pool instead of creating another.
        declare_again_while_status_writes_fail(&env, which).await;
        let adopted = ready_pool_id(&env, name).await;
        assert_eq!(adopted, first, "{which:?}");
        assert_eq!(env.sim_pools(which.cloud()).len(), 1);
        assert_eq!(
            successful_creates(&env, which),
            1,
            "{which:?}: one create in all"
        );
    }
}

/// A NodePool declared again once its deleted pool is gone gets a new pool at once, even when
/// its first status writes fail (it must not take a list made before the deletion for the
/// truth).
#[tokio::test]
async fn a_nodepool_declared_again_after_its_deletion_creates_a_new_pool_at_once() {
    for which in ALL {
        let env = setup_with_proxy(which).await;
        let name = name_of(which);
        env.apply_all(sample(which.sample(), &env.sim)).await;
        let first = ready_pool_id(&env, name).await;
        env.delete_and_wait_gone(name).await;
        assert!(env.sim_pools(which.cloud()).is_empty(), "{which:?}");

        declare_again_while_status_writes_fail(&env, which).await;
        let second = ready_pool_id(&env, name).await;
        assert_eq!(env.sim_pools(which.cloud()).len(), 1, "{which:?}");
        assert_eq!(successful_creates(&env, which), 2, "{which:?}");
        // ModelArts names pools by their name, so only the other clouds show a new id.
        if which != Which::ModelArts {
            assert_ne!(second, first, "{which:?}: a new cloud pool");
        }
    }
}

#[tokio::test]
async fn invalid_specs_are_rejected_by_the_schema_or_reported() {
    let env = setup(Which::Cce).await;
    // Two providers at once: 422 from the schema's CEL rule.
    let mut both = sample(Which::Cce.sample(), &env.sim)[0].clone();
    both["spec"]["modelarts"] =
        sample(Which::ModelArts.sample(), &env.sim)[0]["spec"]["modelarts"].clone();
    let error = env.create(both).await.unwrap_err();
    match error {
        kube::Error::Api(status) => {
            assert_eq!(status.code, 422);
            assert!(
                status
                    .message
                    .contains("exactly one of cce, modelarts, ens must be set"),
                "{}",
                status.message
            );
        }
        other => panic!("{other}"),
    }
    // A root volume out of range: 422.
    let mut small = sample(Which::Cce.sample(), &env.sim)[0].clone();
    small["spec"]["cce"]["nodeTemplate"]["rootVolume"]["size"] = json!(10);
    assert!(matches!(env.create(small).await, Err(kube::Error::Api(s)) if s.code == 422));
    // An ENS disk size not a multiple of 10: 422.
    let mut disk = sample(Which::Ens.sample(), &env.sim)[0].clone();
    disk["spec"]["ens"]["scalingGroup"]["systemDiskSize"] = json!(25);
    assert!(matches!(env.create(disk).await, Err(kube::Error::Api(s)) if s.code == 422));
    // A name CCE refuses (from metadata.name, which the schema cannot see): InvalidSpec.
    let mut bad_name = sample(Which::Cce.sample(), &env.sim)[0].clone();
    bad_name["metadata"]["name"] = json!("x".repeat(60));
    env.create(bad_name).await.unwrap();
    let reported = env
        .wait_pool(&"x".repeat(60), "InvalidSpec reported", |p| {
            condition(p, "Synced") == Some(("False".into(), "InvalidSpec".into()))
        })
        .await;
    assert!(env.sim_pools(Cloud::Cce).is_empty());
    assert!(
        reported
            .status
            .unwrap()
            .conditions
            .iter()
            .any(|c| c.message.contains("naming rule"))
    );
    // The immutable cluster id.
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    let change = json!({"spec": {"cce": {"clusterId": "00000000-0000-0000-0000-000000000000"}}});
    let error = env
        .pools()
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&change),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, kube::Error::Api(s) if s.code == 422 && s.message.contains("cce.clusterId cannot be changed in place"))
    );
}

#[tokio::test]
async fn a_missing_secret_is_reported_then_recovered() {
    for which in ALL {
        let mut env = Env::fast().await;
        let account = sample(which.account(), &env.sim);
        env.create(account[1].clone()).await.unwrap(); // the CloudAccount only
        env.start_operator(Duration::from_secs(300));
        env.apply_all(sample(which.sample(), &env.sim)).await;
        let name = name_of(which);
        let reported = env
            .wait_pool(name, "missing secret reported", |p| {
                condition(p, "Synced")
                    .is_some_and(|(s, r)| s == "False" && r == "CredentialsUnavailable")
            })
            .await;
        assert!(
            reported
                .status
                .unwrap()
                .conditions
                .iter()
                .any(|c| c.message.contains("not found"))
        );
        env.create(account[0].clone()).await.unwrap(); // the Secret appears
        env.wait_ready(name, 2).await;
    }
}

#[tokio::test]
async fn a_cloud_outage_is_reported_then_recovered() {
    for which in ALL {
        let env = setup(which).await;
        let name = name_of(which);
        env.apply_all(sample(which.sample(), &env.sim)).await;
        env.wait_ready(name, 2).await;
        // The cloud fails every call; a scale request cannot go through.
        let outage = env
            .sim
            .add_fault(FaultRule {
                cloud: Some(which.cloud()),
                operation: None,
                effect: FaultEffect::Error { status: 503 },
                rate: None,
                count: None,
            })
            .unwrap();
        env.pools()
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(&which.count_patch(3)),
            )
            .await
            .unwrap();
        let failed = env
            .wait_pool(name, "outage reported", |p| {
                condition(p, "Synced").is_some_and(|(s, r)| s == "False" && r == "CloudUnavailable")
            })
            .await;
        let message = failed
            .status
            .unwrap()
            .conditions
            .into_iter()
            .find(|c| c.type_ == "Synced")
            .unwrap()
            .message;
        assert!(message.starts_with("cloud: transient failure"), "{message}");
        let _ = outage;
        env.sim.clear_faults();
        env.wait_ready(name, 3).await;
        assert_eq!(
            condition(&env.pools().get(name).await.unwrap(), "Synced")
                .unwrap()
                .0,
            "True"
        );
    }
}

#[tokio::test]
async fn a_crash_between_create_and_status_write_does_not_create_twice() {
    for which in ALL {
        let mut env = Env::fast().await;
        env.apply_all(sample(which.account(), &env.sim)).await;
        // The status write that records the new pool's id fails, and the operator dies.
        env.with_proxy().await.fail(FailRule {
            method: Some("PATCH".into()),
            resource: Some("nodepools".into()),
            subresource: Some("status".into()),
            status: 500,
            count: 1000,
            ..FailRule::default()
        });
        env.start_operator(Duration::from_secs(300));
        env.apply_all(sample(which.sample(), &env.sim)).await;
        let sim = &env.sim;
        wait_for("the cloud create", DEADLINE, || async {
            sim.requests()
                .iter()
                .any(|r| {
                    r.operation == which.create_operation() && r.status.is_some_and(|s| s < 300)
                })
                .then_some(())
        })
        .await;
        env.kill_operator();
        env.proxy.as_ref().unwrap().clear();
        env.start_operator(Duration::from_secs(300));
        env.wait_ready(name_of(which), 2).await;
        assert_eq!(
            env.sim_pools(which.cloud()).len(),
            1,
            "{which:?}: exactly one pool"
        );
    }
}

#[tokio::test]
async fn settled_pools_cost_one_list_per_poll_window_and_no_writes() {
    let mut env = Env::new(SimConfig::instant()).await;
    let poll = Duration::from_secs(2);
    let mut account = sample("huawei-account.yaml", &env.sim);
    account[1]["spec"]["pollIntervalSeconds"] = json!(poll.as_secs());
    env.apply_all(account).await;
    let template = sample("nodepool-cce.yaml", &env.sim)[0].clone();
    for i in 0..20 {
        let mut pool = template.clone();
        pool["metadata"]["name"] = json!(format!("pool-{i:02}"));
        env.create(pool).await.unwrap();
    }
    env.start_operator(Duration::from_secs(300));
    for i in 0..20 {
        env.wait_ready(&format!("pool-{i:02}"), 2).await;
    }
    // Let the pools settle into their poll rhythm, then count over three windows.
    tokio::time::sleep(poll).await;
    let before = env.sim.requests().len();
    let window_start = tokio::time::Instant::now();
    tokio::time::sleep(poll * 3).await;
    let elapsed = window_start.elapsed();
    let calls: Vec<_> = env.sim.requests().into_iter().skip(before).collect();
    let lists = calls.iter().filter(|r| r.operation == "list").count();
    let writes = calls
        .iter()
        .filter(|r| !matches!(r.operation.as_str(), "list" | "get"))
        .count();
    let windows = (elapsed.as_secs_f64() / poll.as_secs_f64()).ceil() as usize;
    println!(
        "20 settled CCE pools over {elapsed:?}: {lists} list calls, {} get calls, {writes} writes",
        calls.len() - lists - writes
    );
    assert_eq!(writes, 0, "{calls:?}");
    assert!(lists <= windows + 1, "{lists} lists in {windows} windows");
    assert!(
        lists >= 1,
        "the pools are still polled: {lists} lists in {windows} windows"
    );
    assert!(
        calls.iter().all(|r| r.operation == "list"),
        "only batched lists: {calls:?}"
    );
}

#[tokio::test]
async fn the_autoscaler_owns_the_count_when_autoscaling_is_enabled() {
    // The autoscaler's changes are seen at the next poll: a short one keeps the test brief.
    let mut env = Env::fast().await;
    let mut account = sample(Which::Cce.account(), &env.sim);
    account[1]["spec"]["pollIntervalSeconds"] = json!(1);
    env.apply_all(account).await;
    env.start_operator(Duration::from_secs(300));
    let mut pool = sample(Which::Cce.sample(), &env.sim)[0].clone();
    pool["spec"]["cce"]["autoscaling"] =
        json!({"enable": true, "minNodeCount": 1, "maxNodeCount": 6});
    env.create(pool).await.unwrap();
    let ready = env.wait_ready("cce-workers", 2).await;
    let id = ready.status.unwrap().pool_id.unwrap();
    // The cloud's autoscaler grows the pool; the operator reports it and does not undo it.
    let answer = reqwest::Client::new()
        .post(format!("{}/_sim/pools/cce/{id}/autoscale", env.sim.url()))
        .json(&json!({"count": 5}))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success());
    env.wait_ready("cce-workers", 5).await;
    // A label change still goes out, and it keeps the count: ignoreInitialNodeCount.
    env.pools()
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.change_patch()),
        )
        .await
        .unwrap();
    let sim = &env.sim;
    let update = wait_for("the label update", DEADLINE, || async {
        sim.requests()
            .into_iter()
            .find(|r| r.operation == "update" && r.status == Some(200))
    })
    .await;
    assert_eq!(update.body.unwrap()["spec"]["ignoreInitialNodeCount"], true);
    env.wait_ready("cce-workers", 5).await;
    assert_eq!(env.sim_pools(Cloud::Cce)[0].current, 5);
}

#[tokio::test]
async fn metrics_health_and_readiness_endpoints() {
    let mut env = Env::fast().await;
    env.apply_all(sample(Which::Cce.account(), &env.sim)).await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    env.start_operator_with(Config {
        metrics_addr: Some(addr),
        ..env.config(Duration::from_secs(300))
    });
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_ready("cce-workers", 2).await;
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let http = http.clone();
        async move { http.get(format!("http://{addr}{path}")).send().await.ok() }
    };
    assert_eq!(get("/healthz").await.unwrap().status(), 200);
    wait_for("ready", DEADLINE, || async {
        get("/readyz").await.filter(|r| r.status() == 200)
    })
    .await;
    let text = get("/metrics").await.unwrap().text().await.unwrap();
    assert!(
        text.contains("nodepool_reconciles_total{result=\"ok\"}"),
        "{text}"
    );
    assert!(
        text.contains(
            "nodepool_cloud_calls_total{cloud=\"cce\",operation=\"create\",result=\"ok\"} 1"
        ),
        "{text}"
    );
    assert!(
        text.contains("nodepool_reconcile_duration_seconds_bucket"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("# EOF"));
}

/// The `(apiGroup, resource[/subresource], verb)` triples the ClusterRole in `deploy/rbac.yaml`
/// grants.
fn granted_by_deploy_rbac() -> Vec<(String, String, String)> {
    granted_by("rbac.yaml", "ClusterRole")
}

/// The documents of a YAML file under `deploy/`.
fn deploy_documents(file: &str) -> Vec<Value> {
    let path = format!("{}/deploy/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}

/// The rights one Role or ClusterRole of a file under `deploy/` grants.
fn granted_by(file: &str, kind: &str) -> Vec<(String, String, String)> {
    let role = deploy_documents(file)
        .into_iter()
        .find(|d: &Value| d["kind"] == kind)
        .unwrap();
    let mut granted = Vec::new();
    for rule in role["rules"].as_array().unwrap() {
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    granted.push((
                        group.as_str().unwrap().to_owned(),
                        resource.as_str().unwrap().to_owned(),
                        verb.as_str().unwrap().to_owned(),
                    ));
                }
            }
        }
    }
    granted
}

/// The request URIs of audit events the API server answered with 403.
fn denied_requests(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|event| event["responseStatus"]["code"] == 403)
        .map(|event| event["requestURI"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// The operator runs as the ServiceAccount of `deploy/`; the API server's audit log shows it was
/// never denied and that it used every right `deploy/rbac.yaml` grants.
#[tokio::test]
async fn the_operator_is_never_denied_and_uses_every_rbac_rule() {
    let mut env = Env::fast().await;
    // Accounts whose Secrets come later: the operator must watch Secrets to recover.
    let huawei = sample("huawei-account.yaml", &env.sim);
    let alibaba = sample("alibaba-account.yaml", &env.sim);
    env.create(huawei[1].clone()).await.unwrap();
    env.create(alibaba[1].clone()).await.unwrap();
    env.start_operator(Duration::from_secs(300));
    for which in ALL {
        env.apply_all(sample(which.sample(), &env.sim)).await;
    }
    for which in ALL {
        env.wait_pool(name_of(which), "missing secret reported", |p| {
            condition(p, "Synced").is_some_and(|(_, r)| r == "CredentialsUnavailable")
        })
        .await;
    }
    env.create(huawei[0].clone()).await.unwrap();
    env.create(alibaba[0].clone()).await.unwrap();
    for which in ALL {
        env.wait_ready(name_of(which), 2).await;
        env.pools()
            .patch(
                name_of(which),
                &PatchParams::default(),
                &Patch::Merge(&which.count_patch(3)),
            )
            .await
            .unwrap();
    }
    for which in ALL {
        env.wait_ready(name_of(which), 3).await;
        env.delete_and_wait_gone(name_of(which)).await;
    }

    let events = env.cluster.audit_events_of(support::cluster::OPERATOR_USER);
    let denied = denied_requests(&events);
    let used: std::collections::BTreeSet<_> = events
        .iter()
        .map(|event| {
            let object = &event["objectRef"];
            let mut resource = object["resource"].as_str().unwrap_or_default().to_owned();
            if let Some(sub) = object["subresource"].as_str() {
                resource = format!("{resource}/{sub}");
            }
            (
                object["apiGroup"].as_str().unwrap_or_default().to_owned(),
                resource,
                event["verb"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    assert!(denied.is_empty(), "the operator was denied: {denied:?}");
    let unused: Vec<_> = granted_by_deploy_rbac()
        .into_iter()
        .filter(|rule| !used.contains(rule))
        .collect();
    assert!(
        unused.is_empty(),
        "deploy/rbac.yaml grants rights the operator never used: {unused:?}; used: {used:?}"
    );
}

/// Watch streams that end (an API server restart) or answer `410 Expired` (a compacted
/// resourceVersion) do not lose changes: the operator re-watches or relists and acts on them.
#[tokio::test]
async fn cut_and_expired_watches_lose_no_change() {
    let mut env = Env::fast().await;
    env.with_proxy().await;
    env.apply_all(sample(Which::Cce.account(), &env.sim)).await;
    env.start_operator(Duration::from_secs(300));
    env.apply_all(sample(Which::Cce.sample(), &env.sim)).await;
    env.wait_ready("cce-workers", 2).await;

    let proxy = env.proxy.as_ref().unwrap();
    proxy.cut_watches();
    env.pools()
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.count_patch(3)),
        )
        .await
        .unwrap();
    env.wait_ready("cce-workers", 3).await;

    // Every re-watch is refused as too old for a while: the watcher must relist.
    proxy.expire_watches(3);
    proxy.cut_watches();
    env.pools()
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&Which::Cce.count_patch(1)),
        )
        .await
        .unwrap();
    env.wait_ready("cce-workers", 1).await;
    let requests = proxy.requests();
    let relists = requests
        .iter()
        .filter(|r| {
            r.method == "GET"
                && r.path.ends_with("/nodepools")
                && !r.query.contains("watch=")
                && r.status == 200
        })
        .count();
    assert!(
        relists >= 2,
        "the watcher relisted after 410: {relists} lists"
    );
    assert_eq!(env.sim_pools(Cloud::Cce).len(), 1);
}

/// `409`, `429` and `5xx` answers and a slow API server delay the status, never lose it or
/// create twice.
#[tokio::test]
async fn conflicts_throttling_errors_and_latency_from_the_api_server_are_survived() {
    let mut env = Env::fast().await;
    let proxy = env.with_proxy().await;
    proxy.set_latency(Duration::from_millis(50));
    for (status, count) in [(409, 2), (429, 2), (500, 2), (503, 2)] {
        proxy.fail(FailRule {
            method: Some("PATCH".into()),
            resource: Some("nodepools".into()),
            status,
            count,
            ..FailRule::default()
        });
    }
    proxy.fail(FailRule {
        method: Some("GET".into()),
        resource: Some("cloudaccounts".into()),
        watch: Some(false),
        status: 503,
        count: 2,
        ..FailRule::default()
    });
    env.apply_all(sample(Which::Ens.account(), &env.sim)).await;
    env.start_operator(Duration::from_secs(300));
    env.apply_all(sample(Which::Ens.sample(), &env.sim)).await;
    env.wait_ready("ens-edge", 2).await;
    let proxy = env.proxy.as_ref().unwrap();
    let refused: Vec<u16> = proxy
        .requests()
        .iter()
        .map(|r| r.status)
        .filter(|s| [409, 429, 500, 503].contains(s))
        .collect();
    assert!(refused.len() >= 8, "the faults were served: {refused:?}");
    assert_eq!(env.sim_pools(Cloud::Ens).len(), 1, "one cloud pool");
    let creates = env
        .sim
        .requests()
        .iter()
        .filter(|r| r.operation == "CreateClusterNodePool" && r.status == Some(200))
        .count();
    assert_eq!(creates, 1);
}

/// In `--namespace` mode the Role of `deploy/namespaced/rbac.yaml`, bound in that namespace
/// only, is all the operator needs.
#[tokio::test]
async fn a_namespaced_role_is_enough_for_one_namespace() {
    use k8s_openapi::api::core::v1::ServiceAccount;
    use kube::api::{DynamicObject, PostParams};

    assert_eq!(
        granted_by("namespaced/rbac.yaml", "Role"),
        granted_by_deploy_rbac(),
        "the namespaced Role grants what the ClusterRole grants"
    );
    let mut env = Env::fast().await;
    let accounts: Api<ServiceAccount> = Api::namespaced(env.client.clone(), &env.ns);
    let account: ServiceAccount =
        serde_json::from_value(json!({"metadata": {"name": "scoped-operator"}})).unwrap();
    accounts
        .create(&PostParams::default(), &account)
        .await
        .unwrap();
    for mut document in deploy_documents("namespaced/rbac.yaml") {
        let kind = document["kind"].as_str().unwrap().to_owned();
        if kind == "RoleBinding" {
            document["subjects"][0]["name"] = json!("scoped-operator");
            document["subjects"][0]["namespace"] = json!(env.ns.name);
        }
        let resource = if kind == "Role" {
            kube::discovery::ApiResource::erase::<k8s_openapi::api::rbac::v1::Role>(&())
        } else {
            kube::discovery::ApiResource::erase::<k8s_openapi::api::rbac::v1::RoleBinding>(&())
        };
        let api: Api<DynamicObject> = Api::namespaced_with(env.client.clone(), &env.ns, &resource);
        api.create(
            &PostParams::default(),
            &serde_json::from_value(document).unwrap(),
        )
        .await
        .unwrap();
    }
    let token =
        support::cluster::service_account_token(&env.client, &env.ns, "scoped-operator").await;
    env.operator_client = env
        .cluster
        .client_with_token(&env.cluster.url, &token)
        .await;

    env.apply_all(sample(Which::Ens.account(), &env.sim)).await;
    env.start_operator(Duration::from_secs(300));
    env.apply_all(sample(Which::Ens.sample(), &env.sim)).await;
    env.wait_ready("ens-edge", 2).await;
    env.delete_and_wait_gone("ens-edge").await;

    let user = format!("system:serviceaccount:{}:scoped-operator", env.ns.name);
    let events = env.cluster.audit_events_of(&user);
    let (seen, denied) = (events.len(), denied_requests(&events));
    assert!(seen > 0, "the scoped operator made requests");
    assert!(
        denied.is_empty(),
        "the scoped operator was denied: {denied:?}"
    );
}

/// A stop that comes while the NodePool cache is still unfilled (here: its list keeps failing)
/// ends the operator at once: no reconcile has started, so there is nothing to wait for.
#[tokio::test]
async fn a_stop_before_the_nodepool_cache_is_filled_ends_at_once() {
    let mut env = Env::fast().await;
    let proxy = env.with_proxy().await;
    // The readiness check's list passes; the watcher's lists fail.
    proxy.fail(FailRule {
        method: Some("GET".into()),
        resource: Some("nodepools".into()),
        watch: Some(false),
        status: 503,
        count: usize::MAX,
        after: 1,
        ..FailRule::default()
    });
    let mut config = env.config(Duration::from_secs(300));
    config.shutdown_timeout = Duration::from_secs(60);
    env.start_operator_with(config);
    wait_for(
        "the watcher's list refused",
        Duration::from_secs(60),
        || async {
            let proxy = env.proxy.as_ref().unwrap();
            proxy
                .requests()
                .iter()
                .any(|r| r.path.ends_with("/nodepools") && r.status == 503)
                .then_some(())
        },
    )
    .await;
    let (task, stop) = env.operator.take().unwrap();
    let stopping = std::time::Instant::now();
    stop.send(()).unwrap();
    // Bounded by the 60 s shutdown timeout if the stop waited for the cache.
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the operator ends long before its shutdown timeout")
        .unwrap();
    assert!(stopping.elapsed() < Duration::from_secs(30));
}
