//! Huawei Cloud API gateway signature `SDK-HMAC-SHA256` (AK/SK), for clients that sign and for
//! the simulator that verifies.
//!
//! Canonical request: `METHOD\nURI/\nQUERY\nHEADERS\nSIGNED\nBODYHASH`, where the URI has each
//! segment percent-encoded and always ends in `/`, the query is sorted and encoded, the headers
//! block holds `name:value\n` for each signed header (hence a blank line), and the body hash is
//! the hex SHA-256 of the body (or `UNSIGNED-PAYLOAD`). The string to sign is
//! `SDK-HMAC-SHA256\n{X-Sdk-Date}\n{hex sha256(canonical request)}`, signed with HMAC-SHA256
//! keyed by the secret key as is.

use crate::signing::ExposeSecret;
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::encoding::{canonical_query, decode, encode, parse_query};
use super::{Secret, SigningError, VerifyError};

pub const ALGORITHM: &str = "SDK-HMAC-SHA256";
pub const DATE_HEADER: &str = "x-sdk-date";
const CONTENT_SHA_HEADER: &str = "x-sdk-content-sha256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The parts of a request that the signature covers, as they travel on the wire.
#[derive(Debug, Clone, Copy)]
pub struct SignableRequest<'a> {
    pub method: &'a str,
    /// The path as sent (it may be percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A computed signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuaweiSignature {
    /// The `Authorization` header value.
    pub authorization: String,
    pub signed_headers: String,
    pub signature: String,
}

/// A parsed `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HuaweiAuthorization {
    pub access_key: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// `YYYYMMDDTHHMMSSZ`, the `X-Sdk-Date` format.
pub fn sdk_date(time: DateTime<Utc>) -> String {
    time.format("%Y%m%dT%H%M%SZ").to_string()
}

pub fn parse_sdk_date(value: &str) -> Result<DateTime<Utc>, SigningError> {
    NaiveDateTime::parse_from_str(value.trim(), "%Y%m%dT%H%M%SZ")
        .map(|naive| naive.and_utc())
        .map_err(|_| SigningError::BadDate(value.to_owned()))
}

/// The names of the headers to sign: every header, lowercase and sorted, except names with
/// `_` (gateways drop such headers, so they can never be verified).
pub fn signed_header_names(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .keys()
        .map(|name| name.as_str().to_ascii_lowercase())
        .filter(|name| !name.contains('_'))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn canonical_uri(path: &str) -> String {
    let mut uri: String = path
        .split('/')
        .map(|segment| encode(&decode(segment)))
        .collect::<Vec<_>>()
        .join("/");
    if !uri.starts_with('/') {
        uri.insert(0, '/');
    }
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| {
        values
            .iter()
            .map(|v| v.trim())
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// The canonical request over `signed_headers` (lowercase names, sorted).
pub fn canonical_request(
    req: &SignableRequest<'_>,
    signed_headers: &[String],
) -> Result<String, SigningError> {
    let mut headers_block = String::new();
    for name in signed_headers {
        let value = header_value(req.headers, name)
            .ok_or_else(|| SigningError::MissingHeader(name.clone()))?;
        headers_block.push_str(name);
        headers_block.push(':');
        headers_block.push_str(&value);
        headers_block.push('\n');
    }
    let body_hash = match header_value(req.headers, CONTENT_SHA_HEADER) {
        Some(v) if v == UNSIGNED_PAYLOAD => UNSIGNED_PAYLOAD.to_owned(),
        _ => hex::encode(Sha256::digest(req.body)),
    };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        req.method.to_ascii_uppercase(),
        canonical_uri(req.path),
        canonical_query(&parse_query(req.query)),
        headers_block,
        signed_headers.join(";"),
        body_hash
    ))
}

/// `SDK-HMAC-SHA256\n{date}\n{hex sha256(canonical)}`.
pub fn string_to_sign(canonical: &str, date: &str) -> String {
    format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

fn mac(secret: &Secret, data: &str) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    mac.update(data.as_bytes());
    mac
}

/// Signs a request that already carries `X-Sdk-Date`, over all its signable headers.
pub fn sign(
    req: &SignableRequest<'_>,
    access_key: &str,
    secret_key: &Secret,
) -> Result<HuaweiSignature, SigningError> {
    let date = header_value(req.headers, DATE_HEADER)
        .ok_or_else(|| SigningError::MissingHeader(DATE_HEADER.into()))?;
    let names = signed_header_names(req.headers);
    let canonical = canonical_request(req, &names)?;
    let signature = hex::encode(
        mac(secret_key, &string_to_sign(&canonical, &date))
            .finalize()
            .into_bytes(),
    );
    let signed_headers = names.join(";");
    Ok(HuaweiSignature {
        authorization: format!(
            "{ALGORITHM} Access={access_key}, SignedHeaders={signed_headers}, Signature={signature}"
        ),
        signed_headers,
        signature,
    })
}

/// Parses `SDK-HMAC-SHA256 Access=..., SignedHeaders=..., Signature=...`.
pub fn parse_authorization(value: &str) -> Result<HuaweiAuthorization, SigningError> {
    let fields = super::parse_authorization_fields(value, ALGORITHM, "Access")?;
    Ok(HuaweiAuthorization {
        access_key: fields.credential,
        signed_headers: fields.signed_headers,
        signature: fields.signature,
    })
}

/// Verifies a request against its parsed `Authorization`, recomputing with the request's own
/// signed header list; `x-sdk-date` must be among them.
pub fn verify(
    req: &SignableRequest<'_>,
    auth: &HuaweiAuthorization,
    secret_key: &Secret,
) -> Result<(), VerifyError> {
    if !auth.signed_headers.iter().any(|h| h == DATE_HEADER) {
        return Err(VerifyError::new(
            "x-sdk-date is not among the signed headers",
        ));
    }
    let canonical = canonical_request(req, &auth.signed_headers)
        .map_err(|e| VerifyError::new(e.to_string()))?;
    let date = header_value(req.headers, DATE_HEADER).unwrap_or_default();
    let expected = hex::decode(&auth.signature).map_err(|_| VerifyError::mismatch(&canonical))?;
    mac(secret_key, &string_to_sign(&canonical, &date))
        .verify_slice(&expected)
        .map_err(|_| VerifyError::mismatch(&canonical))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn sign_then_verify_and_tampering_fails() {
        let secret = Secret::from("sk");
        let h = headers(&[
            ("host", "example.com"),
            ("x-sdk-date", "20240101T000000Z"),
            ("content-type", "application/json"),
        ]);
        let req = SignableRequest {
            method: "POST",
            path: "/v1/a b/c",
            query: "x=1&y=2",
            headers: &h,
            body: b"{}",
        };
        let sig = sign(&req, "AK", &secret).unwrap();
        let auth = parse_authorization(&sig.authorization).unwrap();
        assert_eq!(auth.access_key, "AK");
        verify(&req, &auth, &secret).unwrap();

        let bad_body = SignableRequest {
            body: b"{ }",
            ..req
        };
        assert!(verify(&bad_body, &auth, &secret).is_err());
        let bad_path = SignableRequest {
            path: "/v1/a b/d",
            ..req
        };
        assert!(verify(&bad_path, &auth, &secret).is_err());
        let bad_query = SignableRequest {
            query: "x=1&y=3",
            ..req
        };
        assert!(verify(&bad_query, &auth, &secret).is_err());
        let other_date = headers(&[
            ("host", "example.com"),
            ("x-sdk-date", "20240101T000001Z"),
            ("content-type", "application/json"),
        ]);
        assert!(
            verify(
                &SignableRequest {
                    headers: &other_date,
                    ..req
                },
                &auth,
                &secret
            )
            .is_err()
        );
        let no_host = headers(&[
            ("x-sdk-date", "20240101T000000Z"),
            ("content-type", "application/json"),
        ]);
        assert!(
            verify(
                &SignableRequest {
                    headers: &no_host,
                    ..req
                },
                &auth,
                &secret
            )
            .is_err()
        );
        assert!(verify(&req, &auth, &Secret::from("other")).is_err());
    }

    #[test]
    fn a_mismatch_reports_the_canonical_request_not_the_secret() {
        let h = headers(&[("x-sdk-date", "20240101T000000Z")]);
        let req = SignableRequest {
            method: "GET",
            path: "/p",
            query: "",
            headers: &h,
            body: b"",
        };
        let auth = HuaweiAuthorization {
            access_key: "AK".into(),
            signed_headers: vec!["x-sdk-date".into()],
            signature: "00".into(),
        };
        let error = verify(&req, &auth, &Secret::from("the-secret")).unwrap_err();
        assert!(error.canonical_request_piped().starts_with("GET|/p/|"));
        assert!(!error.to_string().contains("the-secret"));
    }

    #[test]
    fn date_must_be_signed_and_underscored_headers_never_are() {
        let h = headers(&[("x-sdk-date", "20240101T000000Z"), ("host", "h")]);
        let req = SignableRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &h,
            body: b"",
        };
        let auth = HuaweiAuthorization {
            access_key: "AK".into(),
            signed_headers: vec!["host".into()],
            signature: "00".into(),
        };
        assert!(verify(&req, &auth, &Secret::from("s")).is_err());
        let mut with_underscore = h.clone();
        with_underscore.insert("test_underscore", HeaderValue::from_static("x"));
        assert_eq!(
            signed_header_names(&with_underscore),
            ["host", "x-sdk-date"]
        );
    }

    #[test]
    fn malformed_authorization_is_refused() {
        assert!(parse_authorization("Bearer x").is_err());
        assert!(
            parse_authorization("SDK-HMAC-SHA256 Access=, SignedHeaders=a, Signature=b").is_err()
        );
        assert!(parse_authorization("SDK-HMAC-SHA256").is_err());
        assert!(parse_sdk_date("2024-01-01").is_err());
    }
}
