//! HTTP routing and the request handlers: reads (get, list, watch), writes (create, update,
//! patch, delete), discovery, the audit log and the fault hooks.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{Method, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};

use super::audit::{AuditEntry, Hooks};
use super::discovery;
use super::ops::{self, PatchType, Target, present};
use super::registry::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Change, State};

pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Everything a request handler needs.
#[derive(Debug)]
pub struct Shared {
    pub state: Mutex<State>,
    pub hooks: Hooks,
    /// Bumped to end every open watch.
    pub close_watches: watch::Sender<u64>,
    pub bookmark_interval: Duration,
}

impl Shared {
    pub fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn full(status: StatusCode, body: &Value) -> hyper::Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut response = hyper::Response::new(Full::new(Bytes::from(bytes)).boxed_unsync());
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn error(e: ApiError) -> hyper::Response<Body> {
    full(e.code, &e.body)
}

/// A parsed API path.
#[derive(Debug, Clone, PartialEq)]
enum Route {
    Version,
    CoreVersions,
    Groups,
    Group(String),
    GroupVersion(String, String),
    Resource {
        group: String,
        version: String,
        namespace: Option<String>,
        plural: String,
        name: Option<String>,
        subresource: Option<String>,
    },
    NotFound,
}

fn route(path: &str) -> Route {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segs.as_slice() {
        ["version"] => return Route::Version,
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["apis", g] => return Route::Group((*g).to_owned()),
        ["api", v] => return Route::GroupVersion(String::new(), (*v).to_owned()),
        ["apis", g, v] => return Route::GroupVersion((*g).to_owned(), (*v).to_owned()),
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return Route::NotFound,
    };
    let resource = |namespace: Option<&str>,
                    plural: &str,
                    name: Option<&str>,
                    sub: Option<&str>| Route::Resource {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace: namespace.map(str::to_owned),
        plural: plural.to_owned(),
        name: name.map(str::to_owned),
        subresource: sub.map(str::to_owned),
    };
    match rest {
        ["namespaces", ns, sub @ ("status" | "finalize")] if group.is_empty() => {
            resource(None, "namespaces", Some(ns), Some(sub))
        }
        ["namespaces", ns, plural] => resource(Some(ns), plural, None, None),
        ["namespaces", ns, plural, name] => resource(Some(ns), plural, Some(name), None),
        ["namespaces", ns, plural, name, sub] => resource(Some(ns), plural, Some(name), Some(sub)),
        [plural] => resource(None, plural, None, None),
        [plural, name] => resource(None, plural, Some(name), None),
        [plural, name, sub] => resource(None, plural, Some(name), Some(sub)),
        _ => Route::NotFound,
    }
}

fn query(uri: &http::Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn verb_of(method: &Method, has_name: bool, params: &HashMap<String, String>) -> &'static str {
    let watching = params.get("watch").is_some_and(|w| w == "true" || w == "1");
    match *method {
        Method::GET if watching => "watch",
        Method::GET if has_name => "get",
        Method::GET => "list",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => "unknown",
    }
}

pub async fn handle(
    shared: Arc<Shared>,
    req: hyper::Request<Incoming>,
) -> Result<hyper::Response<Body>, Infallible> {
    let latency = *shared
        .hooks
        .latency
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let (parts, body) = req.into_parts();
    let body = match http_body_util::Limited::new(body, 8 * 1024 * 1024)
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            return Ok(error(ApiError::bad_request(
                "request body too large or unreadable",
            )));
        }
    };
    let params = query(&parts.uri);
    let user_agent = parts
        .headers
        .get(http::header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let route = route(parts.uri.path());
    let (verb, group, resource, subresource, namespace, name) = match &route {
        Route::Resource {
            group,
            plural,
            namespace,
            name,
            subresource,
            ..
        } => (
            verb_of(&parts.method, name.is_some(), &params),
            group.clone(),
            plural.clone(),
            subresource.clone(),
            namespace.clone(),
            name.clone(),
        ),
        _ => ("discovery", String::new(), String::new(), None, None, None),
    };
    let response = match shared
        .hooks
        .take_failure(verb, &resource, subresource.as_deref())
    {
        Some(429) => error(ApiError::too_many_requests()),
        Some(code) => error(ApiError {
            code: StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            ..ApiError::internal("injected failure")
        }),
        None => serve(&shared, &parts, &params, route, body).await,
    };
    shared
        .hooks
        .audit
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(AuditEntry {
            verb: verb.to_owned(),
            group,
            resource,
            subresource,
            namespace,
            name,
            user_agent,
            code: response.status().as_u16(),
        });
    Ok(response)
}

fn parse_body(content_type: &str, body: &Bytes) -> Result<Value, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => Ok(value),
        Err(json_error) if content_type.contains("yaml") => serde_yaml::from_slice::<Value>(body)
            .map_err(|e| {
                ApiError::bad_request(format!(
                    "the body is neither JSON ({json_error}) nor YAML ({e})"
                ))
            }),
        Err(e) => Err(ApiError::bad_request(format!(
            "the body of the request is not valid JSON: {e}"
        ))),
    }
}

async fn serve(
    shared: &Arc<Shared>,
    parts: &http::request::Parts,
    params: &HashMap<String, String>,
    route: Route,
    body: Bytes,
) -> hyper::Response<Body> {
    match resolve(shared, parts, route) {
        Resolution::Answer(response) => response,
        Resolution::Resource(resolved) => {
            let (t, namespace, name, subresource) = *resolved;
            resource(
                shared,
                parts,
                params,
                &t,
                &namespace,
                name.as_deref(),
                subresource.as_deref(),
                body,
            )
            .await
        }
    }
}

type Resolved = (ResourceType, String, Option<String>, Option<String>);

/// A path answered at once (discovery, errors), or a resource to serve.
enum Resolution {
    Answer(hyper::Response<Body>),
    Resource(Box<Resolved>),
}

/// Answers discovery at once; for resource paths, finds the served type.
fn resolve(shared: &Arc<Shared>, parts: &http::request::Parts, route: Route) -> Resolution {
    let state = shared.lock();
    match route {
        Route::Version => Resolution::Answer(full(StatusCode::OK, &discovery::version())),
        Route::CoreVersions => {
            Resolution::Answer(full(StatusCode::OK, &discovery::core_versions()))
        }
        Route::Groups => {
            Resolution::Answer(full(StatusCode::OK, &discovery::groups(&state.registry)))
        }
        Route::Group(group) => {
            let groups = discovery::groups(&state.registry);
            match groups["groups"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|g| g["name"] == group.as_str())
            {
                Some(g) => {
                    let mut g = g.clone();
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    Resolution::Answer(full(StatusCode::OK, &g))
                }
                None => Resolution::Answer(error(ApiError::not_found("", "groups", &group))),
            }
        }
        Route::GroupVersion(group, version) => {
            match discovery::resources(&state.registry, &group, &version) {
                Some(list) => Resolution::Answer(full(StatusCode::OK, &list)),
                None => Resolution::Answer(error(ApiError::not_found(&group, "version", &version))),
            }
        }
        Route::NotFound => {
            Resolution::Answer(error(ApiError::not_found("", "path", parts.uri.path())))
        }
        Route::Resource {
            group,
            version,
            namespace,
            plural,
            name,
            subresource,
        } => {
            let Some(t) = state.registry.get(&group, &version, &plural).cloned() else {
                return Resolution::Answer(error(ApiError::not_found(
                    &group,
                    &plural,
                    name.as_deref().unwrap_or(""),
                )));
            };
            if let Some(sub) = subresource.as_deref()
                && !(sub == "status" && t.status_subresource)
            {
                return Resolution::Answer(error(ApiError::not_found(
                    &group,
                    &format!("{plural}/{sub}"),
                    name.as_deref().unwrap_or(""),
                )));
            }
            if t.namespaced != namespace.is_some()
                && !(namespace.is_none() && name.is_none() && parts.method == Method::GET)
            {
                return Resolution::Answer(error(ApiError::not_found(
                    &group,
                    &plural,
                    name.as_deref().unwrap_or(""),
                )));
            }
            Resolution::Resource(Box::new((
                t,
                namespace.unwrap_or_default(),
                name,
                subresource,
            )))
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn resource(
    shared: &Arc<Shared>,
    parts: &http::request::Parts,
    params: &HashMap<String, String>,
    t: &ResourceType,
    namespace: &str,
    name: Option<&str>,
    subresource: Option<&str>,
    body: Bytes,
) -> hyper::Response<Body> {
    let target = Target {
        resource: t,
        namespace,
    };
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let accept = parts
        .headers
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let watching = params.get("watch").is_some_and(|w| w == "true" || w == "1");
    let result = match (&parts.method, name) {
        (&Method::GET, _) if watching => return watch_stream(shared, t, namespace, name, params),
        (&Method::GET, Some(name)) => {
            let state = shared.lock();
            let ns = if t.namespaced { namespace } else { "" };
            match state.get(&t.store_key(), ns, name) {
                Some(object) => {
                    let object = present(t, object);
                    if accept.contains("as=Table") {
                        Ok(table(t, &[object], &state.rv.to_string()))
                    } else {
                        Ok(object)
                    }
                }
                None => Err(ApiError::not_found(&t.group, &t.plural, name)),
            }
        }
        (&Method::GET, None) => list(shared, t, namespace, params, accept.contains("as=Table")),
        (&Method::POST, None) => {
            return match parse_body(&content_type, &body)
                .and_then(|b| ops::create(&mut shared.lock(), &target, b))
            {
                Ok(object) => full(StatusCode::CREATED, &object),
                Err(e) => error(e),
            };
        }
        (&Method::PUT, Some(name)) => parse_body(&content_type, &body)
            .and_then(|b| ops::replace(&mut shared.lock(), &target, name, b, subresource, true)),
        (&Method::PATCH, Some(name)) => {
            let patch_type = if content_type.starts_with("application/merge-patch+json") {
                Ok(PatchType::Merge)
            } else if content_type.starts_with("application/json-patch+json") {
                Ok(PatchType::Json)
            } else if content_type.starts_with("application/strategic-merge-patch+json") {
                Ok(PatchType::Strategic)
            } else if content_type.starts_with("application/apply-patch+yaml") {
                match params.get("fieldManager").filter(|m| !m.is_empty()) {
                    Some(_) => Ok(PatchType::Apply {
                        force: params.get("force").is_some_and(|f| f == "true"),
                    }),
                    None => Err(ApiError::invalid(
                        "meta.k8s.io",
                        "PatchOptions",
                        "",
                        &[super::status::Cause::new(
                            "FieldValueRequired",
                            "fieldManager",
                            "Required value: is required for apply patch",
                        )],
                    )),
                }
            } else {
                Err(ApiError::unsupported_media_type(&content_type))
            };
            patch_type.and_then(|pt| {
                let body = parse_body(&content_type, &body)?;
                ops::patch(&mut shared.lock(), &target, name, pt, body, subresource)
            })
        }
        (&Method::DELETE, Some(name)) => {
            let options = if body.is_empty() {
                Value::Null
            } else {
                serde_json::from_slice(&body).unwrap_or(Value::Null)
            };
            ops::delete(&mut shared.lock(), &target, name, &options)
        }
        _ => Err(ApiError::method_not_allowed(format!(
            "the server does not allow this method on the requested resource ({} {})",
            parts.method, t.plural
        ))),
    };
    match result {
        Ok(object) => full(StatusCode::OK, &object),
        Err(e) => error(e),
    }
}

fn selectors(params: &HashMap<String, String>) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(
        params
            .get("labelSelector")
            .map(String::as_str)
            .unwrap_or(""),
    )?;
    let fields = FieldSelector::parse(
        params
            .get("fieldSelector")
            .map(String::as_str)
            .unwrap_or(""),
    )?;
    Ok((labels, fields))
}

fn list(
    shared: &Arc<Shared>,
    t: &ResourceType,
    namespace: &str,
    params: &HashMap<String, String>,
    as_table: bool,
) -> Result<Value, ApiError> {
    let (labels, fields) = selectors(params)?;
    let state = shared.lock();
    let empty = Default::default();
    let bucket = state.objects.get(&t.store_key()).unwrap_or(&empty);
    let start_after: Option<(String, String)> = match params
        .get("continue")
        .filter(|c| !c.is_empty())
    {
        Some(token) => {
            let decoded =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<(String, String)>(&b).ok())
                    .ok_or_else(|| ApiError::bad_request("invalid continue token"))?;
            Some(decoded)
        }
        None => None,
    };
    let limit = params
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let matching: Vec<(&(String, String), &Value)> = bucket
        .iter()
        .filter(|((ns, _), _)| namespace.is_empty() || ns == namespace)
        .filter(|(key, _)| start_after.as_ref().is_none_or(|after| *key > after))
        .filter(|(_, o)| labels.matches(o) && fields.matches(o))
        .collect();
    let (page, rest) = match limit {
        Some(limit) if matching.len() > limit => (&matching[..limit], matching.len() - limit),
        _ => (&matching[..], 0),
    };
    let items: Vec<Value> = page.iter().map(|(_, o)| present(t, o)).collect();
    let rv = state.rv.to_string();
    if as_table {
        return Ok(table(t, &items, &rv));
    }
    let mut metadata = json!({"resourceVersion": rv});
    if rest > 0
        && let Some((key, _)) = page.last()
    {
        let token = base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            serde_json::to_vec(key).unwrap_or_default(),
        );
        metadata["continue"] = json!(token);
        metadata["remainingItemCount"] = json!(rest);
    }
    Ok(
        json!({"apiVersion": t.api_version(), "kind": format!("{}List", t.kind), "metadata": metadata, "items": items}),
    )
}

/// A `meta.k8s.io/v1` Table with the CRD's printer columns, for `kubectl get`.
fn table(t: &ResourceType, items: &[Value], rv: &str) -> Value {
    let columns = printer_columns(t);
    let mut definitions = vec![
        json!({"name": "Name", "type": "string", "format": "name", "description": "Name", "priority": 0}),
    ];
    for c in &columns {
        definitions.push(json!({"name": c["name"], "type": c["type"], "format": c.get("format").cloned().unwrap_or(json!("")), "description": c.get("description").cloned().unwrap_or(json!("")), "priority": c.get("priority").cloned().unwrap_or(json!(0))}));
    }
    if !columns.iter().any(|c| c["name"] == "Age") {
        definitions.push(
            json!({"name": "Age", "type": "date", "format": "", "description": "", "priority": 0}),
        );
    }
    let rows: Vec<Value> = items
        .iter()
        .map(|item| {
            let mut cells = vec![item["metadata"]["name"].clone()];
            for c in &columns {
                let path = c["jsonPath"].as_str().unwrap_or_default();
                cells.push(super::jsonpath::lookup(item, path));
            }
            if !columns.iter().any(|c| c["name"] == "Age") {
                cells.push(item["metadata"]["creationTimestamp"].clone());
            }
            let partial = json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": item["metadata"]});
            json!({"cells": cells, "object": partial})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": rv}, "columnDefinitions": definitions, "rows": rows})
}

fn printer_columns(t: &ResourceType) -> Vec<Value> {
    t.printer_columns.clone()
}

/// A watch: replayed history (or the current objects), then live changes, bookmarks when asked,
/// until `timeoutSeconds`, a fault, or the client leaves.
fn watch_stream(
    shared: &Arc<Shared>,
    t: &ResourceType,
    namespace: &str,
    name: Option<&str>,
    params: &HashMap<String, String>,
) -> hyper::Response<Body> {
    let (labels, mut fields) = match selectors(params) {
        Ok(s) => s,
        Err(e) => return error(e),
    };
    if let Some(name) = name {
        fields = FieldSelector::parse(&format!("metadata.name={name}")).unwrap_or(fields);
    }
    let key = t.store_key();
    let matches = {
        let (namespace, key) = (namespace.to_owned(), key.clone());
        move |change_key: &(String, String), object: &Value| {
            *change_key == key
                && (namespace.is_empty()
                    || object["metadata"]["namespace"].as_str() == Some(namespace.as_str()))
                && labels.matches(object)
                && fields.matches(object)
        }
    };
    let state = shared.lock();
    let mut initial: Vec<Value> = Vec::new();
    let requested: Option<u64> = params
        .get("resourceVersion")
        .filter(|v| !v.is_empty() && *v != "0")
        .and_then(|v| v.parse().ok());
    match requested {
        Some(from) if from < state.oldest_replayable => {
            let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                "message": format!("too old resource version: {from} ({})", state.oldest_replayable), "reason": "Expired", "code": 410});
            initial.push(json!({"type": "ERROR", "object": status}));
            let body = lines(initial);
            return stream_response(futures::stream::iter(body).boxed());
        }
        Some(from) => {
            for change in state.history.iter().filter(|c| c.rv > from) {
                if matches(&change.key, &change.object) {
                    initial.push(
                        json!({"type": change.event_type, "object": present(t, &change.object)}),
                    );
                }
            }
        }
        None => {
            for ((ns, _), object) in state.objects.get(&key).into_iter().flatten() {
                if matches(&key, object) && (namespace.is_empty() || ns == namespace) {
                    initial.push(json!({"type": "ADDED", "object": present(t, object)}));
                }
            }
        }
    }
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let bookmark = {
        let t = t.clone();
        move |rv: u64| json!({"type": "BOOKMARK", "object": {"kind": t.kind, "apiVersion": t.api_version(), "metadata": {"resourceVersion": rv.to_string()}}})
    };
    if bookmarks {
        initial.push(bookmark(state.rv));
    }
    let receiver = state.changes.subscribe();
    drop(state);
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(Duration::from_secs);
    let deadline = tokio::time::Instant::now() + timeout.unwrap_or(Duration::from_secs(30 * 60));
    let closer = shared.close_watches.subscribe();
    let interval = shared.bookmark_interval;
    let shared_for_rv = shared.clone();
    let t = t.clone();
    struct Live {
        receiver: broadcast::Receiver<Arc<Change>>,
        closer: watch::Receiver<u64>,
    }
    let live = futures::stream::unfold(Live { receiver, closer }, move |mut live| {
        let matches = matches.clone();
        let t = t.clone();
        let bookmark = bookmark.clone();
        let shared = shared_for_rv.clone();
        async move {
            loop {
                let tick = tokio::time::sleep(interval);
                tokio::select! {
                    change = live.receiver.recv() => match change {
                        Ok(change) if matches(&change.key, &change.object) => {
                            let event = json!({"type": change.event_type, "object": present(&t, &change.object)});
                            return Some((line(&event), live));
                        }
                        Ok(_) => continue,
                        // Too slow to keep up, or the server stopped: end the watch; the client resumes.
                        Err(_) => return None,
                    },
                    _ = live.closer.changed() => return None,
                    _ = tokio::time::sleep_until(deadline) => return None,
                    _ = tick, if bookmarks => {
                        let rv = shared.lock().rv;
                        return Some((line(&bookmark(rv)), live));
                    }
                }
            }
        }
    });
    let stream = futures::stream::iter(lines(initial)).chain(live).boxed();
    stream_response(stream)
}

fn line(event: &Value) -> Bytes {
    let mut bytes = serde_json::to_vec(event).unwrap_or_default();
    bytes.push(b'\n');
    Bytes::from(bytes)
}

fn lines(events: Vec<Value>) -> Vec<Bytes> {
    events.iter().map(line).collect()
}

fn stream_response(stream: futures::stream::BoxStream<'static, Bytes>) -> hyper::Response<Body> {
    let frames = stream.map(|bytes| Ok::<_, Infallible>(Frame::data(bytes)));
    let mut response = hyper::Response::new(BodyExt::boxed_unsync(StreamBody::new(frames)));
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response.headers_mut().insert(
        http::header::TRANSFER_ENCODING,
        http::HeaderValue::from_static("chunked"),
    );
    response
}
