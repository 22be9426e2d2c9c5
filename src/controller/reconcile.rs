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

use super::Context;
use super::desired::{self, Validated};
use super::error::Error;
use super::plan::{Action, Mode, plan};
use super::status::{Outcome, build, phase_word};
use crate::api::{DeletionPolicy, FINALIZER, FORCE_ORPHAN_ANNOTATION, NodePool, NodePoolStatus};
use crate::provider::{CloudError, DeleteOutcome, ErrorCategory, ObservedPool, PoolPhase};

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

/// Publishes a warning once per distinct error of an object (not on every retry).
async fn warn_once(ctx: &Context, pool: &NodePool, error: &Error) {
    let key = pool.uid().unwrap_or_default();
    let text = error.to_string();
    let fresh = {
        let mut last = ctx.last_warning.lock().unwrap_or_else(|e| e.into_inner());
        last.insert(key, text.clone()).as_ref() != Some(&text)
    };
    if fresh {
        publish(ctx, pool, EventType::Warning, error.category(), text).await;
    }
}

async fn write_status(
    api: &Api<NodePool>,
    pool: &NodePool,
    status: &NodePoolStatus,
) -> Result<(), Error> {
    if pool.status.as_ref() == Some(status) {
        return Ok(());
    }
    let patch = json!({"status": status});
    api.patch_status(
        &pool.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
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

async fn apply(pool: Arc<NodePool>, ctx: &Context) -> Result<Requeue, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    let previous = pool.status.clone().unwrap_or_default();
    let generation = pool.metadata.generation;
    let mode = mode(&pool);

    let validated = match desired::validate(&pool) {
        Ok(validated) => validated,
        Err(message) => {
            let status = build(
                &previous,
                None,
                None,
                mode,
                None,
                &Outcome::Invalid(message.clone()),
                generation,
                &now(),
            );
            write_status(&api, &pool, &status).await?;
            warn_once(ctx, &pool, &Error::InvalidSpec(message)).await;
            return Ok(Requeue::await_change());
        }
    };
    let account_name = &pool.spec.account_ref.name;
    let resolved = match ctx
        .accounts
        .resolve(&ctx.client, &namespace, account_name, validated.cloud)
        .await
    {
        Ok(resolved) => resolved,
        Err(error) => {
            let failed = Outcome::Failed {
                reason: error.category().to_owned(),
                message: error.to_string(),
            };
            let status = build(
                &previous,
                Some(validated.cloud),
                Some(&validated),
                mode,
                None,
                &failed,
                generation,
                &now(),
            );
            write_status(&api, &pool, &status).await?;
            if let Error::Credentials(message) = &error {
                ctx.accounts
                    .report(
                        &ctx.client,
                        &namespace,
                        account_name,
                        false,
                        "CredentialsUnavailable",
                        message,
                    )
                    .await;
            }
            warn_once(ctx, &pool, &error).await;
            return Err(error);
        }
    };
    let poll = pool
        .spec
        .poll_interval_seconds
        .map(|s| Duration::from_secs(u64::from(s)))
        .or(resolved.poll_interval)
        .unwrap_or(ctx.config.poll_interval);
    let cache_key = format!(
        "{}/{}/{}",
        resolved.key,
        validated.cloud.as_str(),
        validated.parent
    );

    let outcome = converge(ctx, &api, &pool, &validated, &resolved, &cache_key, poll).await;
    let (observed, result) = match outcome {
        Ok((observed, action)) => (observed, Ok(action)),
        Err(failed) => {
            let (observed, error) = *failed;
            (observed, Err(error))
        }
    };
    let status_outcome = match &result {
        Ok(_) => Outcome::Synced,
        Err(error) => Outcome::Failed {
            reason: error.category().to_owned(),
            message: error.to_string(),
        },
    };
    let mut status = build(
        &previous,
        Some(validated.cloud),
        Some(&validated),
        mode,
        observed.as_ref(),
        &status_outcome,
        generation,
        &now(),
    );
    if matches!(result, Ok(Action::Create)) {
        // A create answer shows no node yet; the pool is being created whatever it says.
        status.phase = Some("Creating".to_owned());
    }
    write_status(&api, &pool, &status).await?;
    match &result {
        Ok(_) => {
            ctx.accounts
                .report(
                    &ctx.client,
                    &namespace,
                    account_name,
                    true,
                    "CredentialsWork",
                    "the cloud accepted the credentials",
                )
                .await
        }
        Err(Error::Cloud(e)) if e.category() == ErrorCategory::Auth => {
            ctx.accounts
                .report(
                    &ctx.client,
                    &namespace,
                    account_name,
                    false,
                    "CloudAuth",
                    &e.to_string(),
                )
                .await;
        }
        Err(_) => {}
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
        Ok(action) => action,
        Err(error) => {
            warn_once(ctx, &pool, &error).await;
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

type Converged = Result<(Option<ObservedPool>, Action), Box<(Option<ObservedPool>, Error)>>;

/// Observes the cloud pool, plans and applies one action.
async fn converge(
    ctx: &Context,
    api: &Api<NodePool>,
    pool: &NodePool,
    validated: &Validated,
    resolved: &super::accounts::Resolved,
    cache_key: &str,
    poll: Duration,
) -> Converged {
    let provider = resolved.provider.as_ref();
    let previous = pool.status.clone().unwrap_or_default();
    let known_id = previous.pool_id.clone();
    let parent = &validated.parent;
    let name = &validated.pool.name;
    // Pools that are changing are read directly; settled ones come from the shared list.
    let observed = if let (Some(id), true) = (&known_id, changing(previous.phase.as_deref())) {
        provider.get(parent, id).await
    } else {
        ctx.observations
            .list(cache_key, provider, parent, poll)
            .await
            .map(|pools| {
                pools
                    .iter()
                    .find(|p| {
                        Some(&p.id) == known_id.as_ref() || (known_id.is_none() && &p.name == name)
                    })
                    .cloned()
            })
    };
    let observed = match observed {
        Ok(observed) => observed,
        Err(error) => return Err(Box::new((None, Error::Cloud(error)))),
    };
    let drift = observed
        .as_ref()
        .map(|o| provider.drift(&validated.pool, o))
        .unwrap_or_default();
    let action = plan(
        validated,
        mode(pool),
        observed.as_ref(),
        &drift,
        known_id.as_deref(),
    );
    let fail =
        |observed: Option<ObservedPool>, e: CloudError| Err(Box::new((observed, Error::Cloud(e))));
    match &action {
        Action::Create => {
            // Never create twice: a pool of this name may exist already (a crash after the
            // create call, or a pool made by hand).
            let existing = match provider.find(parent, name).await {
                Ok(existing) => existing,
                Err(e) => return fail(None, e),
            };
            let created = match existing {
                Some(existing) => {
                    publish(
                        ctx,
                        pool,
                        EventType::Normal,
                        "Adopted",
                        format!("adopted the existing cloud pool {}", existing.id),
                    )
                    .await;
                    existing
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
                        created
                    }
                    Err(e) => return fail(None, e),
                },
            };
            ctx.observations.invalidate(cache_key);
            // Record the id at once, before anything else can fail.
            let patch = json!({"status": {"poolId": created.id, "poolName": name, "provider": validated.cloud.as_str()}});
            if let Err(e) = api
                .patch_status(
                    &pool.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
            {
                return Err(Box::new((Some(created), Error::Kube(e))));
            }
            Ok((Some(created), action))
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
            Ok((observed, action))
        }
        Action::Update { count, reasons } => {
            let Some(current) = observed.clone() else {
                return Ok((None, Action::Wait));
            };
            if let Err(e) = provider
                .update(parent, &current, &validated.pool, *count)
                .await
            {
                return fail(Some(current), e);
            }
            publish(ctx, pool, EventType::Normal, "Updating", reasons.join("; ")).await;
            ctx.observations.invalidate(cache_key);
            let refreshed = provider
                .get(parent, &current.id)
                .await
                .ok()
                .flatten()
                .or(Some(current));
            Ok((refreshed, action))
        }
        Action::Wait | Action::Nothing => Ok((observed, action)),
    }
}

async fn cleanup(pool: Arc<NodePool>, ctx: &Context) -> Result<Requeue, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    let force_orphan = pool
        .annotations()
        .get(FORCE_ORPHAN_ANNOTATION)
        .is_some_and(|v| v == "true");
    if pool.spec.deletion_policy == DeletionPolicy::Orphan || pool.spec.observe_only || force_orphan
    {
        publish(
            ctx,
            &pool,
            EventType::Normal,
            "Orphaned",
            "the cloud pool is left in place".into(),
        )
        .await;
        return Ok(Requeue::await_change());
    }
    let Some((cloud, parent, name)) = desired::location(&pool) else {
        return Ok(Requeue::await_change());
    };
    let previous = pool.status.clone().unwrap_or_default();
    let resolved = match ctx
        .accounts
        .resolve(&ctx.client, &namespace, &pool.spec.account_ref.name, cloud)
        .await
    {
        Ok(resolved) => resolved,
        Err(error) => {
            let message = format!(
                "{error}; the cloud pool cannot be deleted: restore the account, or annotate the NodePool with {FORCE_ORPHAN_ANNOTATION}=true to release it"
            );
            let failed = Outcome::Failed {
                reason: error.category().to_owned(),
                message,
            };
            let status = build(
                &previous,
                Some(cloud),
                None,
                mode(&pool),
                None,
                &failed,
                pool.metadata.generation,
                &now(),
            );
            write_status(&api, &pool, &status).await?;
            warn_once(ctx, &pool, &error).await;
            return Err(error);
        }
    };
    let provider = resolved.provider.as_ref();
    let found = match &previous.pool_id {
        Some(id) => provider.get(&parent, id).await?,
        None => provider.find(&parent, &name).await?,
    };
    let Some(found) = found else {
        publish(
            ctx,
            &pool,
            EventType::Normal,
            "Deleted",
            "the cloud pool is gone".into(),
        )
        .await;
        return Ok(Requeue::await_change());
    };
    if found.phase != PoolPhase::Deleting {
        match provider.delete(&parent, &found.id).await? {
            DeleteOutcome::AlreadyGone => {
                publish(
                    ctx,
                    &pool,
                    EventType::Normal,
                    "Deleted",
                    "the cloud pool is gone".into(),
                )
                .await;
                return Ok(Requeue::await_change());
            }
            DeleteOutcome::Started { job_id } => {
                publish(
                    ctx,
                    &pool,
                    EventType::Normal,
                    "Deleting",
                    format!("deleting cloud pool {}", found.id),
                )
                .await;
                let mut status = previous.clone();
                status.phase = Some(phase_word(PoolPhase::Deleting).to_owned());
                if job_id.is_some() {
                    status.last_job_id = job_id;
                }
                write_status(&api, &pool, &status).await?;
            }
        }
    }
    Err(Error::DeletionPending)
}
