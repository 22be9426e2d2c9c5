//! The `nodepool-operator` binary: `crds` prints what is committed, and `dev` installs the CRDs
//! into the cluster of the current kubeconfig, serves the simulator and reconciles the samples.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use kube::Api;
use nodepool_operator::api::NodePool;
use nodepool_operator::kube_emulator::Emulator;
use support::wait_for;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
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

#[tokio::test]
async fn dev_mode_runs_the_samples_end_to_end() {
    let emulator = Emulator::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    emulator.write_kubeconfig(&kubeconfig).unwrap();
    let sim_port = free_port();
    let _operator = Child(
        Command::new(env!("CARGO_BIN_EXE_nodepool-operator"))
            .args(["dev", "--sim-listen", &format!("127.0.0.1:{sim_port}")])
            .args([
                "--metrics-addr",
                &format!("127.0.0.1:{}", free_port()),
                "--wait-interval",
                "1",
                "--namespace",
                "default",
            ])
            .env("KUBECONFIG", &kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = emulator.client().unwrap();
    let pools: Api<NodePool> = Api::namespaced(client.clone(), "default");
    // The CRDs arrive from the dev command itself.
    let accounts: Api<nodepool_operator::api::CloudAccount> =
        Api::namespaced(client.clone(), "default");
    wait_for("CRDs installed", Duration::from_secs(60), || async {
        pools.list(&Default::default()).await.ok()?;
        accounts.list(&Default::default()).await.ok()
    })
    .await;
    let url = format!("http://127.0.0.1:{sim_port}");
    for file in ["huawei-account.yaml", "nodepool-cce.yaml"] {
        let text = std::fs::read_to_string(format!(
            "{}/deploy/samples/{file}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
        .replace("http://127.0.0.1:8787", &url);
        for document in serde_yaml::Deserializer::from_str(&text) {
            let value: serde_json::Value = serde::Deserialize::deserialize(document).unwrap();
            support::create_manifest(&client, value).await.unwrap();
        }
    }
    let ready = wait_for("the sample pool Ready", Duration::from_secs(60), || async {
        let pool = pools.get("cce-workers").await.ok()?;
        let status = pool.status.clone()?;
        status
            .conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
            .then_some(status)
    })
    .await;
    assert_eq!(ready.current_node, Some(2));
}
