//! Alibaba Cloud RPC plumbing for the ENS client: V3 (`ACS3-HMAC-SHA256`, the default) or V1
//! (`HMAC-SHA1`) signatures with a fresh nonce and timestamp per attempt, separate rate budgets
//! for writes and reads, and the parsing of Alibaba error bodies (classified by `Code`: ENS
//! throttling arrives as HTTP 400).

use std::time::Duration;

use chrono::Utc;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::budget::Budget;
use super::error::CloudError;
use super::metrics::Operation;
use super::transport::{CallInfo, HttpRequest, HttpResponse, Transport};
use nodepool_wire::signing::{Secret, alibaba as signer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureVersion {
    #[default]
    V3,
    V1,
}

#[derive(Debug, Clone)]
pub struct AlibabaAccount {
    pub access_key_id: String,
    pub access_key_secret: Secret,
    /// e.g. `https://ens.aliyuncs.com`.
    pub endpoint: url::Url,
    pub signature: SignatureVersion,
    pub write_budget: Budget,
    pub read_budget: Budget,
}

/// Calls RPC actions for one Alibaba account.
#[derive(Debug, Clone)]
pub struct AlibabaSession {
    pub account: AlibabaAccount,
    pub transport: Transport,
}

fn header(value: &str) -> Result<HeaderValue, CloudError> {
    HeaderValue::from_str(value)
        .map_err(|_| CloudError::transport("a header value is not valid ASCII"))
}

impl AlibabaSession {
    pub fn new(account: AlibabaAccount, transport: Transport) -> Self {
        Self { account, transport }
    }

    /// Calls `action` (counted as `operation`) of API `version` with business parameters; `write` picks the budget;
    /// `repeatable` says whether the call may be sent again after an unclear failure.
    pub async fn rpc(
        &self,
        action: &'static str,
        operation: Operation,
        version: &str,
        params: &[(String, String)],
        write: bool,
        repeatable: bool,
    ) -> Result<Value, CloudError> {
        let (family, budget) = if write {
            ("write", self.account.write_budget)
        } else {
            ("read", self.account.read_budget)
        };
        let info = CallInfo {
            cloud: "ens",
            operation,
            budget_key: format!("alibaba/{}/ens-{family}", self.account.access_key_id),
            budget,
            repeatable,
        };
        let build = || match self.account.signature {
            SignatureVersion::V3 => self.build_v3(action, version, params),
            SignatureVersion::V1 => self.build_v1(action, version, params),
        };
        let response = self.transport.call(&info, build, classify).await?;
        serde_json::from_slice(&response.body).map_err(|e| {
            CloudError::transport(format!("ENS answered {action} with unreadable JSON: {e}"))
        })
    }

    fn url_with(&self, params: &[(String, String)]) -> url::Url {
        let mut url = self.account.endpoint.clone();
        url.set_path("/");
        url.query_pairs_mut().clear().extend_pairs(params);
        url
    }

    fn build_v3(
        &self,
        action: &str,
        version: &str,
        params: &[(String, String)],
    ) -> Result<HttpRequest, CloudError> {
        let url = self.url_with(params);
        let host = url
            .host_str()
            .ok_or_else(|| CloudError::transport("the ENS endpoint has no host"))?;
        let host = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        };
        let mut headers = HeaderMap::new();
        headers.insert(http::header::HOST, header(&host)?);
        headers.insert("x-acs-action", header(action)?);
        headers.insert("x-acs-version", header(version)?);
        headers.insert(
            "x-acs-date",
            header(&signer::alibaba_timestamp(Utc::now()))?,
        );
        headers.insert(
            "x-acs-signature-nonce",
            header(&uuid::Uuid::new_v4().simple().to_string())?,
        );
        headers.insert(
            signer::CONTENT_SHA256,
            header(&hex::encode(Sha256::digest(b"")))?,
        );
        let signature = signer::v3_sign(
            "POST",
            "/",
            params,
            &headers,
            &self.account.access_key_id,
            &self.account.access_key_secret,
        )
        .map_err(|e| CloudError::transport(format!("cannot sign the request: {e}")))?;
        headers.insert(
            http::header::AUTHORIZATION,
            header(&signature.authorization)?,
        );
        Ok(HttpRequest {
            method: Method::POST,
            url,
            headers,
            body: Vec::new(),
        })
    }

    fn build_v1(
        &self,
        action: &str,
        version: &str,
        params: &[(String, String)],
    ) -> Result<HttpRequest, CloudError> {
        let mut all = params.to_vec();
        for (k, v) in [
            ("Action", action.to_owned()),
            ("Version", version.to_owned()),
            ("Format", "JSON".to_owned()),
            ("AccessKeyId", self.account.access_key_id.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureNonce", uuid::Uuid::new_v4().to_string()),
            ("Timestamp", signer::alibaba_timestamp(Utc::now())),
        ] {
            all.push((k.to_owned(), v));
        }
        signer::v1_sign_params("POST", &mut all, &self.account.access_key_secret);
        Ok(HttpRequest {
            method: Method::POST,
            url: self.url_with(&all),
            headers: HeaderMap::new(),
            body: Vec::new(),
        })
    }
}

/// Reads an Alibaba error body `{"Code", "Message", ...}`; `x-acs-retry-after` (seconds) is
/// honoured by the retry policy.
pub fn classify(response: &HttpResponse) -> CloudError {
    let body: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
    let code = body["Code"].as_str().map(str::to_owned);
    let message = body["Message"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| response.body_excerpt());
    let retry_after = response
        .header("x-acs-retry-after")
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok());
    CloudError::from_response(response.status, code, message, retry_after)
}
