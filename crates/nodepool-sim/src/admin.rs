//! The simulator's own endpoints under `/_sim/` (no authentication; bind the simulator to
//! loopback or a private network):
//!
//! | call | what it does |
//! |---|---|
//! | `GET /_sim/health` | `{"status":"ok"}` |
//! | `GET /_sim/pools` | every pool of every cloud ([`PoolView`]) |
//! | `GET /_sim/requests?cloud=&operation=` | recorded requests ([`RecordedRequest`]) |
//! | `DELETE /_sim/requests` | forget recorded requests |
//! | `GET /_sim/faults` | installed fault rules with their hit counts |
//! | `POST /_sim/faults` | install a [`FaultRule`]; answers `{"id": N}` |
//! | `DELETE /_sim/faults` | remove every fault rule |
//! | `DELETE /_sim/faults/{id}` | remove one fault rule |
//! | `POST /_sim/faults/seed` | `{"seed": N}` restarts the fault random source |
//! | `POST /_sim/pools/{cloud}/{id}/autoscale` | `{"count": N}`: the cloud-side autoscaler sets the pool's node count |
//!
//! [`RecordedRequest`]: super::request::RecordedRequest

use std::time::Instant;

use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Sim;
use super::dispatch::Incoming;
use super::faults::FaultRule;
use super::request::Cloud;
use super::response::SimResponse;

/// One pool as `GET /_sim/pools` shows it, the same shape for every cloud.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolView {
    pub cloud: Cloud,
    /// The cloud's id (CCE uid, ModelArts name, ENS NodepoolId).
    pub id: String,
    pub name: String,
    /// Parent CCE cluster, ModelArts resource pool or ENS cluster.
    pub parent: String,
    pub desired: u32,
    pub current: u32,
    pub creating: u32,
    pub deleting: u32,
    /// The cloud's own state word (CCE phase, ENS State, ModelArts derived bucket).
    pub state: String,
    /// Nodes wanted but not available (sold out).
    pub shortfall: u32,
}

pub fn pools(sim: &Sim, now: Instant) -> Vec<PoolView> {
    let world = sim.world(now);
    let mut views = world.cce.views();
    views.extend(world.modelarts.views());
    views.extend(world.ens.views());
    views
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AutoscaleBody {
    count: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeedBody {
    seed: u64,
}

pub fn handle(sim: &Sim, req: &Incoming) -> SimResponse {
    let segments: Vec<&str> = req
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .skip(1)
        .collect();
    let ok = |body: serde_json::Value| SimResponse::json(StatusCode::OK, &body);
    match (&req.method, segments.as_slice()) {
        (&Method::GET, ["health"]) => ok(json!({"status": "ok"})),
        (&Method::GET, ["pools"]) => SimResponse::json(StatusCode::OK, &pools(sim, req.instant)),
        (&Method::GET, ["requests"]) => {
            let filters = req.query_pairs();
            let wanted = |key: &str| filters.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            let entries: Vec<_> = sim
                .requests
                .snapshot()
                .into_iter()
                .filter(|r| {
                    wanted("cloud").is_none_or(|c| r.cloud.is_some_and(|rc| rc.as_str() == c))
                        && wanted("operation").is_none_or(|o| &r.operation == o)
                })
                .collect();
            SimResponse::json(StatusCode::OK, &entries)
        }
        (&Method::DELETE, ["requests"]) => {
            sim.requests.clear();
            ok(json!({}))
        }
        (&Method::GET, ["faults"]) => SimResponse::json(StatusCode::OK, &sim.faults.list()),
        (&Method::POST, ["faults"]) => match serde_json::from_slice::<FaultRule>(&req.body) {
            Ok(rule) => match rule.validate() {
                Ok(()) => ok(json!({"id": sim.faults.add(rule)})),
                Err(message) => admin_error(StatusCode::BAD_REQUEST, &message),
            },
            Err(error) => admin_error(
                StatusCode::BAD_REQUEST,
                &format!("invalid fault rule: {error}"),
            ),
        },
        (&Method::POST, ["faults", "seed"]) => {
            match serde_json::from_slice::<SeedBody>(&req.body) {
                Ok(body) => {
                    sim.faults.reseed(body.seed);
                    ok(json!({}))
                }
                Err(error) => {
                    admin_error(StatusCode::BAD_REQUEST, &format!("invalid body: {error}"))
                }
            }
        }
        (&Method::DELETE, ["faults"]) => {
            sim.faults.clear();
            ok(json!({}))
        }
        (&Method::DELETE, ["faults", id]) => match id.parse::<u64>() {
            Ok(id) if sim.faults.remove(id) => ok(json!({})),
            _ => admin_error(StatusCode::NOT_FOUND, &format!("no fault rule {id}")),
        },
        (&Method::POST, ["pools", cloud, id, "autoscale"]) => {
            let body = match serde_json::from_slice::<AutoscaleBody>(&req.body) {
                Ok(body) => body,
                Err(error) => {
                    return admin_error(StatusCode::BAD_REQUEST, &format!("invalid body: {error}"));
                }
            };
            let cloud_kind = match *cloud {
                "cce" => Cloud::Cce,
                "modelarts" => Cloud::ModelArts,
                "ens" => Cloud::Ens,
                _ => return admin_error(StatusCode::NOT_FOUND, &format!("no cloud {cloud}")),
            };
            let found = sim.world(req.instant).set_target(
                &sim.config,
                cloud_kind,
                id,
                body.count,
                req.instant,
            );
            if found {
                ok(json!({}))
            } else {
                admin_error(StatusCode::NOT_FOUND, &format!("no {cloud} pool {id}"))
            }
        }
        _ => admin_error(
            StatusCode::NOT_FOUND,
            "unknown simulator endpoint; see /_sim/health",
        ),
    }
}

fn admin_error(status: StatusCode, message: &str) -> SimResponse {
    SimResponse::json(status, &json!({"error": message}))
}
