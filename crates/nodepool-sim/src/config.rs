//! Simulator configuration: accounts, parent clusters and resource pools, capacity, timing and
//! fault rules. Every field has a default, so `nodepool-sim` runs with no file at all and serves
//! the documented demo identities.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::faults::FaultRule;
use nodepool_wire::signing::Secret;

/// Demo Huawei access key served by a simulator started without configuration.
pub const DEMO_HUAWEI_ACCESS_KEY: &str = "SIMHUAWEIAK000000001";
/// Demo Huawei secret key.
pub const DEMO_HUAWEI_SECRET_KEY: &str = "sim-huawei-secret-key";
/// Demo Huawei project id.
pub const DEMO_HUAWEI_PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
/// Demo Huawei project name (IAM scopes a token by project name, which is the region name).
pub const DEMO_HUAWEI_PROJECT_NAME: &str = "cn-north-4";
/// Demo IAM user, password and domain.
pub const DEMO_IAM_USER: &str = "sim-user";
pub const DEMO_IAM_PASSWORD: &str = "sim-password";
pub const DEMO_IAM_DOMAIN: &str = "sim-domain";
/// Demo CCE cluster.
pub const DEMO_CCE_CLUSTER_ID: &str = "11111111-2222-3333-4444-555555555555";
/// Demo ModelArts resource pool.
pub const DEMO_MODELARTS_POOL: &str = "pool-sim-0000000000000000000000000001";
/// Demo Alibaba credentials.
pub const DEMO_ALIBABA_ACCESS_KEY_ID: &str = "LTAISIMULATOR0000000001";
pub const DEMO_ALIBABA_ACCESS_KEY_SECRET: &str = "sim-alibaba-secret";
/// Demo ENS cluster and its region.
pub const DEMO_ENS_CLUSTER_ID: &str = "eck-sim00001";
pub const DEMO_ENS_REGION: &str = "cn-guiyang-14";

/// The whole simulator configuration (`--config FILE`, YAML or JSON).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct SimConfig {
    pub huawei: Vec<HuaweiAccount>,
    pub alibaba: Vec<AlibabaAccount>,
    /// Node provisioning and deletion timing.
    pub timing: Timing,
    /// Maximum number of nodes per flavor / instance type across all clouds; flavors not
    /// listed are unlimited. Requests beyond it leave the pool `SoldOut`.
    pub capacity: BTreeMap<String, u32>,
    /// Lifetime of IAM tokens.
    #[serde(with = "humantime_secs")]
    pub token_lifetime: Duration,
    /// Alibaba per-user request limits.
    pub ens_limits: EnsLimits,
    /// How ModelArts renders its status buckets (`object` as the SDKs type them, or `array`
    /// as the resource-pool documents show them).
    pub modelarts_bucket_form: BucketForm,
    /// Maximum clock skew accepted on signed requests.
    #[serde(with = "humantime_secs")]
    pub max_clock_skew: Duration,
    /// Fault rules active from the start; more can be added at run time.
    pub faults: Vec<FaultRule>,
    /// Seed of the fault-injection random source (deterministic runs).
    pub fault_seed: u64,
    /// Store set-like lists (CCE taints and userTags, ModelArts taints and tags) in the reverse
    /// of the order they were sent, as a real cloud may list them in an order of its own.
    #[serde(default)]
    pub reorder_lists: bool,
    /// Fill in what a real cloud adds to an ENS pool's settings when they are left out: a
    /// data disk's category (`cloud_efficiency`), empty `PreUserData`/`UserData` scripts.
    #[serde(default)]
    pub fill_defaults: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            huawei: vec![HuaweiAccount::demo()],
            alibaba: vec![AlibabaAccount::demo()],
            timing: Timing::default(),
            capacity: BTreeMap::new(),
            token_lifetime: Duration::from_secs(24 * 3600),
            ens_limits: EnsLimits::default(),
            modelarts_bucket_form: BucketForm::Object,
            max_clock_skew: Duration::from_secs(15 * 60),
            faults: Vec::new(),
            fault_seed: 0,
            reorder_lists: false,
            fill_defaults: false,
        }
    }
}

impl SimConfig {
    /// Configuration with instant provisioning, for tests.
    pub fn instant() -> Self {
        Self {
            timing: Timing::instant(),
            ..Self::default()
        }
    }

    /// Parses a YAML (or JSON, a subset of YAML) configuration document.
    pub fn from_yaml(text: &str) -> Result<Self, serde_yaml::Error> {
        serde_yaml::from_str(text)
    }
}

/// A Huawei Cloud account: AK/SK, IAM users, projects and the parents that exist in them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HuaweiAccount {
    pub access_key: String,
    pub secret_key: Secret,
    /// IAM account (domain) name.
    pub domain: String,
    #[serde(default)]
    pub users: Vec<IamUser>,
    pub projects: Vec<HuaweiProject>,
}

impl HuaweiAccount {
    fn demo() -> Self {
        Self {
            access_key: DEMO_HUAWEI_ACCESS_KEY.into(),
            secret_key: Secret::from(DEMO_HUAWEI_SECRET_KEY),
            domain: DEMO_IAM_DOMAIN.into(),
            users: vec![IamUser {
                name: DEMO_IAM_USER.into(),
                password: Secret::from(DEMO_IAM_PASSWORD),
            }],
            projects: vec![HuaweiProject {
                id: DEMO_HUAWEI_PROJECT_ID.into(),
                name: DEMO_HUAWEI_PROJECT_NAME.into(),
                cce_clusters: vec![DEMO_CCE_CLUSTER_ID.into()],
                modelarts_pools: vec![DEMO_MODELARTS_POOL.into()],
            }],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IamUser {
    pub name: String,
    pub password: Secret,
}

/// A project (region scope) of a Huawei account.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HuaweiProject {
    pub id: String,
    /// The project name, which is the region name (`cn-north-4`).
    pub name: String,
    #[serde(default)]
    pub cce_clusters: Vec<String>,
    #[serde(default)]
    pub modelarts_pools: Vec<String>,
}

/// An Alibaba Cloud account and its ENS clusters.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlibabaAccount {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    #[serde(default)]
    pub ens_clusters: Vec<EnsCluster>,
}

impl AlibabaAccount {
    fn demo() -> Self {
        Self {
            access_key_id: DEMO_ALIBABA_ACCESS_KEY_ID.into(),
            access_key_secret: Secret::from(DEMO_ALIBABA_ACCESS_KEY_SECRET),
            ens_clusters: vec![EnsCluster {
                id: DEMO_ENS_CLUSTER_ID.into(),
                region: DEMO_ENS_REGION.into(),
            }],
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnsCluster {
    pub id: String,
    pub region: String,
}

/// How long nodes take to appear and to go away.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Timing {
    /// From request to ready.
    #[serde(with = "humantime_secs")]
    pub node_ready_after: Duration,
    /// From deletion start to gone.
    #[serde(with = "humantime_secs")]
    pub node_delete_after: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            node_ready_after: Duration::from_secs(2),
            node_delete_after: Duration::from_secs(1),
        }
    }
}

impl Timing {
    /// Nodes are ready and gone at once.
    pub fn instant() -> Self {
        Self {
            node_ready_after: Duration::ZERO,
            node_delete_after: Duration::ZERO,
        }
    }

    /// The real clouds' order of magnitude: about 8 minutes to create a node, 2 to delete it.
    pub fn realistic() -> Self {
        Self {
            node_ready_after: Duration::from_secs(8 * 60),
            node_delete_after: Duration::from_secs(2 * 60),
        }
    }
}

/// Alibaba per-user flow control, per rolling second.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct EnsLimits {
    pub writes_per_second: u32,
    pub reads_per_second: u32,
}

impl Default for EnsLimits {
    fn default() -> Self {
        Self {
            writes_per_second: 10,
            reads_per_second: 100,
        }
    }
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum BucketForm {
    Object,
    Array,
}

/// Durations in configuration files are written in (fractional) seconds.
mod humantime_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_demo_identities() {
        let config = SimConfig::from_yaml("{}").unwrap();
        assert_eq!(config.huawei[0].access_key, DEMO_HUAWEI_ACCESS_KEY);
        assert_eq!(config.alibaba[0].ens_clusters[0].id, DEMO_ENS_CLUSTER_ID);
        assert_eq!(config.timing.node_ready_after, Duration::from_secs(2));
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let err = SimConfig::from_yaml("timming: {}").unwrap_err().to_string();
        assert!(err.contains("timming"), "{err}");
    }

    #[test]
    fn file_overrides_timing_and_capacity() {
        let config = SimConfig::from_yaml(
            "timing: {nodeReadyAfter: 0.5, nodeDeleteAfter: 0}\ncapacity: {s6.large.2: 3}\n",
        )
        .unwrap();
        assert_eq!(config.timing.node_ready_after, Duration::from_millis(500));
        assert_eq!(config.capacity["s6.large.2"], 3);
    }
}
