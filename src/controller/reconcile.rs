//! One reconcile, step by step: validate the spec, resolve the account, check the one-owner
//! rule, observe the cloud, plan one action, apply it, write the status, all inside
//! kube-runtime's finalizer helper, which runs [`cleanup`](super::cleanup) on deletion. A
//! NodePool this version of the operator cannot read is reported, not fatal.

use std::sync::Arc;
use std::time::Duration;

use kube::core::DeserializeGuard;
use kube::runtime::controller::Action as Requeue;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Api, Resource, ResourceExt};
use rand::Rng;

use super::Context;
use super::account_health::Fact;
use super::accounts::AccountError;
use super::apply::{Applied, apply};
use super::cleanup::cleanup;
use super::error::{Error, MalformedObject};
use super::observe::{Target, changing, list_key, observe, rival_owner};
use super::plan::{Action, Mode, NODE_COUNT, plan};
use super::report::{announce, clear_warning, now, warn_once, warn_once_about, write_status};
use super::status::{self, Inputs, Observation, Outcome};
use super::validate;
use super::{preview, progress, refusal};
use crate::api::{
    APPROVE_PLAN_ANNOTATION, ChangePolicy, FINALIZER, NodePool, Plan, RETRY_ANNOTATION,
};
use crate::provider::{CloudKind, ErrorCategory};

/// A duration spread by ±10% so pools polled together drift apart.
fn jittered(base: Duration) -> Duration {
    let factor = rand::rng().random_range(0.9..=1.1);
    base.mul_f64(factor)
}

/// When a NodePool that is not being deleted is reconciled next.
enum Next {
    After(Duration),
    OnChange,
}

impl Next {
    /// The requeue, also told to the queue metrics.
    fn requeue(self, ctx: &Context, pool: &NodePool) -> Requeue {
        let (namespace, name) = (pool.namespace(), pool.name_any());
        match self {
            Next::After(wait) => {
                let wait = jittered(wait);
                ctx.metrics
                    .queue
                    .requeued(namespace.as_deref(), &name, Some(wait));
                Requeue::requeue(wait)
            }
            Next::OnChange => {
                ctx.metrics
                    .queue
                    .requeued(namespace.as_deref(), &name, None);
                Requeue::await_change()
            }
        }
    }
}

pub async fn reconcile(
    object: Arc<DeserializeGuard<NodePool>>,
    ctx: Arc<Context>,
) -> Result<Requeue, Error> {
    let started = std::time::Instant::now();
    let (namespace, name) = (object.namespace(), object.name_any());
    ctx.metrics.queue.started(namespace.as_deref(), &name);
    let result = match &object.0 {
        Ok(pool) => reconcile_pool(Arc::new(pool.clone()), &ctx).await,
        Err(invalid) => Err(MalformedObject {
            message: invalid.error.clone(),
        }
        .into()),
    };
    let label = match &result {
        Ok(_) => "ok",
        Err(error) => error.category(),
    };
    ctx.metrics.observe(label, started.elapsed());
    ctx.metrics.queue.finished();
    tracing::debug!(result = label, elapsed = ?started.elapsed(), "reconcile finished");
    let uid = object.uid().unwrap_or_default();
    match &result {
        Ok(_) => {
            ctx.failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&uid);
        }
        Err(Error::Malformed(malformed)) => {
            let reference = object.object_ref(&());
            let (reason, text) = (malformed.category(), malformed.to_string());
            warn_once_about(&ctx, &uid, reference, reason, text).await;
        }
        Err(_) => {}
    }
    result
}

async fn reconcile_pool(pool: Arc<NodePool>, ctx: &Context) -> Result<Requeue, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    finalizer(&api, FINALIZER, pool, |event| async {
        match event {
            FinalizerEvent::Apply(pool) => {
                let next = converge(&pool, ctx).await?;
                Ok(next.requeue(ctx, &pool))
            }
            FinalizerEvent::Cleanup(pool) => cleanup(&pool, ctx).await,
        }
    })
    .await
    .map_err(Error::from)
}

/// Requeue policy on errors: deletion in progress is polled; invalid input waits for a change;
/// everything else backs off per object with jitter.
pub fn error_policy(
    object: Arc<DeserializeGuard<NodePool>>,
    error: &Error,
    ctx: Arc<Context>,
) -> Requeue {
    let (namespace, name) = (object.namespace(), object.name_any());
    let queue = &ctx.metrics.queue;
    if error.is_deletion_pending() {
        let wait = jittered(ctx.config.wait_interval);
        queue.requeued(namespace.as_deref(), &name, Some(wait));
        return Requeue::requeue(wait);
    }
    if error.waits_for_change() {
        queue.requeued(namespace.as_deref(), &name, None);
        return Requeue::await_change();
    }
    let uid = object.uid().unwrap_or_default();
    let failures = {
        let mut map = ctx.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = map.entry(uid).or_insert(0);
        *n += 1;
        *n
    };
    let poll = object
        .0
        .as_ref()
        .ok()
        .and_then(|pool| poll_interval(&ctx, pool));
    let ceiling = backoff_ceiling(
        ctx.config.error_backoff,
        failures,
        poll.unwrap_or(ctx.config.poll_interval),
    );
    let wait = ceiling.mul_f64(rand::rng().random_range(0.5..=1.0));
    tracing::debug!(%error, failures, ?wait, "reconcile failed; backing off");
    queue.requeued(namespace.as_deref(), &name, Some(wait));
    Requeue::requeue(wait)
}

/// The longest an error backoff waits before the `failures`-th retry: doubling from `base`, but
/// never past the pool's poll interval (so a pool is back within one poll window of a cloud
/// outage ending) nor five minutes.
fn backoff_ceiling(base: Duration, failures: u32, poll: Duration) -> Duration {
    base.saturating_mul(1u32 << failures.min(12))
        .min(poll)
        .min(Duration::from_secs(300))
}

/// The pool's poll interval as the caches know it: its own, else its CloudAccount's.
fn poll_interval(ctx: &Context, pool: &NodePool) -> Option<Duration> {
    pool.spec
        .poll_interval_seconds
        .map(|s| Duration::from_secs(u64::from(s)))
        .or_else(|| {
            let namespace = pool.namespace().unwrap_or_default();
            ctx.accounts
                .cached_poll_interval(&namespace, &pool.spec.account_ref.name)
        })
}

fn mode(pool: &NodePool) -> Mode {
    Mode {
        paused: pool.spec.paused,
        observe_only: pool.spec.observe_only,
    }
}

/// Whether `plan` is a create carried out at once, which its `Created` event tells in full:
/// `Planned` and `Applied` are for updates and for plans that wait for approval (each Event
/// is a write the API server makes for every NodePool of a burst).
fn told_by_created(pool: &NodePool, plan: &Plan) -> bool {
    plan.action == "Create" && pool.spec.change_policy == ChangePolicy::Auto
}

/// The cloud's code and message when it refused a create or update itself (a 4xx about the
/// request, not the credentials, the quota or the pool's absence).
fn refusal_message(error: &Error) -> Option<String> {
    match error {
        Error::Apply(_) => error
            .cloud_error()
            .filter(|e| e.category() == ErrorCategory::InvalidRequest)
            .map(|_| error.to_string()),
        _ => None,
    }
}

/// What the account learnt from a reconcile's result, for its Ready condition.
fn fact(cloud: CloudKind, pool: &NodePool, result: &Result<Action, Error>) -> Option<Fact> {
    let service = cloud.as_str().to_owned();
    let pool = pool.uid().unwrap_or_default();
    match result {
        Ok(_) => Some(Fact::Works { service, pool }),
        Err(error) => match error.cloud_error() {
            Some(e) if e.category() == ErrorCategory::Auth => Some(Fact::Refused {
                service,
                pool,
                message: e.to_string(),
            }),
            Some(e) if e.unanswered() => Some(Fact::Unreachable {
                service,
                pool,
                message: e.to_string(),
            }),
            _ => None,
        },
    }
}

/// The pipeline for a NodePool that is not being deleted.
async fn converge(pool: &NodePool, ctx: &Context) -> Result<Next, Error> {
    let namespace = pool.namespace().unwrap_or_default();
    let api: Api<NodePool> = Api::namespaced(ctx.client.clone(), &namespace);
    let previous = pool.status.clone().unwrap_or_default();
    let generation = pool.metadata.generation;
    let mode = mode(pool);
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

    // Validate.
    let validated = match validate::validate(pool) {
        Ok(validated) => validated,
        Err(invalid) => {
            let outcome = Outcome::Invalid(invalid.0.clone());
            let status = status::build(&previous, &inputs(None, &Observation::NotRead, &outcome));
            write_status(ctx, &api, pool, &status).await?;
            warn_once(ctx, pool, invalid.category(), invalid.to_string()).await;
            return Ok(Next::OnChange);
        }
    };
    let cloud = validated.cloud;
    let inputs = |observation, outcome| Inputs {
        cloud: Some(cloud),
        ..inputs(Some(&validated), observation, outcome)
    };

    // The account's client.
    let account_name = &pool.spec.account_ref.name;
    let resolved = match ctx.accounts.resolve(&namespace, account_name, cloud).await {
        Ok(resolved) => {
            ctx.health
                .learn(&ctx.client, &namespace, account_name, Fact::Available)
                .await;
            resolved
        }
        Err(AccountError::Stopping) => return Err(AccountError::Stopping.into()),
        Err(error) => {
            let failed = Outcome::Failed {
                reason: error.category().to_owned(),
                message: error.to_string(),
            };
            let status = status::build(&previous, &inputs(&Observation::NotRead, &failed));
            write_status(ctx, &api, pool, &status).await?;
            if let AccountError::Credentials { message } = &error {
                let fact = Fact::Unavailable {
                    message: message.clone(),
                };
                ctx.health
                    .learn(&ctx.client, &namespace, account_name, fact)
                    .await;
            }
            warn_once(ctx, pool, error.category(), error.to_string()).await;
            return Err(error.into());
        }
    };
    let poll = pool
        .spec
        .poll_interval_seconds
        .map(|s| Duration::from_secs(u64::from(s)))
        .or(resolved.poll_interval)
        .unwrap_or(ctx.config.poll_interval);

    // One owner per cloud pool, decided from the cache before any cloud call.
    if let Some(owner) = rival_owner(ctx, pool, cloud, &validated.parent, &validated.pool.name) {
        let message = format!(
            "the cloud pool {} in {} is declared by NodePool {owner}, which owns it; this NodePool makes no change until that one is gone",
            validated.pool.name, validated.parent
        );
        let conflict = Outcome::Conflict(message.clone());
        let status = status::build(&previous, &inputs(&Observation::NotRead, &conflict));
        write_status(ctx, &api, pool, &status).await?;
        warn_once(ctx, pool, "Conflict", message).await;
        return Ok(Next::After(poll));
    }

    // Observe, plan, apply.
    let cache_key = list_key(&resolved, cloud, &validated.parent);
    let target = Target {
        pool,
        validated: &validated,
        resolved: &resolved,
        cache_key: &cache_key,
    };
    // What the API server shows once a plan is written before acting.
    let mut shown = pool.clone();
    let mut planned = None;
    let mut held = false;
    // The cloud refused this very plan too often: it is not sent again.
    let mut given_up = false;
    let retry = pool.annotations().get(RETRY_ANNOTATION).map(String::as_str);
    let (observation, result) = match observe(ctx, target, poll).await {
        Err(error) => (Observation::NotRead, Err(Error::from(error))),
        Ok(observed) => {
            let recorded = previous.pool_id.as_deref();
            let action = plan(
                &validated,
                mode,
                observed.pool.as_ref(),
                &observed.drift,
                recorded,
            );
            planned = preview::describe(&validated, observed.pool.as_ref(), &action, generation);
            if let Some(current) = planned.as_mut() {
                refusal::carry_over(current, previous.plan.as_deref(), retry);
                given_up = refusal::given_up(current, ctx.config.refused_plan_attempts);
            }
            if let Some(shown_plan) = &planned {
                let pool_id = previous.pool_id.as_deref();
                if previous.plan.as_ref().map(|p| &p.hash) != Some(&shown_plan.hash)
                    && !told_by_created(pool, shown_plan)
                {
                    announce(ctx, pool, "Planned", pool_id, preview::summary(shown_plan)).await;
                }
                if pool.spec.change_policy == ChangePolicy::Manual {
                    held =
                        pool.annotations().get(APPROVE_PLAN_ANNOTATION) != Some(&shown_plan.hash);
                    let waited = previous
                        .conditions
                        .iter()
                        .any(|c| c.type_ == "Synced" && c.reason == "AwaitingApproval");
                    if !held && waited {
                        let note = format!("plan {} approved", shown_plan.hash);
                        announce(ctx, pool, "Approved", pool_id, note).await;
                    }
                }
                if !held && !given_up {
                    // The plan is in status before the cloud hears of it.
                    let mut before = previous.clone();
                    before.plan = Some(Box::new(shown_plan.clone()));
                    // Shown when the API server takes it; a plan that cannot be shown does not
                    // hold the change back (the final status write reports the failure).
                    match write_status(ctx, &api, &shown, &before).await {
                        Ok(()) => shown.status = Some(before),
                        Err(error) => tracing::debug!(
                            namespace = %namespace,
                            name = %pool.name_any(),
                            "the plan could not be shown before acting: {error}"
                        ),
                    }
                }
            }
            if held || given_up {
                let observation = match observed.pool {
                    Some(found) => Observation::Seen(found),
                    None => Observation::Absent,
                };
                (observation, Ok(Action::Nothing))
            } else {
                let Applied {
                    observation,
                    result,
                } = apply(ctx, target, observed.pool, action).await;
                (observation, result.map_err(Error::from))
            }
        }
    };

    // Status and events.
    let refused_now = result.as_ref().err().and_then(refusal_message);
    let mut gives_up_now = false;
    if let (Some(message), Some(current)) = (&refused_now, planned.as_mut()) {
        refusal::record(current, message.clone(), retry);
        gives_up_now = refusal::given_up(current, ctx.config.refused_plan_attempts);
    }
    let outcome = match (&result, &planned) {
        (Ok(_), Some(stopped)) if given_up => {
            Outcome::Refused(refusal::explanation(stopped, &pool.name_any()))
        }
        (Err(_), Some(refused)) if gives_up_now => {
            Outcome::Refused(refusal::explanation(refused, &pool.name_any()))
        }
        (Err(_), Some(_)) if let Some(message) = &refused_now => Outcome::Refused(message.clone()),
        (Ok(_), Some(waiting)) if held => Outcome::AwaitingApproval(format!(
            "{}; approve it with: kubectl annotate nodepool {} {APPROVE_PLAN_ANNOTATION}={} --overwrite",
            preview::summary(waiting),
            pool.name_any(),
            waiting.hash
        )),
        _ => match &result {
            Ok(Action::Conflict { owner }) => Outcome::Conflict(format!(
                "the cloud pool {} in {} is marked as owned by another NodePool (uid {owner}); this NodePool makes no change to it",
                validated.pool.name, validated.parent
            )),
            Ok(_) => Outcome::Synced,
            Err(error) => Outcome::Failed {
                reason: error.category().to_owned(),
                message: error.to_string(),
            },
        },
    };
    let mut status = status::build(&previous, &inputs(&observation, &outcome));
    // A plan stays shown while it waits or failed, and is gone once carried out.
    status.plan = match (&result, held || given_up) {
        (_, true) => planned.clone().map(Box::new),
        // A failed attempt keeps its plan, also when the next one cannot read the cloud.
        (Err(_), false) => planned
            .clone()
            .map(Box::new)
            .or_else(|| previous.plan.clone()),
        (Ok(_), false) => None,
    };
    match &result {
        Ok(Action::Create) => {
            // A create answer shows no node yet; the pool is being created whatever it says.
            status.phase = Some("Creating".to_owned());
            let note = "the cloud pool is being created".to_owned();
            progress::acting(&mut status, "Creating", note, generation, &now);
        }
        Ok(Action::Update { reasons, .. }) => {
            let scaling_only = reasons.iter().all(|r| r.starts_with(NODE_COUNT));
            let reason = if scaling_only { "Scaling" } else { "Updating" };
            let note = format!("changing {}", reasons.join(", "));
            progress::acting(&mut status, reason, note, generation, &now);
        }
        _ => {}
    }
    let written = write_status(ctx, &api, &shown, &status).await;
    // Told also when its status could not be written: the pool exists.
    if let Ok(Action::Create) = &result {
        let id = status.pool_id.as_deref();
        let note = format!("created cloud pool {}", id.unwrap_or_default());
        announce(ctx, pool, "Created", id, note).await;
    }
    written?;
    if let (Some(done), false, Ok(Action::Create | Action::Update { .. })) =
        (&planned, held, &result)
        && !told_by_created(pool, done)
    {
        let note = format!("plan {} carried out", done.hash);
        announce(ctx, pool, "Applied", status.pool_id.as_deref(), note).await;
    }
    if let Some(fact) = fact(cloud, pool, &result) {
        ctx.health
            .learn(&ctx.client, &namespace, account_name, fact)
            .await;
    }
    // A new pool is `Creating`: its `Created` event says so.
    if previous.phase != status.phase
        && !matches!(result, Ok(Action::Create))
        && let Some(phase) = &status.phase
    {
        let note = format!("the cloud pool is {phase}");
        announce(ctx, pool, phase, status.pool_id.as_deref(), note).await;
    }
    if given_up || gives_up_now {
        if let Outcome::Refused(message) = &outcome {
            warn_once(ctx, pool, "ChangeRefused", message.clone()).await;
        }
        // Polled as a settled pool: what the cloud reports stays current, nothing is sent.
        return Ok(Next::After(poll));
    }
    let action = match result {
        Ok(Action::Conflict { .. }) => {
            if let Outcome::Conflict(message) = outcome {
                warn_once(ctx, pool, "Conflict", message).await;
            }
            return Ok(Next::After(poll));
        }
        Ok(action) => action,
        Err(error) => {
            warn_once(ctx, pool, error.category(), error.to_string()).await;
            return Err(error);
        }
    };
    clear_warning(ctx, pool);
    let busy = !matches!(action, Action::Nothing) || changing(status.phase.as_deref());
    Ok(Next::After(if busy {
        ctx.config.wait_interval
    } else {
        poll
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_backoff_doubles_up_to_the_poll_interval_and_five_minutes() {
        let base = Duration::from_secs(2);
        let secs = Duration::from_secs;
        for (failures, poll, expected) in [
            (1, secs(300), secs(4)),
            (3, secs(300), secs(16)),
            (6, secs(300), secs(128)),
            (8, secs(300), secs(300)),
            (40, secs(3600), secs(300)),
            (4, secs(10), secs(10)),
            (12, secs(30), secs(30)),
            (1, secs(1), secs(1)),
        ] {
            assert_eq!(
                backoff_ceiling(base, failures, poll),
                expected,
                "after {failures} failures with a {poll:?} poll"
            );
        }
    }
}
