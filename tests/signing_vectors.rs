//! Every signature test vector in `tests/fixtures/signing/vectors.json` passes through the
//! project's signers, and the simulator-side verifiers accept what the signers produce.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::{HeaderMap, HeaderName, HeaderValue};
use nodepool_wire::signing::{Secret, alibaba, encoding, huawei};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/signing/vectors.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn header_map(headers: &Value) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in headers.as_object().unwrap() {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value.as_str().unwrap()).unwrap(),
        );
    }
    map
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn huawei_vectors() {
    let all = vectors();
    let cases = all["huawei"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for case in cases {
        let headers = header_map(&case["headers"]);
        let req = huawei::SignableRequest {
            method: s(&case["method"]),
            path: s(&case["path"]),
            query: s(&case["query"]),
            headers: &headers,
            body: s(&case["body"]).as_bytes(),
        };
        let secret = Secret::from(s(&case["secret_key"]));
        let signature = huawei::sign(&req, s(&case["access_key"]), &secret).unwrap();
        assert_eq!(
            signature.signed_headers,
            s(&case["signed_headers"]),
            "{}",
            case["name"]
        );
        assert_eq!(
            signature.signature,
            s(&case["signature"]),
            "{}",
            case["name"]
        );
        assert_eq!(
            signature.authorization,
            format!(
                "SDK-HMAC-SHA256 Access={}, SignedHeaders={}, Signature={}",
                s(&case["access_key"]),
                s(&case["signed_headers"]),
                s(&case["signature"])
            )
        );
        if let Some(hash) = case["canonical_request_sha256"].as_str() {
            let names: Vec<String> = signature
                .signed_headers
                .split(';')
                .map(str::to_owned)
                .collect();
            let canonical = huawei::canonical_request(&req, &names).unwrap();
            assert_eq!(
                hex::encode(Sha256::digest(canonical.as_bytes())),
                hash,
                "{}",
                case["name"]
            );
        }
        // The verifier accepts the signer's work.
        let auth = huawei::parse_authorization(&signature.authorization).unwrap();
        huawei::verify(&req, &auth, &secret).unwrap();
    }
}

#[test]
fn huawei_query_encoding_vector() {
    let all = vectors();
    let case = &all["huawei_query_encoding"];
    let pairs: Vec<(String, String)> = case["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (s(&p[0]).to_owned(), s(&p[1]).to_owned()))
        .collect();
    assert_eq!(encoding::canonical_query(&pairs), s(&case["canonical"]));
}

#[test]
fn alibaba_v1_vectors() {
    let all = vectors();
    for case in all["alibaba_v1"].as_array().unwrap() {
        let params: Vec<(String, String)> = case["params"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), s(v).to_owned()))
            .collect();
        let secret = Secret::from(s(&case["secret"]));
        assert_eq!(
            alibaba::v1_signature(s(&case["method"]), &params, &secret),
            s(&case["signature"]),
            "{}",
            case["name"]
        );
        let mut signed = params.clone();
        alibaba::v1_sign_params(s(&case["method"]), &mut signed, &secret);
        alibaba::v1_verify(s(&case["method"]), &signed, &secret).unwrap();
    }
}

#[test]
fn alibaba_v3_vectors() {
    let all = vectors();
    for case in all["alibaba_v3"].as_array().unwrap() {
        let headers = header_map(&case["headers"]);
        let query: Vec<(String, String)> = case["query"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (s(&p[0]).to_owned(), s(&p[1]).to_owned()))
            .collect();
        let secret = Secret::from(s(&case["secret"]));
        let signature = alibaba::v3_sign(
            s(&case["method"]),
            s(&case["path"]),
            &query,
            &headers,
            s(&case["access_key_id"]),
            &secret,
        )
        .unwrap();
        assert_eq!(signature.signed_headers, s(&case["signed_headers"]));
        assert_eq!(signature.signature, s(&case["signature"]));
        let names: Vec<String> = signature
            .signed_headers
            .split(';')
            .map(str::to_owned)
            .collect();
        let canonical = alibaba::v3_canonical_request(
            s(&case["method"]),
            s(&case["path"]),
            &query,
            &headers,
            &names,
        )
        .unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(canonical.as_bytes())),
            s(&case["canonical_request_sha256"])
        );
        let auth = alibaba::v3_parse_authorization(&signature.authorization).unwrap();
        alibaba::v3_verify(
            s(&case["method"]),
            s(&case["path"]),
            &query,
            &headers,
            &auth,
            &secret,
        )
        .unwrap();
    }
}
