//! The scale benchmark at a tiny setting (the full one is `cargo bench --bench scale`): the
//! counted goals hold, so a change that breaks batching, the lookup before a create, the ENS
//! budget or the quiet of a settled fleet fails here.

mod support;

use std::time::Duration;

use support::cluster::Cluster;
use support::scale::{Observe, Settings, run};

fn settings() -> Settings {
    Settings {
        pools: 60,
        parents: 3,
        ens_pools: 16,
        settle: Duration::from_secs(30),
        poll_seconds: 5,
        wait_seconds: 1,
        huawei_budget: 50.0,
        ready_seconds: 0.2,
        lifecycle: 12,
        concurrency: 8,
        runs: vec![Observe::List],
        out: std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scale-test"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_fleet_meets_the_counted_goals() {
    let settings = settings();
    let cluster = Cluster::shared().await;
    let result = run(&cluster, &settings, Observe::List).await;
    eprintln!("{}", serde_json::to_string_pretty(&result).unwrap());
    let figure = |pointer: &str| {
        result
            .pointer(pointer)
            .and_then(|v| v.as_f64())
            .unwrap_or_else(|| panic!("no {pointer} in the result"))
    };
    // Settled: one list per parent per poll window, and nothing written.
    let reads = figure("/settled/readsPerWindowPerParent");
    assert!(
        (0.8..=1.5).contains(&reads),
        "{reads} reads per poll window per parent (one list each is 1.0)"
    );
    assert_eq!(figure("/settled/mutatingCalls"), 0.0);
    assert_eq!(
        figure("/settled/nodePoolWrites"),
        0.0,
        "a settled NodePool was written"
    );
    // A burst: the lookups before the creates share their parent's lists.
    let per_create = figure("/burst/callsPerCreate");
    assert!(
        per_create <= 1.5,
        "{per_create} cloud calls per create in the burst"
    );
    // Create, scale, delete: one call each.
    let lifecycle = figure("/lifecycle/mutatingCallsPerLifecycle");
    assert!(
        lifecycle <= 3.0,
        "{lifecycle} mutating calls per create-scale-delete lifecycle"
    );
    // ENS: under its quota, never throttled, every pool Ready.
    assert_eq!(figure("/ens/throttlingUser"), 0.0);
    assert_eq!(figure("/ens/notReadyAtDeadline"), 0.0);
}
