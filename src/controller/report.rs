//! What the user sees of a reconcile: the status subresource (written only when it changed)
//! and Events (a warning once per distinct problem, not on every retry).

use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Resource, ResourceExt};

use super::Context;
use super::status;
use crate::api::{NodePool, NodePoolStatus};

/// Writing the status failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("kubernetes: {source}")]
    Write {
        #[source]
        source: kube::Error,
    },
}

impl StatusError {
    pub fn category(&self) -> &'static str {
        "KubernetesError"
    }
}

/// The time of a condition transition, to the second as Kubernetes shows it.
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Writes the status if it differs from what the object shows, removing fields that no longer
/// apply, and shows it in the per-NodePool metrics.
pub async fn write_status(
    ctx: &Context,
    api: &Api<NodePool>,
    pool: &NodePool,
    status: &NodePoolStatus,
) -> Result<(), StatusError> {
    let namespace = pool.namespace().unwrap_or_default();
    ctx.metrics.pools.show(&namespace, &pool.name_any(), status);
    let shown = pool.status.clone().unwrap_or_default();
    if pool.status.is_some() && &shown == status {
        return Ok(());
    }
    api.patch_status(
        &pool.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&status::patch(&shown, status)),
    )
    .await
    .map_err(|source| StatusError::Write { source })?;
    Ok(())
}

/// Tells what the operator did or saw happen to a NodePool's cloud pool (created, adopted,
/// scaling, ready, deleting, deleted, orphaned, ...): one INFO line with stable fields
/// (`action`, `namespace`, `name`, `pool_id`) and a Normal Event.
pub async fn announce(
    ctx: &Context,
    pool: &NodePool,
    reason: &str,
    pool_id: Option<&str>,
    note: String,
) {
    tracing::info!(
        action = reason.to_ascii_lowercase(),
        namespace = pool.namespace().unwrap_or_default(),
        name = pool.name_any(),
        pool_id = pool_id.unwrap_or_default(),
        "{}",
        one_line(&note)
    );
    publish_to(ctx, pool.object_ref(&()), EventType::Normal, reason, note).await;
}

/// A text on one line, so a message never splits a log record.
pub fn one_line(text: &str) -> String {
    if text.contains(['\n', '\r']) {
        text.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        text.to_owned()
    }
}

async fn publish_to(
    ctx: &Context,
    reference: ObjectReference,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: reason.to_owned(),
        secondary: None,
    };
    // kube's Recorder keeps every Event it published for six minutes (to count repeats into a
    // series) and scans them all on each publish. Normal Events here mark transitions and
    // warnings are deduplicated per problem, so that cache would only hold memory (three Events
    // per NodePool after a burst of creates) and time: each Event is published on its own.
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    if let Err(error) = recorder.publish(&event, &reference).await {
        tracing::debug!(%error, "could not publish an event");
    }
}

/// Publishes a warning once per distinct problem of an object (not on every retry).
pub async fn warn_once(ctx: &Context, pool: &NodePool, reason: &str, text: String) {
    let uid = pool.uid().unwrap_or_default();
    warn_once_about(ctx, &uid, pool.object_ref(&()), reason, text).await;
}

/// [`warn_once`] for an object known only by its reference (one that cannot be read).
pub async fn warn_once_about(
    ctx: &Context,
    uid: &str,
    reference: ObjectReference,
    reason: &str,
    text: String,
) {
    let fresh = {
        let mut last = ctx.last_warning.lock().unwrap_or_else(|e| e.into_inner());
        last.insert(uid.to_owned(), text.clone()).as_ref() != Some(&text)
    };
    if fresh {
        publish_to(ctx, reference, EventType::Warning, reason, text).await;
    }
}

/// Forgets the last warning of a NodePool that is healthy again.
pub fn clear_warning(ctx: &Context, pool: &NodePool) {
    ctx.last_warning
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&pool.uid().unwrap_or_default());
}
