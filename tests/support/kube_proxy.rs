//! A small fault-injecting HTTP proxy between a `kube::Client` and a real kube-apiserver.
//!
//! The proxy listens on plain HTTP on `127.0.0.1`, forwards every request (method, path, query,
//! headers — `Authorization` included — and body) to the API server over TLS, and streams the
//! answer back chunk by chunk, so long-lived watch streams stay long-lived. Tests make it:
//!
//! - answer matching requests with a Kubernetes `Status` error ([`KubeProxy::fail`]),
//! - add latency before forwarding ([`KubeProxy::set_latency`]),
//! - end every open watch stream, as an API server restart does ([`KubeProxy::cut_watches`]),
//! - answer the next watches with a `410 Expired` watch event, as kube-apiserver does for a
//!   compacted resourceVersion ([`KubeProxy::expire_watches`]),
//!
//! and record every request with the status it got ([`KubeProxy::requests`]).
//!
//! Upgrade requests (exec, attach, port-forward) are not supported.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Body = BoxBody<Bytes, BoxError>;

/// A request to fail. Every `Some` field must match; after `after` matching requests have
/// passed, `count` are answered with a `Status` of code `status`, then the rule is spent.
#[derive(Debug, Clone, Default)]
pub struct FailRule {
    /// `"PATCH"`, `"GET"`, ... (case-insensitive); `None` = any.
    pub method: Option<String>,
    /// Plural resource in the path, e.g. `"nodepools"`; `None` = any (also non-resource paths).
    pub resource: Option<String>,
    /// E.g. `"status"`; `None` = any (also matches no subresource).
    pub subresource: Option<String>,
    /// `Some(true)` = only watch requests, `Some(false)` = only non-watch requests.
    pub watch: Option<bool>,
    /// The HTTP status answered, with a Kubernetes `Status` body (429 adds `Retry-After: 1`).
    pub status: u16,
    /// How many matching requests to fail.
    pub count: usize,
    /// How many matching requests to let through first.
    pub after: usize,
}

/// One request the proxy saw.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The raw query string, without `?` (empty when there is none).
    pub query: String,
    /// The status returned; 0 while the answer is not known yet (latency, upstream pending).
    pub status: u16,
}

#[derive(Default)]
struct Faults {
    rules: Vec<FailRule>,
    latency: Duration,
    expire: usize,
}

struct Shared {
    upstream: String,
    client: reqwest::Client,
    faults: Mutex<Faults>,
    seen: Mutex<Vec<Seen>>,
    /// Bumped by `cut_watches`; every open watch stream ends when it changes.
    cuts: watch::Sender<u64>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The running proxy; it stops (with all its connections) when dropped.
pub struct KubeProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl Drop for KubeProxy {
    fn drop(&mut self) {
        // The accept loop owns the connection tasks (a JoinSet), so they end with it.
        self.accept.abort();
    }
}

impl KubeProxy {
    /// Listens on `http://127.0.0.1:<free port>`, forwards to `upstream`
    /// (`https://127.0.0.1:PORT`) trusting `ca_pem`.
    pub async fn start(upstream: &str, ca_pem: &str) -> KubeProxy {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .no_proxy()
            .connect_timeout(Duration::from_secs(10));
        for cert in reqwest::Certificate::from_pem_bundle(ca_pem.as_bytes()).expect("the CA is PEM")
        {
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().expect("an HTTP client");
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("the proxy binds a free port");
        let addr = listener.local_addr().expect("a local address");
        let shared = Arc::new(Shared {
            upstream: upstream.trim_end_matches('/').to_owned(),
            client,
            faults: Mutex::new(Faults::default()),
            seen: Mutex::new(Vec::new()),
            cuts: watch::channel(0).0,
        });
        let accept = tokio::spawn(accept_loop(listener, shared.clone()));
        KubeProxy {
            addr,
            shared,
            accept,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Adds a rule; rules are tried in the order they were added, the first match wins.
    pub fn fail(&self, rule: FailRule) {
        lock(&self.shared.faults).rules.push(rule);
    }

    /// Drops all rules, the latency and pending watch expiries.
    pub fn clear(&self) {
        *lock(&self.shared.faults) = Faults::default();
    }

    /// Added before forwarding (or failing) each request.
    pub fn set_latency(&self, latency: Duration) {
        lock(&self.shared.faults).latency = latency;
    }

    /// Ends every watch response stream open right now; the client sees the stream end, as
    /// when an API server restarts. Later watches are not affected.
    pub fn cut_watches(&self) {
        self.shared.cuts.send_modify(|generation| *generation += 1);
    }

    /// The next `n` watch requests get HTTP 200 with one `ERROR` watch event holding a
    /// `410 Expired` `Status`, and the stream ends, as kube-apiserver answers a watch from a
    /// compacted resourceVersion.
    pub fn expire_watches(&self, n: usize) {
        lock(&self.shared.faults).expire += n;
    }

    /// Every request seen, in order of arrival, with the status returned.
    pub fn requests(&self) -> Vec<Seen> {
        lock(&self.shared.seen).clone()
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let shared = shared.clone();
                connections.spawn(async move {
                    let service = service_fn(move |req| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(handle(shared, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// What a request is about, after kube-apiserver's `RequestInfoFactory`.
struct Target {
    resource: Option<String>,
    subresource: Option<String>,
    watch: bool,
}

fn parse_target(path: &str, query: &str) -> Target {
    let mut watch = form_urlencoded::parse(query.as_bytes()).any(|(key, value)| {
        key == "watch" && matches!(value.to_ascii_lowercase().as_str(), "true" | "1" | "t")
    });
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let rest: &[&str] = match parts.as_slice() {
        ["api", _version, rest @ ..] => rest,
        ["apis", _group, _version, rest @ ..] => rest,
        _ => &[],
    };
    let mut rest = rest;
    if rest.first() == Some(&"watch") {
        watch = true;
        rest = &rest[1..];
    }
    if rest.first() == Some(&"namespaces")
        && rest.len() > 2
        && !matches!(rest[2], "status" | "finalize")
    {
        rest = &rest[2..];
    }
    Target {
        resource: rest.first().map(|s| (*s).to_owned()),
        subresource: rest.get(2).map(|s| (*s).to_owned()),
        watch,
    }
}

fn matches(rule: &FailRule, method: &str, target: &Target) -> bool {
    rule.count > 0
        && rule
            .method
            .as_ref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method))
        && rule
            .resource
            .as_ref()
            .is_none_or(|r| target.resource.as_ref() == Some(r))
        && rule
            .subresource
            .as_ref()
            .is_none_or(|s| target.subresource.as_ref() == Some(s))
        && rule.watch.is_none_or(|w| w == target.watch)
}

fn reason(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        406 => "NotAcceptable",
        409 => "Conflict",
        410 => "Gone",
        413 => "RequestEntityTooLarge",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        500 | 502 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "Unknown",
    }
}

fn status_json(code: u16, reason: &str, message: &str) -> Value {
    let mut status = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if code == 429 {
        status["details"] = json!({ "retryAfterSeconds": 1 });
    }
    status
}

/// An error with its sources, `a: b: c`.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

fn full(bytes: impl Into<Bytes>) -> Body {
    BodyExt::boxed(Full::new(bytes.into()).map_err(|never| match never {}))
}

fn status_response(code: u16, message: &str) -> Response<Body> {
    let body = status_json(code, reason(code), message).to_string();
    let mut response = Response::new(full(body));
    *response.status_mut() =
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if code == 429 {
        headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    response
}

fn expired_response(query: &str) -> Response<Body> {
    let requested = form_urlencoded::parse(query.as_bytes())
        .find(|(key, _)| key == "resourceVersion")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_else(|| "0".to_owned());
    let current = requested.parse::<u64>().map_or(1, |v| v + 1);
    let event = json!({
        "type": "ERROR",
        "object": status_json(
            410,
            "Expired",
            &format!("too old resource version: {requested} ({current})"),
        ),
    });
    let mut response = Response::new(full(format!("{event}\n")));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// Headers that belong to one connection, plus those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in [
        header::CONNECTION,
        header::PROXY_AUTHENTICATE,
        header::PROXY_AUTHORIZATION,
        header::TE,
        header::TRAILER,
        header::TRANSFER_ENCODING,
        header::UPGRADE,
    ] {
        headers.remove(name);
    }
    headers.remove("keep-alive");
    headers.remove("proxy-connection");
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().as_str().to_owned();
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or_default().to_owned();
    let index = {
        let mut seen = lock(&shared.seen);
        seen.push(Seen {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            status: 0,
        });
        seen.len() - 1
    };
    let response = answer(&shared, req, &method, &path, &query).await;
    lock(&shared.seen)[index].status = response.status().as_u16();
    response
}

async fn answer(
    shared: &Shared,
    req: Request<Incoming>,
    method: &str,
    path: &str,
    query: &str,
) -> Response<Body> {
    let target = parse_target(path, query);
    let (latency, fault, expire) = {
        let mut faults = lock(&shared.faults);
        let fault = faults
            .rules
            .iter_mut()
            .find(|rule| matches(rule, method, &target))
            .and_then(|rule| {
                if rule.after > 0 {
                    rule.after -= 1;
                    return None;
                }
                rule.count -= 1;
                Some(rule.status)
            });
        let expire = fault.is_none() && target.watch && faults.expire > 0;
        if expire {
            faults.expire -= 1;
        }
        faults.rules.retain(|rule| rule.count > 0);
        (faults.latency, fault, expire)
    };
    // Subscribed on arrival: a cut while the request waits ends its stream too.
    let mut cuts = shared.cuts.subscribe();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if let Some(code) = fault {
        return status_response(
            code,
            &format!("kube proxy: injected failure of {method} {path}"),
        );
    }
    if expire {
        return expired_response(query);
    }

    let (parts, body) = req.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            return status_response(
                400,
                &format!("kube proxy: reading the request body: {error}"),
            );
        }
    };
    let mut headers = parts.headers;
    strip_hop_by_hop(&mut headers);
    headers.remove(header::HOST);
    headers.remove(header::CONTENT_LENGTH);
    let url = match parts.uri.path_and_query() {
        Some(pq) => format!("{}{}", shared.upstream, pq.as_str()),
        None => format!("{}{path}", shared.upstream),
    };
    let mut request = shared.client.request(parts.method, url).headers(headers);
    if !body.is_empty() {
        request = request.body(body);
    }
    let upstream = match request.send().await {
        Ok(upstream) => upstream,
        Err(error) => {
            return status_response(
                502,
                &format!(
                    "kube proxy: upstream {}: {}",
                    shared.upstream,
                    chain(&error)
                ),
            );
        }
    };

    let mut response = Response::builder().status(upstream.status());
    if let Some(headers) = response.headers_mut() {
        *headers = upstream.headers().clone();
        strip_hop_by_hop(headers);
    }
    let chunks = upstream
        .bytes_stream()
        .map_ok(Frame::data)
        .map_err(|error| Box::new(error) as BoxError);
    let body = if target.watch {
        let cut = async move {
            let _ = cuts.changed().await;
        };
        BodyExt::boxed(StreamBody::new(chunks.take_until(cut)))
    } else {
        BodyExt::boxed(StreamBody::new(chunks))
    };
    response
        .body(body)
        .unwrap_or_else(|error| status_response(502, &format!("kube proxy: response: {error}")))
}
