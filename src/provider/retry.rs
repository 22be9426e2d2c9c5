//! Retries of throttled and transient failures with full-jitter exponential backoff, bounded in
//! attempts and total time so one cloud call never holds a reconcile for more than about 30 s.
//! A cloud's `retry-after` is honoured (within the bound). Other errors return at once.

use std::future::Future;
use std::time::Duration;

use rand::Rng;
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

    /// Full jitter: a uniform wait in `[0, min(max_delay, base * 2^attempt)]`.
    pub fn backoff(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.min(20)));
        let cap = exp.min(self.max_delay);
        Duration::from_secs_f64(rng.random_range(0.0..=cap.as_secs_f64()))
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
        mut call: F,
        retryable: impl Fn(&CloudError) -> bool,
        mut on_retry: impl FnMut(&CloudError, Duration),
    ) -> Result<T, CloudError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, CloudError>>,
    {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            let error = match call().await {
                Ok(value) => return Ok(value),
                Err(error) => error,
            };
            attempt += 1;
            if !retryable(&error) || attempt >= self.max_attempts {
                return Err(error);
            }
            let jitter = self.backoff(attempt - 1, &mut rand::rng());
            let wait = error
                .retry_after()
                .map_or(jitter, |asked| asked.max(jitter));
            if started.elapsed() + wait > self.max_elapsed {
                return Err(error);
            }
            on_retry(&error, wait);
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use rand::SeedableRng;

    use super::*;

    fn transient() -> CloudError {
        CloudError::transport("connection reset")
    }

    #[test]
    fn backoff_is_bounded_by_the_exponential_cap() {
        let policy = RetryPolicy::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for attempt in 0..30 {
            let cap = policy
                .base_delay
                .saturating_mul(2u32.saturating_pow(attempt.min(20)))
                .min(policy.max_delay);
            assert!(policy.backoff(attempt, &mut rng) <= cap);
        }
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
