//! The request log tests read (for example to check which verbs the operator uses, for RBAC)
//! and the fault hooks tests pull.

use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// One request as the audit log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, or `discovery`.
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: Option<String>,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub user_agent: String,
    pub code: u16,
}

/// Fail the next `count` requests that match verb and resource (`None` matches any).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailRule {
    pub verb: Option<String>,
    pub resource: Option<String>,
    /// `Some("status")` to fail only status writes; `None` matches any.
    pub subresource: Option<String>,
    /// 500 or 429.
    pub status: u16,
    pub count: u32,
}

#[derive(Debug, Default)]
pub struct Hooks {
    pub audit: Mutex<Vec<AuditEntry>>,
    pub fail: Mutex<Vec<FailRule>>,
    pub latency: Mutex<Duration>,
}

impl Hooks {
    pub fn take_failure(
        &self,
        verb: &str,
        resource: &str,
        subresource: Option<&str>,
    ) -> Option<u16> {
        let mut rules = self.fail.lock().unwrap_or_else(|e| e.into_inner());
        let rule = rules.iter_mut().find(|r| {
            r.count > 0
                && r.verb.as_deref().is_none_or(|v| v == verb)
                && r.resource.as_deref().is_none_or(|x| x == resource)
                && r.subresource
                    .as_deref()
                    .is_none_or(|x| Some(x) == subresource)
        })?;
        rule.count -= 1;
        Some(rule.status)
    }
}
