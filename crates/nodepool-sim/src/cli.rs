//! Command line of `nodepool-sim`.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use super::config::{SimConfig, Timing};
use super::{DEFAULT_LISTEN, RunningSim};

/// A local simulator of the Huawei Cloud CCE and ModelArts node-pool APIs, Huawei IAM, and the
/// Alibaba Cloud ENS cluster node-pool API, on one port.
#[derive(Debug, Parser)]
#[command(name = "nodepool-sim", version)]
pub struct Cli {
    /// Address to listen on.
    #[arg(long, env = "NODEPOOL_SIM_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Configuration file (YAML or JSON): accounts, clusters, capacity, timing, faults.
    #[arg(long, env = "NODEPOOL_SIM_CONFIG")]
    pub config: Option<PathBuf>,
    /// Provisioning speed, overriding the file's timing: `instant` (tests), `default` (nodes
    /// ready after 2 s, gone 1 s after deletion) or `realistic` (the real clouds' minutes).
    #[arg(long, value_enum)]
    pub profile: Option<Profile>,
    /// Seed of the fault-injection random source.
    #[arg(long)]
    pub fault_seed: Option<u64>,
    /// Log filter (`info`, `debug`, `nodepool_sim=debug`, ...).
    #[arg(long, env = "NODEPOOL_SIM_LOG", default_value = "info")]
    pub log_level: String,
    /// Log as JSON lines.
    #[arg(long)]
    pub log_json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Profile {
    Instant,
    Default,
    Realistic,
}

/// Error of the simulator command.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("cannot read config file {path}: {source}")]
    ReadConfig {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    ParseConfig {
        path: PathBuf,
        source: serde_yaml::Error,
    },
    #[error("invalid fault rule in config: {0}")]
    Fault(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
}

impl Cli {
    /// The configuration this command line describes.
    pub fn load_config(&self) -> Result<SimConfig, CliError> {
        let mut config = match &self.config {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| CliError::ReadConfig {
                        path: path.clone(),
                        source,
                    })?;
                SimConfig::from_yaml(&text).map_err(|source| CliError::ParseConfig {
                    path: path.clone(),
                    source,
                })?
            }
            None => SimConfig::default(),
        };
        if let Some(profile) = self.profile {
            config.timing = match profile {
                Profile::Instant => Timing::instant(),
                Profile::Default => Timing::default(),
                Profile::Realistic => Timing::realistic(),
            };
        }
        if let Some(seed) = self.fault_seed {
            config.fault_seed = seed;
        }
        for rule in &config.faults {
            rule.validate().map_err(CliError::Fault)?;
        }
        Ok(config)
    }

    /// Runs the simulator until Ctrl-C.
    pub async fn run(self) -> Result<(), CliError> {
        let config = self.load_config()?;
        let sim = RunningSim::start(config, &self.listen)
            .await
            .map_err(|source| CliError::Listen {
                addr: self.listen.clone(),
                source,
            })?;
        tracing::info!(url = %sim.url(), "nodepool-sim listening");
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
        sim.shutdown().await;
        Ok(())
    }
}
