//! The `nodepool-operator` command: `run` the controller, print the `crds`, `import` existing pools.

use clap::Parser;
use nodepool_operator::cli::Cli;

/// glibc's per-thread arenas kept about three times the live heap after a burst of creates;
/// jemalloc returns freed pages to the system, and behaves the same on glibc and musl builds
/// (its settings: `.cargo/config.toml`).
#[cfg(all(target_os = "linux", not(feature = "system-allocator")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    Cli::parse().run().await
}
