//! CCE's documented rules for node-pool requests, answered with `CCE.01400001` and a message
//! naming the field.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

static POOL_NAME: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r"^[a-z]([a-z0-9-]{0,48}[a-z0-9])?$").ok());

/// A rule violation: the message names the field and the rule.
pub type Violation = String;

pub fn pool_name(name: &str) -> Result<(), Violation> {
    if name == "DefaultPool" {
        return Err(
            "metadata.name: DefaultPool is reserved for the cluster's default node pool".into(),
        );
    }
    let ok = POOL_NAME.as_ref().is_some_and(|re| re.is_match(name));
    if !ok {
        return Err(format!(
            "metadata.name: {name:?} is invalid: enter 1 to 50 characters, starting with a lowercase letter, \
             using lowercase letters, digits and hyphens, not ending with a hyphen"
        ));
    }
    Ok(())
}

fn int(v: &Value) -> Option<i64> {
    v.as_i64()
}

fn check_int_range(v: &Value, path: &str, min: i64, max: i64) -> Result<(), Violation> {
    if v.is_null() {
        return Ok(());
    }
    match int(v) {
        Some(n) if (min..=max).contains(&n) => Ok(()),
        Some(n) => Err(format!("{path}: {n} is out of range [{min}, {max}]")),
        None => Err(format!("{path}: must be an integer")),
    }
}

/// Rules on `spec.nodeTemplate` shared by create and update. `creating` also requires the
/// fields a create needs.
pub fn node_template(template: &Value, creating: bool) -> Result<(), Violation> {
    if creating {
        for field in ["flavor", "az"] {
            if template[field].as_str().is_none_or(|s| s.is_empty()) {
                return Err(format!("spec.nodeTemplate.{field}: required"));
            }
        }
        if !template["rootVolume"].is_object() {
            return Err("spec.nodeTemplate.rootVolume: required".into());
        }
    }
    check_int_range(
        &template["rootVolume"]["size"],
        "spec.nodeTemplate.rootVolume.size",
        40,
        1024,
    )?;
    if let Some(volumes) = template["dataVolumes"].as_array() {
        if volumes.len() > 16 {
            return Err(format!(
                "spec.nodeTemplate.dataVolumes: {} volumes, at most 16",
                volumes.len()
            ));
        }
        for (i, volume) in volumes.iter().enumerate() {
            check_int_range(
                &volume["size"],
                &format!("spec.nodeTemplate.dataVolumes[{i}].size"),
                100,
                32768,
            )?;
        }
    }
    if let Some(taints) = template["taints"].as_array() {
        if taints.len() > 20 {
            return Err(format!(
                "spec.nodeTemplate.taints: {} taints, at most 20",
                taints.len()
            ));
        }
        for (i, taint) in taints.iter().enumerate() {
            let effect = taint["effect"].as_str().unwrap_or_default();
            if !["NoSchedule", "PreferNoSchedule", "NoExecute"].contains(&effect) {
                return Err(format!(
                    "spec.nodeTemplate.taints[{i}].effect: {effect:?} is not one of NoSchedule, PreferNoSchedule, NoExecute"
                ));
            }
            if taint["key"].as_str().is_none_or(|k| k.is_empty()) {
                return Err(format!("spec.nodeTemplate.taints[{i}].key: required"));
            }
        }
    }
    if let Some(tags) = template["k8sTags"].as_object()
        && tags.len() > 20
    {
        return Err(format!(
            "spec.nodeTemplate.k8sTags: {} labels, at most 20",
            tags.len()
        ));
    }
    if let Some(tags) = template["userTags"].as_array() {
        if tags.len() > 8 {
            return Err(format!(
                "spec.nodeTemplate.userTags: {} tags, at most 8",
                tags.len()
            ));
        }
        for (i, tag) in tags.iter().enumerate() {
            let key = tag["key"].as_str().unwrap_or_default();
            if key.starts_with("CCE-") || key.starts_with("__type_baremetal") {
                return Err(format!(
                    "spec.nodeTemplate.userTags[{i}].key: {key:?} must not start with CCE- or __type_baremetal"
                ));
            }
        }
    }
    check_int_range(
        &template["extendParam"]["maxPods"],
        "spec.nodeTemplate.extendParam.maxPods",
        16,
        256,
    )?;
    check_int_range(
        &template["count"],
        "spec.nodeTemplate.count",
        0,
        i64::from(i32::MAX),
    )?;
    Ok(())
}

/// `0 <= minNodeCount <= maxNodeCount` when given.
pub fn autoscaling(autoscaling: &Value) -> Result<(), Violation> {
    if autoscaling.is_null() {
        return Ok(());
    }
    if !autoscaling.is_object() {
        return Err("spec.autoscaling: must be an object".into());
    }
    check_int_range(
        &autoscaling["minNodeCount"],
        "spec.autoscaling.minNodeCount",
        0,
        i64::from(i32::MAX),
    )?;
    check_int_range(
        &autoscaling["maxNodeCount"],
        "spec.autoscaling.maxNodeCount",
        0,
        i64::from(i32::MAX),
    )?;
    if let (Some(min), Some(max)) = (
        int(&autoscaling["minNodeCount"]),
        int(&autoscaling["maxNodeCount"]),
    ) && min > max
    {
        return Err(format!(
            "spec.autoscaling: minNodeCount {min} is greater than maxNodeCount {max}"
        ));
    }
    Ok(())
}

/// `spec.initialNodeCount`: a non-negative integer not above the cluster's node limit.
pub fn node_count(value: &Value, path: &str, max_nodes: u32) -> Result<Option<u32>, Violation> {
    if value.is_null() {
        return Ok(None);
    }
    check_int_range(value, path, 0, i64::from(max_nodes))?;
    Ok(int(value).and_then(|n| u32::try_from(n).ok()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pool_names_follow_the_documented_rule() {
        for good in ["a", "pool-1", "a0", &"a".repeat(50)] {
            assert!(pool_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "DefaultPool",
            "1pool",
            "pool-",
            "Pool",
            "pool_1",
            &"a".repeat(51),
        ] {
            assert!(pool_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn template_limits() {
        let ok = json!({"flavor": "s6.large.2", "az": "az1", "rootVolume": {"size": 40}});
        assert!(node_template(&ok, true).is_ok());
        let small_root = json!({"flavor": "f", "az": "a", "rootVolume": {"size": 39}});
        assert!(
            node_template(&small_root, true)
                .unwrap_err()
                .contains("rootVolume.size")
        );
        let bad_taint = json!({"taints": [{"key": "k", "effect": "Sometimes"}]});
        assert!(
            node_template(&bad_taint, false)
                .unwrap_err()
                .contains("effect")
        );
        let reserved = json!({"userTags": [{"key": "CCE-x", "value": "v"}]});
        assert!(node_template(&reserved, false).is_err());
        assert!(
            node_template(&json!({}), true)
                .unwrap_err()
                .contains("flavor")
        );
    }

    #[test]
    fn autoscaling_bounds() {
        assert!(
            autoscaling(&json!({"enable": true, "minNodeCount": 1, "maxNodeCount": 3})).is_ok()
        );
        assert!(autoscaling(&json!({"minNodeCount": 4, "maxNodeCount": 3})).is_err());
        assert!(autoscaling(&json!({"minNodeCount": -1})).is_err());
    }
}
