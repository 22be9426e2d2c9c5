//! The cloud clients under stress: injected faults, ENS flow control, and secrets kept out of
//! logs and errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nodepool_operator::provider::alibaba::SignatureVersion;
use nodepool_operator::provider::retry::RetryPolicy;
use nodepool_operator::provider::{CountUpdate, NodePoolProvider};
use nodepool_sim::{Cloud, FaultEffect, FaultRule, SimConfig};
use nodepool_wire::ens;
use support::clients::*;
use support::pools::*;
use support::*;

fn faults(cloud: Cloud, seed: u64) -> SimConfig {
    let rule = |effect| FaultRule {
        cloud: Some(cloud),
        operation: None,
        effect,
        rate: Some(0.1),
        count: None,
    };
    SimConfig {
        fault_seed: seed,
        faults: vec![
            rule(FaultEffect::Error { status: 503 }),
            rule(FaultEffect::Throttle),
            rule(FaultEffect::Drop),
        ],
        ens_limits: nodepool_sim::config::EnsLimits {
            writes_per_second: 1000,
            reads_per_second: 1000,
        },
        ..SimConfig::instant()
    }
}

/// Under about 30% failing calls every operation completes or fails with a classified error,
/// each within the retry policy's time bound.
#[tokio::test]
async fn operations_survive_thirty_percent_faults() {
    let policy = RetryPolicy {
        max_elapsed: Duration::from_secs(5),
        ..RetryPolicy::default()
    };
    let bound = policy.max_elapsed + Duration::from_secs(20 + 2); // last attempt's own timeout
    let sim = start(faults(Cloud::Cce, 11)).await;
    let cce_provider = cce(&sim, ak_sk(), transport(policy));
    let sim_ens = start(faults(Cloud::Ens, 12)).await;
    let ens_provider = ens(&sim_ens, SignatureVersion::V3, transport(policy));

    let mut completed = 0;
    let mut failed = Vec::new();
    for round in 0..8 {
        for (provider, parent, desired) in [
            (
                &cce_provider as &dyn NodePoolProvider,
                CLUSTER,
                cce_pool(&format!("f{round}")),
            ),
            (
                &ens_provider as &dyn NodePoolProvider,
                ENS_CLUSTER,
                ens_pool(&format!("f{round}")),
            ),
        ] {
            let started = Instant::now();
            let result = async {
                let pool = match provider.find(parent, &desired.name).await? {
                    Some(pool) => pool,
                    None => provider.create(parent, &desired).await?,
                };
                let pool = provider.get(parent, &pool.id).await?.unwrap_or(pool);
                provider
                    .update(parent, &pool, &desired, CountUpdate::Set(3))
                    .await?;
                provider.list(parent).await?;
                provider.delete(parent, &pool.id).await.map(drop)
            }
            .await;
            let elapsed = started.elapsed();
            assert!(elapsed < bound * 5, "five calls took {elapsed:?}");
            match result {
                Ok(()) => completed += 1,
                Err(error) => failed.push(error),
            }
        }
    }
    // Retries hide nearly all faults; what gets through is classified as retryable.
    for error in &failed {
        assert!(error.category().is_retryable(), "unexpected {error}");
    }
    assert!(
        completed >= 12,
        "{completed} of 16 stories completed; failures: {failed:?}"
    );
    let injected = sim
        .requests()
        .iter()
        .chain(sim_ens.requests().iter())
        .filter(|r| r.fault.is_some())
        .count();
    assert!(injected >= 10, "only {injected} faults were injected");
}

/// 100 concurrent ENS creates stay under the 10 writes/s flow control: no `Throttling.User`, and
/// the batch takes no longer than 1.25 times the 8/s budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_concurrent_ens_creates_are_never_throttled() {
    let sim = start_instant().await;
    let provider = Arc::new(ens(
        &sim,
        SignatureVersion::V3,
        transport(RetryPolicy::none()),
    ));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let provider = provider.clone();
        tasks.push(tokio::spawn(async move {
            let mut desired = ens_pool(&format!("burst-{i}"));
            if let nodepool_operator::provider::PoolSpec::Ens { scaling_group, .. } =
                &mut desired.spec
            {
                *scaling_group = ens::ScalingGroup {
                    desired_size: Some(0),
                    ..scaling_group.clone()
                };
            }
            provider.create(ENS_CLUSTER, &desired).await
        }));
    }
    for task in tasks {
        task.await
            .unwrap()
            .expect("create succeeds without retries");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let bound = 100.0 / 8.0;
    let ratio = elapsed / bound;
    println!("100 ENS creates: {elapsed:.2} s, {ratio:.3} of the 8/s bound ({bound} s)");
    let throttled = sim
        .requests()
        .iter()
        .filter(|r| r.error_code.as_deref() == Some("Throttling.User"))
        .count();
    assert_eq!(throttled, 0);
    assert_eq!(sim.pools().len(), 100);
    assert!(ratio <= 1.25, "ratio {ratio:.3}");
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Credentials never reach logs or error messages, even at trace level and on failures.
#[tokio::test]
async fn secrets_stay_out_of_logs_and_errors() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let config = SimConfig {
        token_lifetime: Duration::from_millis(300),
        ..SimConfig::instant()
    };
    let sim = start(config).await;
    let mut messages = Vec::new();
    let token_client = modelarts(&sim, iam_user(), transport(RetryPolicy::none()));
    token_client.list(RESOURCE_POOL).await.unwrap();
    let aksk_client = cce(&sim, ak_sk(), transport(RetryPolicy::none()));
    aksk_client
        .create(CLUSTER, &cce_pool("logged"))
        .await
        .unwrap();
    let ens_client = ens(&sim, SignatureVersion::V1, transport(RetryPolicy::none()));
    ens_client
        .create(ENS_CLUSTER, &ens_pool("logged"))
        .await
        .unwrap();
    let mut bad = alibaba_account(&sim, SignatureVersion::V3);
    bad.access_key_secret = nodepool_wire::signing::Secret::from("sim-alibaba-secret-wrong");
    let bad_client = nodepool_operator::provider::ens::EnsProvider::new(
        nodepool_operator::provider::alibaba::AlibabaSession::new(
            bad,
            transport(RetryPolicy::none()),
        ),
    );
    messages.push(bad_client.list(ENS_CLUSTER).await.unwrap_err().to_string());
    let bad_user = nodepool_operator::provider::huawei::HuaweiCredentials::Password {
        user: "sim-user".into(),
        password: nodepool_wire::signing::Secret::from("sim-password-wrong"),
        domain: "sim-domain".into(),
    };
    messages.push(
        cce(&sim, bad_user, transport(RetryPolicy::none()))
            .list(CLUSTER)
            .await
            .unwrap_err()
            .to_string(),
    );
    messages.push(format!("{:?}", iam_user()));
    messages.push(format!("{:?}", alibaba_account(&sim, SignatureVersion::V3)));

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("cloud_call"), "the calls were traced: {logs}");
    // The demo secrets, and the prefix of every token the simulated IAM issues.
    for secret in [
        "sim-huawei-secret-key",
        "sim-password",
        "sim-alibaba-secret",
        "MIIsim",
    ] {
        assert!(!logs.contains(secret), "{secret} appears in the logs");
        for message in &messages {
            assert!(!message.contains(secret), "{secret} appears in {message}");
        }
    }
}
