//! From a CloudAccount and its Secret to the provider that talks to the cloud, rebuilt only
//! when either changes; and the account's `Ready` condition, written when it changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::{Api, Client, ResourceExt};
use serde_json::json;

use super::error::Error;
use crate::api::{AccountProvider, CloudAccount, SignatureVersionSpec, set_condition};
use crate::provider::alibaba::{AlibabaAccount, AlibabaSession, SignatureVersion};
use crate::provider::budget::Budget;
use crate::provider::cce::CceProvider;
use crate::provider::ens::EnsProvider;
use crate::provider::huawei::{HuaweiAccount, HuaweiCredentials, HuaweiSession};
use crate::provider::modelarts::ModelArtsProvider;
use crate::provider::transport::Transport;
use crate::provider::{CloudKind, NodePoolProvider};
use crate::signing::Secret as SecretValue;

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
    transport: Transport,
    cache: Mutex<HashMap<String, Cached>>,
    /// Last `Ready` state written per account, to write only on change.
    reported: Mutex<HashMap<String, (bool, String)>>,
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

fn endpoint(url: Option<&String>, default: String) -> Result<url::Url, Error> {
    let text = url.cloned().unwrap_or(default);
    text.parse()
        .map_err(|e| Error::Credentials(format!("endpoint {text:?} is not a URL: {e}")))
}

impl Accounts {
    pub fn new(transport: Transport) -> Self {
        Self {
            transport,
            cache: Mutex::new(HashMap::new()),
            reported: Mutex::new(HashMap::new()),
        }
    }

    /// The provider for `cloud` through the CloudAccount `name` in `namespace`.
    pub async fn resolve(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        cloud: CloudKind,
    ) -> Result<Resolved, Error> {
        let key = format!("{namespace}/{name}");
        let accounts: Api<CloudAccount> = Api::namespaced(client.clone(), namespace);
        let account = accounts
            .get_opt(name)
            .await?
            .ok_or_else(|| Error::AccountNotFound(key.clone()))?;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), namespace);
        let secret_name = &account.spec.credentials_secret_ref.name;
        let secret = secrets.get_opt(secret_name).await?.ok_or_else(|| {
            Error::Credentials(format!("Secret {namespace}/{secret_name} not found"))
        })?;
        let fingerprint = format!(
            "{}/{}",
            account.resource_version().unwrap_or_default(),
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
        let provider = self.build(&account, &secret, cloud)?;
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

    fn build(
        &self,
        account: &CloudAccount,
        secret: &Secret,
        cloud: CloudKind,
    ) -> Result<Arc<dyn NodePoolProvider>, Error> {
        let spec = &account.spec;
        let secret_name = secret.name_any();
        let need = |key: &str| {
            secret_value(secret, key)
                .ok_or_else(|| Error::Credentials(format!("Secret {secret_name} has no key {key}")))
        };
        let endpoints = spec.endpoints.clone().unwrap_or_default();
        let region = &spec.region;
        match (spec.provider, cloud) {
            (AccountProvider::Huawei, CloudKind::Cce | CloudKind::ModelArts) => {
                let credentials = if secret_value(secret, "accessKey").is_some() {
                    HuaweiCredentials::AccessKey {
                        access_key: need("accessKey")?,
                        secret_key: SecretValue::new(need("secretKey")?),
                    }
                } else {
                    HuaweiCredentials::Password {
                        user: need("username")?,
                        password: SecretValue::new(need("password")?),
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
                    project_id: spec.project_id.clone().ok_or_else(|| {
                        Error::Credentials("projectId is required for Huawei".into())
                    })?,
                    region: region.clone(),
                    iam_endpoint: endpoint(
                        endpoints.iam.as_ref(),
                        format!("https://iam.{region}.myhuaweicloud.com"),
                    )?,
                    budget,
                };
                let session = HuaweiSession::new(huawei, self.transport.clone());
                Ok(if cloud == CloudKind::Cce {
                    Arc::new(CceProvider::new(
                        session,
                        endpoint(
                            endpoints.cce.as_ref(),
                            format!("https://cce.{region}.myhuaweicloud.com"),
                        )?,
                    ))
                } else {
                    Arc::new(ModelArtsProvider::new(
                        session,
                        endpoint(
                            endpoints.modelarts.as_ref(),
                            format!("https://modelarts.{region}.myhuaweicloud.com"),
                        )?,
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
                    access_key_secret: SecretValue::new(need("accessKeySecret")?),
                    endpoint: endpoint(endpoints.ens.as_ref(), "https://ens.aliyuncs.com".into())?,
                    signature: match spec.signature_version.unwrap_or_default() {
                        SignatureVersionSpec::V3 => SignatureVersion::V3,
                        SignatureVersionSpec::V1 => SignatureVersion::V1,
                    },
                    write_budget,
                    read_budget,
                };
                Ok(Arc::new(EnsProvider::new(AlibabaSession::new(
                    alibaba,
                    self.transport.clone(),
                ))))
            }
            (provider, cloud) => Err(Error::InvalidSpec(format!(
                "CloudAccount {} is a {provider:?} account and cannot serve {} pools",
                account.name_any(),
                cloud.as_str()
            ))),
        }
    }

    /// Records on the CloudAccount whether its credentials work; writes only on change.
    pub async fn report(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        ok: bool,
        reason: &str,
        message: &str,
    ) {
        let key = format!("{namespace}/{name}");
        {
            let reported = self.reported.lock().unwrap_or_else(|e| e.into_inner());
            if reported.get(&key) == Some(&(ok, message.to_owned())) {
                return;
            }
        }
        let api: Api<CloudAccount> = Api::namespaced(client.clone(), namespace);
        let Ok(Some(account)) = api.get_opt(name).await else {
            return;
        };
        let mut conditions = account.status.clone().unwrap_or_default().conditions;
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        set_condition(
            &mut conditions,
            "Ready",
            ok,
            reason,
            message,
            account.metadata.generation,
            &now,
        );
        let patch = json!({"status": {"conditions": conditions, "observedGeneration": account.metadata.generation}});
        if api
            .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .is_ok()
        {
            self.reported
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, (ok, message.to_owned()));
        }
    }
}
