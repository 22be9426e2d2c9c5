//! Fault injection: rules that make chosen operations fail (server errors, throttling, client
//! refusals), slow down, hold their answers or drop the connection (before or after serving
//! them), by rate or by count, deterministically for a given seed.
//!
//! A rule matches a request by cloud and operation (either may be omitted to match all). When
//! several rules match, the first one that fires wins. `count` limits how many times a rule
//! fires; `rate` is the probability that it fires on a matching request (default 1).

use std::sync::Mutex;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::request::Cloud;

/// What happens to a request a rule fires on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", deny_unknown_fields)]
pub enum FaultEffect {
    /// A server error in the cloud's own format with this HTTP status (500, 502, 503, 504).
    Error { status: u16 },
    /// The cloud's throttling answer (CCE/ModelArts 429 `APIG.0308`, ENS `Throttling.User`).
    Throttle,
    /// Delay the request, then serve it normally.
    Latency { millis: u64 },
    /// Close the connection without an answer.
    Drop,
    /// Serve the request for real (its effects happen), then close the connection without the
    /// answer; recorded with no `status` and `fault` `DropAfterServing { served: <status> }`.
    DropAfterServing,
    /// Serve the request for real (its effects happen), then hold the answer this long before
    /// sending it: the window in which the cloud has acted and the client has not heard, where
    /// a client that crashes never learns the outcome. Recorded (with its status) as soon as it
    /// is served.
    HoldAnswer { millis: u64 },
    /// A client error in the cloud's own format with this 4xx status, cloud error code and
    /// message, without serving the request: a state-dependent refusal that clears by itself,
    /// such as CCE 400 `CCE.01400001` "the cluster is being upgraded" or ENS
    /// `IncorrectClusterStatus`. Rendered like the simulator's own errors of that cloud (CCE
    /// `{"errorCode", "errorMessage"}`, ModelArts `{"error_code", "error_msg"}`, ENS
    /// `{"RequestId", "HostId", "Code", "Message", "Recommend"}`, IAM the Huawei gateway
    /// format) and recorded with this status and `errorCode`.
    Refuse {
        status: u16,
        code: String,
        message: String,
    },
}

/// One fault rule (configuration file or `POST /_sim/faults`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cloud: Option<Cloud>,
    /// Operation name as recorded in `/_sim/requests` (e.g. `create`, `list`,
    /// `CreateClusterNodePool`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    pub effect: FaultEffect,
    /// Probability in `[0, 1]` that a matching request is hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Maximum number of hits; unlimited when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

impl FaultRule {
    /// Checks values a user could get wrong.
    pub fn validate(&self) -> Result<(), String> {
        if let Some(rate) = self.rate
            && !(0.0..=1.0).contains(&rate)
        {
            return Err(format!("rate must be between 0 and 1, got {rate}"));
        }
        if let FaultEffect::Error { status } = self.effect
            && !(500..=599).contains(&status)
        {
            return Err(format!("error status must be 5xx, got {status}"));
        }
        if let FaultEffect::Refuse { status, code, .. } = &self.effect {
            if !(400..=499).contains(status) {
                return Err(format!("refuse status must be 4xx, got {status}"));
            }
            if code.trim().is_empty() {
                return Err("refuse code must not be empty".to_owned());
            }
        }
        Ok(())
    }

    fn matches(&self, cloud: Cloud, operation: &str) -> bool {
        self.cloud.is_none_or(|c| c == cloud)
            && self.operation.as_deref().is_none_or(|o| o == operation)
    }
}

/// An installed rule with its hit counter.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstalledFault {
    pub id: u64,
    #[serde(flatten)]
    pub rule: FaultRule,
    pub hits: u32,
}

/// The active rules and the seeded random source.
#[derive(Debug)]
pub struct Faults {
    inner: Mutex<FaultsInner>,
}

#[derive(Debug)]
struct FaultsInner {
    rules: Vec<InstalledFault>,
    next_id: u64,
    rng: ChaCha8Rng,
}

impl Faults {
    pub fn new(seed: u64, rules: Vec<FaultRule>) -> Self {
        let faults = Self {
            inner: Mutex::new(FaultsInner {
                rules: Vec::new(),
                next_id: 1,
                rng: ChaCha8Rng::seed_from_u64(seed),
            }),
        };
        for rule in rules {
            faults.add(rule);
        }
        faults
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FaultsInner> {
        // A poisoned lock only means another request panicked mid-update; the rule list is
        // still consistent, so keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Installs a rule and returns its id.
    pub fn add(&self, rule: FaultRule) -> u64 {
        let mut inner = self.lock();
        let id = inner.next_id;
        inner.next_id += 1;
        inner.rules.push(InstalledFault { id, rule, hits: 0 });
        id
    }

    pub fn remove(&self, id: u64) -> bool {
        let mut inner = self.lock();
        let before = inner.rules.len();
        inner.rules.retain(|r| r.id != id);
        inner.rules.len() != before
    }

    pub fn clear(&self) {
        self.lock().rules.clear();
    }

    /// Restarts the random source, so a test can replay the same sequence.
    pub fn reseed(&self, seed: u64) {
        self.lock().rng = ChaCha8Rng::seed_from_u64(seed);
    }

    pub fn list(&self) -> Vec<InstalledFault> {
        self.lock().rules.clone()
    }

    /// Decides the fault (if any) for one request.
    pub fn decide(&self, cloud: Cloud, operation: &str) -> Option<FaultEffect> {
        let mut inner = self.lock();
        let FaultsInner { rules, rng, .. } = &mut *inner;
        for installed in rules.iter_mut() {
            if !installed.rule.matches(cloud, operation) {
                continue;
            }
            if installed
                .rule
                .count
                .is_some_and(|max| installed.hits >= max)
            {
                continue;
            }
            let fires = match installed.rule.rate {
                Some(rate) => rng.random_bool(rate.clamp(0.0, 1.0)),
                None => true,
            };
            if fires {
                installed.hits += 1;
                return Some(installed.rule.effect.clone());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(rate: Option<f64>, count: Option<u32>) -> FaultRule {
        FaultRule {
            cloud: Some(Cloud::Cce),
            operation: Some("create".into()),
            effect: FaultEffect::Error { status: 503 },
            rate,
            count,
        }
    }

    #[test]
    fn count_limits_hits_and_other_operations_are_untouched() {
        let faults = Faults::new(1, vec![rule(None, Some(2))]);
        assert!(faults.decide(Cloud::Cce, "list").is_none());
        assert!(faults.decide(Cloud::Ens, "create").is_none());
        assert!(faults.decide(Cloud::Cce, "create").is_some());
        assert!(faults.decide(Cloud::Cce, "create").is_some());
        assert!(faults.decide(Cloud::Cce, "create").is_none());
        assert_eq!(faults.list()[0].hits, 2);
    }

    #[test]
    fn rate_is_deterministic_for_a_seed_and_close_to_the_rate() {
        let run = |seed| {
            let faults = Faults::new(seed, vec![rule(Some(0.3), None)]);
            (0..1000)
                .map(|_| faults.decide(Cloud::Cce, "create").is_some())
                .collect::<Vec<_>>()
        };
        let first = run(7);
        assert_eq!(first, run(7));
        assert_ne!(first, run(8));
        let hits = first.iter().filter(|h| **h).count();
        assert!(
            (250..350).contains(&hits),
            "{hits} hits of 1000 at rate 0.3"
        );
    }

    #[test]
    fn effects_use_camel_case_tags() {
        let effect: FaultEffect =
            serde_json::from_value(serde_json::json!({"type": "dropAfterServing"})).unwrap();
        assert_eq!(effect, FaultEffect::DropAfterServing);
        assert_eq!(
            serde_json::to_value(FaultEffect::DropAfterServing).unwrap(),
            serde_json::json!({"type": "dropAfterServing"})
        );
    }

    #[test]
    fn invalid_rules_are_refused() {
        assert!(rule(Some(1.5), None).validate().is_err());
        let mut r = rule(None, None);
        r.effect = FaultEffect::Error { status: 404 };
        assert!(r.validate().is_err());
    }

    #[test]
    fn refuse_needs_a_4xx_status_and_a_code() {
        let refuse = |status, code: &str| {
            let mut r = rule(None, Some(1));
            r.effect = FaultEffect::Refuse {
                status,
                code: code.into(),
                message: "the cluster is being upgraded".into(),
            };
            r.validate()
        };
        assert_eq!(refuse(400, "CCE.01400001"), Ok(()));
        assert_eq!(refuse(499, "X"), Ok(()));
        assert_eq!(
            refuse(503, "CCE.01400001"),
            Err("refuse status must be 4xx, got 503".to_owned())
        );
        assert_eq!(
            refuse(399, "CCE.01400001"),
            Err("refuse status must be 4xx, got 399".to_owned())
        );
        assert_eq!(
            refuse(400, ""),
            Err("refuse code must not be empty".to_owned())
        );
        assert_eq!(
            refuse(400, "  "),
            Err("refuse code must not be empty".to_owned())
        );
    }

    #[test]
    fn refuse_uses_the_camel_case_tag_and_named_fields() {
        let wire = serde_json::json!({
            "type": "refuse",
            "status": 400,
            "code": "CCE.01400001",
            "message": "the cluster is being upgraded"
        });
        let effect: FaultEffect = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(
            effect,
            FaultEffect::Refuse {
                status: 400,
                code: "CCE.01400001".into(),
                message: "the cluster is being upgraded".into(),
            }
        );
        assert_eq!(serde_json::to_value(&effect).unwrap(), wire);
    }
}
