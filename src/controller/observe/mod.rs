//! Observe: what the reconcile reads besides the NodePool itself. The cloud's view of the pool
//! (from the shared list, [`list_cache`], or a targeted read), and the rival NodePools that
//! declare the same cloud pool (from the NodePool and CloudAccount caches, never the API).

pub mod list_cache;

use list_cache::Key;

use std::time::Duration;

use kube::ResourceExt;
use tokio::time::Instant;

use super::accounts::Resolved;
use super::claims::{Claimant, owner};
use super::error::cloud_category;
use super::validate::{self, Validated};
use super::{Context, Observe, readable};
use crate::api::NodePool;
use crate::provider::{CloudError, CloudKind, ObservedPool};

/// The cloud could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("cloud: {source}")]
    Cloud {
        #[source]
        source: CloudError,
    },
}

impl ObserveError {
    pub fn category(&self) -> &'static str {
        match self {
            ObserveError::Cloud { source } => cloud_category(source),
        }
    }
}

impl From<CloudError> for ObserveError {
    fn from(source: CloudError) -> Self {
        ObserveError::Cloud { source }
    }
}

/// The cloud pool one reconcile works on: the NodePool, what it declares, the client of its
/// account, and the key of its parent's shared list.
#[derive(Clone, Copy)]
pub struct Target<'a> {
    pub pool: &'a NodePool,
    pub validated: &'a Validated,
    pub resolved: &'a Resolved,
    pub cache_key: &'a str,
}

/// What the cloud shows of the declared pool.
#[derive(Debug, Clone)]
pub struct Observed {
    /// `None`: the cloud has no such pool.
    pub pool: Option<ObservedPool>,
    /// Fields where the cloud differs from the spec.
    pub drift: Vec<String>,
}

/// The key of the shared list of `parent` as seen through the account `resolved`.
pub fn list_key(resolved: &Resolved, cloud: CloudKind, parent: &str) -> String {
    format!("{}/{}/{}", resolved.key, cloud.as_str(), parent)
}

/// Phases in which the cloud is working on the pool, so it is read directly, not from a list.
pub fn changing(phase: Option<&str>) -> bool {
    matches!(phase, Some("Pending" | "Creating" | "Scaling" | "Deleting"))
}

/// Reads one pool by id and puts what it saw into the shared list.
pub async fn read(
    ctx: &Context,
    resolved: &Resolved,
    cache_key: &str,
    parent: &str,
    id: &str,
) -> Result<Option<ObservedPool>, CloudError> {
    let read_at = Instant::now();
    let seen = resolved.provider.get(parent, id).await?;
    ctx.observations
        .record(cache_key, id, seen.as_ref(), read_at)
        .await;
    Ok(seen)
}

/// How old an observation may be for a pool in `phase`: a poll window for a settled pool; half
/// a wait interval while the cloud works on it, so each check sees progress.
fn max_age(ctx: &Context, phase: Option<&str>, poll: Duration) -> Duration {
    if changing(phase) {
        ctx.config.wait_interval / 2
    } else {
        poll
    }
}

/// The cloud's view of the pool: from the parent's shared list when it is fresh enough (one
/// list call serves every pool of the parent), and a targeted read before concluding that a
/// recorded pool is gone. With `--observe get`, a recorded pool is read by id every time.
pub async fn observe(
    ctx: &Context,
    target: Target<'_>,
    poll: Duration,
) -> Result<Observed, ObserveError> {
    let Target {
        pool,
        validated,
        resolved,
        cache_key,
    } = target;
    let previous = pool.status.clone().unwrap_or_default();
    let known_id = previous.pool_id.as_deref();
    let parent = &validated.parent;
    let name = &validated.pool.name;
    let by_id = ctx.config.observe == Observe::Get;
    let seen = match known_id {
        Some(id) if by_id => read(ctx, resolved, cache_key, parent, id).await?,
        _ => {
            let key = match known_id {
                Some(id) => Key::Id(id),
                None => Key::Name(name),
            };
            let fresh = max_age(ctx, previous.phase.as_deref(), poll);
            let provider = resolved.provider.as_ref();
            let found = ctx
                .observations
                .find(cache_key, provider, parent, key, name, fresh)
                .await?;
            match (found, known_id) {
                (None, Some(id)) => read(ctx, resolved, cache_key, parent, id).await?,
                (found, _) => found.map(|p| ObservedPool::clone(&p)),
            }
        }
    };
    let drift = seen
        .as_ref()
        .map(|o| resolved.provider.drift(&validated.pool, o))
        .unwrap_or_default();
    Ok(Observed { pool: seen, drift })
}

/// The lookup right before a create: the pool named `name` as a list at most
/// [`CREATE_LOOKUP_AGE`] old shows it, and started after the pool's last write, so neither a
/// pool made meanwhile nor one whose create answer was lost is missed. The list is shared by
/// every create of the parent in that window; with `--observe get`, every create lists.
pub async fn find_before_create(
    ctx: &Context,
    target: Target<'_>,
) -> Result<Option<ObservedPool>, CloudError> {
    let provider = target.resolved.provider.as_ref();
    let parent = &target.validated.parent;
    let name = &target.validated.pool.name;
    if ctx.config.observe == Observe::Get {
        return provider.find(parent, name).await;
    }
    let found = ctx
        .observations
        .find(
            target.cache_key,
            provider,
            parent,
            Key::Name(name),
            name,
            CREATE_LOOKUP_AGE,
        )
        .await?;
    Ok(found.map(|p| ObservedPool::clone(&p)))
}

/// How old a list may be to show that no pool of a name exists, right before creating one:
/// a burst of creates on one parent shares one list per window. A pool someone else makes by
/// hand within this window of the list is missed only by clouds that allow two pools of one
/// name (CCE and ModelArts refuse the second create, and the retry adopts the first).
pub const CREATE_LOOKUP_AGE: Duration = Duration::from_secs(2);

/// The NodePool that owns the cloud pool `(cloud, parent, name)` when it is not `pool`: among
/// the cached NodePools that declare the same pool through an account of the same scope.
pub fn rival_owner(
    ctx: &Context,
    pool: &NodePool,
    cloud: CloudKind,
    parent: &str,
    name: &str,
) -> Option<String> {
    let scope_of = |p: &NodePool| {
        let ns = p.namespace().unwrap_or_default();
        ctx.accounts
            .cached_scope(&ns, &p.spec.account_ref.name, cloud)
    };
    let mine = scope_of(pool)?;
    let location = (cloud, parent.to_owned(), name.to_owned());
    let uid = pool.uid().unwrap_or_default();
    let cached: Vec<_> = ctx
        .declared
        .others(&location, &uid)
        .iter()
        .filter_map(|other| ctx.pools.get(other))
        .collect();
    let others: Vec<&NodePool> = cached
        .iter()
        .filter_map(|p| readable(p))
        .filter(|p| p.uid() != pool.uid())
        .filter(|p| validate::location(p).as_ref() == Some(&location))
        .filter(|p| scope_of(p).as_ref() == Some(&mine))
        .collect();
    if others.is_empty() {
        return None;
    }
    let facts: Vec<(String, String, String, &NodePool)> = std::iter::once(pool)
        .chain(others.iter().copied())
        .map(|p| {
            let uid = p.uid().unwrap_or_default();
            (uid, p.namespace().unwrap_or_default(), p.name_any(), p)
        })
        .collect();
    let claimants: Vec<Claimant> = facts
        .iter()
        .map(|(uid, namespace, name, p)| Claimant {
            uid,
            namespace,
            name,
            records_pool: p.status.as_ref().is_some_and(|s| s.pool_id.is_some()),
            created: p.metadata.creation_timestamp.as_ref(),
        })
        .collect();
    let winner = owner(&claimants)?;
    (Some(winner.uid) != pool.uid().as_deref())
        .then(|| format!("{}/{}", winner.namespace, winner.name))
}
