//! The door to the clouds: one [`NodePoolProvider`] trait, implemented for Huawei CCE
//! ([`cce::CceProvider`]), Huawei ModelArts ([`modelarts::ModelArtsProvider`]) and Alibaba ENS
//! ([`ens::EnsProvider`]), returning provider-neutral [`ObservedPool`]s.
//!
//! Cross-cutting concerns sit underneath, shared by all implementations: request signing and
//! IAM tokens ([`huawei`], [`alibaba`]), per-account rate budgets ([`budget`]), bounded retries
//! with full-jitter backoff ([`retry`]), typed errors with a bounded category ([`error`]), and a
//! traced, counted HTTP path ([`transport`], [`metrics`]).

pub mod alibaba;
pub mod budget;
pub mod cce;
pub mod compared;
pub mod ens;
pub mod error;
pub mod huawei;
pub mod metrics;
pub mod modelarts;
pub mod retry;
pub mod transport;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use error::{CloudError, ErrorCategory};

/// The label that marks a cloud pool as owned by one NodePool (its uid), carried by the pool's
/// node labels (CCE `k8sTags`, ModelArts `labels`), so every node shows it too. A pool marked
/// by another NodePool is never adopted, changed or deleted. ENS pools have no labels.
pub const OWNER_LABEL: &str = "nodepool.io/owner";

/// The node-pool API a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CloudKind {
    Cce,
    #[serde(rename = "modelarts")]
    ModelArts,
    Ens,
}

impl CloudKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CloudKind::Cce => "cce",
            CloudKind::ModelArts => "modelarts",
            CloudKind::Ens => "ens",
        }
    }
}

/// One vocabulary for the state of a pool on any cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PoolPhase {
    /// Nodes are being created for a new pool.
    Creating,
    /// Nodes are being added or removed.
    Scaling,
    /// Settled: no node coming or going.
    Ready,
    /// The cloud has no capacity or quota for the requested nodes.
    SoldOut,
    /// The pool is being deleted.
    Deleting,
    /// The cloud reports the pool failed.
    Error,
}

/// Cloud-side autoscaling of a pool, as the cloud reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autoscaling {
    pub enabled: bool,
    pub min: Option<u32>,
    pub max: Option<u32>,
}

/// A pool as a cloud reports it, in neutral terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedPool {
    /// The cloud's id: CCE `metadata.uid`, ModelArts node-pool name, ENS `NodepoolId`.
    pub id: String,
    pub name: String,
    /// The node count the cloud aims at, when it says.
    pub desired: Option<u32>,
    /// Nodes that exist and are not being deleted.
    pub current: u32,
    /// Nodes ready to serve.
    pub ready: u32,
    pub creating: u32,
    pub deleting: u32,
    /// The cloud's own state word (CCE `phase`, ENS `State`; ModelArts has none and gets a
    /// summary of its buckets).
    pub raw_state: String,
    pub phase: PoolPhase,
    /// The cloud's condition or error messages, if any.
    pub messages: Vec<String>,
    pub autoscaling: Option<Autoscaling>,
    /// The uid of the NodePool the pool is marked as owned by ([`OWNER_LABEL`]), if any.
    pub owner: Option<String>,
    /// Last job or order id the cloud reported.
    pub job_id: Option<String>,
    /// The pool's settings as the cloud reports them, in its own types, for drift checks and
    /// updates.
    pub spec: CloudSpec,
}

/// A pool's settings in the cloud's own types. Read them through [`CloudSpec::settings`],
/// which also opens the [`CloudSpec::Kept`] form.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub enum CloudSpec {
    /// Not reported (an answer without the settings).
    #[default]
    Unknown,
    Cce(Box<nodepool_wire::cce::NodePoolSpec>),
    ModelArts(Box<nodepool_wire::modelarts::NodePoolSpec>),
    Ens(Box<EnsSettings>),
    /// The settings the operator compares ([`CloudSpec::compared_only`]) as compact JSON: the
    /// form the shared lists hold for each pool. The cloud's types carry every field of its
    /// API inline (a CCE pool spec is about 1.5 KB even when nearly empty, a one-label map a
    /// 0.5 KB tree node); the JSON of what is compared is a tenth of that, and is opened
    /// only when a pool is compared.
    Kept(Box<str>),
}

/// What ENS reports of a pool's settings.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EnsSettings {
    pub scaling_group: nodepool_wire::ens::ScalingGroup,
    pub kubernetes_config: Option<nodepool_wire::ens::KubernetesConfig>,
}

/// The pool the operator wants, in the cloud's own terms.
// One value per declared pool, never held in bulk: boxing the variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum PoolSpec {
    /// CCE `spec` (nodeTemplate, initialNodeCount, autoscaling, ...).
    Cce(nodepool_wire::cce::NodePoolSpec),
    /// ModelArts `spec` and `metadata.annotations`.
    ModelArts {
        spec: nodepool_wire::modelarts::NodePoolSpec,
        annotations: std::collections::BTreeMap<String, String>,
    },
    /// ENS scaling group and Kubernetes configuration.
    Ens {
        scaling_group: nodepool_wire::ens::ScalingGroup,
        kubernetes_config: Option<nodepool_wire::ens::KubernetesConfig>,
    },
}

/// A pool to create or converge to.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredPool {
    pub name: String,
    pub spec: PoolSpec,
}

/// Whether an update sets the node count or leaves it to the cloud (autoscaling).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CountUpdate {
    Set(u32),
    Keep,
}

/// What a delete call achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// Deletion started (with the cloud's job id when it gives one).
    Started { job_id: Option<String> },
    /// The pool did not exist (any more): success.
    AlreadyGone,
}

/// The only door to a cloud's node pools. `parent` is the CCE cluster id, the ModelArts
/// resource pool name or the ENS cluster id.
#[async_trait]
pub trait NodePoolProvider: Send + Sync {
    fn cloud(&self) -> CloudKind;

    /// Every pool of a parent in one logical call (batch observation).
    async fn list(&self, parent: &str) -> Result<Vec<ObservedPool>, CloudError>;

    /// The pool named `name`, if any (looked up before every create).
    async fn find(&self, parent: &str, name: &str) -> Result<Option<ObservedPool>, CloudError> {
        Ok(self
            .list(parent)
            .await?
            .into_iter()
            .find(|p| p.name == name))
    }

    /// One pool by cloud id; `None` when it does not exist.
    async fn get(&self, parent: &str, id: &str) -> Result<Option<ObservedPool>, CloudError>;

    async fn create(&self, parent: &str, desired: &DesiredPool)
    -> Result<ObservedPool, CloudError>;

    /// Converges mutable settings to `desired` and, with [`CountUpdate::Set`], the node count.
    async fn update(
        &self,
        parent: &str,
        observed: &ObservedPool,
        desired: &DesiredPool,
        count: CountUpdate,
    ) -> Result<(), CloudError>;

    async fn delete(&self, parent: &str, id: &str) -> Result<DeleteOutcome, CloudError>;

    /// Removes the ownership mark ([`OWNER_LABEL`]) and nothing else, so a pool left in place
    /// can be adopted again. Clouds without labels have nothing to remove.
    async fn unmark(&self, _parent: &str, _observed: &ObservedPool) -> Result<(), CloudError> {
        Ok(())
    }

    /// Mutable settings of `desired` that differ from `observed` (field paths). Keys the cloud
    /// adds on its own (such as CCE's pool label) are not drift.
    fn drift(&self, desired: &DesiredPool, observed: &ObservedPool) -> Vec<String>;
}

/// Converts a cloud count (signed in the APIs) to a node count.
pub(crate) fn count(value: Option<i64>) -> u32 {
    value.and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}
