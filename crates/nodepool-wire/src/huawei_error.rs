//! Huawei error bodies: CCE service errors (`errorCode`/`errorMessage`; the SDKs also accept
//! `error_code`/`error_msg`), ModelArts and API-gateway errors (`error_code`/`error_msg`, the
//! gateway adding `request_id`).

use serde::{Deserialize, Serialize};

use super::Extra;

/// CCE service error. Reads both spellings; writes the one it read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CceError {
    #[serde(rename = "errorCode", skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(rename = "errorMessage", skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Gateway / SDK spelling of the code.
    #[serde(rename = "error_code", skip_serializing_if = "Option::is_none")]
    pub error_code_snake: Option<String>,
    /// Gateway / SDK spelling of the message.
    #[serde(rename = "error_msg", skip_serializing_if = "Option::is_none")]
    pub error_msg_snake: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl CceError {
    pub fn code(&self) -> Option<&str> {
        self.error_code
            .as_deref()
            .or(self.error_code_snake.as_deref())
    }

    pub fn message(&self) -> Option<&str> {
        self.error_message
            .as_deref()
            .or(self.error_msg_snake.as_deref())
    }
}

/// ModelArts service error and Huawei API gateway error.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GatewayError {
    pub error_code: String,
    pub error_msg: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}
