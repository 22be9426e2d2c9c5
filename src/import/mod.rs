//! `nodepool-operator import`: NodePool manifests for the pools a cloud already runs, listed
//! through a CloudAccount, so that existing pools come under GitOps without writing each
//! manifest by hand. It only reads: one list call to the cloud, two reads from Kubernetes.

pub mod manifest;

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client};

use crate::api::{AccountProvider, CloudAccount};
use crate::controller::accounts::{AccountError, provider};
use crate::provider::retry::RetryPolicy;
use crate::provider::transport::{Timeouts, Transport};
use crate::provider::{CloudError, CloudKind};

pub use manifest::{Skipped, Target};

/// What to import.
#[derive(Debug, Clone)]
pub struct Request {
    /// `namespace/name` of the CloudAccount.
    pub account: String,
    /// A CCE or ENS cluster id.
    pub cluster: Option<String>,
    /// A ModelArts resource pool name.
    pub pool: Option<String>,
    pub observe_only: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("--account takes NAMESPACE/NAME, not {0:?}")]
    AccountRef(String),
    #[error("CloudAccount {0} not found")]
    AccountNotFound(String),
    #[error("Secret {0} (the CloudAccount's credentialsSecretRef) not found")]
    SecretNotFound(String),
    #[error("reading {what} from Kubernetes: {source}")]
    Kubernetes {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("{0}")]
    Parent(String),
    #[error("CloudAccount {account}: {source}")]
    Account {
        account: String,
        #[source]
        source: AccountError,
    },
    #[error("listing the pools of {parent}: {source}")]
    Cloud {
        parent: String,
        #[source]
        source: CloudError,
    },
}

/// The manifests of the pools found, and the pools left out with the reason.
#[derive(Debug)]
pub struct Imported {
    pub target: Target,
    pub manifests: Vec<crate::api::NodePool>,
    pub skipped: Vec<Skipped>,
}

/// Which cloud's pools a parent flag names for an account of `provider`.
fn cloud_of(
    provider: AccountProvider,
    request: &Request,
) -> Result<(CloudKind, String), ImportError> {
    match (provider, &request.cluster, &request.pool) {
        (AccountProvider::Huawei, Some(cluster), None) => Ok((CloudKind::Cce, cluster.clone())),
        (AccountProvider::Huawei, None, Some(pool)) => Ok((CloudKind::ModelArts, pool.clone())),
        (AccountProvider::Alibaba, Some(cluster), None) => Ok((CloudKind::Ens, cluster.clone())),
        (AccountProvider::Alibaba, None, Some(_)) => Err(ImportError::Parent(
            "an Alibaba account holds ENS clusters: name one with --cluster".into(),
        )),
        _ => Err(ImportError::Parent(
            "name exactly one parent: --cluster ID (a CCE or ENS cluster) or --pool NAME (a ModelArts resource pool)".into(),
        )),
    }
}

/// Lists the pools of the parent the request names and builds their manifests.
pub async fn import(client: Client, request: &Request) -> Result<Imported, ImportError> {
    let (namespace, name) = request
        .account
        .split_once('/')
        .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'))
        .ok_or_else(|| ImportError::AccountRef(request.account.clone()))?;
    let kubernetes = |what: String| move |source| ImportError::Kubernetes { what, source };
    let accounts: Api<CloudAccount> = Api::namespaced(client.clone(), namespace);
    let account = accounts
        .get_opt(name)
        .await
        .map_err(kubernetes(format!("CloudAccount {}", request.account)))?
        .ok_or_else(|| ImportError::AccountNotFound(request.account.clone()))?;
    let (cloud, parent) = cloud_of(account.spec.provider, request)?;
    let secret_name = &account.spec.credentials_secret_ref.name;
    let secrets: Api<Secret> = Api::namespaced(client, namespace);
    let secret = secrets
        .get_opt(secret_name)
        .await
        .map_err(kubernetes(format!("Secret {namespace}/{secret_name}")))?
        .ok_or_else(|| ImportError::SecretNotFound(format!("{namespace}/{secret_name}")))?;
    let account_error = |source| ImportError::Account {
        account: request.account.clone(),
        source,
    };
    let transport =
        Transport::new(Timeouts::default(), RetryPolicy::default()).map_err(|source| {
            ImportError::Cloud {
                parent: parent.clone(),
                source,
            }
        })?;
    let client = provider(&account, &secret, cloud, &transport).map_err(account_error)?;
    let pools = client
        .list(&parent)
        .await
        .map_err(|source| ImportError::Cloud {
            parent: format!("{} {parent}", cloud.as_str()),
            source,
        })?;
    let target = Target {
        namespace: namespace.to_owned(),
        account: name.to_owned(),
        cloud,
        parent,
        observe_only: request.observe_only,
    };
    let mut manifests = Vec::new();
    let mut skipped = Vec::new();
    for pool in &pools {
        match manifest::nodepool(&target, pool) {
            Ok(nodepool) => manifests.push(nodepool),
            Err(reason) => skipped.push(reason),
        }
    }
    manifests.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    Ok(Imported {
        target,
        manifests,
        skipped,
    })
}

/// The manifests as one YAML stream, headed by what they are and what was left out.
pub fn render(imported: &Imported) -> Result<String, serde_yaml::Error> {
    let target = &imported.target;
    let mut out = format!(
        "# NodePools for the pools of {} {}, through CloudAccount {}/{}: {} imported, {} left out.\n",
        target.cloud.as_str(),
        target.parent,
        target.namespace,
        target.account,
        imported.manifests.len(),
        imported.skipped.len()
    );
    out.push_str(if target.observe_only {
        "# observeOnly: applying them adopts each pool and reports it; nothing is changed in the cloud.\n"
    } else {
        "# Applying them adopts each pool as it is (the operator marks it as its own), then keeps it as declared.\n"
    });
    out.push_str("# deletionPolicy Orphan: deleting a NodePool leaves its pool; set Delete to let it go with the NodePool.\n");
    for skipped in &imported.skipped {
        out.push_str(&format!("# {skipped}\n"));
    }
    for nodepool in &imported.manifests {
        out.push_str("---\n");
        out.push_str(&manifest::to_yaml(nodepool)?);
    }
    Ok(out)
}
