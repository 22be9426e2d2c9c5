//! Huawei IAM password login (`POST /v3/auth/tokens`): checks user, password and domain,
//! scopes the token to a project (by id or by name, which is the region name) and returns it in
//! the `X-Subject-Token` header with HTTP 201, as IAM does.

use chrono::{DateTime, SecondsFormat, Utc};
use http::StatusCode;
use nodepool_wire::signing::ExposeSecret;
use serde_json::json;

use super::Sim;
use super::config::HuaweiProject;
use super::dispatch::Incoming;
use super::response::SimResponse;
use nodepool_wire::iam::TokenRequest;

/// A token the simulated IAM issued.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// Project the token is scoped to; `None` for a domain-scoped token.
    pub project_id: Option<String>,
    pub user: String,
    pub access_key_owner: usize,
    pub expires_at: DateTime<Utc>,
}

pub fn issue_token(sim: &Sim, req: &Incoming) -> SimResponse {
    let request = match serde_json::from_slice::<TokenRequest>(&req.body) {
        Ok(request) => request,
        Err(error) => {
            return SimResponse::iam_error(
                StatusCode::BAD_REQUEST,
                format!("The request body is not a valid token request: {error}"),
            );
        }
    };
    let identity = &request.auth.identity;
    if !identity.methods.iter().any(|m| m == "password") {
        return SimResponse::iam_error(
            StatusCode::BAD_REQUEST,
            "Only the password method is supported by this simulator (auth.identity.methods).",
        );
    }
    let Some(user) = identity.password.as_ref().map(|p| &p.user) else {
        return SimResponse::iam_error(
            StatusCode::BAD_REQUEST,
            "auth.identity.password is required.",
        );
    };
    let (name, password) = (user.name.as_str(), user.password.as_str());
    let Some(domain) = user.domain.name.as_deref() else {
        return SimResponse::iam_error(
            StatusCode::BAD_REQUEST,
            "auth.identity.password.user.domain.name is required.",
        );
    };
    let found = sim
        .config
        .huawei
        .iter()
        .enumerate()
        .find_map(|(index, account)| {
            (account.domain == domain)
                .then(|| account.users.iter().find(|u| u.name == name))
                .flatten()
                .map(|user| (index, account, user))
        });
    let Some((owner, account, iam_user)) = found else {
        return SimResponse::iam_error(
            StatusCode::UNAUTHORIZED,
            "The username or password is wrong.",
        );
    };
    if iam_user.password.expose_secret() != password {
        return SimResponse::iam_error(
            StatusCode::UNAUTHORIZED,
            "The username or password is wrong.",
        );
    }
    let scope = request.auth.scope.as_ref().and_then(|s| s.project.as_ref());
    let project: Option<&HuaweiProject> = match scope {
        None => None,
        Some(scope) => {
            let project = account.projects.iter().find(|p| {
                scope.id.as_deref() == Some(p.id.as_str())
                    || scope.name.as_deref() == Some(p.name.as_str())
            });
            match project {
                Some(project) => Some(project),
                None => {
                    return SimResponse::iam_error(
                        StatusCode::UNAUTHORIZED,
                        "The project in auth.scope does not exist or the user has no access to it.",
                    );
                }
            }
        }
    };

    let issued_at = req.now;
    let expires_at = issued_at
        + chrono::Duration::from_std(sim.config.token_lifetime)
            .unwrap_or_else(|_| chrono::Duration::hours(24));
    let token = format!("MIIsim{}", uuid::Uuid::new_v4().simple())
        + &uuid::Uuid::new_v4().simple().to_string();
    let issued = IssuedToken {
        project_id: project.map(|p| p.id.clone()),
        user: name.to_owned(),
        access_key_owner: owner,
        expires_at,
    };
    sim.tokens
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(token.clone(), issued);

    let domain_json = json!({"id": domain_id(&account.domain), "name": account.domain});
    let mut token_body = json!({
        "methods": ["password"],
        "expires_at": expires_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "issued_at": issued_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "user": {"id": domain_id(name), "name": name, "domain": domain_json.clone(),
                 "password_expires_at": ""},
        "roles": [{"id": "0", "name": "te_admin"}],
        "catalog": [],
    });
    if let Some(project) = project {
        token_body["project"] =
            json!({"id": project.id, "name": project.name, "domain": domain_json});
    } else {
        token_body["domain"] = domain_json;
    }
    SimResponse::json(StatusCode::CREATED, &json!({"token": token_body}))
        .with_header("x-subject-token", token)
}

/// A stable 32-hex id derived from a name, like IAM's ids.
fn domain_id(name: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(name.as_bytes())[..16])
}
