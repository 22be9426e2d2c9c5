//! The command lines: `nodepool-operator crds` prints what is committed and `run` logs what
//! fails; `nodepool-dev` installs the CRDs into the current cluster (or a local control plane it
//! starts when none is reachable), serves the simulator and reconciles the samples.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use kube::Api;
use nodepool_operator::api::NodePool;
use support::{free_port, wait_for};

struct Child(std::process::Child);

impl Child {
    /// SIGTERM, then waits (SIGKILL after 30 s).
    fn terminate(&mut self) {
        if let Ok(Some(_)) = self.0.try_wait() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        if support::wait_exit(&mut self.0, Duration::from_secs(30)).is_some() {
            return;
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        self.terminate();
    }
}

#[test]
fn crds_subcommand_prints_the_committed_crds() {
    let output = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"))
        .arg("crds")
        .output()
        .unwrap();
    assert!(output.status.success());
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/crds/nodepool.io.yaml"
    ))
    .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), committed);
}

/// `nodepool-operator crds | head` is a normal way to look: a reader that stops early is not
/// an error, and certainly not a panic.
#[test]
fn crds_into_a_reader_that_stops_early_exits_quietly() {
    // The read end is closed before anything is written, as `head -0` would.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"))
        .arg("crds")
        .stdout(writer)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
    assert!(stderr.is_empty(), "{stderr}");
}

/// The binary's allocator is jemalloc with one arena and a background thread
/// (`.cargo/config.toml`): what keeps a settled operator's memory close to what it holds.
#[cfg(all(target_os = "linux", not(feature = "system-allocator")))]
#[test]
fn the_allocator_runs_one_arena_and_gives_pages_back_in_the_background() {
    let output = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"))
        .arg("crds")
        // jemalloc's own report of its settings, printed as the process exits.
        .env("_RJEM_MALLOC_CONF", "stats_print:true")
        .output()
        .unwrap();
    assert!(output.status.success());
    let report = String::from_utf8_lossy(&output.stderr);
    for setting in ["opt.narenas: 1", "opt.background_thread: true"] {
        assert!(
            report.lines().any(|l| l.trim_start().starts_with(setting)),
            "jemalloc does not report {setting:?}:\n{}",
            report.lines().take(40).collect::<Vec<_>>().join("\n")
        );
    }
}

/// Applies the Huawei account and the CCE sample into `namespace` and waits until it is Ready.
async fn sample_pool_gets_ready(client: &kube::Client, namespace: &str, sim_url: &str) {
    for file in ["huawei-account.yaml", "nodepool-cce.yaml"] {
        for manifest in support::sample(file, sim_url) {
            support::create_manifest(client, namespace, manifest)
                .await
                .unwrap();
        }
    }
    let pools: Api<NodePool> = Api::namespaced(client.clone(), namespace);
    let ready = wait_for(
        "the sample pool Ready",
        Duration::from_secs(120),
        || async {
            let pool = pools.get("cce-workers").await.ok()?;
            let status = pool.status.clone()?;
            status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == "True")
                .then_some(status)
        },
    )
    .await;
    assert_eq!(ready.current_node, Some(2));
}

fn dev(kubeconfig: &std::path::Path, sim_port: u16, extra: &[&str]) -> Command {
    let mut command = Command::new(support::workspace_binary("nodepool-dev"));
    command
        .args(["--sim-listen", &format!("127.0.0.1:{sim_port}")])
        .args([
            "--metrics-addr",
            &format!("127.0.0.1:{}", free_port()),
            "--wait-interval",
            "1",
        ])
        .args(extra)
        .env("KUBECONFIG", kubeconfig)
        .stdin(Stdio::null());
    command
}

#[tokio::test]
async fn dev_mode_uses_the_current_cluster_when_it_is_reachable() {
    let cluster = support::cluster::Cluster::shared().await;
    let ns = cluster.namespace("dev").await;
    let sim_port = free_port();
    let _operator = Child(
        dev(&cluster.kubeconfig(), sim_port, &["--namespace", &ns])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // The simulator answers once dev is up; the CRDs are already there.
    let sim_url = format!("http://127.0.0.1:{sim_port}");
    wait_for("the simulator", Duration::from_secs(120), || async {
        reqwest::get(format!("{sim_url}/_sim/pools")).await.ok()
    })
    .await;
    sample_pool_gets_ready(&cluster.admin, &ns, &sim_url).await;
}

#[tokio::test]
async fn dev_mode_starts_a_local_control_plane_when_no_cluster_is_reachable() {
    let state = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let sim_port = free_port();
    let out_path = state.path().join("dev.out");
    let err_path = state.path().join("dev.err");
    let local_state = state.path().join("cluster");
    let mut operator = Child(
        dev(
            &state.path().join("no-such-kubeconfig"),
            sim_port,
            &["--state-dir", local_state.to_str().unwrap()],
        )
        .stdout(std::fs::File::create(&out_path).unwrap())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap(),
    );
    // dev prints the one line that points kubectl at the control plane it started.
    let start = std::time::Instant::now();
    let line = loop {
        if let Ok(Some(status)) = operator.0.try_wait() {
            panic!(
                "dev exited ({status}): {}",
                std::fs::read_to_string(&err_path).unwrap_or_default()
            );
        }
        let printed = std::fs::read_to_string(&out_path).unwrap_or_default();
        if let Some(line) = printed
            .lines()
            .find(|l| l.starts_with("export KUBECONFIG="))
        {
            break line.to_owned();
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no export line from dev: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let kubeconfig = std::path::PathBuf::from(line.trim_start_matches("export KUBECONFIG="));
    assert_eq!(kubeconfig, local_state.join("kubeconfig"));
    let client = nodepool_dev::local_cluster::kubeconfig::client(&kubeconfig)
        .await
        .unwrap();
    let accounts: Api<nodepool_operator::api::CloudAccount> = Api::all(client.clone());
    let started = std::time::Instant::now();
    while let Err(error) = accounts.list(&Default::default()).await {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no CloudAccount CRD after 120 s ({error}); dev said: {}",
            std::fs::read_to_string(&err_path).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    sample_pool_gets_ready(&client, "default", &format!("http://127.0.0.1:{sim_port}")).await;

    // SIGTERM stops dev and, with it, the etcd and kube-apiserver it started.
    let version = client.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.36.3");
    operator.terminate();
    assert!(
        client.apiserver_version().await.is_err(),
        "the local API server stopped with dev"
    );
}

#[tokio::test]
async fn a_failing_reconcile_is_logged_at_the_default_level() {
    let cluster = support::cluster::Cluster::shared().await;
    let ns = cluster.namespace("logs").await;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let err_path = dir.path().join("run.err");
    let _operator = Child(
        support::operator_run(&cluster.kubeconfig(), &["--namespace", &ns])
            .args(["--metrics-addr", &format!("127.0.0.1:{}", free_port())])
            .stderr(std::fs::File::create(&err_path).unwrap())
            .spawn()
            .unwrap(),
    );
    // A NodePool whose CloudAccount does not exist.
    let mut pool = support::sample("nodepool-cce.yaml", "http://127.0.0.1:1")[0].clone();
    pool["spec"]["accountRef"]["name"] = serde_json::json!("no-such-account");
    support::create_manifest(&cluster.admin, &ns, pool)
        .await
        .unwrap();
    let line = wait_for(
        "the failure in the log",
        Duration::from_secs(120),
        || async {
            std::fs::read_to_string(&err_path)
                .unwrap_or_default()
                .lines()
                .find(|l| l.contains("reconcile failed"))
                .map(str::to_owned)
        },
    )
    .await;
    assert!(line.contains("WARN"), "{line}");
    assert!(
        !line.contains('\u{1b}'),
        "no terminal colours in a file: {line}"
    );
    assert!(line.contains("AccountNotFound"), "{line}");
    assert!(
        line.contains(&format!("{}/no-such-account", ns.name)),
        "{line}"
    );
}

#[test]
fn control_plane_refuses_to_empty_a_folder_it_did_not_write() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "mine").unwrap();
    let output = Command::new(support::workspace_binary("nodepool-dev"))
        .args(["control-plane", "--state-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to empty") && stderr.contains(&dir.path().display().to_string()),
        "{stderr}"
    );
    assert!(dir.path().join("notes.txt").exists(), "nothing was deleted");
}

/// `nodepool-operator run` with the environment a user's shell would not add, stderr kept.
fn run_operator(kubeconfig: &std::path::Path, args: &[&str]) -> Command {
    let mut command = support::operator_run(kubeconfig, args);
    command.stderr(Stdio::piped());
    command
}

/// Runs `command` to its end (killed after `deadline`): exit code and stderr.
fn finish_within(mut command: Command, deadline: Duration) -> (Option<i32>, String) {
    let mut child = command.spawn().unwrap();
    if support::wait_exit(&mut child, deadline).is_some() {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        return (output.status.code(), stderr);
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    panic!(
        "still running after {deadline:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn bad_startup_input_fails_at_once_naming_what_is_wrong() {
    let cluster = support::cluster::Cluster::shared().await;
    let ns = cluster.namespace("startup").await;
    let kubeconfig = cluster.kubeconfig();
    let deadline = Duration::from_secs(60);

    let (code, stderr) = finish_within(
        run_operator(&kubeconfig, &["--log-level", "nodepool_operator=loud"]),
        deadline,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid --log-level") && stderr.contains("nodepool_operator=loud"),
        "{stderr}"
    );

    // Leader election without a namespace for its Lease (not in a pod, none given).
    let mut elected = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"));
    elected
        .arg("run")
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("POD_NAMESPACE")
        .env_remove("NODEPOOL_LEASE_NAMESPACE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let (code, stderr) = finish_within(elected, deadline);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--lease-namespace") && stderr.contains("--leader-election=false"),
        "{stderr}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, stderr) = finish_within(
        run_operator(
            &kubeconfig,
            &["--namespace", &ns, "--metrics-addr", &address],
        ),
        deadline,
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {address}")) && stderr.contains("in use"),
        "{stderr}"
    );

    let closed = free_port();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let unreachable = dir.path().join("kubeconfig");
    std::fs::write(
        &unreachable,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:{closed}\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n"
        ),
    )
    .unwrap();
    let (code, stderr) = finish_within(run_operator(&unreachable, &[]), deadline);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot reach the Kubernetes API server at https://127.0.0.1:{closed}"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn run_starts_with_one_line_saying_how_it_runs_in_json_without_colour() {
    let cluster = support::cluster::Cluster::shared().await;
    let ns = cluster.namespace("startline").await;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let err_path = dir.path().join("run.err");
    let metrics = format!("127.0.0.1:{}", free_port());
    let mut command = run_operator(
        &cluster.kubeconfig(),
        &["--namespace", &ns, "--metrics-addr", &metrics],
    );
    command
        .env("NODEPOOL_LOG_JSON", "1")
        .stderr(std::fs::File::create(&err_path).unwrap());
    let _operator = Child(command.spawn().unwrap());
    let line = wait_for("the startup line", Duration::from_secs(120), || async {
        std::fs::read_to_string(&err_path)
            .unwrap_or_default()
            .lines()
            .find(|l| l.contains("nodepool-operator starting"))
            .map(str::to_owned)
    })
    .await;
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    let fields = &record["fields"];
    assert_eq!(record["level"], "INFO", "{line}");
    assert_eq!(fields["version"], env!("CARGO_PKG_VERSION"), "{line}");
    assert_eq!(fields["namespace"], ns.name.as_str(), "{line}");
    assert_eq!(fields["concurrency"], 8, "{line}");
    assert_eq!(fields["poll_interval_seconds"], 300, "{line}");
    assert_eq!(fields["metrics_addr"], metrics.as_str(), "{line}");
    let all = std::fs::read_to_string(&err_path).unwrap();
    assert!(
        !all.contains('\u{1b}'),
        "no terminal colours in a file: {all}"
    );
}
