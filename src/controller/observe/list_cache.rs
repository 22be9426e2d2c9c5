//! Batched observation: one list call per (account, parent) per poll window, shared by every
//! NodePool of that parent; pools that are changing get targeted reads instead, and what a
//! targeted read saw replaces the listed entry, so an older observation never overwrites a
//! newer one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::provider::{CloudError, NodePoolProvider, ObservedPool};

/// A list, and when the call that produced it started.
type Listed = (Instant, Arc<Vec<ObservedPool>>);
type Entry = Arc<tokio::sync::Mutex<Option<Listed>>>;

#[derive(Default)]
pub struct Observations {
    entries: Mutex<HashMap<String, Entry>>,
}

impl Observations {
    fn entry(&self, key: &str) -> Entry {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_owned())
            .or_default()
            .clone()
    }

    /// The parent's pools as listed at most `max_age` ago; concurrent callers share one call.
    pub async fn list(
        &self,
        key: &str,
        provider: &dyn NodePoolProvider,
        parent: &str,
        max_age: Duration,
    ) -> Result<Arc<Vec<ObservedPool>>, CloudError> {
        let entry = self.entry(key);
        let mut slot = entry.lock().await;
        if let Some((fetched, pools)) = slot.as_ref()
            && fetched.elapsed() < max_age
        {
            return Ok(pools.clone());
        }
        let started = Instant::now();
        let pools = Arc::new(provider.list(parent).await?);
        *slot = Some((started, pools.clone()));
        Ok(pools)
    }

    /// Puts what a targeted read started at `read_at` saw of one pool (`None`: it is gone)
    /// into the parent's list, unless the list is newer.
    pub async fn record(&self, key: &str, id: &str, seen: Option<&ObservedPool>, read_at: Instant) {
        let entry = self.entry(key);
        let mut slot = entry.lock().await;
        let Some((fetched, pools)) = slot.as_mut() else {
            return;
        };
        if *fetched > read_at {
            return;
        }
        let mut updated: Vec<ObservedPool> = pools.iter().filter(|p| p.id != id).cloned().collect();
        if let Some(pool) = seen {
            updated.push(pool.clone());
        }
        *pools = Arc::new(updated);
    }

    /// Forgets a parent's list (after a write to one of its pools).
    pub fn invalidate(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}
