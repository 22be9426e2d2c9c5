//! Runs the Kubernetes API emulator by hand:
//! `cargo run --example kube-emulator -- --listen 127.0.0.1:6443 --kubeconfig-out kubeconfig --crds crds/`
//! then `KUBECONFIG=kubeconfig kubectl get nodepools`.

use std::path::PathBuf;

use clap::Parser;
use nodepool_operator::kube_emulator::Emulator;

#[derive(Parser)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:6443")]
    listen: String,
    /// Where to write a kubeconfig pointing at the emulator.
    #[arg(long)]
    kubeconfig_out: Option<PathBuf>,
    /// Folders of CRDs to load at start.
    #[arg(long)]
    crds: Vec<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let mut builder = Emulator::builder().listen(args.listen);
    for dir in args.crds {
        builder = builder.crds_dir(dir);
    }
    let emulator = match builder.start().await {
        Ok(emulator) => emulator,
        Err(error) => {
            eprintln!("kube-emulator: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    if let Some(path) = args.kubeconfig_out
        && let Err(error) = emulator.write_kubeconfig(&path)
    {
        eprintln!("kube-emulator: cannot write {}: {error}", path.display());
        return std::process::ExitCode::from(2);
    }
    println!("Kubernetes API emulator at {}", emulator.url());
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    std::process::ExitCode::SUCCESS
}
