//! Alibaba Cloud RPC signatures, for clients that sign and for the simulator that verifies.
//!
//! - V1 (`HMAC-SHA1`): every parameter (the `Signature` one excepted) is percent-encoded,
//!   sorted and joined; the string to sign is `METHOD&%2F&` + encode(that); the signature is
//!   Base64 of HMAC-SHA1 keyed with `secret + "&"`.
//! - V3 (`ACS3-HMAC-SHA256`, the SDKs' default): the canonical request is
//!   `METHOD\n/path\nQUERY\nHEADERS\nSIGNED\nPAYLOAD-HASH` over `host`, `content-type` and every
//!   `x-acs-*` header; the string to sign is `ACS3-HMAC-SHA256\n` + hex SHA-256 of it; the
//!   signature is hex HMAC-SHA256 keyed with the secret.

use crate::signing::ExposeSecret;
use base64::Engine;
use chrono::{DateTime, NaiveDateTime, Utc};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::encoding::{canonical_query, encode};
use super::{Secret, SigningError, VerifyError};

pub const V3_ALGORITHM: &str = "ACS3-HMAC-SHA256";
/// Header carrying the hex SHA-256 of the body in V3.
pub const CONTENT_SHA256: &str = "x-acs-content-sha256";

/// `yyyy-MM-ddTHH:mm:ssZ` (UTC), the `Timestamp` and `x-acs-date` format.
pub fn alibaba_timestamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub fn parse_timestamp(value: &str) -> Result<DateTime<Utc>, SigningError> {
    NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M:%SZ")
        .map(|naive| naive.and_utc())
        .map_err(|_| SigningError::BadDate(value.to_owned()))
}

fn hmac_sha1(key: &str, data: &str) -> Hmac<Sha1> {
    let mut mac = <Hmac<Sha1> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    mac.update(data.as_bytes());
    mac
}

fn hmac_sha256(key: &str, data: &str) -> Hmac<Sha256> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any size"));
    mac.update(data.as_bytes());
    mac
}

fn without_signature(params: &[(String, String)]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| k != "Signature")
        .cloned()
        .collect()
}

/// V1 string to sign over every parameter except `Signature`.
pub fn v1_string_to_sign(method: &str, params: &[(String, String)]) -> String {
    format!(
        "{}&{}&{}",
        method.to_ascii_uppercase(),
        encode("/"),
        encode(&canonical_query(&without_signature(params)))
    )
}

/// V1 signature (Base64).
pub fn v1_signature(method: &str, params: &[(String, String)], secret: &Secret) -> String {
    let key = format!("{}&", secret.expose_secret());
    let digest = hmac_sha1(&key, &v1_string_to_sign(method, params))
        .finalize()
        .into_bytes();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

/// Appends (or replaces) the `Signature` parameter.
pub fn v1_sign_params(method: &str, params: &mut Vec<(String, String)>, secret: &Secret) {
    params.retain(|(k, _)| k != "Signature");
    let signature = v1_signature(method, params, secret);
    params.push(("Signature".to_owned(), signature));
}

/// Checks the `Signature` parameter against the others.
pub fn v1_verify(
    method: &str,
    params: &[(String, String)],
    secret: &Secret,
) -> Result<(), VerifyError> {
    let string_to_sign = v1_string_to_sign(method, params);
    let given = params
        .iter()
        .find(|(k, _)| k == "Signature")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    let given = base64::engine::general_purpose::STANDARD
        .decode(given)
        .map_err(|_| VerifyError::string_mismatch(&string_to_sign))?;
    hmac_sha1(&format!("{}&", secret.expose_secret()), &string_to_sign)
        .verify_slice(&given)
        .map_err(|_| VerifyError::string_mismatch(&string_to_sign))
}

/// A computed V3 signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlibabaV3Signature {
    pub authorization: String,
    pub signed_headers: String,
    pub signature: String,
}

/// A parsed V3 `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlibabaV3Authorization {
    pub access_key_id: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

/// The headers V3 signs: `host`, `content-type` and every `x-acs-*`, lowercase and sorted.
pub fn v3_signed_header_names(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .keys()
        .map(|k| k.as_str().to_ascii_lowercase())
        .filter(|k| k == "host" || k == "content-type" || k.starts_with("x-acs-"))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn header_values(headers: &HeaderMap, name: &str) -> Option<String> {
    let mut values: Vec<&str> = headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .collect();
    values.sort_unstable();
    (!values.is_empty()).then(|| values.join(","))
}

/// The V3 canonical request over `signed_headers`.
pub fn v3_canonical_request(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    signed_headers: &[String],
) -> Result<String, SigningError> {
    let mut block = String::new();
    for name in signed_headers {
        let value = header_values(headers, name)
            .ok_or_else(|| SigningError::MissingHeader(name.clone()))?;
        block.push_str(&format!("{name}:{value}\n"));
    }
    let payload_hash = header_values(headers, CONTENT_SHA256)
        .ok_or_else(|| SigningError::MissingHeader(CONTENT_SHA256.into()))?;
    let path = if path.is_empty() { "/" } else { path };
    Ok(format!(
        "{}\n{}\n{}\n{}\n{}\n{}",
        method.to_ascii_uppercase(),
        path,
        canonical_query(query),
        block,
        signed_headers.join(";"),
        payload_hash
    ))
}

pub fn v3_string_to_sign(canonical: &str) -> String {
    format!(
        "{V3_ALGORITHM}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    )
}

/// Signs a V3 request whose headers already hold the `x-acs-*` values (including
/// `x-acs-content-sha256`).
pub fn v3_sign(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    access_key_id: &str,
    secret: &Secret,
) -> Result<AlibabaV3Signature, SigningError> {
    let names = v3_signed_header_names(headers);
    let canonical = v3_canonical_request(method, path, query, headers, &names)?;
    let signature = hex::encode(
        hmac_sha256(secret.expose_secret(), &v3_string_to_sign(&canonical))
            .finalize()
            .into_bytes(),
    );
    let signed_headers = names.join(";");
    Ok(AlibabaV3Signature {
        authorization: format!(
            "{V3_ALGORITHM} Credential={access_key_id},SignedHeaders={signed_headers},Signature={signature}"
        ),
        signed_headers,
        signature,
    })
}

/// Parses `ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...`.
pub fn v3_parse_authorization(value: &str) -> Result<AlibabaV3Authorization, SigningError> {
    let fields = super::parse_authorization_fields(value, V3_ALGORITHM, "Credential")?;
    Ok(AlibabaV3Authorization {
        access_key_id: fields.credential,
        signed_headers: fields.signed_headers,
        signature: fields.signature,
    })
}

/// Verifies a V3 request with its own signed header list (which must cover every `x-acs-*`
/// header the request carries).
pub fn v3_verify(
    method: &str,
    path: &str,
    query: &[(String, String)],
    headers: &HeaderMap,
    auth: &AlibabaV3Authorization,
    secret: &Secret,
) -> Result<(), VerifyError> {
    for required in v3_signed_header_names(headers)
        .iter()
        .filter(|h| h.starts_with("x-acs-"))
    {
        if !auth.signed_headers.contains(required) {
            return Err(VerifyError::new(format!("header {required} is not signed")));
        }
    }
    let canonical = v3_canonical_request(method, path, query, headers, &auth.signed_headers)
        .map_err(|e| VerifyError::new(e.to_string()))?;
    let string_to_sign = v3_string_to_sign(&canonical);
    let expected =
        hex::decode(&auth.signature).map_err(|_| VerifyError::string_mismatch(&string_to_sign))?;
    hmac_sha256(secret.expose_secret(), &string_to_sign)
        .verify_slice(&expected)
        .map_err(|_| VerifyError::string_mismatch(&string_to_sign))
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn v1_round_trip_and_tampering() {
        let secret = Secret::from("s");
        let mut params = pairs(&[("Action", "X"), ("Name", "a b*")]);
        v1_sign_params("POST", &mut params, &secret);
        v1_verify("POST", &params, &secret).unwrap();
        assert!(v1_verify("GET", &params, &secret).is_err());
        params[1].1 = "a b".into();
        assert!(v1_verify("POST", &params, &secret).is_err());
    }

    #[test]
    fn v3_round_trip_and_unsigned_acs_header_refused() {
        let secret = Secret::from("s");
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("h"));
        headers.insert("x-acs-action", HeaderValue::from_static("A"));
        headers.insert(
            "x-acs-content-sha256",
            HeaderValue::from_static(
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            ),
        );
        let query = pairs(&[("ClusterId", "c")]);
        let sig = v3_sign("POST", "/", &query, &headers, "AK", &secret).unwrap();
        let auth = v3_parse_authorization(&sig.authorization).unwrap();
        v3_verify("POST", "/", &query, &headers, &auth, &secret).unwrap();
        assert!(
            v3_verify(
                "POST",
                "/",
                &pairs(&[("ClusterId", "d")]),
                &headers,
                &auth,
                &secret
            )
            .is_err()
        );
        headers.insert("x-acs-version", HeaderValue::from_static("1"));
        assert!(v3_verify("POST", "/", &query, &headers, &auth, &secret).is_err());
    }

    #[test]
    fn timestamps() {
        let t = parse_timestamp("2016-02-23T12:46:24Z").unwrap();
        assert_eq!(alibaba_timestamp(t), "2016-02-23T12:46:24Z");
        assert!(parse_timestamp("2016-02-23 12:46:24").is_err());
    }
}
