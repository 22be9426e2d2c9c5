//! `metav1.Status` error answers, shaped like the API server's.

use http::StatusCode;
use serde_json::{Value, json};

/// An error answer: HTTP status plus a `Status` object.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: StatusCode,
    pub body: Value,
}

/// One `details.causes` entry of an Invalid answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueTooLong`,
    /// `FieldValueTooMany`, `FieldValueForbidden`, `FieldValueTypeInvalid`.
    pub reason: &'static str,
    pub field: String,
    /// The message without the field prefix.
    pub message: String,
}

impl Cause {
    pub fn new(reason: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            reason,
            field: field.into(),
            message: message.into(),
        }
    }

    /// `field: message`, as the API server prints it.
    pub fn full(&self) -> String {
        if self.field.is_empty() {
            self.message.clone()
        } else {
            format!("{}: {}", self.field, self.message)
        }
    }
}

fn status(code: StatusCode, reason: &str, message: String, details: Option<Value>) -> ApiError {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    if let Some(details) = details {
        body["details"] = details;
    }
    ApiError { code, body }
}

impl ApiError {
    pub fn not_found(group: &str, resource: &str, name: &str) -> Self {
        let qualified = qualified(group, resource);
        status(
            StatusCode::NOT_FOUND,
            "NotFound",
            format!("{qualified} \"{name}\" not found"),
            Some(json!({"name": name, "group": group, "kind": resource})),
        )
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> Self {
        let qualified = qualified(group, resource);
        status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("{qualified} \"{name}\" already exists"),
            Some(json!({"name": name, "group": group, "kind": resource})),
        )
    }

    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> Self {
        let qualified = qualified(group, resource);
        status(
            StatusCode::CONFLICT,
            "Conflict",
            format!("Operation cannot be fulfilled on {qualified} \"{name}\": {why}"),
            Some(json!({"name": name, "group": group, "kind": resource})),
        )
    }

    /// 422 Invalid with field causes.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: &[Cause]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let listed = causes.iter().map(Cause::full).collect::<Vec<_>>();
        let summary = if listed.len() == 1 {
            listed[0].clone()
        } else {
            format!("[{}]", listed.join(", "))
        };
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| json!({"reason": c.reason, "message": c.full(), "field": c.field}))
            .collect();
        status(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Invalid",
            format!("{qualified} \"{name}\" is invalid: {summary}"),
            Some(json!({"name": name, "group": group, "kind": kind, "causes": causes})),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        status(StatusCode::BAD_REQUEST, "BadRequest", message.into(), None)
    }

    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            message.into(),
            None,
        )
    }

    pub fn unsupported_media_type(content_type: &str) -> Self {
        status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (got {content_type})"
            ),
            None,
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        status(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalError",
            message.into(),
            None,
        )
    }

    pub fn too_many_requests() -> Self {
        let mut error = status(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later".into(),
            Some(json!({"retryAfterSeconds": 1})),
        );
        error.body["details"]["causes"] = json!([]);
        error
    }
}

fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_owned()
    } else {
        format!("{resource}.{group}")
    }
}
