//! `tests/e2e/kind.sh` as a user with Docker runs it, with `docker`, `kind` and `kubectl`
//! replaced by recorders: it works on a cluster of its own and never on the current context,
//! deletes that cluster on every exit, and refuses to reuse a cluster it did not create.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory of stand-ins that append their command line to `calls.log`. `kind get clusters`
/// prints `existing`; `kubectl wait` exits with `wait_status`.
fn stand_ins(existing: &str, wait_status: i32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("calls.log");
    let log = log.display();
    let write = |name: &str, body: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write("docker", format!("echo \"docker $*\" >> {log}\n"));
    write(
        "kind",
        format!(
            "echo \"kind $*\" >> {log}\n\
             if [ \"$1 $2\" = 'get clusters' ]; then printf '%s' '{existing}'; fi\n"
        ),
    );
    write(
        "kubectl",
        format!(
            "echo \"kubectl $*\" >> {log}\n\
             [ -t 0 ] || cat > /dev/null\n\
             case \" $* \" in *' wait '*) exit {wait_status};; esac\n"
        ),
    );
    dir
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/kind.sh")
}

/// Runs the script with the stand-ins first on `PATH`: its exit code and the recorded calls.
fn run(stand_ins: &tempfile::TempDir) -> (Option<i32>, Vec<String>) {
    let path = format!(
        "{}:{}",
        stand_ins.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("bash")
        .arg(script())
        .env("PATH", path)
        .env_remove("KIND_CLUSTER")
        .env_remove("KEEP_CLUSTER")
        .output()
        .unwrap();
    let calls = std::fs::read_to_string(stand_ins.path().join("calls.log")).unwrap_or_default();
    (
        output.status.code(),
        calls.lines().map(str::to_owned).collect(),
    )
}

fn assert_deleted_last(calls: &[String]) {
    assert_eq!(
        calls.last().map(String::as_str),
        Some("kind delete cluster --name nodepool-e2e"),
        "{calls:#?}"
    );
}

#[test]
fn every_kubectl_call_names_the_clusters_own_context_and_the_cluster_is_deleted() {
    let tools = stand_ins("", 0);
    let (code, calls) = run(&tools);
    assert_eq!(code, Some(0), "{calls:#?}");
    let kubectl: Vec<&String> = calls.iter().filter(|c| c.starts_with("kubectl")).collect();
    assert!(kubectl.len() >= 5, "{calls:#?}");
    for call in &kubectl {
        assert!(
            call.starts_with("kubectl --context kind-nodepool-e2e "),
            "{call}"
        );
    }
    assert!(calls.contains(&"kind create cluster --name nodepool-e2e --wait 120s".to_owned()));
    assert_deleted_last(&calls);
}

#[test]
fn a_failed_step_still_deletes_the_cluster_and_fails_the_script() {
    let tools = stand_ins("", 1);
    let (code, calls) = run(&tools);
    assert_eq!(code, Some(1), "{calls:#?}");
    assert_deleted_last(&calls);
}

#[test]
fn a_cluster_of_the_same_name_is_never_reused_or_deleted() {
    let tools = stand_ins("other\nnodepool-e2e\n", 0);
    let (code, calls) = run(&tools);
    assert_eq!(code, Some(2), "{calls:#?}");
    assert_eq!(calls, vec!["kind get clusters".to_owned()]);
}
