//! Alibaba per-user flow control: at most N requests in any rolling one-second window, counted
//! per access key and per class (writes, reads). A rolling window is the strict reading of
//! "10 calls per second": a client that passes it also passes a fixed-window gateway.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    Write,
    Read,
}

#[derive(Debug, Default)]
pub struct RateLimiter {
    windows: Mutex<HashMap<(String, RateClass), VecDeque<Instant>>>,
}

const WINDOW: Duration = Duration::from_secs(1);

impl RateLimiter {
    /// Admits one request at `now` unless `limit` requests were admitted in the last second.
    pub fn admit(&self, user: &str, class: RateClass, limit: u32, now: Instant) -> bool {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let window = windows.entry((user.to_owned(), class)).or_default();
        while window
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW)
        {
            window.pop_front();
        }
        if window.len() >= limit as usize {
            return false;
        }
        window.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_window_admits_limit_per_second_per_user_and_class() {
        let limiter = RateLimiter::default();
        let t0 = Instant::now();
        for i in 0..10 {
            assert!(limiter.admit(
                "a",
                RateClass::Write,
                10,
                t0 + Duration::from_millis(i * 50)
            ));
        }
        let t_half = t0 + Duration::from_millis(600);
        assert!(!limiter.admit("a", RateClass::Write, 10, t_half));
        assert!(limiter.admit("b", RateClass::Write, 10, t_half));
        assert!(limiter.admit("a", RateClass::Read, 10, t_half));
        // The first request leaves the window one second after it was admitted.
        assert!(limiter.admit("a", RateClass::Write, 10, t0 + Duration::from_millis(1000)));
        assert!(!limiter.admit("a", RateClass::Write, 10, t0 + Duration::from_millis(1001)));
    }
}
