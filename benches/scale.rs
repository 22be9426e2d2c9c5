//! The scale benchmark (`cargo bench --bench scale -- --help`): the release operator against the
//! real control plane and `nodepool-sim`, once as configured and once with batched observation
//! off, side by side. Writes `result.json` and `result.md` to `--out`. `docs/benchmarks.md`
//! explains the method and the figures.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use support::scale::Observe;

#[derive(Parser)]
#[command(about = "Scale benchmark of nodepool-operator")]
struct Args {
    /// NodePools of the main fleet (CCE and ModelArts).
    #[arg(long, default_value_t = 1000)]
    pools: usize,
    /// CCE clusters and ModelArts resource pools the fleet is spread over.
    #[arg(long, default_value_t = 10)]
    parents: usize,
    /// NodePools of the ENS burst (0: none).
    #[arg(long, default_value_t = 1000)]
    ens_pools: usize,
    /// Seconds the settled fleet is watched.
    #[arg(long, default_value_t = 600)]
    settle: u64,
    /// The operator's `--poll-interval`.
    #[arg(long, default_value_t = 60)]
    poll: u64,
    /// The operator's `--wait-interval`.
    #[arg(long, default_value_t = 10)]
    wait: u64,
    /// The Huawei account's rate budget, calls per second.
    #[arg(long, default_value_t = 10.0)]
    huawei_budget: f64,
    /// Seconds the simulator takes to make a node ready.
    #[arg(long, default_value_t = 2.0)]
    ready: f64,
    /// Fleet NodePools scaled and then deleted at the end.
    #[arg(long, default_value_t = 100)]
    lifecycle: usize,
    /// The operator's `--concurrency`.
    #[arg(long, default_value_t = 8)]
    concurrency: u16,
    /// The runs, in order: `list` (the operator as configured) and `get` (the baseline, one
    /// read per pool per poll).
    #[arg(long, value_delimiter = ',', default_value = "list,get")]
    runs: Vec<Observe>,
    /// Where `result.json`, `result.md` and the operators' logs go.
    #[arg(long, default_value = concat!(env!("CARGO_TARGET_TMPDIR"), "/scale"))]
    out: PathBuf,
    /// Accepted for `cargo bench` compatibility.
    #[arg(long, hide = true)]
    bench: bool,
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let settings = support::scale::Settings {
        pools: args.pools,
        parents: args.parents.max(1),
        ens_pools: args.ens_pools,
        settle: Duration::from_secs(args.settle),
        poll_seconds: args.poll.max(1),
        wait_seconds: args.wait.max(1),
        huawei_budget: args.huawei_budget,
        ready_seconds: args.ready,
        lifecycle: args.lifecycle.min(args.pools),
        concurrency: args.concurrency.max(1),
        runs: args.runs,
        out: args.out,
    };
    let result = support::scale::bench(&settings).await;
    println!("{}", support::scale::table(&result));
    println!("{}", settings.out.join("result.json").display());
}
