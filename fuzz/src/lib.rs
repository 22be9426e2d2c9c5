//! What the fuzz targets share: reading an input as a raw HTTP request or as RPC parameters,
//! signing requests with the simulator's demo credentials the way the operator's clients do,
//! and running one request through the simulator's pipeline (route, authenticate, serve).
//!
//! Inputs are text so that the fixtures under `tests/fixtures/` are seeds as they are (JSON
//! bodies, ENS parameters as a JSON object) or after a one-line prefix (see `seeds.sh`).

use std::cell::RefCell;
use std::time::Instant;

use bytes::Bytes;
use chrono::Utc;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use nodepool_sim::config::{
    DEMO_ALIBABA_ACCESS_KEY_ID, DEMO_ALIBABA_ACCESS_KEY_SECRET, DEMO_HUAWEI_ACCESS_KEY,
    DEMO_HUAWEI_SECRET_KEY,
};
use nodepool_sim::fuzzing::{Incoming, Outcome, SimResponse, dispatch};
use nodepool_sim::{Sim, SimConfig};
use nodepool_wire::signing::{Secret, alibaba, huawei};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// A request read from fuzz input in the shape of HTTP/1:
/// `METHOD /path?query`, then `Name: value` lines, a blank line, and the body.
#[derive(Debug, Clone)]
pub struct RawRequest {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl RawRequest {
    /// Reads any bytes: what does not fit the shape is left out (an unreadable method is GET,
    /// a header line that is not a valid header is skipped).
    pub fn parse(data: &[u8]) -> Self {
        let (head, body) = match find(data, b"\n\n") {
            Some(at) => (&data[..at], &data[at + 2..]),
            None => (data, &[][..]),
        };
        let head = String::from_utf8_lossy(head);
        let mut lines = head.lines();
        let first = lines.next().unwrap_or_default();
        let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
        let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut headers = HeaderMap::new();
        for line in lines {
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.trim().as_bytes()),
                HeaderValue::from_bytes(value.trim().as_bytes()),
            ) else {
                continue;
            };
            headers.append(name, value);
        }
        Self {
            method,
            path: path.to_owned(),
            query: query.to_owned(),
            headers,
            body: body.to_vec(),
        }
    }

    /// The request as the simulator's server hands it to the dispatcher, arriving now.
    pub fn incoming(&self) -> Incoming {
        Incoming {
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: Bytes::from(self.body.clone()),
            now: Utc::now(),
            instant: Instant::now(),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The first byte picks a variant, the rest is the document.
pub fn split_selector(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, data),
    }
}

/// RPC parameters from a JSON object (the form of the ENS request fixtures: strings as they
/// are, other values as their JSON text) or, failing that, from a query string.
pub fn rpc_params(data: &[u8]) -> Vec<(String, String)> {
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(map)) => map
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => (k, s),
                other => (k, other.to_string()),
            })
            .collect(),
        _ => form_urlencoded::parse(data).into_owned().collect(),
    }
}

pub fn huawei_secret() -> Secret {
    Secret::from(DEMO_HUAWEI_SECRET_KEY)
}

pub fn alibaba_secret() -> Secret {
    Secret::from(DEMO_ALIBABA_ACCESS_KEY_SECRET)
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// Signs `req` with the demo AK/SK as the operator's Huawei client does (`host`,
/// `content-type` and `x-sdk-date` set, every signable header signed). `None` when the request
/// cannot be signed (a header value that is not text).
pub fn sign_huawei(req: &mut Incoming) -> Option<()> {
    req.headers
        .insert(http::header::HOST, HeaderValue::from_static("sim.local"));
    if !req.headers.contains_key(http::header::CONTENT_TYPE) {
        req.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
    }
    req.headers
        .insert(huawei::DATE_HEADER, header(&huawei::sdk_date(req.now)));
    req.headers.remove(http::header::AUTHORIZATION);
    let signature = huawei::sign(
        &huawei::SignableRequest {
            method: req.method.as_str(),
            path: &req.path,
            query: &req.query,
            headers: &req.headers,
            body: &req.body,
        },
        DEMO_HUAWEI_ACCESS_KEY,
        &huawei_secret(),
    )
    .ok()?;
    req.headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&signature.authorization).ok()?,
    );
    Some(())
}

/// The query string the operator's Alibaba client sends for `params` (form encoding).
pub fn encode_query(params: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
}

/// An ENS RPC request for `action` carrying `params`, signed with the demo AccessKey: V3 in
/// headers, or V1 with every parameter in the query string (or, `in_body`, in a form body).
pub fn signed_ens_request(
    action: &str,
    params: &[(String, String)],
    v3: bool,
    in_body: bool,
) -> Option<Incoming> {
    let now = Utc::now();
    let nonce = format!("{:x}", Sha256::digest(format!("{now:?}{params:?}")));
    let mut headers = HeaderMap::new();
    headers.insert(http::header::HOST, HeaderValue::from_static("sim.local"));
    let (query, body) = if v3 {
        headers.insert("x-acs-action", HeaderValue::from_str(action).ok()?);
        headers.insert("x-acs-version", HeaderValue::from_static("2017-11-10"));
        headers.insert("x-acs-date", header(&alibaba::alibaba_timestamp(now)));
        headers.insert("x-acs-signature-nonce", header(&nonce));
        headers.insert(
            alibaba::CONTENT_SHA256,
            header(&hex::encode(Sha256::digest(b""))),
        );
        let signature = alibaba::v3_sign(
            "POST",
            "/",
            params,
            &headers,
            DEMO_ALIBABA_ACCESS_KEY_ID,
            &alibaba_secret(),
        )
        .ok()?;
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&signature.authorization).ok()?,
        );
        (encode_query(params), Vec::new())
    } else {
        let mut all = params.to_vec();
        for (k, v) in [
            ("Action", action.to_owned()),
            ("Version", "2017-11-10".to_owned()),
            ("Format", "JSON".to_owned()),
            ("AccessKeyId", DEMO_ALIBABA_ACCESS_KEY_ID.to_owned()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureNonce", nonce),
            ("Timestamp", alibaba::alibaba_timestamp(now)),
        ] {
            all.push((k.to_owned(), v));
        }
        alibaba::v1_sign_params("POST", &mut all, &alibaba_secret());
        if in_body {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("application/x-www-form-urlencoded"),
            );
            (String::new(), encode_query(&all).into_bytes())
        } else {
            (encode_query(&all), Vec::new())
        }
    };
    Some(Incoming {
        method: Method::POST,
        path: "/".to_owned(),
        query,
        headers,
        body: Bytes::from(body),
        now,
        instant: Instant::now(),
    })
}

thread_local! {
    static RUNTIME: RefCell<Option<tokio::runtime::Runtime>> = const { RefCell::new(None) };
}

/// A simulator with the demo accounts and instant provisioning, as tests start it.
pub fn new_sim() -> Sim {
    Sim::new(SimConfig::instant())
}

/// Runs one request through the simulator's pipeline. Every request must be answered (no
/// fault rules are installed, so nothing drops a connection), with a JSON body.
pub fn serve(sim: &Sim, req: Incoming) -> SimResponse {
    let outcome = RUNTIME.with(|cell| {
        let mut cell = cell.borrow_mut();
        let runtime = cell.get_or_insert_with(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap_or_else(|e| panic!("no runtime: {e}"))
        });
        runtime.block_on(dispatch(sim, req))
    });
    let response = match outcome {
        Outcome::Respond(response) => response,
        Outcome::Drop => panic!("a request was dropped with no fault rule installed"),
    };
    if let Err(error) = serde_json::from_slice::<Value>(&response.body) {
        panic!(
            "the simulator answered {} with a body that is not JSON ({error}): {:?}",
            response.status,
            String::from_utf8_lossy(&response.body)
        );
    }
    response
}

/// The JSON body of an answer (checked by [`serve`]).
pub fn body_json(response: &SimResponse) -> Value {
    serde_json::from_slice(&response.body).unwrap_or(Value::Null)
}

/// Whether the first path segment, decoded as the router decodes it, is the simulator's own
/// admin API (which installs fault rules and is no cloud's parser).
pub fn is_admin_path(path: &str) -> bool {
    path.split('/')
        .find(|s| !s.is_empty())
        .map(|s| percent_decode(s) == "_sim")
        .unwrap_or(false)
}

fn percent_decode(s: &str) -> String {
    nodepool_wire::signing::encoding::decode(s)
}
