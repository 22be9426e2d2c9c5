//! The `nodepool-operator` command line: `run` the controller, print the `crds`.

use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::api::crds_yaml;
use crate::controller::{self, Config};

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
}

pub fn init_logging(args: &RunArgs) {
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

pub fn config(args: &RunArgs) -> Config {
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
pub async fn shutdown_signal() {
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
