//! The operator's API (group `nodepool.io`, version `v1alpha1`): [`NodePool`] declares one cloud
//! node pool, [`CloudAccount`] says how to reach a cloud account. The CRDs under `crds/` are
//! generated from these types (`nodepool-operator crds`), and the change contract of every cloud
//! field (`docs/fields.md`) from their descriptions ([`fields`]).

mod cloudaccount;
mod conditions;
pub mod fields;
mod nodepool;

pub use cloudaccount::{
    AccountProvider, CloudAccount, CloudAccountSpec, CloudAccountStatus, Endpoints, RateBudgetSpec,
    SecretRef, SignatureVersionSpec,
};
pub use conditions::{Condition, ConditionStatus, set_condition};
pub use nodepool::{
    AccountRef, CceAutoscaling, CceLogin, CceNodeTemplate, CcePoolSpec, CceTaint, CceUserTag,
    CceVolume, ChangePolicy, DeletionPolicy, EnsDataDisk, EnsKubernetesConfig, EnsPoolSpec,
    EnsScalingGroup, Labels, ModelArtsPoolSpec, ModelArtsResources, ModelArtsTaint, NodePool,
    NodePoolSpec, NodePoolStatus, Plan, PlannedChange, Refusal,
};

use kube::CustomResourceExt;

/// Annotation that releases a NodePool whose account or credentials are gone: deletion then
/// leaves the cloud pool as it is.
pub const FORCE_ORPHAN_ANNOTATION: &str = "nodepool.io/force-orphan";
/// Annotation that approves the plan of a `changePolicy: Manual` NodePool (its value: the
/// plan's hash).
pub const APPROVE_PLAN_ANNOTATION: &str = "nodepool.io/approve-plan";
/// Annotation that sends a plan the cloud refused too often once more (any value not used
/// before starts the count of refusals again).
pub const RETRY_ANNOTATION: &str = "nodepool.io/retry";
/// Finalizer guarding cloud resources.
pub const FINALIZER: &str = "nodepool.io/cleanup";

/// Both CRDs as a multi-document YAML stream.
pub fn crds_yaml() -> Result<String, serde_yaml::Error> {
    let mut out = String::new();
    for crd in [NodePool::crd(), CloudAccount::crd()] {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&crd)?);
    }
    Ok(out)
}

/// Helpers for schemas schemars cannot express.
pub(crate) mod schema {
    use schemars::{Schema, SchemaGenerator, json_schema};

    /// An object whose fields the API server keeps as sent (the cloud's own extension maps).
    pub fn preserve_object(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
    }
}
