//! The `nodepool-operator` command line: `run` the controller, print the `crds` and the
//! `fields` contract, `import` existing pools.

use std::io::IsTerminal;
use std::time::Duration;

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

use crate::api::crds_yaml;
use crate::controller::{self, Config, Observe};

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

/// How the controller runs: shared by `run` and by single-process runners such as `nodepool-dev`.
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
    /// Seconds between drift checks of settled pools. A CloudAccount's
    /// `spec.pollIntervalSeconds` overrides it for that account's pools, and a NodePool's own
    /// `spec.pollIntervalSeconds` overrides both (the samples set 300 on their accounts).
    #[arg(long, env = "NODEPOOL_POLL_INTERVAL", default_value_t = 300)]
    pub poll_interval: u64,
    /// How pools are observed: `list` reads each parent (cluster, resource pool) once per
    /// poll window for all its pools; `get` reads every pool by id on every poll (one call per
    /// pool: the baseline of the scale benchmark).
    #[arg(long, env = "NODEPOOL_OBSERVE", value_enum, default_value_t = Observe::List)]
    pub observe: Observe,
    /// Seconds between checks while the cloud is working.
    #[arg(long, env = "NODEPOOL_WAIT_INTERVAL", default_value_t = 10)]
    pub wait_interval: u64,
    /// Times the cloud may refuse one create or update (a 4xx such as "cluster being
    /// upgraded", retried with backoff) before the operator stops sending it: the NodePool is
    /// then Stalled until its spec changes or its `nodepool.io/retry` annotation takes a new
    /// value.
    #[arg(long, env = "NODEPOOL_REFUSED_PLAN_ATTEMPTS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub refused_plan_attempts: u32,
    /// Log filter (`info`, `debug`, `nodepool_operator=debug,kube=info`).
    #[arg(long, env = "NODEPOOL_LOG", default_value = "info")]
    pub log_level: String,
    /// Log as JSON lines (`NODEPOOL_LOG_JSON` takes true/false, 1/0, yes/no, on/off).
    #[arg(long, env = "NODEPOOL_LOG_JSON", value_parser = clap::builder::BoolishValueParser::new())]
    pub log_json: bool,
    /// Seconds reconciles in progress may take to finish after SIGTERM or SIGINT (keep it
    /// below the pod's terminationGracePeriodSeconds).
    #[arg(long, env = "NODEPOOL_SHUTDOWN_TIMEOUT", default_value_t = 20)]
    pub shutdown_timeout: u64,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "NODEPOOL_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
}

/// How `run` takes part in leader election (a single-process runner such as `nodepool-dev`
/// has none of these).
#[derive(Debug, Clone, clap::Args)]
pub struct ElectionArgs {
    /// Reconcile only while holding the leader Lease, so replicas stand by
    /// (`NODEPOOL_LEADER_ELECTION` takes true/false, 1/0, yes/no, on/off).
    #[arg(
        long,
        env = "NODEPOOL_LEADER_ELECTION",
        default_value_t = true,
        action = clap::ArgAction::Set,
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub leader_election: bool,
    /// Name of the leader Lease.
    #[arg(long, env = "NODEPOOL_LEASE_NAME", default_value = "nodepool-operator")]
    pub lease_name: String,
    /// Namespace of the leader Lease (default: POD_NAMESPACE, else the pod's own namespace).
    #[arg(long, env = "NODEPOOL_LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Seconds a leader that stopped renewing keeps the Lease (a standby takes over after it).
    #[arg(long, env = "NODEPOOL_LEASE_DURATION", default_value_t = 15, value_parser = clap::value_parser!(u64).range(3..=300))]
    pub lease_duration: u64,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the controller (kubeconfig from KUBECONFIG or ~/.kube/config, or in-cluster).
    Run {
        #[command(flatten)]
        run: RunArgs,
        #[command(flatten)]
        election: ElectionArgs,
    },
    /// Print the CRDs as YAML.
    Crds,
    /// Print the change contract of every cloud field as Markdown (docs/fields.md).
    Fields,
    /// Print NodePool manifests for the pools a cloud already runs (listed through a
    /// CloudAccount; kubeconfig as for `run`), to adopt them by applying the output.
    Import(ImportArgs),
}

/// `import`: which account and which parent's pools.
#[derive(Debug, Clone, clap::Args)]
#[command(group = clap::ArgGroup::new("parent").required(true).args(["cluster", "pool"]))]
pub struct ImportArgs {
    /// The CloudAccount to list through, as NAMESPACE/NAME; the NodePools go to that namespace.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub account: String,
    /// A CCE cluster id (Huawei account) or an ENS cluster id (Alibaba account).
    #[arg(long, value_name = "ID")]
    pub cluster: Option<String>,
    /// A ModelArts resource pool name (Huawei account).
    #[arg(long, value_name = "NAME")]
    pub pool: Option<String>,
    /// Declare the pools observeOnly: the operator reports them and never changes them.
    #[arg(long)]
    pub observe_only: bool,
}

/// Logs to stderr, in colour only on a terminal; a filter that does not parse is an error.
pub fn init_logging(args: &RunArgs) -> anyhow::Result<()> {
    let filter = EnvFilter::try_new(&args.log_level).map_err(|e| {
        anyhow::anyhow!(
            "invalid --log-level (NODEPOOL_LOG) {:?}: {e}; for example `info` or `nodepool_operator=debug,kube=info`",
            args.log_level
        )
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    // Already set (a test harness, an embedding program): keep that one.
    let _ = if args.log_json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    Ok(())
}

/// A client for the current kubeconfig (or in-cluster), checked to answer, so that an
/// unreachable API server is reported with its address.
pub async fn connect() -> anyhow::Result<kube::Client> {
    let config = kube::Config::infer().await.map_err(|e| {
        anyhow::anyhow!(
            "no Kubernetes configuration (KUBECONFIG, ~/.kube/config or in-cluster): {e}"
        )
    })?;
    let url = config.cluster_url.clone();
    let client = kube::Client::try_from(config).map_err(|e| {
        anyhow::anyhow!("cannot build a client for the Kubernetes API server at {url}: {e}")
    })?;
    let answered = tokio::time::timeout(Duration::from_secs(30), client.apiserver_version()).await;
    match answered {
        Ok(Ok(_)) => Ok(client),
        Ok(Err(e)) => Err(anyhow::anyhow!(
            "cannot reach the Kubernetes API server at {url}: {e}"
        )),
        Err(_) => Err(anyhow::anyhow!(
            "the Kubernetes API server at {url} did not answer within 30 s"
        )),
    }
}

pub fn config(args: &RunArgs) -> Config {
    Config {
        namespace: args.namespace.clone(),
        selector: args.selector.clone(),
        concurrency: args.concurrency.max(1),
        poll_interval: Duration::from_secs(args.poll_interval.max(1)),
        wait_interval: Duration::from_secs(args.wait_interval.max(1)),
        observe: args.observe,
        refused_plan_attempts: args.refused_plan_attempts,
        metrics_addr: Some(args.metrics_addr),
        shutdown_timeout: Duration::from_secs(args.shutdown_timeout),
        ..Config::default()
    }
}

/// Where the pod runs, as its ServiceAccount mount says.
const POD_NAMESPACE_FILE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The leader election `run` takes part in, unless turned off.
pub fn election(args: &ElectionArgs) -> anyhow::Result<Option<crate::leader::Election>> {
    if !args.leader_election {
        return Ok(None);
    }
    let namespace = args
        .lease_namespace
        .clone()
        .or_else(|| std::env::var("POD_NAMESPACE").ok())
        .or_else(|| {
            std::fs::read_to_string(POD_NAMESPACE_FILE)
                .ok()
                .map(|n| n.trim().to_owned())
        })
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            anyhow::anyhow!(
                "leader election needs the Lease's namespace: pass --lease-namespace (or set POD_NAMESPACE), or turn it off with --leader-election=false"
            )
        })?;
    let identity = std::env::var("POD_NAME")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "nodepool-operator".to_owned());
            format!("{host}-{}", std::process::id())
        });
    Ok(Some(crate::leader::Election {
        lease_name: args.lease_name.clone(),
        namespace,
        identity,
        duration: Duration::from_secs(args.lease_duration),
    }))
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

/// Writes a command's output; a reader that stops early (`crds | head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("writing to standard output"))
        }
        _ => Ok(()),
    }
}

impl Cli {
    pub async fn run(self) -> std::process::ExitCode {
        let result: anyhow::Result<()> = match self.command {
            Command::Crds => match crds_yaml() {
                Ok(yaml) => emit(&yaml),
                Err(e) => Err(e.into()),
            },
            Command::Fields => match crate::api::fields::markdown() {
                Ok(text) => emit(&text),
                Err(unclassified) => Err(anyhow::anyhow!(
                    "fields without a change class: {}",
                    unclassified.join(", ")
                )),
            },
            Command::Import(args) => {
                async {
                    let client = connect().await?;
                    let request = crate::import::Request {
                        account: args.account,
                        cluster: args.cluster,
                        pool: args.pool,
                        observe_only: args.observe_only,
                    };
                    let imported = crate::import::import(client, &request).await?;
                    for skipped in &imported.skipped {
                        eprintln!("nodepool-operator: {skipped}");
                    }
                    emit(&crate::import::render(&imported)?)
                }
                .await
            }
            Command::Run {
                run: args,
                election: elect,
            } => {
                async {
                    init_logging(&args)?;
                    let election = election(&elect)?;
                    let client = connect().await?;
                    let config = Config {
                        election,
                        ..config(&args)
                    };
                    controller::run(client, config, shutdown_signal()).await
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
