//! The `nodepool-operator` command: `run` the controller or print the `crds`.

use clap::Parser;
use nodepool_operator::cli::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse().run().await
}
