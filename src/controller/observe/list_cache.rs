//! Batched observation: one list call per (account, parent) serves every NodePool of that
//! parent, for drift checks of settled pools, for pools the cloud is working on, and for the
//! lookup before a create. Each entry remembers when it was seen (by the list, or by a targeted
//! read folded in later), and the parent remembers when each of its pools was last written, so
//! a caller asks for an observation newer than what it needs: an older observation never
//! overwrites a newer one, and a write is never followed by a look that predates it. Only the
//! settings the operator compares are held ([`ObservedPool::compared_only`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::provider::{CloudError, NodePoolProvider, ObservedPool};

/// One pool as last seen, and when the call that saw it started.
#[derive(Clone)]
struct Seen {
    at: Instant,
    pool: Arc<ObservedPool>,
}

/// What a parent's last list showed, with later targeted reads and create answers folded in.
#[derive(Default)]
struct Parent {
    /// When the last list call started (`None`: never listed).
    fetched: Option<Instant>,
    /// By cloud pool id.
    pools: HashMap<String, Seen>,
    /// Pools written (created, changed) by name, with when the write ended; dropped once a
    /// list started after it.
    written: HashMap<String, Instant>,
}

/// Which pool a caller asks about.
#[derive(Debug, Clone, Copy)]
pub enum Key<'a> {
    Id(&'a str),
    Name(&'a str),
}

impl Parent {
    /// What the parent holds of the pool `which` (by id in constant time; by name, which only
    /// a lookup before a create asks, by a scan).
    fn get(&self, which: Key<'_>) -> Option<&Seen> {
        match which {
            Key::Id(id) => self.pools.get(id),
            Key::Name(name) => self.pools.values().find(|s| s.pool.name == name),
        }
    }

    /// Whether what a call started at `at` saw of the pool `name` will do.
    fn fresh(&self, at: Instant, name: &str, max_age: Duration) -> bool {
        at.elapsed() < max_age && self.written.get(name).is_none_or(|w| at >= *w)
    }
}

type Entry = Arc<tokio::sync::Mutex<Parent>>;

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

    /// The pool `which` of parent `key` (named `name`) as seen at most `max_age` ago and after
    /// its last write, from the parent's last list when it will do, else from a new list
    /// shared by concurrent callers. `None`: such a list does not show it.
    pub async fn find(
        &self,
        key: &str,
        provider: &dyn NodePoolProvider,
        parent: &str,
        which: Key<'_>,
        name: &str,
        max_age: Duration,
    ) -> Result<Option<Arc<ObservedPool>>, CloudError> {
        let entry = self.entry(key);
        let mut slot = entry.lock().await;
        match slot.get(which) {
            Some(seen) if slot.fresh(seen.at, name, max_age) => {
                return Ok(Some(seen.pool.clone()));
            }
            None if slot.fetched.is_some_and(|at| slot.fresh(at, name, max_age)) => {
                return Ok(None);
            }
            _ => {}
        }
        let started = Instant::now();
        let pools = provider.list(parent).await?;
        slot.fetched = Some(started);
        slot.pools = pools
            .into_iter()
            .map(|pool| {
                let seen = Seen {
                    at: started,
                    pool: Arc::new(pool.compared_only()),
                };
                (seen.pool.id.clone(), seen)
            })
            .collect();
        slot.written.retain(|_, at| *at > started);
        Ok(slot.get(which).map(|s| s.pool.clone()))
    }

    /// Puts what a call started at `at` saw of the pool `id` (`None`: it is gone) into its
    /// parent's list, unless what the list holds of it is newer.
    pub async fn record(&self, key: &str, id: &str, seen: Option<&ObservedPool>, at: Instant) {
        let entry = self.entry(key);
        let mut slot = entry.lock().await;
        let held = slot.pools.get(id).map(|s| s.at);
        match (held, seen) {
            (Some(held), _) if held > at => {}
            (None, None) => {}
            (None, Some(_)) if slot.fetched.is_some_and(|f| f > at) => {}
            (Some(_), None) => {
                slot.pools.remove(id);
            }
            (_, Some(pool)) => {
                let seen = Seen {
                    at,
                    pool: Arc::new(pool.clone().compared_only()),
                };
                slot.pools.insert(id.to_owned(), seen);
            }
        }
    }

    /// Notes that a write to the pool `name` of parent `key` ended at `at` (answered, failed
    /// or timed out): until a call started after that sees the pool, nothing cached of it
    /// will do.
    pub async fn wrote(&self, key: &str, name: &str, at: Instant) {
        let entry = self.entry(key);
        let mut slot = entry.lock().await;
        let last = slot.written.entry(name.to_owned()).or_insert(at);
        *last = (*last).max(at);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use async_trait::async_trait;

    use super::*;
    use crate::provider::{DesiredPool, PoolPhase};

    /// A cloud that counts its lists and answers with `pools`.
    struct Counting {
        lists: AtomicUsize,
        pools: std::sync::Mutex<Vec<ObservedPool>>,
    }

    fn pool(id: &str, current: u32) -> ObservedPool {
        ObservedPool {
            id: id.into(),
            name: format!("name-{id}"),
            desired: Some(current),
            current,
            ready: current,
            creating: 0,
            deleting: 0,
            raw_state: String::new(),
            phase: PoolPhase::Ready,
            messages: Vec::new(),
            autoscaling: None,
            owner: None,
            job_id: None,
            spec: crate::provider::CloudSpec::Unknown,
        }
    }

    #[async_trait]
    impl NodePoolProvider for Counting {
        fn cloud(&self) -> crate::provider::CloudKind {
            crate::provider::CloudKind::Cce
        }
        async fn list(&self, _: &str) -> Result<Vec<ObservedPool>, CloudError> {
            self.lists.fetch_add(1, Ordering::SeqCst);
            Ok(self.pools.lock().unwrap_or_else(|e| e.into_inner()).clone())
        }
        async fn get(&self, _: &str, _: &str) -> Result<Option<ObservedPool>, CloudError> {
            unreachable!("the cache only lists")
        }
        async fn create(&self, _: &str, _: &DesiredPool) -> Result<ObservedPool, CloudError> {
            unreachable!()
        }
        async fn update(
            &self,
            _: &str,
            _: &ObservedPool,
            _: &DesiredPool,
            _: crate::provider::CountUpdate,
        ) -> Result<(), CloudError> {
            unreachable!()
        }
        async fn delete(
            &self,
            _: &str,
            _: &str,
        ) -> Result<crate::provider::DeleteOutcome, CloudError> {
            unreachable!()
        }
        async fn unmark(&self, _: &str, _: &ObservedPool) -> Result<(), CloudError> {
            unreachable!()
        }
        fn drift(&self, _: &DesiredPool, _: &ObservedPool) -> Vec<String> {
            Vec::new()
        }
    }

    fn cloud(pools: Vec<ObservedPool>) -> Counting {
        Counting {
            lists: AtomicUsize::new(0),
            pools: std::sync::Mutex::new(pools),
        }
    }

    const MINUTE: Duration = Duration::from_secs(60);

    #[tokio::test(start_paused = true)]
    async fn one_list_serves_every_pool_of_a_parent_until_it_is_too_old() {
        let cloud = cloud(vec![pool("a", 1), pool("b", 2)]);
        let cache = Observations::default();
        for id in ["a", "b", "a", "missing"] {
            let name = format!("name-{id}");
            cache
                .find("k", &cloud, "p", Key::Id(id), &name, MINUTE)
                .await
                .unwrap();
        }
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        let b = cache
            .find("k", &cloud, "p", Key::Name("name-b"), "name-b", MINUTE)
            .await
            .unwrap();
        assert_eq!(b.map(|p| p.current), Some(2));
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_is_never_followed_by_a_look_that_predates_it() {
        let cloud = cloud(vec![pool("a", 1)]);
        let cache = Observations::default();
        cache
            .find("k", &cloud, "p", Key::Id("a"), "name-a", MINUTE)
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        cache.wrote("k", "name-a", Instant::now()).await;
        cloud.pools.lock().unwrap()[0].current = 3;
        tokio::time::advance(Duration::from_secs(1)).await;
        let a = cache
            .find("k", &cloud, "p", Key::Id("a"), "name-a", MINUTE)
            .await
            .unwrap();
        assert_eq!(
            a.map(|p| p.current),
            Some(3),
            "the list predating the write was used"
        );
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 2);
        // The new list covers the write: no more lists for it.
        cache
            .find("k", &cloud, "p", Key::Id("a"), "name-a", MINUTE)
            .await
            .unwrap();
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn an_older_observation_never_overwrites_a_newer_one() {
        let cloud = cloud(vec![pool("a", 1)]);
        let cache = Observations::default();
        let before_list = Instant::now();
        tokio::time::advance(Duration::from_secs(1)).await;
        cache
            .find("k", &cloud, "p", Key::Id("a"), "name-a", MINUTE)
            .await
            .unwrap();
        // A targeted read that started before the list answers after it: ignored.
        cache
            .record("k", "a", Some(&pool("a", 9)), before_list)
            .await;
        // An answer about a pool the list does not show, from before the list: ignored.
        cache
            .record("k", "x", Some(&pool("x", 9)), before_list)
            .await;
        tokio::time::advance(Duration::from_secs(1)).await;
        // A newer one replaces the listed entry.
        let newer = Instant::now();
        cache.record("k", "a", Some(&pool("a", 5)), newer).await;
        let seen = |id: &'static str| {
            let cache = &cache;
            let cloud = &cloud;
            async move {
                let name = format!("name-{id}");
                cache
                    .find("k", cloud, "p", Key::Id(id), &name, MINUTE)
                    .await
                    .unwrap()
                    .map(|p| p.current)
            }
        };
        assert_eq!(seen("a").await, Some(5));
        assert_eq!(seen("x").await, None);
        cache.record("k", "a", None, Instant::now()).await;
        assert_eq!(seen("a").await, None, "a read that saw it gone removes it");
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_look_newer_than_asked_is_listed_again_and_shared() {
        let cloud = cloud(vec![pool("a", 1)]);
        let cache = Observations::default();
        cache
            .find("k", &cloud, "p", Key::Id("a"), "name-a", MINUTE)
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(1)).await;
        let strict = Duration::from_millis(500);
        for _ in 0..3 {
            cache
                .find("k", &cloud, "p", Key::Name("new"), "new", strict)
                .await
                .unwrap();
        }
        assert_eq!(cloud.lists.load(Ordering::SeqCst), 2);
    }
}
