//! Huawei Cloud request plumbing shared by the CCE and ModelArts clients: AK/SK signing or IAM
//! token mode (password login for a project-scoped token, cached, refreshed well before expiry
//! and at once on `APIG.0307`), URLs, JSON answers, and the parsing of Huawei error bodies.

use crate::provider::metrics::Operation;
use nodepool_wire::signing::ExposeSecret;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, HeaderValue, Method};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::budget::Budget;
use super::error::CloudError;
use super::transport::{CallInfo, HttpRequest, HttpResponse, Transport};
use nodepool_wire::signing::{Secret, huawei as signer};

/// How a Huawei account authenticates.
#[derive(Debug, Clone)]
pub enum HuaweiCredentials {
    /// AK/SK: every request is signed.
    AccessKey {
        access_key: String,
        secret_key: Secret,
    },
    /// IAM user: a project-scoped token is obtained by password login.
    Password {
        user: String,
        password: Secret,
        domain: String,
    },
}

/// A Huawei account as the clients need it.
#[derive(Debug, Clone)]
pub struct HuaweiAccount {
    pub credentials: HuaweiCredentials,
    pub project_id: String,
    /// The region (IAM scopes tokens by project name, which is the region name).
    pub region: String,
    /// IAM endpoint, e.g. `https://iam.cn-north-4.myhuaweicloud.com`.
    pub iam_endpoint: url::Url,
    pub budget: Budget,
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: Secret,
    issued_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

impl CachedToken {
    /// Refresh when less than a tenth of the lifetime, capped at one hour, is left: a 24 h
    /// token is renewed after 23 h.
    fn fresh(&self, now: DateTime<Utc>) -> bool {
        let lifetime = self.expires_at - self.issued_at;
        let margin = (lifetime / 10).min(chrono::Duration::hours(1));
        now + margin < self.expires_at
    }
}

/// A Huawei service as requests name it: `cloud` in metrics and budget keys, `display` in error
/// texts (which status messages and tests quote).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HuaweiService {
    pub cloud: &'static str,
    pub display: &'static str,
}

impl HuaweiService {
    pub const CCE: Self = Self {
        cloud: "cce",
        display: "CCE",
    };
    pub const MODELARTS: Self = Self {
        cloud: "modelarts",
        display: "ModelArts",
    };

    /// `endpoint` joined with the path `/s1/s2/...`, every segment percent-encoded (fixed
    /// segments such as `nodepools` encode to themselves).
    pub fn url(self, endpoint: &url::Url, segments: &[&str]) -> Result<url::Url, CloudError> {
        let path: String = segments
            .iter()
            .map(|s| format!("/{}", nodepool_wire::signing::encoding::encode(s)))
            .collect();
        endpoint
            .join(&path)
            .map_err(|e| CloudError::transport(format!("bad {} endpoint: {e}", self.display)))
    }

    /// A JSON answer as the type `T`; `what` names it in the error, with the failing path.
    pub fn parse<T: DeserializeOwned>(self, value: Value, what: &str) -> Result<T, CloudError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            CloudError::transport(format!("unexpected {what} from {}: {e}", self.display))
        })
    }
}

/// Signs or authenticates requests for one Huawei account.
#[derive(Debug, Clone)]
pub struct HuaweiSession {
    pub account: HuaweiAccount,
    pub transport: Transport,
    token: Arc<Mutex<Option<CachedToken>>>,
}

impl HuaweiSession {
    pub fn new(account: HuaweiAccount, transport: Transport) -> Self {
        Self {
            account,
            transport,
            token: Arc::new(Mutex::new(None)),
        }
    }

    fn principal(&self) -> &str {
        match &self.account.credentials {
            HuaweiCredentials::AccessKey { access_key, .. } => access_key,
            HuaweiCredentials::Password { user, .. } => user,
        }
    }

    /// Sends an API call, authenticating each attempt; a token the gateway says must be
    /// updated (`APIG.0307`) is replaced and the call made once more.
    pub async fn call(
        &self,
        cloud: &'static str,
        operation: Operation,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<HttpResponse, CloudError> {
        let body = match body {
            Some(value) => serde_json::to_vec(value).map_err(|e| CloudError::InvalidRequest {
                status: 0,
                code: "Serialize".into(),
                message: e.to_string(),
            })?,
            None => Vec::new(),
        };
        let info = CallInfo {
            cloud,
            operation,
            budget_key: format!("huawei/{}/{cloud}", self.principal()),
            budget: self.account.budget,
            // CCE and ModelArts create with POST; GET, PUT, PATCH and DELETE may be repeated.
            repeatable: method != Method::POST,
        };
        for attempt in 0..2 {
            let token = match &self.account.credentials {
                HuaweiCredentials::Password { .. } => Some(self.token().await?),
                HuaweiCredentials::AccessKey { .. } => None,
            };
            let build = || self.build(&method, &url, &body, content_type, token.as_ref());
            match self.transport.call(&info, build, classify).await {
                Err(CloudError::Auth { code, .. })
                    if code == "APIG.0307" && token.is_some() && attempt == 0 =>
                {
                    tracing::info!("IAM token expired early; logging in again");
                    *self.token.lock().await = None;
                }
                other => return other,
            }
        }
        Err(CloudError::Auth {
            status: 401,
            code: "APIG.0307".into(),
            message: "the token was refused twice".into(),
        })
    }

    /// [`Self::call`] for `service`, reading the answer as JSON.
    pub async fn call_json(
        &self,
        service: HuaweiService,
        operation: Operation,
        method: Method,
        url: url::Url,
        body: Option<&Value>,
        content_type: &str,
    ) -> Result<Value, CloudError> {
        let response = self
            .call(service.cloud, operation, method, url, body, content_type)
            .await?;
        serde_json::from_slice(&response.body).map_err(|e| {
            CloudError::transport(format!(
                "{} answered {} with unreadable JSON: {e}",
                service.display,
                operation.as_str()
            ))
        })
    }

    fn build(
        &self,
        method: &Method,
        url: &url::Url,
        body: &[u8],
        content_type: &str,
        token: Option<&Secret>,
    ) -> Result<HttpRequest, CloudError> {
        let mut headers = HeaderMap::new();
        let host = host_header(url)?;
        headers.insert(http::header::HOST, host);
        headers.insert(http::header::CONTENT_TYPE, header(content_type)?);
        match (&self.account.credentials, token) {
            (_, Some(token)) => {
                headers.insert("x-auth-token", header(token.expose_secret())?);
            }
            (
                HuaweiCredentials::AccessKey {
                    access_key,
                    secret_key,
                },
                None,
            ) => {
                headers.insert(signer::DATE_HEADER, header(&signer::sdk_date(Utc::now()))?);
                let signable = signer::SignableRequest {
                    method: method.as_str(),
                    path: url.path(),
                    query: url.query().unwrap_or_default(),
                    headers: &headers,
                    body,
                };
                let signature = signer::sign(&signable, access_key, secret_key)
                    .map_err(|e| CloudError::transport(format!("cannot sign the request: {e}")))?;
                headers.insert(
                    http::header::AUTHORIZATION,
                    header(&signature.authorization)?,
                );
            }
            (HuaweiCredentials::Password { .. }, None) => {
                return Err(CloudError::transport("token mode without a token"));
            }
        }
        Ok(HttpRequest {
            method: method.clone(),
            url: url.clone(),
            headers,
            body: body.to_vec(),
        })
    }

    /// The cached token, or a new one from IAM.
    async fn token(&self) -> Result<Secret, CloudError> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref().filter(|t| t.fresh(Utc::now())) {
            return Ok(token.token.clone());
        }
        let token = self.login().await?;
        let secret = token.token.clone();
        *cached = Some(token);
        Ok(secret)
    }

    async fn login(&self) -> Result<CachedToken, CloudError> {
        let HuaweiCredentials::Password {
            user,
            password,
            domain,
        } = &self.account.credentials
        else {
            return Err(CloudError::transport("login needs IAM user credentials"));
        };
        let url = self
            .account
            .iam_endpoint
            .join("/v3/auth/tokens")
            .map_err(|e| CloudError::transport(format!("bad IAM endpoint: {e}")))?;
        let body = serde_json::to_vec(&json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": password.expose_secret(), "domain": {"name": domain}}}},
            "scope": {"project": {"id": self.account.project_id}}}}))
        .map_err(|e| CloudError::transport(e.to_string()))?;
        let info = CallInfo {
            cloud: "iam",
            operation: Operation::Token,
            budget_key: format!("huawei/{user}/iam"),
            budget: self.account.budget,
            repeatable: true,
        };
        let build = || {
            let mut headers = HeaderMap::new();
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            Ok(HttpRequest {
                method: Method::POST,
                url: url.clone(),
                headers,
                body: body.clone(),
            })
        };
        let response = self.transport.call(&info, build, classify).await?;
        let token = response
            .header("x-subject-token")
            .ok_or_else(|| CloudError::transport("IAM answered without X-Subject-Token"))?;
        let parsed: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
        let now = Utc::now();
        let expires_at = parsed["token"]["expires_at"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now + chrono::Duration::hours(23));
        let issued_at = parsed["token"]["issued_at"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or(now);
        tracing::info!(expires_at = %expires_at, "obtained an IAM token");
        Ok(CachedToken {
            token: Secret::from(token),
            issued_at,
            expires_at,
        })
    }
}

fn header(value: &str) -> Result<HeaderValue, CloudError> {
    HeaderValue::from_str(value)
        .map_err(|_| CloudError::transport("a header value is not valid ASCII"))
}

fn host_header(url: &url::Url) -> Result<HeaderValue, CloudError> {
    let host = url
        .host_str()
        .ok_or_else(|| CloudError::transport(format!("endpoint {url} has no host")))?;
    match url.port() {
        Some(port) => header(&format!("{host}:{port}")),
        None => header(host),
    }
}

/// Reads any Huawei error body: service (`errorCode`/`errorMessage`), gateway and ModelArts
/// (`error_code`/`error_msg`), IAM (`{"error": {"message"}}`).
pub fn classify(response: &HttpResponse) -> CloudError {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let code = ["errorCode", "error_code"]
        .iter()
        .find_map(|k| body[*k].as_str())
        .map(str::to_owned);
    let message = ["errorMessage", "error_msg"]
        .iter()
        .find_map(|k| body[*k].as_str())
        .or_else(|| body["error"]["message"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| response.body_excerpt());
    let retry_after = response
        .header("retry-after")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    CloudError::from_response(response.status, code, message, retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_segments_are_percent_encoded_and_fixed_ones_kept() {
        let endpoint = url::Url::parse("https://cce.example.com:8443/ignored").unwrap();
        let url = HuaweiService::CCE
            .url(
                &endpoint,
                &[
                    "api",
                    "v3",
                    "projects",
                    "p 1",
                    "clusters",
                    "a/b?c",
                    "nodepools",
                ],
            )
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://cce.example.com:8443/api/v3/projects/p%201/clusters/a%2Fb%3Fc/nodepools"
        );
    }

    #[test]
    fn errors_name_the_service() {
        let error = HuaweiService::MODELARTS
            .parse::<Vec<u32>>(json!({"items": 1}), "pool list")
            .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("unexpected pool list from ModelArts: "),
            "{error}"
        );
    }
}
