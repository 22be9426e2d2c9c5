//! Which NodePools declare each cloud pool: an index kept from the NodePool watch's events, so
//! the one-owner check and the wake-ups on deletion read the few NodePools of one location
//! instead of scanning every cached NodePool on every reconcile.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;

use super::{Watched, readable, validate};
use crate::provider::CloudKind;

/// Where a cloud pool lives: its cloud, parent and name.
pub type Location = (CloudKind, String, String);

/// Held once per NodePool at thousands of them, so kept small: one shared location, a
/// reference without resource version or uid, and a list rather than a tree per location (a
/// location almost always has one NodePool).
#[derive(Default)]
struct Index {
    /// uid -> where it declares, and the NodePool.
    by_uid: HashMap<String, (Arc<Location>, ObjectRef<Watched>)>,
    by_location: HashMap<Arc<Location>, Vec<String>>,
    /// During a relist: the uids listed so far (the others are gone once it is done).
    relisted: Option<HashSet<String>>,
}

impl Index {
    fn remove(&mut self, uid: &str) {
        if let Some((location, _)) = self.by_uid.remove(uid)
            && let Some(uids) = self.by_location.get_mut(&location)
        {
            uids.retain(|held| held != uid);
            if uids.is_empty() {
                self.by_location.remove(&location);
            }
        }
    }

    fn put(&mut self, object: &Watched) {
        let Some(uid) = object.uid() else {
            return;
        };
        if let Some(relisted) = &mut self.relisted {
            relisted.insert(uid.clone());
        }
        let location = readable(object).and_then(validate::location);
        if let (Some(location), Some((held, _))) = (&location, self.by_uid.get(&uid))
            && **held == *location
        {
            return;
        }
        self.remove(&uid);
        if let Some(location) = location {
            let location = match self.by_location.get_key_value(&location) {
                Some((shared, _)) => shared.clone(),
                None => Arc::new(location),
            };
            self.by_location
                .entry(location.clone())
                .or_insert_with(|| Vec::with_capacity(1))
                .push(uid.clone());
            let mut name = ObjectRef::new(&object.name_any());
            if let Some(namespace) = object.namespace() {
                name = name.within(&namespace);
            }
            self.by_uid.insert(uid, (location, name));
        }
    }
}

/// The index, shared by the watch (which writes it) and the reconciles (which read it).
#[derive(Default)]
pub struct Declared {
    index: Mutex<Index>,
}

impl Declared {
    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes in one event of the NodePool watch.
    pub fn apply(&self, event: &watcher::Event<Watched>) {
        let mut index = self.index();
        match event {
            watcher::Event::Apply(object) | watcher::Event::InitApply(object) => index.put(object),
            watcher::Event::Delete(object) => {
                if let Some(uid) = object.uid() {
                    index.remove(&uid);
                }
            }
            watcher::Event::Init => index.relisted = Some(HashSet::new()),
            watcher::Event::InitDone => {
                if let Some(listed) = index.relisted.take() {
                    let gone: Vec<String> = index
                        .by_uid
                        .keys()
                        .filter(|uid| !listed.contains(*uid))
                        .cloned()
                        .collect();
                    for uid in gone {
                        index.remove(&uid);
                    }
                }
            }
        }
    }

    /// The NodePools that declare the cloud pool at `location`, but `uid`.
    pub fn others(&self, location: &Location, uid: &str) -> Vec<ObjectRef<Watched>> {
        let index = self.index();
        index
            .by_location
            .get(location)
            .into_iter()
            .flatten()
            .filter(|other| *other != uid)
            .filter_map(|other| index.by_uid.get(other).map(|(_, r)| r.clone()))
            .collect()
    }

    /// NodePools indexed (for tests and metrics).
    pub fn len(&self) -> usize {
        self.index().by_uid.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use kube::core::DeserializeGuard;

    use super::*;
    use crate::api::NodePool;

    fn pool(uid: &str, name: &str, cluster: &str) -> Watched {
        let pool: NodePool = serde_json::from_value(serde_json::json!({
            "apiVersion": "nodepool.io/v1alpha1", "kind": "NodePool",
            "metadata": {"name": name, "namespace": "ns", "uid": uid},
            "spec": {"accountRef": {"name": "a"}, "poolName": "shared",
                     "cce": {"clusterId": cluster, "initialNodeCount": 1,
                             "nodeTemplate": {"flavor": "s6.large.2", "az": "cn-north-4a",
                                              "os": "EulerOS 2.9", "login": {"sshKey": "k"},
                                              "rootVolume": {"volumetype": "SATA", "size": 40}}}},
        }))
        .expect("a NodePool");
        DeserializeGuard(Ok(pool))
    }

    fn at(cluster: &str) -> Location {
        (CloudKind::Cce, cluster.into(), "shared".into())
    }

    fn names(refs: Vec<ObjectRef<Watched>>) -> Vec<String> {
        let mut names: Vec<String> = refs.into_iter().map(|r| r.name).collect();
        names.sort();
        names
    }

    #[test]
    fn follows_applies_moves_deletes_and_relists() {
        let declared = Declared::default();
        use watcher::Event::*;
        declared.apply(&Apply(pool("1", "a", "c1")));
        declared.apply(&Apply(pool("2", "b", "c1")));
        declared.apply(&Apply(pool("3", "c", "c2")));
        assert_eq!(names(declared.others(&at("c1"), "1")), ["b"]);
        assert_eq!(names(declared.others(&at("c1"), "9")), ["a", "b"]);
        // b moves to another cluster.
        declared.apply(&Apply(pool("2", "b", "c2")));
        assert!(declared.others(&at("c1"), "1").is_empty());
        assert_eq!(names(declared.others(&at("c2"), "0")), ["b", "c"]);
        declared.apply(&Delete(pool("3", "c", "c2")));
        assert_eq!(names(declared.others(&at("c2"), "0")), ["b"]);
        // A relist that no longer shows a: a is gone from the index.
        declared.apply(&Init);
        declared.apply(&InitApply(pool("2", "b", "c2")));
        declared.apply(&InitDone);
        assert!(declared.others(&at("c1"), "0").is_empty());
        assert_eq!(declared.len(), 1);
    }
}
