//! The `nodepool-operator` command: `run` the controller, print the `crds`, or try it all with
//! `dev` against the current cluster (or a local control plane) and the built-in simulator;
//! start a local etcd + kube-apiserver with `control-plane`.

use clap::Parser;
use nodepool_operator::cli::Cli;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse().run().await
}
