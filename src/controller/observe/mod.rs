//! Observe: what the reconcile reads besides the NodePool itself. The cloud's view of the pool
//! (from the shared list, [`list_cache`], or a targeted read), and the rival NodePools that
//! declare the same cloud pool (from the NodePool and CloudAccount caches, never the API).

pub mod list_cache;

use std::time::Duration;

use kube::ResourceExt;
use tokio::time::Instant;

use super::accounts::Resolved;
use super::claims::{Claimant, owner};
use super::error::cloud_category;
use super::validate::{self, Validated};
use super::{Context, readable};
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

/// The cloud's view of the pool: a targeted read while it changes, the shared list otherwise,
/// and a targeted read before concluding that a recorded pool is gone.
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
    let seen = if let (Some(id), true) = (known_id, changing(previous.phase.as_deref())) {
        read(ctx, resolved, cache_key, parent, id).await?
    } else {
        let pools = ctx
            .observations
            .list(cache_key, resolved.provider.as_ref(), parent, poll)
            .await?;
        let found = pools
            .iter()
            .find(|p| match known_id {
                Some(id) => p.id == id,
                None => p.name == validated.pool.name,
            })
            .cloned();
        match (found, known_id) {
            (None, Some(id)) => read(ctx, resolved, cache_key, parent, id).await?,
            (found, _) => found,
        }
    };
    let drift = seen
        .as_ref()
        .map(|o| resolved.provider.drift(&validated.pool, o))
        .unwrap_or_default();
    Ok(Observed { pool: seen, drift })
}

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
    let cached = ctx.pools.state();
    let others: Vec<&NodePool> = cached
        .iter()
        .filter_map(|p| readable(p))
        .filter(|p| p.uid() != pool.uid())
        .filter(|p| {
            validate::location(p).is_some_and(|(c, pa, n)| c == cloud && pa == parent && n == name)
        })
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
