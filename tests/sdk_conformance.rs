//! The clouds' official Python SDKs (`huaweicloudsdkcce`, `huaweicloudsdkmodelarts`,
//! `alibabacloud-ens20171110`, pinned in `tests/sdk/requirements.txt`) as independent clients of
//! `nodepool-sim`: every node-pool operation in scope, with the SDKs' default settings, and every
//! answer checked to be read whole by the SDK's models (`tests/sdk`, pytest).
//!
//! The virtual environment comes from `scripts/sdk-venv` (created once, in a cache outside the
//! checkout); each test runs one pytest module against simulators of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The interpreter of the suite's virtual environment, created first if missing.
fn sdk_python() -> PathBuf {
    let script = manifest_dir().join("scripts/sdk-venv");
    let output = Command::new(&script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} failed ({}):\n{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let python = String::from_utf8(output.stdout).unwrap();
    PathBuf::from(python.trim())
}

/// Runs one module of `tests/sdk` and fails with pytest's report if any of its tests fail.
fn pytest(module: &str) {
    let python = sdk_python();
    let sim = support::workspace_binary("nodepool-sim");
    let suite = manifest_dir().join("tests/sdk");
    let output = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-rfE",
            module,
        ])
        .current_dir(&suite)
        .env("NODEPOOL_SIM_BIN", &sim)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "tests/sdk/{module} failed ({}):\n{report}",
        output.status
    );
    // pytest also exits 0 when every test was skipped.
    assert!(
        report.contains(" passed"),
        "tests/sdk/{module} ran no test:\n{report}"
    );
}

#[test]
fn cce_sdk_drives_every_node_pool_operation() {
    pytest("test_cce.py");
}

#[test]
fn modelarts_sdk_drives_every_node_pool_operation() {
    pytest("test_modelarts.py");
}

#[test]
fn ens_sdk_drives_all_seven_node_pool_actions() {
    pytest("test_ens.py");
}

#[test]
fn sdk_models_read_the_wire_fixtures_whole() {
    pytest("test_fixtures.py");
}

#[test]
fn the_nothing_lost_check_catches_dropped_and_mistyped_fields() {
    pytest("test_conformance.py");
}
