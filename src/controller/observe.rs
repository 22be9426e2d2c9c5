//! Batched observation: one list call per (account, parent) per poll window, shared by every
//! NodePool of that parent; pools that are changing get targeted reads instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::provider::{CloudError, NodePoolProvider, ObservedPool};

type Entry = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Vec<ObservedPool>>)>>>;

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
        let pools = Arc::new(provider.list(parent).await?);
        *slot = Some((Instant::now(), pools.clone()));
        Ok(pools)
    }

    /// Forgets a parent's list (after a write to one of its pools).
    pub fn invalidate(&self, key: &str) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }
}
