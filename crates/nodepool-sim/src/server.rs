//! The HTTP front: accepts connections, reads each request with a size and time limit, hands it
//! to the dispatcher and writes the answer (or drops the connection when a fault says so).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming as IncomingBody;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::Sim;
use super::dispatch::{Incoming, dispatch};
use super::response::{Outcome, SimResponse};

/// Largest request body accepted (the real gateways accept a few MiB at most).
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// A client that does not finish sending its request in this time is cut off.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Error type that makes hyper close the connection without a response.
#[derive(Debug)]
struct DroppedByFault;

impl std::fmt::Display for DroppedByFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by a fault rule")
    }
}

impl std::error::Error for DroppedByFault {}

/// Accepts connections until `shutdown` turns true.
pub async fn serve(listener: TcpListener, sim: Arc<Sim>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => return,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(error) => {
                tracing::warn!(%error, "accept failed");
                continue;
            }
        };
        let sim = sim.clone();
        let mut shutdown = shutdown.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| handle(sim.clone(), req, peer));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, %peer, "connection closed");
                    }
                }
                _ = shutdown.changed() => connection.as_mut().graceful_shutdown(),
            }
        });
    }
}

async fn handle(
    sim: Arc<Sim>,
    req: hyper::Request<IncomingBody>,
    _peer: SocketAddr,
) -> Result<hyper::Response<Full<Bytes>>, DroppedByFault> {
    let (parts, body) = req.into_parts();
    let body = match tokio::time::timeout(
        READ_TIMEOUT,
        Limited::new(body, MAX_BODY_BYTES).collect(),
    )
    .await
    {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(_)) => {
            return Ok(to_hyper(SimResponse::gateway_error(
                http::StatusCode::PAYLOAD_TOO_LARGE,
                "APIG.0201",
                "Request body too large or unreadable.",
            )));
        }
        Err(_) => {
            return Ok(to_hyper(SimResponse::gateway_error(
                http::StatusCode::REQUEST_TIMEOUT,
                "APIG.0201",
                "Request body not received in time.",
            )));
        }
    };
    let incoming = Incoming::new(parts, body);
    match dispatch(&sim, incoming).await {
        Outcome::Respond(response) => Ok(to_hyper(response)),
        Outcome::Drop => Err(DroppedByFault),
    }
}

fn to_hyper(response: SimResponse) -> hyper::Response<Full<Bytes>> {
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(*name, value.as_str());
    }
    builder
        .body(Full::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            let mut fallback = hyper::Response::new(Full::new(Bytes::new()));
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}
