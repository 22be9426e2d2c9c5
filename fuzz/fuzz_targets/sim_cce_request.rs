//! CCE node-pool operations on the simulator with any JSON body, signed as the operator signs
//! them (SDK-HMAC-SHA256 with the demo AK/SK), after a pool made from the documented create
//! example: every answer is JSON, and whatever state a request leaves, the pool and the list
//! the simulator then serves are read by the operator's CCE client (`observe`), with a spec
//! that reads back as a `NodePoolSpec` (what drift checks parse).
//!
//! Input: one byte choosing the operation (list, create, get, update, delete, scale, job),
//! then the request body (seeds: `tests/fixtures/cce/*-request*.json`).

#![no_main]

use http::Method;
use libfuzzer_sys::fuzz_target;
use nodepool_fuzz::{RawRequest, body_json, new_sim, serve, sign_huawei, split_selector};
use nodepool_operator::provider::cce::observe;
use nodepool_operator::provider::huawei::HuaweiService;
use nodepool_sim::Sim;
use nodepool_sim::config::{DEMO_CCE_CLUSTER_ID, DEMO_HUAWEI_PROJECT_ID};
use nodepool_sim::fuzzing::SimResponse;
use nodepool_wire::cce::{Job, NodePool, NodePoolList, NodePoolSpec};

const CREATE: &[u8] = include_bytes!("../../tests/fixtures/cce/create-request.json");

fn call(sim: &Sim, method: Method, tail: &str, body: &[u8]) -> Option<SimResponse> {
    let mut raw = RawRequest::parse(
        format!("{method} /api/v3/projects/{DEMO_HUAWEI_PROJECT_ID}{tail}\n\n").as_bytes(),
    );
    raw.body = body.to_vec();
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

fn pools() -> String {
    format!("/clusters/{DEMO_CCE_CLUSTER_ID}/nodepools")
}

fn check_pool(value: serde_json::Value, what: &str) {
    let pool: NodePool = match HuaweiService::CCE.parse(value.clone(), what) {
        Ok(pool) => pool,
        Err(error) => panic!("the operator cannot read the simulator's {what}: {error}\n{value}"),
    };
    let observed = observe(&pool);
    if let Err(error) = serde_json::from_value::<NodePoolSpec>(observed.spec.clone()) {
        panic!(
            "an observed spec does not read back: {error}\n{}",
            observed.spec
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let (selector, body) = split_selector(data);
    let sim = new_sim();
    let Some(created) = call(&sim, Method::POST, &pools(), CREATE) else {
        return;
    };
    assert_eq!(
        created.status.as_u16(),
        201,
        "the documented example is refused"
    );
    let id = body_json(&created)["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let one = format!("{}/{id}", pools());
    let response = match selector % 7 {
        0 => call(&sim, Method::GET, &pools(), body),
        1 => call(&sim, Method::POST, &pools(), body),
        2 => call(&sim, Method::GET, &one, body),
        3 => call(&sim, Method::PUT, &one, body),
        4 => call(&sim, Method::DELETE, &one, body),
        5 => call(&sim, Method::POST, &format!("{one}/operation/scale"), body),
        _ => {
            let deleted = call(&sim, Method::DELETE, &one, b"");
            let job = deleted
                .map(|d| {
                    body_json(&d)["status"]["jobId"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned()
                })
                .unwrap_or_default();
            let answer = call(&sim, Method::GET, &format!("/jobs/{job}"), body);
            if let Some(answer) = &answer {
                assert_eq!(
                    answer.status.as_u16(),
                    200,
                    "the job of a deletion is unknown"
                );
                let parsed: Result<Job, _> = HuaweiService::CCE.parse(body_json(answer), "job");
                assert!(
                    parsed.is_ok(),
                    "the wire Job type cannot read a job: {parsed:?}"
                );
            }
            answer
        }
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
    if let Some(list) = call(&sim, Method::GET, &pools(), b"") {
        assert_eq!(list.status.as_u16(), 200, "listing was refused");
        let value = body_json(&list);
        match HuaweiService::CCE.parse::<NodePoolList>(value.clone(), "pool list") {
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
