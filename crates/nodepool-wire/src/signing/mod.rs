//! Request signatures of both clouds, shared by the cloud clients (which sign) and the
//! simulator (which verifies): Huawei `SDK-HMAC-SHA256` ([`huawei`]) and Alibaba V1/V3
//! ([`alibaba`]), over the RFC 3986 encoding both use ([`encoding`]). Secrets are held in
//! [`Secret`] (secrecy's `SecretString`): it prints as `[REDACTED]`, cannot be serialised, and
//! is zeroed when dropped; [`ExposeSecret`] reads it for signing.

pub mod alibaba;
pub mod encoding;
pub mod huawei;
pub use secrecy::ExposeSecret;
/// A credential value (secret key, password, token).
pub use secrecy::SecretString as Secret;

/// The three fields of an `Authorization` header of either cloud:
/// `ALGORITHM Key1=credential, SignedHeaders=a;b, Signature=hex` (Huawei names the credential
/// `Access`, Alibaba `Credential`; Alibaba omits the spaces after commas).
pub(crate) struct AuthorizationFields {
    pub credential: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub(crate) fn parse_authorization_fields(
    value: &str,
    algorithm: &str,
    credential_key: &str,
) -> Result<AuthorizationFields, SigningError> {
    let rest = value.trim().strip_prefix(algorithm).ok_or_else(|| {
        SigningError::BadAuthorization(format!("the algorithm must be {algorithm}"))
    })?;
    let field = |name: &str| {
        rest.split(',')
            .filter_map(|part| part.trim().split_once('='))
            .find(|(key, _)| key.trim() == name)
            .map(|(_, v)| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| SigningError::BadAuthorization(format!("{name} is missing")))
    };
    Ok(AuthorizationFields {
        credential: field(credential_key)?,
        signed_headers: field("SignedHeaders")?
            .split(';')
            .map(|s| s.trim().to_ascii_lowercase())
            .collect(),
        signature: field("Signature")?,
    })
}

/// A request cannot be signed or a signature header cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    #[error("header {0} is required for signing but missing")]
    MissingHeader(String),
    #[error("malformed date {0:?}")]
    BadDate(String),
    #[error("malformed Authorization header: {0}")]
    BadAuthorization(String),
}

/// A signature did not verify. Carries what the server computed (never the secret), which the
/// gateways echo to help clients find their mistake.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("signature mismatch: {reason}")]
pub struct VerifyError {
    reason: String,
    canonical_request: Option<String>,
    string_to_sign: Option<String>,
}

impl VerifyError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            canonical_request: None,
            string_to_sign: None,
        }
    }

    pub(crate) fn mismatch(canonical_request: &str) -> Self {
        Self {
            reason: "the signature does not match the canonical request".into(),
            canonical_request: Some(canonical_request.to_owned()),
            string_to_sign: None,
        }
    }

    pub(crate) fn string_mismatch(string_to_sign: &str) -> Self {
        Self {
            reason: "the signature does not match the string to sign".into(),
            canonical_request: None,
            string_to_sign: Some(string_to_sign.to_owned()),
        }
    }

    /// The server's canonical request with `|` for newlines, as Huawei's gateway echoes it.
    pub fn canonical_request_piped(&self) -> String {
        self.canonical_request
            .as_deref()
            .unwrap_or(&self.reason)
            .replace('\n', "|")
    }

    /// The server's string to sign (Alibaba echoes it), or the reason.
    pub fn string_to_sign(&self) -> String {
        self.string_to_sign
            .as_deref()
            .or(self.canonical_request.as_deref())
            .unwrap_or(&self.reason)
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_itself() {
        let secret = Secret::from("hunter2");
        let shown = format!("{secret:?} {:?}", Some(secret.clone()));
        assert!(!shown.contains("hunter2"), "{shown}");
        assert_eq!(secret.expose_secret(), "hunter2");
    }
}
