//! Any request through the simulator's whole pipeline (route by method and path, ENS action
//! from query, form body or header, Huawei token or AK/SK, Alibaba V1 or V3 authentication,
//! the handlers): always an answer, in JSON, with an error status unless the request was a
//! valid one. The simulator's admin API (`/_sim/`) is left out: it installs fault rules.
//!
//! Input: a raw HTTP/1 request, `METHOD /path?query`, header lines, a blank line, the body.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{RawRequest, is_admin_path, new_sim, serve};

fuzz_target!(|data: &[u8]| {
    let raw = RawRequest::parse(data);
    if is_admin_path(&raw.path) {
        return;
    }
    let sim = new_sim();
    let response = serve(&sim, raw.incoming());
    // Nothing here is signed with a known secret, and IAM accepts only the demo password.
    if response.status.is_success() {
        let body = String::from_utf8_lossy(&response.body);
        assert!(
            raw.path.contains("tokens"),
            "unsigned {} {} was served: {} {body}",
            raw.method,
            raw.path,
            response.status
        );
    }
});
