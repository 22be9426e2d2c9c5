//! Cleanup: what a deleted NodePool does to its cloud pool. It deletes the pool it owns and
//! waits until the cloud says it is gone; it leaves in place a pool that is observed only,
//! orphaned by policy or annotation, or owned by another NodePool; and when the deletion
//! cannot go on it says why in status and an Event, with the way out (the force-orphan
//! annotation), instead of hanging silently.

use kube::runtime::controller::Action as Requeue;
use kube::{Api, ResourceExt};
use tokio::time::Instant;

use super::Context;
use super::account_health::Fact;
use super::accounts::{AccountError, Resolved};
use super::error::{Error, cloud_category};
use super::observe::{list_key, read, rival_owner};
use super::report::{announce, now, warn_once, write_status};
use super::status;
use super::validate;
use crate::api::{DeletionPolicy, FORCE_ORPHAN_ANNOTATION, NodePool};
use crate::provider::{
    CloudError, CloudKind, DeleteOutcome, ErrorCategory, OWNER_LABEL, ObservedPool, PoolPhase,
};

/// Why a deletion has not finished.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error("cloud: {source}")]
    Cloud {
        #[source]
        source: CloudError,
    },
    /// The cloud is deleting the pool; not a failure.
    #[error("waiting for the cloud to delete the pool")]
    Pending,
}

impl CleanupError {
    pub fn category(&self) -> &'static str {
        match self {
            CleanupError::Account(e) => e.category(),
            CleanupError::Cloud { source } => cloud_category(source),
            CleanupError::Pending => "Deleting",
        }
    }
}

impl From<CloudError> for CleanupError {
    fn from(source: CloudError) -> Self {
        CleanupError::Cloud { source }
    }
}

/// Finishes a deletion without deleting the cloud pool.
async fn release(ctx: &Context, pool: &NodePool, reason: &str, note: String) -> Requeue {
    let id = pool.status.as_ref().and_then(|s| s.pool_id.as_deref());
    announce(ctx, pool, reason, id, note).await;
    forget(ctx, pool).await;
    Requeue::await_change()
}

/// Removes this NodePool's ownership mark from the pool it leaves in place.
async fn unmark(ctx: &Context, pool: &NodePool) -> Result<(), CleanupError> {
    let Some((cloud, parent, name)) = validate::location(pool) else {
        return Ok(());
    };
    let namespace = pool.namespace().unwrap_or_default();
    let resolved = ctx
        .accounts
        .resolve(&namespace, &pool.spec.account_ref.name, cloud)
        .await?;
    let provider = resolved.provider.as_ref();
    match look_up(ctx, pool, &resolved, cloud, &parent, &name).await? {
        Some(found) if found.owner == pool.uid() => {
            let unmarked = provider.unmark(&parent, &found).await;
            wrote(ctx, &resolved, cloud, &parent, &name).await;
            Ok(unmarked?)
        }
        _ => Ok(()),
    }
}

/// The NodePool's cloud pool as the cloud shows it now: by its recorded id, with what the read
/// sees (also "gone") put into the parent's shared list, so a NodePool declaring the pool again
/// never takes a list made before this cleanup for the truth; else by name.
async fn look_up(
    ctx: &Context,
    pool: &NodePool,
    resolved: &Resolved,
    cloud: CloudKind,
    parent: &str,
    name: &str,
) -> Result<Option<ObservedPool>, CloudError> {
    match pool.status.as_ref().and_then(|s| s.pool_id.as_deref()) {
        Some(id) => {
            read(
                ctx,
                resolved,
                &list_key(resolved, cloud, parent),
                parent,
                id,
            )
            .await
        }
        None => resolved.provider.find(parent, name).await,
    }
}

/// Tells the shared list of the parent that the pool `name` was just written (its mark removed),
/// so no reconcile of a NodePool declaring it again trusts what a list made before showed.
async fn wrote(ctx: &Context, resolved: &Resolved, cloud: CloudKind, parent: &str, name: &str) {
    let key = list_key(resolved, cloud, parent);
    ctx.observations.wrote(&key, name, Instant::now()).await;
}

/// Finishes a deletion whose cloud pool is gone.
async fn gone(ctx: &Context, pool: &NodePool) -> Requeue {
    release(ctx, pool, "Deleted", "the cloud pool is gone".into()).await
}

async fn forget(ctx: &Context, pool: &NodePool) {
    let fact = Fact::Forget {
        pool: pool.uid().unwrap_or_default(),
    };
    let namespace = pool.namespace().unwrap_or_default();
    ctx.health
        .learn(&ctx.client, &namespace, &pool.spec.account_ref.name, fact)
        .await;
}

/// Reports why a deletion cannot go on, and how to release the NodePool; the error backs off
/// and is retried.
async fn blocked(
    ctx: &Context,
    api: &Api<NodePool>,
    pool: &NodePool,
    error: impl Into<CleanupError>,
) -> Error {
    let error = error.into();
    let previous = pool.status.clone().unwrap_or_default();
    let text = error.to_string();
    let status = status::deleting(
        &previous,
        Some((error.category(), &text)),
        pool.metadata.generation,
        &now(),
    );
    if let Err(write) = write_status(ctx, api, pool, &status).await {
        tracing::warn!(error = %write, "could not report a blocked deletion");
    }
    warn_once(
        ctx,
        pool,
        "DeletionBlocked",
        format!(
            "the cloud pool cannot be deleted: {text}; annotate the NodePool with {FORCE_ORPHAN_ANNOTATION}=true to leave it in place"
        ),
    )
    .await;
    error.into()
}

pub async fn cleanup(pool: &NodePool, ctx: &Context) -> Result<Requeue, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    let force_orphan = pool
        .annotations()
        .get(FORCE_ORPHAN_ANNOTATION)
        .is_some_and(|v| v == "true");
    if pool.spec.observe_only {
        let note = "the observed cloud pool is left in place".to_owned();
        return Ok(release(ctx, pool, "Orphaned", note).await);
    }
    if pool.spec.deletion_policy == DeletionPolicy::Orphan || force_orphan {
        let note = match unmark(ctx, pool).await {
            Ok(()) => "the cloud pool is left in place".to_owned(),
            Err(CleanupError::Account(AccountError::Stopping)) => {
                return Err(CleanupError::Account(AccountError::Stopping).into());
            }
            Err(error) => format!(
                "the cloud pool is left in place, still marked as this NodePool's ({error}); remove its {OWNER_LABEL} label before another NodePool adopts it"
            ),
        };
        return Ok(release(ctx, pool, "Orphaned", note).await);
    }
    let Some((cloud, parent, name)) = validate::location(pool) else {
        return Ok(release(ctx, pool, "Orphaned", "no cloud pool is declared".into()).await);
    };
    if let Some(owner) = rival_owner(ctx, pool, cloud, &parent, &name) {
        let note = format!("the cloud pool belongs to NodePool {owner} and is left in place");
        return Ok(release(ctx, pool, "Released", note).await);
    }
    let previous = pool.status.clone().unwrap_or_default();
    let resolved = match ctx
        .accounts
        .resolve(&namespace, &pool.spec.account_ref.name, cloud)
        .await
    {
        Ok(resolved) => resolved,
        Err(AccountError::Stopping) => {
            return Err(CleanupError::from(AccountError::Stopping).into());
        }
        Err(error) => return Err(blocked(ctx, &api, pool, error).await),
    };
    let provider = resolved.provider.as_ref();
    let found = match look_up(ctx, pool, &resolved, cloud, &parent, &name).await {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(gone(ctx, pool).await),
        // The cluster or resource pool is gone, and its pools with it.
        Err(e) if e.category() == ErrorCategory::NotFound => return Ok(gone(ctx, pool).await),
        Err(e) => return Err(blocked(ctx, &api, pool, e).await),
    };
    if let Some(owner) = &found.owner
        && Some(owner) != pool.uid().as_ref()
    {
        let note = format!(
            "the cloud pool {} is marked as owned by another NodePool (uid {owner}) and is left in place",
            found.id
        );
        return Ok(release(ctx, pool, "Released", note).await);
    }
    let mut status = status::deleting(&previous, None, pool.metadata.generation, &now());
    if found.phase != PoolPhase::Deleting {
        match provider.delete(&parent, &found.id).await {
            Ok(DeleteOutcome::AlreadyGone) => return Ok(gone(ctx, pool).await),
            Err(e) if e.category() == ErrorCategory::NotFound => {
                return Ok(gone(ctx, pool).await);
            }
            Err(e) => return Err(blocked(ctx, &api, pool, e).await),
            Ok(DeleteOutcome::Started { job_id }) => {
                let note = format!("deleting cloud pool {}", found.id);
                announce(ctx, pool, "Deleting", Some(&found.id), note).await;
                if job_id.is_some() {
                    status.last_job_id = job_id;
                }
            }
        }
    }
    write_status(ctx, &api, pool, &status).await?;
    Err(CleanupError::Pending.into())
}
