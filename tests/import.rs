//! `nodepool-operator import` against the simulator and the real API server: pools made
//! outside the operator (as through a console) come out as NodePool manifests that, once
//! applied, adopt every pool and show it Ready, with no cloud write at all in observe-only
//! mode and none but the ownership mark when taken over.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use nodepool_operator::provider::retry::RetryPolicy;
use nodepool_operator::provider::{DesiredPool, NodePoolProvider, PoolPhase};
use nodepool_sim::RecordedRequest;
use nodepool_sim::config;
use support::operator::*;
use support::scale::MUTATING;
use support::{CLUSTER, ENS_CLUSTER, RESOURCE_POOL, clients, pools, wait_for};

/// Pools created straight through the cloud clients, ready before the import.
async fn existing_pools(env: &Env) {
    let transport = clients::transport(RetryPolicy::default());
    let cce = clients::cce(&env.sim, clients::ak_sk(), transport.clone());
    let modelarts = clients::modelarts(&env.sim, clients::ak_sk(), transport.clone());
    let ens = clients::ens(
        &env.sim,
        nodepool_operator::provider::alibaba::SignatureVersion::V3,
        transport,
    );
    let wanted: [(&dyn NodePoolProvider, &str, DesiredPool); 4] = [
        (&cce, CLUSTER, pools::cce_pool("web")),
        (&cce, CLUSTER, pools::cce_pool("batch")),
        (&modelarts, RESOURCE_POOL, pools::modelarts_pool("train")),
        (&ens, ENS_CLUSTER, pools::ens_pool("edge")),
    ];
    for (provider, parent, desired) in &wanted {
        provider.create(parent, desired).await.unwrap();
    }
    for (provider, parent, desired) in &wanted {
        wait_for("the existing pool is ready", DEADLINE, || async {
            let pool = provider.find(parent, &desired.name).await.unwrap()?;
            (pool.phase == PoolPhase::Ready && pool.ready == 2).then_some(())
        })
        .await;
    }
}

/// Runs `nodepool-operator import` as a user would (off the runtime, which serves the
/// simulator it calls): whether it succeeded, its stdout and its stderr.
async fn run_import(env: &Env, args: &[&str]) -> (bool, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"));
    command
        .arg("import")
        .args(args)
        .env("KUBECONFIG", env.cluster.kubeconfig());
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    (
        output.status.success(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn import(env: &Env, args: &[&str]) -> String {
    let (ok, stdout, stderr) = run_import(env, args).await;
    assert!(ok, "import {args:?}: {stderr}");
    stdout
}

fn writes_since(requests: &[RecordedRequest], seq: u64) -> Vec<String> {
    requests
        .iter()
        .filter(|r| {
            r.seq > seq && MUTATING.contains(&r.operation.as_str()) && r.operation != "token"
        })
        .map(|r| format!("{} {}", r.operation, r.path))
        .collect()
}

async fn import_all(env: &Env, observe_only: bool) -> Vec<String> {
    env.apply_all(sample(Which::Cce.account(), &env.sim)).await;
    env.apply_all(sample(Which::Ens.account(), &env.sim)).await;
    let huawei = format!("{}/huawei", env.ns.name);
    let alibaba = format!("{}/alibaba", env.ns.name);
    let mut manifests = Vec::new();
    for (account, flag, parent) in [
        (&huawei, "--cluster", CLUSTER),
        (&huawei, "--pool", RESOURCE_POOL),
        (&alibaba, "--cluster", ENS_CLUSTER),
    ] {
        let mut args = vec!["--account", account, flag, parent];
        if observe_only {
            args.push("--observe-only");
        }
        let yaml = import(env, &args).await;
        for secret in [
            config::DEMO_HUAWEI_SECRET_KEY,
            config::DEMO_ALIBABA_ACCESS_KEY_SECRET,
        ] {
            assert!(!yaml.contains(secret), "a secret in the manifests:\n{yaml}");
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &yaml).unwrap();
        let path = file.path().display().to_string();
        let (ok, out, err) = env.cluster.kubectl(&["apply", "-f", &path]).await;
        assert!(ok, "kubectl apply of the imported manifests: {err}\n{yaml}");
        manifests.push(yaml);
        assert!(out.contains("created"), "{out}");
    }
    manifests
}

#[tokio::test]
async fn imported_pools_are_adopted_and_ready_with_no_cloud_write() {
    let mut env = Env::fast().await;
    existing_pools(&env).await;
    let before = env.sim.requests().last().unwrap().seq;
    let manifests = import_all(&env, true).await;
    eprintln!("{}", manifests[0]);
    assert!(manifests[0].contains("name: batch") && manifests[0].contains("name: web"));
    assert!(
        manifests[0].contains("observeOnly: true"),
        "{}",
        manifests[0]
    );
    assert!(manifests[0].contains("deletionPolicy: Orphan"));
    env.start_operator(Duration::from_secs(300));
    for name in ["web", "batch", "train", "edge"] {
        let ready = env.wait_ready(name, 2).await;
        assert_eq!(condition(&ready, "Synced").unwrap().1, "ObserveOnly");
    }
    let writes = writes_since(&env.sim.requests(), before);
    assert!(
        writes.is_empty(),
        "observe-only adoption wrote to the cloud: {writes:?}"
    );
    assert_eq!(env.sim.pools().len(), 4, "no pool was created");
}

#[tokio::test]
async fn imported_pools_taken_over_get_only_the_ownership_mark() {
    let mut env = Env::fast().await;
    existing_pools(&env).await;
    let before = env.sim.requests().last().unwrap().seq;
    import_all(&env, false).await;
    env.start_operator(Duration::from_secs(300));
    for name in ["web", "batch", "train", "edge"] {
        let ready = env.wait_ready(name, 2).await;
        assert_eq!(condition(&ready, "Synced").unwrap().1, "Synced");
    }
    // CCE and ModelArts pools carry the owner's mark (ENS pools have no labels to carry it).
    let transport = clients::transport(RetryPolicy::default());
    let cce = clients::cce(&env.sim, clients::ak_sk(), transport.clone());
    let modelarts = clients::modelarts(&env.sim, clients::ak_sk(), transport);
    let marked: [(&dyn NodePoolProvider, &str, &str); 3] = [
        (&cce, CLUSTER, "web"),
        (&cce, CLUSTER, "batch"),
        (&modelarts, RESOURCE_POOL, "train"),
    ];
    for (provider, parent, name) in marked {
        let uid = env.pools().get(name).await.unwrap().metadata.uid.unwrap();
        wait_for("the pool marked as the NodePool's", DEADLINE, || async {
            let pool = provider.find(parent, name).await.unwrap()?;
            (pool.owner.as_deref() == Some(uid.as_str())).then_some(())
        })
        .await;
    }
    let writes = writes_since(&env.sim.requests(), before);
    assert!(
        writes
            .iter()
            .all(|w| w.starts_with("update ") || w.starts_with("patch ")),
        "a takeover only marks the pools: {writes:?}"
    );
    assert!(writes.len() <= 3, "one mark per pool: {writes:?}");
    assert_eq!(env.sim.pools().len(), 4, "no pool was created");
}

#[tokio::test]
async fn import_names_what_is_wrong_with_its_arguments() {
    let env = Env::fast().await;
    env.apply_all(sample(Which::Ens.account(), &env.sim)).await;
    let cases: [(&[&str], &str); 4] = [
        (&["--account", "nobody", "--cluster", "c"], "NAMESPACE/NAME"),
        (
            &[
                "--account",
                &format!("{}/missing", env.ns.name),
                "--cluster",
                "c",
            ],
            "not found",
        ),
        (
            &[
                "--account",
                &format!("{}/alibaba", env.ns.name),
                "--pool",
                "p",
            ],
            "--cluster",
        ),
        (&["--account", "a/b"], "--cluster"),
    ];
    for (args, says) in cases {
        let (ok, stdout, stderr) = run_import(&env, args).await;
        assert!(!ok, "{args:?}");
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
    }
}
