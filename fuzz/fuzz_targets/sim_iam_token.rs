//! The simulated IAM's token request (`POST /v3/auth/tokens`) with any body: always an IAM
//! answer in JSON; a token it issues authenticates a CCE call in its project and no other.
//!
//! Input: the request body (seeds: `tests/fixtures/iam/token-request*.json`).

#![no_main]

use http::{HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{RawRequest, new_sim, serve};
use nodepool_sim::config::{DEMO_CCE_CLUSTER_ID, DEMO_HUAWEI_PROJECT_ID};

fuzz_target!(|data: &[u8]| {
    let sim = new_sim();
    let mut raw = RawRequest::parse(b"POST /v3/auth/tokens\ncontent-type: application/json\n\n");
    raw.body = data.to_vec();
    let response = serve(&sim, raw.incoming());
    let token = response
        .headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("x-subject-token"))
        .map(|(_, value)| value.clone());
    match (response.status.as_u16(), token) {
        (201, Some(token)) => {
            let mut list = RawRequest::parse(
                format!(
                    "GET /api/v3/projects/{DEMO_HUAWEI_PROJECT_ID}/clusters/{DEMO_CCE_CLUSTER_ID}/nodepools\n\n"
                )
                .as_bytes(),
            );
            let Ok(value) = HeaderValue::from_str(&token) else {
                panic!("IAM issued a token that is no header value: {token:?}");
            };
            list.headers.insert("x-auth-token", value);
            list.method = Method::GET;
            let answer = serve(&sim, list.incoming());
            assert!(
                matches!(answer.status.as_u16(), 200 | 403),
                "a fresh token was answered {}",
                answer.status
            );
        }
        (201, None) => panic!("IAM answered 201 without X-Subject-Token"),
        (status, _) => assert!(status >= 400, "IAM answered {status} without a token"),
    }
});
