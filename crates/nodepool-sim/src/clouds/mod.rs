//! One module per simulated cloud API: its state, its handlers and its validation rules.

pub mod cce;
pub mod ens;
pub mod modelarts;

/// CCE's timestamp format (`2020-02-02 08:12:40.672772389 +0000 UTC`), not RFC 3339.
pub fn cce_timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC").to_string()
}

/// Reverses the set-like lists at `paths` (JSON pointers) of a stored pool, when the
/// simulator is configured to list them in an order of its own.
pub fn reorder_lists(config: &crate::SimConfig, body: &mut serde_json::Value, paths: &[&str]) {
    if !config.reorder_lists {
        return;
    }
    for path in paths {
        if let Some(serde_json::Value::Array(items)) = body.pointer_mut(path) {
            items.reverse();
        }
    }
}
