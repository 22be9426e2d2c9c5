//! A CloudAccount's `Ready` condition: one verdict per account, drawn from what every NodePool
//! of the account learnt (per service: the credentials worked, the cloud refused them, or its
//! endpoint gave no answer), and
//! written only when the verdict changes. Two pools with different results cannot overwrite
//! each other: a refusal stands until the pool that saw it succeeds or goes away.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Mutex;

use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;

use crate::api::{CloudAccount, set_condition};

/// What one reconcile learnt about an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// The cloud accepted the credentials for this service.
    Works { service: String, pool: String },
    /// The cloud refused the credentials for this service (a stable message).
    Refused {
        service: String,
        pool: String,
        message: String,
    },
    /// The service's endpoint gave no answer (refused, unresolvable, timed out).
    Unreachable {
        service: String,
        pool: String,
        message: String,
    },
    /// The credentials could not be read (Secret missing, key missing, bad endpoint).
    Unavailable { message: String },
    /// The credentials could be read.
    Available,
    /// The NodePool is gone: what it saw no longer counts.
    Forget { pool: String },
}

#[derive(Debug, Default, Clone)]
struct Facts {
    working: BTreeSet<String>,
    /// (service, NodePool uid) -> message.
    refused: BTreeMap<(String, String), String>,
    /// (service, NodePool uid) -> message.
    unreachable: BTreeMap<(String, String), String>,
    unavailable: Option<String>,
}

/// The account's Ready condition: (ok, reason, message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub ok: bool,
    pub reason: &'static str,
    pub message: String,
}

impl Facts {
    fn learn(&mut self, fact: Fact) {
        match fact {
            Fact::Works { service, pool } => {
                let key = (service.clone(), pool);
                self.refused.remove(&key);
                self.unreachable.remove(&key);
                self.working.insert(service);
            }
            Fact::Unreachable {
                service,
                pool,
                message,
            } => {
                self.unreachable.insert((service, pool), message);
            }
            Fact::Refused {
                service,
                pool,
                message,
            } => {
                self.refused.insert((service, pool), message);
            }
            Fact::Unavailable { message } => self.unavailable = Some(message),
            Fact::Available => self.unavailable = None,
            Fact::Forget { pool } => {
                self.refused.retain(|(_, p), _| *p != pool);
                self.unreachable.retain(|(_, p), _| *p != pool);
            }
        }
    }

    fn verdict(&self) -> Option<Verdict> {
        if let Some(message) = &self.unavailable {
            return Some(Verdict {
                ok: false,
                reason: "CredentialsUnavailable",
                message: message.clone(),
            });
        }
        if let Some(message) = per_service(&self.refused) {
            return Some(Verdict {
                ok: false,
                reason: "CloudAuth",
                message,
            });
        }
        if let Some(message) = per_service(&self.unreachable) {
            return Some(Verdict {
                ok: false,
                reason: "EndpointUnreachable",
                message,
            });
        }
        if self.working.is_empty() {
            return None;
        }
        let services: Vec<&str> = self.working.iter().map(String::as_str).collect();
        Some(Verdict {
            ok: true,
            reason: "CredentialsWork",
            message: format!(
                "the cloud accepted the credentials ({})",
                services.join(", ")
            ),
        })
    }
}

/// The first message per service, in a fixed order: `service: message; ...`.
fn per_service(messages: &BTreeMap<(String, String), String>) -> Option<String> {
    let mut first: BTreeMap<&str, &str> = BTreeMap::new();
    for ((service, _), message) in messages {
        first.entry(service).or_insert(message);
    }
    let text = first
        .iter()
        .map(|(service, message)| format!("{service}: {message}"))
        .collect::<Vec<_>>()
        .join("; ");
    (!text.is_empty()).then_some(text)
}

#[derive(Default)]
pub struct AccountHealth {
    facts: Mutex<HashMap<String, Facts>>,
    /// The verdict last written per account.
    written: Mutex<HashMap<String, Verdict>>,
    /// One writer at a time, so an older verdict never lands after a newer one.
    writing: tokio::sync::Mutex<()>,
}

impl AccountHealth {
    /// Takes in a fact about the account `namespace/name` and writes its Ready condition if
    /// the verdict changed.
    pub async fn learn(&self, client: &Client, namespace: &str, name: &str, fact: Fact) {
        let key = format!("{namespace}/{name}");
        let _writing = self.writing.lock().await;
        let verdict = {
            let mut facts = self.facts.lock().unwrap_or_else(|e| e.into_inner());
            let entry = facts.entry(key.clone()).or_default();
            entry.learn(fact);
            entry.verdict()
        };
        let Some(verdict) = verdict else {
            return;
        };
        if self
            .written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&key)
            == Some(&verdict)
        {
            return;
        }
        let api: Api<CloudAccount> = Api::namespaced(client.clone(), namespace);
        let account = match api.get_opt(name).await {
            Ok(Some(account)) => account,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(account = %key, %error, "could not read the CloudAccount to report on it");
                return;
            }
        };
        let status = account.status.clone().unwrap_or_default();
        let mut conditions = status.conditions;
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        set_condition(
            &mut conditions,
            "Ready",
            verdict.ok,
            verdict.reason,
            &verdict.message,
            account.metadata.generation,
            &now,
        );
        let unchanged = status.observed_generation == account.metadata.generation
            && account.status.as_ref().map(|s| &s.conditions) == Some(&conditions);
        let patch = json!({"status": {"conditions": conditions, "observedGeneration": account.metadata.generation}});
        let written = unchanged
            || match api
                .patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => true,
                Err(error) => {
                    tracing::warn!(account = %key, %error, "could not write the CloudAccount status");
                    false
                }
            };
        if written {
            self.written
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key, verdict);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn works(service: &str, pool: &str) -> Fact {
        Fact::Works {
            service: service.into(),
            pool: pool.into(),
        }
    }

    fn refused(service: &str, pool: &str) -> Fact {
        Fact::Refused {
            service: service.into(),
            pool: pool.into(),
            message: format!("authentication failed: X: {service}"),
        }
    }

    #[test]
    fn two_pools_with_different_results_give_one_stable_verdict() {
        let mut facts = Facts::default();
        assert_eq!(facts.verdict(), None);
        let mut verdicts = Vec::new();
        for _ in 0..3 {
            facts.learn(works("cce", "a"));
            verdicts.push(facts.verdict());
            facts.learn(refused("modelarts", "b"));
            verdicts.push(facts.verdict());
        }
        // After the first refusal the verdict no longer moves, whoever reconciles.
        assert!(
            verdicts[1..].windows(2).all(|w| w[0] == w[1]),
            "{verdicts:?}"
        );
        let last = verdicts[verdicts.len() - 1].clone().unwrap();
        assert!(!last.ok);
        assert_eq!(
            last.message,
            "modelarts: authentication failed: X: modelarts"
        );
    }

    #[test]
    fn a_refusal_clears_when_its_pool_succeeds_or_goes() {
        let mut facts = Facts::default();
        facts.learn(refused("cce", "a"));
        facts.learn(refused("cce", "b"));
        facts.learn(works("cce", "a"));
        assert!(!facts.verdict().unwrap().ok);
        facts.learn(Fact::Forget { pool: "b".into() });
        let verdict = facts.verdict().unwrap();
        assert!(verdict.ok);
        assert_eq!(verdict.message, "the cloud accepted the credentials (cce)");
        facts.learn(Fact::Unreachable {
            service: "cce".into(),
            pool: "a".into(),
            message: "transient failure: http://127.0.0.1:9: connection failed".into(),
        });
        let verdict = facts.verdict().unwrap();
        assert_eq!((verdict.ok, verdict.reason), (false, "EndpointUnreachable"));
        assert_eq!(
            verdict.message,
            "cce: transient failure: http://127.0.0.1:9: connection failed"
        );
        facts.learn(works("cce", "a"));
        assert!(facts.verdict().unwrap().ok);
        facts.learn(Fact::Unavailable {
            message: "Secret ns/s not found".into(),
        });
        assert_eq!(facts.verdict().unwrap().reason, "CredentialsUnavailable");
        facts.learn(Fact::Available);
        assert!(facts.verdict().unwrap().ok);
    }
}
