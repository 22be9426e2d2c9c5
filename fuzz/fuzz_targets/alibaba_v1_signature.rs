//! Alibaba RPC signature V1 (HMAC-SHA1 over the sorted parameters) as the simulator checks it,
//! on any parameters read the simulator's way (query string, then form body): verifying never
//! panics; the parameters signed as the operator signs them and sent in its query string
//! verify, and fail once any one character of the signature is changed.
//!
//! Input: a raw HTTP/1 request (seeds: the ENS request fixtures as query strings and the V1
//! vectors of `tests/fixtures/signing/vectors.json`, see `seeds.sh`).

#![no_main]

use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{RawRequest, alibaba_secret, encode_query};
use nodepool_wire::signing::alibaba::{parse_timestamp, v1_sign_params, v1_verify};

const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fuzz_target!(|data: &[u8]| {
    let raw = RawRequest::parse(data);
    let secret = alibaba_secret();
    let incoming = raw.incoming();
    let params = incoming.rpc_params();
    let method = raw.method.as_str();
    let _ = v1_verify(method, &params, &secret);
    if let Some((_, stamp)) = params.iter().find(|(k, _)| k == "Timestamp") {
        let _ = parse_timestamp(stamp);
    }

    let mut signed = params.clone();
    v1_sign_params(method, &mut signed, &secret);
    // As sent: the operator's query string, read back by the simulator.
    let mut sent = raw.clone();
    sent.query = encode_query(&signed);
    sent.body.clear();
    let received = sent.incoming().query_pairs();
    if let Err(error) = v1_verify(method, &received, &secret) {
        panic!("signed parameters do not verify once sent: {error}");
    }
    let Some(position) = received.iter().position(|(k, _)| k == "Signature") else {
        panic!("the signature was lost on the way");
    };
    let mut tampered = received.clone();
    let signature = &mut tampered[position].1;
    let at = raw.body.len() % signature.len().max(1);
    let mut bytes = signature.clone().into_bytes();
    if let Some(b) = bytes.get_mut(at) {
        let index = BASE64.iter().position(|c| c == b).unwrap_or(0);
        *b = BASE64[(index + 1) % BASE64.len()];
    }
    *signature = String::from_utf8_lossy(&bytes).into_owned();
    assert!(
        v1_verify(method, &tampered, &secret).is_err(),
        "a signature with one character changed verifies: {tampered:?}"
    );
});
