//! The campaign harness: `nodepool-operator run` as a real process (a kill is a real SIGKILL)
//! against the shared control plane and a simulator with credentials of its own; a fleet of
//! NodePools across the three clouds; invariants read from the simulator's own state; the
//! scan of every record for the credentials; the settings (short in CI, long for the figures)
//! and the JSON result of a run.
//!
//! `NODEPOOL_CAMPAIGN=full` selects the long settings; `NODEPOOL_CAMPAIGN_<KEY>=N` overrides one
//! (the keys are named where each campaign reads them). Results go to
//! `target/tmp/campaigns/<campaign>.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Event;
use kube::Api;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams};
use nodepool_operator::api::{CloudAccount, NodePool};
use nodepool_sim::{Cloud, FaultEffect, FaultRule, RecordedRequest, RunningSim, SimConfig};
use serde_json::{Value, json};

use super::cluster::{Cluster, TestNamespace};
use super::operator::Which;

const PROJECT: &str = "0123456789abcdef0123456789abcdef";
const CCE_CLUSTER: &str = "11111111-2222-3333-4444-555555555555";
const MODELARTS_POOL: &str = "pool-sim-0000000000000000000000000001";
const ENS_CLUSTER: &str = "eck-sim00001";

/// Whether the long settings were asked for.
pub fn full() -> bool {
    std::env::var("NODEPOOL_CAMPAIGN").is_ok_and(|v| v == "full")
}

/// A campaign parameter: `NODEPOOL_CAMPAIGN_<KEY>` if set, else the short or the full default.
pub fn setting(key: &str, short: u64, long: u64) -> u64 {
    let name = format!("NODEPOOL_CAMPAIGN_{key}");
    match std::env::var(&name) {
        Ok(value) => value
            .parse()
            .unwrap_or_else(|_| panic!("{name}={value} is not a whole number")),
        Err(_) if full() => long,
        Err(_) => short,
    }
}

/// Credentials made up for one campaign, so a scan for them finds only what this run leaked.
pub struct Credentials {
    pub huawei_ak: String,
    pub huawei_sk: String,
    pub iam_user: String,
    pub iam_password: String,
    pub iam_domain: String,
    pub alibaba_id: String,
    pub alibaba_secret: String,
}

fn random(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

impl Credentials {
    pub fn fresh() -> Self {
        Self {
            huawei_ak: random("HWAK").to_uppercase()[..20].to_owned(),
            huawei_sk: random("hw-sk-"),
            iam_user: random("user-"),
            iam_password: random("pw-"),
            iam_domain: random("domain-"),
            alibaba_id: random("LTAI")[..24].to_owned(),
            alibaba_secret: random("ali-secret-"),
        }
    }

    /// Every credential value, named: none may appear in a log line, event, status or audit
    /// record (access key ids included, though they are not secret on their own).
    pub fn values(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("Huawei access key", &self.huawei_ak),
            ("Huawei secret key", &self.huawei_sk),
            ("IAM password", &self.iam_password),
            ("Alibaba AccessKeyId", &self.alibaba_id),
            ("Alibaba AccessKeySecret", &self.alibaba_secret),
        ]
    }

    /// A simulator that knows only these identities, with the demo parents.
    pub fn sim_config(&self, ready_ms: u64, delete_ms: u64, seed: u64) -> SimConfig {
        let mut config: SimConfig = serde_json::from_value(json!({
            "huawei": [{
                "accessKey": self.huawei_ak,
                "secretKey": self.huawei_sk,
                "domain": self.iam_domain,
                "users": [{"name": self.iam_user, "password": self.iam_password}],
                "projects": [{
                    "id": PROJECT,
                    "name": "cn-north-4",
                    "cceClusters": [CCE_CLUSTER],
                    "modelartsPools": [MODELARTS_POOL],
                }],
            }],
            "alibaba": [{
                "accessKeyId": self.alibaba_id,
                "accessKeySecret": self.alibaba_secret,
                "ensClusters": [{"id": ENS_CLUSTER, "region": "cn-guiyang-14"}],
            }],
            "faultSeed": seed,
        }))
        .unwrap();
        config.timing = super::fast_timing(ready_ms, delete_ms);
        config
    }

    /// Secrets and CloudAccounts: `huawei` (AK/SK), `huawei-iam` (IAM password) and `alibaba`.
    pub fn manifests(&self, sim_url: &str, poll_seconds: u64) -> Vec<Value> {
        let secret = |name: &str, data: Value| {
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
                   "type": "Opaque", "stringData": data})
        };
        let account = |name: &str, secret: &str, extra: Value| {
            let mut spec = json!({
                "credentialsSecretRef": {"name": secret},
                "pollIntervalSeconds": poll_seconds,
            });
            merge(&mut spec, &extra);
            json!({"apiVersion": "nodepool.io/v1alpha1", "kind": "CloudAccount",
                   "metadata": {"name": name}, "spec": spec})
        };
        let huawei = json!({
            "provider": "huawei", "region": "cn-north-4", "projectId": PROJECT,
            "endpoints": {"cce": sim_url, "modelarts": sim_url, "iam": sim_url},
        });
        vec![
            secret(
                "huawei-aksk",
                json!({"accessKey": self.huawei_ak, "secretKey": self.huawei_sk}),
            ),
            secret(
                "huawei-iam",
                json!({"username": self.iam_user, "password": self.iam_password,
                       "domain": self.iam_domain}),
            ),
            secret(
                "alibaba",
                json!({"accessKeyId": self.alibaba_id, "accessKeySecret": self.alibaba_secret}),
            ),
            account("huawei", "huawei-aksk", huawei.clone()),
            account("huawei-iam", "huawei-iam", huawei),
            account(
                "alibaba",
                "alibaba",
                json!({"provider": "alibaba", "region": "cn-guiyang-14",
                       "endpoints": {"ens": sim_url},
                       "rateBudget": {"requestsPerSecond": 8, "burst": 1}}),
            ),
        ]
    }
}

/// JSON merge patch (RFC 7386).
pub fn merge(into: &mut Value, patch: &Value) {
    match (into, patch) {
        (Value::Object(into), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    into.remove(key);
                } else {
                    merge(into.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (into, patch) => *into = patch.clone(),
    }
}

/// One NodePool of a campaign's fleet.
#[derive(Debug, Clone)]
pub struct Member {
    pub which: Which,
    pub name: String,
    pub account: &'static str,
    /// `deletionPolicy: Orphan`: the cloud pool stays when the NodePool goes.
    pub orphan: bool,
}

/// `n` NodePools, the three clouds in turn; ModelArts pools alternate between the AK/SK and the
/// IAM account; every fifth pool is orphaned on deletion.
pub fn fleet(n: usize, prefix: &str) -> Vec<Member> {
    (0..n)
        .map(|i| {
            let which = super::operator::ALL[i % 3];
            let short = match which {
                Which::Cce => "cce",
                Which::ModelArts => "ma",
                Which::Ens => "ens",
            };
            let account = match which {
                Which::Cce => "huawei",
                Which::ModelArts if i % 2 == 0 => "huawei-iam",
                Which::ModelArts => "huawei",
                Which::Ens => "alibaba",
            };
            Member {
                which,
                name: format!("{prefix}{short}-{i}"),
                account,
                orphan: i % 5 == 4,
            }
        })
        .collect()
}

impl Member {
    /// The NodePool manifest (from `deploy/samples/`) with `count` nodes.
    pub fn manifest(&self, count: i64) -> Value {
        let mut manifest = super::sample(self.which.sample(), "http://unused").remove(0);
        manifest["metadata"]["name"] = json!(self.name);
        manifest["spec"]["accountRef"]["name"] = json!(self.account);
        if self.orphan {
            manifest["spec"]["deletionPolicy"] = json!("Orphan");
        }
        merge(&mut manifest, &self.which.count_patch(count));
        manifest
    }

    /// A merge patch setting a mutable field to a value that names `marker`, so the request
    /// that carries it to the cloud can be found.
    pub fn change_patch(&self, marker: &str) -> Value {
        match self.which {
            Which::Cce => json!({"spec": {"cce": {"nodeTemplate": {"k8sTags": {"team": marker}}}}}),
            Which::ModelArts => {
                json!({"spec": {"modelarts": {"resources": {"labels": {"team": marker}}}}})
            }
            Which::Ens => {
                json!({"spec": {"ens": {"scalingGroup": {"imageId": format!("m-{marker}")}}}})
            }
        }
    }

    pub fn cloud(&self) -> Cloud {
        self.which.cloud()
    }
}

/// The name a create request asks the cloud for.
pub fn created_name(request: &RecordedRequest) -> Option<String> {
    if let Some(name) = request
        .body
        .as_ref()
        .and_then(|b| b["metadata"]["name"].as_str())
    {
        return Some(name.to_owned());
    }
    let info = request.params.as_ref()?.get("NodepoolInfo")?;
    let info = match info {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    info["Name"].as_str().map(str::to_owned)
}

fn is_create(request: &RecordedRequest) -> bool {
    matches!(
        request.operation.as_str(),
        "create" | "CreateClusterNodePool"
    )
}

/// Whether the cloud carried the request out: answered with success, or served with its answer
/// dropped or held. (ENS answers every refusal with a 4xx and an error code.)
pub fn served(request: &RecordedRequest) -> bool {
    let ok = |status: u16| (200..300).contains(&status);
    match (request.status, request.fault.as_deref()) {
        (Some(status), _) => ok(status) && request.error_code.is_none(),
        (None, Some(fault)) => fault.starts_with("DropAfterServing { served: 2"),
        (None, None) => false,
    }
}

/// Creates the cloud carried out, per (cloud, pool name).
pub fn served_creates(requests: &[RecordedRequest]) -> BTreeMap<(String, String), usize> {
    let mut counts = BTreeMap::new();
    for request in requests.iter().filter(|r| is_create(r) && served(r)) {
        let cloud = request.cloud.map(|c| format!("{c:?}")).unwrap_or_default();
        let name = created_name(request).unwrap_or_default();
        *counts.entry((cloud, name)).or_insert(0) += 1;
    }
    counts
}

/// Pool names the cloud carried out more than one create for.
pub fn doubled_creates(requests: &[RecordedRequest]) -> Vec<String> {
    served_creates(requests)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((cloud, name), n)| format!("{cloud} {name}: {n} creates"))
        .collect()
}

/// Cloud pools that share a (cloud, parent, name): two cloud pools for one NodePool.
pub fn duplicate_pools(sim: &RunningSim) -> Vec<String> {
    let mut counts: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for pool in sim.pools() {
        *counts
            .entry((format!("{:?}", pool.cloud), pool.parent, pool.name))
            .or_insert(0) += 1;
    }
    counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|((cloud, parent, name), n)| format!("{cloud} {parent}/{name}: {n} pools"))
        .collect()
}

/// Fails, after a campaign has written its result, if a create was carried out twice or two
/// cloud pools share a (cloud, parent, name).
pub fn assert_nothing_doubled(doubled: &[String], duplicates: &[String]) {
    assert!(
        doubled.is_empty(),
        "a create carried out twice: {doubled:?}"
    );
    assert!(
        duplicates.is_empty(),
        "two cloud pools for one NodePool: {duplicates:?}"
    );
}

/// Whether a request that reached the cloud (and was carried out) holds `marker`.
pub fn carried(requests: &[RecordedRequest], operation: &str, marker: &str) -> bool {
    requests.iter().any(|r| {
        r.operation == operation
            && served(r)
            && (r
                .body
                .as_ref()
                .is_some_and(|b| b.to_string().contains(marker))
                || r.params
                    .as_ref()
                    .is_some_and(|p| Value::Object(p.clone()).to_string().contains(marker)))
    })
}

/// The simulator's requests, taken in as they come so a long run outlives its bounded log: the
/// creates and changes in full (for the duplicate and lost-update checks), every call counted.
#[derive(Default)]
pub struct History {
    last_seq: u64,
    /// Creates and changes, in order.
    pub writes: Vec<RecordedRequest>,
    /// Every request seen.
    pub calls: u64,
    /// Requests a fault fired on, by the fault's kind (`HoldAnswer`, `Drop`, ...).
    pub faults: BTreeMap<String, u64>,
}

impl History {
    /// Takes in what the simulator recorded since the last call; fails if some of it was
    /// already dropped from the log (absorb more often).
    pub fn absorb(&mut self, sim: &RunningSim) {
        let fresh: Vec<RecordedRequest> = sim
            .requests()
            .into_iter()
            .filter(|r| r.seq > self.last_seq)
            .collect();
        if let Some(first) = fresh.first() {
            assert!(
                first.seq == self.last_seq + 1,
                "the simulator's request log dropped requests {}..{} before they were read",
                self.last_seq + 1,
                first.seq
            );
        }
        for request in fresh {
            self.last_seq = request.seq;
            self.calls += 1;
            if let Some(fault) = &request.fault {
                let kind = fault.split([' ', '{', '(']).next().unwrap_or_default();
                *self.faults.entry(kind.to_owned()).or_insert(0) += 1;
            }
            if is_create(&request) || CHANGES.contains(&request.operation.as_str()) {
                self.writes.push(request);
            }
        }
    }
}

/// The operations that carry a mutable change, per cloud.
const CHANGES: [&str; 3] = ["update", "patch", "ModifyClusterNodePool"];

/// What the fleet looks like at one instant: the cloud's pools and the API's NodePools.
pub struct Snapshot {
    cloud: Vec<nodepool_sim::admin::PoolView>,
    api: BTreeMap<String, NodePool>,
}

/// A campaign's world: namespace, simulator, credentials, accounts, and the operator process.
pub struct Campaign {
    pub name: &'static str,
    pub cluster: Cluster,
    pub ns: TestNamespace,
    pub sim: RunningSim,
    pub credentials: Credentials,
    /// Kept after the run: `target/tmp/campaigns/<namespace>/` (the operator's log).
    pub dir: PathBuf,
    pub log: PathBuf,
    pub kubeconfig: PathBuf,
    pub poll_seconds: u64,
    pub log_level: &'static str,
    pub operator: Option<OperatorProcess>,
    pub starts: usize,
}

impl Campaign {
    pub async fn start(name: &'static str, poll_seconds: u64, ready_ms: u64, seed: u64) -> Self {
        let cluster = Cluster::shared().await;
        let ns = cluster.namespace(name).await;
        let credentials = Credentials::fresh();
        let sim = RunningSim::start(
            credentials.sim_config(ready_ms, ready_ms, seed),
            "127.0.0.1:0",
        )
        .await
        .unwrap();
        for manifest in credentials.manifests(&sim.url(), poll_seconds) {
            super::create_manifest(&cluster.admin, &ns, manifest)
                .await
                .unwrap();
        }
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("campaigns")
            .join(&ns.name);
        std::fs::create_dir_all(&dir).unwrap();
        let kubeconfig = cluster.write_operator_kubeconfig(&cluster.url, &dir.join("kubeconfig"));
        Self {
            name,
            log: dir.join("operator.log"),
            cluster,
            ns,
            sim,
            credentials,
            dir,
            kubeconfig,
            poll_seconds,
            log_level: "nodepool_operator=debug,info",
            operator: None,
            starts: 0,
        }
    }

    /// Points the operator (started after this) at `url` instead of the API server.
    pub fn through(&mut self, url: &str) {
        self.kubeconfig = self
            .cluster
            .write_operator_kubeconfig(url, &self.dir.join("kubeconfig"));
    }

    pub fn start_operator(&mut self) {
        self.operator = Some(OperatorProcess::spawn(self));
        self.starts += 1;
    }

    /// SIGKILL: no graceful shutdown, in-flight calls abandoned.
    pub fn kill_operator(&mut self) {
        if let Some(mut operator) = self.operator.take() {
            operator.kill();
        }
    }

    pub fn pools(&self) -> Api<NodePool> {
        Api::namespaced(self.cluster.admin.clone(), &self.ns)
    }

    pub async fn create(&self, member: &Member, count: i64) {
        super::create_manifest(&self.cluster.admin, &self.ns, member.manifest(count))
            .await
            .unwrap();
    }

    pub async fn patch(&self, member: &Member, patch: &Value) {
        self.pools()
            .patch(&member.name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap();
    }

    pub async fn delete(&self, member: &Member) {
        self.pools()
            .delete(&member.name, &DeleteParams::default())
            .await
            .unwrap();
    }

    /// Fault rules installed on every cloud and operation.
    pub fn add_faults(&self, rules: &[(FaultEffect, f64)]) {
        for (effect, rate) in rules {
            self.sim
                .add_fault(FaultRule {
                    cloud: None,
                    operation: None,
                    effect: effect.clone(),
                    rate: Some(*rate),
                    count: None,
                })
                .unwrap();
        }
    }

    /// The fleet now, as the simulator and the API server show it.
    pub async fn snapshot(&self) -> Snapshot {
        let api = self
            .pools()
            .list(&ListParams::default())
            .await
            .map(|list| {
                list.items
                    .into_iter()
                    .map(|p| (p.metadata.name.clone().unwrap_or_default(), p))
                    .collect()
            })
            .unwrap_or_default();
        Snapshot {
            cloud: self.sim.pools(),
            api,
        }
    }

    /// What is still wrong with `member` against what it should be (`None`: converged):
    /// live, Ready at its generation with `count` nodes, the cloud pool alone and at `count`,
    /// and the change `marker` (if any) carried to the cloud; or deleted, gone from the API,
    /// its cloud pool gone too unless orphaned.
    pub fn unconverged(
        &self,
        member: &Member,
        expected: &Expected,
        now: &Snapshot,
        writes: &[RecordedRequest],
    ) -> Option<String> {
        let cloud_pools: Vec<_> = now
            .cloud
            .iter()
            .filter(|p| p.cloud == member.cloud() && p.name == member.name)
            .collect();
        let pool = now.api.get(&member.name);
        if expected.deleted {
            if pool.is_some() {
                return Some("NodePool still in the API".into());
            }
            let want = usize::from(member.orphan);
            return (cloud_pools.len() != want)
                .then(|| format!("{} cloud pools, {want} expected", cloud_pools.len()));
        }
        let Some(pool) = pool else {
            return Some("NodePool not in the API".into());
        };
        let status = pool.status.clone().unwrap_or_default();
        let ready = status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        if !ready || status.observed_generation != pool.metadata.generation {
            return Some(format!("status not Ready at its generation: {status:?}"));
        }
        if status.current_node != Some(expected.count as i32) {
            return Some(format!("currentNode {:?}", status.current_node));
        }
        match cloud_pools.as_slice() {
            [one] if one.desired == expected.count as u32 && one.current == one.desired => {}
            other => return Some(format!("cloud pools {other:?}")),
        }
        if let Some(marker) = &expected.marker
            && !carried(writes, member.which.change_operation(), marker)
        {
            return Some(format!("change {marker} never reached the cloud"));
        }
        None
    }

    /// Of the members waited for (`since[i]` set), those converged now: their entries are
    /// cleared, and each is answered with the time since its entry was set.
    pub async fn newly_converged(
        &self,
        members: &[Member],
        expected: &[Expected],
        since: &mut [Option<Instant>],
        writes: &[RecordedRequest],
    ) -> Vec<(usize, Duration)> {
        let now = self.snapshot().await;
        let mut converged = Vec::new();
        for (i, waiting) in since.iter_mut().enumerate() {
            if let Some(at) = *waiting
                && self
                    .unconverged(&members[i], &expected[i], &now, writes)
                    .is_none()
            {
                converged.push((i, at.elapsed()));
                *waiting = None;
            }
        }
        converged
    }

    /// Waits until every member converges; answers each one's time to converge (from now) and
    /// fails, naming what is left, when `deadline` passes.
    pub async fn converge(
        &self,
        members: &[(Member, Expected)],
        history: &mut History,
        deadline: Duration,
    ) -> Vec<Duration> {
        let start = Instant::now();
        let mut times: Vec<Option<Duration>> = vec![None; members.len()];
        loop {
            history.absorb(&self.sim);
            let now = self.snapshot().await;
            let mut left = Vec::new();
            for (i, (member, expected)) in members.iter().enumerate() {
                if times[i].is_some() {
                    continue;
                }
                match self.unconverged(member, expected, &now, &history.writes) {
                    None => times[i] = Some(start.elapsed()),
                    Some(why) => left.push(format!("{}: {why}", member.name)),
                }
            }
            if left.is_empty() {
                return times.into_iter().flatten().collect();
            }
            if start.elapsed() > deadline {
                panic!(
                    "{} of {} NodePools not converged {deadline:?} after the last disturbance (operator log: {}):\n{}",
                    left.len(),
                    members.len(),
                    self.log.display(),
                    left.join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Every place a credential could leak to that shows one: the operator's log, the
    /// namespace's Events, NodePools and CloudAccounts (status included), and the audit
    /// records of this namespace and of the operator's ServiceAccount.
    pub async fn leaks(&self) -> (Vec<String>, ScanCounts) {
        let mut records: Vec<(String, String)> = Vec::new();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        for (n, line) in log.lines().enumerate() {
            records.push((format!("operator log line {}", n + 1), line.to_owned()));
        }
        let events: Api<Event> = Api::namespaced(self.cluster.admin.clone(), &self.ns);
        for event in events.list(&ListParams::default()).await.unwrap() {
            records.push(("Event".into(), serde_json::to_string(&event).unwrap()));
        }
        for pool in self.pools().list(&ListParams::default()).await.unwrap() {
            records.push(("NodePool".into(), serde_json::to_string(&pool).unwrap()));
        }
        let accounts: Api<CloudAccount> = Api::namespaced(self.cluster.admin.clone(), &self.ns);
        for account in accounts.list(&ListParams::default()).await.unwrap() {
            records.push((
                "CloudAccount".into(),
                serde_json::to_string(&account).unwrap(),
            ));
        }
        let audit = std::fs::read_to_string(self.cluster.audit_log()).unwrap_or_default();
        let mut audit_records = 0;
        for line in audit.lines() {
            let of_this_run =
                line.contains(&*self.ns.name) || line.contains(super::cluster::OPERATOR_USER);
            if of_this_run {
                audit_records += 1;
                records.push(("audit record".into(), line.to_owned()));
            }
        }
        let counts = ScanCounts {
            log_lines: log.lines().count(),
            objects: records.len() - log.lines().count() - audit_records,
            audit_records,
        };
        let mut found = Vec::new();
        for (place, text) in &records {
            for (what, value) in self.credentials.values() {
                if text.contains(value) {
                    found.push(format!("{place} holds the {what}: {text}"));
                }
            }
        }
        (found, counts)
    }

    /// The secret scan as a campaign ends: fails on any credential found.
    pub async fn assert_no_leak(&self) -> ScanCounts {
        let (found, counts) = self.leaks().await;
        assert!(
            found.is_empty(),
            "credentials leaked:\n{}",
            found.join("\n")
        );
        counts
    }
}

/// What a member should end as.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    pub count: i64,
    pub marker: Option<String>,
    pub deleted: bool,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct ScanCounts {
    pub log_lines: usize,
    pub objects: usize,
    pub audit_records: usize,
}

/// One `nodepool-operator run` process; SIGKILLed when dropped.
pub struct OperatorProcess {
    child: Child,
    pub metrics: String,
}

impl OperatorProcess {
    fn spawn(campaign: &Campaign) -> Self {
        let metrics = format!("127.0.0.1:{}", super::free_port());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&campaign.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"))
            .args([
                "run",
                "--namespace",
                &campaign.ns,
                "--leader-election=false",
            ])
            .args(["--wait-interval", "1", "--log-json"])
            .args(["--poll-interval", &campaign.poll_seconds.to_string()])
            .args(["--log-level", campaign.log_level])
            .args(["--metrics-addr", &metrics])
            .env("KUBECONFIG", &campaign.kubeconfig)
            .env_remove("RUST_LOG")
            .env_remove("NODEPOOL_LOG")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        Self { child, metrics }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Resident memory, KiB, from `/proc`.
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// User plus system CPU time, seconds, from `/proc` (clock ticks of 1/100 s).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).ok()?;
        let after_name = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = after_name.split(' ').collect();
        let ticks: u64 =
            fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
        Some(ticks as f64 / 100.0)
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The `p`-th percentile (0..=100) of `values`, nearest rank.
pub fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn millis(d: Duration) -> u64 {
    d.as_millis() as u64
}

/// p50, p99 and max of `values`, in milliseconds, for a result file.
pub fn spread(values: &[Duration]) -> Value {
    json!({
        "p50": millis(percentile(values, 50.0)),
        "p99": millis(percentile(values, 99.0)),
        "max": millis(percentile(values, 100.0)),
    })
}

/// Writes `target/tmp/campaigns/<name>.json` and prints it.
pub fn write_result(name: &str, result: &Value) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("campaigns");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.json"));
    let text = serde_json::to_string_pretty(result).unwrap();
    std::fs::write(&path, &text).unwrap();
    eprintln!("campaign {name} ({}):\n{text}", path.display());
    path
}
