//! One module per simulated cloud API: its state, its handlers and its validation rules.

pub mod cce;
pub mod ens;
pub mod modelarts;

/// CCE's timestamp format (`2020-02-02 08:12:40.672772389 +0000 UTC`), not RFC 3339.
pub fn cce_timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.9f +0000 UTC").to_string()
}

/// Adds to ENS settings (a scaling group or a Kubernetes config) the defaults the cloud fills
/// in, when the simulator is configured to.
pub fn fill_ens_defaults(config: &crate::SimConfig, group: &mut serde_json::Value) {
    if !config.fill_defaults {
        return;
    }
    if let Some(disks) = group
        .get_mut("DataDisks")
        .and_then(serde_json::Value::as_array_mut)
    {
        for disk in disks
            .iter_mut()
            .filter_map(serde_json::Value::as_object_mut)
        {
            disk.entry("Category")
                .or_insert_with(|| serde_json::json!("cloud_efficiency"));
        }
    }
}

/// The same for a Kubernetes config: the scripts left out are answered empty.
pub fn fill_ens_config_defaults(config: &crate::SimConfig, kubernetes: &mut serde_json::Value) {
    if !config.fill_defaults {
        return;
    }
    if let Some(fields) = kubernetes.as_object_mut() {
        for key in ["PreUserData", "UserData"] {
            fields.entry(key).or_insert_with(|| serde_json::json!(""));
        }
    }
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
