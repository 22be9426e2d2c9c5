//! The resource types the emulator serves: built-in ones (Namespaces, Secrets, Events, Leases,
//! CustomResourceDefinitions) and one per served version of every registered CRD.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::status::{ApiError, Cause};

#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    /// `""` for the core group.
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub status_subresource: bool,
    /// The version's `openAPIV3Schema` (custom resources only).
    pub schema: Option<Value>,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    /// The CRD version's `additionalPrinterColumns`.
    pub printer_columns: Vec<Value>,
    /// Built-ins accept updates without `resourceVersion`; custom resources do not.
    pub unconditional_update: bool,
    pub custom: bool,
}

impl ResourceType {
    fn builtin(group: &str, version: &str, plural: &str, kind: &str, namespaced: bool) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            plural: plural.into(),
            singular: kind.to_ascii_lowercase(),
            kind: kind.into(),
            namespaced,
            status_subresource: false,
            schema: None,
            short_names: Vec::new(),
            categories: Vec::new(),
            printer_columns: Vec::new(),
            unconditional_update: true,
            custom: false,
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Objects of all versions of a resource share one store.
    pub fn store_key(&self) -> (String, String) {
        (self.group.clone(), self.plural.clone())
    }

    /// The `APIResource` entries of discovery for this type.
    pub fn discovery(&self) -> Vec<Value> {
        let mut verbs = vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        verbs.sort_unstable();
        let mut entries = vec![json!({
            "name": self.plural,
            "singularName": self.singular,
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": verbs,
            "shortNames": self.short_names,
            "categories": self.categories,
        })];
        if self.status_subresource {
            entries.push(json!({
                "name": format!("{}/status", self.plural),
                "singularName": "",
                "namespaced": self.namespaced,
                "kind": self.kind,
                "verbs": ["get", "patch", "update"],
            }));
        }
        entries
    }
}

/// Every served (group, version, plural).
#[derive(Debug, Clone)]
pub struct Registry {
    types: BTreeMap<(String, String, String), ResourceType>,
}

impl Default for Registry {
    fn default() -> Self {
        let mut registry = Self {
            types: BTreeMap::new(),
        };
        let mut namespaces = ResourceType::builtin("", "v1", "namespaces", "Namespace", false);
        namespaces.short_names = vec!["ns".into()];
        namespaces.status_subresource = true;
        registry.insert(namespaces);
        registry.insert(ResourceType::builtin("", "v1", "secrets", "Secret", true));
        let mut events = ResourceType::builtin("", "v1", "events", "Event", true);
        events.short_names = vec!["ev".into()];
        registry.insert(events);
        let mut new_events = ResourceType::builtin("events.k8s.io", "v1", "events", "Event", true);
        new_events.short_names = vec!["ev".into()];
        registry.insert(new_events);
        registry.insert(ResourceType::builtin(
            "coordination.k8s.io",
            "v1",
            "leases",
            "Lease",
            true,
        ));
        let mut crds = ResourceType::builtin(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            false,
        );
        crds.short_names = vec!["crd".into(), "crds".into()];
        crds.status_subresource = true;
        registry.insert(crds);
        registry
    }
}

impl Registry {
    fn insert(&mut self, t: ResourceType) {
        self.types
            .insert((t.group.clone(), t.version.clone(), t.plural.clone()), t);
    }

    pub fn get(&self, group: &str, version: &str, plural: &str) -> Option<&ResourceType> {
        self.types
            .get(&(group.to_owned(), version.to_owned(), plural.to_owned()))
    }

    pub fn all(&self) -> impl Iterator<Item = &ResourceType> {
        self.types.values()
    }

    /// Served versions per group, in order.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for t in self.types.values() {
            let versions = groups.entry(t.group.clone()).or_default();
            if !versions.contains(&t.version) {
                versions.push(t.version.clone());
            }
        }
        groups
    }

    /// Registers (or re-registers) the served versions of a CRD.
    pub fn register_crd(&mut self, crd: &Value) -> Result<(), Vec<Cause>> {
        let types = crd_types(crd)?;
        let group = types.first().map(|t| t.group.clone()).unwrap_or_default();
        let plural = types.first().map(|t| t.plural.clone()).unwrap_or_default();
        self.unregister(&group, &plural);
        for t in types {
            self.insert(t);
        }
        Ok(())
    }

    pub fn unregister(&mut self, group: &str, plural: &str) {
        self.types
            .retain(|(g, _, p), t| !(t.custom && g == group && p == plural));
    }
}

/// The resource types a CRD declares, or why it is invalid.
pub fn crd_types(crd: &Value) -> Result<Vec<ResourceType>, Vec<Cause>> {
    let spec = &crd["spec"];
    let mut causes = Vec::new();
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let group = text(&spec["group"]);
    let names = &spec["names"];
    let plural = text(&names["plural"]);
    let kind = text(&names["kind"]);
    if group.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.group",
            "Required value",
        ));
    }
    if plural.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.names.plural",
            "Required value",
        ));
    }
    if kind.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.names.kind",
            "Required value",
        ));
    }
    let expected_name = format!("{plural}.{group}");
    let name = text(&crd["metadata"]["name"]);
    if !plural.is_empty() && !group.is_empty() && name != expected_name {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "metadata.name",
            format!("Invalid value: \"{name}\": must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    let scope = text(&spec["scope"]);
    if scope != "Namespaced" && scope != "Cluster" {
        causes.push(Cause::new(
            "FieldValueNotSupported",
            "spec.scope",
            format!(
                "Unsupported value: \"{scope}\": supported values: \"Cluster\", \"Namespaced\""
            ),
        ));
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push(Cause::new(
            "FieldValueRequired",
            "spec.versions",
            "Required value: must have exactly one version marked as storage version",
        ));
    }
    let storage = versions.iter().filter(|v| v["storage"] == true).count();
    if !versions.is_empty() && storage != 1 {
        causes.push(Cause::new(
            "FieldValueInvalid",
            "spec.versions",
            format!("Invalid value: must have exactly one version marked as storage version, status.storedVersions[0]: {storage} found"),
        ));
    }
    if !causes.is_empty() {
        return Err(causes);
    }
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    Ok(versions
        .iter()
        .filter(|v| v["served"] == true)
        .map(|v| ResourceType {
            group: group.clone(),
            version: text(&v["name"]),
            plural: plural.clone(),
            singular: names["singular"]
                .as_str()
                .map_or_else(|| kind.to_ascii_lowercase(), str::to_owned),
            kind: kind.clone(),
            namespaced: scope == "Namespaced",
            status_subresource: v["subresources"]["status"].is_object(),
            schema: v["schema"]["openAPIV3Schema"]
                .as_object()
                .map(|_| v["schema"]["openAPIV3Schema"].clone()),
            short_names: strings(&names["shortNames"]),
            categories: strings(&names["categories"]),
            printer_columns: v["additionalPrinterColumns"]
                .as_array()
                .cloned()
                .unwrap_or_default(),
            unconditional_update: false,
            custom: true,
        })
        .collect())
}

/// An error for a CRD object that cannot be served.
pub fn invalid_crd(name: &str, causes: &[Cause]) -> ApiError {
    ApiError::invalid(
        "apiextensions.k8s.io",
        "CustomResourceDefinition",
        name,
        causes,
    )
}
