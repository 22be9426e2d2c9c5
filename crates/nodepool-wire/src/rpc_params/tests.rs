#![allow(clippy::unwrap_used)]

use std::fmt;

use super::*;
use crate::ens::{self, RpcRequest};

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn round_trip<R: RpcRequest + PartialEq + fmt::Debug>(request: R) {
    let params = request.to_params();
    assert_eq!(R::from_params(&params).unwrap(), request, "{params:?}");
}

fn group() -> ens::ScalingGroup {
    ens::ScalingGroup {
        image_id: Some("img-1".into()),
        instance_types: Some(vec!["ens.sn1.small".into()]),
        desired_size: Some(2),
        data_disks: Some(vec![ens::DataDisk {
            category: Some("cloud_efficiency".into()),
            size: Some(40),
            ..Default::default()
        }]),
        ..Default::default()
    }
}

fn info() -> ens::NodepoolInfo {
    ens::NodepoolInfo {
        name: Some("workers".into()),
        ens_region_id: Some("cn-hangzhou-44".into()),
        ..Default::default()
    }
}

#[test]
fn every_request_type_survives_a_round_trip() {
    round_trip(ens::CreateClusterNodePoolRequest {
        cluster_id: "eck-1".into(),
        nodepool_info: info(),
        scaling_group: group(),
        kubernetes_config: Some(ens::KubernetesConfig {
            user_data: Some("ZWNobw==".into()),
            ..Default::default()
        }),
    });
    round_trip(ens::DescribeClusterNodePoolsRequest {
        cluster_id: "eck-1".into(),
        page_number: Some(2),
        page_size: None,
    });
    round_trip(ens::ScaleClusterNodePoolRequest {
        cluster_id: "eck-1".into(),
        nodepool_id: "np-1".into(),
        count: 5,
    });
    round_trip(ens::DeleteClusterNodesRequest {
        cluster_id: "eck-1".into(),
        nodes: vec!["i-1".into(), "i-2".into()],
        release_node: Some(true),
    });
    round_trip(ens::DescribeClusterNodesRequest {
        cluster_id: "eck-1".into(),
        nodepool_id: Some(String::new()),
        page_number: Some(1),
        page_size: Some(100),
    });
    round_trip(ens::ModifyClusterNodePoolRequest {
        cluster_id: "eck-1".into(),
        nodepool_info: info(),
        scaling_group: Some(group()),
        kubernetes_config: None,
    });
    round_trip(ens::DeleteClusterNodePoolRequest {
        cluster_id: "eck-1".into(),
        nodepool_id: "np-1".into(),
    });
}

#[test]
fn nested_values_are_compact_json_in_field_order_and_none_is_left_out() {
    let request = ens::CreateClusterNodePoolRequest {
        cluster_id: "eck-1".into(),
        nodepool_info: info(),
        scaling_group: group(),
        kubernetes_config: None,
    };
    assert_eq!(
        request.to_params(),
        pairs(&[
            ("ClusterId", "eck-1"),
            (
                "NodepoolInfo",
                r#"{"Name":"workers","EnsRegionId":"cn-hangzhou-44"}"#
            ),
            (
                "ScalingGroup",
                r#"{"ImageId":"img-1","InstanceTypes":["ens.sn1.small"],"DesiredSize":2,"DataDisks":[{"Category":"cloud_efficiency","Size":40}]}"#
            ),
        ])
    );
    let delete = ens::DeleteClusterNodesRequest {
        cluster_id: "eck-1".into(),
        nodes: vec!["i-1".into()],
        release_node: Some(false),
    };
    assert_eq!(
        delete.to_params(),
        pairs(&[
            ("ClusterId", "eck-1"),
            ("Body", r#"{"Nodes":["i-1"]}"#),
            ("ReleaseNode", "false"),
        ])
    );
}

#[test]
fn unknown_parameters_are_ignored_and_the_first_of_a_repeated_name_counts() {
    let request = ens::DeleteClusterNodePoolRequest::from_params(&pairs(&[
        ("Action", "DeleteClusterNodePool"),
        ("NodepoolId", "np-1"),
        ("ClusterId", "eck-1"),
        ("ClusterId", "eck-2"),
    ]))
    .unwrap();
    assert_eq!(request.cluster_id, "eck-1");
    assert_eq!(request.nodepool_id, "np-1");
}

#[test]
fn a_missing_or_empty_required_parameter_is_named() {
    let missing = ens::DeleteClusterNodePoolRequest::from_params(&pairs(&[("ClusterId", "eck-1")]))
        .unwrap_err();
    assert_eq!(missing, EnsParamError::Missing("NodepoolId".into()));
    assert_eq!(missing.to_string(), "the parameter NodepoolId is required");
    let empty = ens::DeleteClusterNodePoolRequest::from_params(&pairs(&[
        ("ClusterId", ""),
        ("NodepoolId", "np-1"),
    ]))
    .unwrap_err();
    assert_eq!(empty, EnsParamError::Missing("ClusterId".into()));
    // Inside the JSON `Body`, a required part is named with its path.
    let count = ens::ScaleClusterNodePoolRequest::from_params(&pairs(&[
        ("ClusterId", "eck-1"),
        ("NodepoolId", "np-1"),
        ("Body", "{}"),
    ]))
    .unwrap_err();
    assert_eq!(count, EnsParamError::Missing("Body.Count".into()));
}

#[test]
fn a_non_number_and_a_non_boolean_are_malformed() {
    let number = ens::DescribeClusterNodePoolsRequest::from_params(&pairs(&[
        ("ClusterId", "eck-1"),
        ("PageSize", "ten"),
    ]))
    .unwrap_err();
    assert_eq!(
        number.to_string(),
        "the parameter PageSize is malformed: invalid digit found in string"
    );
    let boolean = ens::DeleteClusterNodesRequest::from_params(&pairs(&[
        ("ClusterId", "eck-1"),
        ("Body", r#"{"Nodes":[]}"#),
        ("ReleaseNode", "yes"),
    ]))
    .unwrap_err();
    assert_eq!(
        boolean.to_string(),
        r#"the parameter ReleaseNode is malformed: "yes" is not true or false"#
    );
}

#[test]
fn booleans_are_read_in_any_case_as_the_python_sdk_writes_them() {
    for (text, value) in [("True", true), ("false", false), ("FALSE", false)] {
        let request = ens::DeleteClusterNodesRequest::from_params(&pairs(&[
            ("ClusterId", "eck-1"),
            ("Body", r#"{"Nodes":["i-1"]}"#),
            ("ReleaseNode", text),
        ]))
        .unwrap();
        assert_eq!(request.release_node, Some(value), "{text}");
    }
}

#[test]
fn bad_json_is_malformed_with_serde_json_s_reason() {
    let error = ens::CreateClusterNodePoolRequest::from_params(&pairs(&[
        ("ClusterId", "eck-1"),
        ("NodepoolInfo", r#"{"Name":"a"} x"#),
        ("ScalingGroup", "{}"),
    ]))
    .unwrap_err();
    let reason = serde_json::from_str::<ens::NodepoolInfo>(r#"{"Name":"a"} x"#)
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        EnsParamError::Malformed {
            name: "NodepoolInfo".into(),
            reason
        }
    );
}

#[test]
fn a_body_that_cannot_be_read_is_reported_before_other_errors() {
    let unreadable = ens::ScaleClusterNodePoolRequest::from_params(&pairs(&[("Body", "{")]));
    assert!(
        matches!(unreadable, Err(EnsParamError::Malformed { ref name, .. }) if name == "Body"),
        "{unreadable:?}"
    );
    let absent = ens::DeleteClusterNodesRequest::from_params(&[]);
    assert_eq!(absent, Err(EnsParamError::Missing("Body".into())));
    // What must hold inside a readable body comes in field order.
    let partial = ens::ScaleClusterNodePoolRequest::from_params(&pairs(&[("Body", "{}")]));
    assert_eq!(partial, Err(EnsParamError::Missing("ClusterId".into())));
}

#[test]
fn only_structs_are_parameters() {
    assert!(to_params(&5).is_err());
    assert!(from_params::<i64>(&[]).is_err());
}

/// Floats are read exactly: without serde_json's exact float parsing, a number an unmodelled
/// field carries came back one ulp off (`-2.816015835310101e-199` read back as
/// `-2.8160158353101004e-199`), so a request was not the same after a trip through its
/// parameters.
#[test]
fn a_float_in_an_unmodelled_field_survives_the_round_trip() {
    let params = pairs(&[
        ("ClusterId", "eck-1"),
        (
            "NodepoolInfo",
            r#"{"Name":"a","k2":-2.816015835310101e-199}"#,
        ),
        (
            "ScalingGroup",
            r#"{"ImageId":"m-1","k2":-2.816015835310101e-199}"#,
        ),
    ]);
    let request = ens::CreateClusterNodePoolRequest::from_params(&params).unwrap();
    assert_eq!(
        request.nodepool_info.extra["k2"].as_f64(),
        Some(-2.816015835310101e-199)
    );
    round_trip(request);
}
