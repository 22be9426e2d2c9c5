//! Waiting for the CloudAccount and Secret caches to be filled, by any number of reconciles at
//! once.

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use k8s_openapi::api::core::v1::Secret;
use kube::api::PartialObjectMeta;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::Store;

use crate::api::CloudAccount;

/// Completes, for every waiter, once both caches have been listed in full.
///
/// kube-runtime's `Store::wait_until_ready` keeps the waker of only the last task that polled
/// it, so of several reconciles waiting at once all but one would sleep until something else
/// woke them (their timeout). One shared future waits on the stores instead, and it wakes every
/// task that waits on it.
#[derive(Clone)]
pub struct CachesFilled(Shared<BoxFuture<'static, ()>>);

impl CachesFilled {
    pub fn new(
        accounts: Store<DeserializeGuard<CloudAccount>>,
        secrets: Store<PartialObjectMeta<Secret>>,
    ) -> Self {
        let both = async move {
            let _ = accounts.wait_until_ready().await;
            let _ = secrets.wait_until_ready().await;
        };
        Self(both.boxed().shared())
    }

    pub async fn wait(&self) {
        self.0.clone().await;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use kube::runtime::reflector::store;
    use kube::runtime::watcher::Event;
    use tokio::time::Instant;

    use super::*;

    /// Reconciles that start while the caches are still being listed all go on as soon as
    /// they are filled, not only the last one to wait.
    #[tokio::test(start_paused = true)]
    async fn every_waiter_goes_on_when_the_caches_are_filled() {
        let (accounts, mut account_writer) = store::<DeserializeGuard<CloudAccount>>();
        let (secrets, mut secret_writer) = store::<PartialObjectMeta<Secret>>();
        let filled = CachesFilled::new(accounts, secrets);
        let started = Instant::now();
        let waiters: Vec<_> = (0..6)
            .map(|_| {
                let filled = filled.clone();
                tokio::spawn(async move {
                    // The reconcile's own bound: in paused time, a lost wake-up shows as this
                    // whole minute passing.
                    let _ = tokio::time::timeout(Duration::from_secs(60), filled.wait()).await;
                    started.elapsed()
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(100)).await;
        account_writer.apply_watcher_event(&Event::InitDone);
        secret_writer.apply_watcher_event(&Event::InitDone);
        for waiter in waiters {
            let waited = waiter.await.unwrap();
            assert!(
                waited < Duration::from_secs(1),
                "a reconcile waited {waited:?} for caches filled after 100 ms"
            );
        }
    }
}
