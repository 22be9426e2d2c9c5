//! What the simulator knows about each request: which cloud and operation it addresses, and the
//! log of served requests that `GET /_sim/requests` returns.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The API a request addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    Cce,
    #[serde(rename = "modelarts")]
    ModelArts,
    Ens,
    Iam,
}

impl Cloud {
    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Cce => "cce",
            Cloud::ModelArts => "modelarts",
            Cloud::Ens => "ens",
            Cloud::Iam => "iam",
        }
    }
}

/// One served (or dropped) request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedRequest {
    pub seq: u64,
    /// RFC 3339 time the request arrived.
    pub time: String,
    pub cloud: Option<Cloud>,
    pub operation: String,
    pub method: String,
    pub path: String,
    /// HTTP status answered; absent when the connection was dropped.
    pub status: Option<u16>,
    /// The cloud error code answered, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// Access key or IAM user that signed the request, if it authenticated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    /// Set when a fault rule fired on this request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<String>,
    /// The request body as received (JSON requests only; passwords masked), so tests can check
    /// exactly what a client sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    /// ENS business parameters (signature parameters removed; passwords masked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<serde_json::Map<String, serde_json::Value>>,
}

/// Bounded in-memory request log.
#[derive(Debug)]
pub struct RequestLog {
    inner: Mutex<LogInner>,
}

#[derive(Debug)]
struct LogInner {
    entries: VecDeque<RecordedRequest>,
    next_seq: u64,
    capacity: usize,
}

impl RequestLog {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Mutex::new(LogInner {
                entries: VecDeque::new(),
                next_seq: 1,
                capacity,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn push(&self, mut entry: RecordedRequest) {
        let mut inner = self.lock();
        entry.seq = inner.next_seq;
        inner.next_seq += 1;
        if inner.entries.len() >= inner.capacity {
            inner.entries.pop_front();
        }
        inner.entries.push_back(entry);
    }

    pub fn snapshot(&self) -> Vec<RecordedRequest> {
        self.lock().entries.iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.lock().entries.clear();
    }
}

/// Masks password-like values anywhere in a JSON document before it is recorded.
pub fn mask_secrets(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let k = key.to_ascii_lowercase();
                if (k.contains("password") || k.contains("secret")) && !v.is_object() {
                    *v = serde_json::Value::String("******".into());
                } else {
                    mask_secrets(v);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_is_bounded_and_numbered() {
        let log = RequestLog::new(2);
        for op in ["a", "b", "c"] {
            log.push(RecordedRequest {
                seq: 0,
                time: String::new(),
                cloud: Some(Cloud::Cce),
                operation: op.into(),
                method: "GET".into(),
                path: "/".into(),
                status: Some(200),
                error_code: None,
                principal: None,
                fault: None,
                body: None,
                params: None,
            });
        }
        let entries = log.snapshot();
        assert_eq!(
            entries
                .iter()
                .map(|e| e.operation.as_str())
                .collect::<Vec<_>>(),
            ["b", "c"]
        );
        assert_eq!(entries[1].seq, 3);
    }

    #[test]
    fn passwords_are_masked_at_any_depth() {
        let mut v = serde_json::json!({"auth": {"password": {"user": {"password": "p"}}},
            "ScalingGroup": "{}", "login": {"userPassword": "x"}});
        mask_secrets(&mut v);
        assert_eq!(v["auth"]["password"]["user"]["password"], "******");
        assert_eq!(v["login"]["userPassword"], "******");
    }
}
