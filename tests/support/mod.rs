//! Shared helpers of the simulator tests: start a simulator on a free port, sign requests the
//! way each cloud expects, wait on conditions with a deadline.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod campaign;
pub mod cluster;
pub mod kube_proxy;
pub mod operator;
pub mod scale;

use std::future::Future;
use std::time::Duration;

use chrono::Utc;
use http::{HeaderMap, HeaderValue};
use nodepool_sim::config::{self, SimConfig, Timing};
use nodepool_sim::{RecordedRequest, RunningSim};
use nodepool_wire::signing::{Secret, alibaba, huawei};
use serde_json::Value;
use sha2::Digest;

pub const PROJECT: &str = config::DEMO_HUAWEI_PROJECT_ID;
pub const CLUSTER: &str = config::DEMO_CCE_CLUSTER_ID;
pub const RESOURCE_POOL: &str = config::DEMO_MODELARTS_POOL;
pub const ENS_CLUSTER: &str = config::DEMO_ENS_CLUSTER_ID;

pub fn cce_base() -> String {
    format!("/api/v3/projects/{PROJECT}/clusters/{CLUSTER}/nodepools")
}

pub fn modelarts_base() -> String {
    format!("/v2/{PROJECT}/pools/{RESOURCE_POOL}/nodepools")
}

/// The path of a workspace binary (`nodepool-sim`, `nodepool-dev`), built first if it is missing
/// or stale, with the profile of the running test (the way `CARGO_BIN_EXE_*` does for the
/// binaries of the package under test). Built at most once per test process.
pub fn workspace_binary(package: &str) -> std::path::PathBuf {
    static BUILT: std::sync::Mutex<Vec<(String, std::path::PathBuf)>> =
        std::sync::Mutex::new(Vec::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, path)) = built.iter().find(|(name, _)| name == package) {
        return path.clone();
    }
    let run = escargot::CargoBuild::new()
        .manifest_path(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .package(package)
        .bin(package)
        .current_release()
        .run()
        .unwrap_or_else(|e| panic!("cannot build the {package} binary: {e}"));
    let path = run.path().to_path_buf();
    built.push((package.to_owned(), path.clone()));
    path
}

/// Waits for `child` to exit, at most `deadline`: its status, or `None` if it still runs.
/// `nodepool-operator run` without leader election on `kubeconfig`, with `args`, none of the
/// caller's log settings, and stdin and stdout closed (stderr is the caller's to set).
pub fn operator_run(kubeconfig: &std::path::Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_nodepool-operator"));
    command
        .args(["run", "--leader-election=false"])
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("RUST_LOG")
        .env_remove("NODEPOOL_LOG")
        .env_remove("NODEPOOL_LOG_JSON")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    command
}

pub fn wait_exit(
    child: &mut std::process::Child,
    deadline: Duration,
) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A simulator whose nodes are ready at once.
pub async fn start_instant() -> RunningSim {
    start(SimConfig::instant()).await
}

pub async fn start(config: SimConfig) -> RunningSim {
    RunningSim::start(config, "127.0.0.1:0")
        .await
        .expect("simulator starts")
}

pub fn fast_timing(ready_ms: u64, delete_ms: u64) -> Timing {
    Timing {
        node_ready_after: Duration::from_millis(ready_ms),
        node_delete_after: Duration::from_millis(delete_ms),
    }
}

/// Polls `check` until it returns `Some`, failing the test after `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = tokio::time::Instant::now();
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A decoded answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The error code of any cloud's error body.
    pub fn code(&self) -> Option<&str> {
        ["errorCode", "error_code", "Code"]
            .iter()
            .find_map(|k| self.body[*k].as_str())
    }
}

/// A minimal signing client for the simulator's three APIs.
#[derive(Clone)]
pub struct TestClient {
    pub base: String,
    pub http: reqwest::Client,
    pub huawei_ak: String,
    pub huawei_sk: Secret,
    pub alibaba_id: String,
    pub alibaba_secret: Secret,
}

impl TestClient {
    pub fn new(sim: &RunningSim) -> Self {
        Self {
            base: sim.url(),
            http: reqwest::Client::new(),
            huawei_ak: config::DEMO_HUAWEI_ACCESS_KEY.into(),
            huawei_sk: Secret::from(config::DEMO_HUAWEI_SECRET_KEY),
            alibaba_id: config::DEMO_ALIBABA_ACCESS_KEY_ID.into(),
            alibaba_secret: Secret::from(config::DEMO_ALIBABA_ACCESS_KEY_SECRET),
        }
    }

    async fn decode(response: reqwest::Response) -> Answer {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| {
            panic!(
                "status {status}: body is not JSON: {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Headers of a Huawei request signed with AK/SK at `date`.
    pub fn huawei_headers(
        &self,
        method: &str,
        path_and_query: &str,
        body: &[u8],
        date: chrono::DateTime<Utc>,
        content_type: &str,
    ) -> HeaderMap {
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let host = self.base.trim_start_matches("http://").to_owned();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_str(&host).unwrap());
        headers.insert("content-type", HeaderValue::from_str(content_type).unwrap());
        headers.insert(
            "x-sdk-date",
            HeaderValue::from_str(&huawei::sdk_date(date)).unwrap(),
        );
        let signable = huawei::SignableRequest {
            method,
            path,
            query,
            headers: &headers,
            body,
        };
        let signature = huawei::sign(&signable, &self.huawei_ak, &self.huawei_sk).expect("sign");
        headers.insert(
            "authorization",
            HeaderValue::from_str(&signature.authorization).unwrap(),
        );
        headers
    }

    /// A Huawei request signed with AK/SK.
    pub async fn huawei(&self, method: &str, path_and_query: &str, body: Option<&Value>) -> Answer {
        self.huawei_with(method, path_and_query, body, "application/json")
            .await
    }

    pub async fn huawei_with(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&Value>,
        content_type: &str,
    ) -> Answer {
        let bytes = body
            .map(|b| serde_json::to_vec(b).unwrap())
            .unwrap_or_default();
        let headers = self.huawei_headers(method, path_and_query, &bytes, Utc::now(), content_type);
        self.send(method, path_and_query, headers, bytes).await
    }

    /// Sends prepared headers and body as they are.
    pub async fn send(
        &self,
        method: &str,
        path_and_query: &str,
        headers: HeaderMap,
        body: Vec<u8>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut headers = headers;
        headers.remove("host");
        let response = self
            .http
            .request(method, format!("{}{}", self.base, path_and_query))
            .headers(headers)
            .body(body)
            .send()
            .await
            .expect("request reaches the simulator");
        Self::decode(response).await
    }

    /// A Huawei request carrying an IAM token.
    pub async fn huawei_token(
        &self,
        token: &str,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self
            .http
            .request(method, format!("{}{}", self.base, path))
            .header("x-auth-token", token);
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::decode(request.send().await.expect("request")).await
    }

    /// IAM password login; returns the token on success.
    pub async fn iam_login(
        &self,
        user: &str,
        password: &str,
        domain: &str,
        project: &str,
    ) -> (Answer, Option<String>) {
        let body = serde_json::json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "password": password, "domain": {"name": domain}}}},
            "scope": {"project": {"name": project}}}});
        let response = self
            .http
            .post(format!("{}/v3/auth/tokens", self.base))
            .json(&body)
            .send()
            .await
            .expect("iam");
        let token = response
            .headers()
            .get("x-subject-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (Self::decode(response).await, token)
    }

    /// The business parameters plus the V1 envelope, signed.
    pub fn ens_v1_params(
        &self,
        action: &str,
        params: &[(&str, &str)],
        timestamp: chrono::DateTime<Utc>,
        nonce: &str,
    ) -> Vec<(String, String)> {
        let mut all: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        for (k, v) in [
            ("Action", action.to_owned()),
            ("Version", "2017-11-10".to_owned()),
            ("Format", "JSON".to_owned()),
            ("AccessKeyId", self.alibaba_id.clone()),
            ("SignatureMethod", "HMAC-SHA1".to_owned()),
            ("SignatureVersion", "1.0".to_owned()),
            ("SignatureNonce", nonce.to_owned()),
            ("Timestamp", alibaba::alibaba_timestamp(timestamp)),
        ] {
            all.push((k.to_owned(), v));
        }
        alibaba::v1_sign_params("POST", &mut all, &self.alibaba_secret);
        all
    }

    /// An ENS call signed with V1 (parameters in the query string).
    pub async fn ens_v1(&self, action: &str, params: &[(&str, &str)]) -> Answer {
        let all = self.ens_v1_params(
            action,
            params,
            Utc::now(),
            &uuid::Uuid::new_v4().to_string(),
        );
        self.ens_raw_query(&all).await
    }

    pub async fn ens_raw_query(&self, all: &[(String, String)]) -> Answer {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(all)
            .finish();
        let response = self
            .http
            .post(format!("{}/?{}", self.base, query))
            .send()
            .await
            .expect("ens");
        Self::decode(response).await
    }

    /// Headers of an ENS V3 call with the given business parameters (query) and empty body.
    pub fn ens_v3_headers(
        &self,
        action: &str,
        params: &[(String, String)],
        date: chrono::DateTime<Utc>,
        nonce: &str,
    ) -> HeaderMap {
        let host = self.base.trim_start_matches("http://").to_owned();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_str(&host).unwrap());
        headers.insert("x-acs-action", HeaderValue::from_str(action).unwrap());
        headers.insert("x-acs-version", HeaderValue::from_static("2017-11-10"));
        headers.insert(
            "x-acs-date",
            HeaderValue::from_str(&alibaba::alibaba_timestamp(date)).unwrap(),
        );
        headers.insert(
            "x-acs-signature-nonce",
            HeaderValue::from_str(nonce).unwrap(),
        );
        headers.insert(
            "x-acs-content-sha256",
            HeaderValue::from_str(&hex::encode(sha2::Sha256::digest(b""))).unwrap(),
        );
        let signature = alibaba::v3_sign(
            "POST",
            "/",
            params,
            &headers,
            &self.alibaba_id,
            &self.alibaba_secret,
        )
        .expect("v3 sign");
        headers.insert(
            "authorization",
            HeaderValue::from_str(&signature.authorization).unwrap(),
        );
        headers
    }

    /// An ENS call signed with V3 (the SDK default).
    pub async fn ens(&self, action: &str, params: &[(&str, &str)]) -> Answer {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let headers = self.ens_v3_headers(
            action,
            &params,
            Utc::now(),
            &uuid::Uuid::new_v4().simple().to_string(),
        );
        self.ens_v3_send(&params, headers).await
    }

    pub async fn ens_v3_send(&self, params: &[(String, String)], headers: HeaderMap) -> Answer {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        self.send("POST", &format!("/?{query}"), headers, Vec::new())
            .await
    }

    /// `GET /_sim/requests`.
    pub async fn recorded(&self) -> Vec<RecordedRequest> {
        let response = self
            .http
            .get(format!("{}/_sim/requests", self.base))
            .send()
            .await
            .expect("admin");
        response.json().await.expect("requests json")
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(body) = body {
            request = request.json(&body);
        }
        Self::decode(request.send().await.expect("admin")).await
    }
}

/// Reads a fixture of the project's `tests/fixtures` folder.
pub fn fixture(path: &str) -> Value {
    let full = format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{full}: {e}"))
}

/// Cloud clients pointed at a simulator with its demo identities.
pub mod clients {
    use nodepool_operator::provider::alibaba::{AlibabaAccount, AlibabaSession, SignatureVersion};
    use nodepool_operator::provider::budget::Budget;
    use nodepool_operator::provider::cce::CceProvider;
    use nodepool_operator::provider::ens::EnsProvider;
    use nodepool_operator::provider::huawei::{HuaweiAccount, HuaweiCredentials, HuaweiSession};
    use nodepool_operator::provider::modelarts::ModelArtsProvider;
    use nodepool_operator::provider::retry::RetryPolicy;
    use nodepool_operator::provider::transport::{Timeouts, Transport};
    use nodepool_sim::RunningSim;
    use nodepool_sim::config;
    use nodepool_wire::signing::Secret;

    pub fn transport(retry: RetryPolicy) -> Transport {
        Transport::new(Timeouts::default(), retry).unwrap()
    }

    pub fn huawei_account(sim: &RunningSim, credentials: HuaweiCredentials) -> HuaweiAccount {
        HuaweiAccount {
            credentials,
            project_id: config::DEMO_HUAWEI_PROJECT_ID.into(),
            region: config::DEMO_HUAWEI_PROJECT_NAME.into(),
            iam_endpoint: sim.url().parse().unwrap(),
            budget: Budget {
                per_second: 1000.0,
                burst: 100,
            },
        }
    }

    pub fn ak_sk() -> HuaweiCredentials {
        HuaweiCredentials::AccessKey {
            access_key: config::DEMO_HUAWEI_ACCESS_KEY.into(),
            secret_key: Secret::from(config::DEMO_HUAWEI_SECRET_KEY),
        }
    }

    pub fn iam_user() -> HuaweiCredentials {
        HuaweiCredentials::Password {
            user: config::DEMO_IAM_USER.into(),
            password: Secret::from(config::DEMO_IAM_PASSWORD),
            domain: config::DEMO_IAM_DOMAIN.into(),
        }
    }

    pub fn cce(
        sim: &RunningSim,
        credentials: HuaweiCredentials,
        transport: Transport,
    ) -> CceProvider {
        let session = HuaweiSession::new(huawei_account(sim, credentials), transport);
        CceProvider::new(session, sim.url().parse().unwrap())
    }

    pub fn modelarts(
        sim: &RunningSim,
        credentials: HuaweiCredentials,
        transport: Transport,
    ) -> ModelArtsProvider {
        let session = HuaweiSession::new(huawei_account(sim, credentials), transport);
        ModelArtsProvider::new(session, sim.url().parse().unwrap())
    }

    pub fn alibaba_account(sim: &RunningSim, signature: SignatureVersion) -> AlibabaAccount {
        AlibabaAccount {
            access_key_id: config::DEMO_ALIBABA_ACCESS_KEY_ID.into(),
            access_key_secret: Secret::from(config::DEMO_ALIBABA_ACCESS_KEY_SECRET),
            endpoint: sim.url().parse().unwrap(),
            signature,
            write_budget: Budget::ENS_WRITES,
            read_budget: Budget::ENS_READS,
        }
    }

    pub fn ens(sim: &RunningSim, signature: SignatureVersion, transport: Transport) -> EnsProvider {
        EnsProvider::new(AlibabaSession::new(
            alibaba_account(sim, signature),
            transport,
        ))
    }
}

/// Declared pools used by the client tests.
pub mod pools {
    use std::collections::BTreeMap;

    use nodepool_operator::provider::{DesiredPool, PoolSpec};
    use nodepool_wire::{cce, ens, modelarts};

    pub fn cce_pool(name: &str) -> DesiredPool {
        let template = cce::NodeTemplate {
            flavor: Some("s6.large.2".into()),
            az: Some("cn-north-4a".into()),
            login: Some(cce::Login {
                ssh_key: Some("kp".into()),
                ..Default::default()
            }),
            root_volume: Some(cce::Volume {
                volumetype: Some("SATA".into()),
                size: Some(40),
                ..Default::default()
            }),
            k8s_tags: Some(BTreeMap::from([("team".to_owned(), "ml".to_owned())])),
            ..Default::default()
        };
        DesiredPool {
            name: name.into(),
            spec: PoolSpec::Cce(cce::NodePoolSpec {
                node_template: Some(template),
                initial_node_count: Some(2),
                ..Default::default()
            }),
        }
    }

    pub fn modelarts_pool(name: &str) -> DesiredPool {
        let resources = modelarts::Resources {
            flavor: Some("modelarts.vm.2u4g.dcc".into()),
            count: Some(2),
            max_count: Some(2),
            ..Default::default()
        };
        DesiredPool {
            name: name.into(),
            spec: PoolSpec::ModelArts {
                spec: modelarts::NodePoolSpec {
                    resources: Some(resources),
                    ..Default::default()
                },
                annotations: BTreeMap::new(),
            },
        }
    }

    pub fn ens_pool(name: &str) -> DesiredPool {
        DesiredPool {
            name: name.into(),
            spec: PoolSpec::Ens {
                scaling_group: ens::ScalingGroup {
                    image_id: Some("m-6734fzvcwcv2o8jj201cpa7ox".into()),
                    instance_types: Some(vec!["ens.sn1.small".into()]),
                    vswitch_ids: Some(vec!["vsw-58eu2p6v64qw8ihhit1wz7wgv".into()]),
                    desired_size: Some(2),
                    instance_charge_type: Some("PostPaid".into()),
                    key_pair_name: Some("kp".into()),
                    system_disk_size: Some(40),
                    ..Default::default()
                },
                kubernetes_config: None,
            },
        }
    }
}

/// Creates a manifest (Secret, CloudAccount or NodePool) in `namespace`.
pub async fn create_manifest(
    client: &kube::Client,
    namespace: &str,
    manifest: Value,
) -> Result<(), kube::Error> {
    use kube::discovery::ApiResource;
    let resource = match manifest["kind"].as_str().unwrap_or_default() {
        "Secret" => ApiResource::erase::<k8s_openapi::api::core::v1::Secret>(&()),
        "CloudAccount" => ApiResource::erase::<nodepool_operator::api::CloudAccount>(&()),
        "NodePool" => ApiResource::erase::<nodepool_operator::api::NodePool>(&()),
        other => panic!("unexpected kind {other}"),
    };
    let api: kube::Api<kube::api::DynamicObject> =
        kube::Api::namespaced_with(client.clone(), namespace, &resource);
    let object: kube::api::DynamicObject = serde_json::from_value(manifest).expect("a manifest");
    api.create(&kube::api::PostParams::default(), &object)
        .await
        .map(drop)
}

/// Manifests of `deploy/samples/`, pointed at the simulator at `sim_url`.
pub fn sample(file: &str, sim_url: &str) -> Vec<Value> {
    let path = format!("{}/deploy/samples/{file}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("http://127.0.0.1:8787", sim_url);
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).unwrap())
        .collect()
}
