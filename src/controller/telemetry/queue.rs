//! The controller's work queue as numbers: NodePools due for a reconcile that has not started
//! (woken by a change, or whose requeue time has come), and reconciles running. kube-runtime's
//! scheduler keeps its queue to itself, so the controller tells this what it scheduled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};

#[derive(Debug, Default)]
pub struct Queue {
    /// `(namespace, name)` -> when its next reconcile is due.
    due: Mutex<HashMap<(String, String), Instant>>,
    running: Gauge,
}

fn key(namespace: Option<&str>, name: &str) -> (String, String) {
    (namespace.unwrap_or_default().to_owned(), name.to_owned())
}

impl Queue {
    /// A change woke `namespace/name`: it is due now (an earlier due time stands).
    pub fn woken(&self, namespace: Option<&str>, name: &str) {
        let now = Instant::now();
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        let at = due.entry(key(namespace, name)).or_insert(now);
        *at = (*at).min(now);
    }

    /// The reconcile of `namespace/name` asked to run again after `wait`, or only on a change.
    /// A change that woke it while it ran stands: the controller runs it again at once.
    pub fn requeued(&self, namespace: Option<&str>, name: &str, wait: Option<Duration>) {
        let Some(wait) = wait else {
            return;
        };
        let at = Instant::now() + wait;
        let mut due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        let entry = due.entry(key(namespace, name)).or_insert(at);
        *entry = (*entry).min(at);
    }

    /// A reconcile of `namespace/name` starts.
    pub fn started(&self, namespace: Option<&str>, name: &str) {
        self.due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(namespace, name));
        self.running.inc();
    }

    pub fn finished(&self) {
        self.running.dec();
    }

    /// `namespace/name` is gone.
    pub fn forget(&self, namespace: Option<&str>, name: &str) {
        self.due
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&key(namespace, name));
    }

    /// NodePools due and not started.
    pub fn depth(&self) -> i64 {
        let now = Instant::now();
        let due = self.due.lock().unwrap_or_else(|e| e.into_inner());
        let waiting = due.values().filter(|at| **at <= now).count();
        i64::try_from(waiting).unwrap_or(i64::MAX)
    }
}

impl Collector for Queue {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let depth = ConstGauge::new(self.depth());
        let metric = encoder.encode_descriptor(
            "queue_depth",
            "NodePools due for a reconcile that has not started",
            None,
            depth.metric_type(),
        )?;
        depth.encode(metric)?;
        let running = ConstGauge::new(self.running.get());
        let metric = encoder.encode_descriptor(
            "reconciles_running",
            "Reconciles in progress",
            None,
            running.metric_type(),
        )?;
        running.encode(metric)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counts_what_is_due_and_not_started() {
        let queue = Queue::default();
        queue.woken(Some("a"), "p1");
        queue.woken(Some("a"), "p2");
        queue.requeued(Some("a"), "p3", Some(Duration::from_secs(300)));
        assert_eq!(queue.depth(), 2);
        queue.started(Some("a"), "p1");
        assert_eq!(queue.depth(), 1);
        assert_eq!(queue.running.get(), 1);
        // Woken while running: still due when it asks to wait for a change.
        queue.woken(Some("a"), "p1");
        queue.requeued(Some("a"), "p1", None);
        assert_eq!(queue.depth(), 2);
        queue.started(Some("a"), "p1");
        queue.requeued(Some("a"), "p1", None);
        queue.finished();
        queue.finished();
        // A change wakes a pool whose requeue is far off: it is due now.
        queue.woken(Some("a"), "p3");
        assert_eq!(queue.depth(), 2);
        queue.forget(Some("a"), "p2");
        queue.forget(Some("a"), "p3");
        assert_eq!(queue.depth(), 0);
        assert_eq!(queue.running.get(), 0);
    }
}
