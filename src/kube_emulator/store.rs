//! Objects, the global resource version and the change history watches replay from.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use super::registry::Registry;

/// One change, as watches deliver it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    /// `(group, plural)` of the object.
    pub key: (String, String),
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub event_type: &'static str,
    pub object: Value,
}

/// Objects by `(group, plural)`, then by `(namespace, name)`.
pub type Objects = BTreeMap<(String, String), BTreeMap<(String, String), Value>>;

#[derive(Debug)]
pub struct State {
    pub registry: Registry,
    pub rv: u64,
    pub objects: Objects,
    pub history: VecDeque<Arc<Change>>,
    pub history_window: usize,
    /// Watches from a resource version below this one get 410 Gone.
    pub oldest_replayable: u64,
    pub changes: broadcast::Sender<Arc<Change>>,
}

impl State {
    pub fn new(history_window: usize) -> Self {
        let (changes, _) = broadcast::channel(16_384);
        Self {
            registry: Registry::default(),
            rv: 1,
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            history_window: history_window.max(1),
            oldest_replayable: 1,
            changes,
        }
    }

    /// The next resource version (one counter for every object, as etcd's revision).
    pub fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    pub fn bucket(&mut self, key: &(String, String)) -> &mut BTreeMap<(String, String), Value> {
        self.objects.entry(key.clone()).or_default()
    }

    pub fn get(&self, key: &(String, String), namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(key)
            .and_then(|b| b.get(&(namespace.to_owned(), name.to_owned())))
    }

    /// Records a change for watches and keeps the history within its window.
    pub fn record(&mut self, key: (String, String), event_type: &'static str, object: Value) {
        let rv = object["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.rv);
        let change = Arc::new(Change {
            rv,
            key,
            event_type,
            object,
        });
        self.history.push_back(change.clone());
        while self.history.len() > self.history_window {
            if let Some(dropped) = self.history.pop_front() {
                self.oldest_replayable = dropped.rv;
            }
        }
        let _ = self.changes.send(change);
    }

    /// Forgets history up to now: a watch resuming from any version up to the current one gets
    /// 410 Gone and must relist.
    pub fn compact(&mut self) {
        self.history.clear();
        self.oldest_replayable = self.rv + 1;
    }
}
