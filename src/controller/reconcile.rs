//! One reconcile: observe (NodePool, CloudAccount, Secret, the cloud) -> validate -> plan ->
//! apply -> update status, inside kube-runtime's finalizer helper; and deletion.

use std::sync::Arc;
use std::time::Duration;

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action as Requeue;
use kube::runtime::events::{Event, EventType};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Api, Resource, ResourceExt};
use rand::Rng;
use serde_json::json;
use tokio::time::Instant;

use super::Context;
use super::account_health::Fact;
use super::accounts::{Resolved, scope};
use super::claims::{Claimant, owner};
use super::desired::{self, Validated};
use super::error::Error;
use super::plan::{Action, Mode, plan};
use super::status::{self, Inputs, Observation, Outcome};
use crate::api::{DeletionPolicy, FINALIZER, FORCE_ORPHAN_ANNOTATION, NodePool, NodePoolStatus};
use crate::provider::{
    CloudError, CloudKind, DeleteOutcome, ErrorCategory, OWNER_LABEL, ObservedPool, PoolPhase,
};

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A duration spread by ±10% so pools polled together drift apart.
fn jittered(base: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    base.mul_f64(factor)
}

pub async fn reconcile(pool: Arc<NodePool>, ctx: Arc<Context>) -> Result<Requeue, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    let uid = pool.uid().unwrap_or_default();
    let started = std::time::Instant::now();
    let result = finalizer(&api, FINALIZER, pool, |event| async {
        match event {
            FinalizerEvent::Apply(pool) => apply(pool, &ctx).await,
            FinalizerEvent::Cleanup(pool) => cleanup(pool, &ctx).await,
        }
    })
    .await
    .map_err(|error| match error {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    });
    let label = match &result {
        Ok(_) => "ok",
        Err(error) => error.category(),
    };
    ctx.metrics.observe(label, started.elapsed());
    if result.is_ok() {
        ctx.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&uid);
    }
    result
}

/// Requeue policy on errors: deletion in progress is polled; invalid input waits for a change;
/// everything else backs off per object with jitter.
pub fn error_policy(pool: Arc<NodePool>, error: &Error, ctx: Arc<Context>) -> Requeue {
    match error {
        Error::DeletionPending => Requeue::requeue(jittered(ctx.config.wait_interval)),
        e if e.waits_for_change() => Requeue::await_change(),
        _ => {
            let uid = pool.uid().unwrap_or_default();
            let failures = {
                let mut map = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
                let n = map.entry(uid).or_insert(0);
                *n += 1;
                *n
            };
            let ceiling = ctx
                .config
                .error_backoff
                .saturating_mul(1u32 << failures.min(12))
                .min(Duration::from_secs(300));
            let wait = ceiling.mul_f64(rand::rng().random_range(0.5..=1.0));
            tracing::debug!(%error, failures, ?wait, "reconcile failed; backing off");
            Requeue::requeue(wait)
        }
    }
}

async fn publish(ctx: &Context, pool: &NodePool, type_: EventType, reason: &str, note: String) {
    let reference = pool.object_ref(&());
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &reference).await {
        tracing::debug!(%error, "could not publish an event");
    }
}

/// Publishes a warning once per distinct problem of an object (not on every retry).
async fn warn_once(ctx: &Context, pool: &NodePool, reason: &str, text: String) {
    let key = pool.uid().unwrap_or_default();
    let fresh = {
        let mut last = ctx.last_warning.lock().unwrap_or_else(|e| e.into_inner());
        last.insert(key, text.clone()).as_ref() != Some(&text)
    };
    if fresh {
        publish(ctx, pool, EventType::Warning, reason, text).await;
    }
}

/// Writes the status if it differs from what the object shows, removing fields that no longer
/// apply.
async fn write_status(
    api: &Api<NodePool>,
    pool: &NodePool,
    status: &NodePoolStatus,
) -> Result<(), Error> {
    let shown = pool.status.clone().unwrap_or_default();
    if pool.status.is_some() && &shown == status {
        return Ok(());
    }
    api.patch_status(
        &pool.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&status::patch(&shown, status)),
    )
    .await?;
    Ok(())
}

fn mode(pool: &NodePool) -> Mode {
    Mode {
        paused: pool.spec.paused,
        observe_only: pool.spec.observe_only,
    }
}

fn changing(phase: Option<&str>) -> bool {
    matches!(phase, Some("Pending" | "Creating" | "Scaling" | "Deleting"))
}

/// The NodePool that owns the cloud pool `(cloud, parent, name)` when it is not `pool`: among
/// the cached NodePools that declare the same pool through an account of the same scope.
fn rival_owner(
    ctx: &Context,
    pool: &NodePool,
    cloud: CloudKind,
    parent: &str,
    name: &str,
) -> Option<String> {
    let scope_of = |p: &NodePool| {
        let ns = p.namespace().unwrap_or_default();
        ctx.accounts
            .cached_account(&ns, &p.spec.account_ref.name)
            .map(|a| scope(&a.spec, cloud))
    };
    let mine = scope_of(pool)?;
    let others: Vec<Arc<NodePool>> = ctx
        .pools
        .state()
        .into_iter()
        .filter(|p| p.uid() != pool.uid())
        .filter(|p| {
            desired::location(p).is_some_and(|(c, pa, n)| c == cloud && pa == parent && n == name)
        })
        .filter(|p| scope_of(p).as_ref() == Some(&mine))
        .collect();
    if others.is_empty() {
        return None;
    }
    let facts: Vec<(String, String, String, &NodePool)> = std::iter::once(pool)
        .chain(others.iter().map(|p| &**p))
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

/// What the account learnt from a reconcile's result, for its Ready condition.
fn fact(cloud: CloudKind, pool: &NodePool, result: &Result<Action, Error>) -> Option<Fact> {
    let service = cloud.as_str().to_owned();
    let pool = pool.uid().unwrap_or_default();
    match result {
        Ok(_) => Some(Fact::Works { service, pool }),
        Err(Error::Cloud(e)) if e.category() == ErrorCategory::Auth => Some(Fact::Refused {
            service,
            pool,
            message: e.to_string(),
        }),
        Err(_) => None,
    }
}

async fn apply(pool: Arc<NodePool>, ctx: &Context) -> Result<Requeue, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    let previous = pool.status.clone().unwrap_or_default();
    let generation = pool.metadata.generation;
    let mode = mode(&pool);
    let now = now();
    let inputs = |desired, observation, outcome| Inputs {
        cloud: None,
        desired,
        mode,
        observation,
        outcome,
        generation,
        now: &now,
    };

    let validated = match desired::validate(&pool) {
        Ok(validated) => validated,
        Err(message) => {
            let outcome = Outcome::Invalid(message.clone());
            let status = status::build(&previous, &inputs(None, &Observation::NotRead, &outcome));
            write_status(&api, &pool, &status).await?;
            let error = Error::InvalidSpec(message);
            warn_once(ctx, &pool, error.category(), error.to_string()).await;
            return Ok(Requeue::await_change());
        }
    };
    let cloud = validated.cloud;
    let inputs = |observation, outcome| Inputs {
        cloud: Some(cloud),
        ..inputs(Some(&validated), observation, outcome)
    };
    let account_name = &pool.spec.account_ref.name;
    let resolved = match ctx.accounts.resolve(&namespace, account_name, cloud).await {
        Ok(resolved) => {
            ctx.health
                .learn(&ctx.client, &namespace, account_name, Fact::Available)
                .await;
            resolved
        }
        Err(error) => {
            let failed = Outcome::Failed {
                reason: error.category().to_owned(),
                message: error.to_string(),
            };
            let status = status::build(&previous, &inputs(&Observation::NotRead, &failed));
            write_status(&api, &pool, &status).await?;
            if let Error::Credentials(message) = &error {
                let fact = Fact::Unavailable {
                    message: message.clone(),
                };
                ctx.health
                    .learn(&ctx.client, &namespace, account_name, fact)
                    .await;
            }
            warn_once(ctx, &pool, error.category(), error.to_string()).await;
            return Err(error);
        }
    };
    let poll = pool
        .spec
        .poll_interval_seconds
        .map(|s| Duration::from_secs(u64::from(s)))
        .or(resolved.poll_interval)
        .unwrap_or(ctx.config.poll_interval);
    // One owner per cloud pool, decided from the cache before any cloud call.
    if let Some(owner) = rival_owner(ctx, &pool, cloud, &validated.parent, &validated.pool.name) {
        let message = format!(
            "the cloud pool {} in {} is declared by NodePool {owner}, which owns it; this NodePool makes no change until that one is gone",
            validated.pool.name, validated.parent
        );
        let conflict = Outcome::Conflict(message.clone());
        let status = status::build(&previous, &inputs(&Observation::NotRead, &conflict));
        write_status(&api, &pool, &status).await?;
        warn_once(ctx, &pool, "Conflict", message).await;
        return Ok(Requeue::requeue(jittered(poll)));
    }
    let cache_key = format!("{}/{}/{}", resolved.key, cloud.as_str(), validated.parent);

    let (observation, result) =
        converge(ctx, &api, &pool, &validated, &resolved, &cache_key, poll).await;
    let outcome = match &result {
        Ok(Action::Conflict { owner }) => Outcome::Conflict(format!(
            "the cloud pool {} in {} is marked as owned by another NodePool (uid {owner}); this NodePool makes no change to it",
            validated.pool.name, validated.parent
        )),
        Ok(_) => Outcome::Synced,
        Err(error) => Outcome::Failed {
            reason: error.category().to_owned(),
            message: error.to_string(),
        },
    };
    let mut status = status::build(&previous, &inputs(&observation, &outcome));
    if matches!(result, Ok(Action::Create)) {
        // A create answer shows no node yet; the pool is being created whatever it says.
        status.phase = Some("Creating".to_owned());
    }
    write_status(&api, &pool, &status).await?;
    if let Some(fact) = fact(cloud, &pool, &result) {
        ctx.health
            .learn(&ctx.client, &namespace, account_name, fact)
            .await;
    }
    if previous.phase != status.phase
        && let Some(phase) = &status.phase
    {
        publish(
            ctx,
            &pool,
            EventType::Normal,
            phase,
            format!("the cloud pool is {phase}"),
        )
        .await;
    }
    let action = match result {
        Ok(Action::Conflict { .. }) => {
            if let Outcome::Conflict(message) = outcome {
                warn_once(ctx, &pool, "Conflict", message).await;
            }
            return Ok(Requeue::requeue(jittered(poll)));
        }
        Ok(action) => action,
        Err(error) => {
            warn_once(ctx, &pool, error.category(), error.to_string()).await;
            return Err(error);
        }
    };
    ctx.last_warning
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pool.uid().unwrap_or_default());
    let busy = !matches!(action, Action::Nothing) || changing(status.phase.as_deref());
    Ok(Requeue::requeue(jittered(if busy {
        ctx.config.wait_interval
    } else {
        poll
    })))
}

/// Reads one pool by id and puts what it saw into the shared list.
async fn read(
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
async fn observe(
    ctx: &Context,
    pool: &NodePool,
    validated: &Validated,
    resolved: &Resolved,
    cache_key: &str,
    poll: Duration,
) -> Result<Option<ObservedPool>, CloudError> {
    let previous = pool.status.clone().unwrap_or_default();
    let known_id = previous.pool_id.as_deref();
    let parent = &validated.parent;
    if let (Some(id), true) = (known_id, changing(previous.phase.as_deref())) {
        return read(ctx, resolved, cache_key, parent, id).await;
    }
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
        (None, Some(id)) => read(ctx, resolved, cache_key, parent, id).await,
        (found, _) => Ok(found),
    }
}

/// Records the pool's id in status at once, before anything else can fail.
async fn record_id(
    api: &Api<NodePool>,
    pool: &NodePool,
    validated: &Validated,
    id: &str,
) -> Result<(), Error> {
    let patch = json!({"status": {"poolId": id, "poolName": validated.pool.name, "provider": validated.cloud.as_str()}});
    api.patch_status(
        &pool.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Observes the cloud pool, plans and applies one action.
async fn converge(
    ctx: &Context,
    api: &Api<NodePool>,
    pool: &NodePool,
    validated: &Validated,
    resolved: &Resolved,
    cache_key: &str,
    poll: Duration,
) -> (Observation, Result<Action, Error>) {
    let provider = resolved.provider.as_ref();
    let parent = &validated.parent;
    let name = &validated.pool.name;
    let observed = match observe(ctx, pool, validated, resolved, cache_key, poll).await {
        Ok(observed) => observed,
        Err(error) => return (Observation::NotRead, Err(Error::Cloud(error))),
    };
    let drift = observed
        .as_ref()
        .map(|o| provider.drift(&validated.pool, o))
        .unwrap_or_default();
    let recorded = pool.status.as_ref().and_then(|s| s.pool_id.as_deref());
    let action = plan(validated, mode(pool), observed.as_ref(), &drift, recorded);
    let seen = |observed: Option<ObservedPool>| match observed {
        Some(pool) => Observation::Seen(pool),
        None => Observation::Absent,
    };
    match action {
        Action::Create => {
            // Never create twice: the list may predate a pool of this name (made by hand, or
            // by a create whose answer was lost), so look it up right before creating.
            let existing = match provider.find(parent, name).await {
                Ok(existing) => existing,
                Err(e) => return (Observation::Absent, Err(e.into())),
            };
            let (found, action) = match existing {
                Some(existing) => {
                    if let Some(owner) = existing.owner.clone()
                        && owner != validated.owner
                    {
                        return (Observation::NotRead, Ok(Action::Conflict { owner }));
                    }
                    publish(
                        ctx,
                        pool,
                        EventType::Normal,
                        "Adopted",
                        format!("adopted the existing cloud pool {}", existing.id),
                    )
                    .await;
                    (existing, Action::Adopt)
                }
                None => match provider.create(parent, &validated.pool).await {
                    Ok(created) => {
                        publish(
                            ctx,
                            pool,
                            EventType::Normal,
                            "Created",
                            format!("created cloud pool {}", created.id),
                        )
                        .await;
                        (created, Action::Create)
                    }
                    // The answer may be lost after the cloud acted: the next attempt looks
                    // the pool up by name first.
                    Err(e) => return (Observation::Absent, Err(e.into())),
                },
            };
            ctx.observations.invalidate(cache_key);
            if let Err(e) = record_id(api, pool, validated, &found.id).await {
                return (Observation::Seen(found), Err(e));
            }
            (Observation::Seen(found), Ok(action))
        }
        Action::Adopt => {
            if let Some(found) = &observed {
                publish(
                    ctx,
                    pool,
                    EventType::Normal,
                    "Adopted",
                    format!("adopted the existing cloud pool {}", found.id),
                )
                .await;
            }
            (seen(observed), Ok(Action::Adopt))
        }
        Action::Conflict { owner } => (Observation::NotRead, Ok(Action::Conflict { owner })),
        Action::Update { count, reasons } => {
            let Some(current) = observed else {
                return (Observation::Absent, Ok(Action::Wait));
            };
            if let Err(e) = provider
                .update(parent, &current, &validated.pool, count)
                .await
            {
                return (Observation::Seen(current), Err(e.into()));
            }
            publish(ctx, pool, EventType::Normal, "Updating", reasons.join("; ")).await;
            ctx.observations.invalidate(cache_key);
            let refreshed = read(ctx, resolved, cache_key, parent, &current.id)
                .await
                .ok()
                .flatten()
                .unwrap_or(current);
            (
                Observation::Seen(refreshed),
                Ok(Action::Update { count, reasons }),
            )
        }
        action @ (Action::Wait | Action::Nothing) => (seen(observed), Ok(action)),
    }
}

/// Finishes a deletion without deleting the cloud pool.
async fn release(ctx: &Context, pool: &NodePool, reason: &str, note: String) -> Requeue {
    publish(ctx, pool, EventType::Normal, reason, note).await;
    forget(ctx, pool).await;
    Requeue::await_change()
}

/// Removes this NodePool's ownership mark from the pool it leaves in place.
async fn unmark(ctx: &Context, pool: &NodePool) -> Result<(), Error> {
    let Some((cloud, parent, name)) = desired::location(pool) else {
        return Ok(());
    };
    let namespace = pool.namespace().unwrap_or_default();
    let resolved = ctx
        .accounts
        .resolve(&namespace, &pool.spec.account_ref.name, cloud)
        .await?;
    let provider = resolved.provider.as_ref();
    let found = match pool.status.as_ref().and_then(|s| s.pool_id.as_deref()) {
        Some(id) => provider.get(&parent, id).await?,
        None => provider.find(&parent, &name).await?,
    };
    match found {
        Some(found) if found.owner == pool.uid() => Ok(provider.unmark(&parent, &found).await?),
        _ => Ok(()),
    }
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
async fn blocked(ctx: &Context, api: &Api<NodePool>, pool: &NodePool, error: Error) -> Error {
    let previous = pool.status.clone().unwrap_or_default();
    let text = error.to_string();
    let status = status::deleting(
        &previous,
        Some((error.category(), &text)),
        pool.metadata.generation,
        &now(),
    );
    if let Err(write) = write_status(api, pool, &status).await {
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
    error
}

async fn cleanup(pool: Arc<NodePool>, ctx: &Context) -> Result<Requeue, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    let force_orphan = pool
        .annotations()
        .get(FORCE_ORPHAN_ANNOTATION)
        .is_some_and(|v| v == "true");
    if pool.spec.observe_only {
        let note = "the observed cloud pool is left in place".to_owned();
        return Ok(release(ctx, &pool, "Orphaned", note).await);
    }
    if pool.spec.deletion_policy == DeletionPolicy::Orphan || force_orphan {
        let note = match unmark(ctx, &pool).await {
            Ok(()) => "the cloud pool is left in place".to_owned(),
            Err(error) => format!(
                "the cloud pool is left in place, still marked as this NodePool's ({error}); remove its {OWNER_LABEL} label before another NodePool adopts it"
            ),
        };
        return Ok(release(ctx, &pool, "Orphaned", note).await);
    }
    let Some((cloud, parent, name)) = desired::location(&pool) else {
        return Ok(release(ctx, &pool, "Orphaned", "no cloud pool is declared".into()).await);
    };
    if let Some(owner) = rival_owner(ctx, &pool, cloud, &parent, &name) {
        let note = format!("the cloud pool belongs to NodePool {owner} and is left in place");
        return Ok(release(ctx, &pool, "Released", note).await);
    }
    let previous = pool.status.clone().unwrap_or_default();
    let resolved = match ctx
        .accounts
        .resolve(&namespace, &pool.spec.account_ref.name, cloud)
        .await
    {
        Ok(resolved) => resolved,
        Err(error) => return Err(blocked(ctx, &api, &pool, error).await),
    };
    let provider = resolved.provider.as_ref();
    let found = match &previous.pool_id {
        Some(id) => provider.get(&parent, id).await,
        None => provider.find(&parent, &name).await,
    };
    let found = match found {
        Ok(Some(found)) => found,
        Ok(None) => return Ok(gone(ctx, &pool).await),
        // The cluster or resource pool is gone, and its pools with it.
        Err(e) if e.category() == ErrorCategory::NotFound => return Ok(gone(ctx, &pool).await),
        Err(e) => return Err(blocked(ctx, &api, &pool, e.into()).await),
    };
    if let Some(owner) = &found.owner
        && Some(owner) != pool.uid().as_ref()
    {
        let note = format!(
            "the cloud pool {} is marked as owned by another NodePool (uid {owner}) and is left in place",
            found.id
        );
        return Ok(release(ctx, &pool, "Released", note).await);
    }
    let mut status = status::deleting(&previous, None, pool.metadata.generation, &now());
    if found.phase != PoolPhase::Deleting {
        match provider.delete(&parent, &found.id).await {
            Ok(DeleteOutcome::AlreadyGone) => return Ok(gone(ctx, &pool).await),
            Err(e) if e.category() == ErrorCategory::NotFound => {
                return Ok(gone(ctx, &pool).await);
            }
            Err(e) => return Err(blocked(ctx, &api, &pool, e.into()).await),
            Ok(DeleteOutcome::Started { job_id }) => {
                publish(
                    ctx,
                    &pool,
                    EventType::Normal,
                    "Deleting",
                    format!("deleting cloud pool {}", found.id),
                )
                .await;
                if job_id.is_some() {
                    status.last_job_id = job_id;
                }
            }
        }
    }
    write_status(&api, &pool, &status).await?;
    Err(Error::DeletionPending)
}
