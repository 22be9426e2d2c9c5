//! Counts of cloud calls by cloud, operation and result, kept in a shared registry so the
//! operator can export them (Prometheus) and tests can assert on them.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// `(cloud, operation, result)`, where result is `ok` or an error category.
pub type CallKey = (&'static str, &'static str, &'static str);

#[derive(Debug, Clone, Default)]
pub struct CallMetrics {
    counts: Arc<Mutex<BTreeMap<CallKey, u64>>>,
}

impl CallMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, cloud: &'static str, operation: &'static str, result: &'static str) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        *counts.entry((cloud, operation, result)).or_default() += 1;
    }

    /// Every counter, sorted by key.
    pub fn snapshot(&self) -> Vec<(CallKey, u64)> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        counts.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Calls of `cloud` with `result` (all operations).
    pub fn count(&self, cloud: &str, result: &str) -> u64 {
        self.snapshot()
            .into_iter()
            .filter(|((c, _, r), _)| *c == cloud && *r == result)
            .map(|(_, n)| n)
            .sum()
    }
}
