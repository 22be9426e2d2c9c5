//! Reads and writes with the API server's semantics: resource versions, generation, the status
//! subresource, finalizers and deletion, optimistic concurrency, schema admission, patches.

use base64::Engine;
use serde_json::{Map, Value, json};

use super::registry::{ResourceType, crd_types, invalid_crd};
use super::schema;
use super::status::{ApiError, Cause};
use super::store::State;

/// Where an object lives.
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub resource: &'a ResourceType,
    pub namespace: &'a str,
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn name_of(object: &Value) -> String {
    object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The object as served under the requested version.
pub fn present(t: &ResourceType, object: &Value) -> Value {
    let mut object = object.clone();
    object["apiVersion"] = json!(t.api_version());
    object["kind"] = json!(t.kind);
    object
}

/// Everything but metadata and status: a change here moves `generation`.
fn spec_part(object: &Value) -> Value {
    let mut rest = object.as_object().cloned().unwrap_or_default();
    for key in ["metadata", "status", "apiVersion", "kind"] {
        rest.remove(key);
    }
    Value::Object(rest)
}

fn dns_subdomain(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn ensure_namespace(state: &State, target: &Target<'_>) -> Result<(), ApiError> {
    if !target.resource.namespaced {
        return Ok(());
    }
    let key = ("".to_owned(), "namespaces".to_owned());
    if state.get(&key, "", target.namespace).is_none() {
        return Err(ApiError::not_found("", "namespaces", target.namespace));
    }
    Ok(())
}

/// Type-specific preparation before validation (Secrets' `stringData`, CRD checks).
fn prepare(t: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    if t.group.is_empty() && t.plural == "secrets" {
        if let Some(string_data) = object.as_object_mut().and_then(|o| o.remove("stringData")) {
            let data = object["data"].as_object().cloned().unwrap_or_default();
            let mut data: Map<String, Value> = data;
            for (k, v) in string_data.as_object().into_iter().flatten() {
                let text = v.as_str().unwrap_or_default();
                data.insert(
                    k.clone(),
                    json!(base64::engine::general_purpose::STANDARD.encode(text)),
                );
            }
            object["data"] = Value::Object(data);
        }
        if object["type"].is_null() {
            object["type"] = json!("Opaque");
        }
    }
    if t.group.is_empty() && t.plural == "namespaces" {
        object["status"] = json!({"phase": if object["metadata"]["deletionTimestamp"].is_null() { "Active" } else { "Terminating" }});
    }
    if t.group == "apiextensions.k8s.io" {
        crd_types(object).map_err(|causes| invalid_crd(&name_of(object), &causes))?;
        let names = object["spec"]["names"].clone();
        object["status"] = json!({
            "acceptedNames": names,
            "storedVersions": object["spec"]["versions"].as_array().into_iter().flatten()
                .filter(|v| v["storage"] == true).map(|v| v["name"].clone()).collect::<Vec<_>>(),
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found", "lastTransitionTime": now()},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted", "lastTransitionTime": now()},
            ],
        });
    }
    Ok(())
}

/// Schema admission for custom resources.
fn admit(t: &ResourceType, object: Value, old: Option<&Value>) -> Result<Value, ApiError> {
    let Some(schema) = &t.schema else {
        return Ok(object);
    };
    let name = name_of(&object);
    schema::admit(schema, object, old)
        .map_err(|causes| ApiError::invalid(&t.group, &t.kind, &name, &causes))
}

/// Effects of writing a CRD: its types become served (or stop being served).
fn after_write(state: &mut State, t: &ResourceType, object: &Value) {
    if t.group == "apiextensions.k8s.io" {
        let _ = state.registry.register_crd(object);
    }
}

pub fn create(state: &mut State, target: &Target<'_>, body: Value) -> Result<Value, ApiError> {
    let t = target.resource;
    let mut object = body;
    if !object.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    if let (Some(""), Some(prefix)) = (
        object["metadata"]["name"].as_str().or(Some("")),
        object["metadata"]["generateName"].as_str(),
    ) {
        let suffix: String = uuid::Uuid::new_v4().simple().to_string()[..5].to_owned();
        object["metadata"]["name"] = json!(format!("{prefix}{suffix}"));
    }
    let name = name_of(&object);
    if !dns_subdomain(&name) {
        let cause = if name.is_empty() {
            Cause::new(
                "FieldValueRequired",
                "metadata.name",
                "Required value: name or generateName is required",
            )
        } else {
            Cause::new(
                "FieldValueInvalid",
                "metadata.name",
                format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            )
        };
        return Err(ApiError::invalid(&t.group, &t.kind, &name, &[cause]));
    }
    if let Some(ns) = object["metadata"]["namespace"].as_str()
        && t.namespaced
        && ns != target.namespace
    {
        return Err(ApiError::bad_request(format!(
            "the namespace of the provided object ({ns}) does not match the namespace sent on the request ({})",
            target.namespace
        )));
    }
    ensure_namespace(state, target)?;
    let key = t.store_key();
    let namespace = if t.namespaced { target.namespace } else { "" };
    if state.get(&key, namespace, &name).is_some() {
        return Err(ApiError::already_exists(&t.group, &t.plural, &name));
    }
    if t.status_subresource && t.custom {
        // Status is not set through the main resource.
        object.as_object_mut().map(|o| o.remove("status"));
    }
    prepare(t, &mut object)?;
    let mut object = admit(t, object, None)?;
    let metadata = &mut object["metadata"];
    if t.namespaced {
        metadata["namespace"] = json!(namespace);
    } else if let Some(m) = metadata.as_object_mut() {
        m.remove("namespace");
    }
    for server_field in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
        "managedFields",
    ] {
        metadata.as_object_mut().map(|m| m.remove(server_field));
    }
    metadata["uid"] = json!(uuid::Uuid::new_v4().to_string());
    metadata["creationTimestamp"] = json!(now());
    metadata["generation"] = json!(1);
    let rv = state.next_rv();
    object["metadata"]["resourceVersion"] = json!(rv.to_string());
    let object = present(t, &object);
    state
        .bucket(&key)
        .insert((namespace.to_owned(), name), object.clone());
    after_write(state, t, &object);
    state.record(key, "ADDED", object.clone());
    Ok(object)
}

fn check_rv(t: &ResourceType, name: &str, old: &Value, new: &Value) -> Result<(), ApiError> {
    match new["metadata"]["resourceVersion"]
        .as_str()
        .filter(|s| !s.is_empty())
    {
        Some(given) if Some(given) != old["metadata"]["resourceVersion"].as_str() => {
            Err(ApiError::conflict(
                &t.group,
                &t.plural,
                name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ))
        }
        Some(_) => Ok(()),
        None if t.unconditional_update => Ok(()),
        None => Err(ApiError::invalid(
            &t.group,
            &t.kind,
            name,
            &[Cause::new(
                "FieldValueInvalid",
                "metadata.resourceVersion",
                "Invalid value: 0x0: must be specified for an update",
            )],
        )),
    }
}

/// Replaces an object (`subresource` is `Some("status")` for the status subresource).
pub fn replace(
    state: &mut State,
    target: &Target<'_>,
    name: &str,
    body: Value,
    subresource: Option<&str>,
    require_rv_match: bool,
) -> Result<Value, ApiError> {
    let t = target.resource;
    let key = t.store_key();
    let namespace = if t.namespaced { target.namespace } else { "" };
    let old = state
        .get(&key, namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request must be a JSON object",
        ));
    }
    if let Some(body_name) = body["metadata"]["name"].as_str()
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({name})"
        )));
    }
    if require_rv_match {
        check_rv(t, name, &old, &body)?;
    }
    let status_write = subresource == Some("status");
    let mut object = if status_write {
        // Writes to /status change the status only.
        let mut merged = old.clone();
        merged["status"] = body["status"].clone();
        if body["status"].is_null() {
            merged.as_object_mut().map(|o| o.remove("status"));
        }
        merged
    } else {
        let mut merged = body.clone();
        if t.status_subresource {
            // Writes to the main resource leave the status alone.
            match old.get("status") {
                Some(status) => merged["status"] = status.clone(),
                None => {
                    merged.as_object_mut().map(|o| o.remove("status"));
                }
            }
        }
        merged
    };
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    // Server-owned metadata cannot be changed by clients.
    for field in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "name",
    ] {
        match old["metadata"].get(field) {
            Some(v) => object["metadata"][field] = v.clone(),
            None => {
                object["metadata"].as_object_mut().map(|m| m.remove(field));
            }
        }
    }
    if !old["metadata"]["deletionTimestamp"].is_null() {
        let before: Vec<&Value> = old["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .collect();
        let added: Vec<String> = object["metadata"]["finalizers"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|f| !before.contains(f))
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect();
        if !added.is_empty() {
            return Err(ApiError::invalid(
                &t.group,
                &t.kind,
                name,
                &[Cause::new(
                    "FieldValueForbidden",
                    "metadata.finalizers",
                    format!(
                        "Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers {added:?}"
                    ),
                )],
            ));
        }
    }
    prepare(t, &mut object)?;
    let mut object = admit(t, object, Some(&old))?;
    let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
    let changed_spec = spec_part(&object) != spec_part(&old);
    object["metadata"]["generation"] = json!(if changed_spec {
        generation + 1
    } else {
        generation
    });
    object["metadata"]
        .as_object_mut()
        .map(|m| m.remove("managedFields"));
    // A write that changes nothing keeps the resource version, as the API server does.
    let unchanged = {
        let mut a = object.clone();
        let mut b = old.clone();
        a["metadata"]["resourceVersion"] = Value::Null;
        b["metadata"]["resourceVersion"] = Value::Null;
        present(t, &a) == present(t, &b)
    };
    if unchanged {
        return Ok(present(t, &old));
    }
    let rv = state.next_rv();
    object["metadata"]["resourceVersion"] = json!(rv.to_string());
    let object = present(t, &object);
    let finalizers_left = object["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if !object["metadata"]["deletionTimestamp"].is_null() && !finalizers_left {
        state
            .bucket(&key)
            .remove(&(namespace.to_owned(), name.to_owned()));
        state.record(key, "DELETED", object.clone());
        after_delete(state, t, &object);
        return Ok(object);
    }
    state
        .bucket(&key)
        .insert((namespace.to_owned(), name.to_owned()), object.clone());
    after_write(state, t, &object);
    state.record(key, "MODIFIED", object.clone());
    Ok(object)
}

fn after_delete(state: &mut State, t: &ResourceType, object: &Value) {
    if t.group == "apiextensions.k8s.io" {
        let group = object["spec"]["group"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let plural = object["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        state.registry.unregister(&group, &plural);
        state.objects.remove(&(group, plural));
    }
}

/// The patch formats the emulator accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Json,
    /// Strategic merge patch: served as a merge patch for built-in types; refused for custom
    /// resources, as the API server does.
    Strategic,
    /// Server-side apply (subset: see the module docs).
    Apply {
        force: bool,
    },
}

pub fn patch(
    state: &mut State,
    target: &Target<'_>,
    name: &str,
    patch_type: PatchType,
    body: Value,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    let t = target.resource;
    let key = t.store_key();
    let namespace = if t.namespaced { target.namespace } else { "" };
    if patch_type == PatchType::Strategic && t.custom {
        return Err(ApiError::unsupported_media_type(
            "application/strategic-merge-patch+json",
        ));
    }
    let Some(old) = state.get(&key, namespace, name).cloned() else {
        if let PatchType::Apply { .. } = patch_type {
            let mut object = body;
            object["metadata"]["name"] = json!(name);
            return create(state, target, object);
        }
        return Err(ApiError::not_found(&t.group, &t.plural, name));
    };
    let mut patched = old.clone();
    match patch_type {
        PatchType::Merge | PatchType::Strategic | PatchType::Apply { .. } => {
            if !body.is_object() {
                return Err(ApiError::bad_request("the patch must be a JSON object"));
            }
            json_patch::merge(&mut patched, &body);
        }
        PatchType::Json => {
            let operations: json_patch::Patch = serde_json::from_value(body)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            for operation in operations.0 {
                // As in the API server, `test` of a missing path against null passes.
                if let json_patch::PatchOperation::Test(test) = &operation
                    && test.value.is_null()
                    && patched.pointer(test.path.as_str()).is_none()
                {
                    continue;
                }
                json_patch::patch(&mut patched, &[operation]).map_err(|e| {
                    ApiError::invalid(&t.group, &t.kind, name, &[Cause::new("FieldValueInvalid", "", format!("the server rejected our request due to an error in our request: {e}"))])
                })?;
            }
        }
    }
    // A patch carrying a resourceVersion is a precondition.
    let require = patched["metadata"]["resourceVersion"] != old["metadata"]["resourceVersion"];
    replace(state, target, name, patched, subresource, require)
}

/// Deletes, or marks for deletion while finalizers remain.
pub fn delete(
    state: &mut State,
    target: &Target<'_>,
    name: &str,
    options: &Value,
) -> Result<Value, ApiError> {
    let t = target.resource;
    let key = t.store_key();
    let namespace = if t.namespaced { target.namespace } else { "" };
    let old = state
        .get(&key, namespace, name)
        .cloned()
        .ok_or_else(|| ApiError::not_found(&t.group, &t.plural, name))?;
    let preconditions = &options["preconditions"];
    if let Some(rv) = preconditions["resourceVersion"].as_str()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(ApiError::conflict(
            &t.group,
            &t.plural,
            name,
            &format!(
                "the ResourceVersion in the precondition ({rv}) does not match the ResourceVersion in record"
            ),
        ));
    }
    if let Some(uid) = preconditions["uid"].as_str()
        && Some(uid) != old["metadata"]["uid"].as_str()
    {
        return Err(ApiError::conflict(
            &t.group,
            &t.plural,
            name,
            &format!("the UID in the precondition ({uid}) does not match the UID in record"),
        ));
    }
    let has_finalizers = old["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|f| !f.is_empty());
    if has_finalizers {
        if !old["metadata"]["deletionTimestamp"].is_null() {
            return Ok(old);
        }
        let mut object = old;
        object["metadata"]["deletionTimestamp"] = json!(now());
        object["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        let generation = object["metadata"]["generation"].as_i64().unwrap_or(1);
        object["metadata"]["generation"] = json!(generation + 1);
        if t.group.is_empty() && t.plural == "namespaces" {
            object["status"] = json!({"phase": "Terminating"});
        }
        let rv = state.next_rv();
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        state
            .bucket(&key)
            .insert((namespace.to_owned(), name.to_owned()), object.clone());
        state.record(key, "MODIFIED", object.clone());
        return Ok(object);
    }
    state
        .bucket(&key)
        .remove(&(namespace.to_owned(), name.to_owned()));
    let mut object = old;
    let rv = state.next_rv();
    object["metadata"]["resourceVersion"] = json!(rv.to_string());
    state.record(key, "DELETED", object.clone());
    after_delete(state, t, &object);
    Ok(object)
}
