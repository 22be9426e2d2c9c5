//! The `nodepool-dev` command: see [`nodepool_dev::cli`].

use clap::Parser;
use nodepool_dev::cli::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse().run().await
}
