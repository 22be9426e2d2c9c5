//! Request checks of the ENS simulator: the wire types decide which parameters are missing or
//! malformed, and the documented limits (disk sizes, instance types, counts) are enforced with
//! the cloud's error codes.

use super::*;
/// The wire types are the schema: parameters they cannot read are missing or malformed.
pub(super) fn check_shape(action: &str, params: &Params) -> Result<(), SimResponse> {
    let pairs: Vec<(String, String)> = params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let result = match action {
        "CreateClusterNodePool" => {
            wire::CreateClusterNodePoolRequest::from_params(&pairs).map(drop)
        }
        "DescribeClusterNodePools" => {
            wire::DescribeClusterNodePoolsRequest::from_params(&pairs).map(drop)
        }
        "ScaleClusterNodePool" => wire::ScaleClusterNodePoolRequest::from_params(&pairs).map(drop),
        "DeleteClusterNodes" => wire::DeleteClusterNodesRequest::from_params(&pairs).map(drop),
        "DescribeClusterNodes" => wire::DescribeClusterNodesRequest::from_params(&pairs).map(drop),
        "ModifyClusterNodePool" => {
            wire::ModifyClusterNodePoolRequest::from_params(&pairs).map(drop)
        }
        "DeleteClusterNodePool" => {
            wire::DeleteClusterNodePoolRequest::from_params(&pairs).map(drop)
        }
        _ => Ok(()),
    };
    result.map_err(|error| match error {
        EnsParamError::Missing(name) => missing(&name),
        EnsParamError::Malformed { name, reason } => invalid(&name, reason),
    })
}

pub(super) fn required<'a>(params: &'a Params, name: &str) -> Result<&'a str, SimResponse> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| missing(name))
}

pub(super) fn json_param(params: &Params, name: &str) -> Result<Option<Value>, SimResponse> {
    match params.get(name) {
        None => Ok(None),
        Some(raw) => match serde_json::from_str::<Value>(raw) {
            Ok(v @ Value::Object(_)) => Ok(Some(v)),
            Ok(_) => Err(invalid(name, "must be a JSON object")),
            Err(e) => Err(invalid(name, format!("not valid JSON: {e}"))),
        },
    }
}

pub(super) fn required_json(params: &Params, name: &str) -> Result<Value, SimResponse> {
    json_param(params, name)?.ok_or_else(|| missing(name))
}

pub(super) fn int_param(
    params: &Params,
    name: &str,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, SimResponse> {
    match params.get(name) {
        None => Ok(default),
        Some(raw) => match raw.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            _ => Err(invalid(
                name,
                format!("{raw:?} must be an integer in [{min}, {max}]"),
            )),
        },
    }
}

pub(super) fn disk_size(value: &Value, path: &str) -> Result<(), SimResponse> {
    if value.is_null() {
        return Ok(());
    }
    match value.as_u64() {
        Some(size) if size >= 20 && size % 10 == 0 => Ok(()),
        _ => Err(bad_request(format!(
            "{path} must be an integer of at least 20 and a multiple of 10, got {value}"
        ))),
    }
}

/// The `ScalingGroup` rules; `creating` also requires what a create needs.
pub(super) fn check_scaling_group(group: &Value, creating: bool) -> Result<(), SimResponse> {
    let non_empty_list = |key: &str| {
        group[key]
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(Value::is_string))
    };
    if creating {
        if group["ImageId"].as_str().is_none_or(|s| s.is_empty()) {
            return Err(bad_request("ScalingGroup.ImageId is required"));
        }
        for key in ["InstanceTypes", "VswitchIds"] {
            if !non_empty_list(key) {
                return Err(bad_request(format!(
                    "ScalingGroup.{key} must be a non-empty list of strings"
                )));
            }
        }
        if group["KeyPairName"].as_str().is_none_or(str::is_empty)
            && group["Password"].as_str().is_none_or(str::is_empty)
        {
            return Err(bad_request("ScalingGroup needs KeyPairName or Password"));
        }
    } else {
        for key in ["InstanceTypes", "VswitchIds"] {
            if !group[key].is_null() && !non_empty_list(key) {
                return Err(bad_request(format!(
                    "ScalingGroup.{key} must be a non-empty list of strings"
                )));
            }
        }
    }
    if let Some(t) = group.get("InstanceChargeType")
        && !matches!(t.as_str(), Some("PostPaid" | "PrePaid"))
    {
        return Err(bad_request(format!(
            "ScalingGroup.InstanceChargeType must be PostPaid or PrePaid, got {t}"
        )));
    }
    if let Some(c) = group.get("SystemDiskCategory")
        && !matches!(
            c.as_str(),
            Some("local_ssd" | "local_hdd" | "cloud_efficiency" | "cloud_ssd")
        )
    {
        return Err(bad_request(format!(
            "ScalingGroup.SystemDiskCategory must be one of local_ssd, local_hdd, cloud_efficiency, cloud_ssd, got {c}"
        )));
    }
    disk_size(&group["SystemDiskSize"], "ScalingGroup.SystemDiskSize")?;
    if let Some(disks) = group.get("DataDisks") {
        let disks = disks
            .as_array()
            .ok_or_else(|| bad_request("ScalingGroup.DataDisks must be a list"))?;
        for (i, disk) in disks.iter().enumerate() {
            disk_size(&disk["Size"], &format!("ScalingGroup.DataDisks[{i}].Size"))?;
        }
    }
    if let Some(size) = group.get("DesiredSize")
        && size.as_u64().is_none_or(|n| n > 1000)
    {
        return Err(bad_request(format!(
            "ScalingGroup.DesiredSize must be an integer in [0, 1000], got {size}"
        )));
    }
    Ok(())
}

pub(super) fn check_kubernetes_config(config: &Value) -> Result<(), SimResponse> {
    for key in ["PreUserData", "UserData"] {
        if let Some(v) = config.get(key) {
            let valid = v
                .as_str()
                .is_some_and(|s| base64::engine::general_purpose::STANDARD.decode(s).is_ok());
            if !valid {
                return Err(bad_request(format!(
                    "KubernetesConfig.{key} must be Base64"
                )));
            }
        }
    }
    Ok(())
}
