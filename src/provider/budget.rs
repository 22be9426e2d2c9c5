//! Rate budgets: a token bucket per (account, API family), shared by every caller, so the
//! operator stays under the clouds' quotas instead of learning them from throttling errors.
//!
//! A bucket holding `burst` tokens refilled at `rate` per second lets at most
//! `burst + rate * t` calls through in any window of `t` seconds; to stay within a quota of
//! Q calls in any rolling second, choose `burst + rate <= Q` (the ENS defaults: 8 writes/s with
//! burst 1, 80 reads/s with burst 10, under the 10 and 100 per-second quotas).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// Refill rate and capacity of one bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    pub per_second: f64,
    pub burst: u32,
}

impl Budget {
    pub const ENS_WRITES: Budget = Budget {
        per_second: 8.0,
        burst: 1,
    };
    pub const ENS_READS: Budget = Budget {
        per_second: 80.0,
        burst: 10,
    };
    /// Huawei gateways allow tens of calls per second per user; stay well below.
    pub const HUAWEI_DEFAULT: Budget = Budget {
        per_second: 10.0,
        burst: 5,
    };
}

#[derive(Debug)]
struct Bucket {
    budget: Budget,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    fn new(budget: Budget, now: Instant) -> Self {
        Self {
            budget,
            tokens: f64::from(budget.burst.max(1)),
            updated: now,
        }
    }

    /// Takes a token now, or reserves the next one and says how long to wait for it.
    fn reserve(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        let capacity = f64::from(self.budget.burst.max(1));
        self.tokens = (self.tokens + elapsed * self.budget.per_second).min(capacity);
        self.updated = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 || self.budget.per_second <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.budget.per_second)
        }
    }
}

/// Buckets by key (for example `"alibaba/LTAI.../ens-write"`), created on first use.
#[derive(Debug, Clone, Default)]
pub struct RateBudgets {
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl RateBudgets {
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits until the bucket `key` grants a call. Callers are served in arrival order: each
    /// reserves the next free slot, so waiting callers never starve each other.
    pub async fn acquire(&self, key: &str, budget: Budget) {
        let wait = {
            let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let bucket = buckets
                .entry(key.to_owned())
                .or_insert_with(|| Bucket::new(budget, now));
            bucket.budget = budget;
            bucket.reserve(now)
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_space_calls_at_the_rate_after_the_burst() {
        let t0 = Instant::now();
        let mut bucket = Bucket::new(
            Budget {
                per_second: 8.0,
                burst: 1,
            },
            t0,
        );
        let waits: Vec<Duration> = (0..4).map(|_| bucket.reserve(t0)).collect();
        assert_eq!(waits[0], Duration::ZERO);
        assert_eq!(waits[1], Duration::from_millis(125));
        assert_eq!(waits[3], Duration::from_millis(375));
    }

    #[test]
    fn any_rolling_second_stays_within_burst_plus_rate() {
        // Grant times for 100 calls arriving at once with the ENS write budget.
        let t0 = Instant::now();
        let mut bucket = Bucket::new(Budget::ENS_WRITES, t0);
        let grants: Vec<Duration> = (0..100).map(|_| bucket.reserve(t0)).collect();
        for (i, start) in grants.iter().enumerate() {
            let in_window = grants[i..]
                .iter()
                .filter(|g| **g < *start + Duration::from_secs(1))
                .count();
            assert!(
                in_window <= 9,
                "{in_window} calls within one second of call {i}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_for_a_token() {
        let budgets = RateBudgets::new();
        let budget = Budget {
            per_second: 2.0,
            burst: 1,
        };
        let start = Instant::now();
        budgets.acquire("k", budget).await;
        budgets.acquire("k", budget).await;
        budgets.acquire("other", budget).await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
    }
}
