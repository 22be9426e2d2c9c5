//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several operator processes
//! only one reconciles and calls a cloud.
//!
//! The rules are client-go's: the holder renews the Lease every `renew_every`; a candidate
//! takes it when it is free, or when it has not changed for a whole `duration` as measured by
//! the candidate's own clock (so clock skew between nodes does not matter). Every write is a
//! replace with the `resourceVersion` that was read, so of two candidates only one wins. A
//! holder that cannot renew for `renew_deadline` stops leading at once; one that stops on
//! purpose clears the holder, and candidates, which watch the Lease, take over immediately.

use std::future::Future;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::time::Instant;

/// Which Lease, who is asking, and how long a holder keeps it.
#[derive(Debug, Clone)]
pub struct Election {
    pub lease_name: String,
    pub namespace: String,
    /// Unique per process (the pod name).
    pub identity: String,
    /// How long a Lease that stopped changing is still honoured.
    pub duration: Duration,
}

impl Election {
    /// The holder renews three times per duration.
    fn renew_every(&self) -> Duration {
        self.duration / 3
    }

    /// A holder that could not renew for this long stops leading (before others may take over).
    fn renew_deadline(&self) -> Duration {
        self.duration * 2 / 3
    }

    /// How often a candidate looks again when the watch says nothing.
    fn retry_every(&self) -> Duration {
        (self.duration / 5).max(Duration::from_millis(500))
    }
}

/// Why leading ended without being asked to.
#[derive(Debug, thiserror::Error)]
pub enum ElectionError {
    #[error("the Lease {namespace}/{name} cannot be used: {source}")]
    Api {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "lost the Lease {namespace}/{name} (now held by {holder}); exiting so that a restart begins as a standby"
    )]
    Lost {
        namespace: String,
        name: String,
        holder: String,
    },
}

/// What a process knows of the Lease: the last version it read, and when that version changed
/// as seen by this process.
struct Observed {
    lease: Option<Lease>,
    changed_at: Instant,
}

struct Lock {
    api: Api<Lease>,
    election: Election,
    seen: Observed,
}

fn now() -> MicroTime {
    MicroTime(k8s_openapi::jiff::Timestamp::now())
}

fn holder(lease: &Lease) -> Option<&str> {
    lease
        .spec
        .as_ref()
        .and_then(|s| s.holder_identity.as_deref())
        .filter(|h| !h.is_empty())
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

impl Lock {
    fn new(client: Client, election: Election) -> Self {
        Self {
            api: Api::namespaced(client, &election.namespace),
            election,
            seen: Observed {
                lease: None,
                changed_at: Instant::now(),
            },
        }
    }

    fn error(&self, source: kube::Error) -> ElectionError {
        ElectionError::Api {
            namespace: self.election.namespace.clone(),
            name: self.election.lease_name.clone(),
            source,
        }
    }

    /// Reads the Lease and notes when it last changed.
    async fn read(&mut self) -> Result<Option<Lease>, ElectionError> {
        let lease = self
            .api
            .get_opt(&self.election.lease_name)
            .await
            .map_err(|e| self.error(e))?;
        let version =
            |l: &Option<Lease>| l.as_ref().and_then(|l| l.metadata.resource_version.clone());
        if version(&lease) != version(&self.seen.lease) {
            self.seen.changed_at = Instant::now();
        }
        self.seen.lease = lease.clone();
        Ok(lease)
    }

    fn spec(&self, acquired: Option<MicroTime>, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.election.identity.clone()),
            lease_duration_seconds: i32::try_from(self.election.duration.as_secs()).ok(),
            acquire_time: acquired.or_else(|| Some(now())),
            renew_time: Some(now()),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }

    /// Takes the Lease if it is free, expired or already ours; `false` when someone else holds
    /// it or won the race.
    async fn try_acquire(&mut self) -> Result<bool, ElectionError> {
        let Some(mut lease) = self.read().await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.election.lease_name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(None, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(e) if is_conflict(&e) => Ok(false),
                Err(e) => Err(self.error(e)),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let ours = holder(&lease) == Some(self.election.identity.as_str());
        let expired = self.seen.changed_at.elapsed() >= self.election.duration;
        if !ours && holder(&lease).is_some() && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0);
        lease.spec = Some(if ours {
            self.spec(spec.acquire_time, transitions)
        } else {
            self.spec(None, transitions.saturating_add(1))
        });
        match self
            .api
            .replace(&self.election.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_conflict(&e) => Ok(false),
            Err(e) => Err(self.error(e)),
        }
    }

    /// Clears the holder, if it is still this process, so a candidate takes over at once.
    async fn release(&mut self) {
        let Ok(Some(mut lease)) = self.read().await else {
            return;
        };
        if holder(&lease) != Some(self.election.identity.as_str()) {
            return;
        }
        if let Some(spec) = lease.spec.as_mut() {
            spec.holder_identity = None;
            spec.lease_duration_seconds = Some(1);
            spec.renew_time = Some(now());
        }
        let released = self
            .api
            .replace(&self.election.lease_name, &PostParams::default(), &lease)
            .await;
        match released {
            Ok(_) => tracing::info!(lease = %self.election.lease_name, "released the leader Lease"),
            Err(error) => tracing::warn!(%error, "could not release the leader Lease"),
        }
    }

    fn lost(&self) -> ElectionError {
        ElectionError::Lost {
            namespace: self.election.namespace.clone(),
            name: self.election.lease_name.clone(),
            holder: self
                .seen
                .lease
                .as_ref()
                .and_then(holder)
                .unwrap_or("nobody")
                .to_owned(),
        }
    }
}

/// Waits as a candidate until this process holds the Lease (`true`), or until `shutdown`
/// (`false`).
async fn campaign(lock: &mut Lock, shutdown: &mut (impl Future<Output = ()> + Unpin)) -> bool {
    let config =
        watcher::Config::default().fields(&format!("metadata.name={}", lock.election.lease_name));
    // Backed off on errors, so an unreachable API server is not asked in a loop.
    let mut changes = watcher(lock.api.clone(), config).default_backoff().boxed();
    loop {
        match lock.try_acquire().await {
            Ok(true) => return true,
            Ok(false) => {}
            // A standby survives API server trouble; it tries again below.
            Err(error) => tracing::warn!(%error, "could not read or take the leader Lease"),
        }
        tokio::select! {
            () = &mut *shutdown => return false,
            // A released or changed Lease is looked at again at once.
            _ = changes.next() => {}
            () = tokio::time::sleep(lock.election.retry_every()) => {}
        }
    }
}

/// Renews the Lease until renewing fails for `renew_deadline` or someone else holds it.
async fn hold(lock: &mut Lock) -> ElectionError {
    let mut renewed = Instant::now();
    loop {
        tokio::time::sleep(lock.election.renew_every()).await;
        match lock.try_acquire().await {
            Ok(true) => renewed = Instant::now(),
            Ok(false) => return lock.lost(),
            Err(error) if renewed.elapsed() >= lock.election.renew_deadline() => return error,
            Err(error) => tracing::warn!(%error, "could not renew the leader Lease; retrying"),
        }
    }
}

/// Runs `work` only while this process holds the Lease. `on_role` hears `true` when it starts
/// leading. Returns when `shutdown` completes (after `work` finished and the Lease was
/// released), or with an error when leadership is lost, dropping `work` at once so two
/// leaders never act together.
pub async fn lead<W, F>(
    client: Client,
    election: Election,
    shutdown: impl Future<Output = ()> + Send + 'static,
    on_role: impl Fn(bool),
    work: W,
) -> anyhow::Result<()>
where
    W: FnOnce(futures::channel::oneshot::Receiver<()>) -> F,
    F: Future<Output = anyhow::Result<()>>,
{
    let mut lock = Lock::new(client, election);
    let mut shutdown = Box::pin(shutdown);
    on_role(false);
    tracing::info!(
        lease = %lock.election.lease_name,
        namespace = %lock.election.namespace,
        identity = %lock.election.identity,
        "standing by for the leader Lease"
    );
    if !campaign(&mut lock, &mut shutdown).await {
        return Ok(());
    }
    tracing::info!(identity = %lock.election.identity, "leading: holding the leader Lease");
    on_role(true);
    let (stop, stopped) = futures::channel::oneshot::channel();
    let mut stop = Some(stop);
    let result = {
        let work = work(stopped);
        // Renewed until `work` is done, also while it drains after `shutdown`.
        let holding = hold(&mut lock);
        tokio::pin!(work, holding);
        loop {
            tokio::select! {
                result = &mut work => break result,
                () = &mut shutdown, if stop.is_some() => {
                    if let Some(stop) = stop.take() {
                        let _ = stop.send(());
                    }
                }
                lost = &mut holding => return Err(lost.into()),
            }
        }
    };
    lock.release().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_holder_renews_and_gives_up_before_anyone_may_take_over() {
        let election = Election {
            lease_name: "l".into(),
            namespace: "n".into(),
            identity: "a".into(),
            duration: Duration::from_secs(15),
        };
        assert_eq!(election.renew_every(), Duration::from_secs(5));
        assert_eq!(election.renew_deadline(), Duration::from_secs(10));
        assert!(election.renew_deadline() < election.duration);
        assert!(election.retry_every() < election.duration);
    }
}
