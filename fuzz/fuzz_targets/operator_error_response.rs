//! The operator reading any error answer (`huawei::classify` for CCE, ModelArts and IAM bodies,
//! `alibaba::classify` for ENS): never a panic; the error keeps the code the body carries, a
//! wait only when throttled, and a message of bounded length with no volatile token left in
//! it (ids, nonces, dates: what `stable_text` removes so statuses change only when the failure
//! does).
//!
//! Input: `STATUS`, header lines, a blank line, the body (seeds: `tests/fixtures/*/error-*.json`
//! after a status line, see `seeds.sh`).

#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::RawRequest;
use nodepool_operator::provider::transport::HttpResponse;
use nodepool_operator::provider::{CloudError, ErrorCategory, alibaba, huawei};

/// `stable_text` keeps at most this many bytes.
const MESSAGE_LIMIT: usize = 300;

fn check(error: &CloudError, code_in_body: Option<&str>) {
    let message = error.message();
    assert!(
        message.len() <= MESSAGE_LIMIT,
        "{} bytes kept",
        message.len()
    );
    for word in message.split_whitespace() {
        let digits = word.chars().filter(char::is_ascii_digit).count();
        let hex_run = word
            .split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max()
            .unwrap_or(0);
        assert!(
            digits < 6 && hex_run < 16,
            "volatile {word:?} kept in {message:?}"
        );
    }
    if error.retry_after().is_some() {
        assert_eq!(error.category(), ErrorCategory::Throttled);
    }
    if let Some(code) = code_in_body.filter(|c| !c.is_empty()) {
        assert_eq!(error.code(), Some(code), "{error:?}");
    }
}

fuzz_target!(|data: &[u8]| {
    // The first line is the status, read as the request line's method.
    let raw = RawRequest::parse(data);
    let status = raw.method.as_str().parse::<u16>().unwrap_or(500);
    let response = HttpResponse {
        status,
        headers: raw.headers.clone(),
        body: Bytes::from(raw.body.clone()),
    };
    let body: serde_json::Value = serde_json::from_slice(&raw.body).unwrap_or_default();
    let huawei_code = ["errorCode", "error_code"]
        .iter()
        .find_map(|k| body[*k].as_str());
    check(&huawei::classify(&response), huawei_code);
    check(&alibaba::classify(&response), body["Code"].as_str());
});
