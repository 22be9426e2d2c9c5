//! The one HTTP path every cloud call takes: rate budget, a request built (and signed) afresh
//! for each attempt, classification of error answers, bounded retries, a tracing span and a
//! counter per call.

use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method};
use tracing::Instrument;

use super::budget::{Budget, RateBudgets};
use super::error::CloudError;
use super::metrics::{CallMetrics, Operation};
use super::retry::RetryPolicy;

/// A request ready to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: url::Url,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

/// An answer, any status.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    /// The start of the body as text, for an error answer that is not in the cloud's format
    /// (a gateway's HTML page, a proxy's plain text).
    pub fn body_excerpt(&self) -> String {
        String::from_utf8_lossy(&self.body)
            .chars()
            .take(300)
            .collect()
    }

    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What a call is, for budgets, metrics and logs.
#[derive(Debug, Clone)]
pub struct CallInfo {
    pub cloud: &'static str,
    pub operation: Operation,
    /// The rate-budget bucket (account and API family).
    pub budget_key: String,
    pub budget: Budget,
    /// Whether sending the request twice does no more than sending it once. A call that is not
    /// (a create) is repeated only when the cloud certainly did not act on it; after a timeout
    /// or a lost answer the caller looks before it tries again.
    pub repeatable: bool,
}

/// Timeouts of the HTTP client.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(5),
            request: Duration::from_secs(20),
        }
    }
}

/// Shared by every client of the operator: one connection pool, one set of budgets.
#[derive(Debug, Clone)]
pub struct Transport {
    http: reqwest::Client,
    pub budgets: RateBudgets,
    pub retry: RetryPolicy,
    pub metrics: CallMetrics,
}

impl Transport {
    pub fn new(timeouts: Timeouts, retry: RetryPolicy) -> Result<Self, CloudError> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("nodepool-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| CloudError::transport(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            budgets: RateBudgets::new(),
            retry,
            metrics: CallMetrics::new(),
        })
    }

    /// Sends one request once (no budget, no retry). A request that gets no answer fails with
    /// the endpoint it was sent to (scheme, host and port; never the path or query, which may
    /// hold signatures).
    pub async fn send_once(&self, request: HttpRequest) -> Result<HttpResponse, CloudError> {
        let endpoint = endpoint(&request.url);
        let mut builder = self
            .http
            .request(request.method, request.url)
            .body(request.body);
        for (name, value) in &request.headers {
            if name != http::header::HOST {
                builder = builder.header(name, value);
            }
        }
        let unanswered = |e: reqwest::Error| {
            let text = format!("{endpoint}: {}", describe(&e));
            if e.is_connect() {
                CloudError::unsent(text)
            } else {
                CloudError::no_answer(text)
            }
        };
        let response = builder.send().await.map_err(unanswered)?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(unanswered)?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    /// Runs a call: `build` makes (and signs) the request for each attempt; `classify` turns an
    /// error answer into a [`CloudError`].
    pub async fn call<B, C>(
        &self,
        info: &CallInfo,
        build: B,
        classify: C,
    ) -> Result<HttpResponse, CloudError>
    where
        B: Fn() -> Result<HttpRequest, CloudError>,
        C: Fn(&HttpResponse) -> CloudError,
    {
        let span = tracing::info_span!(
            "cloud_call",
            cloud = info.cloud,
            operation = info.operation.as_str(),
            status = tracing::field::Empty
        );
        let repeatable = info.repeatable;
        let result = self
            .retry
            .run_if(
                || async {
                    self.budgets.acquire(&info.budget_key, info.budget).await;
                    let request = build()?;
                    tracing::debug!("sending");
                    let sent = std::time::Instant::now();
                    let response = self.send_once(request).await;
                    let seconds = sent.elapsed().as_secs_f64();
                    self.metrics.time(info.cloud, info.operation, seconds);
                    let response = response?;
                    tracing::Span::current().record("status", response.status);
                    if response.is_success() {
                        Ok(response)
                    } else {
                        Err(classify(&response))
                    }
                },
                |error| {
                    error.category().is_retryable()
                        && (repeatable || error.certainly_not_acted_on())
                },
                |error, wait| {
                    self.metrics
                        .record(info.cloud, info.operation, error.category().as_str());
                    tracing::debug!(%error, ?wait, "retrying cloud call");
                },
            )
            .instrument(span.clone())
            .await;
        let outcome = match &result {
            Ok(_) => "ok",
            Err(error) => error.category().as_str(),
        };
        self.metrics.record(info.cloud, info.operation, outcome);
        // Debug only: whether an answer is a failure is the caller's to say (a lookup expects
        // "not found"); the controller logs what failed a reconcile, once per distinct error.
        let _entered = span.enter();
        match &result {
            Ok(response) => tracing::debug!(status = response.status, "cloud call done"),
            Err(error) => {
                tracing::debug!(category = outcome, %error, "cloud call answered with an error")
            }
        }
        result
    }
}

/// `scheme://host:port` of a URL.
fn endpoint(url: &url::Url) -> String {
    let host = url.host_str().unwrap_or("?");
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// A transport error in words, without the URL's query (which may hold signatures).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}
