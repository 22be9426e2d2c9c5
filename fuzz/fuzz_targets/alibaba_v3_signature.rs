//! Alibaba RPC signature V3 (ACS3-HMAC-SHA256 over method, path, query and the `host`,
//! `content-type` and `x-acs-*` headers) as the simulator checks it, on any request: reading
//! the `Authorization` header and verifying never panic; the request signed as the operator
//! signs it verifies, and fails once any one character of the signature is changed.
//!
//! Input: a raw HTTP/1 request (seeds: the V3 vectors of `tests/fixtures/signing/vectors.json`,
//! see `seeds.sh`).

#![no_main]

use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{RawRequest, alibaba_secret};
use nodepool_wire::signing::alibaba::{CONTENT_SHA256, v3_parse_authorization, v3_sign, v3_verify};
use sha2::{Digest, Sha256};

fuzz_target!(|data: &[u8]| {
    let mut raw = RawRequest::parse(data);
    let secret = alibaba_secret();
    let method = raw.method.to_string();
    let query = raw.incoming().query_pairs();
    if let Some(authorization) = raw.header("authorization")
        && let Ok(auth) = v3_parse_authorization(authorization)
    {
        let _ = v3_verify(&method, &raw.path, &query, &raw.headers, &auth, &secret);
    }

    raw.headers.remove(http::header::AUTHORIZATION);
    if let Ok(hash) = HeaderValue::from_str(&hex::encode(Sha256::digest(&raw.body))) {
        raw.headers.insert(CONTENT_SHA256, hash);
    }
    let Ok(signature) = v3_sign(&method, &raw.path, &query, &raw.headers, "AKFUZZ", &secret) else {
        return;
    };
    let auth = match v3_parse_authorization(&signature.authorization) {
        Ok(auth) => auth,
        Err(error) => panic!("a signature's own header does not parse: {error}"),
    };
    assert_eq!(auth.access_key_id, "AKFUZZ");
    if let Err(error) = v3_verify(&method, &raw.path, &query, &raw.headers, &auth, &secret) {
        panic!("a request signed by the client does not verify: {error}");
    }
    let mut tampered = auth.clone();
    let at = raw.body.len() % tampered.signature.len().max(1);
    let mut chars: Vec<char> = tampered.signature.chars().collect();
    if let Some(c) = chars.get_mut(at) {
        *c = if *c == 'a' { 'b' } else { 'a' };
    }
    tampered.signature = chars.into_iter().collect();
    assert!(
        v3_verify(&method, &raw.path, &query, &raw.headers, &tampered, &secret).is_err(),
        "a signature with one character changed verifies"
    );
});
