//! The `nodepool-operator` command line: `run`, `crds`, `dev`, `control-plane`.

use std::time::Duration;

use clap::{Parser, Subcommand};
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams};
use tracing_subscriber::EnvFilter;

use crate::api::{CloudAccount, NodePool, crds_yaml};
use crate::controller::{self, Config};
use crate::local_cluster::{Assets, LocalCluster};
use crate::sim::{RunningSim, SimConfig};

#[derive(Debug, Parser)]
#[command(
    name = "nodepool-operator",
    version,
    about = "Cloud node pools (Huawei CCE, ModelArts, Alibaba ENS) as Kubernetes resources"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Watch only this namespace (default: all namespaces).
    #[arg(long, env = "NODEPOOL_NAMESPACE")]
    pub namespace: Option<String>,
    /// Reconcile only the NodePools this label selector matches (`shard=a`, `team in (ml,ops)`),
    /// to share NodePools among several operator deployments.
    #[arg(long, env = "NODEPOOL_SELECTOR")]
    pub selector: Option<String>,
    /// NodePools reconciled at once.
    #[arg(long, env = "NODEPOOL_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
    /// Seconds between drift checks of settled pools (accounts and NodePools may override).
    #[arg(long, env = "NODEPOOL_POLL_INTERVAL", default_value_t = 300)]
    pub poll_interval: u64,
    /// Seconds between checks while the cloud is working.
    #[arg(long, env = "NODEPOOL_WAIT_INTERVAL", default_value_t = 10)]
    pub wait_interval: u64,
    /// Log filter (`info`, `debug`, `nodepool_operator=debug,kube=info`).
    #[arg(long, env = "NODEPOOL_LOG", default_value = "info")]
    pub log_level: String,
    /// Log as JSON lines.
    #[arg(long, env = "NODEPOOL_LOG_JSON")]
    pub log_json: bool,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "NODEPOOL_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller (kubeconfig from KUBECONFIG or ~/.kube/config, or in-cluster).
    Run(RunArgs),
    /// Print the CRDs as YAML.
    Crds,
    /// Try it locally: install the CRDs into the current cluster (or, when none is reachable,
    /// into a local etcd + kube-apiserver started for the purpose), serve the cloud simulator
    /// on 127.0.0.1:8787 and run the controller against both.
    Dev {
        #[command(flatten)]
        run: RunArgs,
        /// Where the built-in simulator listens.
        #[arg(long, default_value = crate::sim::DEFAULT_LISTEN)]
        sim_listen: String,
        #[command(flatten)]
        local: LocalArgs,
    },
    /// Start a local etcd + kube-apiserver, print the `export KUBECONFIG=...` line to use it,
    /// and run until interrupted.
    ControlPlane {
        #[command(flatten)]
        local: LocalArgs,
        /// Also stop when the process with this id exits (for test harnesses and scripts).
        #[arg(long)]
        exit_with_pid: Option<u32>,
    },
}

#[derive(Debug, Clone, clap::Args)]
pub struct LocalArgs {
    /// Folder holding `kube-apiserver` and `etcd` (default: KUBEBUILDER_ASSETS, else the
    /// newest build of scripts/control-plane).
    #[arg(long)]
    pub assets: Option<std::path::PathBuf>,
    /// Where the local control plane keeps its state, certificates, logs and kubeconfig
    /// (emptied at start; default: ~/.cache/nodepool-operator/local-cluster).
    #[arg(long)]
    pub state_dir: Option<std::path::PathBuf>,
}

impl LocalArgs {
    /// Starts a fresh local control plane.
    async fn start(&self) -> anyhow::Result<LocalCluster> {
        let dir = self
            .state_dir
            .clone()
            .unwrap_or_else(|| crate::local_cluster::assets::cache_root().join("local-cluster"));
        if dir.exists() {
            // Only ever empty a folder an earlier local control plane wrote.
            let empty = std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_none());
            if !empty && !dir.join("ca.crt").is_file() {
                anyhow::bail!(
                    "refusing to empty {}: it is not a local control plane's state folder",
                    dir.display()
                );
            }
            std::fs::remove_dir_all(&dir)
                .map_err(|e| anyhow::anyhow!("cannot empty {}: {e}", dir.display()))?;
        }
        let assets = match Assets::locate(self.assets.as_deref()) {
            Err(crate::local_cluster::AssetsError::NotBuilt(_)) if BUILD_SCRIPT.is_file() => {
                // Run from its source checkout: build the pinned binaries (minutes, once).
                eprintln!(
                    "nodepool-operator: building kube-apiserver and etcd with {}",
                    BUILD_SCRIPT.display()
                );
                Assets::build(&BUILD_SCRIPT)?
            }
            other => other?,
        };
        eprintln!(
            "nodepool-operator: starting etcd and kube-apiserver from {} in {}",
            assets.dir.display(),
            dir.display()
        );
        let cluster = LocalCluster::start(&assets, &dir).await?;
        println!("export KUBECONFIG={}", cluster.kubeconfig().display());
        Ok(cluster)
    }
}

/// The script that builds the control plane, in the checkout this binary was built from.
static BUILD_SCRIPT: std::sync::LazyLock<std::path::PathBuf> = std::sync::LazyLock::new(|| {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/control-plane")
});

/// The current cluster when its kubeconfig resolves and its API server answers.
async fn reachable_cluster() -> Option<kube::Client> {
    let client = kube::Client::try_default().await.ok()?;
    match tokio::time::timeout(Duration::from_secs(5), client.apiserver_version()).await {
        Ok(Ok(_)) => Some(client),
        _ => None,
    }
}

/// Resolves when `pid` no longer exists (never when `None`).
async fn process_gone(pid: Option<u32>) {
    let Some(pid) = pid else {
        return std::future::pending().await;
    };
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    while proc.exists() {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn init_logging(args: &RunArgs) {
    let filter = EnvFilter::try_new(&args.log_level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if args.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

fn config(args: &RunArgs) -> Config {
    Config {
        namespace: args.namespace.clone(),
        selector: args.selector.clone(),
        concurrency: args.concurrency.max(1),
        poll_interval: Duration::from_secs(args.poll_interval.max(1)),
        wait_interval: Duration::from_secs(args.wait_interval.max(1)),
        metrics_addr: Some(args.metrics_addr),
        ..Config::default()
    }
}

/// SIGINT (a terminal) or SIGTERM (a container runtime, a test harness).
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Installs (server-side applies) both CRDs.
pub async fn install_crds(client: &kube::Client) -> anyhow::Result<()> {
    use kube::runtime::wait::{await_condition, conditions};
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let params = PatchParams::apply("nodepool-operator").force();
    for crd in [NodePool::crd(), CloudAccount::crd()] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &params, &Patch::Apply(&crd)).await?;
        // Served only once established: the controller lists NodePools right after.
        let established = await_condition(crds.clone(), &name, conditions::is_crd_established());
        tokio::time::timeout(CRD_ESTABLISHED, established)
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "CRD {name} is not established after {}s",
                    CRD_ESTABLISHED.as_secs()
                )
            })??;
    }
    Ok(())
}

/// How long `dev` waits for the API server to serve an installed CRD.
const CRD_ESTABLISHED: Duration = Duration::from_secs(120);

impl Cli {
    pub async fn run(self) -> std::process::ExitCode {
        let result: anyhow::Result<()> = match self.command {
            Command::Crds => match crds_yaml() {
                Ok(yaml) => {
                    print!("{yaml}");
                    Ok(())
                }
                Err(e) => Err(e.into()),
            },
            Command::Run(args) => {
                init_logging(&args);
                match kube::Client::try_default().await {
                    Ok(client) => controller::run(client, config(&args), shutdown_signal()).await,
                    Err(e) => Err(anyhow::anyhow!("cannot reach Kubernetes: {e}")),
                }
            }
            Command::Dev {
                run,
                sim_listen,
                local,
            } => {
                init_logging(&run);
                async {
                    // Kept alive until the controller stops; dropping it stops the processes.
                    let mut local_cluster = None;
                    let client = match reachable_cluster().await {
                        Some(client) => client,
                        None => {
                            eprintln!("nodepool-operator: no reachable cluster in the current kubeconfig");
                            let cluster = local.start().await?;
                            let client = cluster.admin_client().await?;
                            local_cluster = Some(cluster);
                            client
                        }
                    };
                    install_crds(&client).await?;
                    let sim = RunningSim::start(SimConfig::default(), &sim_listen).await?;
                    tracing::info!(url = %sim.url(), "cloud simulator running; apply deploy/samples/ to try it");
                    let result = controller::run(client, config(&run), shutdown_signal()).await;
                    drop(local_cluster);
                    result
                }
                .await
            }
            Command::ControlPlane {
                local,
                exit_with_pid,
            } => {
                async {
                    let cluster = local.start().await?;
                    eprintln!(
                        "nodepool-operator: kube-apiserver ready at {}; Ctrl-C stops it",
                        cluster.url()
                    );
                    tokio::select! {
                        () = shutdown_signal() => {}
                        () = process_gone(exit_with_pid) => {}
                    }
                    drop(cluster);
                    Ok(())
                }
                .await
            }
        };
        match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("nodepool-operator: {error:#}");
                std::process::ExitCode::from(2)
            }
        }
    }
}
