//! The reconcile's error: one variant per step, each step with its own error type that keeps
//! its source, and a bounded [`Error::category`] (metric label, event reason, retry policy).

use crate::provider::{CloudError, ErrorCategory};

use super::accounts::AccountError;
use super::apply::ApplyError;
use super::cleanup::CleanupError;
use super::observe::ObserveError;
use super::report::StatusError;
use super::validate::InvalidSpec;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Validate(#[from] InvalidSpec),
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Observe(#[from] ObserveError),
    #[error(transparent)]
    Apply(#[from] ApplyError),
    #[error(transparent)]
    Cleanup(#[from] CleanupError),
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error(transparent)]
    Finalizer(#[from] FinalizerError),
    #[error(transparent)]
    Malformed(#[from] MalformedObject),
}

/// A NodePool this version of the operator cannot read (written for an older or newer schema,
/// or with a value the schema lets through but the operator's types do not). It is reported
/// and waits for a change; the other NodePools go on.
#[derive(Debug, thiserror::Error)]
#[error("the NodePool cannot be read by this operator: {message}")]
pub struct MalformedObject {
    pub message: String,
}

impl MalformedObject {
    pub fn category(&self) -> &'static str {
        "MalformedObject"
    }
}

/// Adding or removing the finalizer failed.
#[derive(Debug, thiserror::Error)]
pub enum FinalizerError {
    #[error("finalizer: {source}")]
    Patch {
        #[source]
        source: kube::Error,
    },
    #[error("finalizer: {message}")]
    Unusable { message: String },
}

impl Error {
    /// Label value and event reason; a closed set.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Validate(e) => e.category(),
            Error::Account(e) => e.category(),
            Error::Observe(e) => e.category(),
            Error::Apply(e) => e.category(),
            Error::Cleanup(e) => e.category(),
            Error::Status(e) => e.category(),
            Error::Finalizer(_) => "FinalizerError",
            Error::Malformed(e) => e.category(),
        }
    }

    /// Shutdown cut the reconcile short: nothing to report, the next leader goes on.
    pub fn is_shutting_down(&self) -> bool {
        matches!(
            self,
            Error::Account(AccountError::Stopping)
                | Error::Cleanup(CleanupError::Account(AccountError::Stopping))
        )
    }

    /// Errors that only a change to the spec can fix wait for that change. A cloud's 4xx does
    /// not: many clear by themselves ("cluster upgrading", a quota raised), so they back off.
    pub fn waits_for_change(&self) -> bool {
        match self {
            Error::Validate(_) | Error::Malformed(_) => true,
            Error::Account(e) => e.waits_for_change(),
            _ => false,
        }
    }

    /// The cloud's error, when a cloud call failed.
    pub fn cloud_error(&self) -> Option<&CloudError> {
        match self {
            Error::Observe(ObserveError::Cloud { source })
            | Error::Apply(ApplyError::Cloud { source })
            | Error::Cleanup(CleanupError::Cloud { source }) => Some(source),
            _ => None,
        }
    }

    /// Adding or removing the finalizer found the NodePool changed since the cached copy the
    /// reconcile started from (the JSON patch's `test` failed: 422 without field causes, or
    /// 409): the cache is catching up, and the change it brings starts the next reconcile.
    /// A 422 naming fields is the schema refusing the object, a real failure.
    pub fn is_stale_copy(&self) -> bool {
        let Error::Finalizer(FinalizerError::Patch {
            source: kube::Error::Api(status),
        }) = self
        else {
            return false;
        };
        let names_fields = status
            .details
            .as_ref()
            .is_some_and(|d| !d.causes.is_empty());
        status.code == 409 || (status.code == 422 && !names_fields)
    }

    /// The cloud is deleting the pool: polled, not a failure.
    pub fn is_deletion_pending(&self) -> bool {
        matches!(self, Error::Cleanup(CleanupError::Pending))
    }
}

impl From<kube::runtime::finalizer::Error<Error>> for Error {
    fn from(error: kube::runtime::finalizer::Error<Error>) -> Self {
        use kube::runtime::finalizer::Error as Finalizer;
        match error {
            Finalizer::ApplyFailed(e) | Finalizer::CleanupFailed(e) => e,
            Finalizer::AddFinalizer(source) | Finalizer::RemoveFinalizer(source) => {
                FinalizerError::Patch { source }.into()
            }
            other => FinalizerError::Unusable {
                message: other.to_string(),
            }
            .into(),
        }
    }
}

/// The category of a failed cloud call, shared by every step that calls the cloud.
pub fn cloud_category(error: &CloudError) -> &'static str {
    match error.category() {
        ErrorCategory::NotFound => "CloudNotFound",
        ErrorCategory::AlreadyExists => "CloudAlreadyExists",
        ErrorCategory::InvalidRequest => "CloudInvalidRequest",
        ErrorCategory::Quota => "CloudQuota",
        ErrorCategory::Auth => "CloudAuth",
        ErrorCategory::Throttled => "CloudThrottled",
        ErrorCategory::Transient => "CloudUnavailable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finalizer_patch_failed(code: u16) -> Error {
        refused(kube::core::Status::failure("patch refused", "Invalid").with_code(code))
    }

    fn refused(status: kube::core::Status) -> Error {
        FinalizerError::Patch {
            source: kube::Error::Api(Box::new(status)),
        }
        .into()
    }

    #[test]
    fn a_finalizer_patch_against_a_changed_nodepool_is_a_stale_copy_not_a_failure() {
        assert!(finalizer_patch_failed(422).is_stale_copy());
        assert!(finalizer_patch_failed(409).is_stale_copy());
        assert!(!finalizer_patch_failed(403).is_stale_copy());
        assert!(!finalizer_patch_failed(500).is_stale_copy());
        // The schema refusing a field is not a stale copy.
        let mut invalid =
            kube::core::Status::failure("spec.x: Invalid value", "Invalid").with_code(422);
        invalid.details = Some(kube::core::response::StatusDetails {
            causes: vec![kube::core::response::StatusCause {
                reason: "FieldValueInvalid".into(),
                message: "Invalid value".into(),
                field: "spec.x".into(),
            }],
            name: "pool".into(),
            group: "nodepool.io".into(),
            kind: "nodepools".into(),
            uid: String::new(),
            retry_after_seconds: 0,
        });
        assert!(!refused(invalid).is_stale_copy());
    }
}
