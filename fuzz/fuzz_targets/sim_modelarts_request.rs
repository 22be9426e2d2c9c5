//! ModelArts node-pool operations on the simulator with any JSON body, signed as the operator
//! signs them, after a pool made from the documented create example: every answer is JSON,
//! and whatever state a request leaves, the pool and the list the simulator then serves are
//! read by the operator's ModelArts client (`observe`), with a spec that reads back.
//!
//! Input: one byte choosing the operation (list, create, get, patch, delete, nodes), then the
//! request body (seeds: `tests/fixtures/modelarts/*-request.json`).

#![no_main]

use http::{HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{RawRequest, body_json, new_sim, serve, sign_huawei, split_selector};
use nodepool_operator::provider::huawei::HuaweiService;
use nodepool_operator::provider::modelarts::observe;
use nodepool_sim::Sim;
use nodepool_sim::config::{DEMO_HUAWEI_PROJECT_ID, DEMO_MODELARTS_POOL};
use nodepool_sim::fuzzing::SimResponse;
use nodepool_wire::modelarts::{NodePool, NodePoolList, NodePoolSpec};

const CREATE: &[u8] = include_bytes!("../../tests/fixtures/modelarts/create-request.json");
/// The name in the create example.
const NAME: &str = "nodepool-1";

fn call(sim: &Sim, method: Method, tail: &str, body: &[u8]) -> Option<SimResponse> {
    let patch = method == Method::PATCH;
    let mut raw = RawRequest::parse(
        format!(
            "{method} /v2/{DEMO_HUAWEI_PROJECT_ID}/pools/{DEMO_MODELARTS_POOL}/nodepools{tail}\n\n"
        )
        .as_bytes(),
    );
    raw.body = body.to_vec();
    if patch {
        raw.headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/merge-patch+json"),
        );
    }
    let mut req = raw.incoming();
    sign_huawei(&mut req)?;
    let response = serve(sim, req);
    assert!(
        response.status.as_u16() != 401,
        "a signed request was refused: {}",
        String::from_utf8_lossy(&response.body)
    );
    Some(response)
}

fn check_pool(value: serde_json::Value, what: &str) {
    let pool: NodePool = match HuaweiService::MODELARTS.parse(value.clone(), what) {
        Ok(pool) => pool,
        Err(error) => panic!("the operator cannot read the simulator's {what}: {error}\n{value}"),
    };
    let observed = observe(&pool);
    if !observed.spec.is_null()
        && let Err(error) = serde_json::from_value::<NodePoolSpec>(observed.spec.clone())
    {
        panic!(
            "an observed spec does not read back: {error}\n{}",
            observed.spec
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, body) = split_selector(data);
    let sim = new_sim();
    let Some(created) = call(&sim, Method::POST, "", CREATE) else {
        return;
    };
    assert!(
        created.status.is_success(),
        "the documented example is refused"
    );
    let one = format!("/{NAME}");
    let response = match selector % 6 {
        0 => call(&sim, Method::GET, "", body),
        1 => call(&sim, Method::POST, "", body),
        2 => call(&sim, Method::GET, &one, body),
        3 => call(&sim, Method::PATCH, &one, body),
        4 => call(&sim, Method::DELETE, &one, body),
        _ => call(&sim, Method::GET, &format!("{one}/nodes"), body),
    };
    let Some(response) = response else {
        return;
    };
    if response.status.is_success() && body_json(&response)["kind"] == "NodePool" {
        check_pool(body_json(&response), "answer");
    }
    if let Some(get) = call(&sim, Method::GET, &one, b"") {
        match get.status.as_u16() {
            200 => check_pool(body_json(&get), "pool"),
            404 => {}
            other => panic!("reading the pool back was answered {other}"),
        }
    }
    if let Some(list) = call(&sim, Method::GET, "", b"") {
        assert_eq!(list.status.as_u16(), 200, "listing was refused");
        let value = body_json(&list);
        match HuaweiService::MODELARTS.parse::<NodePoolList>(value.clone(), "pool list") {
            Ok(list) => {
                for pool in &list.items {
                    check_pool(
                        serde_json::to_value(pool).unwrap_or_default(),
                        "listed pool",
                    );
                }
            }
            Err(error) => panic!("the operator cannot read the pool list: {error}\n{value}"),
        }
    }
});
