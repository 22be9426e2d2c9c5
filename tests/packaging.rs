//! The Helm chart (`charts/nodepool-operator`) and the kustomize overlays (`examples/kustomize/`) as users
//! install them: helm (pinned by `tests/helm/go.mod`, built by `scripts/helm`) lints and renders
//! the chart, kubectl builds the overlays, and the real API server accepts every object. The
//! chart grants exactly the rules of `deploy/rbac.yaml` and `deploy/namespaced/rbac.yaml` (which
//! the operator tests check against the audit log), and runs the operator with the settings of
//! `deploy/deployment.yaml` and only flags the binary accepts.
//!
//! The API server is shared by the tests of this binary: every Helm rendering gets a release
//! name of its own (its cluster-scoped names carry it), and the overlays, whose names are fixed
//! (`nodepool-operator` in `nodepool-system`), are applied with `--dry-run=server` (only the dev
//! overlay's accounts, in a namespace no other test uses, are applied for real).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::{Value, json};
use support::cluster::Cluster;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/nodepool-operator");

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The pinned helm: `scripts/helm` prints its path, building it first (minutes, once).
fn helm_binary() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        let output = Command::new(repo("scripts/helm"))
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .expect("scripts/helm runs");
        assert!(
            output.status.success(),
            "scripts/helm failed (its output is above)"
        );
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    })
}

/// Runs helm with `args`; returns (success, stdout, stderr). Its config, cache and data live
/// under the target folder, and it talks to `kubeconfig` only (no kubeconfig: none at all).
fn helm(args: &[&str], kubeconfig: Option<&Path>) -> (bool, String, String) {
    let home = Path::new(env!("CARGO_TARGET_TMPDIR")).join("helm-home");
    let none = home.join("no-kubeconfig");
    let output = Command::new(helm_binary())
        .args(args)
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("KUBECONFIG", kubeconfig.unwrap_or(&none))
        .stdin(Stdio::null())
        .output()
        .expect("helm runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every object of a multi-document YAML text (documents holding only comments left out).
fn objects(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| serde::Deserialize::deserialize(document).unwrap())
        .filter(|value: &Value| !value.is_null())
        .collect()
}

fn objects_of_file(path: &str) -> Vec<Value> {
    objects(&std::fs::read_to_string(repo(path)).unwrap())
}

fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| {
            let present: Vec<String> = objects
                .iter()
                .map(|o| format!("{}/{}", o["kind"], o["metadata"]["name"]))
                .collect();
            panic!("no {kind} {name} among {present:?}")
        })
}

fn kinds(objects: &[Value]) -> Vec<&str> {
    objects.iter().filter_map(|o| o["kind"].as_str()).collect()
}

/// `helm template RELEASE charts/nodepool-operator -n NAMESPACE -f values`: the text.
fn render(release: &str, namespace: &str, values: &Value, extra: &[&str]) -> String {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let values_file = dir.path().join("values.yaml");
    std::fs::write(&values_file, serde_yaml::to_string(values).unwrap()).unwrap();
    let mut args = vec![
        "template",
        release,
        CHART,
        "--namespace",
        namespace,
        "--values",
        values_file.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (ok, out, err) = helm(&args, None);
    assert!(ok, "helm template {args:?}: {err}");
    out
}

/// The full name the chart gives a release's objects (release names without "nodepool-operator").
fn fullname(release: &str) -> String {
    format!("{release}-nodepool-operator")
}

/// `kubectl kustomize DIR` (no cluster needed).
fn kustomize(dir: &Path) -> String {
    let output = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl runs (CI installs it)");
    assert!(
        output.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The operator container of a Deployment.
fn operator_container(deployment: &Value) -> &Value {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "operator")
        .unwrap()
}

fn args_of(deployment: &Value) -> Vec<String> {
    operator_container(deployment)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// Writes `text` to a file of its own (kubectl reads it from there).
fn write_temp(text: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let path = dir.path().join("objects.yaml");
    std::fs::write(&path, text).unwrap();
    let path = path.to_str().unwrap().to_owned();
    (dir, path)
}

/// `kubectl auth can-i VERB RESOURCE` as `user`, in `namespace` (or all of them): "yes" or
/// "no". RBAC objects take effect once the authorizer's cache sees them, so a "yes" is
/// awaited and a "no" is read after one.
async fn can_i(
    cluster: &Cluster,
    user: &str,
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
) -> String {
    let mut args = vec!["auth", "can-i", verb, resource, "--as", user];
    match namespace {
        Some(ns) => args.extend_from_slice(&["-n", ns]),
        None => args.push("--all-namespaces"),
    }
    let (_, out, _) = cluster.kubectl(&args).await;
    out.trim().to_owned()
}

async fn await_allowed(
    cluster: &Cluster,
    user: &str,
    verb: &str,
    resource: &str,
    namespace: Option<&str>,
) {
    support::wait_for(
        &format!("{user} to be allowed to {verb} {resource} in {namespace:?}"),
        Duration::from_secs(30),
        || async { (can_i(cluster, user, verb, resource, namespace).await == "yes").then_some(()) },
    )
    .await;
}

fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

/// The ServiceMonitor CRD (a subset of the Prometheus Operator's, from tests/fixtures), applied
/// once and established.
async fn install_servicemonitor_crd(cluster: &Cluster) {
    let fixture = repo("tests/fixtures/kube/servicemonitor-crd.yaml");
    let (ok, out, err) = cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=packaging-tests",
            "-f",
            fixture.to_str().unwrap(),
        ])
        .await;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = cluster
        .kubectl(&[
            "wait",
            "--for=condition=Established",
            "crd/servicemonitors.monitoring.coreos.com",
            "--timeout=60s",
        ])
        .await;
    assert!(ok, "{out}{err}");
}

// ---------------------------------------------------------------------------------------------
// The chart, rendered (no API server)
// ---------------------------------------------------------------------------------------------

#[test]
fn the_charts_crds_are_a_copy_of_crds_nodepool_io_yaml() {
    let source = std::fs::read(repo("crds/nodepool.io.yaml")).unwrap();
    let copy = std::fs::read(repo("charts/nodepool-operator/crds/nodepool.io.yaml")).unwrap();
    assert!(
        source == copy,
        "charts/nodepool-operator/crds/nodepool.io.yaml differs from crds/nodepool.io.yaml: copy crds/nodepool.io.yaml to charts/nodepool-operator/crds/"
    );
    let files: Vec<_> = std::fs::read_dir(repo("charts/nodepool-operator/crds"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        files,
        ["nodepool.io.yaml"],
        "nothing else in the chart's crds/"
    );
}

#[test]
fn the_charts_app_version_is_the_workspace_version() {
    let chart: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo("charts/nodepool-operator/Chart.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(chart["apiVersion"], "v2");
    assert_eq!(chart["name"], "nodepool-operator");
    assert_eq!(
        chart["appVersion"],
        env!("CARGO_PKG_VERSION"),
        "set appVersion in charts/nodepool-operator/Chart.yaml to the workspace version of Cargo.toml"
    );
}

#[test]
fn helm_lint_passes() {
    for set in [
        "replicas=2",
        "watch.namespace=team-a,watch.selector=shard=a",
        "metrics.serviceMonitor.enabled=true,podDisruptionBudget.enabled=false",
    ] {
        let (ok, out, err) = helm(&["lint", "--strict", CHART, "--set", set], None);
        assert!(ok, "helm lint --strict --set {set}: {out}{err}");
        assert!(
            out.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{out}"
        );
    }
}

#[test]
fn the_chart_grants_exactly_the_rules_of_deploy() {
    let cluster_rbac = objects_of_file("deploy/rbac.yaml");
    let namespaced_rbac = objects_of_file("deploy/namespaced/rbac.yaml");
    let cluster_rules = &find(&cluster_rbac, "ClusterRole", "nodepool-operator")["rules"];
    let lease_rules = &find(&cluster_rbac, "Role", "nodepool-operator-leader-election")["rules"];
    let namespaced_rules = &find(&namespaced_rbac, "Role", "nodepool-operator")["rules"];
    let name = fullname("rules");

    // Whole cluster: ClusterRole + ClusterRoleBinding, the Lease Role in the release namespace.
    let default = objects(&render("rules", "ops", &json!({}), &[]));
    assert_eq!(
        &find(&default, "ClusterRole", &name)["rules"],
        cluster_rules
    );
    let binding = find(&default, "ClusterRoleBinding", &name);
    assert_eq!(binding["roleRef"]["name"], name.as_str());
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": name, "namespace": "ops"}])
    );
    let lease = find(&default, "Role", &format!("{name}-leader-election"));
    assert_eq!(&lease["rules"], lease_rules);
    assert_eq!(lease["metadata"]["namespace"], "ops");
    // The Lease Role is the only Role: the rights of the ClusterRole are not granted twice.
    assert_eq!(kinds(&default).iter().filter(|k| **k == "Role").count(), 1);

    // One namespace: the same rights by a Role in it, nothing cluster-wide.
    let namespaced = objects(&render(
        "rules",
        "ops",
        &json!({"watch": {"namespace": "team-a"}}),
        &[],
    ));
    let kinds = kinds(&namespaced);
    assert!(!kinds.contains(&"ClusterRole"), "{kinds:?}");
    assert!(!kinds.contains(&"ClusterRoleBinding"), "{kinds:?}");
    let role = find(&namespaced, "Role", &name);
    assert_eq!(role["metadata"]["namespace"], "team-a");
    assert_eq!(&role["rules"], namespaced_rules);
    assert_eq!(&role["rules"], cluster_rules);
    let binding = find(&namespaced, "RoleBinding", &name);
    assert_eq!(binding["metadata"]["namespace"], "team-a");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": name, "namespace": "ops"}])
    );
    let lease = find(&namespaced, "Role", &format!("{name}-leader-election"));
    assert_eq!(&lease["rules"], lease_rules);
    assert_eq!(lease["metadata"]["namespace"], "ops");
    let args = args_of(find(&namespaced, "Deployment", &name));
    assert!(args.contains(&"--namespace=team-a".to_owned()), "{args:?}");
}

#[test]
fn the_chart_watches_one_namespace_or_all_never_a_list() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(&values, "watch:\n  namespaces: [team-a, team-b]\n").unwrap();
    let (ok, _, err) = helm(
        &[
            "template",
            "list",
            CHART,
            "--values",
            values.to_str().unwrap(),
        ],
        None,
    );
    assert!(!ok);
    assert!(
        err.contains("watch.namespaces is not supported")
            && err.contains("one release per namespace"),
        "{err}"
    );
    // The default watches every namespace: no --namespace flag.
    let default = objects(&render("all", "ops", &json!({}), &[]));
    let args = args_of(find(&default, "Deployment", &fullname("all")));
    assert!(
        !args.iter().any(|a| a.starts_with("--namespace")),
        "{args:?}"
    );
}

#[test]
fn the_chart_runs_the_operator_as_deploy_does() {
    let deploy = objects_of_file("deploy/deployment.yaml");
    let expected = find(&deploy, "Deployment", "nodepool-operator");
    let rendered = objects(&render("same", "ops", &json!({}), &[]));
    let name = fullname("same");
    let actual = find(&rendered, "Deployment", &name);

    assert_eq!(actual["spec"]["replicas"], expected["spec"]["replicas"]);
    let (pod, expected_pod) = (
        &actual["spec"]["template"]["spec"],
        &expected["spec"]["template"]["spec"],
    );
    for field in ["securityContext", "terminationGracePeriodSeconds"] {
        assert_eq!(pod[field], expected_pod[field], "pod {field}");
    }
    assert_eq!(pod["serviceAccountName"], name.as_str());
    let (container, expected_container) =
        (operator_container(actual), operator_container(expected));
    for field in [
        "securityContext",
        "resources",
        "ports",
        "livenessProbe",
        "readinessProbe",
    ] {
        assert_eq!(
            container[field], expected_container[field],
            "container {field}"
        );
    }
    for variable in expected_container["env"].as_array().unwrap() {
        assert!(
            container["env"].as_array().unwrap().contains(variable),
            "{variable} in {}",
            container["env"]
        );
    }
    // The image of deploy/ with the appVersion as its tag.
    assert_eq!(
        container["image"],
        format!("nodepool-operator:{}", env!("CARGO_PKG_VERSION")).as_str()
    );
    // Pods are selected by the release's labels, and the selector matches the pod template.
    let selector = actual["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap();
    for (key, value) in selector {
        assert_eq!(
            &actual["spec"]["template"]["metadata"]["labels"][key], value,
            "{key}"
        );
    }
    assert_eq!(selector["app.kubernetes.io/instance"], "same");

    let expected_budget = find(&deploy, "PodDisruptionBudget", "nodepool-operator");
    let budget = find(&rendered, "PodDisruptionBudget", &name);
    assert_eq!(
        budget["spec"]["minAvailable"],
        expected_budget["spec"]["minAvailable"]
    );
    assert_eq!(budget["spec"]["selector"]["matchLabels"], json!(selector));
    let expected_service = find(&deploy, "Service", "nodepool-operator-metrics");
    let service = find(&rendered, "Service", &format!("{name}-metrics"));
    assert_eq!(service["spec"]["ports"], expected_service["spec"]["ports"]);
    assert_eq!(service["spec"]["selector"], json!(selector));
    // Off by default: the ServiceMonitor needs the Prometheus Operator's CRDs.
    assert!(!kinds(&rendered).contains(&"ServiceMonitor"));
}

#[test]
fn every_flag_the_chart_renders_is_accepted_by_the_operator() {
    let values = json!({
        "watch": {"namespace": "team-a", "selector": "team in (ml,ops)"},
        "metrics": {"port": 9090},
        "extraArgs": ["--concurrency=16"],
    });
    for values in [json!({}), values] {
        let rendered = objects(&render("flags", "ops", &values, &[]));
        let deployment = find(&rendered, "Deployment", &fullname("flags"));
        let args = args_of(deployment);
        assert_eq!(args[0], "run");
        // clap stops at --help only when every argument before it parsed.
        let output = Command::new(env!("CARGO_BIN_EXE_nodepool-operator"))
            .args(&args)
            .arg("--help")
            .env_clear()
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "nodepool-operator {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let container = operator_container(deployment);
        let port = container["ports"][0]["containerPort"].as_u64().unwrap();
        assert!(
            args.contains(&format!("--metrics-addr=0.0.0.0:{port}")),
            "{args:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The chart on the API server
// ---------------------------------------------------------------------------------------------

/// Renders the chart as release `release` into `namespace` and applies it (server-side apply,
/// the way Helm 4 installs): every object must be accepted. Returns the objects.
async fn apply_rendering(
    cluster: &Cluster,
    release: &str,
    namespace: &str,
    values: &Value,
    extra: &[&str],
) -> Vec<Value> {
    let text = render(release, namespace, values, extra);
    let (_dir, path) = write_temp(&text);
    let (ok, out, err) = cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=packaging-tests",
            "-f",
            &path,
        ])
        .await;
    assert!(ok, "kubectl apply of helm template {release}: {out}{err}");
    let objects = objects(&text);
    assert_eq!(
        out.lines().count(),
        objects.len(),
        "one line per object: {out}"
    );
    objects
}

#[tokio::test]
async fn helm_template_with_default_values_is_accepted_by_the_api_server() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("helm-default").await;
    let release = ns.name.clone();
    let name = fullname(&release);
    let applied = apply_rendering(&cluster, &release, &ns, &json!({}), &[]).await;
    let kinds = kinds(&applied);
    for kind in [
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Deployment",
        "PodDisruptionBudget",
        "Service",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    // The CRDs come with --include-crds (and with helm install). The shared control plane has
    // them already: a dry run checks the chart's copy is accepted without touching them.
    let with_crds = objects(&render(&release, &ns, &json!({}), &["--include-crds"]));
    for crd in ["nodepools.nodepool.io", "cloudaccounts.nodepool.io"] {
        find(&with_crds, "CustomResourceDefinition", crd);
    }
    let (ok, out, err) = cluster
        .kubectl(&[
            "apply",
            "--dry-run=server",
            "-f",
            repo("charts/nodepool-operator/crds").to_str().unwrap(),
        ])
        .await;
    assert!(ok, "the chart's CRDs: {out}{err}");
    let (ok, out, err) = cluster
        .kubectl(&[
            "get",
            "clusterrole",
            &name,
            "-o",
            "jsonpath={.metadata.name}",
        ])
        .await;
    assert!(ok, "{err}");
    assert_eq!(out, name);

    // The release's ServiceAccount may do what the operator does, in every namespace.
    let user = service_account_user(&ns, &name);
    await_allowed(&cluster, &user, "list", "nodepools.nodepool.io", None).await;
    await_allowed(
        &cluster,
        &user,
        "update",
        "leases.coordination.k8s.io",
        Some(&ns),
    )
    .await;
    assert_eq!(
        can_i(
            &cluster,
            &user,
            "update",
            "leases.coordination.k8s.io",
            Some("default")
        )
        .await,
        "no"
    );
    assert_eq!(
        can_i(&cluster, &user, "delete", "nodepools.nodepool.io", None).await,
        "no"
    );
}

#[tokio::test]
async fn helm_template_watching_one_namespace_is_accepted_by_the_api_server() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("helm-namespaced").await;
    let watched = cluster.namespace("helm-watched").await;
    let release = ns.name.clone();
    let name = fullname(&release);
    let applied = apply_rendering(
        &cluster,
        &release,
        &ns,
        &json!({"watch": {"namespace": watched.name}}),
        &[],
    )
    .await;
    let kinds = kinds(&applied);
    assert!(
        !kinds.contains(&"ClusterRole") && !kinds.contains(&"ClusterRoleBinding"),
        "{kinds:?}"
    );
    let (ok, out, err) = cluster
        .kubectl(&[
            "get",
            "role",
            "-n",
            &watched,
            &name,
            "-o",
            "jsonpath={.metadata.name}",
        ])
        .await;
    assert!(ok, "{err}");
    assert_eq!(out, name);
    let (ok, out, err) = cluster
        .kubectl(&[
            "get",
            "deployment",
            "-n",
            &ns,
            &name,
            "-o",
            "jsonpath={.spec.template.spec.containers[0].args}",
        ])
        .await;
    assert!(ok, "{err}");
    assert!(
        out.contains(&format!("--namespace={}", watched.name)),
        "{out}"
    );

    // Its rights hold in the watched namespace, and nowhere else.
    let user = service_account_user(&ns, &name);
    await_allowed(
        &cluster,
        &user,
        "watch",
        "nodepools.nodepool.io",
        Some(&watched),
    )
    .await;
    await_allowed(&cluster, &user, "get", "secrets", Some(&watched)).await;
    await_allowed(
        &cluster,
        &user,
        "create",
        "leases.coordination.k8s.io",
        Some(&ns),
    )
    .await;
    assert_eq!(
        can_i(&cluster, &user, "watch", "nodepools.nodepool.io", None).await,
        "no"
    );
    assert_eq!(
        can_i(&cluster, &user, "get", "secrets", Some(&ns)).await,
        "no"
    );
    assert_eq!(
        can_i(
            &cluster,
            &user,
            "list",
            "nodepools.nodepool.io",
            Some("default")
        )
        .await,
        "no"
    );
}

#[tokio::test]
async fn helm_template_with_the_servicemonitor_is_accepted_by_the_api_server() {
    let cluster = Cluster::shared().await;
    install_servicemonitor_crd(&cluster).await;
    let ns = cluster.namespace("helm-monitor").await;
    let release = ns.name.clone();
    let name = fullname(&release);
    let applied = apply_rendering(
        &cluster,
        &release,
        &ns,
        &json!({"metrics": {"serviceMonitor": {"enabled": true, "labels": {"release": "prometheus"}}}}),
        &[],
    )
    .await;
    // The monitor selects the metrics Service, in its namespace, by a port it has.
    let monitor = find(&applied, "ServiceMonitor", &name);
    let service = find(&applied, "Service", &format!("{name}-metrics"));
    for (key, value) in monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
    {
        assert_eq!(&service["metadata"]["labels"][key], value, "{key}");
    }
    assert_eq!(
        monitor["spec"]["namespaceSelector"]["matchNames"],
        json!([ns.name])
    );
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    let port = &monitor["spec"]["endpoints"][0]["port"];
    assert!(
        service["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| &p["name"] == port)
    );
    let (ok, out, err) = cluster
        .kubectl(&[
            "get",
            "servicemonitors.monitoring.coreos.com",
            "-n",
            &ns,
            &name,
            "-o",
            "jsonpath={.spec.endpoints[0].path} {.spec.endpoints[0].interval}",
        ])
        .await;
    assert!(ok, "{err}");
    assert_eq!(out, "/metrics 30s");
    // Without the metrics Service there is nothing to scrape: refused at render time.
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let values = dir.path().join("values.yaml");
    std::fs::write(
        &values,
        "metrics: {service: {enabled: false}, serviceMonitor: {enabled: true}}\n",
    )
    .unwrap();
    let (ok, _, err) = helm(
        &["template", "x", CHART, "-f", values.to_str().unwrap()],
        None,
    );
    assert!(
        !ok && err.contains("needs metrics.service.enabled"),
        "{err}"
    );
}

#[tokio::test]
async fn helm_installs_upgrades_and_uninstalls_a_release() {
    let cluster = Cluster::shared().await;
    let ns = cluster.namespace("helm-install").await;
    let release = ns.name.clone();
    let name = fullname(&release);
    let kubeconfig = cluster.kubeconfig();
    let kubeconfig = Some(kubeconfig.as_path());
    let (ok, out, err) = helm(
        &["install", &release, CHART, "--namespace", &ns],
        kubeconfig,
    );
    assert!(ok, "helm install: {out}{err}");
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert!(
        out.contains(&format!("rollout status deployment/{name}")),
        "NOTES: {out}"
    );
    let replicas = || async {
        let (ok, out, err) = cluster
            .kubectl(&[
                "get",
                "deployment",
                "-n",
                &ns,
                &name,
                "-o",
                "jsonpath={.spec.replicas}",
            ])
            .await;
        assert!(ok, "{err}");
        out
    };
    assert_eq!(replicas().await, "2");

    let (ok, out, err) = helm(
        &[
            "upgrade",
            &release,
            CHART,
            "--namespace",
            &ns,
            "--set",
            "replicas=3",
        ],
        kubeconfig,
    );
    assert!(ok, "helm upgrade: {out}{err}");
    assert_eq!(replicas().await, "3");

    let (ok, out, err) = helm(&["uninstall", &release, "--namespace", &ns], kubeconfig);
    assert!(ok, "helm uninstall: {out}{err}");
    for (kind, namespace) in [
        ("deployment", Some(ns.name.as_str())),
        ("clusterrole", None),
    ] {
        let mut args = vec!["get", kind, &name, "--ignore-not-found", "-o", "name"];
        if let Some(namespace) = namespace {
            args.extend_from_slice(&["-n", namespace]);
        }
        let (ok, out, err) = cluster.kubectl(&args).await;
        assert!(
            ok && out.is_empty(),
            "{kind} {name} after uninstall: {out}{err}"
        );
    }
    // Helm leaves CRDs (and so every NodePool) in place.
    let (ok, _, err) = cluster
        .kubectl(&["get", "crd", "nodepools.nodepool.io"])
        .await;
    assert!(ok, "{err}");
}

// ---------------------------------------------------------------------------------------------
// The kustomize overlays
// ---------------------------------------------------------------------------------------------

/// Server-side dry-runs a rendering: every object must be accepted (nothing is stored, so
/// overlays sharing the fixed names of deploy/ never collide).
async fn dry_run(cluster: &Cluster, rendered: &str) {
    let (_dir, path) = write_temp(rendered);
    let (ok, out, err) = cluster
        .kubectl(&["apply", "--dry-run=server", "-f", &path])
        .await;
    assert!(ok, "kubectl apply --dry-run=server: {out}{err}");
    assert_eq!(out.lines().count(), objects(rendered).len(), "{out}");
}

/// Creates `name` unless it exists (the overlays' namespaces are fixed names).
async fn ensure_namespace(cluster: &Cluster, name: &str) {
    let (_dir, path) = write_temp(&format!(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"
    ));
    let (ok, out, err) = cluster
        .kubectl(&[
            "apply",
            "--server-side",
            "--field-manager=packaging-tests",
            "-f",
            &path,
        ])
        .await;
    assert!(ok, "{out}{err}");
}

#[tokio::test]
async fn the_namespaced_overlay_grants_one_namespace_and_is_accepted() {
    let cluster = Cluster::shared().await;
    let rendered = kustomize(&repo("examples/kustomize/namespaced"));
    let objects = objects(&rendered);
    let kinds = kinds(&objects);
    assert!(
        !kinds.contains(&"ClusterRole") && !kinds.contains(&"ClusterRoleBinding"),
        "{kinds:?}"
    );
    let role = find(&objects, "Role", "nodepool-operator");
    let watched = role["metadata"]["namespace"].as_str().unwrap();
    assert_ne!(watched, "nodepool-system");
    let expected = objects_of_file("deploy/namespaced/rbac.yaml");
    assert_eq!(
        role["rules"],
        find(&expected, "Role", "nodepool-operator")["rules"]
    );
    let binding = find(&objects, "RoleBinding", "nodepool-operator");
    assert_eq!(binding["metadata"]["namespace"], watched);
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "nodepool-operator", "namespace": "nodepool-system"}])
    );
    // The leader Lease stays in the operator's namespace.
    let lease = find(&objects, "Role", "nodepool-operator-leader-election");
    assert_eq!(lease["metadata"]["namespace"], "nodepool-system");
    let deployment = find(&objects, "Deployment", "nodepool-operator");
    assert_eq!(
        args_of(deployment),
        ["run".to_owned(), format!("--namespace={watched}")]
    );

    ensure_namespace(&cluster, watched).await;
    dry_run(&cluster, &rendered).await;
}

#[tokio::test]
async fn the_dev_overlay_adds_the_simulator_and_its_accounts_point_at_it() {
    let cluster = Cluster::shared().await;
    let rendered = kustomize(&repo("examples/kustomize/dev"));
    let objects = objects(&rendered);
    let sim = find(&objects, "Deployment", "nodepool-sim");
    assert_eq!(sim["metadata"]["namespace"], "nodepool-system");
    let service = find(&objects, "Service", "nodepool-sim");
    let port = service["spec"]["ports"][0]["port"].as_u64().unwrap();
    let operator = find(&objects, "Deployment", "nodepool-operator");
    assert_eq!(operator["spec"]["replicas"], 1);
    assert!(
        !kinds(&objects).contains(&"PodDisruptionBudget"),
        "one replica: no budget blocking drains"
    );
    dry_run(&cluster, &rendered).await;

    // The accounts: the samples', with every endpoint at that Service.
    let accounts_rendered = kustomize(&repo("examples/kustomize/dev/accounts"));
    let accounts = self::objects(&accounts_rendered);
    let url = format!(
        "http://{}.{}.svc:{port}",
        service["metadata"]["name"].as_str().unwrap(),
        service["metadata"]["namespace"].as_str().unwrap()
    );
    let namespace = find(&accounts, "Namespace", "nodepool-dev")["metadata"]["name"]
        .as_str()
        .unwrap();
    let mut samples = objects_of_file("deploy/samples/huawei-account.yaml");
    samples.extend(objects_of_file("deploy/samples/alibaba-account.yaml"));
    for mut sample in samples {
        let kind = sample["kind"].as_str().unwrap().to_owned();
        let name = sample["metadata"]["name"].as_str().unwrap().to_owned();
        sample["metadata"]["namespace"] = json!(namespace);
        if let Some(endpoints) = sample
            .pointer_mut("/spec/endpoints")
            .and_then(Value::as_object_mut)
        {
            for endpoint in endpoints.values_mut() {
                assert_eq!(endpoint, "http://127.0.0.1:8787");
                *endpoint = json!(url);
            }
        }
        assert_eq!(find(&accounts, &kind, &name), &sample, "{kind} {name}");
    }
    // Applied for real (after the CRDs, which the shared control plane has): accepted.
    let (ok, out, err) = cluster
        .kubectl(&[
            "apply",
            "-k",
            repo("examples/kustomize/dev/accounts").to_str().unwrap(),
        ])
        .await;
    assert!(
        ok,
        "kubectl apply -k examples/kustomize/dev/accounts: {out}{err}"
    );
    let (ok, out, err) = cluster
        .kubectl(&[
            "get",
            "cloudaccount",
            "-n",
            namespace,
            "huawei",
            "-o",
            "jsonpath={.spec.endpoints.cce}",
        ])
        .await;
    assert!(ok, "{err}");
    assert_eq!(out, url);
}

#[tokio::test]
async fn the_image_overlay_sets_the_operators_image() {
    let cluster = Cluster::shared().await;
    let kustomization: Value = serde_yaml::from_str(
        &std::fs::read_to_string(repo("examples/kustomize/image/kustomization.yaml")).unwrap(),
    )
    .unwrap();
    let image = &kustomization["images"][0];
    assert_eq!(image["name"], "nodepool-operator");
    let expected = format!(
        "{}:{}",
        image["newName"].as_str().unwrap(),
        image["newTag"].as_str().unwrap()
    );
    let rendered = kustomize(&repo("examples/kustomize/image"));
    let objects = objects(&rendered);
    let deployment = find(&objects, "Deployment", "nodepool-operator");
    assert_eq!(operator_container(deployment)["image"], expected.as_str());
    let base = objects_of_file("deploy/deployment.yaml");
    assert_ne!(
        operator_container(find(&base, "Deployment", "nodepool-operator"))["image"],
        expected.as_str()
    );
    dry_run(&cluster, &rendered).await;
}

/// `to` as a path relative to the folder `from` (kustomize takes no absolute paths).
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to[common..] {
        path.push(part);
    }
    path
}

#[tokio::test]
async fn the_servicemonitor_component_is_accepted_by_the_api_server() {
    let cluster = Cluster::shared().await;
    install_servicemonitor_crd(&cluster).await;
    let deploy = repo("deploy").canonicalize().unwrap();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let base = relative(&root, &deploy);
    std::fs::write(
        root.join("kustomization.yaml"),
        format!(
            "resources: [{}]\ncomponents: [{}]\n",
            base.display(),
            base.join("components/servicemonitor").display()
        ),
    )
    .unwrap();
    let rendered = kustomize(&root);
    assert!(kinds(&objects(&rendered)).contains(&"ServiceMonitor"));
    dry_run(&cluster, &rendered).await;
}
