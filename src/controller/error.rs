//! Reconcile errors with a bounded category for metrics, event reasons and the retry policy.

use crate::provider::{CloudError, ErrorCategory};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    #[error("CloudAccount {0} not found")]
    AccountNotFound(String),
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("cloud: {0}")]
    Cloud(#[from] CloudError),
    #[error("kubernetes: {0}")]
    Kube(#[from] kube::Error),
    /// The cloud is deleting the pool; not a failure.
    #[error("waiting for the cloud to delete the pool")]
    DeletionPending,
    #[error("finalizer: {0}")]
    Finalizer(String),
}

impl Error {
    /// Label value and event reason; a closed set.
    pub fn category(&self) -> &'static str {
        match self {
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::AccountNotFound(_) => "AccountNotFound",
            Error::Credentials(_) => "CredentialsUnavailable",
            Error::Cloud(e) => match e.category() {
                ErrorCategory::NotFound => "CloudNotFound",
                ErrorCategory::AlreadyExists => "CloudAlreadyExists",
                ErrorCategory::InvalidRequest => "CloudInvalidRequest",
                ErrorCategory::Quota => "CloudQuota",
                ErrorCategory::Auth => "CloudAuth",
                ErrorCategory::Throttled => "CloudThrottled",
                ErrorCategory::Transient => "CloudUnavailable",
            },
            Error::Kube(_) => "KubernetesError",
            Error::DeletionPending => "Deleting",
            Error::Finalizer(_) => "FinalizerError",
        }
    }

    /// Errors that only a change to the spec can fix wait for that change. A cloud's 4xx does
    /// not: many clear by themselves ("cluster upgrading", a quota raised), so they back off.
    pub fn waits_for_change(&self) -> bool {
        matches!(self, Error::InvalidSpec(_))
    }
}

impl<E: std::fmt::Display + std::error::Error + 'static> From<kube::runtime::finalizer::Error<E>>
    for Error
{
    fn from(error: kube::runtime::finalizer::Error<E>) -> Self {
        Error::Finalizer(error.to_string())
    }
}
