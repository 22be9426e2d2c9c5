//! The structural-schema treatment the API server gives custom resources, in its order:
//! prune unknown fields, apply defaults, validate the OpenAPI constraints, then evaluate the CEL
//! `x-kubernetes-validations` (transition rules against the old object on updates).

use regex::Regex;
use serde_json::{Map, Value};

use super::status::Cause;

/// `metadata` fields the API server keeps (ObjectMeta); anything else is dropped.
const OBJECT_META: &[&str] = &[
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

thread_local! {
    // Building a validator registers every Kubernetes CEL function: do it once per thread.
    static CEL: kube::core::cel::Validator = kube::core::cel::Validator::new();
}

/// Prunes, defaults, validates and runs CEL; returns the stored form or the causes.
pub fn admit(schema: &Value, object: Value, old: Option<&Value>) -> Result<Value, Vec<Cause>> {
    let mut object = object;
    prune_root(schema, &mut object);
    let mut object = kube::core::cel::apply_defaults(schema, &object);
    // Defaults may not reintroduce pruned fields; prune again to be sure.
    prune_root(schema, &mut object);
    let mut causes = Vec::new();
    validate_root(schema, &object, &mut causes);
    if causes.is_empty()
        && let Err(errors) = CEL.with(|validator| validator.validate(schema, &object, old))
    {
        for error in errors.iter() {
            let reason = match error.reason.as_deref() {
                Some("FieldValueForbidden") => "FieldValueForbidden",
                Some("FieldValueRequired") => "FieldValueRequired",
                Some("FieldValueDuplicate") => "FieldValueDuplicate",
                _ => "FieldValueInvalid",
            };
            let field = if error.field_path.is_empty() {
                "<root>".to_owned()
            } else {
                error.field_path.clone()
            };
            let shown = describe_value(lookup(&object, &error.field_path));
            causes.push(Cause::new(
                reason,
                field,
                format!("Invalid value: \"{shown}\": {}", error.message),
            ));
        }
    }
    if causes.is_empty() {
        Ok(object)
    } else {
        Err(causes)
    }
}

fn lookup<'a>(value: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .filter(|s| !s.is_empty())
        .fold(value, |v, key| &v[key])
}

/// How the API server names a value's kind in messages (`"object"`, `"array"`, or the value).
fn describe_value(value: &Value) -> String {
    match value {
        Value::Object(_) => "object".into(),
        Value::Array(_) => "array".into(),
        Value::String(s) => s.clone(),
        Value::Null => "null".into(),
        other => other.to_string(),
    }
}

fn prune_root(schema: &Value, object: &mut Value) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let properties = schema["properties"].as_object();
    map.retain(|key, _| {
        matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
            || properties.is_some_and(|p| p.contains_key(key))
            || schema["x-kubernetes-preserve-unknown-fields"] == true
    });
    if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.retain(|key, _| OBJECT_META.contains(&key.as_str()));
    }
    for (key, value) in map.iter_mut() {
        if let Some(sub) = properties.and_then(|p| p.get(key))
            && !matches!(key.as_str(), "apiVersion" | "kind" | "metadata")
        {
            prune(sub, value);
        }
    }
}

/// Removes fields the schema does not declare, as the API server does.
pub fn prune(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if schema["x-kubernetes-embedded-resource"] == true {
                // apiVersion, kind and metadata of an embedded object are always kept.
            }
            let preserve = schema["x-kubernetes-preserve-unknown-fields"] == true;
            let properties = schema["properties"].as_object();
            let additional = &schema["additionalProperties"];
            if additional.is_object() {
                for v in map.values_mut() {
                    prune(additional, v);
                }
                return;
            }
            if additional == &Value::Bool(true) {
                return;
            }
            let embedded = schema["x-kubernetes-embedded-resource"] == true;
            map.retain(|key, _| {
                preserve
                    || properties.is_some_and(|p| p.contains_key(key))
                    || (embedded && matches!(key.as_str(), "apiVersion" | "kind" | "metadata"))
            });
            for (key, v) in map.iter_mut() {
                if let Some(sub) = properties.and_then(|p| p.get(key)) {
                    prune(sub, v);
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for item in items {
                prune(&schema["items"], item);
            }
        }
        _ => {}
    }
}

fn validate_root(schema: &Value, object: &Value, causes: &mut Vec<Cause>) {
    let Some(properties) = schema["properties"].as_object() else {
        return;
    };
    for (key, sub) in properties {
        if matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
            continue;
        }
        if let Some(value) = object.get(key) {
            validate(sub, value, key, causes)
        }
    }
    required(schema, object, "", causes);
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn required(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    let Some(map) = value.as_object() else { return };
    for name in schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        if !map.contains_key(name) {
            causes.push(Cause::new(
                "FieldValueRequired",
                join(path, name),
                "Required value",
            ));
        }
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(expected: &str, value: &Value) -> bool {
    match (expected, value) {
        ("number", Value::Number(_)) => true,
        (expected, value) => expected == type_name(value),
    }
}

/// Checks one value against its schema, appending causes in the API server's wording.
pub fn validate(schema: &Value, value: &Value, path: &str, causes: &mut Vec<Cause>) {
    let shown = describe_value(value);
    if value.is_null() {
        if schema["nullable"] != true && schema["type"].is_string() {
            let expected = schema["type"].as_str().unwrap_or_default();
            causes.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!(
                    "Invalid value: \"null\": {path} in body must be of type {expected}: \"null\""
                ),
            ));
        }
        return;
    }
    let int_or_string = schema["x-kubernetes-int-or-string"] == true;
    if int_or_string {
        if !(value.is_string() || type_name(value) == "integer") {
            causes.push(Cause::new(
                "FieldValueTypeInvalid",
                path,
                format!("Invalid value: \"{shown}\": {path} in body must be of type integer,string: \"{}\"", type_name(value)),
            ));
            return;
        }
    } else if let Some(expected) = schema["type"].as_str()
        && !type_matches(expected, value)
    {
        causes.push(Cause::new(
            "FieldValueTypeInvalid",
            path,
            format!(
                "Invalid value: \"{}\": {path} in body must be of type {expected}: \"{}\"",
                type_name(value),
                type_name(value)
            ),
        ));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        let list = allowed
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        causes.push(Cause::new(
            "FieldValueNotSupported",
            path,
            format!("Unsupported value: {value}: supported values: {list}"),
        ));
    }
    match value {
        Value::String(s) => validate_string(schema, s, path, causes),
        Value::Number(n) => validate_number(schema, n, value, path, causes),
        Value::Array(items) => validate_array(schema, items, path, causes),
        Value::Object(map) => validate_object(schema, map, value, path, causes),
        _ => {}
    }
    for (key, combine) in [("allOf", "all"), ("anyOf", "any"), ("oneOf", "one")] {
        let Some(options) = schema[key].as_array() else {
            continue;
        };
        let results: Vec<Vec<Cause>> = options
            .iter()
            .map(|option| {
                let mut found = Vec::new();
                validate(option, value, path, &mut found);
                required(option, value, path, &mut found);
                found
            })
            .collect();
        let passing = results.iter().filter(|r| r.is_empty()).count();
        match combine {
            "all" => causes.extend(results.into_iter().flatten()),
            "any" if passing == 0 => causes.push(Cause::new(
                "FieldValueInvalid",
                path,
                format!("Invalid value: \"{shown}\": {path} in body must match at least one schema (anyOf)"),
            )),
            "one" if passing != 1 => causes.push(Cause::new(
                "FieldValueInvalid",
                path,
                format!("Invalid value: \"{shown}\": {path} in body must match exactly one schema in oneOf"),
            )),
            _ => {}
        }
    }
    if schema["not"].is_object() {
        let mut found = Vec::new();
        validate(&schema["not"], value, path, &mut found);
        required(&schema["not"], value, path, &mut found);
        if found.is_empty() {
            causes.push(Cause::new(
                "FieldValueInvalid",
                path,
                format!(
                    "Invalid value: \"{shown}\": {path} in body should not match a forbidden schema"
                ),
            ));
        }
    }
}

fn validate_string(schema: &Value, s: &str, path: &str, causes: &mut Vec<Cause>) {
    let length = s.chars().count() as u64;
    if let Some(max) = schema["maxLength"].as_u64()
        && length > max
    {
        causes.push(Cause::new(
            "FieldValueTooLong",
            path,
            format!("Too long: may not be more than {max} bytes"),
        ));
    }
    if let Some(min) = schema["minLength"].as_u64()
        && length < min
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!("Invalid value: \"{s}\": {path} in body should be at least {min} chars long"),
        ));
    }
    if let Some(pattern) = schema["pattern"].as_str() {
        match Regex::new(pattern) {
            Ok(re) if !re.is_match(s) => causes.push(Cause::new(
                "FieldValueInvalid",
                path,
                format!("Invalid value: \"{s}\": {path} in body should match '{pattern}'"),
            )),
            Ok(_) => {}
            Err(_) => causes.push(Cause::new(
                "FieldValueInvalid",
                path,
                format!("the schema pattern '{pattern}' is not a valid regular expression"),
            )),
        }
    }
}

fn validate_number(
    schema: &Value,
    n: &serde_json::Number,
    value: &Value,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    let x = n.as_f64().unwrap_or(0.0);
    let exclusive_max = schema["exclusiveMaximum"] == true;
    let exclusive_min = schema["exclusiveMinimum"] == true;
    if let Some(max) = schema["maximum"].as_f64()
        && ((exclusive_max && x >= max) || x > max)
    {
        let word = if exclusive_max {
            "less than"
        } else {
            "less than or equal to"
        };
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {value}: {path} in body should be {word} {}",
                schema["maximum"]
            ),
        ));
    }
    if let Some(min) = schema["minimum"].as_f64()
        && ((exclusive_min && x <= min) || x < min)
    {
        let word = if exclusive_min {
            "greater than"
        } else {
            "greater than or equal to"
        };
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {value}: {path} in body should be {word} {}",
                schema["minimum"]
            ),
        ));
    }
    if let Some(step) = schema["multipleOf"].as_f64()
        && step > 0.0
        && (x / step).fract().abs() > f64::EPSILON
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {value}: {path} in body should be a multiple of {}",
                schema["multipleOf"]
            ),
        ));
    }
}

fn validate_array(schema: &Value, items: &[Value], path: &str, causes: &mut Vec<Cause>) {
    if let Some(max) = schema["maxItems"].as_u64()
        && items.len() as u64 > max
    {
        causes.push(Cause::new(
            "FieldValueTooMany",
            path,
            format!("Too many: {}: must have at most {max} items", items.len()),
        ));
    }
    if let Some(min) = schema["minItems"].as_u64()
        && (items.len() as u64) < min
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {path} in body should have at least {min} items",
                items.len()
            ),
        ));
    }
    if schema["x-kubernetes-list-type"] == "set" {
        for (i, item) in items.iter().enumerate() {
            if items[..i].contains(item) {
                causes.push(Cause::new(
                    "FieldValueDuplicate",
                    format!("{path}[{i}]"),
                    format!("Duplicate value: {item}"),
                ));
            }
        }
    }
    if schema["items"].is_object() {
        for (i, item) in items.iter().enumerate() {
            let item_path = format!("{path}[{i}]");
            validate(&schema["items"], item, &item_path, causes);
            required(&schema["items"], item, &item_path, causes);
        }
    }
}

fn validate_object(
    schema: &Value,
    map: &Map<String, Value>,
    value: &Value,
    path: &str,
    causes: &mut Vec<Cause>,
) {
    if let Some(max) = schema["maxProperties"].as_u64()
        && map.len() as u64 > max
    {
        causes.push(Cause::new(
            "FieldValueTooMany",
            path,
            format!("Too many: {}: must have at most {max} items", map.len()),
        ));
    }
    if let Some(min) = schema["minProperties"].as_u64()
        && (map.len() as u64) < min
    {
        causes.push(Cause::new(
            "FieldValueInvalid",
            path,
            format!(
                "Invalid value: {}: {path} in body should have at least {min} properties",
                map.len()
            ),
        ));
    }
    let properties = schema["properties"].as_object();
    for (key, v) in map {
        let sub = properties.and_then(|p| p.get(key)).or_else(|| {
            schema["additionalProperties"]
                .as_object()
                .map(|_| &schema["additionalProperties"])
        });
        if let Some(sub) = sub {
            validate(sub, v, &join(path, key), causes);
        }
    }
    required(schema, value, path, causes);
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
                "tags": {"type": "array", "maxItems": 2, "items": {"type": "string"}},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "opt": {"type": "string", "nullable": true}
            }},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}
        }})
    }

    #[test]
    fn prunes_unknown_fields_in_spec_status_and_metadata() {
        let object = json!({"apiVersion": "x/v1", "kind": "W", "metadata": {"name": "n", "bogus": 1},
            "spec": {"size": 2, "extra": true, "free": {"anything": {"goes": 1}}, "labels": {"a": "b"}},
            "status": {"ready": true, "unknown": 1}, "top": 1});
        let stored = admit(&schema(), object, None).unwrap();
        assert_eq!(
            stored["spec"],
            json!({"size": 2, "mode": "a", "free": {"anything": {"goes": 1}}, "labels": {"a": "b"}})
        );
        assert_eq!(stored["status"], json!({"ready": true}));
        assert!(stored.get("top").is_none());
        assert!(stored["metadata"].get("bogus").is_none());
    }

    #[test]
    fn constraint_violations_are_reported_like_the_api_server() {
        let object = json!({"spec": {"size": 11, "mode": "c", "name": "ABCDEFG", "tags": ["a", "b", "c"], "opt": null}});
        let causes = admit(&schema(), object, None).unwrap_err();
        let messages: Vec<String> = causes.iter().map(Cause::full).collect();
        assert!(messages.contains(&"spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10".to_owned()), "{messages:?}");
        assert!(
            messages.contains(
                &"spec.mode: Unsupported value: \"c\": supported values: \"a\", \"b\"".to_owned()
            ),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("spec.name: Too long")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.contains("should match '^[a-z]+$'")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("spec.tags: Too many: 3")),
            "{messages:?}"
        );
        let missing = admit(&schema(), json!({"spec": {}}), None).unwrap_err();
        assert_eq!(missing[0].full(), "spec.size: Required value");
        let typed = admit(&schema(), json!({"spec": {"size": "2"}}), None).unwrap_err();
        assert!(
            typed[0].full().contains("must be of type integer"),
            "{:?}",
            typed[0]
        );
    }
}
