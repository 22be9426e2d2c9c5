//! The change contract of every cloud field (rendered as `docs/fields.md`): each field of the
//! `cce`, `modelarts` and `ens` blocks says at the start of its description how it may change,
//! `[in place]`, `[new nodes only]` or `[immutable]`, so the class sits next to the field in
//! the Rust types and shows in `kubectl explain`. Read here from the generated schema.

use std::fmt::Write as _;

use kube::CustomResourceExt;
use serde_json::Value;

use super::NodePool;

/// How a change to a field reaches the cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Change {
    /// The operator's update call changes it on the live pool, nodes already running included.
    InPlace,
    /// The cloud keeps it for the nodes it creates later; running nodes keep the old value.
    NewNodesOnly,
    /// The cloud cannot change it: `kubectl apply` refuses the change.
    Immutable,
}

impl Change {
    pub const ALL: [Change; 3] = [Change::InPlace, Change::NewNodesOnly, Change::Immutable];

    /// The marker that starts the field's description.
    pub fn marker(self) -> &'static str {
        match self {
            Change::InPlace => "[in place]",
            Change::NewNodesOnly => "[new nodes only]",
            Change::Immutable => "[immutable]",
        }
    }

    pub fn word(self) -> &'static str {
        &self.marker()[1..self.marker().len() - 1]
    }
}

/// One field of a cloud block.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The path under `spec` (`cce.nodeTemplate.flavor`).
    pub path: String,
    pub change: Change,
    /// The description without its marker.
    pub description: String,
}

/// The cloud blocks of `spec`, with the cloud's name.
pub const BLOCKS: [(&str, &str); 3] = [
    ("cce", "Huawei Cloud CCE"),
    ("modelarts", "Huawei Cloud ModelArts"),
    ("ens", "Alibaba Cloud ENS"),
];

fn spec_schema() -> Value {
    let crd = serde_json::to_value(NodePool::crd()).unwrap_or_default();
    crd.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
        .cloned()
        .unwrap_or_default()
}

fn walk(schema: &Value, path: &str, fields: &mut Vec<Field>, unclassified: &mut Vec<String>) {
    let description = schema["description"].as_str().unwrap_or_default();
    if let Some(change) = Change::ALL
        .into_iter()
        .find(|c| description.starts_with(c.marker()))
    {
        fields.push(Field {
            path: path.to_owned(),
            change,
            description: description[change.marker().len()..].trim().to_owned(),
        });
        return;
    }
    if let Some(properties) = schema["properties"].as_object() {
        for (name, property) in properties {
            walk(property, &format!("{path}.{name}"), fields, unclassified);
        }
    } else {
        unclassified.push(path.to_owned());
    }
}

/// Every field of the three cloud blocks (and `poolName`), or the paths that carry no class.
pub fn contract() -> Result<Vec<Field>, Vec<String>> {
    let spec = spec_schema();
    let mut fields = Vec::new();
    let mut unclassified = Vec::new();
    walk(
        &spec["properties"]["poolName"],
        "poolName",
        &mut fields,
        &mut unclassified,
    );
    for (block, _) in BLOCKS {
        walk(
            &spec["properties"][block],
            block,
            &mut fields,
            &mut unclassified,
        );
    }
    if unclassified.is_empty() {
        Ok(fields)
    } else {
        Err(unclassified)
    }
}

const INTRODUCTION: &str = "# Field change contract

Generated from the NodePool schema by `nodepool-operator fields > docs/fields.md`; `tests/crds.rs`
fails when it is stale. The class of each field also starts its description in
`kubectl explain nodepool.spec`.

- **in place**: the operator's update call changes it on the live pool, the nodes already
  running included; an update carries only the fields that differ from what the cloud reports
  (plus CCE's `initialNodeCount` or `ignoreInitialNodeCount`, without which CCE empties the pool).
- **new nodes only**: the cloud takes the new value for the nodes it creates from then on; the
  nodes already running keep the old one (replace them, for example by scaling in and out, to
  roll it out).
- **immutable**: the cloud cannot change it, and `kubectl apply` refuses a change with a message
  that names the field: create a new NodePool with the new value, then delete the old one.
";

const SOURCES: &str = "## Where the sources leave room

- CCE labels (`k8sTags`), `taints` and `userTags` are in place because every update that
  changes them also sends `labelPolicyOnExistingNodes`, `taintPolicyOnExistingNodes` or
  `userTagsPolicyOnExistingNodes` set to `refresh` (the CCE SDK's `NodePoolSpecUpdate`: `refresh`
  updates the nodes already running, `ignore` leaves them, and no default is documented).
- CCE's update takes \"a subset of `nodeTemplate`\" that no source names; the operator changes
  labels, taints and user tags only, so every other template field is immutable here rather than
  sent and maybe ignored.
- ModelArts `taints`: ModelArts' \"Updating a Node Pool\" API document describes them as taints
  added to the nodes that are created (\"给创建出来的节点加taints\"), so they are new nodes only;
  labels and tags are in place, as that document's PATCH carries them. `azs`, `network`, `extendParams`, `os` and the billing
  annotations are not sent by updates: immutable.
- ENS `ModifyClusterNodePool` changes the pool's scaling-group template, which ENS uses for the
  instances it creates later (the Alibaba SDK documents no change to running instances), so its
  settings are new nodes only; `DesiredSize` changes through `ScaleClusterNodePool` and
  `DeleteClusterNodes`, in place. `InstanceChargeType` and `SystemDiskCategory` are not
  modifiable: immutable.
";

/// `docs/fields.md`.
pub fn markdown() -> Result<String, Vec<String>> {
    let fields = contract()?;
    let mut out = String::from(INTRODUCTION);
    let row = |out: &mut String, field: &Field| {
        let _ = writeln!(
            out,
            "| `{}` | {} | {} |",
            field.path,
            field.change.word(),
            field.description.replace('|', "\\|").replace('\n', " ")
        );
    };
    out.push_str("\n## The pool's name\n\n| field | change | what it is |\n|---|---|---|\n");
    for field in fields.iter().filter(|f| f.path == "poolName") {
        row(&mut out, field);
    }
    for (block, cloud) in BLOCKS {
        let _ = write!(
            out,
            "\n## {cloud} (`spec.{block}`)\n\n| field | change | what it is |\n|---|---|---|\n"
        );
        for field in fields
            .iter()
            .filter(|f| f.path.split('.').next() == Some(block))
        {
            row(&mut out, field);
        }
    }
    out.push_str("\n## Fields per class\n\n| cloud | in place | new nodes only | immutable |\n|---|---|---|---|\n");
    for (block, cloud) in BLOCKS {
        let names = |change: Change| {
            let names: Vec<String> = fields
                .iter()
                .filter(|f| f.change == change && f.path.split('.').next() == Some(block))
                .map(|f| format!("`{}`", &f.path[block.len() + 1..]))
                .collect();
            if names.is_empty() {
                "-".to_owned()
            } else {
                names.join(", ")
            }
        };
        let _ = writeln!(
            out,
            "| {cloud} | {} | {} | {} |",
            names(Change::InPlace),
            names(Change::NewNodesOnly),
            names(Change::Immutable)
        );
    }
    out.push('\n');
    out.push_str(SOURCES);
    Ok(out)
}
