//! The JSONPath subset CRD printer columns use: `.a.b`, `.a[0]`, and a filter
//! `.a[?(@.key=="value")].b` selecting the first matching list item.

use serde_json::Value;

/// The value at `path`, or `Null` when nothing matches.
pub fn lookup(root: &Value, path: &str) -> Value {
    let mut current = root.clone();
    let mut rest = path.trim().trim_start_matches('.');
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let Some(end) = after.find(']') else {
                return Value::Null;
            };
            let inner = &after[..end];
            current = if let Some(filter) =
                inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')'))
            {
                let Some((key, expected)) = filter.split_once("==") else {
                    return Value::Null;
                };
                let expected = expected.trim().trim_matches('"').trim_matches('\'');
                current
                    .as_array()
                    .and_then(|items| {
                        items
                            .iter()
                            .find(|item| item[key.trim()].as_str() == Some(expected))
                    })
                    .cloned()
                    .unwrap_or(Value::Null)
            } else {
                match inner.parse::<usize>() {
                    Ok(index) => current.get(index).cloned().unwrap_or(Value::Null),
                    Err(_) => return Value::Null,
                }
            };
            rest = after[end + 1..].trim_start_matches('.');
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            current = current.get(&rest[..end]).cloned().unwrap_or(Value::Null);
            rest = rest[end..].trim_start_matches('.');
        }
    }
    current
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn printer_column_paths() {
        let object = json!({"spec": {"size": 3, "tags": ["a", "b"]},
            "status": {"conditions": [{"type": "Synced", "status": "False"}, {"type": "Ready", "status": "True"}]}});
        assert_eq!(lookup(&object, ".spec.size"), json!(3));
        assert_eq!(lookup(&object, ".spec.tags[1]"), json!("b"));
        assert_eq!(
            lookup(&object, r#".status.conditions[?(@.type=="Ready")].status"#),
            json!("True")
        );
        assert_eq!(
            lookup(&object, r#".status.conditions[?(@.type=="Gone")].status"#),
            Value::Null
        );
        assert_eq!(lookup(&object, ".status.missing"), Value::Null);
    }
}
