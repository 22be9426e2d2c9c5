//! The `nodepool-dev` command line: with no subcommand, the whole product on one machine (the
//! current cluster, or a local control plane when none is reachable, plus the simulator and the
//! controller); `control-plane` starts only a local etcd + kube-apiserver.

use std::time::Duration;

use clap::{Parser, Subcommand};
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams};
use nodepool_operator::api::{CloudAccount, NodePool};
use nodepool_operator::cli::{RunArgs, config, init_logging, shutdown_signal};
use nodepool_operator::controller;
use nodepool_sim::{RunningSim, SimConfig};

use crate::local_cluster::{Assets, LocalCluster};

#[derive(Debug, Parser)]
#[command(
    name = "nodepool-dev",
    version,
    about = "Try nodepool-operator locally: the current cluster (or a local etcd + kube-apiserver \
             when none is reachable), the cloud simulator on 127.0.0.1:8787 and the controller",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub dev: DevArgs,
}

#[derive(Debug, Clone, clap::Args)]
pub struct DevArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Where the simulator listens.
    #[arg(long, default_value = nodepool_sim::DEFAULT_LISTEN)]
    pub sim_listen: String,
    #[command(flatten)]
    pub local: LocalArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
                    "nodepool-dev: building kube-apiserver and etcd with {}",
                    BUILD_SCRIPT.display()
                );
                Assets::build(&BUILD_SCRIPT)?
            }
            other => other?,
        };
        eprintln!(
            "nodepool-dev: starting etcd and kube-apiserver from {} in {}",
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
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/control-plane")
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

/// The whole product: cluster (found or started), CRDs, simulator, controller.
async fn dev(args: DevArgs) -> anyhow::Result<()> {
    init_logging(&args.run)?;
    // Kept alive until the controller stops; dropping it stops the processes.
    let mut local_cluster = None;
    let client = match reachable_cluster().await {
        Some(client) => client,
        None => {
            eprintln!("nodepool-dev: no reachable cluster in the current kubeconfig");
            let cluster = args.local.start().await?;
            let client = cluster.admin_client().await?;
            local_cluster = Some(cluster);
            client
        }
    };
    install_crds(&client).await?;
    let sim = RunningSim::start(SimConfig::default(), &args.sim_listen).await?;
    tracing::info!(url = %sim.url(), "cloud simulator running; apply deploy/samples/ to try it");
    let result = controller::run(client, config(&args.run), shutdown_signal()).await;
    drop(local_cluster);
    result
}

/// A local control plane alone, until interrupted or until `exit_with_pid` exits.
async fn control_plane(local: LocalArgs, exit_with_pid: Option<u32>) -> anyhow::Result<()> {
    let cluster = local.start().await?;
    eprintln!(
        "nodepool-dev: kube-apiserver ready at {}; Ctrl-C stops it",
        cluster.url()
    );
    tokio::select! {
        () = shutdown_signal() => {}
        () = process_gone(exit_with_pid) => {}
    }
    drop(cluster);
    Ok(())
}

impl Cli {
    pub async fn run(self) -> std::process::ExitCode {
        let result = match self.command {
            None => dev(self.dev).await,
            Some(Command::ControlPlane {
                local,
                exit_with_pid,
            }) => control_plane(local, exit_with_pid).await,
        };
        match result {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("nodepool-dev: {error:#}");
                std::process::ExitCode::from(2)
            }
        }
    }
}
