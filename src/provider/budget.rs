//! Rate budgets: a GCRA rate limiter (governor) per (account, API family), shared by every
//! caller, so the operator stays under the clouds' quotas instead of learning them from
//! throttling errors.
//!
//! A budget of `burst` calls at once refilled at `rate` per second lets at most
//! `burst + rate * t` calls through in any window of `t` seconds; to stay within a quota of
//! Q calls in any rolling second, choose `burst + rate <= Q` (the ENS defaults: 8 writes/s with
//! burst 1, 80 reads/s with burst 10, under the 10 and 100 per-second quotas).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

/// Refill rate and capacity of one budget.
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

    /// The limiter's quota; `None` (no limit) for a rate that is not positive.
    fn quota(self) -> Option<Quota> {
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return None;
        }
        let period = Duration::from_secs_f64(1.0 / self.per_second);
        let burst = NonZeroU32::new(self.burst.max(1))?;
        Some(Quota::with_period(period)?.allow_burst(burst))
    }
}

type Limiter = (Budget, Option<Arc<DefaultDirectRateLimiter>>);

/// Limiters by key (for example `"alibaba/LTAI.../ens-write"`), created on first use and
/// replaced when the key's budget changes.
#[derive(Debug, Clone, Default)]
pub struct RateBudgets {
    limiters: Arc<Mutex<HashMap<String, Limiter>>>,
}

impl RateBudgets {
    pub fn new() -> Self {
        Self::default()
    }

    fn limiter(&self, key: &str, budget: Budget) -> Option<Arc<DefaultDirectRateLimiter>> {
        let mut limiters = self.limiters.lock().unwrap_or_else(|e| e.into_inner());
        let entry = limiters.entry(key.to_owned()).or_insert_with(|| {
            (
                budget,
                budget.quota().map(|q| Arc::new(RateLimiter::direct(q))),
            )
        });
        if entry.0 != budget {
            *entry = (
                budget,
                budget.quota().map(|q| Arc::new(RateLimiter::direct(q))),
            );
        }
        entry.1.clone()
    }

    /// Waits until the budget `key` grants a call.
    pub async fn acquire(&self, key: &str, budget: Budget) {
        if let Some(limiter) = self.limiter(key, budget) {
            limiter.until_ready().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use governor::clock::{Clock, FakeRelativeClock, Reference};

    use super::*;

    /// When each of `n` calls arriving at once is granted, on a simulated clock.
    fn grants(budget: Budget, n: usize) -> Vec<Duration> {
        let clock = FakeRelativeClock::default();
        let start = clock.now();
        let limiter = RateLimiter::direct_with_clock(budget.quota().unwrap(), clock.clone());
        let mut granted = Vec::new();
        while granted.len() < n {
            match limiter.check() {
                Ok(()) => granted.push(clock.now().duration_since(start).into()),
                Err(not_until) => clock.advance(not_until.wait_time_from(clock.now())),
            }
        }
        granted
    }

    #[test]
    fn calls_are_spaced_at_the_rate_after_the_burst() {
        let waits = grants(
            Budget {
                per_second: 8.0,
                burst: 1,
            },
            4,
        );
        assert_eq!(waits[0], Duration::ZERO);
        assert_eq!(waits[1], Duration::from_millis(125));
        assert_eq!(waits[3], Duration::from_millis(375));
    }

    #[test]
    fn any_rolling_second_stays_within_burst_plus_rate() {
        for budget in [
            Budget::ENS_WRITES,
            Budget::ENS_READS,
            Budget::HUAWEI_DEFAULT,
        ] {
            let grants = grants(budget, 300);
            let bound = budget.burst as usize + budget.per_second as usize;
            for (i, start) in grants.iter().enumerate() {
                let in_window = grants[i..]
                    .iter()
                    .filter(|g| **g < *start + Duration::from_secs(1))
                    .count();
                assert!(
                    in_window <= bound,
                    "{budget:?}: {in_window} calls in a second"
                );
            }
        }
    }

    #[test]
    fn a_changed_budget_replaces_the_limiter_and_no_rate_means_no_limit() {
        let budgets = RateBudgets::new();
        let first = budgets.limiter("k", Budget::ENS_WRITES).unwrap();
        assert!(Arc::ptr_eq(
            &first,
            &budgets.limiter("k", Budget::ENS_WRITES).unwrap()
        ));
        assert!(!Arc::ptr_eq(
            &first,
            &budgets.limiter("k", Budget::ENS_READS).unwrap()
        ));
        let unlimited = Budget {
            per_second: 0.0,
            burst: 1,
        };
        assert!(budgets.limiter("k", unlimited).is_none());
    }
}
