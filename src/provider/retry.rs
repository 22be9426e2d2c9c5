//! Retries of throttled and transient failures with jittered exponential backoff (backon),
//! bounded in attempts and total time so one cloud call never holds a reconcile for more than
//! about 30 s. A cloud's `retry-after` is honoured (within the bound). Other errors return at
//! once.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::time::Instant;

use super::error::CloudError;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// No retry starts after this much time has passed since the first attempt.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 6,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(25),
        }
    }
}

impl RetryPolicy {
    /// No retries (for tests and for callers that retry themselves).
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    fn backoff(&self) -> ExponentialBuilder {
        ExponentialBuilder::default()
            .with_min_delay(self.base_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .with_jitter()
    }

    /// Runs `call` until it succeeds, fails with a non-retryable error, or the bounds are hit.
    /// `on_retry` observes each retried error (for metrics and logs).
    pub async fn run<T, F, Fut>(
        &self,
        call: F,
        on_retry: impl FnMut(&CloudError, Duration),
    ) -> Result<T, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        self.run_if(call, |error| error.category().is_retryable(), on_retry)
            .await
    }

    /// [`run`](Self::run), retrying only the errors `retryable` accepts.
    pub async fn run_if<T, F, Fut>(
        &self,
        call: F,
        retryable: impl Fn(&CloudError) -> bool,
        on_retry: impl FnMut(&CloudError, Duration),
    ) -> Result<T, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        let started = Instant::now();
        let max_elapsed = self.max_elapsed;
        call.retry(self.backoff())
            .sleep(tokio::time::sleep)
            .when(retryable)
            // The cloud's own wait wins over a shorter backoff; nothing past the time bound.
            .adjust(move |error, wait| {
                let wait = wait?;
                let wait = error.retry_after().map_or(wait, |asked| asked.max(wait));
                (started.elapsed() + wait <= max_elapsed).then_some(wait)
            })
            .notify(on_retry)
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    fn transient() -> CloudError {
        CloudError::transport("connection reset")
    }

    #[tokio::test(start_paused = true)]
    async fn transient_errors_retry_until_success() {
        let calls = AtomicU32::new(0);
        let result = RetryPolicy::default()
            .run(
                || async {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        Err(transient())
                    } else {
                        Ok(7)
                    }
                },
                |_, _| {},
            )
            .await;
        assert_eq!(result, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded_and_waits_within_the_cap() {
        let calls = AtomicU32::new(0);
        let policy = RetryPolicy::default();
        let mut waits = Vec::new();
        let result: Result<(), _> = policy
            .run(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(transient())
                },
                |_, wait| waits.push(wait),
            )
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), policy.max_attempts);
        assert!(
            waits.iter().all(|w| *w <= policy.max_delay * 2),
            "{waits:?}"
        );
        assert!(waits.windows(2).all(|w| w[1] >= w[0] / 2), "{waits:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn invalid_requests_are_not_retried() {
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = RetryPolicy::default()
            .run(
                || async {
                    calls.fetch_add(1, Ordering::SeqCst);
                    Err(CloudError::from_response(
                        400,
                        Some("CCE.01400001".into()),
                        "bad".into(),
                        None,
                    ))
                },
                |_, _| {},
            )
            .await;
        assert!(result.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_within_the_time_bound_and_honour_retry_after() {
        let started = Instant::now();
        let calls = AtomicU32::new(0);
        let result: Result<(), _> = RetryPolicy {
            max_attempts: 100,
            ..RetryPolicy::default()
        }
        .run(
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(CloudError::Throttled {
                    code: "Throttling.User".into(),
                    message: "slow down".into(),
                    retry_after: Some(Duration::from_secs(10)),
                })
            },
            |_, wait| assert!(wait >= Duration::from_secs(10)),
        )
        .await;
        assert!(result.is_err());
        assert!(started.elapsed() <= Duration::from_secs(25));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            3,
            "10 s waits fit twice in the 25 s bound"
        );
    }
}
