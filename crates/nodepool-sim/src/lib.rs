//! `nodepool-sim`: a local simulator of the Huawei Cloud CCE v3 and ModelArts v2 node-pool APIs,
//! Huawei IAM tokens, and the Alibaba Cloud ENS (2017-11-10) cluster node-pool actions.
//!
//! One port serves all of them (CCE `/api/v3/...`, ModelArts `/v2/...`, IAM
//! `POST /v3/auth/tokens`, ENS RPC `POST /`), with in-memory state, real signature verification,
//! the clouds' validation rules and error bodies, nodes provisioned on a clock, per-user flow
//! control for ENS, fault injection and request recording. See `docs/simulator.md` for the
//! admin endpoints and the configuration file.
//!
//! Known differences from the real clouds:
//! - Only node pools (and the CCE jobs their deletion starts) exist; clusters, resource pools
//!   and ENS clusters are fixed by configuration and cannot be created through the API.
//! - CCE `phase` is `Synchronizing` while nodes are created or deleted and `""` when settled;
//!   the real cloud's use of `Synchronizing`/`Synchronized` is contradictory in its own
//!   documents. `currentNode` counts every node not being deleted (nodes being created
//!   included), as the documents define it; `activeNode` counts ready nodes.
//! - ENS pool states `active`, `scaling`, `removing` and `deleting` follow Alibaba's managed
//!   Kubernetes node pools; ENS documents only `active`. ENS accepts duplicate pool names (its
//!   naming rules are undocumented), so a client that creates twice gets two pools, as it could
//!   in the real cloud.
//! - ENS flow control counts writes (create, scale, modify, delete pool, delete nodes) and
//!   reads per access key in a rolling second; the real cloud keeps a quota per action.
//! - `InvalidAccessKeyId.NotFound` is answered with HTTP 404 as Alibaba's error centre lists it.
//! - ModelArts rejects a duplicate node-pool name with 400 `ModelArts.50004000`; the real code
//!   for that case is undocumented.
//! - Nothing is persisted; TLS is not served (put a TLS proxy in front if a client insists).

pub mod admin;
mod auth;
pub mod cli;
pub mod clouds;
pub mod config;
mod dispatch;
pub mod faults;
mod iam;
mod provision;
mod ratelimit;
pub mod request;
mod response;
mod route;
mod server;
mod world;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The request pipeline without the HTTP server in front, for the fuzz targets and property
/// tests: a request as the server hands it over ([`fuzzing::Incoming`]), the dispatcher that
/// routes, authenticates and serves it, and what it answers.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::dispatch::{Incoming, dispatch};
    pub use crate::response::{Outcome, SimResponse};
}

pub use config::SimConfig;
pub use faults::{FaultEffect, FaultRule};
pub use request::{Cloud, RecordedRequest};

use faults::Faults;
use ratelimit::RateLimiter;
use request::RequestLog;
use world::World;

/// Default listen address of `nodepool-sim`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8787";

/// Shared state of a running simulator.
#[derive(Debug)]
pub struct Sim {
    pub(crate) config: SimConfig,
    world: Mutex<World>,
    pub(crate) faults: Faults,
    pub(crate) requests: RequestLog,
    pub(crate) limiter: RateLimiter,
    /// IAM tokens issued: token -> (project id, user, expiry).
    pub(crate) tokens: Mutex<HashMap<String, iam::IssuedToken>>,
    /// Alibaba signature nonces seen recently: (access key, nonce) -> first use.
    pub(crate) nonces: Mutex<HashMap<(String, String), Instant>>,
}

impl Sim {
    pub fn new(config: SimConfig) -> Self {
        Self {
            world: Mutex::new(World::new(&config)),
            faults: Faults::new(config.fault_seed, config.faults.clone()),
            requests: RequestLog::new(100_000),
            limiter: RateLimiter::default(),
            tokens: Mutex::new(HashMap::new()),
            nonces: Mutex::new(HashMap::new()),
            config,
        }
    }

    /// The world after time has passed up to `now`.
    pub(crate) fn world(&self, now: Instant) -> MutexGuard<'_, World> {
        let mut world = self.world.lock().unwrap_or_else(|e| e.into_inner());
        world.advance(&self.config, now);
        world
    }
}

/// A simulator serving on a local port; stops when dropped or on [`RunningSim::shutdown`].
#[derive(Debug)]
pub struct RunningSim {
    addr: SocketAddr,
    sim: Arc<Sim>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl RunningSim {
    /// Binds `listen` (use port 0 for a free port) and starts serving.
    pub async fn start(config: SimConfig, listen: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let sim = Arc::new(Sim::new(config));
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(server::serve(listener, sim.clone(), stopped));
        Ok(Self {
            addr,
            sim,
            stop,
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests served so far (the same list as `GET /_sim/requests`).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.sim.requests.snapshot()
    }

    /// Every pool of every cloud (the same list as `GET /_sim/pools`).
    pub fn pools(&self) -> Vec<admin::PoolView> {
        admin::pools(&self.sim, Instant::now())
    }

    /// Installs a fault rule; returns its id.
    pub fn add_fault(&self, rule: FaultRule) -> Result<u64, String> {
        rule.validate()?;
        Ok(self.sim.faults.add(rule))
    }

    pub fn clear_faults(&self) {
        self.sim.faults.clear();
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
