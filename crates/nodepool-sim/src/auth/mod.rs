//! Authentication as the real gateways do it: Huawei requests carry an SDK-HMAC-SHA256
//! signature or an IAM token, Alibaba requests a V1 (HMAC-SHA1) or V3 (ACS3-HMAC-SHA256)
//! signature with a fresh timestamp and an unused nonce. Failures are answered with the cloud's
//! own status and error code.

mod alibaba;
mod huawei;

use super::Sim;
use super::dispatch::Incoming;
use super::response::SimResponse;
use super::route::Route;

/// Who a request authenticated as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// AK/SK signature of the Huawei account at this index of the configuration.
    HuaweiKey { account: usize, access_key: String },
    /// IAM token of a user of the Huawei account at this index.
    HuaweiToken { account: usize, user: String },
    /// Alibaba AccessKey of the account at this index.
    Alibaba {
        account: usize,
        access_key_id: String,
    },
}

impl Principal {
    /// Name for the request log (never a secret).
    pub fn name(&self) -> String {
        match self {
            Principal::HuaweiKey { access_key, .. } => access_key.clone(),
            Principal::HuaweiToken { user, .. } => format!("iam-user:{user}"),
            Principal::Alibaba { access_key_id, .. } => access_key_id.clone(),
        }
    }

    /// Index of the account in the configuration.
    pub fn account(&self) -> usize {
        match self {
            Principal::HuaweiKey { account, .. }
            | Principal::HuaweiToken { account, .. }
            | Principal::Alibaba { account, .. } => *account,
        }
    }
}

/// Authenticates a request for a cloud route, or answers with the cloud's error.
pub fn authenticate(sim: &Sim, req: &Incoming, route: &Route) -> Result<Principal, SimResponse> {
    match route {
        Route::Cce(op) => huawei::authenticate(sim, req, op.project()),
        Route::ModelArts(op) => huawei::authenticate(sim, req, op.project()),
        Route::Ens(_) => alibaba::authenticate(sim, req),
        Route::Admin | Route::Iam | Route::Unknown(_) => Err(SimResponse::server_error(
            None,
            http::StatusCode::INTERNAL_SERVER_ERROR,
        )),
    }
}
