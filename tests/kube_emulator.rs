//! Conformance of the Kubernetes API emulator, driven only through real clients: `kube::Api`,
//! `kube::runtime::watcher`, `kube::runtime::finalizer`, a `kube::runtime::Controller`, and
//! `kubectl` where it is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::{self, Event};
use kube::runtime::{
    Controller, controller::Action, finalizer, finalizer::Event as FinalizerEvent,
};
use kube::{Api, CustomResource, ResourceExt};
use nodepool_operator::kube_emulator::{Emulator, FailRule, RunningEmulator};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "test.nodepool.io",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
#[serde(rename_all = "camelCase")]
pub struct WidgetSpec {
    pub size: i64,
    pub color: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_size: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WidgetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

async fn emulator() -> RunningEmulator {
    Emulator::builder()
        .crds_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kube"))
        .bookmark_interval(Duration::from_millis(200))
        .start()
        .await
        .unwrap()
}

fn widget(name: &str, size: i64) -> Widget {
    Widget::new(
        name,
        WidgetSpec {
            size,
            color: "red".into(),
            min_size: None,
            mode: None,
            tags: None,
        },
    )
}

fn api_status(error: kube::Error) -> (u16, String, String) {
    match error {
        kube::Error::Api(status) => (status.code, status.reason.clone(), status.message.clone()),
        other => panic!("expected an API error, got {other}"),
    }
}

#[tokio::test]
async fn crud_generation_status_subresource_and_conflicts() {
    let emulator = emulator().await;
    let api: Api<Widget> = Api::namespaced(emulator.client().unwrap(), "default");
    let created = api
        .create(&PostParams::default(), &widget("w1", 3))
        .await
        .unwrap();
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    assert_eq!(
        created.spec.mode.as_deref(),
        Some("fast"),
        "schema defaults are applied"
    );
    assert_eq!(created.spec.min_size, Some(0));
    let rv1: u64 = created.resource_version().unwrap().parse().unwrap();

    // A status written through the main resource is dropped; the spec change moves generation.
    let mut changed = created.clone();
    changed.spec.size = 4;
    changed.status = Some(WidgetStatus {
        phase: Some("Sneaky".into()),
        observed_generation: None,
    });
    let replaced = api
        .replace("w1", &PostParams::default(), &changed)
        .await
        .unwrap();
    assert_eq!(replaced.status, None);
    assert_eq!(replaced.metadata.generation, Some(2));
    assert!(replaced.resource_version().unwrap().parse::<u64>().unwrap() > rv1);

    // A spec change through /status is dropped; the status lands; generation stays.
    let status_patch =
        json!({"spec": {"size": 9}, "status": {"phase": "Ready", "observedGeneration": 2}});
    let patched = api
        .patch_status("w1", &PatchParams::default(), &Patch::Merge(&status_patch))
        .await
        .unwrap();
    assert_eq!(patched.spec.size, 4);
    assert_eq!(
        patched.status.as_ref().unwrap().phase.as_deref(),
        Some("Ready")
    );
    assert_eq!(patched.metadata.generation, Some(2));

    // Metadata-only changes do not move generation either.
    let labels = json!({"metadata": {"labels": {"team": "ml"}}});
    let labelled = api
        .patch("w1", &PatchParams::default(), &Patch::Merge(&labels))
        .await
        .unwrap();
    assert_eq!(labelled.metadata.generation, Some(2));

    // A stale resourceVersion gets 409 Conflict.
    let (code, reason, _) = api
        .replace("w1", &PostParams::default(), &changed)
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!((code, reason.as_str()), (409, "Conflict"));

    // Creating it again gets 409 AlreadyExists; a missing one 404 NotFound.
    let (code, reason, _) = api
        .create(&PostParams::default(), &widget("w1", 1))
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!((code, reason.as_str()), (409, "AlreadyExists"));
    let (code, reason, message) = api
        .get("nope")
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!((code, reason.as_str()), (404, "NotFound"));
    assert_eq!(message, "widgets.test.nodepool.io \"nope\" not found");

    // JSON patch, with a failing test op refused.
    let ops: json_patch::Patch =
        serde_json::from_value(json!([{"op": "replace", "path": "/spec/size", "value": 5}]))
            .unwrap();
    assert_eq!(
        api.patch("w1", &PatchParams::default(), &Patch::<()>::Json(ops))
            .await
            .unwrap()
            .spec
            .size,
        5
    );
    let failing: json_patch::Patch = serde_json::from_value(json!([{"op": "test", "path": "/spec/size", "value": 99}, {"op": "replace", "path": "/spec/size", "value": 6}])).unwrap();
    let (code, _, _) = api
        .patch("w1", &PatchParams::default(), &Patch::<()>::Json(failing))
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!(code, 422);
    assert_eq!(api.get("w1").await.unwrap().spec.size, 5);

    // Server-side apply (subset) creates and updates; strategic merge is refused for CRs.
    let applied = json!({"apiVersion": "test.nodepool.io/v1", "kind": "Widget", "metadata": {"name": "w2"}, "spec": {"size": 2, "color": "blue"}});
    let params = PatchParams::apply("nodepool-operator");
    assert_eq!(
        api.patch("w2", &params, &Patch::Apply(&applied))
            .await
            .unwrap()
            .spec
            .color,
        "blue"
    );
    let reapplied = json!({"apiVersion": "test.nodepool.io/v1", "kind": "Widget", "metadata": {"name": "w2"}, "spec": {"size": 7, "color": "blue"}});
    assert_eq!(
        api.patch("w2", &params, &Patch::Apply(&reapplied))
            .await
            .unwrap()
            .spec
            .size,
        7
    );
    let (code, _, _) = api
        .patch(
            "w2",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"size": 1}})),
        )
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!(code, 415);

    api.delete("w2", &DeleteParams::default()).await.unwrap();
    assert!(api.get_opt("w2").await.unwrap().is_none());
}

trait Pipe: Sized {
    fn pipe<T>(self, f: impl FnOnce(Self) -> T) -> T {
        f(self)
    }
}
impl<T> Pipe for T {}

#[tokio::test]
async fn schema_pruning_validation_and_cel() {
    let emulator = emulator().await;
    let client = emulator.client().unwrap();
    let raw: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        "default",
        &kube::discovery::ApiResource::erase::<Widget>(&()),
    );
    let object: kube::api::DynamicObject = serde_json::from_value(json!({
        "apiVersion": "test.nodepool.io/v1", "kind": "Widget",
        "metadata": {"name": "pruned", "unknownMeta": 1},
        "spec": {"size": 1, "color": "green", "bogus": true, "settings": {"free": {"form": 1}}},
        "status": {"phase": "x", "junk": 1},
        "extra": 1,
    }))
    .unwrap();
    let created = raw.create(&PostParams::default(), &object).await.unwrap();
    assert!(
        created.data["spec"].get("bogus").is_none(),
        "unknown spec field pruned"
    );
    assert_eq!(
        created.data["spec"]["settings"],
        json!({"free": {"form": 1}}),
        "preserved subtree kept"
    );
    assert!(created.data.get("extra").is_none());
    assert!(
        created.data.get("status").is_none(),
        "status is not set on create"
    );
    let status = json!({"status": {"phase": "Ready", "junk": 1}});
    let patched = raw
        .patch_status("pruned", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .unwrap();
    assert_eq!(
        patched.data["status"],
        json!({"phase": "Ready"}),
        "unknown status field pruned"
    );

    let api: Api<Widget> = Api::namespaced(client, "default");
    // OpenAPI constraints: 422 with field paths and the API server's wording.
    let mut too_big = widget("big", 11);
    too_big.spec.tags = Some(vec!["a".into(), "b".into(), "c".into(), "d".into()]);
    let (code, reason, message) = api
        .create(&PostParams::default(), &too_big)
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert!(
        message.starts_with("Widget.test.nodepool.io \"big\" is invalid: ["),
        "{message}"
    );
    assert!(
        message.contains(
            "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10"
        ),
        "{message}"
    );
    assert!(
        message.contains("spec.tags: Too many: 4: must have at most 3 items"),
        "{message}"
    );
    let mut bad_color = widget("color", 1);
    bad_color.spec.color = "pink".into();
    let (_, _, message) = api
        .create(&PostParams::default(), &bad_color)
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert!(message.contains("spec.color: Unsupported value: \"pink\": supported values: \"red\", \"green\", \"blue\""), "{message}");

    // A CEL rule.
    let mut inverted = widget("inverted", 1);
    inverted.spec.min_size = Some(5);
    let (code, _, message) = api
        .create(&PostParams::default(), &inverted)
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!(code, 422);
    assert!(
        message.contains("minSize must not exceed size"),
        "{message}"
    );

    // A transition rule: color is immutable.
    api.create(&PostParams::default(), &widget("fixed", 1))
        .await
        .unwrap();
    let recolor = json!({"spec": {"color": "blue"}});
    let (code, _, message) = api
        .patch("fixed", &PatchParams::default(), &Patch::Merge(&recolor))
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!(code, 422);
    assert!(message.contains("color is immutable"), "{message}");
    let resize = json!({"spec": {"size": 2}});
    assert_eq!(
        api.patch("fixed", &PatchParams::default(), &Patch::Merge(&resize))
            .await
            .unwrap()
            .spec
            .size,
        2
    );
}

#[tokio::test]
async fn finalizers_hold_deletion_until_removed() {
    let emulator = emulator().await;
    let api: Api<Widget> = Api::namespaced(emulator.client().unwrap(), "default");
    let mut w = widget("held", 1);
    w.metadata.finalizers = Some(vec!["test.nodepool.io/cleanup".into()]);
    api.create(&PostParams::default(), &w).await.unwrap();
    api.delete("held", &DeleteParams::default()).await.unwrap();
    let held = api.get("held").await.unwrap();
    assert!(held.metadata.deletion_timestamp.is_some());
    // No new finalizers once deletion started.
    let add = json!({"metadata": {"finalizers": ["test.nodepool.io/cleanup", "other/one"]}});
    let (code, _, message) = api
        .patch("held", &PatchParams::default(), &Patch::Merge(&add))
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!(code, 422);
    assert!(
        message.contains("no new finalizers can be added if the object is being deleted"),
        "{message}"
    );
    let clear = json!({"metadata": {"finalizers": null}});
    api.patch("held", &PatchParams::default(), &Patch::Merge(&clear))
        .await
        .unwrap();
    assert!(api.get_opt("held").await.unwrap().is_none());
}

#[tokio::test]
async fn the_finalizer_helper_runs_cleanup_before_the_object_goes() {
    let emulator = emulator().await;
    let api: Api<Widget> = Api::namespaced(emulator.client().unwrap(), "default");
    api.create(&PostParams::default(), &widget("helper", 1))
        .await
        .unwrap();
    let cleaned = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let run = |api: Api<Widget>, cleaned: Arc<std::sync::atomic::AtomicBool>| async move {
        let object = Arc::new(api.get("helper").await.unwrap());
        finalizer(
            &api,
            "test.nodepool.io/cleanup",
            object,
            |event| async move {
                match event {
                    FinalizerEvent::Apply(_) => Ok::<_, kube::Error>(Action::await_change()),
                    FinalizerEvent::Cleanup(_) => {
                        cleaned.store(true, std::sync::atomic::Ordering::SeqCst);
                        Ok(Action::await_change())
                    }
                }
            },
        )
        .await
    };
    // First pass adds the finalizer.
    run(api.clone(), cleaned.clone()).await.unwrap();
    assert_eq!(
        api.get("helper").await.unwrap().finalizers(),
        ["test.nodepool.io/cleanup"]
    );
    let apply_pass = run(api.clone(), cleaned.clone()).await;
    assert!(apply_pass.is_ok());
    api.delete("helper", &DeleteParams::default())
        .await
        .unwrap();
    assert!(
        api.get("helper")
            .await
            .unwrap()
            .metadata
            .deletion_timestamp
            .is_some()
    );
    run(api.clone(), cleaned.clone()).await.unwrap();
    assert!(cleaned.load(std::sync::atomic::Ordering::SeqCst));
    assert!(api.get_opt("helper").await.unwrap().is_none());
}

#[tokio::test]
async fn watcher_sees_ordered_events_and_recovers_from_closed_streams_and_410() {
    let emulator = emulator().await;
    let api: Api<Widget> = Api::namespaced(emulator.client().unwrap(), "default");
    let config = watcher::Config::default().timeout(5);
    let mut stream = watcher::watcher(api.clone(), config).boxed();
    // Initial (empty) list.
    loop {
        if let Event::InitDone = stream.try_next().await.unwrap().unwrap() {
            break;
        }
    }
    api.create(&PostParams::default(), &widget("a", 1))
        .await
        .unwrap();
    api.create(&PostParams::default(), &widget("b", 2))
        .await
        .unwrap();
    let patch = json!({"spec": {"size": 3}});
    api.patch("a", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        match tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
        {
            Event::Apply(w) => seen.push(format!("apply {} {}", w.name_any(), w.spec.size)),
            Event::Delete(w) => seen.push(format!("delete {}", w.name_any())),
            _ => {}
        }
    }
    assert_eq!(seen, ["apply a 1", "apply b 2", "apply a 3", "delete b"]);

    // The server closes every watch: the watcher resumes and keeps delivering.
    emulator.close_watches();
    api.create(&PostParams::default(), &widget("c", 1))
        .await
        .unwrap();
    let mut after_close = None;
    while after_close.is_none() {
        if let Event::Apply(w) | Event::InitApply(w) =
            tokio::time::timeout(Duration::from_secs(10), stream.try_next())
                .await
                .unwrap()
                .unwrap()
                .unwrap()
            && w.name_any() == "c"
        {
            after_close = Some(w);
        }
    }

    // History is compacted: resuming gets 410 Gone and the watcher relists.
    emulator.compact();
    emulator.close_watches();
    api.create(&PostParams::default(), &widget("d", 1))
        .await
        .unwrap();
    let mut relisted = false;
    let mut saw_d = false;
    while !(relisted && saw_d) {
        match tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .unwrap()
        {
            Ok(Some(Event::Init)) => relisted = true,
            Ok(Some(Event::InitApply(w) | Event::Apply(w))) if w.name_any() == "d" => saw_d = true,
            Ok(_) => {}
            Err(_) => {} // the 410 surfaces as an error before the relist
        }
    }
    let watches = emulator
        .audit()
        .into_iter()
        .filter(|a| a.verb == "watch")
        .count();
    assert!(watches >= 3, "{watches} watch requests");
}

#[tokio::test]
async fn a_small_controller_reconciles_status() {
    let emulator = emulator().await;
    let api: Api<Widget> = Api::namespaced(emulator.client().unwrap(), "default");
    for i in 0..3 {
        api.create(&PostParams::default(), &widget(&format!("c{i}"), i))
            .await
            .unwrap();
    }
    let reconcile = |w: Arc<Widget>, api: Arc<Api<Widget>>| async move {
        let status =
            json!({"status": {"phase": "Ready", "observedGeneration": w.metadata.generation}});
        api.patch_status(
            &w.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&status),
        )
        .await?;
        Ok::<_, kube::Error>(Action::await_change())
    };
    let controller = Controller::new(api.clone(), watcher::Config::default())
        .run(
            reconcile,
            |_, _, _| Action::requeue(Duration::from_secs(1)),
            Arc::new(api.clone()),
        )
        .for_each(|_| async {});
    let handle = tokio::spawn(controller);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let list = api.list(&ListParams::default()).await.unwrap();
        if list
            .items
            .iter()
            .all(|w| w.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Ready"))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "controller did not converge"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.abort();
}

#[tokio::test]
async fn list_selectors_paging_builtins_and_faults() {
    let emulator = emulator().await;
    let client = emulator.client().unwrap();
    let api: Api<Widget> = Api::namespaced(client.clone(), "default");
    for i in 0..5 {
        let mut w = widget(&format!("l{i}"), 1);
        w.metadata.labels = Some(
            [(
                "parity".to_owned(),
                if i % 2 == 0 { "even" } else { "odd" }.to_owned(),
            )]
            .into(),
        );
        api.create(&PostParams::default(), &w).await.unwrap();
    }
    let even = api
        .list(&ListParams::default().labels("parity=even"))
        .await
        .unwrap();
    assert_eq!(even.items.len(), 3);
    let named = api
        .list(&ListParams::default().fields("metadata.name=l1"))
        .await
        .unwrap();
    assert_eq!(named.items.len(), 1);
    let page = api.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(page.items.len(), 2);
    let token = page.metadata.continue_.clone().unwrap();
    let next = api
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(
        next.items.iter().map(|w| w.name_any()).collect::<Vec<_>>(),
        ["l2", "l3"]
    );

    // Namespaces must exist; Secrets, Leases work.
    let elsewhere: Api<Widget> = Api::namespaced(client.clone(), "missing");
    let (code, _, _) = elsewhere
        .create(&PostParams::default(), &widget("x", 1))
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!(code, 404);
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap(),
        )
        .await
        .unwrap();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "team-a");
    let secret: Secret = serde_json::from_value(
        json!({"metadata": {"name": "creds"}, "stringData": {"accessKey": "AK"}}),
    )
    .unwrap();
    let stored = secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    assert_eq!(stored.data.unwrap()["accessKey"].0, b"AK");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "team-a");
    let lease: Lease = serde_json::from_value(
        json!({"metadata": {"name": "leader"}, "spec": {"holderIdentity": "me"}}),
    )
    .unwrap();
    leases.create(&PostParams::default(), &lease).await.unwrap();

    // Injected failures, then recovery; the audit log records what was asked.
    emulator.fail_next(FailRule {
        verb: Some("list".into()),
        resource: Some("widgets".into()),
        subresource: None,
        status: 500,
        count: 1,
    });
    let (code, _, _) = api
        .list(&ListParams::default())
        .await
        .map(|_| ())
        .unwrap_err()
        .pipe(api_status);
    assert_eq!(code, 500);
    assert!(api.list(&ListParams::default()).await.is_ok());
    let audit = emulator.audit();
    assert!(audit.iter().any(|a| a.verb == "create"
        && a.resource == "secrets"
        && a.namespace.as_deref() == Some("team-a")));
    assert!(audit.iter().any(|a| a.verb == "list" && a.code == 500));
}

/// `kubectl` against the emulator: apply a CRD and a custom resource, read it back, delete it.
#[tokio::test]
async fn kubectl_applies_gets_and_deletes() {
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: kubectl is not installed (CI installs it)");
        return;
    }
    let emulator = Emulator::builder().start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    emulator.write_kubeconfig(&kubeconfig).unwrap();
    let run = |args: Vec<String>| {
        let kubeconfig = kubeconfig.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                std::process::Command::new("kubectl")
                    .env("KUBECONFIG", &kubeconfig)
                    .env("HOME", "/tmp")
                    .args(&args)
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let crd = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/kube/widgets-crd.yaml"
    );
    let out = run(vec![
        "apply".into(),
        "--validate=false".into(),
        "-f".into(),
        crd.into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "apply crd: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let widget_file = dir.path().join("widget.yaml");
    std::fs::write(&widget_file, "apiVersion: test.nodepool.io/v1\nkind: Widget\nmetadata:\n  name: from-kubectl\nspec:\n  size: 2\n  color: green\n").unwrap();
    let out = run(vec![
        "apply".into(),
        "--validate=false".into(),
        "-f".into(),
        widget_file.display().to_string(),
    ])
    .await;
    assert!(
        out.status.success(),
        "apply widget: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(vec![
        "get".into(),
        "widget".into(),
        "from-kubectl".into(),
        "-o".into(),
        "json".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "get: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let object: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(object["spec"]["size"], 2);
    assert_eq!(object["spec"]["mode"], "fast");
    let out = run(vec!["get".into(), "wg".into()]).await;
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && table.contains("SIZE") && table.contains("from-kubectl"),
        "{table} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(vec![
        "delete".into(),
        "widget".into(),
        "from-kubectl".into(),
    ])
    .await;
    assert!(
        out.status.success(),
        "delete: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(vec!["get".into(), "widget".into(), "from-kubectl".into()]).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not found"));
}
