//! From a CloudAccount and its Secret to the provider that talks to the cloud. Both are read
//! from the controller's caches (the Secret's data is fetched once per version); providers are
//! rebuilt only when the account's spec or the Secret changes, never on a status write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::{Api, Client, ResourceExt};

use super::filled::CachesFilled;
use crate::api::{AccountProvider, CloudAccount, CloudAccountSpec, SignatureVersionSpec};
use crate::provider::alibaba::{AlibabaAccount, AlibabaSession, SignatureVersion};
use crate::provider::budget::Budget;
use crate::provider::cce::CceProvider;
use crate::provider::ens::EnsProvider;
use crate::provider::huawei::{HuaweiAccount, HuaweiCredentials, HuaweiSession};
use crate::provider::modelarts::ModelArtsProvider;
use crate::provider::transport::Transport;
use crate::provider::{CloudKind, NodePoolProvider};
use nodepool_wire::signing::Secret as SecretValue;

/// How long a reconcile waits for the first list of CloudAccounts and Secrets.
const CACHE_WAIT: Duration = Duration::from_secs(30);

/// A resolved account.
#[derive(Clone)]
pub struct Resolved {
    pub provider: Arc<dyn NodePoolProvider>,
    /// Identifies the account for caches: `namespace/name`.
    pub key: String,
    pub poll_interval: Option<Duration>,
}

#[derive(Default)]
struct Cached {
    fingerprint: String,
    providers: HashMap<CloudKind, Arc<dyn NodePoolProvider>>,
}

pub struct Accounts {
    client: Client,
    transport: Transport,
    accounts: Store<DeserializeGuard<CloudAccount>>,
    secrets: Store<PartialObjectMeta<Secret>>,
    filled: CachesFilled,
    cache: Mutex<HashMap<String, Cached>>,
    /// Secret data by `namespace/name`, with the resourceVersion it was read at.
    secret_data: Mutex<HashMap<String, (String, Arc<Secret>)>>,
    /// Completes when shutdown begins.
    stopping: super::Stopping,
}

fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    let from_data = secret
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .and_then(|v| String::from_utf8(v.0.clone()).ok());
    from_data.or_else(|| {
        secret
            .string_data
            .as_ref()
            .and_then(|d| d.get(key))
            .cloned()
    })
}

/// Why a NodePool's CloudAccount cannot give it a cloud client.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("CloudAccount {account} not found")]
    NotFound { account: String },
    #[error("credentials: {message}")]
    Credentials { message: String },
    /// The account is for another cloud: only a change of either spec helps.
    #[error("invalid spec: {0}")]
    WrongCloud(String),
    /// The CloudAccount cannot be read by this operator (another schema): it waits for a fix.
    #[error("CloudAccount {account} cannot be read by this operator: {message}")]
    Malformed { account: String, message: String },
    #[error("kubernetes: {source}")]
    ReadSecret {
        #[source]
        source: kube::Error,
    },
    /// Shutdown began before the caches were filled (their watches are stopped): the
    /// reconcile ends without a verdict, and whoever leads next does it.
    #[error("the operator is shutting down")]
    Stopping,
}

impl AccountError {
    pub fn category(&self) -> &'static str {
        match self {
            AccountError::NotFound { .. } => "AccountNotFound",
            AccountError::Credentials { .. } => "CredentialsUnavailable",
            AccountError::WrongCloud(_) => "InvalidSpec",
            AccountError::ReadSecret { .. } => "KubernetesError",
            AccountError::Malformed { .. } => "MalformedObject",
            AccountError::Stopping => "ShuttingDown",
        }
    }

    pub fn waits_for_change(&self) -> bool {
        matches!(
            self,
            AccountError::WrongCloud(_) | AccountError::Malformed { .. }
        )
    }
}

fn endpoint(url: Option<&String>, default: String) -> Result<url::Url, AccountError> {
    let text = url.cloned().unwrap_or(default);
    text.parse().map_err(|e| AccountError::Credentials {
        message: format!("endpoint {text:?} is not a URL: {e}"),
    })
}

fn service_url(spec: &CloudAccountSpec, cloud: CloudKind) -> String {
    let endpoints = spec.endpoints.clone().unwrap_or_default();
    let region = &spec.region;
    match cloud {
        CloudKind::Cce => endpoints
            .cce
            .unwrap_or_else(|| format!("https://cce.{region}.myhuaweicloud.com")),
        CloudKind::ModelArts => endpoints
            .modelarts
            .unwrap_or_else(|| format!("https://modelarts.{region}.myhuaweicloud.com")),
        CloudKind::Ens => endpoints
            .ens
            .unwrap_or_else(|| "https://ens.aliyuncs.com".to_owned()),
    }
}

/// Where a pool's parent lives, the same for every CloudAccount that reaches the same cloud
/// project: the service endpoint and, for Huawei, the project. Two NodePools with the same
/// scope, parent and pool name declare the same cloud pool.
pub fn scope(spec: &CloudAccountSpec, cloud: CloudKind) -> String {
    let url = service_url(spec, cloud);
    let url = url.trim_end_matches('/');
    match cloud {
        CloudKind::Cce | CloudKind::ModelArts => format!(
            "{} {url} project {}",
            cloud.as_str(),
            spec.project_id.as_deref().unwrap_or_default()
        ),
        // ENS cluster ids are unique across accounts.
        CloudKind::Ens => format!("ens {url}"),
    }
}

impl Accounts {
    pub fn new(
        client: Client,
        transport: Transport,
        accounts: Store<DeserializeGuard<CloudAccount>>,
        secrets: Store<PartialObjectMeta<Secret>>,
        stopping: super::Stopping,
    ) -> Self {
        Self {
            client,
            transport,
            filled: CachesFilled::new(accounts.clone(), secrets.clone()),
            accounts,
            secrets,
            cache: Mutex::new(HashMap::new()),
            secret_data: Mutex::new(HashMap::new()),
            stopping,
        }
    }

    async fn ready(&self) -> Result<(), AccountError> {
        tokio::select! {
            filled = tokio::time::timeout(CACHE_WAIT, self.filled.wait()) => filled.map_err(|_| {
                AccountError::Credentials {
                    message:
                        "the CloudAccount and Secret caches are not filled yet (can the operator list them?)"
                            .into(),
                }
            }),
            () = self.stopping.clone() => Err(AccountError::Stopping),
        }
    }

    /// The CloudAccount `name` in `namespace`, from the cache.
    async fn account(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<DeserializeGuard<CloudAccount>>, AccountError> {
        self.ready().await?;
        self.accounts
            .get(&ObjectRef::new(name).within(namespace))
            .ok_or_else(|| AccountError::NotFound {
                account: format!("{namespace}/{name}"),
            })
    }

    /// The scope (see [`scope`]) of the cached CloudAccount for `cloud`, without waiting (for
    /// the ownership check of other NodePools).
    pub fn cached_scope(&self, namespace: &str, name: &str, cloud: CloudKind) -> Option<String> {
        let cached = self.accounts.get(&ObjectRef::new(name).within(namespace))?;
        cached.0.as_ref().ok().map(|a| scope(&a.spec, cloud))
    }

    /// The poll interval the cached CloudAccount sets, without waiting.
    pub fn cached_poll_interval(&self, namespace: &str, name: &str) -> Option<Duration> {
        let cached = self.accounts.get(&ObjectRef::new(name).within(namespace))?;
        let seconds = cached.0.as_ref().ok()?.spec.poll_interval_seconds?;
        Some(Duration::from_secs(u64::from(seconds)))
    }

    /// The Secret's data, read from the API once per resourceVersion the cache shows.
    async fn secret(&self, namespace: &str, name: &str) -> Result<Arc<Secret>, AccountError> {
        let missing = || AccountError::Credentials {
            message: format!("Secret {namespace}/{name} not found"),
        };
        let meta = self
            .secrets
            .get(&ObjectRef::new(name).within(namespace))
            .ok_or_else(missing)?;
        let version = meta.resource_version().unwrap_or_default();
        let key = format!("{namespace}/{name}");
        {
            let data = self.secret_data.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((seen, secret)) = data.get(&key)
                && *seen == version
            {
                return Ok(secret.clone());
            }
        }
        let api: Api<Secret> = Api::namespaced(self.client.clone(), namespace);
        let read = api
            .get_opt(name)
            .await
            .map_err(|source| AccountError::ReadSecret { source })?;
        let secret = Arc::new(read.ok_or_else(missing)?);
        let read_version = secret.resource_version().unwrap_or_default();
        self.secret_data
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, (read_version, secret.clone()));
        Ok(secret)
    }

    /// The provider for `cloud` through the CloudAccount `name` in `namespace`.
    pub async fn resolve(
        &self,
        namespace: &str,
        name: &str,
        cloud: CloudKind,
    ) -> Result<Resolved, AccountError> {
        let key = format!("{namespace}/{name}");
        let cached = self.account(namespace, name).await?;
        let account = cached
            .0
            .as_ref()
            .map_err(|invalid| AccountError::Malformed {
                account: key.clone(),
                message: invalid.error.clone(),
            })?;
        let secret_name = &account.spec.credentials_secret_ref.name;
        let secret = self.secret(namespace, secret_name).await?;
        // The spec (its generation, which status writes leave alone) and the Secret's version
        // decide the provider.
        let fingerprint = format!(
            "{}/{}/{}",
            account.uid().unwrap_or_default(),
            account.metadata.generation.unwrap_or_default(),
            secret.resource_version().unwrap_or_default()
        );
        let poll_interval = account
            .spec
            .poll_interval_seconds
            .map(|s| Duration::from_secs(u64::from(s)));
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(cached) = cache.get(&key).filter(|c| c.fingerprint == fingerprint)
                && let Some(provider) = cached.providers.get(&cloud)
            {
                return Ok(Resolved {
                    provider: provider.clone(),
                    key,
                    poll_interval,
                });
            }
        }
        let provider = provider(account, &secret, cloud, &self.transport)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let entry = cache.entry(key.clone()).or_default();
        if entry.fingerprint != fingerprint {
            *entry = Cached {
                fingerprint,
                providers: HashMap::new(),
            };
        }
        entry.providers.insert(cloud, provider.clone());
        Ok(Resolved {
            provider,
            key,
            poll_interval,
        })
    }
}

/// The client for `cloud` through `account`, signed with the credentials in `secret`.
pub fn provider(
    account: &CloudAccount,
    secret: &Secret,
    cloud: CloudKind,
    transport: &Transport,
) -> Result<Arc<dyn NodePoolProvider>, AccountError> {
    let spec = &account.spec;
    let secret_name = secret.name_any();
    let need = |key: &str| {
        secret_value(secret, key).ok_or_else(|| AccountError::Credentials {
            message: format!("Secret {secret_name} has no key {key}"),
        })
    };
    let endpoints = spec.endpoints.clone().unwrap_or_default();
    let region = &spec.region;
    match (spec.provider, cloud) {
        (AccountProvider::Huawei, CloudKind::Cce | CloudKind::ModelArts) => {
            let credentials = if secret_value(secret, "accessKey").is_some() {
                HuaweiCredentials::AccessKey {
                    access_key: need("accessKey")?,
                    secret_key: SecretValue::from(need("secretKey")?),
                }
            } else {
                HuaweiCredentials::Password {
                    user: need("username")?,
                    password: SecretValue::from(need("password")?),
                    domain: need("domain")?,
                }
            };
            let budget = spec
                .rate_budget
                .as_ref()
                .map(|b| Budget {
                    per_second: b.requests_per_second,
                    burst: b.burst,
                })
                .unwrap_or(Budget::HUAWEI_DEFAULT);
            let huawei = HuaweiAccount {
                credentials,
                project_id: spec
                    .project_id
                    .clone()
                    .ok_or_else(|| AccountError::Credentials {
                        message: "projectId is required for Huawei".into(),
                    })?,
                region: region.clone(),
                iam_endpoint: endpoint(
                    endpoints.iam.as_ref(),
                    format!("https://iam.{region}.myhuaweicloud.com"),
                )?,
                budget,
            };
            let session = HuaweiSession::new(huawei, transport.clone());
            Ok(if cloud == CloudKind::Cce {
                Arc::new(CceProvider::new(
                    session,
                    endpoint(None, service_url(spec, cloud))?,
                ))
            } else {
                Arc::new(ModelArtsProvider::new(
                    session,
                    endpoint(None, service_url(spec, cloud))?,
                ))
            })
        }
        (AccountProvider::Alibaba, CloudKind::Ens) => {
            let (write_budget, read_budget) = match &spec.rate_budget {
                Some(b) => (
                    Budget {
                        per_second: b.requests_per_second,
                        burst: b.burst,
                    },
                    Budget {
                        per_second: b.requests_per_second * 10.0,
                        burst: b.burst.saturating_mul(10),
                    },
                ),
                None => (Budget::ENS_WRITES, Budget::ENS_READS),
            };
            let alibaba = AlibabaAccount {
                access_key_id: need("accessKeyId")?,
                access_key_secret: SecretValue::from(need("accessKeySecret")?),
                endpoint: endpoint(None, service_url(spec, cloud))?,
                signature: match spec.signature_version.unwrap_or_default() {
                    SignatureVersionSpec::V3 => SignatureVersion::V3,
                    SignatureVersionSpec::V1 => SignatureVersion::V1,
                },
                write_budget,
                read_budget,
            };
            Ok(Arc::new(EnsProvider::new(AlibabaSession::new(
                alibaba,
                transport.clone(),
            ))))
        }
        (provider, cloud) => Err(AccountError::WrongCloud(format!(
            "CloudAccount {} is a {provider:?} account and cannot serve {} pools",
            account.name_any(),
            cloud.as_str()
        ))),
    }
}
