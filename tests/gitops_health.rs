//! What GitOps tools make of a NodePool in every phase: Argo CD through the health check
//! shipped in `deploy/argocd/health.lua` (run with Debian's `lua5.4`), and Flux, kpt and other
//! kstatus users through kstatus itself (`sigs.k8s.io/cli-utils`, built by `scripts/kstatus`).
//! The statuses judged are the ones the operator's own status builder produces. The Flux
//! example in `examples/flux/` is checked against Flux's own CRDs on the real API server.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use kube::Resource;
use nodepool_operator::api::NodePool;
use nodepool_operator::api::NodePoolStatus;
use nodepool_operator::controller::plan::Mode;
use nodepool_operator::controller::status::{self, Inputs, Observation, Outcome};
use nodepool_operator::controller::validate::Validated;
use nodepool_operator::provider::{
    CloudKind, CloudSpec, DesiredPool, ObservedPool, PoolPhase, PoolSpec,
};
use serde_json::{Value, json};
use support::cluster::Cluster;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const NOW: &str = "2026-01-01T00:00:00Z";

fn desired() -> Validated {
    Validated {
        cloud: CloudKind::Cce,
        parent: "cluster-1".into(),
        pool: DesiredPool {
            name: "workers".into(),
            spec: PoolSpec::Cce(Default::default()),
        },
        count: 3,
        autoscaling: None,
        owner: "uid-1".into(),
    }
}

fn seen(phase: PoolPhase, nodes: u32, message: &str) -> Observation {
    Observation::Seen(ObservedPool {
        id: "pool-id-1".into(),
        name: "workers".into(),
        desired: Some(3),
        current: nodes,
        ready: nodes,
        creating: 3 - nodes,
        deleting: 0,
        raw_state: String::new(),
        phase,
        messages: if message.is_empty() {
            vec![]
        } else {
            vec![message.into()]
        },
        autoscaling: None,
        owner: Some("uid-1".into()),
        job_id: None,
        spec: CloudSpec::Unknown,
    })
}

fn failed(reason: &str, message: &str) -> Outcome {
    Outcome::Failed {
        reason: reason.into(),
        message: message.into(),
    }
}

fn built(mode: Mode, observation: Observation, outcome: Outcome) -> NodePoolStatus {
    let desired = desired();
    let validated = !matches!(outcome, Outcome::Invalid(_) | Outcome::Queued);
    status::build(
        &NodePoolStatus::default(),
        &Inputs {
            cloud: Some(CloudKind::Cce),
            desired: validated.then_some(&desired),
            mode,
            observation: &observation,
            outcome: &outcome,
            generation: Some(1),
            now: NOW,
        },
    )
}

fn nodepool(status: &NodePoolStatus, generation: i64, paused: bool, deleting: bool) -> Value {
    let mut metadata = json!({"name": "workers", "namespace": "team-a", "generation": generation});
    if deleting {
        metadata["deletionTimestamp"] = json!(NOW);
        metadata["finalizers"] = json!(["nodepool.io/cleanup"]);
    }
    json!({
        "apiVersion": "nodepool.io/v1alpha1",
        "kind": "NodePool",
        "metadata": metadata,
        "spec": {"accountRef": {"name": "huawei"}, "paused": paused, "cce": {"clusterId": "cluster-1"}},
        "status": status,
    })
}

/// A JSON value as a Lua table constructor (JSON null becomes nil, as in Argo CD).
fn lua_literal(value: &Value) -> String {
    match value {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(lua_literal).collect();
            format!("{{{}}}", items.join(", "))
        }
        Value::Object(map) => {
            let fields: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("[{k:?}] = {}", lua_literal(v)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}

/// (status, message) of Argo CD's health for `object`.
fn argocd_health(object: &Value) -> (String, String) {
    let script = Path::new(ROOT).join("deploy/argocd/health.lua");
    let harness = format!(
        "obj = {}\nlocal hs = dofile({:?})\nio.write(hs.status, \"\\n\", hs.message, \"\\n\")\n",
        lua_literal(object),
        script.display().to_string()
    );
    let output = Command::new("lua5.4")
        .args(["-e", &harness])
        .output()
        .expect("lua5.4 runs the Argo CD health check (Debian: apt-get install lua5.4)");
    assert!(
        output.status.success(),
        "health.lua failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let (status, message) = text.split_once('\n').unwrap();
    (status.to_owned(), message.trim_end().to_owned())
}

/// kstatus' verdict for each object, in order.
fn kstatus(objects: &[Value]) -> Vec<(String, String)> {
    let built = Command::new(Path::new(ROOT).join("scripts/kstatus"))
        .output()
        .expect("scripts/kstatus builds the kstatus judge");
    assert!(
        built.status.success(),
        "scripts/kstatus: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let judge = String::from_utf8(built.stdout).unwrap();
    let mut child = Command::new(judge.trim())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    serde_json::to_writer(child.stdin.take().unwrap(), &objects).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let verdict: Value = serde_json::from_str(line).unwrap();
            (
                verdict["status"].as_str().unwrap().to_owned(),
                verdict["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

struct Case {
    name: &'static str,
    object: Value,
    argocd: &'static str,
    kstatus: &'static str,
}

fn case(
    name: &'static str,
    status: NodePoolStatus,
    argocd: &'static str,
    kstatus: &'static str,
) -> Case {
    Case {
        name,
        object: nodepool(&status, 1, false, false),
        argocd,
        kstatus,
    }
}

fn cases() -> Vec<Case> {
    let auto = Mode::default();
    let paused = Mode {
        paused: true,
        observe_only: false,
    };
    let observing = Mode {
        paused: false,
        observe_only: true,
    };
    let ready = || built(auto, seen(PoolPhase::Ready, 3, ""), Outcome::Synced);
    let queued = built(auto, Observation::NotRead, Outcome::Queued);
    let deleting = status::deleting(&ready(), None, Some(1), NOW);
    let refused = status::deleting(
        &ready(),
        Some((
            "CloudAuth",
            "authentication failed: APIG.0301: incorrect IAM authentication information",
        )),
        Some(1),
        NOW,
    );
    vec![
        case("Pending (queued)", queued, "Progressing", "InProgress"),
        case(
            "Pending (pool not created yet)",
            built(auto, Observation::Absent, Outcome::Synced),
            "Progressing",
            "InProgress",
        ),
        case(
            "Creating",
            built(auto, seen(PoolPhase::Creating, 0, ""), Outcome::Synced),
            "Progressing",
            "InProgress",
        ),
        case(
            "Scaling",
            built(auto, seen(PoolPhase::Scaling, 1, ""), Outcome::Synced),
            "Progressing",
            "InProgress",
        ),
        case("Ready", ready(), "Healthy", "Current"),
        case(
            "Ready, observe-only",
            built(observing, seen(PoolPhase::Ready, 3, ""), Outcome::Synced),
            "Healthy",
            "Current",
        ),
        case(
            "SoldOut",
            built(
                auto,
                seen(PoolPhase::SoldOut, 1, "flavor c7.large sold out in az-1"),
                Outcome::Synced,
            ),
            "Degraded",
            "Failed",
        ),
        case(
            "Error",
            built(
                auto,
                seen(PoolPhase::Error, 0, "node creation failed"),
                Outcome::Synced,
            ),
            "Degraded",
            "Failed",
        ),
        case(
            "Paused",
            built(paused, seen(PoolPhase::Ready, 3, ""), Outcome::Synced),
            "Suspended",
            "Current",
        ),
        case(
            "Paused while the cloud works",
            built(paused, seen(PoolPhase::Scaling, 1, ""), Outcome::Synced),
            "Suspended",
            "InProgress",
        ),
        case(
            "invalid spec",
            built(
                auto,
                Observation::NotRead,
                Outcome::Invalid("cce.clusterId is empty".into()),
            ),
            "Degraded",
            "Failed",
        ),
        case(
            "Conflict",
            built(
                auto,
                seen(PoolPhase::Ready, 3, ""),
                Outcome::Conflict("owned by NodePool team-b/workers".into()),
            ),
            "Degraded",
            "Failed",
        ),
        case(
            "wrong key",
            built(
                auto,
                Observation::NotRead,
                failed("CloudAuth", "authentication failed: APIG.0301"),
            ),
            "Degraded",
            "Failed",
        ),
        case(
            "quota",
            built(
                auto,
                seen(PoolPhase::Ready, 3, ""),
                failed("CloudQuota", "quota exceeded: Ecs.0000"),
            ),
            "Degraded",
            "Failed",
        ),
        case(
            "the cloud refuses the change",
            built(
                auto,
                seen(PoolPhase::Ready, 3, ""),
                Outcome::Refused(
                    "invalid request: CCE.01400012: the node pool cannot be updated".into(),
                ),
            ),
            "Degraded",
            "Failed",
        ),
        case(
            "a Manual plan waits for approval",
            built(
                auto,
                Observation::Absent,
                Outcome::AwaitingApproval("Create plan 1a2b3c4d5e6f: 3 nodes added".into()),
            ),
            "Suspended",
            "InProgress",
        ),
        case(
            "cloud outage",
            built(
                auto,
                Observation::NotRead,
                failed("CloudUnavailable", "transient failure: HTTP 503"),
            ),
            "Progressing",
            "InProgress",
        ),
        case(
            "throttled",
            built(
                auto,
                seen(PoolPhase::Ready, 3, ""),
                failed("CloudThrottled", "throttled: Throttling.User"),
            ),
            "Progressing",
            "InProgress",
        ),
        Case {
            name: "Deleting",
            object: nodepool(&deleting, 1, false, true),
            argocd: "Progressing",
            kstatus: "Terminating",
        },
        Case {
            name: "Deleting, refused by the cloud",
            object: nodepool(&refused, 1, false, true),
            argocd: "Degraded",
            kstatus: "Terminating",
        },
        Case {
            name: "spec changed, not yet seen by the operator",
            object: nodepool(&ready(), 2, false, false),
            argocd: "Progressing",
            kstatus: "InProgress",
        },
    ]
}

#[test]
fn argocd_and_kstatus_tell_working_from_stuck_in_every_phase() {
    let cases = cases();
    let objects: Vec<Value> = cases.iter().map(|c| c.object.clone()).collect();
    let judged = kstatus(&objects);
    let mut wrong = Vec::new();
    for (case, (kstatus, kstatus_message)) in cases.iter().zip(&judged) {
        let (argocd, argocd_message) = argocd_health(&case.object);
        eprintln!(
            "{:<45} argocd {argocd:<11} kstatus {kstatus:<11} {argocd_message} | {kstatus_message}",
            case.name
        );
        assert!(
            !argocd_message.is_empty(),
            "{}: Argo CD shows no message",
            case.name
        );
        if argocd != case.argocd || kstatus != case.kstatus {
            wrong.push(format!(
                "{}: argocd {argocd} (want {}), kstatus {kstatus} (want {})",
                case.name, case.argocd, case.kstatus
            ));
        }
    }
    assert_eq!(judged.len(), cases.len());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn argocd_shows_the_clouds_words_when_a_person_must_act() {
    let status = built(
        Mode::default(),
        Observation::NotRead,
        failed("CloudAuth", "authentication failed: APIG.0301"),
    );
    let (health, message) = argocd_health(&nodepool(&status, 1, false, false));
    assert_eq!(health, "Degraded");
    assert_eq!(message, "CloudAuth: authentication failed: APIG.0301");
}

#[test]
fn a_nodepool_the_operator_has_not_written_yet_is_progressing_in_argocd() {
    let mut object = nodepool(&NodePoolStatus::default(), 1, false, false);
    object.as_object_mut().unwrap().remove("status");
    assert_eq!(argocd_health(&object).0, "Progressing");
}

#[test]
fn the_argocd_config_map_carries_the_tested_script() {
    let script = std::fs::read_to_string(Path::new(ROOT).join("deploy/argocd/health.lua")).unwrap();
    let patch =
        std::fs::read_to_string(Path::new(ROOT).join("deploy/argocd/argocd-cm.yaml")).unwrap();
    let config_map: Value = serde_yaml::from_str(&patch).unwrap();
    assert_eq!(config_map["metadata"]["name"], "argocd-cm");
    let shipped = config_map["data"]["resource.customizations.health.nodepool.io_NodePool"]
        .as_str()
        .expect("argocd-cm.yaml sets resource.customizations.health.nodepool.io_NodePool");
    assert!(
        shipped == script,
        "deploy/argocd/argocd-cm.yaml does not hold deploy/argocd/health.lua as it is"
    );
}

fn yaml_documents(path: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(Path::new(ROOT).join(path)).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .filter(|value: &Value| !value.is_null())
        .collect()
}

#[tokio::test]
async fn the_flux_example_fits_fluxs_schema_and_checks_the_health_of_every_sample() {
    let cluster = Cluster::shared().await;
    for crd in [
        "tests/fixtures/flux/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
        "tests/fixtures/flux/source.toolkit.fluxcd.io_gitrepositories.yaml",
    ] {
        let path = Path::new(ROOT).join(crd).display().to_string();
        let (ok, _, err) = cluster
            .kubectl(&["apply", "--server-side", "-f", &path])
            .await;
        assert!(ok, "{crd}: {err}");
    }
    let (ok, _, err) = cluster
        .kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            "crd/kustomizations.kustomize.toolkit.fluxcd.io",
            "crd/gitrepositories.source.toolkit.fluxcd.io",
        ])
        .await;
    assert!(ok, "{err}");
    let (ok, _, err) = cluster
        .kubectl(&["create", "namespace", "flux-system"])
        .await;
    assert!(ok || err.contains("AlreadyExists"), "{err}");

    let example = Path::new(ROOT)
        .join("examples/flux/gitops.yaml")
        .display()
        .to_string();
    let (ok, out, err) = cluster
        .kubectl(&[
            "apply",
            "--dry-run=server",
            "--validate=strict",
            "-f",
            &example,
        ])
        .await;
    assert!(ok, "Flux's schema refuses examples/flux/gitops.yaml: {err}");
    assert_eq!(out.lines().count(), 3, "{out}");

    let samples: std::collections::BTreeSet<String> =
        std::fs::read_dir(Path::new(ROOT).join("deploy/samples"))
            .unwrap()
            .flat_map(|entry| {
                let path = entry.unwrap().path();
                yaml_documents(path.strip_prefix(ROOT).unwrap().to_str().unwrap())
            })
            .filter(|object| object["kind"] == "NodePool")
            .map(|object| object["metadata"]["name"].as_str().unwrap().to_owned())
            .collect();
    let documents = yaml_documents("examples/flux/gitops.yaml");
    let nodepools = documents
        .iter()
        .find(|d| d["kind"] == "Kustomization" && d["metadata"]["name"] == "nodepools")
        .unwrap();
    let checks = nodepools["spec"]["healthChecks"].as_array().unwrap();
    let checked: std::collections::BTreeSet<String> = checks
        .iter()
        .map(|check| {
            assert_eq!(check["apiVersion"], NodePool::api_version(&()).as_ref());
            assert_eq!(check["kind"], "NodePool");
            assert_eq!(check["namespace"], nodepools["spec"]["targetNamespace"]);
            check["name"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(checked, samples);
}
