//! Huawei IAM password login (`POST /v3/auth/tokens`): the request, and the 201 answer whose
//! token travels in the `X-Subject-Token` header while the body says when it expires.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Extra;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TokenRequest {
    pub auth: Auth,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Auth {
    pub identity: Identity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Identity {
    pub methods: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordIdentity>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PasswordIdentity {
    pub user: User,
}

#[derive(Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct User {
    pub name: String,
    pub password: String,
    pub domain: NamedRef,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &"***")
            .field("domain", &self.domain)
            .finish()
    }
}

/// `{"name": ...}` or `{"id": ...}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct NamedRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Scope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<NamedRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<NamedRef>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TokenResponse {
    pub token: TokenBody,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TokenBody {
    /// RFC 3339 with microseconds, e.g. `2026-11-24T01:00:00.000000Z`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
