//! Huawei API gateway authentication: `X-Auth-Token` issued by the simulated IAM, or an AK/SK
//! `SDK-HMAC-SHA256` signature with `X-Sdk-Date` within the allowed skew.

use http::StatusCode;

use super::Principal;
use crate::Sim;
use crate::dispatch::Incoming;
use crate::response::SimResponse;
use nodepool_wire::signing::huawei::{self as signer, SignableRequest};

fn denied(code: &str, message: impl Into<String>) -> SimResponse {
    SimResponse::gateway_error(StatusCode::UNAUTHORIZED, code, message)
}

fn forbidden(project: &str) -> SimResponse {
    SimResponse::gateway_error(
        StatusCode::FORBIDDEN,
        "APIG.0302",
        format!(
            "Incorrect IAM authentication information: the credentials have no access to project {project}."
        ),
    )
}

pub fn authenticate(sim: &Sim, req: &Incoming, project: &str) -> Result<Principal, SimResponse> {
    if let Some(token) = req.header("x-auth-token") {
        return authenticate_token(sim, req, token, project);
    }
    let Some(authorization) = req.header("authorization") else {
        return Err(denied(
            "APIG.0301",
            "Incorrect IAM authentication information: Authorization header and X-Auth-Token not found.",
        ));
    };
    let parsed = signer::parse_authorization(authorization).map_err(|error| {
        denied(
            "APIG.0301",
            format!("Incorrect IAM authentication information: {error}"),
        )
    })?;
    let Some((index, account)) = sim
        .config
        .huawei
        .iter()
        .enumerate()
        .find(|(_, a)| a.access_key == parsed.access_key)
    else {
        return Err(denied(
            "APIG.0301",
            format!(
                "Incorrect IAM authentication information: ak {} not exist.",
                parsed.access_key
            ),
        ));
    };
    let Some(date) = req.header("x-sdk-date") else {
        return Err(denied(
            "APIG.0303",
            "Incorrect app authentication information: X-Sdk-Date not found.",
        ));
    };
    let date = signer::parse_sdk_date(date).map_err(|_| {
        denied(
            "APIG.0303",
            "Incorrect app authentication information: X-Sdk-Date is malformed.",
        )
    })?;
    let skew = (req.now - date).abs().to_std().unwrap_or_default();
    if skew > sim.config.max_clock_skew {
        return Err(denied(
            "APIG.0303",
            "Incorrect app authentication information: the request date is too far from the server time (X-Sdk-Date).",
        ));
    }
    let signable = SignableRequest {
        method: req.method.as_str(),
        path: &req.path,
        query: &req.query,
        headers: &req.headers,
        body: &req.body,
    };
    if let Err(error) = signer::verify(&signable, &parsed, &account.secret_key) {
        return Err(denied(
            "APIG.0303",
            format!(
                "Incorrect app authentication information: verify aksk signature fail, canonicalRequest: {}",
                error.canonical_request_piped()
            ),
        ));
    }
    if !account.projects.iter().any(|p| p.id == project) {
        return Err(forbidden(project));
    }
    Ok(Principal::HuaweiKey {
        account: index,
        access_key: parsed.access_key,
    })
}

fn authenticate_token(
    sim: &Sim,
    req: &Incoming,
    token: &str,
    project: &str,
) -> Result<Principal, SimResponse> {
    let issued = sim
        .tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(token)
        .cloned();
    let Some(issued) = issued else {
        return Err(denied(
            "APIG.0301",
            "Incorrect IAM authentication information: verify token failed.",
        ));
    };
    if issued.expires_at <= req.now {
        return Err(denied("APIG.0307", "The token must be updated."));
    }
    if issued.project_id.as_deref() != Some(project) {
        return Err(forbidden(project));
    }
    Ok(Principal::HuaweiToken {
        account: issued.access_key_owner,
        user: issued.user,
    })
}
