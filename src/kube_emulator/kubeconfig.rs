//! A kubeconfig that points `kubectl` and kube-rs at the emulator.

use serde_json::json;

/// The kubeconfig text for a server at `url` (plain HTTP, any token accepted).
pub fn kubeconfig(url: &str) -> String {
    let config = json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "emulator", "cluster": {"server": url}}],
        "users": [{"name": "emulator", "user": {"token": "emulator"}}],
        "contexts": [{"name": "emulator", "context": {"cluster": "emulator", "user": "emulator", "namespace": "default"}}],
        "current-context": "emulator",
    });
    serde_yaml::to_string(&config).unwrap_or_default()
}
