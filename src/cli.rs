//! The `nodepool-operator` command line: `run`, `crds`, `dev`.

use std::time::Duration;

use clap::{Parser, Subcommand};
use kube::CustomResourceExt;
use kube::api::{Api, Patch, PatchParams};
use tracing_subscriber::EnvFilter;

use crate::api::{CloudAccount, NodePool, crds_yaml};
use crate::controller::{self, Config};
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
    /// Try it locally: install the CRDs into the current cluster, serve the cloud simulator on
    /// 127.0.0.1:8787 and run the controller against both.
    Dev {
        #[command(flatten)]
        run: RunArgs,
        /// Where the built-in simulator listens.
        #[arg(long, default_value = crate::sim::DEFAULT_LISTEN)]
        sim_listen: String,
    },
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
        concurrency: args.concurrency.max(1),
        poll_interval: Duration::from_secs(args.poll_interval.max(1)),
        wait_interval: Duration::from_secs(args.wait_interval.max(1)),
        metrics_addr: Some(args.metrics_addr),
        ..Config::default()
    }
}

async fn shutdown_signal() {
    let _ = tokio::signal::ctrl_c().await;
}

/// Installs (server-side applies) both CRDs.
pub async fn install_crds(client: &kube::Client) -> Result<(), kube::Error> {
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let params = PatchParams::apply("nodepool-operator").force();
    for crd in [NodePool::crd(), CloudAccount::crd()] {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &params, &Patch::Apply(&crd)).await?;
    }
    Ok(())
}

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
            Command::Dev { run, sim_listen } => {
                init_logging(&run);
                async {
                    let client = kube::Client::try_default().await?;
                    install_crds(&client).await?;
                    let sim = RunningSim::start(SimConfig::default(), &sim_listen).await?;
                    tracing::info!(url = %sim.url(), "cloud simulator running; apply deploy/samples/ to try it");
                    controller::run(client, config(&run), shutdown_signal()).await
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
