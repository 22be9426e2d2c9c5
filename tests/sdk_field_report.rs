//! The SDK field report (`docs/sdk-field-report.md`): for the official SDKs' node-pool models
//! (`tests/fixtures/sdk/models.json`, dumped from the pinned SDKs by `tests/sdk/sdk_models.py`),
//! which fields the operator's wire types model, pass through untouched, or drop; and no field a
//! seed document describes (`tests/fixtures/sdk/seed-fields.json`) is dropped.
//!
//! Each field is found out by probing the wire type, not by a hand-kept list: a sample holding
//! every SDK field is read and written back (a field missing afterwards is dropped), then the
//! field alone is given a value of the wrong JSON type (refused: modelled; kept: passed through).
//!
//! `NODEPOOL_UPDATE_FIELD_REPORT=1 cargo nextest run --test sdk_field_report` rewrites the report.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write as _;

use nodepool_operator::provider::cce::update_body;
use nodepool_operator::provider::{
    CloudSpec, CountUpdate, DesiredPool, ObservedPool, PoolPhase, PoolSpec,
};
use nodepool_wire::{cce, ens, modelarts};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

const REPORT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sdk-field-report.md");

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/sdk/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Reads a JSON value as the wire type `T` and writes it back.
type RoundTrip = fn(Value) -> Result<Value, String>;

fn through<T: Serialize + DeserializeOwned>(value: Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// The PUT body the operator sends for a pool declared with `spec` (a CCE `NodePoolSpec`),
/// setting the count and keeping it, merged: what an update can carry.
fn cce_update(spec: Value) -> Result<Value, String> {
    let spec: cce::NodePoolSpec = serde_json::from_value(spec).map_err(|e| e.to_string())?;
    let desired = DesiredPool {
        name: "report".into(),
        spec: PoolSpec::Cce(spec),
    };
    let mut sent = Value::Object(Default::default());
    for count in [CountUpdate::Set(1), CountUpdate::Keep] {
        let body = update_body(&desired, &unreported(), count).map_err(|e| e.to_string())?;
        merge(&mut sent, &body["spec"]);
    }
    Ok(sent)
}

/// A pool whose settings the cloud did not report: the update sends everything declared.
fn unreported() -> ObservedPool {
    ObservedPool {
        id: "report".into(),
        name: "report".into(),
        desired: None,
        current: 0,
        ready: 0,
        creating: 0,
        deleting: 0,
        raw_state: String::new(),
        phase: PoolPhase::Ready,
        messages: vec![],
        autoscaling: None,
        owner: None,
        job_id: None,
        spec: CloudSpec::Unknown,
    }
}

fn merge(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (key, value) in from {
                merge(into.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
        (into, from) => *into = from.clone(),
    }
}

struct Entry {
    cloud: &'static str,
    model: &'static str,
    /// What the operator uses for it.
    wire: &'static str,
    round_trip: RoundTrip,
    /// Probes the update body (sent / not sent) instead of a wire type.
    update: bool,
}

const fn entry(
    cloud: &'static str,
    model: &'static str,
    wire: &'static str,
    round_trip: RoundTrip,
) -> Entry {
    Entry {
        cloud,
        model,
        wire,
        round_trip,
        update: false,
    }
}

fn entries() -> Vec<Entry> {
    vec![
        entry("cce", "NodePool", "cce::NodePool", through::<cce::NodePool>),
        entry(
            "cce",
            "NodeSpec",
            "cce::NodeTemplate",
            through::<cce::NodeTemplate>,
        ),
        Entry {
            update: true,
            ..entry(
                "cce",
                "NodePoolSpecUpdate",
                "provider::cce::update_body",
                cce_update,
            )
        },
        entry(
            "cce",
            "NodePoolStatus",
            "cce::NodePoolStatus",
            through::<cce::NodePoolStatus>,
        ),
        entry(
            "modelarts",
            "NodePool",
            "modelarts::NodePool",
            through::<modelarts::NodePool>,
        ),
        entry(
            "modelarts",
            "PoolResource",
            "modelarts::Resources",
            through::<modelarts::Resources>,
        ),
        entry(
            "modelarts",
            "NodePoolStatus",
            "modelarts::NodePoolStatus",
            through::<modelarts::NodePoolStatus>,
        ),
        entry(
            "ens",
            "CreateClusterNodePoolRequest",
            "ens::CreateClusterNodePoolRequest",
            through::<ens::CreateClusterNodePoolRequest>,
        ),
        entry(
            "ens",
            "CreateClusterNodePoolResponseBody",
            "ens::CreateClusterNodePoolResponse",
            through::<ens::CreateClusterNodePoolResponse>,
        ),
        entry(
            "ens",
            "DescribeClusterNodePoolsRequest",
            "ens::DescribeClusterNodePoolsRequest",
            through::<ens::DescribeClusterNodePoolsRequest>,
        ),
        entry(
            "ens",
            "DescribeClusterNodePoolsResponseBody",
            "ens::DescribeClusterNodePoolsResponse",
            through::<ens::DescribeClusterNodePoolsResponse>,
        ),
        entry(
            "ens",
            "ScaleClusterNodePoolRequest",
            "ens::ScaleClusterNodePoolRequest",
            through::<ens::ScaleClusterNodePoolRequest>,
        ),
        entry(
            "ens",
            "ScaleClusterNodePoolResponseBody",
            "ens::RequestIdResponse",
            through::<ens::RequestIdResponse>,
        ),
        entry(
            "ens",
            "DeleteClusterNodesRequest",
            "ens::DeleteClusterNodesRequest",
            through::<ens::DeleteClusterNodesRequest>,
        ),
        entry(
            "ens",
            "DeleteClusterNodesResponseBody",
            "ens::RequestIdResponse",
            through::<ens::RequestIdResponse>,
        ),
        entry(
            "ens",
            "DescribeClusterNodesRequest",
            "ens::DescribeClusterNodesRequest",
            through::<ens::DescribeClusterNodesRequest>,
        ),
        entry(
            "ens",
            "DescribeClusterNodesResponseBody",
            "ens::DescribeClusterNodesResponse",
            through::<ens::DescribeClusterNodesResponse>,
        ),
        entry(
            "ens",
            "ModifyClusterNodePoolRequest",
            "ens::ModifyClusterNodePoolRequest",
            through::<ens::ModifyClusterNodePoolRequest>,
        ),
        entry(
            "ens",
            "ModifyClusterNodePoolResponseBody",
            "ens::RequestIdResponse",
            through::<ens::RequestIdResponse>,
        ),
        entry(
            "ens",
            "DeleteClusterNodePoolRequest",
            "ens::DeleteClusterNodePoolRequest",
            through::<ens::DeleteClusterNodePoolRequest>,
        ),
        entry(
            "ens",
            "DeleteClusterNodePoolResponseBody",
            "ens::RequestIdResponse",
            through::<ens::RequestIdResponse>,
        ),
    ]
}

/// One step of a field path: an object key, the first item of a list, or a map's sample key.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Key(String),
    Item,
    MapValue,
}

const MAP_KEY: &str = "key";

fn display(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) if key.contains('.') => write!(out, "[\"{key}\"]").unwrap(),
            Step::Key(key) if out.is_empty() => out.push_str(key),
            Step::Key(key) => write!(out, ".{key}").unwrap(),
            Step::Item => out.push_str("[]"),
            Step::MapValue => out.push_str("{}"),
        }
    }
    out
}

/// A seed path (`a.b[].c`, `a["key.with.dots"]`) as steps.
fn parse(path: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(quoted) = rest.strip_prefix("[\"") {
            let (key, after) = quoted.split_once("\"]").unwrap();
            steps.push(Step::Key(key.to_owned()));
            rest = after;
        } else if let Some(after) = rest.strip_prefix("[]") {
            steps.push(Step::Item);
            rest = after;
        } else {
            let rest_of_key = rest.strip_prefix('.').unwrap_or(rest);
            let end = rest_of_key.find(['.', '[']).unwrap_or(rest_of_key.len());
            steps.push(Step::Key(rest_of_key[..end].to_owned()));
            rest = &rest_of_key[end..];
        }
    }
    // `list[]` names the list itself.
    while steps.last() == Some(&Step::Item) {
        steps.pop();
    }
    steps
}

fn get<'v>(value: &'v Value, path: &[Step]) -> Option<&'v Value> {
    let mut at = value;
    for step in path {
        at = match step {
            Step::Key(key) => at.get(key)?,
            Step::Item => at.get(0)?,
            Step::MapValue => at.get(MAP_KEY)?,
        };
    }
    (!at.is_null()).then_some(at)
}

fn set(value: &mut Value, path: &[Step], to: Value) {
    let Some((last, parents)) = path.split_last() else {
        *value = to;
        return;
    };
    let mut at = value;
    for step in parents {
        at = match step {
            Step::Key(key) => {
                if !at.is_object() {
                    *at = json!({});
                }
                at.as_object_mut()
                    .unwrap()
                    .entry(key.clone())
                    .or_insert(json!({}))
            }
            Step::Item => {
                if !at.is_array() || at.as_array().unwrap().is_empty() {
                    *at = json!([{}]);
                }
                &mut at.as_array_mut().unwrap()[0]
            }
            Step::MapValue => at
                .as_object_mut()
                .unwrap()
                .entry(MAP_KEY)
                .or_insert(json!({})),
        };
    }
    match last {
        Step::Key(key) => {
            if !at.is_object() {
                *at = json!({});
            }
            at.as_object_mut().unwrap().insert(key.clone(), to);
        }
        Step::Item => *at = json!([to]),
        Step::MapValue => *at = json!({ MAP_KEY: to }),
    }
}

type Models = BTreeMap<String, Vec<(String, String)>>;

fn models_of(cloud: &Value) -> Models {
    cloud["models"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, fields)| {
            let fields = fields
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    (
                        f[0].as_str().unwrap().to_owned(),
                        f[1].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (name.clone(), fields)
        })
        .collect()
}

/// `list[T]` → (Item, T); `dict(str, T)` → (MapValue, T).
fn container(ty: &str) -> Option<(Step, &str)> {
    if let Some(inner) = ty.strip_prefix("list[").and_then(|t| t.strip_suffix(']')) {
        return Some((Step::Item, inner));
    }
    ty.strip_prefix("dict(str, ")
        .and_then(|t| t.strip_suffix(')'))
        .map(|inner| (Step::MapValue, inner))
}

/// A valid value of SDK type `ty`, every field of a model set.
fn sample(ty: &str, models: &Models, depth: usize) -> Value {
    if let Some((step, inner)) = container(ty) {
        let item = sample(inner, models, depth);
        return match step {
            Step::Item => json!([item]),
            _ => json!({ MAP_KEY: item }),
        };
    }
    match ty {
        "str" => json!("sample"),
        "int" => json!(7),
        "float" => json!(1.5),
        "bool" => json!(true),
        "object" => json!({"sample": "value"}),
        model if depth < 8 => Value::Object(
            models[model]
                .iter()
                .map(|(key, ty)| (key.clone(), sample(ty, models, depth + 1)))
                .collect(),
        ),
        _ => json!({}),
    }
}

/// A value no wire type that models a field of SDK type `ty` would accept.
fn wrong(ty: &str) -> Value {
    match ty {
        "str" | "int" | "float" | "bool" => json!({"wrong": [1]}),
        _ => json!("wrong"),
    }
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Kept {
    Modelled,
    PassedThrough,
    Dropped,
    Sent,
    NotSent,
    /// A seed field the SDK's model lacks, which the wire type keeps.
    SeedFieldHeld,
}

impl Kept {
    fn word(self) -> &'static str {
        match self {
            Kept::Modelled => "modelled",
            Kept::PassedThrough => "passed through",
            Kept::Dropped => "**dropped**",
            Kept::Sent => "sent",
            Kept::NotSent => "not sent (left unchanged)",
            Kept::SeedFieldHeld => "kept",
        }
    }
}

struct Row {
    path: Vec<Step>,
    ty: String,
    kept: Kept,
}

struct Probe<'a> {
    entry: &'a Entry,
    base: Value,
    written: Value,
}

impl Probe<'_> {
    fn kept(&self, path: &[Step], ty: &str) -> Kept {
        let present = get(&self.written, path).is_some();
        if self.entry.update {
            return if present { Kept::Sent } else { Kept::NotSent };
        }
        if !present {
            return Kept::Dropped;
        }
        let mut probe = self.base.clone();
        set(&mut probe, path, wrong(ty));
        match (self.entry.round_trip)(probe) {
            Err(_) => Kept::Modelled,
            Ok(_) => Kept::PassedThrough,
        }
    }

    /// Rows for the fields of `model` at `prefix`, descending into what the wire type models.
    fn walk(&self, model: &str, prefix: &[Step], models: &Models, rows: &mut Vec<Row>) {
        for (key, ty) in &models[model] {
            let mut path = prefix.to_vec();
            path.push(Step::Key(key.clone()));
            let kept = self.kept(&path, ty);
            rows.push(Row {
                path: path.clone(),
                ty: ty.clone(),
                kept,
            });
            if !matches!(kept, Kept::Modelled | Kept::Sent) || prefix.len() > 12 {
                continue;
            }
            let mut inner = ty.as_str();
            while let Some((step, element)) = container(inner) {
                path.push(step);
                inner = element;
            }
            if models.contains_key(inner) {
                self.walk(inner, &path, models, rows);
            }
        }
    }
}

fn sdk_type_cell(ty: &str) -> String {
    ty.replace('[', "\\[").replace(']', "\\]")
}

/// Where a seed path's verdict comes from.
#[derive(PartialEq)]
enum SeedVerdict {
    /// Its own row.
    Listed,
    /// A listed ancestor passed through or dropped whole.
    InsideListed,
    /// A field the SDK's model lacks, probed on its own.
    SeedOnly,
}

/// How the wire type treats a seed path: its row, what its nearest listed ancestor implies, or
/// (for a field the SDK lacks) a probe of its own.
fn seed_kept(probe: &Probe, rows: &[Row], path: &[Step]) -> (Kept, SeedVerdict) {
    if let Some(row) = rows.iter().find(|r| r.path == path) {
        return (row.kept, SeedVerdict::Listed);
    }
    for len in (1..path.len()).rev() {
        if let Some(row) = rows.iter().find(|r| r.path == path[..len]) {
            match row.kept {
                Kept::Modelled | Kept::Sent => break,
                kept => return (kept, SeedVerdict::InsideListed),
            }
        }
    }
    // The SDK does not say what it holds: kept if a value of some JSON type survives.
    let survives = |value: Value| {
        let mut base = probe.base.clone();
        set(&mut base, path, value);
        (probe.entry.round_trip)(base).is_ok_and(|written| get(&written, path).is_some())
    };
    let kept = if [
        json!("seed"),
        json!(7),
        json!({"seed": "value"}),
        json!([{}]),
    ]
    .into_iter()
    .any(survives)
    {
        Kept::SeedFieldHeld
    } else {
        Kept::Dropped
    };
    (kept, SeedVerdict::SeedOnly)
}

fn report() -> (String, Vec<String>) {
    let sdk = fixture("models.json");
    let seeds = fixture("seed-fields.json");
    let mut out = String::new();
    let mut dropped_seed_fields = Vec::new();
    out.push_str(HEADER);
    for entry in entries() {
        let models = models_of(&sdk[entry.cloud]);
        let base = sample(entry.model, &models, 0);
        let written = (entry.round_trip)(base.clone()).unwrap_or_else(|e| {
            panic!(
                "{} does not read a full {} {}: {e}",
                entry.wire, entry.cloud, entry.model
            )
        });
        let probe = Probe {
            entry: &entry,
            base,
            written,
        };
        let mut rows = Vec::new();
        probe.walk(entry.model, &[], &models, &mut rows);
        let seed_key = format!("{}/{}", entry.cloud, entry.model);
        let seed_paths: Vec<Vec<Step>> = seeds
            .get(&seed_key)
            .map(|s| {
                s["paths"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| parse(p.as_str().unwrap()))
                    .collect()
            })
            .unwrap_or_default();

        let sdk_name = match entry.cloud {
            "cce" => "huaweicloudsdkcce",
            "modelarts" => "huaweicloudsdkmodelarts",
            _ => "alibabacloud_ens20171110",
        };
        writeln!(
            out,
            "\n### {} `{}` → `{}`\n",
            cloud_title(entry.cloud),
            entry.model,
            entry.wire
        )
        .unwrap();
        let described = match seeds.get(&seed_key) {
            Some(s) => {
                let names: Vec<&str> = s["seeds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| n.as_str().unwrap())
                    .collect();
                format!("seed documents {}", names.join(", "))
            }
            None => "no seed document describes it".to_owned(),
        };
        writeln!(
            out,
            "SDK model `{sdk_name}.{}`; {described}.\n",
            entry.model
        )
        .unwrap();
        out.push_str("| field | SDK type | operator | in a seed |\n|---|---|---|---|\n");
        let counts = count(&rows);
        for row in &rows {
            let seeded = seed_paths.iter().any(|p| p == &row.path);
            writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                display(&row.path),
                sdk_type_cell(&row.ty),
                row.kept.word(),
                if seeded { "yes" } else { "" }
            )
            .unwrap();
        }
        let mut seed_only = Vec::new();
        for path in &seed_paths {
            let (kept, verdict) = seed_kept(&probe, &rows, path);
            if kept == Kept::Dropped {
                dropped_seed_fields.push(format!("{seed_key}: {}", display(path)));
            }
            if verdict == SeedVerdict::SeedOnly {
                seed_only.push((display(path), kept));
            }
        }
        writeln!(out, "\n{counts}").unwrap();
        if !seed_only.is_empty() {
            out.push_str("\nSeed fields the SDK's model lacks:\n\n");
            for (path, kept) in seed_only {
                writeln!(out, "- `{path}`: {}", kept.word()).unwrap();
            }
        }
    }
    (out, dropped_seed_fields)
}

fn count(rows: &[Row]) -> String {
    let mut by_kind: Vec<(Kept, usize)> = Vec::new();
    for row in rows {
        match by_kind.iter_mut().find(|(k, _)| *k == row.kept) {
            Some((_, n)) => *n += 1,
            None => by_kind.push((row.kept, 1)),
        }
    }
    let parts: Vec<String> = by_kind
        .iter()
        .map(|(k, n)| format!("{} {n}", k.word()))
        .collect();
    format!("Fields: {}.", parts.join(", "))
}

fn cloud_title(cloud: &str) -> &'static str {
    match cloud {
        "cce" => "CCE",
        "modelarts" => "ModelArts",
        _ => "ENS",
    }
}

const HEADER: &str = "# SDK field report

Generated by `tests/sdk_field_report.rs` (`NODEPOOL_UPDATE_FIELD_REPORT=1 cargo nextest run
--test sdk_field_report` rewrites it); CI fails when it is stale.

For each node-pool model of the clouds' official Python SDKs (versions pinned in
`tests/sdk/requirements.txt`), what the operator's wire types (crate `nodepool-wire`) do with
every field the SDK declares:

- **modelled**: a typed field of the wire type (a value of the wrong JSON type is refused);
- **passed through**: kept and written back unchanged without being interpreted (an opaque JSON
  value, or a key the wire type keeps in its catch-all map); what is inside is passed through too;
- **dropped**: lost when the wire type reads the answer;
- for `NodePoolSpecUpdate`, the update body: **sent** or **not sent** (absent from a CCE update
  means unchanged).

The fields are found by probing the wire types with a sample holding every SDK field, not from
a hand-kept list. \"In a seed\" marks the fields the seed documents (`tests/fixtures/sdk/seed-fields.json`)
describe; none of them may be dropped (the test fails). ModelArts `PoolResource` and
`NodePoolStatus` and CCE `NodePoolStatus` also appear inside their `NodePool`.

## Models
";

#[test]
fn the_field_report_is_current_and_drops_no_seed_field() {
    let (generated, dropped) = report();
    assert!(
        dropped.is_empty(),
        "the operator's wire types drop fields the seed documents describe:\n{}",
        dropped.join("\n")
    );
    if std::env::var_os("NODEPOOL_UPDATE_FIELD_REPORT").is_some() {
        std::fs::write(REPORT, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(REPORT).unwrap_or_default();
    assert!(
        committed == generated,
        "docs/sdk-field-report.md is stale: run \
         `NODEPOOL_UPDATE_FIELD_REPORT=1 cargo nextest run --test sdk_field_report`"
    );
}

/// How the wire type behind `entry` keeps `field` of a one-level SDK model with `fields`.
fn kept_by(wire: Entry, fields: &[(&str, &str)], field: &str) -> Kept {
    let mut models = Models::new();
    let fields = fields
        .iter()
        .map(|(k, t)| ((*k).to_owned(), (*t).to_owned()))
        .collect();
    models.insert(wire.model.to_owned(), fields);
    let base = sample(wire.model, &models, 0);
    let probe = Probe {
        written: (wire.round_trip)(base.clone()).unwrap(),
        entry: &wire,
        base,
    };
    let ty = &models[wire.model]
        .iter()
        .find(|(k, _)| k == field)
        .unwrap()
        .1;
    probe.kept(&[Step::Key(field.to_owned())], ty)
}

#[test]
fn probing_tells_modelled_passed_through_and_dropped_apart() {
    // cce::Taint models key and effect and has no catch-all map: another key is dropped.
    let taint = || entry("cce", "Taint", "cce::Taint", through::<cce::Taint>);
    let fields = [("key", "str"), ("effect", "str"), ("timeAdded", "str")];
    assert_eq!(kept_by(taint(), &fields, "key"), Kept::Modelled);
    assert_eq!(kept_by(taint(), &fields, "timeAdded"), Kept::Dropped);
    // cce::Volume keeps unknown keys in its catch-all map.
    let volume = || entry("cce", "Volume", "cce::Volume", through::<cce::Volume>);
    let fields = [("size", "int"), ("cluster_id", "str")];
    assert_eq!(kept_by(volume(), &fields, "size"), Kept::Modelled);
    assert_eq!(
        kept_by(volume(), &fields, "cluster_id"),
        Kept::PassedThrough
    );
}

#[test]
fn seed_paths_read_lists_and_dotted_keys() {
    assert_eq!(
        parse(r#"spec.dataVolumes[].size"#),
        [
            Step::Key("spec".into()),
            Step::Key("dataVolumes".into()),
            Step::Item,
            Step::Key("size".into())
        ]
    );
    let dotted = parse(r#"metadata.annotations["os.modelarts/order.id"]"#);
    assert_eq!(
        dotted.last(),
        Some(&Step::Key("os.modelarts/order.id".into()))
    );
    assert_eq!(
        display(&dotted),
        r#"metadata.annotations["os.modelarts/order.id"]"#
    );
    assert_eq!(
        parse("spec.taints[]"),
        [Step::Key("spec".into()), Step::Key("taints".into())]
    );
}
