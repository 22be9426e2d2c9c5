//! The request pipeline shared by the three clouds:
//! route (cloud + operation) -> authenticate -> faults -> flow control -> cloud handler -> record.
//! A `DropAfterServing` fault runs the handler and then turns its answer into a dropped connection;
//! a `HoldAnswer` fault runs it, records it and only then waits before answering.

use std::time::Instant;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, StatusCode};

use super::auth::{self, Principal};
use super::faults::FaultEffect;
use super::request::{Cloud, RecordedRequest, mask_secrets};
use super::response::{Outcome, SimResponse};
use super::route::{Route, route};
use super::{Sim, admin, clouds, iam};

/// A fully read request.
#[derive(Debug, Clone)]
pub struct Incoming {
    pub method: Method,
    /// The raw path as sent (percent-encoded).
    pub path: String,
    /// The raw query string, without `?`.
    pub query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Wall-clock arrival time (signatures, timestamps in answers).
    pub now: DateTime<Utc>,
    /// Monotonic arrival time (provisioning clock, flow control).
    pub instant: Instant,
}

impl Incoming {
    pub fn new(parts: http::request::Parts, body: Bytes) -> Self {
        Self {
            method: parts.method,
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts.headers,
            body,
            now: Utc::now(),
            instant: Instant::now(),
        }
    }

    /// Decoded query parameters, in order.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        form_urlencoded::parse(self.query.as_bytes())
            .into_owned()
            .collect()
    }

    /// Form-encoded body parameters (Alibaba RPC accepts parameters in the body too).
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        let is_form = self
            .header("content-type")
            .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
        if is_form {
            form_urlencoded::parse(&self.body).into_owned().collect()
        } else {
            Vec::new()
        }
    }

    /// Every RPC parameter: the query string's, then the form body's.
    pub fn rpc_params(&self) -> Vec<(String, String)> {
        let mut params = self.query_pairs();
        params.extend(self.form_pairs());
        params
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// What the handler reports for the request log besides the response itself.
#[derive(Debug, Default)]
pub struct Notes {
    pub body: Option<serde_json::Value>,
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
    /// How long a `HoldAnswer` fault keeps the (already recorded) answer back.
    pub hold: Option<std::time::Duration>,
}

pub async fn dispatch(sim: &Sim, req: Incoming) -> Outcome {
    let route = route(&req);
    if let Route::Admin = route {
        return Outcome::Respond(admin::handle(sim, &req));
    }
    let (cloud, operation) = route.cloud_and_operation();
    let mut record = RecordedRequest {
        seq: 0,
        time: req.now.to_rfc3339(),
        cloud,
        operation: operation.clone(),
        method: req.method.to_string(),
        path: req.path.clone(),
        status: None,
        error_code: None,
        principal: None,
        fault: None,
        body: None,
        params: None,
    };
    let (outcome, notes) = serve(sim, &req, &route, &mut record).await;
    if let Outcome::Respond(response) = &outcome {
        record.status = Some(response.status.as_u16());
        record.error_code.clone_from(&response.error_code);
    }
    record.body = notes.body.or_else(|| json_body(&req));
    record.params = notes.params;
    sim.requests.push(record);
    if let Some(hold) = notes.hold {
        tokio::time::sleep(hold).await;
    }
    outcome
}

async fn serve(
    sim: &Sim,
    req: &Incoming,
    route: &Route,
    record: &mut RecordedRequest,
) -> (Outcome, Notes) {
    let cloud = record.cloud;
    let respond = |response| (Outcome::Respond(response), Notes::default());

    let principal = match route {
        Route::Iam | Route::Unknown(_) | Route::Admin => None,
        _ => match auth::authenticate(sim, req, route) {
            Ok(principal) => Some(principal),
            Err(response) => return respond(response),
        },
    };
    record.principal = principal.as_ref().map(Principal::name);

    let mut drop_after_serving = false;
    let mut hold = None;
    if let Some(cloud) = cloud
        && let Some(effect) = sim.faults.decide(cloud, &record.operation)
    {
        record.fault = Some(format!("{effect:?}"));
        match effect {
            FaultEffect::Error { status } => {
                let status =
                    StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                return respond(SimResponse::server_error(Some(cloud), status));
            }
            FaultEffect::Throttle => return respond(SimResponse::throttled(Some(cloud))),
            FaultEffect::Refuse {
                status,
                code,
                message,
            } => {
                let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
                return respond(SimResponse::refused(Some(cloud), status, &code, &message));
            }
            FaultEffect::Drop => return (Outcome::Drop, Notes::default()),
            FaultEffect::Latency { millis } => {
                tokio::time::sleep(std::time::Duration::from_millis(millis)).await;
            }
            FaultEffect::DropAfterServing => drop_after_serving = true,
            FaultEffect::HoldAnswer { millis } => {
                hold = Some(std::time::Duration::from_millis(millis));
            }
        }
    }

    let (outcome, mut notes) = run_handler(sim, req, route, principal, cloud);
    notes.hold = hold;
    if drop_after_serving {
        // The state change has happened; only the answer is lost. The log keeps no status (no
        // answer was delivered) but names the status the client would have received.
        if let Outcome::Respond(response) = &outcome {
            record.fault = Some(format!(
                "{:?} {{ served: {} }}",
                FaultEffect::DropAfterServing,
                response.status.as_u16()
            ));
        }
        return (Outcome::Drop, notes);
    }
    (outcome, notes)
}

/// The cloud handler (or IAM, or the unknown-API answer) for an authenticated request.
fn run_handler(
    sim: &Sim,
    req: &Incoming,
    route: &Route,
    principal: Option<Principal>,
    cloud: Option<Cloud>,
) -> (Outcome, Notes) {
    let respond = |response| (Outcome::Respond(response), Notes::default());
    match (route, principal) {
        (Route::Iam, _) => respond(iam::issue_token(sim, req)),
        (Route::Cce(op), Some(principal)) => respond(clouds::cce::handle(sim, req, op, &principal)),
        (Route::ModelArts(op), Some(principal)) => {
            respond(clouds::modelarts::handle(sim, req, op, &principal))
        }
        (Route::Ens(_), Some(principal)) => clouds::ens::handle(sim, req, &principal),
        (Route::Unknown(cloud), _) => respond(unknown_api(*cloud)),
        // Authentication always yields a principal for cloud routes.
        _ => respond(SimResponse::server_error(
            cloud,
            StatusCode::INTERNAL_SERVER_ERROR,
        )),
    }
}

fn unknown_api(cloud: Option<Cloud>) -> SimResponse {
    match cloud {
        Some(Cloud::Ens) => SimResponse::ens_error(
            StatusCode::NOT_FOUND,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        ),
        _ => SimResponse::gateway_error(
            StatusCode::NOT_FOUND,
            "APIG.0101",
            "The API does not exist or has not been published in the environment.",
        ),
    }
}

/// The request body as recorded: JSON bodies only, secrets masked.
fn json_body(req: &Incoming) -> Option<serde_json::Value> {
    let mut value: serde_json::Value = serde_json::from_slice(&req.body).ok()?;
    mask_secrets(&mut value);
    Some(value)
}
