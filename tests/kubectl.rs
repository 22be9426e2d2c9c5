//! kubectl as users use it, against the real API server: the deploy manifests and the samples
//! apply without `--validate=false`, and `get`, `describe`, `wait` and `explain` show NodePools
//! the way the README says.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use kube::Api;
use nodepool_operator::api::NodePool;
use nodepool_operator::controller::{self, Config};
use nodepool_operator::provider::retry::RetryPolicy;
use nodepool_sim::{RunningSim, SimConfig};
use support::cluster::Cluster;

/// The sample folder, pointed at this simulator, as files kubectl can apply.
fn samples_for(sim: &RunningSim) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let samples = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/samples");
    for entry in std::fs::read_dir(samples).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("http://127.0.0.1:8787", &sim.url());
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

#[tokio::test]
async fn kubectl_applies_the_samples_and_shows_pools_ready() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("kubectl").await;
    let sim = RunningSim::start(
        SimConfig {
            timing: support::fast_timing(100, 50),
            ..SimConfig::default()
        },
        "127.0.0.1:0",
    )
    .await
    .unwrap();
    let config = Config {
        namespace: Some(ns.name.clone()),
        wait_interval: Duration::from_millis(200),
        error_backoff: Duration::from_millis(200),
        retry: RetryPolicy {
            max_attempts: 2,
            max_elapsed: Duration::from_secs(1),
            ..RetryPolicy::default()
        },
        ..Config::default()
    };
    let operator = tokio::spawn(controller::run(
        cluster.operator_client().await,
        config,
        std::future::pending(),
    ));

    let samples = samples_for(&sim);
    let dir = samples.path().to_str().unwrap();
    let (ok, out, err) = cluster.kubectl(&["apply", "-n", &ns, "-f", dir]).await;
    assert!(ok, "kubectl apply: {out}{err}");
    assert!(
        out.contains("nodepool.nodepool.io/cce-workers created"),
        "{out}"
    );

    let (ok, out, err) = cluster
        .kubectl(&[
            "wait",
            "-n",
            &ns,
            "--for=condition=Ready",
            "nodepool/cce-workers",
            "nodepool/modelarts-train",
            "nodepool/ens-edge",
            "--timeout=60s",
        ])
        .await;
    assert!(ok, "kubectl wait: {out}{err}");
    assert_eq!(out.matches("condition met").count(), 3, "{out}");

    // The printer columns: provider, phase, desired, current, ready, synced, Age as a
    // duration, and the one-line message.
    let (ok, table, err) = cluster.kubectl(&["get", "np", "-n", &ns]).await;
    assert!(ok, "{err}");
    let mut lines = table.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME", "PROVIDER", "PHASE", "DESIRED", "CURRENT", "READY", "SYNCED", "AGE", "MESSAGE"
        ],
        "{table}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split_whitespace().collect()).collect();
    assert_eq!(rows.len(), 3, "{table}");
    let cce = rows.iter().find(|r| r[0] == "cce-workers").unwrap();
    assert_eq!(
        &cce[1..7],
        ["cce", "Ready", "2", "2", "True", "True"],
        "{table}"
    );
    let age = cce[7];
    assert!(
        age.ends_with('s') || age.ends_with('m'),
        "Age is a duration like 12s: {table}"
    );
    assert_eq!(cce[8..].join(" "), "2 of 2 nodes ready", "{table}");

    // -o wide adds the cloud's pool id and state word, and the Synced message.
    let (ok, wide, err) = cluster
        .kubectl(&["get", "np", "-n", &ns, "-o", "wide"])
        .await;
    assert!(ok, "{err}");
    let header = wide.lines().next().unwrap();
    assert!(header.contains("POOL ID"), "{wide}");
    assert!(header.contains("CLOUD STATE"), "{wide}");
    assert!(header.ends_with("SYNCED MESSAGE"), "{wide}");
    let pools: Api<NodePool> = Api::namespaced(cluster.admin.clone(), &ns);
    let status = pools.get("cce-workers").await.unwrap().status.unwrap();
    let row = wide
        .lines()
        .find(|l| l.starts_with("cce-workers "))
        .unwrap();
    assert!(row.contains(status.pool_id.as_deref().unwrap()), "{wide}");
    // The state word of a pool whose cloud reports one (CCE's Ready pool has none).
    let stated: Vec<(String, String)> = pools
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|p| {
            let state = p.status?.cloud_state.filter(|s| !s.is_empty())?;
            Some((p.metadata.name?, state))
        })
        .collect();
    assert!(!stated.is_empty(), "{wide}");
    for (name, state) in &stated {
        let row = wide
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap();
        assert!(row.contains(state.as_str()), "{wide}");
    }

    // Conditions are a list keyed by type: the server refuses two of one type.
    let condition = serde_json::json!({
        "type": "Ready", "status": "True", "reason": "PoolReady", "message": "",
        "lastTransitionTime": "2026-01-01T00:00:00Z"
    });
    let twice = serde_json::json!({"status": {"conditions": [condition, condition]}});
    let refused = pools
        .patch_status(
            "cce-workers",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&twice),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&refused, kube::Error::Api(s) if s.code == 422 && s.message.contains("Duplicate value")),
        "{refused}"
    );

    // describe lists the events the operator published (Ready follows the status write).
    let described = support::wait_for(
        "describe showing the Created and Ready events",
        Duration::from_secs(30),
        || async {
            let (ok, out, err) = cluster
                .kubectl(&["describe", "np", "-n", &ns, "cce-workers"])
                .await;
            assert!(ok, "{err}");
            let events = out.split("Events:").nth(1).unwrap_or_default().to_owned();
            (events.contains("Created") && events.contains("Ready")).then_some(out)
        },
    )
    .await;
    assert!(described.contains("cce-workers"), "{described}");

    // explain reads the CRD's published schema.
    let (ok, out, err) = cluster.kubectl(&["explain", "nodepool.spec.cce"]).await;
    assert!(ok, "{err}");
    assert!(
        out.contains("KIND:") && out.contains("NodePool") && out.contains("clusterId"),
        "{out}"
    );

    // A server-side dry run creates nothing; strict field validation names the unknown field.
    let bad = samples.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "apiVersion: nodepool.io/v1alpha1\nkind: NodePool\nmetadata: {name: typo}\nspec:\n  ens:\n    clusterId: c\n    scalingGroup: {imageId: m, instanceTypes: [t], vswitchIds: [v], desiredSize: 1, keyPairName: k}\n    replicas: 3\n",
    )
    .unwrap();
    let bad = bad.to_str().unwrap();
    let (ok, _, err) = cluster
        .kubectl(&["apply", "-n", &ns, "--dry-run=server", "-f", bad])
        .await;
    assert!(
        !ok && err.contains("unknown field") && err.contains("replicas"),
        "{err}"
    );
    let (_, out, _) = cluster.kubectl(&["get", "np", "-n", &ns, "typo"]).await;
    assert!(out.is_empty());
    operator.abort();
}

#[tokio::test]
async fn kubectl_apply_k_deploy_is_accepted_by_the_server() {
    let cluster = Cluster::shared().await;
    let deploy = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy");
    // Server-side dry run first: every manifest is validated by the real server.
    let (ok, out, err) = cluster
        .kubectl(&["apply", "--dry-run=server", "-k", deploy])
        .await;
    assert!(ok, "kubectl apply --dry-run=server -k deploy/: {out}{err}");
    let (ok, out, err) = cluster.kubectl(&["apply", "-k", deploy]).await;
    assert!(ok, "kubectl apply -k deploy/: {out}{err}");
    for expected in [
        "customresourcedefinition.apiextensions.k8s.io/nodepools.nodepool.io",
        "serviceaccount/nodepool-operator",
        "clusterrole.rbac.authorization.k8s.io/nodepool-operator",
        "deployment.apps/nodepool-operator",
    ] {
        assert!(out.contains(expected), "{expected} in {out}");
    }
    let (ok, out, err) = cluster
        .kubectl(&[
            "get",
            "deployment",
            "-n",
            "nodepool-system",
            "nodepool-operator",
            "-o",
            "jsonpath={.spec.template.spec.serviceAccountName}",
        ])
        .await;
    assert!(ok, "{err}");
    assert_eq!(out, "nodepool-operator");
    // The simulator's manifests for clusters apply too.
    let sim = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/sim/nodepool-sim.yaml");
    let (ok, out, err) = cluster
        .kubectl(&["apply", "--dry-run=server", "-f", sim])
        .await;
    assert!(ok, "{out}{err}");
}

/// `to` as a path relative to the folder `from` (kustomize takes no absolute paths).
fn relative(from: &std::path::Path, to: &std::path::Path) -> std::path::PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = std::path::PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to[common..] {
        path.push(part);
    }
    path
}

#[test]
fn the_servicemonitor_component_scrapes_the_metrics_service_of_deploy() {
    let deploy = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy"))
        .canonicalize()
        .unwrap();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let base = relative(&root, &deploy);
    let component = base.join("components/servicemonitor");
    std::fs::write(
        root.join("kustomization.yaml"),
        format!(
            "resources: [{}]\ncomponents: [{}]\n",
            base.display(),
            component.display()
        ),
    )
    .unwrap();
    let output = std::process::Command::new("kubectl")
        .arg("kustomize")
        .arg(&root)
        .output()
        .expect("kubectl runs (CI installs it)");
    let rendered = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let objects: Vec<serde_json::Value> = serde_yaml::Deserializer::from_str(&rendered)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect();
    let find = |kind: &str| {
        objects
            .iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in:\n{rendered}"))
    };
    let monitor = find("ServiceMonitor");
    let service = find("Service");
    // The monitor selects the metrics Service, in its namespace, by a port it has.
    let selector = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    assert!(!selector.is_empty());
    for (key, value) in selector {
        assert_eq!(&service["metadata"]["labels"][key], value, "{key}");
    }
    let namespace = &service["metadata"]["namespace"];
    let namespaces = monitor["spec"]["namespaceSelector"]["matchNames"]
        .as_array()
        .unwrap();
    assert!(namespaces.contains(namespace), "{namespaces:?}");
    let port = &monitor["spec"]["endpoints"][0]["port"];
    let ports = service["spec"]["ports"].as_array().unwrap();
    assert!(
        ports.iter().any(|p| &p["name"] == port),
        "{port} in {ports:?}"
    );
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
}

/// One property of a published schema: its path and description.
struct Described {
    path: String,
    description: String,
}

/// Every property under `schema`, recursively, through objects, array items and map values
/// (a `$ref`, such as `metadata`'s, is not followed: the API server describes that type).
fn properties(schema: &serde_json::Value, path: &str, out: &mut Vec<Described>) {
    if let Some(fields) = schema["properties"].as_object() {
        for (name, property) in fields {
            let path = format!("{path}.{name}");
            out.push(Described {
                path: path.clone(),
                description: property["description"]
                    .as_str()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            });
            properties(property, &path, out);
        }
    }
    if schema["items"].is_object() {
        properties(&schema["items"], &format!("{path}[]"), out);
    }
    if schema["additionalProperties"].is_object() {
        properties(&schema["additionalProperties"], &format!("{path}{{}}"), out);
    }
}

fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[tokio::test]
async fn kubectl_explain_describes_every_field() {
    let cluster = Cluster::shared().await;
    // The published schemas of both kinds (the API server publishes a CRD's schema shortly
    // after it is established).
    let schemas = support::wait_for(
        "the nodepool.io/v1alpha1 OpenAPI v3 schemas",
        Duration::from_secs(60),
        || async {
            let (ok, raw, _) = cluster
                .kubectl(&["get", "--raw", "/openapi/v3/apis/nodepool.io/v1alpha1"])
                .await;
            let document: serde_json::Value = if ok {
                serde_json::from_str(&raw).unwrap_or_default()
            } else {
                serde_json::Value::Null
            };
            let of_kind = |kind: &str| {
                document["components"]["schemas"]
                    .as_object()?
                    .values()
                    .find(|s| {
                        s["x-kubernetes-group-version-kind"]
                            .as_array()
                            .is_some_and(|g| g.iter().any(|g| g["kind"] == kind))
                    })
                    .cloned()
            };
            let found = of_kind("NodePool").zip(of_kind("CloudAccount"));
            if found.is_none() {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            found
        },
    )
    .await;

    let mut missing = Vec::new();
    let mut counts = Vec::new();
    for (kind, schema) in [("NodePool", &schemas.0), ("CloudAccount", &schemas.1)] {
        let root = schema["description"].as_str().unwrap_or_default();
        assert!(
            !root.trim().is_empty() && !root.contains("Auto-generated"),
            "{kind}'s own description: {root:?}"
        );
        let mut described = Vec::new();
        properties(schema, kind, &mut described);
        for part in ["spec", "status"] {
            let prefix = format!("{kind}.{part}");
            let n = described
                .iter()
                .filter(|d| d.path == prefix || d.path.starts_with(&format!("{prefix}.")))
                .count();
            counts.push(format!("{prefix}: {n}"));
        }
        counts.push(format!("{kind}: {} in all", described.len()));
        missing.extend(
            described
                .iter()
                .filter(|d| d.description.is_empty())
                .map(|d| d.path.clone()),
        );
        if kind == "NodePool" {
            // What a user sees for one field: its description, as published.
            let flavor = described
                .iter()
                .find(|d| d.path == "NodePool.spec.cce.nodeTemplate.flavor")
                .expect("NodePool.spec.cce.nodeTemplate.flavor is published");
            // kubectl's discovery may not list a CRD installed moments ago: it asks again
            // while it answers that it knows no such resource.
            let (ok, out, err) = support::wait_for(
                "kubectl's discovery to list NodePools",
                Duration::from_secs(30),
                || async {
                    let (ok, out, err) = cluster
                        .kubectl(&["explain", "nodepool.spec.cce.nodeTemplate.flavor"])
                        .await;
                    (ok || !err.contains("couldn't find resource")).then_some((ok, out, err))
                },
            )
            .await;
            assert!(ok, "{err}");
            let shown = words(&out);
            assert!(
                shown.contains("CCE `spec.nodeTemplate.flavor`")
                    && shown.contains(&words(&flavor.description)),
                "kubectl explain shows the description {:?}:\n{out}",
                flavor.description
            );
        }
    }
    eprintln!(
        "kubectl explain: checked the descriptions of {}",
        counts.join(", ")
    );
    assert!(
        missing.is_empty(),
        "{} published field(s) without a description:\n{}",
        missing.len(),
        missing.join("\n")
    );

    // The root description, and `--recursive` lists every field by name (it shows no
    // descriptions: those are checked above).
    let (ok, out, err) = cluster.kubectl(&["explain", "nodepool"]).await;
    assert!(ok, "{err}");
    assert!(
        !out.contains("Auto-generated") && words(&out).contains("A cloud node pool"),
        "{out}"
    );
    for (resource, expected) in [
        (
            "nodepool.spec",
            ["accountRef", "nodeTemplate", "flavor", "scalingGroup"],
        ),
        (
            "nodepool.status",
            ["phase", "currentNode", "conditions", "lastTransitionTime"],
        ),
    ] {
        let (ok, out, err) = cluster.kubectl(&["explain", resource, "--recursive"]).await;
        assert!(ok, "kubectl explain {resource} --recursive: {err}");
        for field in expected {
            assert!(out.contains(field), "{field} in {resource}:\n{out}");
        }
    }
}

/// The change contract at `kubectl apply` time: a change to an immutable field is refused with
/// a message naming it and saying what to do; in-place and new-nodes-only changes go through.
#[tokio::test]
async fn kubectl_refuses_changes_to_immutable_fields_by_name() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("contract").await;
    for sample in [
        "nodepool-cce.yaml",
        "nodepool-modelarts.yaml",
        "nodepool-ens.yaml",
    ] {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/samples/").to_owned() + sample;
        let (ok, _, err) = cluster.kubectl(&["apply", "-n", &ns, "-f", &path]).await;
        assert!(ok, "{sample}: {err}");
    }
    let refused = [
        (
            "cce-workers",
            r#"{"spec":{"cce":{"type":"ElasticBMS"}}}"#,
            "cce.type",
        ),
        (
            "cce-workers",
            r#"{"spec":{"cce":{"clusterId":"other"}}}"#,
            "cce.clusterId",
        ),
        (
            "cce-workers",
            r#"{"spec":{"cce":{"nodeManagement":{"serverGroupReference":"g"}}}}"#,
            "cce.nodeManagement",
        ),
        (
            "cce-workers",
            r#"{"spec":{"cce":{"nodeTemplate":{"os":"Ubuntu 22.04"}}}}"#,
            "cce.nodeTemplate.os",
        ),
        (
            "cce-workers",
            r#"{"spec":{"cce":{"nodeTemplate":{"rootVolume":{"size":80}}}}}"#,
            "cce.nodeTemplate.rootVolume",
        ),
        (
            "cce-workers",
            r#"{"spec":{"cce":{"nodeTemplate":{"extendParam":{"maxPods":64}}}}}"#,
            "cce.nodeTemplate.extendParam",
        ),
        (
            "cce-workers",
            r#"{"spec":{"cce":{"nodeTemplate":{"flavor":"c7.large.2"}}}}"#,
            "cce.nodeTemplate.flavor",
        ),
        (
            "modelarts-train",
            r#"{"spec":{"modelarts":{"resources":{"network":{"vpc":"v"}}}}}"#,
            "modelarts.resources.network",
        ),
        (
            "modelarts-train",
            r#"{"spec":{"modelarts":{"annotations":{"os.modelarts/billing.mode":"1"}}}}"#,
            "modelarts.annotations",
        ),
        (
            "ens-edge",
            r#"{"spec":{"ens":{"scalingGroup":{"instanceChargeType":"PrePaid"}}}}"#,
            "ens.scalingGroup.instanceChargeType",
        ),
        ("ens-edge", r#"{"spec":{"poolName":"renamed"}}"#, "poolName"),
    ];
    for (name, patch, field) in refused {
        let (ok, _, err) = cluster
            .kubectl(&[
                "patch", "np", name, "-n", &ns, "--type", "merge", "-p", patch,
            ])
            .await;
        assert!(!ok, "{field}: the change went through");
        assert!(
            err.contains(&format!("{field} cannot be changed in place"))
                && err.contains("create a new NodePool"),
            "{field}: {err}"
        );
    }
    let accepted = [
        (
            "cce-workers",
            r#"{"spec":{"cce":{"initialNodeCount":3,"nodeTemplate":{"k8sTags":{"team":"infra"}}}}}"#,
        ),
        (
            "modelarts-train",
            r#"{"spec":{"modelarts":{"resources":{"taints":[{"key":"gpu","effect":"NoSchedule"}]}}}}"#,
        ),
        (
            "ens-edge",
            r#"{"spec":{"ens":{"scalingGroup":{"imageId":"m-new","desiredSize":3}}}}"#,
        ),
    ];
    for (name, patch) in accepted {
        let (ok, _, err) = cluster
            .kubectl(&[
                "patch", "np", name, "-n", &ns, "--type", "merge", "-p", patch,
            ])
            .await;
        assert!(ok, "{name} {patch}: {err}");
    }
}
