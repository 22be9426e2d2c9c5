//! Responses in each cloud's own format, errors included, so a client parses the simulator's
//! answers with exactly the code it uses against the real cloud.

use http::StatusCode;
use serde::Serialize;
use serde_json::json;

use super::request::Cloud;

/// A response the simulator sends, or a dropped connection.
#[derive(Debug)]
pub enum Outcome {
    Respond(SimResponse),
    /// Close the connection without answering (fault injection).
    Drop,
}

#[derive(Debug, Clone)]
pub struct SimResponse {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The cloud error code carried by the body, for the request log.
    pub error_code: Option<String>,
}

impl SimResponse {
    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        let body = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
        Self {
            status,
            headers: vec![("content-type", "application/json;charset=UTF-8".into())],
            body,
            error_code: None,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    fn error(status: StatusCode, code: &str, body: serde_json::Value) -> Self {
        let mut response = Self::json(status, &body);
        response.error_code = Some(code.to_owned());
        response
    }

    /// CCE service error: `{"errorCode": "CCE.01400001", "errorMessage": "..."}`.
    pub fn cce_error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self::error(
            status,
            code,
            json!({"errorCode": code, "errorMessage": message.into()}),
        )
    }

    /// ModelArts service error: `{"error_code": "ModelArts.50004000", "error_msg": "..."}`.
    pub fn modelarts_error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self::error(
            status,
            code,
            json!({"error_code": code, "error_msg": message.into()}),
        )
    }

    /// Huawei API gateway error (authentication, throttling, unknown API).
    pub fn gateway_error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let request_id = new_request_id();
        Self::error(
            status,
            code,
            json!({"error_code": code, "error_msg": message.into(), "request_id": request_id}),
        )
    }

    /// Huawei IAM (Keystone) error: `{"error": {"code": 401, "message": "...", "title": "..."}}`.
    pub fn iam_error(status: StatusCode, message: impl Into<String>) -> Self {
        let title = status.canonical_reason().unwrap_or("Error");
        let code = status.as_u16().to_string();
        Self::error(
            status,
            &code,
            json!({"error": {"code": status.as_u16(), "message": message.into(), "title": title}}),
        )
    }

    /// Alibaba error: `{"RequestId", "HostId", "Code", "Message", "Recommend"}`.
    pub fn ens_error(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        let request_id = new_request_id();
        Self::error(
            status,
            code,
            json!({
                "RequestId": request_id,
                "HostId": "ens.aliyuncs.com",
                "Code": code,
                "Message": message.into(),
                "Recommend": format!(
                    "https://api.aliyun.com/troubleshoot?q={code}&product=Ens&requestId={request_id}"
                ),
            }),
        )
    }

    /// A server error in the format of `cloud` (fault injection, internal failures).
    pub fn server_error(cloud: Option<Cloud>, status: StatusCode) -> Self {
        match cloud {
            Some(Cloud::Cce) => Self::cce_error(status, "CCE.01500001", "Internal server error."),
            Some(Cloud::ModelArts) => {
                Self::modelarts_error(status, "ModelArts.50005000", "Internal server error.")
            }
            Some(Cloud::Ens) => Self::ens_error(
                status,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
            ),
            Some(Cloud::Iam) | None => {
                Self::gateway_error(status, "APIG.0201", "Backend unavailable.")
            }
        }
    }

    /// A client error of `cloud` with the given status, code and message, in the same format as
    /// the cloud's own errors (fault injection: refusals such as "the cluster is being
    /// upgraded"). IAM and unknown clouds use the Huawei gateway format, as for server errors.
    pub fn refused(cloud: Option<Cloud>, status: StatusCode, code: &str, message: &str) -> Self {
        match cloud {
            Some(Cloud::Cce) => Self::cce_error(status, code, message),
            Some(Cloud::ModelArts) => Self::modelarts_error(status, code, message),
            Some(Cloud::Ens) => Self::ens_error(status, code, message),
            Some(Cloud::Iam) | None => Self::gateway_error(status, code, message),
        }
    }

    /// The throttling answer of `cloud`.
    pub fn throttled(cloud: Option<Cloud>) -> Self {
        match cloud {
            Some(Cloud::Ens) => Self::ens_error(
                StatusCode::BAD_REQUEST,
                "Throttling.User",
                "Request was denied due to user flow control.",
            ),
            _ => Self::gateway_error(
                StatusCode::TOO_MANY_REQUESTS,
                "APIG.0308",
                "The throttling threshold has been reached: policy user over ratelimit,limit:20,time:1 second",
            ),
        }
    }
}

/// A fresh request id in the clouds' usual uppercase UUID form.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string().to_uppercase()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn body(response: &SimResponse) -> serde_json::Value {
        serde_json::from_slice(&response.body).unwrap()
    }

    #[test]
    fn refusals_use_each_clouds_error_format() {
        let status = StatusCode::BAD_REQUEST;
        let message = "the cluster is being upgraded";

        let cce = SimResponse::refused(Some(Cloud::Cce), status, "CCE.01400001", message);
        assert_eq!(cce.status, status);
        assert_eq!(cce.error_code.as_deref(), Some("CCE.01400001"));
        assert_eq!(
            body(&cce),
            json!({"errorCode": "CCE.01400001", "errorMessage": message})
        );

        let modelarts = SimResponse::refused(
            Some(Cloud::ModelArts),
            status,
            "ModelArts.50004000",
            message,
        );
        assert_eq!(modelarts.error_code.as_deref(), Some("ModelArts.50004000"));
        assert_eq!(
            body(&modelarts),
            json!({"error_code": "ModelArts.50004000", "error_msg": message})
        );

        let ens = SimResponse::refused(Some(Cloud::Ens), status, "IncorrectClusterStatus", message);
        assert_eq!(ens.error_code.as_deref(), Some("IncorrectClusterStatus"));
        let ens = body(&ens);
        assert_eq!(ens["Code"], "IncorrectClusterStatus");
        assert_eq!(ens["Message"], message);
        assert_eq!(ens["HostId"], "ens.aliyuncs.com");
        assert!(ens["RequestId"].is_string());
        assert!(
            ens["Recommend"]
                .as_str()
                .unwrap()
                .contains("IncorrectClusterStatus")
        );

        let iam = body(&SimResponse::refused(
            Some(Cloud::Iam),
            status,
            "APIG.1000",
            message,
        ));
        assert_eq!(iam["error_code"], "APIG.1000");
        assert_eq!(iam["error_msg"], message);
        assert!(iam["request_id"].is_string());
    }
}
