//! The `nodepool-sim` command: starts with no configuration and serves the demo identities;
//! refuses a bad configuration file with a clear message.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use support::*;

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn starts_without_config_and_serves_demo_identities() {
    let port = free_port();
    let _child = Child(
        Command::new(support::workspace_binary("nodepool-sim"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--profile",
                "instant",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn nodepool-sim"),
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_for("simulator up", Duration::from_secs(20), || async {
        http.get(format!("{base}/_sim/health"))
            .send()
            .await
            .ok()
            .filter(|r| r.status().is_success())
    })
    .await;
    let mut client = TestClient {
        base: base.clone(),
        http: http.clone(),
        huawei_ak: nodepool_sim::config::DEMO_HUAWEI_ACCESS_KEY.into(),
        huawei_sk: nodepool_wire::signing::Secret::from(
            nodepool_sim::config::DEMO_HUAWEI_SECRET_KEY,
        ),
        alibaba_id: nodepool_sim::config::DEMO_ALIBABA_ACCESS_KEY_ID.into(),
        alibaba_secret: nodepool_wire::signing::Secret::from(
            nodepool_sim::config::DEMO_ALIBABA_ACCESS_KEY_SECRET,
        ),
    };
    assert_eq!(client.huawei("GET", &cce_base(), None).await.status, 200);
    assert_eq!(
        client.huawei("GET", &modelarts_base(), None).await.status,
        200
    );
    assert_eq!(
        client
            .ens("DescribeClusterNodePools", &[("ClusterId", ENS_CLUSTER)])
            .await
            .status,
        200
    );
    let (_, token) = client
        .iam_login("sim-user", "sim-password", "sim-domain", "cn-north-4")
        .await;
    assert!(token.is_some());
    client.huawei_ak = "nobody".into();
    assert_eq!(client.huawei("GET", &cce_base(), None).await.status, 401);
}

#[test]
fn bad_config_file_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sim.yaml");
    std::fs::write(&path, "timing:\n  nodeReadyAfter: soon\n").unwrap();
    let output = Command::new(support::workspace_binary("nodepool-sim"))
        .args(["--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .output()
        .expect("run nodepool-sim");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("invalid config file") && stderr.contains("nodeReadyAfter"),
        "{stderr}"
    );
}

/// The README's signed example calls (an independent signer in plain Python) are accepted.
#[tokio::test]
async fn readme_example_script_signs_calls_the_simulator_accepts() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("SKIPPED: python3 is not installed");
        return;
    }
    let sim = start_instant().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/sim-call.py");
    let run = |args: Vec<String>| {
        let url = sim.url();
        async move {
            tokio::task::spawn_blocking(move || {
                Command::new("python3")
                    .arg(script)
                    .args(&args)
                    .env("SIM_URL", url)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let body = r#"{"kind":"NodePool","apiVersion":"v3","metadata":{"name":"from-python"},"spec":{"initialNodeCount":1,"nodeTemplate":{"flavor":"s6.large.2","az":"az1","rootVolume":{"size":40}}}}"#;
    let out = run(vec![
        "huawei".into(),
        "POST".into(),
        cce_base(),
        body.into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("201"));
    let out = run(vec![
        "huawei".into(),
        "GET".into(),
        format!("{}?showDefaultNodePool=true", cce_base()),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(vec!["huawei".into(), "GET".into(), modelarts_base()]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = run(vec![
        "ens".into(),
        "DescribeClusterNodePools".into(),
        format!("ClusterId={ENS_CLUSTER}"),
    ])
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(sim.pools().len(), 1);
}
