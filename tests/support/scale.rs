//! The scale benchmark: `nodepool-operator run` as a real process against the shared control
//! plane and a simulator with K parents, driven through a burst of N creates, a settled window,
//! a create-scale-delete lifecycle of a sample and an ENS burst, once as configured and once
//! with batched observation off (`--observe get`), side by side in one run.
//!
//! `benches/scale.rs` runs it with flags (release builds); `tests/scale.rs` runs a tiny setting
//! and asserts the counted goals, so a regression in them fails the test run.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::Api;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use nodepool_operator::api::NodePool;
use nodepool_sim::{RecordedRequest, RunningSim, SimConfig};
use serde_json::{Value, json};

use super::campaign::{Credentials, percentile};
use super::cluster::{Cluster, TestNamespace};

const PROJECT: &str = "0123456789abcdef0123456789abcdef";

/// What one benchmark run does.
#[derive(Debug, Clone)]
pub struct Settings {
    /// NodePools of the main fleet (CCE and ModelArts, over `parents` parents).
    pub pools: usize,
    /// CCE clusters and ModelArts resource pools the fleet is spread over (alternating).
    pub parents: usize,
    /// NodePools of the ENS burst, all created at once in one ENS cluster (0: none).
    pub ens_pools: usize,
    /// How long the settled fleet is watched (RSS growth, reads, CPU per no-op reconcile).
    pub settle: Duration,
    pub poll_seconds: u64,
    pub wait_seconds: u64,
    /// The Huawei account's rate budget, calls per second (burst 5).
    pub huawei_budget: f64,
    /// Seconds the simulator takes to make a node ready (and to delete one).
    pub ready_seconds: f64,
    /// NodePools of the fleet scaled up and then deleted at the end.
    pub lifecycle: usize,
    pub concurrency: u16,
    /// The runs, in order: as configured (`List`) and the baseline (`Get`).
    pub runs: Vec<Observe>,
    /// Where the JSON result and the Markdown table go.
    pub out: PathBuf,
}

impl Settings {
    pub fn json(&self) -> Value {
        json!({
            "pools": self.pools,
            "parents": self.parents,
            "ensPools": self.ens_pools,
            "settleSeconds": self.settle.as_secs(),
            "pollSeconds": self.poll_seconds,
            "waitSeconds": self.wait_seconds,
            "huaweiBudgetPerSecond": self.huawei_budget,
            "readySeconds": self.ready_seconds,
            "lifecycle": self.lifecycle,
            "concurrency": self.concurrency,
        })
    }
}

/// How the operator observes pools: the benchmark runs it both ways.
pub use nodepool_operator::controller::Observe;

/// The operator's `--observe` value for `observe`.
fn flag(observe: Observe) -> &'static str {
    match observe {
        Observe::List => "list",
        Observe::Get => "get",
    }
}

/// Every simulator call, counted by operation, taken in as it comes (the log is bounded).
#[derive(Default, Clone)]
pub struct Tally {
    last_seq: u64,
    pub by_operation: BTreeMap<String, u64>,
    pub throttled: u64,
}

/// Calls that change a cloud pool, per cloud.
pub const MUTATING: [&str; 11] = [
    "create",
    "update",
    "scale",
    "delete",
    "patch",
    "CreateClusterNodePool",
    "ScaleClusterNodePool",
    "ModifyClusterNodePool",
    "DeleteClusterNodePool",
    "DeleteClusterNodes",
    "token",
];

impl Tally {
    fn absorb(&mut self, requests: Vec<RecordedRequest>) {
        let last = self.last_seq;
        for request in requests.into_iter().filter(|r| r.seq > last) {
            self.last_seq = request.seq;
            *self
                .by_operation
                .entry(request.operation.clone())
                .or_insert(0) += 1;
            if request.error_code.as_deref() == Some("Throttling.User") {
                self.throttled += 1;
            }
        }
    }

    pub fn total(&self) -> u64 {
        self.by_operation.values().sum()
    }

    /// Calls that change a pool (IAM logins aside).
    pub fn mutating(&self) -> u64 {
        self.by_operation
            .iter()
            .filter(|(op, _)| MUTATING.contains(&op.as_str()) && *op != "token")
            .map(|(_, n)| n)
            .sum()
    }

    /// Calls that only read.
    pub fn reads(&self) -> u64 {
        self.by_operation
            .iter()
            .filter(|(op, _)| !MUTATING.contains(&op.as_str()))
            .map(|(_, n)| n)
            .sum()
    }

    /// What was counted since `earlier`.
    pub fn since(&self, earlier: &Tally) -> Tally {
        let mut by_operation = self.by_operation.clone();
        for (op, n) in &earlier.by_operation {
            if let Some(now) = by_operation.get_mut(op) {
                *now -= n;
            }
        }
        by_operation.retain(|_, n| *n > 0);
        Tally {
            last_seq: self.last_seq,
            by_operation,
            throttled: self.throttled - earlier.throttled,
        }
    }

    fn json(&self) -> Value {
        json!({"byOperation": self.by_operation, "reads": self.reads(), "mutating": self.mutating(), "throttled": self.throttled})
    }
}

/// What the benchmark's own watch saw of each NodePool.
#[derive(Default)]
struct Seen {
    created: HashMap<String, Instant>,
    /// When the watch first showed each NodePool: the delay of the watch itself, which every
    /// first-status figure includes.
    first_seen: HashMap<String, Instant>,
    first_status: HashMap<String, Instant>,
    ready: HashMap<String, Instant>,
    /// Every change of a NodePool the watch saw after its create (status writes, mostly).
    changes: u64,
}

fn is_ready(pool: &NodePool) -> bool {
    pool.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

/// Watches the namespace's NodePools from the benchmark's side and notes when each got its
/// first status and turned Ready.
fn watch(api: Api<NodePool>, seen: Arc<Mutex<Seen>>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut events = watcher(api, watcher::Config::default())
            .default_backoff()
            .boxed();
        while let Some(event) = events.next().await {
            let pool = match event {
                Ok(watcher::Event::Apply(pool) | watcher::Event::InitApply(pool)) => pool,
                _ => continue,
            };
            let now = Instant::now();
            let name = kube::ResourceExt::name_any(&pool);
            let mut seen = seen.lock().unwrap();
            seen.changes += 1;
            seen.first_seen.entry(name.clone()).or_insert(now);
            if pool.status.is_some() {
                seen.first_status.entry(name.clone()).or_insert(now);
            }
            if is_ready(&pool) {
                seen.ready.entry(name).or_insert(now);
            }
        }
    })
}

/// The operator process of one run.
struct Operator {
    child: Child,
    metrics: String,
}

impl Operator {
    fn spawn(
        kubeconfig: &Path,
        namespace: &str,
        settings: &Settings,
        observe: Observe,
        log: &Path,
    ) -> Self {
        let metrics = format!("127.0.0.1:{}", super::free_port());
        let log = std::fs::File::create(log).unwrap();
        // `NODEPOOL_BENCH_OPERATOR` runs another build (`--profile profiling` for `perf`), and
        // `NODEPOOL_BENCH_WRAPPER` runs it under a tool (`heaptrack`).
        let binary = std::env::var("NODEPOOL_BENCH_OPERATOR")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_nodepool-operator").to_owned());
        let mut command = match std::env::var("NODEPOOL_BENCH_WRAPPER") {
            Ok(wrapper) => {
                let mut words = wrapper.split_whitespace();
                let mut command = Command::new(words.next().unwrap_or("env"));
                command.args(words).arg(&binary);
                command
            }
            Err(_) => Command::new(&binary),
        };
        let child = command
            .args(["run", "--namespace", namespace, "--leader-election=false"])
            .args(["--observe", flag(observe)])
            .args(["--poll-interval", &settings.poll_seconds.to_string()])
            .args(["--wait-interval", &settings.wait_seconds.to_string()])
            .args(["--concurrency", &settings.concurrency.to_string()])
            .args(["--metrics-addr", &metrics, "--log-level", "warn"])
            .env("KUBECONFIG", kubeconfig)
            .env_remove("RUST_LOG")
            .env_remove("NODEPOOL_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self { child, metrics }
    }

    fn proc_file(&self, file: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{file}", self.child.id())).unwrap_or_default()
    }

    fn rss_kib(&self) -> u64 {
        self.proc_file("status")
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_default()
    }

    /// User plus system CPU seconds (clock ticks of 1/100 s).
    fn cpu_seconds(&self) -> f64 {
        let stat = self.proc_file("stat");
        let Some(close) = stat.rfind(')') else {
            return 0.0;
        };
        let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
        let tick = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or_default()
        };
        (tick(11) + tick(12)) as f64 / 100.0
    }

    /// The `/metrics` text.
    async fn scrape(&self) -> String {
        let url = format!("http://{}/metrics", self.metrics);
        match reqwest::get(&url).await {
            Ok(answer) => answer.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Reconciles so far, every result.
    async fn reconciles(&self) -> f64 {
        self.scrape()
            .await
            .lines()
            .filter(|l| l.starts_with("nodepool_reconciles_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    async fn wait_ready(&self) {
        let url = format!("http://{}/readyz", self.metrics);
        super::wait_for("the operator is ready", Duration::from_secs(60), || {
            let url = url.clone();
            async move {
                let ok = reqwest::get(&url)
                    .await
                    .is_ok_and(|a| a.status().is_success());
                ok.then_some(())
            }
        })
        .await;
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cce_cluster(i: usize) -> String {
    format!("{i:08x}-0000-4000-8000-000000000000")
}

fn modelarts_pool(i: usize) -> String {
    format!("pool-bench-{i:025}")
}

fn ens_cluster() -> &'static str {
    "eck-bench0001"
}

/// A fleet member: its name and manifest.
fn member(i: usize, parents: usize, account: &str) -> (String, Value) {
    let parent = i % parents;
    let name = format!("np-{i}");
    let mut manifest = if parent.is_multiple_of(2) {
        let mut m = super::sample("nodepool-cce.yaml", "http://unused").remove(0);
        m["spec"]["cce"]["clusterId"] = json!(cce_cluster(parent / 2));
        m["spec"]["cce"]["initialNodeCount"] = json!(1);
        m
    } else {
        let mut m = super::sample("nodepool-modelarts.yaml", "http://unused").remove(0);
        m["spec"]["modelarts"]["poolName"] = json!(modelarts_pool(parent / 2));
        m["spec"]["modelarts"]["resources"]["count"] = json!(1);
        m["spec"]["modelarts"]["resources"]["maxCount"] = json!(1);
        m
    };
    manifest["metadata"] = json!({"name": name});
    manifest["spec"]["accountRef"]["name"] = json!(account);
    (name, manifest)
}

fn ens_member(i: usize) -> (String, Value) {
    let name = format!("ens-{i}");
    let mut m = super::sample("nodepool-ens.yaml", "http://unused").remove(0);
    m["metadata"] = json!({"name": name});
    m["spec"]["accountRef"]["name"] = json!("alibaba");
    m["spec"]["ens"]["clusterId"] = json!(ens_cluster());
    m["spec"]["ens"]["scalingGroup"]["desiredSize"] = json!(1);
    (name, m)
}

/// A simulator that knows the run's credentials and parents.
fn sim_config(credentials: &Credentials, settings: &Settings) -> SimConfig {
    let cce: Vec<String> = (0..settings.parents.div_ceil(2)).map(cce_cluster).collect();
    let modelarts: Vec<String> = (0..settings.parents / 2).map(modelarts_pool).collect();
    let mut config: SimConfig = serde_json::from_value(json!({
        "huawei": [{
            "accessKey": credentials.huawei_ak,
            "secretKey": credentials.huawei_sk,
            "domain": credentials.iam_domain,
            "users": [{"name": credentials.iam_user, "password": credentials.iam_password}],
            "projects": [{"id": PROJECT, "name": "cn-north-4",
                          "cceClusters": cce, "modelartsPools": modelarts}],
        }],
        "alibaba": [{
            "accessKeyId": credentials.alibaba_id,
            "accessKeySecret": credentials.alibaba_secret,
            "ensClusters": [{"id": ens_cluster(), "region": "cn-guiyang-14"}],
        }],
    }))
    .unwrap();
    let ms = (settings.ready_seconds * 1000.0) as u64;
    config.timing = super::fast_timing(ms, ms);
    config
}

async fn create_all(api: &Api<NodePool>, manifests: Vec<(String, Value)>, seen: &Arc<Mutex<Seen>>) {
    futures::stream::iter(manifests)
        .map(|(name, manifest)| async move {
            let pool: NodePool = serde_json::from_value(manifest).unwrap();
            api.create(&PostParams::default(), &pool).await.unwrap();
            (name, Instant::now())
        })
        .buffer_unordered(32)
        .for_each(|(name, at)| {
            seen.lock().unwrap().created.insert(name, at);
            futures::future::ready(())
        })
        .await;
}

/// Milliseconds from each name's create to its instant in `to`.
fn latencies(seen: &Seen, names: &[String], to: &HashMap<String, Instant>) -> Vec<Duration> {
    names
        .iter()
        .filter_map(|n| Some(to.get(n)?.saturating_duration_since(*seen.created.get(n)?)))
        .collect()
}

fn spread(values: &[Duration]) -> Value {
    let ms = |p: f64| percentile(values, p).as_millis() as u64;
    json!({"p50": ms(50.0), "p95": ms(95.0), "p99": ms(99.0), "max": ms(100.0), "n": values.len()})
}

/// Waits until every name in `names` is Ready (as the benchmark's watch saw), absorbing the
/// simulator's log meanwhile; returns when the last turned Ready, or how many were not Ready
/// by the deadline.
async fn all_ready(
    names: &[String],
    seen: &Arc<Mutex<Seen>>,
    sim: &RunningSim,
    tally: &mut Tally,
    deadline: Duration,
) -> Result<Instant, usize> {
    let began = Instant::now();
    loop {
        tally.absorb(sim.requests());
        {
            let seen = seen.lock().unwrap();
            let missing = names
                .iter()
                .filter(|n| !seen.ready.contains_key(*n))
                .count();
            if missing == 0 {
                return Ok(names
                    .iter()
                    .filter_map(|n| seen.ready.get(n).copied())
                    .max()
                    .unwrap_or_else(Instant::now));
            }
            if began.elapsed() >= deadline {
                return Err(missing);
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Waits until the cloud has no pool named in `names` left, absorbing the log meanwhile.
async fn all_gone(names: &[String], sim: &RunningSim, tally: &mut Tally, deadline: Duration) {
    let began = Instant::now();
    loop {
        tally.absorb(sim.requests());
        let left = sim
            .pools()
            .iter()
            .filter(|p| names.contains(&p.name))
            .count();
        if left == 0 {
            return;
        }
        assert!(
            began.elapsed() < deadline,
            "{left} cloud pools were not deleted within {deadline:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One run of the whole benchmark with the operator observing as `observe` says.
pub async fn run(cluster: &Cluster, settings: &Settings, observe: Observe) -> Value {
    let ns: TestNamespace = cluster.namespace(&format!("scale-{}", flag(observe))).await;
    let credentials = Credentials::fresh();
    let sim = RunningSim::start(sim_config(&credentials, settings), "127.0.0.1:0")
        .await
        .unwrap();
    for mut manifest in credentials.manifests(&sim.url(), settings.poll_seconds) {
        if manifest["kind"] == "CloudAccount" {
            // `--poll-interval` decides; an account's own interval would override it.
            manifest["spec"]
                .as_object_mut()
                .unwrap()
                .remove("pollIntervalSeconds");
            if manifest["metadata"]["name"] == "huawei" {
                manifest["spec"]["rateBudget"] =
                    json!({"requestsPerSecond": settings.huawei_budget, "burst": 5});
            }
        }
        super::create_manifest(&cluster.admin, &ns, manifest)
            .await
            .unwrap();
    }
    let dir = settings.out.join(format!("operator-{}", flag(observe)));
    std::fs::create_dir_all(&dir).unwrap();
    let kubeconfig = cluster.write_operator_kubeconfig(&cluster.url, &dir.join("kubeconfig"));
    let operator = Operator::spawn(
        &kubeconfig,
        &ns,
        settings,
        observe,
        &dir.join("operator.log"),
    );
    operator.wait_ready().await;
    let api: Api<NodePool> = Api::namespaced(cluster.admin.clone(), &ns);
    let seen = Arc::new(Mutex::new(Seen::default()));
    let watching = watch(api.clone(), seen.clone());
    // The watch's first list is in before anything is created.
    super::wait_for("the benchmark's watch", Duration::from_secs(30), || async {
        (seen.lock().unwrap().changes == 0 && api.list(&Default::default()).await.is_ok())
            .then_some(())
    })
    .await;
    let rss_idle = operator.rss_kib();
    let mut tally = Tally::default();

    // The burst.
    let fleet: Vec<(String, Value)> = (0..settings.pools)
        .map(|i| member(i, settings.parents, "huawei"))
        .collect();
    let names: Vec<String> = fleet.iter().map(|(n, _)| n.clone()).collect();
    let burst_began = Instant::now();
    create_all(&api, fleet, &seen).await;
    let created_in = burst_began.elapsed();
    let budget_bound = Duration::from_secs_f64(
        settings.pools as f64 / settings.huawei_budget + settings.ready_seconds,
    );
    // A guard against a stuck run, not a goal: the `--observe get` baseline needs about four
    // budgeted calls per create.
    let deadline = budget_bound * 10 + Duration::from_secs(300);
    let last_ready = all_ready(&names, &seen, &sim, &mut tally, deadline)
        .await
        .unwrap_or_else(|missing| {
            panic!(
                "{missing} of {} NodePools were not Ready within {deadline:?}",
                names.len()
            )
        });
    let all_ready_in = last_ready.duration_since(burst_began);
    let burst_calls = tally.clone();
    let (first_seen, first_status, ready) = {
        let seen = seen.lock().unwrap();
        (
            latencies(&seen, &names, &seen.first_seen),
            latencies(&seen, &names, &seen.first_status),
            latencies(&seen, &names, &seen.ready),
        )
    };
    let rss_settled = operator.rss_kib();

    // The settled window: only polls run.
    let window_tally = tally.clone();
    let changes_before = seen.lock().unwrap().changes;
    let cpu_before = operator.cpu_seconds();
    let reconciles_before = operator.reconciles().await;
    let mut rss_samples = vec![rss_settled];
    let window_began = Instant::now();
    while window_began.elapsed() < settings.settle {
        tokio::time::sleep(Duration::from_secs(5).min(settings.settle)).await;
        tally.absorb(sim.requests());
        rss_samples.push(operator.rss_kib());
    }
    let window = window_began.elapsed();
    let cpu = operator.cpu_seconds() - cpu_before;
    let reconciles = operator.reconciles().await - reconciles_before;
    let window_calls = tally.since(&window_tally);
    let changes = seen.lock().unwrap().changes - changes_before;
    let rss_after = operator.rss_kib();
    let poll_windows = window.as_secs_f64() / settings.poll_seconds as f64;

    // The lifecycle of a sample: scale up by one node, then delete.
    let sample: Vec<String> = names.iter().take(settings.lifecycle).cloned().collect();
    let lifecycle_tally = tally.clone();
    for (i, name) in sample.iter().enumerate() {
        let patch = if (i % settings.parents).is_multiple_of(2) {
            json!({"spec": {"cce": {"initialNodeCount": 2}}})
        } else {
            json!({"spec": {"modelarts": {"resources": {"count": 2, "maxCount": 2}}}})
        };
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }
    let began = Instant::now();
    loop {
        tally.absorb(sim.requests());
        let scaled = sim
            .pools()
            .iter()
            .filter(|p| sample.contains(&p.name) && p.current == 2)
            .count();
        if scaled == sample.len() {
            break;
        }
        assert!(
            began.elapsed() < deadline,
            "{scaled} of {} pools scaled within {deadline:?}",
            sample.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for name in &sample {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    all_gone(&sample, &sim, &mut tally, deadline).await;
    let lifecycle_calls = tally.since(&lifecycle_tally);

    // The ENS burst.
    let ens = if settings.ens_pools > 0 {
        let ens_tally = tally.clone();
        let members: Vec<(String, Value)> = (0..settings.ens_pools).map(ens_member).collect();
        let ens_names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
        let began = Instant::now();
        let wall_began = chrono::Utc::now();
        create_all(&api, members, &seen).await;
        let bound = Duration::from_secs_f64(settings.ens_pools as f64 / 8.0);
        // A run that does not finish is a figure too (the baseline's lookups page through the
        // whole cluster for every create): the ratios are then left out.
        let last = all_ready(
            &ens_names,
            &seen,
            &sim,
            &mut tally,
            bound * 10 + Duration::from_secs(300),
        )
        .await;
        let calls = tally.since(&ens_tally);
        let not_ready = last.err().unwrap_or(0);
        let ready_in = last.map(|last| last.duration_since(began).as_secs_f64());
        let last_create = sim
            .requests()
            .iter()
            .filter(|r| r.operation == "CreateClusterNodePool" && r.status == Some(200))
            .filter_map(|r| chrono::DateTime::parse_from_rfc3339(&r.time).ok())
            .max()
            .map(|t| (t.with_timezone(&chrono::Utc) - wall_began).as_seconds_f64())
            .unwrap_or_default();
        json!({
            "pools": settings.ens_pools,
            "boundSeconds": bound.as_secs_f64(),
            "notReadyAtDeadline": not_ready,
            "allReadySeconds": ready_in.ok(),
            "allReadyOverBound": ready_in.ok().map(|r| r / bound.as_secs_f64()),
            "lastCreateSeconds": last_create,
            "lastCreateOverBound": (not_ready == 0).then(|| last_create / bound.as_secs_f64()),
            "allReadyOverBoundPlusWait": ready_in.ok().map(|r| r / (bound.as_secs_f64() + settings.wait_seconds as f64)),
            "throttlingUser": calls.throttled,
            "calls": calls.json(),
        })
    } else {
        Value::Null
    };
    watching.abort();
    let _ = watching.await;

    let pools = settings.pools as f64;
    let scale_delete = lifecycle_calls.mutating() as f64 / sample.len().max(1) as f64;
    let creates_per_pool = burst_calls.mutating() as f64 / pools;
    json!({
        "observe": flag(observe),
        "rssKiB": {
            "idle": rss_idle,
            "settled": rss_settled,
            "afterSettle": rss_after,
            "settleMax": rss_samples.iter().max(),
            "growthPercent": (rss_after as f64 / rss_settled as f64 - 1.0) * 100.0,
        },
        "burst": {
            "createSeconds": created_in.as_secs_f64(),
            "firstSeenMs": spread(&first_seen),
            "firstStatusMs": spread(&first_status),
            "readyMs": spread(&ready),
            "allReadySeconds": all_ready_in.as_secs_f64(),
            "budgetBoundSeconds": budget_bound.as_secs_f64(),
            "allReadyOverBound": all_ready_in.as_secs_f64() / budget_bound.as_secs_f64(),
            "callsPerCreate": burst_calls.total() as f64 / pools,
            "calls": burst_calls.json(),
        },
        "settled": {
            "seconds": window.as_secs_f64(),
            "pollWindows": poll_windows,
            "readsPerWindowPerParent": window_calls.reads() as f64 / poll_windows / settings.parents as f64,
            "mutatingCalls": window_calls.mutating(),
            "nodePoolWrites": changes,
            "reconciles": reconciles,
            "cpuSeconds": cpu,
            "cpuMsPerReconcile": if reconciles > 0.0 { cpu * 1000.0 / reconciles } else { 0.0 },
            "calls": window_calls.json(),
        },
        "lifecycle": {
            "pools": sample.len(),
            "mutatingCallsPerLifecycle": creates_per_pool + scale_delete,
            "calls": lifecycle_calls.json(),
        },
        "ens": ens,
    })
}

/// Both runs, the JSON result and the Markdown table, written under `settings.out`.
pub async fn bench(settings: &Settings) -> Value {
    std::fs::create_dir_all(&settings.out).unwrap();
    let cluster = Cluster::shared().await;
    let mut result = json!({
        "settings": settings.json(),
        "machine": {"cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)},
        "runs": [],
    });
    for observe in &settings.runs {
        let figures = run(&cluster, settings, *observe).await;
        result["runs"].as_array_mut().unwrap().push(figures);
        // Written after each run, so a long benchmark shows its first figures early.
        let text = serde_json::to_string_pretty(&result).unwrap();
        std::fs::write(settings.out.join("result.json"), &text).unwrap();
        std::fs::write(settings.out.join("result.md"), table(&result)).unwrap();
    }
    result
}

/// The figures of a result as a Markdown table, one column per run.
pub fn table(result: &Value) -> String {
    let runs = result["runs"].as_array().cloned().unwrap_or_default();
    let rows: [(&str, &str); 21] = [
        ("RSS idle, MiB", "/rssKiB/idle"),
        ("RSS at N settled, MiB", "/rssKiB/settled"),
        ("RSS after the settled window, MiB", "/rssKiB/afterSettle"),
        ("RSS growth while settled, %", "/rssKiB/growthPercent"),
        ("first status p50, ms", "/burst/firstStatusMs/p50"),
        ("first status p99, ms", "/burst/firstStatusMs/p99"),
        ("first status max, ms", "/burst/firstStatusMs/max"),
        (
            "create to the watch's first sight p50, ms",
            "/burst/firstSeenMs/p50",
        ),
        (
            "create to the watch's first sight p99, ms",
            "/burst/firstSeenMs/p99",
        ),
        ("Ready p50, ms", "/burst/readyMs/p50"),
        ("Ready p99, ms", "/burst/readyMs/p99"),
        (
            "all Ready / (N / budget + provisioning)",
            "/burst/allReadyOverBound",
        ),
        ("cloud calls per create (burst)", "/burst/callsPerCreate"),
        (
            "reads per poll window / K",
            "/settled/readsPerWindowPerParent",
        ),
        ("NodePool writes while settled", "/settled/nodePoolWrites"),
        ("CPU per no-op reconcile, ms", "/settled/cpuMsPerReconcile"),
        (
            "mutating calls per lifecycle",
            "/lifecycle/mutatingCallsPerLifecycle",
        ),
        ("ENS last create / (N / 8 s)", "/ens/lastCreateOverBound"),
        (
            "ENS all Ready / (N / 8 s + wait interval)",
            "/ens/allReadyOverBoundPlusWait",
        ),
        ("ENS Throttling.User answers", "/ens/throttlingUser"),
        (
            "ENS NodePools not Ready by the deadline",
            "/ens/notReadyAtDeadline",
        ),
    ];
    let mut out = String::from("| figure |");
    for run in &runs {
        out.push_str(&format!(
            " `--observe {}` |",
            run["observe"].as_str().unwrap_or("?")
        ));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(runs.len()));
    out.push('\n');
    for (label, pointer) in rows {
        out.push_str(&format!("| {label} |"));
        for run in &runs {
            let value = run.pointer(pointer).cloned().unwrap_or(Value::Null);
            let text = match value.as_f64() {
                Some(v) if pointer.starts_with("/rssKiB/") && !pointer.ends_with("Percent") => {
                    format!("{:.1}", v / 1024.0)
                }
                Some(v) if v.fract() == 0.0 => format!("{v:.0}"),
                Some(v) => format!("{v:.2}"),
                None => "-".to_owned(),
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out
}
