//! Alibaba Cloud RPC authentication: V3 (`Authorization: ACS3-HMAC-SHA256 ...` with `x-acs-*`
//! headers) or V1 (`Signature` among the parameters, HMAC-SHA1). Both need a timestamp within
//! the allowed skew and a nonce not used before by the same AccessKey.

use std::time::Instant;

use chrono::{DateTime, Utc};
use http::StatusCode;
use sha2::{Digest, Sha256};

use super::Principal;
use crate::Sim;
use crate::config::AlibabaAccount;
use crate::dispatch::Incoming;
use crate::response::SimResponse;
use nodepool_wire::signing::alibaba;

/// The only API version the simulator serves.
pub const ENS_VERSION: &str = "2017-11-10";
/// How long a nonce stays remembered (the timestamp skew window makes older replays fail anyway).
const NONCE_MEMORY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

fn bad(code: &str, message: impl Into<String>) -> SimResponse {
    SimResponse::ens_error(StatusCode::BAD_REQUEST, code, message)
}

fn missing(name: &str) -> SimResponse {
    bad(
        "MissingParameter",
        format!(
            "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
        ),
    )
}

pub fn authenticate(sim: &Sim, req: &Incoming) -> Result<Principal, SimResponse> {
    let v3 = req
        .header("authorization")
        .filter(|a| a.trim_start().starts_with("ACS3-"));
    match v3 {
        Some(authorization) => authenticate_v3(sim, req, authorization),
        None => authenticate_v1(sim, req),
    }
}

fn find_account<'a>(
    sim: &'a Sim,
    access_key_id: &str,
) -> Result<(usize, &'a AlibabaAccount), SimResponse> {
    sim.config
        .alibaba
        .iter()
        .enumerate()
        .find(|(_, a)| a.access_key_id == access_key_id)
        .ok_or_else(|| {
            SimResponse::ens_error(
                StatusCode::NOT_FOUND,
                "InvalidAccessKeyId.NotFound",
                "Specified access key is not found.",
            )
        })
}

fn check_timestamp(sim: &Sim, req: &Incoming, value: &str) -> Result<(), SimResponse> {
    let stamp: DateTime<Utc> = alibaba::parse_timestamp(value).map_err(|_| {
        bad(
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    })?;
    let skew = (req.now - stamp).abs().to_std().unwrap_or_default();
    if skew > sim.config.max_clock_skew {
        return Err(bad(
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        ));
    }
    Ok(())
}

fn check_version(version: Option<&str>) -> Result<(), SimResponse> {
    match version {
        None => Err(missing("Version")),
        Some(ENS_VERSION) => Ok(()),
        Some(other) => Err(bad(
            "InvalidVersion",
            format!(
                "Specified parameter Version \"{other}\" is not valid; this API is {ENS_VERSION}."
            ),
        )),
    }
}

/// Remembers the nonce; refuses it when the same AccessKey used it before.
fn use_nonce(sim: &Sim, access_key_id: &str, nonce: &str, now: Instant) -> Result<(), SimResponse> {
    let mut nonces = sim.nonces.lock().unwrap_or_else(|e| e.into_inner());
    nonces.retain(|_, first_use| now.saturating_duration_since(*first_use) < NONCE_MEMORY);
    let key = (access_key_id.to_owned(), nonce.to_owned());
    if nonces.contains_key(&key) {
        return Err(bad(
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        ));
    }
    nonces.insert(key, now);
    Ok(())
}

fn authenticate_v1(sim: &Sim, req: &Incoming) -> Result<Principal, SimResponse> {
    let params = req.rpc_params();
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("Signature").is_none() {
        return Err(bad(
            "IncompleteSignature",
            "The request signature does not conform to Aliyun standards: no Signature parameter and no ACS3 Authorization header.",
        ));
    }
    let access_key_id = get("AccessKeyId").ok_or_else(|| missing("AccessKeyId"))?;
    let (index, account) = find_account(sim, access_key_id)?;
    match get("SignatureMethod") {
        Some("HMAC-SHA1") => {}
        Some(other) => {
            return Err(bad(
                "InvalidSignatureMethod",
                format!("Specified signature method \"{other}\" is not valid; use HMAC-SHA1."),
            ));
        }
        None => return Err(missing("SignatureMethod")),
    }
    if get("SignatureVersion") != Some("1.0") {
        return Err(bad(
            "InvalidSignatureVersion",
            "SignatureVersion must be 1.0.",
        ));
    }
    let timestamp = get("Timestamp").ok_or_else(|| missing("Timestamp"))?;
    check_timestamp(sim, req, timestamp)?;
    let nonce = get("SignatureNonce").ok_or_else(|| missing("SignatureNonce"))?;
    check_version(get("Version"))?;
    if let Err(error) = alibaba::v1_verify(req.method.as_str(), &params, &account.access_key_secret)
    {
        return Err(bad(
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{}",
                error.string_to_sign()
            ),
        ));
    }
    use_nonce(sim, access_key_id, nonce, req.instant)?;
    Ok(Principal::Alibaba {
        account: index,
        access_key_id: access_key_id.to_owned(),
    })
}

fn authenticate_v3(
    sim: &Sim,
    req: &Incoming,
    authorization: &str,
) -> Result<Principal, SimResponse> {
    let parsed = alibaba::v3_parse_authorization(authorization).map_err(|error| {
        bad(
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {error}"),
        )
    })?;
    let (index, account) = find_account(sim, &parsed.access_key_id)?;
    let date = req
        .header("x-acs-date")
        .ok_or_else(|| missing("x-acs-date"))?;
    check_timestamp(sim, req, date)?;
    let nonce = req
        .header("x-acs-signature-nonce")
        .ok_or_else(|| missing("x-acs-signature-nonce"))?;
    check_version(req.header("x-acs-version"))?;
    let declared_hash = req
        .header("x-acs-content-sha256")
        .ok_or_else(|| missing("x-acs-content-sha256"))?;
    if !declared_hash.eq_ignore_ascii_case(&hex::encode(Sha256::digest(&req.body))) {
        return Err(bad(
            "SignatureDoesNotMatch",
            "The x-acs-content-sha256 header does not match the SHA-256 of the request body.",
        ));
    }
    if let Err(error) = alibaba::v3_verify(
        req.method.as_str(),
        &req.path,
        &req.query_pairs(),
        &req.headers,
        &parsed,
        &account.access_key_secret,
    ) {
        return Err(bad(
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{}",
                error.string_to_sign()
            ),
        ));
    }
    use_nonce(sim, &parsed.access_key_id, nonce, req.instant)?;
    Ok(Principal::Alibaba {
        account: index,
        access_key_id: parsed.access_key_id,
    })
}
