//! Apply: carries out the one action the plan chose (create, adopt, update) and reports what
//! the cloud shows afterwards. A create looks the pool up by name in a list made right before
//! (and after any earlier attempt ended), and the pool's id goes into the very next status
//! write, so a lost answer or a crash never leads to a second pool.

use super::Context;
use super::error::cloud_category;
use tokio::time::Instant;

use super::observe::{Target, find_before_create, read};
use super::plan::Action;
use super::plan::NODE_COUNT;
use super::report::announce;
use super::status::Observation;
use crate::api::NodePool;
use crate::provider::{CloudError, ErrorCategory, ObservedPool};

/// An action could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("cloud: {source}")]
    Cloud {
        #[source]
        source: CloudError,
    },
}

impl ApplyError {
    pub fn category(&self) -> &'static str {
        match self {
            ApplyError::Cloud { source } => cloud_category(source),
        }
    }
}

impl From<CloudError> for ApplyError {
    fn from(source: CloudError) -> Self {
        ApplyError::Cloud { source }
    }
}

/// What applying left: the freshest view of the pool (also on failure), and the action done.
pub struct Applied {
    pub observation: Observation,
    pub result: Result<Action, ApplyError>,
}

impl Applied {
    fn done(observation: Observation, action: Action) -> Self {
        Self {
            observation,
            result: Ok(action),
        }
    }

    fn failed(observation: Observation, error: impl Into<ApplyError>) -> Self {
        Self {
            observation,
            result: Err(error.into()),
        }
    }
}

fn seen(observed: Option<ObservedPool>) -> Observation {
    match observed {
        Some(pool) => Observation::Seen(pool),
        None => Observation::Absent,
    }
}

async fn adopted(ctx: &Context, pool: &NodePool, found: &ObservedPool) {
    let note = format!("adopted the existing cloud pool {}", found.id);
    announce(ctx, pool, "Adopted", Some(&found.id), note).await;
}

/// Carries out `action` on the pool the cloud showed as `observed`.
pub async fn apply(
    ctx: &Context,
    target: Target<'_>,
    observed: Option<ObservedPool>,
    action: Action,
) -> Applied {
    let Target {
        pool,
        validated,
        resolved,
        cache_key,
    } = target;
    let provider = resolved.provider.as_ref();
    let parent = &validated.parent;
    match action {
        Action::Create => {
            // Never create twice: the list may predate a pool of this name (made by hand, or
            // by a create whose answer was lost), so look it up in a list made right before.
            let existing = match find_before_create(ctx, target).await {
                Ok(existing) => existing,
                Err(e) => return Applied::failed(Observation::Absent, e),
            };
            let (found, action) = match existing {
                Some(existing) => {
                    if let Some(owner) = existing.owner.clone()
                        && owner != validated.owner
                    {
                        return Applied::done(Observation::NotRead, Action::Conflict { owner });
                    }
                    adopted(ctx, pool, &existing).await;
                    (existing, Action::Adopt)
                }
                None => {
                    let started = Instant::now();
                    let created = provider.create(parent, &validated.pool).await;
                    // Whatever the answer, only a list made after it shows what the cloud did.
                    let name = &validated.pool.name;
                    ctx.observations
                        .wrote(cache_key, name, Instant::now())
                        .await;
                    match created {
                        Ok(created) => {
                            ctx.observations
                                .record(cache_key, &created.id, Some(&created), started)
                                .await;
                            (created, Action::Create)
                        }
                        // The answer may be lost after the cloud acted: the next attempt looks
                        // the pool up by name first.
                        Err(e) => return Applied::failed(Observation::Absent, e),
                    }
                }
            };
            // Its id is in the status written next, before the create is announced.
            Applied::done(Observation::Seen(found), action)
        }
        Action::Adopt => {
            if let Some(found) = &observed {
                adopted(ctx, pool, found).await;
            }
            Applied::done(seen(observed), Action::Adopt)
        }
        Action::Conflict { owner } => {
            Applied::done(Observation::NotRead, Action::Conflict { owner })
        }
        Action::Update { count, reasons } => {
            let Some(current) = observed else {
                return Applied::done(Observation::Absent, Action::Wait);
            };
            let updated = provider
                .update(parent, &current, &validated.pool, count)
                .await;
            let name = &validated.pool.name;
            ctx.observations
                .wrote(cache_key, name, Instant::now())
                .await;
            if let Err(e) = updated {
                // A transient failure may come after the cloud acted: what was seen before no
                // longer stands until the next read.
                let observation = if e.category() == ErrorCategory::Transient {
                    Observation::NotRead
                } else {
                    Observation::Seen(current)
                };
                return Applied::failed(observation, e);
            }
            // A change of the node count alone is a scale; anything else an update.
            let scaling = reasons.iter().all(|r| r.starts_with(NODE_COUNT));
            let reason = if scaling { "Scaling" } else { "Updating" };
            let note = reasons.join("; ");
            announce(ctx, pool, reason, Some(&current.id), note).await;
            let refreshed = read(ctx, resolved, cache_key, parent, &current.id)
                .await
                .ok()
                .flatten()
                .unwrap_or(current);
            Applied::done(
                Observation::Seen(refreshed),
                Action::Update { count, reasons },
            )
        }
        action @ (Action::Wait | Action::Nothing) => Applied::done(seen(observed), action),
    }
}
