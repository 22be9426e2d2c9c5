//! The `nodepool-operator` command: `run` the controller, print the `crds`, `import` existing pools.

use clap::Parser;
use nodepool_operator::cli::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse().run().await
}
