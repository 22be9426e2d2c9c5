//! Huawei SDK-HMAC-SHA256 verification as the simulator's gateway does it, on any request:
//! reading `Authorization` and `X-Sdk-Date` and verifying never panics; the same request
//! signed as the clients sign it verifies, and fails once any one character of its signature
//! is changed.
//!
//! Input: a raw HTTP/1 request (seeds: `tests/fixtures/signing/vectors.json`, see `seeds.sh`).

#![no_main]

use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{RawRequest, huawei_secret};
use nodepool_wire::signing::huawei::{
    DATE_HEADER, SignableRequest, parse_authorization, parse_sdk_date, sign, verify,
};

fuzz_target!(|data: &[u8]| {
    let mut raw = RawRequest::parse(data);
    let secret = huawei_secret();
    let (method, path, body) = (raw.method.to_string(), raw.path.clone(), raw.body.clone());
    if let Some(date) = raw.header(DATE_HEADER) {
        let _ = parse_sdk_date(date);
    }
    if let Some(authorization) = raw.header("authorization")
        && let Ok(auth) = parse_authorization(authorization)
    {
        let req = SignableRequest {
            method: &method,
            path: &path,
            query: &raw.query,
            headers: &raw.headers,
            body: &body,
        };
        let _ = verify(&req, &auth, &secret);
    }

    raw.headers.remove(http::header::AUTHORIZATION);
    if !raw.headers.contains_key(DATE_HEADER) {
        raw.headers
            .insert(DATE_HEADER, HeaderValue::from_static("20240101T000000Z"));
    }
    let req = SignableRequest {
        method: &method,
        path: &path,
        query: &raw.query,
        headers: &raw.headers,
        body: &body,
    };
    let Ok(signature) = sign(&req, "AKFUZZ", &secret) else {
        return;
    };
    let auth = match parse_authorization(&signature.authorization) {
        Ok(auth) => auth,
        Err(error) => panic!("a signature's own header does not parse: {error}"),
    };
    assert_eq!(auth.access_key, "AKFUZZ");
    assert_eq!(auth.signature, signature.signature);
    if let Err(error) = verify(&req, &auth, &secret) {
        panic!("a request signed by the client does not verify: {error}");
    }
    let mut tampered = auth.clone();
    let at = body.len() % tampered.signature.len().max(1);
    let mut chars: Vec<char> = tampered.signature.chars().collect();
    if let Some(c) = chars.get_mut(at) {
        *c = if *c == '0' { '1' } else { '0' };
    }
    tampered.signature = chars.into_iter().collect();
    assert!(
        verify(&req, &tampered, &secret).is_err(),
        "a signature with one character changed verifies"
    );
});
