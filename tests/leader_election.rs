//! Two `nodepool-operator run` processes, as the two replicas of `deploy/` run, with the
//! operator's ServiceAccount: one leads, the other stands by and makes no cloud call and no
//! write; a stopped leader hands over at once, a killed one within the Lease duration; the
//! cloud never gets a second pool, also across 20 alternating kills while pools are created
//! and answers are lost; the Lease rights of `deploy/rbac.yaml` are all used.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube::api::{Patch, PatchParams};
use nodepool_operator::api::NodePool;
use nodepool_sim::{Cloud, SimConfig};
use support::cluster::{Cluster, OPERATOR_NAMESPACE, OPERATOR_USER};
use support::{free_port, wait_for};

const LEASE_SECONDS: u64 = 10;
const DEADLINE: Duration = Duration::from_secs(120);

/// One operator process; SIGKILLed when dropped.
struct Replica {
    child: std::process::Child,
    metrics: String,
}

impl Replica {
    fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status();
    }

    async fn get(&self, path: &str) -> Option<String> {
        let answer = reqwest::get(format!("http://{}{path}", self.metrics))
            .await
            .ok()?;
        answer.text().await.ok()
    }

    fn exit_code(&mut self, deadline: Duration) -> Option<i32> {
        support::wait_exit(&mut self.child, deadline).and_then(|status| status.code())
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A kubeconfig with the operator's ServiceAccount token.
fn operator_kubeconfig(cluster: &Cluster, dir: &std::path::Path) -> std::path::PathBuf {
    cluster.write_operator_kubeconfig(&cluster.url, &dir.join("operator.kubeconfig"))
}

fn start(
    kubeconfig: &std::path::Path,
    namespace: &str,
    lease: &str,
    identity: &str,
    log: &std::path::Path,
) -> Replica {
    start_with_lease(kubeconfig, namespace, lease, identity, log, LEASE_SECONDS)
}

fn start_with_lease(
    kubeconfig: &std::path::Path,
    namespace: &str,
    lease: &str,
    identity: &str,
    log: &std::path::Path,
    lease_seconds: u64,
) -> Replica {
    let metrics = format!("127.0.0.1:{}", free_port());
    let child = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"))
        .args(["run", "--namespace", namespace, "--wait-interval", "1"])
        .args([
            "--lease-name",
            lease,
            "--lease-namespace",
            OPERATOR_NAMESPACE,
        ])
        .args(["--lease-duration", &lease_seconds.to_string()])
        .args(["--log-level", "nodepool_operator=debug"])
        .args(["--metrics-addr", &metrics])
        .env("KUBECONFIG", kubeconfig)
        .env("POD_NAME", identity)
        .env_remove("RUST_LOG")
        .env_remove("NODEPOOL_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log.join(format!("{identity}.err"))).unwrap())
        .spawn()
        .unwrap();
    Replica { child, metrics }
}

async fn holder(leases: &Api<Lease>, name: &str) -> Option<String> {
    leases
        .get_opt(name)
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity)
}

/// Waits until `identity` holds the Lease; fails with that replica's log.
async fn wait_holder(
    leases: &Api<Lease>,
    name: &str,
    identity: &str,
    logs: &std::path::Path,
) -> Duration {
    let start = Instant::now();
    while start.elapsed() < DEADLINE {
        if holder(leases, name).await.as_deref() == Some(identity) {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = std::fs::read_to_string(logs.join(format!("{identity}.err"))).unwrap_or_default();
    panic!("{identity} does not hold the Lease after {DEADLINE:?}; its log:\n{log}");
}

async fn wait_standby(replica: &Replica) {
    wait_for("a standby", DEADLINE, || async {
        replica
            .get("/readyz")
            .await
            .filter(|body| body.contains("standby"))
    })
    .await;
}

/// Declares `count` nodes for the CCE NodePool `name`.
async fn set_count(pools: &Api<NodePool>, name: &str, count: i32) {
    let patch = serde_json::json!({"spec": {"cce": {"initialNodeCount": count}}});
    pools
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

async fn wait_nodes(pools: &Api<NodePool>, nodes: i32) {
    wait_for(&format!("Ready with {nodes} nodes"), DEADLINE, || async {
        let status = pools.get("cce-workers").await.ok()?.status?;
        let ready = status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        (ready && status.current_node == Some(nodes)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn one_replica_leads_the_standby_is_silent_and_takes_over_on_stop_and_on_kill() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("leader").await;
    let sim = support::start(SimConfig {
        timing: support::fast_timing(200, 200),
        ..SimConfig::default()
    })
    .await;
    for file in ["huawei-account.yaml", "nodepool-cce.yaml"] {
        for manifest in support::sample(file, &sim.url()) {
            support::create_manifest(&cluster.admin, &ns, manifest)
                .await
                .unwrap();
        }
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let kubeconfig = operator_kubeconfig(&cluster, dir.path());
    let lease = format!("nodepool-operator-{}", ns.name);
    let leases: Api<Lease> = Api::namespaced(cluster.admin.clone(), OPERATOR_NAMESPACE);
    let pools: Api<NodePool> = Api::namespaced(cluster.admin.clone(), &ns);

    // The first replica leads and reconciles; the second stands by.
    let mut first = start(&kubeconfig, &ns, &lease, "first", dir.path());
    wait_holder(&leases, &lease, "first", dir.path()).await;
    let second = start(&kubeconfig, &ns, &lease, "second", dir.path());
    wait_standby(&second).await;
    wait_nodes(&pools, 2).await;
    let metrics = second.get("/metrics").await.unwrap();
    assert!(metrics.contains("nodepool_leader 0"), "{metrics}");
    for family in ["nodepool_reconciles_total{", "nodepool_cloud_calls_total{"] {
        assert!(!metrics.contains(family), "the standby acted: {metrics}");
    }
    assert!(
        first
            .get("/metrics")
            .await
            .unwrap()
            .contains("nodepool_leader 1")
    );

    // SIGTERM: the leader finishes, releases the Lease and exits 0; the standby takes over at
    // once (well within the Lease duration it would otherwise wait).
    first.signal("-TERM");
    let stop_takeover = wait_holder(&leases, &lease, "second", dir.path()).await;
    assert_eq!(first.exit_code(DEADLINE), Some(0));
    assert!(
        stop_takeover < Duration::from_secs(LEASE_SECONDS / 2),
        "takeover after SIGTERM took {stop_takeover:?}"
    );
    // The new leader reconciles: a spec change reaches the cloud.
    set_count(&pools, "cce-workers", 3).await;
    wait_nodes(&pools, 3).await;

    // SIGKILL: nothing is released; a standby takes over once the Lease has not changed for
    // its duration.
    let third = start(&kubeconfig, &ns, &lease, "third", dir.path());
    wait_standby(&third).await;
    second.signal("-KILL");
    let kill_takeover = wait_holder(&leases, &lease, "third", dir.path()).await;
    assert!(
        kill_takeover < Duration::from_secs(LEASE_SECONDS * 2),
        "takeover after SIGKILL took {kill_takeover:?}"
    );
    set_count(&pools, "cce-workers", 1).await;
    wait_nodes(&pools, 1).await;
    eprintln!("takeover after SIGTERM: {stop_takeover:?}; after SIGKILL: {kill_takeover:?}");

    // One cloud pool throughout.
    let listed: Vec<_> = sim
        .pools()
        .into_iter()
        .filter(|p| p.cloud == Cloud::Cce)
        .collect();
    assert_eq!(listed.len(), 1, "{listed:?}");

    // Every Lease right of deploy/rbac.yaml was used, none denied.
    let events = cluster.audit_events_of(OPERATOR_USER);
    let lease_verbs: std::collections::BTreeSet<String> = events
        .iter()
        .filter(|e| e["objectRef"]["resource"] == "leases")
        .filter(|e| e["responseStatus"]["code"] != 403)
        .map(|e| e["verb"].as_str().unwrap_or_default().to_owned())
        .collect();
    for verb in ["get", "list", "watch", "create", "update"] {
        assert!(lease_verbs.contains(verb), "{verb} unused: {lease_verbs:?}");
    }
    let denied: Vec<_> = events
        .iter()
        .filter(|e| e["responseStatus"]["code"] == 403)
        .map(|e| e["requestURI"].clone())
        .collect();
    assert!(denied.is_empty(), "{denied:?}");
}

#[tokio::test]
async fn twenty_alternating_kills_of_the_leader_never_create_a_pool_twice() {
    const KILLS: usize = 20;
    const POOLS: usize = 8;
    const LEASE: u64 = 3;
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("leader-kills").await;
    let sim = support::start(SimConfig {
        timing: support::fast_timing(300, 300),
        ..SimConfig::default()
    })
    .await;
    // A third of the creates are carried out and their answers lost: the leader that sent one
    // may be killed before it learns the pool exists.
    sim.add_fault(nodepool_sim::FaultRule {
        cloud: Some(Cloud::Cce),
        operation: Some("create".into()),
        effect: nodepool_sim::FaultEffect::DropAfterServing,
        rate: Some(0.33),
        count: None,
    })
    .unwrap();
    let mut manifests = support::sample("huawei-account.yaml", &sim.url());
    let template = support::sample("nodepool-cce.yaml", &sim.url()).remove(0);
    for manifest in manifests.drain(..) {
        support::create_manifest(&cluster.admin, &ns, manifest)
            .await
            .unwrap();
    }
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let kubeconfig = operator_kubeconfig(&cluster, dir.path());
    let lease = format!("nodepool-operator-{}", ns.name);
    let leases: Api<Lease> = Api::namespaced(cluster.admin.clone(), OPERATOR_NAMESPACE);
    let pools: Api<NodePool> = Api::namespaced(cluster.admin.clone(), &ns);
    let replica =
        |identity: &str| start_with_lease(&kubeconfig, &ns, &lease, identity, dir.path(), LEASE);

    let mut leader = ("r0".to_owned(), replica("r0"));
    wait_holder(&leases, &lease, "r0", dir.path()).await;
    let mut standby = ("r1".to_owned(), replica("r1"));
    wait_standby(&standby.1).await;
    let mut takeovers = Vec::new();
    for kill in 0..KILLS {
        // Work in flight at each kill: a new NodePool, or a new count for an earlier one.
        let mut pool = template.clone();
        if kill < POOLS {
            pool["metadata"]["name"] = serde_json::json!(format!("pool-{kill}"));
            support::create_manifest(&cluster.admin, &ns, pool)
                .await
                .unwrap();
        } else {
            let count = 1 + kill % 3;
            set_count(&pools, &format!("pool-{}", kill % POOLS), count as i32).await;
        }
        let signal = if kill % 2 == 0 { "-KILL" } else { "-TERM" };
        leader.1.signal(signal);
        let took = wait_holder(&leases, &lease, &standby.0, dir.path()).await;
        // SIGTERM: at once; SIGKILL: the Lease duration plus one renew period (a third of
        // it), plus a second for this test's polling on a loaded machine.
        let bound = match signal {
            "-TERM" => Duration::from_secs(2),
            _ => Duration::from_secs(LEASE + 1 + 1),
        };
        if took >= bound {
            let log = std::fs::read_to_string(dir.path().join(format!("{}.err", leader.0)));
            let calls: Vec<String> = sim
                .requests()
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {} {:?} {:?}",
                        r.time, r.operation, r.path, r.status, r.fault
                    )
                })
                .collect();
            panic!(
                "kill {kill}: takeover after {signal} took {took:?}; the old leader's log:\n{}\ncloud calls:\n{}",
                log.unwrap_or_default(),
                calls.join("\n")
            );
        }
        takeovers.push((signal, took));
        // The killed replica comes back as the new standby.
        let identity = format!("r{}", kill + 2);
        let fresh = (identity.clone(), replica(&identity));
        leader = std::mem::replace(&mut standby, fresh);
        wait_standby(&standby.1).await;
    }

    // Everything converges under the last leader.
    for i in 0..POOLS {
        let name = format!("pool-{i}");
        wait_for(&format!("{name} Ready"), DEADLINE, || async {
            let pool = pools.get(&name).await.ok()?;
            let want = pool.spec.cce.as_ref()?.initial_node_count;
            let status = pool.status?;
            let ready = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True");
            (ready && status.current_node == Some(want)).then_some(())
        })
        .await;
    }
    let mut names: Vec<String> = sim
        .pools()
        .into_iter()
        .filter(|p| p.cloud == Cloud::Cce)
        .map(|p| p.name)
        .collect();
    names.sort();
    let expected: Vec<String> = (0..POOLS).map(|i| format!("pool-{i}")).collect();
    assert_eq!(names, expected, "one cloud pool per NodePool");
    let lost = sim
        .requests()
        .iter()
        .filter(|r| r.operation == "create" && r.fault.is_some())
        .count();
    eprintln!("{KILLS} kills, {lost} create answers lost; takeovers: {takeovers:?}");
}
