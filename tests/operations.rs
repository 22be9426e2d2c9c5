//! What an on-call engineer sees of `nodepool-operator run`: one log line per action with the
//! cloud id and no failure line for an expected lookup, a repeated error logged once, an
//! unreachable endpoint named on the CloudAccount, metrics per cloud operation and per
//! NodePool (gone with the NodePool), and a shutdown that does not wait for ever.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams};
use nodepool_operator::api::{CloudAccount, NodePool};
use nodepool_sim::{Cloud, FaultEffect, FaultRule};
use support::cluster::Cluster;
use support::{free_port, wait_for};

const DEADLINE: Duration = Duration::from_secs(120);

/// A `nodepool-operator run` process with its stderr in a file; SIGKILLed when dropped.
struct Operator {
    child: std::process::Child,
    metrics: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Operator {
    fn start(kubeconfig: &Path, namespace: &str, extra: &[&str]) -> Operator {
        let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
        let log = dir.path().join("run.err");
        let metrics = format!("127.0.0.1:{}", free_port());
        let base = ["--namespace", namespace, "--wait-interval", "1"];
        let child = support::operator_run(kubeconfig, &base)
            .args(["--metrics-addr", &metrics])
            .args(extra)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Operator {
            child,
            metrics,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    async fn metrics(&self) -> String {
        match reqwest::get(format!("http://{}/metrics", self.metrics)).await {
            Ok(answer) => answer.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The value of the sample whose line starts with `series`.
    async fn sample(&self, series: &str) -> Option<f64> {
        self.metrics().await.lines().find_map(|line| {
            line.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The log lines of one action on one NodePool.
fn actions<'a>(log: &'a str, action: &str, name: &str) -> Vec<&'a str> {
    let action = format!("action=\"{action}\"");
    let name = format!("name=\"{name}\"");
    log.lines()
        .filter(|l| l.contains(&action) && l.contains(&name))
        .collect()
}

async fn apply_samples(cluster: &Cluster, namespace: &str, url: &str, files: &[&str]) {
    for file in files {
        for manifest in support::sample(file, url) {
            support::create_manifest(&cluster.admin, namespace, manifest)
                .await
                .unwrap();
        }
    }
}

async fn wait_nodes(pools: &Api<NodePool>, name: &str, nodes: i32, operator: &Operator) {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        let status = pools.get(name).await.ok().and_then(|p| p.status);
        if let Some(status) = status
            && status.phase.as_deref() == Some("Ready")
            && status.current_node == Some(nodes)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "{name} not Ready with {nodes} nodes after {DEADLINE:?}; log:\n{}",
        operator.log()
    );
}

#[tokio::test]
async fn a_pool_s_life_is_one_log_line_per_action_and_metrics_per_pool_that_go_with_it() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("ops-life").await;
    let sim = support::start_instant().await;
    let files = [
        "huawei-account.yaml",
        "nodepool-cce.yaml",
        "nodepool-modelarts.yaml",
    ];
    apply_samples(&cluster, &ns, &sim.url(), &files).await;
    let operator = Operator::start(&cluster.kubeconfig(), &ns, &[]);
    let pools: Api<NodePool> = Api::namespaced(cluster.admin.clone(), &ns);
    wait_nodes(&pools, "cce-workers", 2, &operator).await;
    wait_nodes(&pools, "modelarts-train", 2, &operator).await;
    let status = pools.get("cce-workers").await.unwrap().status.unwrap();
    let cce_id = status.pool_id.unwrap();

    // Per-NodePool gauges and the shared operation vocabulary.
    let pool = |name: &str| format!(r#"namespace="{}",name="{name}""#, ns.name);
    let expected = [
        format!(
            r#"nodepool_pool_phase{{{},phase="Ready"}} 1"#,
            pool("cce-workers")
        ),
        format!("nodepool_pool_current_nodes{{{}}} 2", pool("cce-workers")),
        format!(
            "nodepool_pool_desired_nodes{{{}}} 2",
            pool("modelarts-train")
        ),
        r#"nodepool_cloud_calls_total{cloud="cce",operation="create",result="ok"} 1"#.to_owned(),
        r#"nodepool_cloud_calls_total{cloud="modelarts",operation="create",result="ok"} 1"#
            .to_owned(),
        r#"nodepool_cloud_call_duration_seconds_count{cloud="cce",operation="list"}"#.to_owned(),
        "nodepool_queue_depth ".to_owned(),
        "nodepool_reconciles_running ".to_owned(),
        "process_resident_memory_bytes ".to_owned(),
        "process_cpu_seconds_total ".to_owned(),
    ];
    let shown = operator.metrics().await;
    for series in &expected {
        assert!(shown.contains(series.as_str()), "{series} in:\n{shown}");
    }
    let memory = operator.sample("process_resident_memory_bytes").await;
    assert!(memory.is_some_and(|bytes| bytes > 1e6), "{memory:?}");

    // Scale 2 -> 3.
    let patch = serde_json::json!({"spec": {"cce": {"initialNodeCount": 3}}});
    pools
        .patch(
            "cce-workers",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap();
    wait_nodes(&pools, "cce-workers", 3, &operator).await;

    for name in ["cce-workers", "modelarts-train"] {
        pools.delete(name, &DeleteParams::default()).await.unwrap();
    }
    wait_for("both NodePools gone", DEADLINE, || async {
        let left = pools.list(&Default::default()).await.ok()?;
        left.items.is_empty().then_some(())
    })
    .await;
    // Their series go with them.
    wait_for("no series of a deleted NodePool", DEADLINE, || async {
        let shown = operator.metrics().await;
        (!shown.is_empty() && !shown.contains(&format!(r#"namespace="{}""#, ns.name))).then_some(())
    })
    .await;

    let log = operator.log();
    let created = actions(&log, "created", "cce-workers");
    assert_eq!(created.len(), 1, "{log}");
    assert!(
        created[0].contains(&format!("pool_id=\"{cce_id}\"")),
        "{log}"
    );
    assert!(created[0].contains("INFO"), "{log}");
    let scaled: Vec<_> = actions(&log, "scaling", "cce-workers")
        .into_iter()
        .filter(|l| l.contains("node count 2 -> 3"))
        .collect();
    assert_eq!(scaled.len(), 1, "{log}");
    for (action, name) in [
        ("ready", "cce-workers"),
        ("deleting", "cce-workers"),
        ("deleted", "cce-workers"),
        ("created", "modelarts-train"),
        ("ready", "modelarts-train"),
        ("deleted", "modelarts-train"),
    ] {
        assert!(
            !actions(&log, action, name).is_empty(),
            "{action} {name}:\n{log}"
        );
    }
    assert_eq!(actions(&log, "deleting", "cce-workers").len(), 1, "{log}");
    // ModelArts looks a pool up (404) before creating it: not a failure, not a warning.
    assert!(
        !log.contains("WARN") && !log.contains("ERROR") && !log.contains("failed"),
        "{log}"
    );
    assert!(
        log.lines().all(|l| l.starts_with("20")),
        "one record per line: {log}"
    );
}

#[tokio::test]
async fn an_unreachable_endpoint_is_named_on_the_account_and_its_error_logged_once() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("ops-unreachable").await;
    let closed = format!("http://127.0.0.1:{}", free_port());
    apply_samples(
        &cluster,
        &ns,
        &closed,
        &["huawei-account.yaml", "nodepool-cce.yaml"],
    )
    .await;
    let operator = Operator::start(&cluster.kubeconfig(), &ns, &[]);
    let accounts: Api<CloudAccount> = Api::namespaced(cluster.admin.clone(), &ns);
    let ready = wait_for("the account's Ready condition", DEADLINE, || async {
        let account = accounts.get("huawei").await.ok()?;
        let status = account.status?;
        status.conditions.into_iter().find(|c| c.type_ == "Ready")
    })
    .await;
    assert_eq!(ready.status, "False");
    assert_eq!(ready.reason, "EndpointUnreachable");
    let endpoint = closed.trim_start_matches("http://");
    assert!(
        ready.message.starts_with("cce: ") && ready.message.contains(endpoint),
        "{}",
        ready.message
    );

    // Three failed reconciles with the same error: one warning (another error, such as a
    // finalizer patch that raced the cache, is a warning of its own).
    let failures = r#"nodepool_reconciles_total{result="CloudUnavailable"}"#;
    wait_for("three failed reconciles", DEADLINE, || async {
        operator
            .sample(failures)
            .await
            .filter(|n| *n >= 3.0)
            .map(drop)
    })
    .await;
    let log = operator.log();
    let warnings: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("reconcile failed"))
        .filter(|l| l.contains(r#"category="CloudUnavailable""#))
        .collect();
    assert_eq!(warnings.len(), 1, "{log}");
    assert!(
        warnings[0].contains("cce-workers") && warnings[0].contains(endpoint),
        "{log}"
    );
    assert!(
        !log.contains("sim-huawei-secret-key"),
        "no secret in the log: {log}"
    );
}

#[tokio::test]
async fn sigterm_stops_a_reconcile_still_running_after_the_shutdown_timeout() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("ops-drain").await;
    let sim = support::start_instant().await;
    // Every CCE list takes a minute: the reconcile is stuck in a cloud call.
    sim.add_fault(FaultRule {
        cloud: Some(Cloud::Cce),
        operation: Some("list".into()),
        effect: FaultEffect::Latency { millis: 60_000 },
        rate: None,
        count: None,
    })
    .unwrap();
    apply_samples(
        &cluster,
        &ns,
        &sim.url(),
        &["huawei-account.yaml", "nodepool-cce.yaml"],
    )
    .await;
    let mut operator = Operator::start(
        &cluster.kubeconfig(),
        &ns,
        &[
            "--shutdown-timeout",
            "1",
            "--log-level",
            "nodepool_operator=debug",
        ],
    );
    wait_for("a reconcile in the CCE list call", DEADLINE, || async {
        let log = operator.log();
        log.lines()
            .any(|l| l.contains(r#"operation="list""#) && l.ends_with("sending"))
            .then_some(())
    })
    .await;
    let running = operator.sample("nodepool_reconciles_running").await;
    assert_eq!(running, Some(1.0));
    let stopping = Instant::now();
    let _ = Command::new("kill")
        .args(["-TERM", &operator.child.id().to_string()])
        .status();
    let status = support::wait_exit(&mut operator.child, Duration::from_secs(15));
    let took = stopping.elapsed();
    let log = operator.log();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{log}");
    // The bound is 1 s; the stuck call alone would hold the process for 20 s (its timeout).
    assert!(
        took < Duration::from_secs(8),
        "exited after {took:?}: {log}"
    );
    assert!(log.contains("shutdown timeout are stopped"), "{log}");
}
