//! The end-to-end harness: the real operator (in-process, as the ServiceAccount
//! `deploy/rbac.yaml` binds) against the shared control plane and a simulator of its own, in a
//! namespace of its own, with the sample manifests of `deploy/samples/`.

use std::time::Duration;

use kube::api::DeleteParams;
use kube::{Api, Client};
use nodepool_operator::api::NodePool;
use nodepool_operator::controller::{self, Config};
use nodepool_operator::provider::retry::RetryPolicy;
use nodepool_sim::{Cloud, RunningSim, SimConfig};
use serde_json::{Value, json};

use super::cluster::{Cluster, TestNamespace};
use super::kube_proxy::KubeProxy;
use super::{fast_timing, wait_for};

/// How long a test waits for what the operator must reach; generous, since a loaded 2-core
/// machine runs several API servers at once, and only a failing wait costs it.
pub const DEADLINE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Which {
    Cce,
    ModelArts,
    Ens,
}

impl Which {
    pub fn sample(self) -> &'static str {
        match self {
            Which::Cce => "nodepool-cce.yaml",
            Which::ModelArts => "nodepool-modelarts.yaml",
            Which::Ens => "nodepool-ens.yaml",
        }
    }
    pub fn account(self) -> &'static str {
        match self {
            Which::Cce | Which::ModelArts => "huawei-account.yaml",
            Which::Ens => "alibaba-account.yaml",
        }
    }
    pub fn cloud(self) -> Cloud {
        match self {
            Which::Cce => Cloud::Cce,
            Which::ModelArts => Cloud::ModelArts,
            Which::Ens => Cloud::Ens,
        }
    }
    /// A merge patch setting the node count.
    pub fn count_patch(self, n: i64) -> Value {
        match self {
            Which::Cce => json!({"spec": {"cce": {"initialNodeCount": n}}}),
            Which::ModelArts => {
                json!({"spec": {"modelarts": {"resources": {"count": n, "maxCount": n}}}})
            }
            Which::Ens => json!({"spec": {"ens": {"scalingGroup": {"desiredSize": n}}}}),
        }
    }
    /// A merge patch changing a mutable setting.
    pub fn change_patch(self) -> Value {
        match self {
            Which::Cce => {
                json!({"spec": {"cce": {"nodeTemplate": {"k8sTags": {"team": "infra"}}}}})
            }
            Which::ModelArts => {
                json!({"spec": {"modelarts": {"resources": {"labels": {"team": "infra"}}}}})
            }
            Which::Ens => json!({"spec": {"ens": {"scalingGroup": {"imageId": "m-newimage"}}}}),
        }
    }
    /// The simulator operation such a change uses.
    pub fn change_operation(self) -> &'static str {
        match self {
            Which::Cce => "update",
            Which::ModelArts => "patch",
            Which::Ens => "ModifyClusterNodePool",
        }
    }
    pub fn create_operation(self) -> &'static str {
        match self {
            Which::Ens => "CreateClusterNodePool",
            _ => "create",
        }
    }
}

pub const ALL: [Which; 3] = [Which::Cce, Which::ModelArts, Which::Ens];

/// Manifests of `deploy/samples/`, pointed at this simulator.
pub fn sample(file: &str, sim: &RunningSim) -> Vec<Value> {
    super::sample(file, &sim.url())
}

pub struct Env {
    pub cluster: Cluster,
    pub ns: TestNamespace,
    pub sim: RunningSim,
    /// Admin: what a user does with kubectl.
    pub client: Client,
    /// The operator's ServiceAccount, directly or through a fault-injecting proxy.
    pub operator_client: Client,
    pub proxy: Option<KubeProxy>,
    pub operator: Option<(
        tokio::task::JoinHandle<()>,
        tokio::sync::oneshot::Sender<()>,
    )>,
}

pub fn operator_config(namespace: &str, poll: Duration) -> Config {
    Config {
        namespace: Some(namespace.into()),
        concurrency: 4,
        poll_interval: poll,
        wait_interval: Duration::from_millis(100),
        error_backoff: Duration::from_millis(100),
        retry: RetryPolicy {
            max_attempts: 2,
            max_elapsed: Duration::from_secs(1),
            ..RetryPolicy::default()
        },
        metrics_addr: None,
        selector: None,
        observe: nodepool_operator::controller::Observe::List,
        election: None,
        shutdown_timeout: Duration::from_secs(5),
        refused_plan_attempts: 3,
    }
}

impl Env {
    pub async fn new(sim_config: SimConfig) -> Self {
        let cluster = Cluster::shared().await;
        let ns = cluster.namespace("e2e").await;
        let sim = RunningSim::start(sim_config, "127.0.0.1:0").await.unwrap();
        let client = cluster.admin.clone();
        let operator_client = cluster.operator_client().await;
        Self {
            cluster,
            ns,
            sim,
            client,
            operator_client,
            proxy: None,
            operator: None,
        }
    }

    /// Puts a fault-injecting proxy between the operator (started after this) and the API.
    pub async fn with_proxy(&mut self) -> &KubeProxy {
        let proxy = KubeProxy::start(&self.cluster.url, &self.cluster.ca_pem).await;
        self.operator_client = self
            .cluster
            .client_with_token(&proxy.url(), &self.cluster.operator_token())
            .await;
        self.proxy.insert(proxy)
    }

    pub fn config(&self, poll: Duration) -> Config {
        operator_config(&self.ns, poll)
    }

    pub async fn fast() -> Self {
        Self::new(SimConfig {
            timing: fast_timing(100, 50),
            ..SimConfig::default()
        })
        .await
    }

    pub fn start_operator(&mut self, poll: Duration) {
        self.start_operator_with(self.config(poll));
    }

    pub fn start_operator_with(&mut self, config: Config) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let client = self.operator_client.clone();
        let task = tokio::spawn(async move {
            controller::run(client, config, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        self.operator = Some((task, stop));
    }

    /// Kills the operator at once (no graceful shutdown), as a crash would.
    pub fn kill_operator(&mut self) {
        if let Some((task, _stop)) = self.operator.take() {
            task.abort();
        }
    }

    pub async fn apply_all(&self, manifests: Vec<Value>) {
        for manifest in manifests {
            self.create(manifest).await.unwrap();
        }
    }

    pub async fn create(&self, manifest: Value) -> Result<(), kube::Error> {
        super::create_manifest(&self.client, &self.ns, manifest).await
    }

    /// Deletes a NodePool and waits until the API no longer has it (finalizer done).
    pub async fn delete_and_wait_gone(&self, name: &str) {
        self.pools()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        wait_for("NodePool gone", DEADLINE, || async {
            self.pools()
                .get_opt(name)
                .await
                .unwrap()
                .is_none()
                .then_some(())
        })
        .await;
    }

    pub fn pools(&self) -> Api<NodePool> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub async fn wait_pool(
        &self,
        name: &str,
        what: &str,
        check: impl Fn(&NodePool) -> bool,
    ) -> NodePool {
        wait_for(what, DEADLINE, || async {
            let pool = self.pools().get_opt(name).await.unwrap()?;
            check(&pool).then_some(pool)
        })
        .await
    }

    pub async fn wait_ready(&self, name: &str, nodes: i32) -> NodePool {
        self.wait_pool(name, &format!("{name} Ready with {nodes} nodes"), |p| {
            let status = p.status.clone().unwrap_or_default();
            status.current_node == Some(nodes)
                && condition(p, "Ready") == Some(("True".into(), "PoolReady".into()))
        })
        .await
    }

    pub fn sim_pools(&self, cloud: Cloud) -> Vec<nodepool_sim::admin::PoolView> {
        self.sim
            .pools()
            .into_iter()
            .filter(|p| p.cloud == cloud)
            .collect()
    }
}

pub fn condition(pool: &NodePool, type_: &str) -> Option<(String, String)> {
    pool.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.to_string(), c.reason.to_string()))
}

pub fn name_of(which: Which) -> &'static str {
    match which {
        Which::Cce => "cce-workers",
        Which::ModelArts => "modelarts-train",
        Which::Ens => "ens-edge",
    }
}

pub async fn setup(which: Which) -> Env {
    let mut env = Env::fast().await;
    env.apply_all(sample(which.account(), &env.sim)).await;
    env.start_operator(Duration::from_secs(300));
    env
}
