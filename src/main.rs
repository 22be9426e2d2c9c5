//! The `nodepool-operator` command: `run` the controller, print the `crds`, or try it all with
//! `dev` against a local emulator and the built-in simulator.

use clap::Parser;
use nodepool_operator::cli::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse().run().await
}
