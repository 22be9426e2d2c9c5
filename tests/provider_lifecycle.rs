//! The cloud clients against the simulator, the same user story on each cloud: create, observe
//! until settled, scale out, scale in, change a mutable setting, find, list, delete, and the
//! not-found and bad-credential answers.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use nodepool_operator::provider::alibaba::SignatureVersion;
use nodepool_operator::provider::retry::RetryPolicy;
use nodepool_operator::provider::{
    CloudError, CountUpdate, DeleteOutcome, DesiredPool, ErrorCategory, NodePoolProvider,
    ObservedPool, PoolPhase, PoolSpec,
};
use nodepool_sim::SimConfig;
use nodepool_wire::signing::Secret;
use support::clients::*;
use support::pools::*;
use support::*;

async fn settled(
    provider: &dyn NodePoolProvider,
    parent: &str,
    id: &str,
    nodes: u32,
) -> ObservedPool {
    wait_for("pool settled", Duration::from_secs(15), || async {
        let pool = provider.get(parent, id).await.unwrap()?;
        (pool.phase == PoolPhase::Ready && pool.current == nodes && pool.ready == nodes)
            .then_some(pool)
    })
    .await
}

/// The user story shared by the three clouds; `change` alters one mutable setting.
async fn lifecycle(
    provider: &dyn NodePoolProvider,
    parent: &str,
    mut desired: DesiredPool,
    change: fn(&mut PoolSpec),
) {
    assert!(
        provider
            .find(parent, &desired.name)
            .await
            .unwrap()
            .is_none()
    );
    let created = provider.create(parent, &desired).await.unwrap();
    assert_eq!(created.name, desired.name);
    assert!(!created.id.is_empty());
    let pool = settled(provider, parent, &created.id, 2).await;
    assert!(
        provider.drift(&desired, &pool).is_empty(),
        "a fresh pool matches its spec: {:?}",
        provider.drift(&desired, &pool)
    );

    provider
        .update(parent, &pool, &desired, CountUpdate::Set(4))
        .await
        .unwrap();
    let pool = settled(provider, parent, &created.id, 4).await;
    provider
        .update(parent, &pool, &desired, CountUpdate::Set(1))
        .await
        .unwrap();
    let pool = settled(provider, parent, &created.id, 1).await;

    change(&mut desired.spec);
    assert!(
        !provider.drift(&desired, &pool).is_empty(),
        "the change is seen as drift"
    );
    provider
        .update(parent, &pool, &desired, CountUpdate::Keep)
        .await
        .unwrap();
    let pool = settled(provider, parent, &created.id, 1).await;
    assert!(
        provider.drift(&desired, &pool).is_empty(),
        "converged: {:?}",
        provider.drift(&desired, &pool)
    );

    let found = provider
        .find(parent, &desired.name)
        .await
        .unwrap()
        .expect("found by name");
    assert_eq!(found.id, created.id);
    let listed = provider.list(parent).await.unwrap();
    assert!(listed.iter().any(|p| p.id == created.id));

    assert!(matches!(
        provider.delete(parent, &created.id).await.unwrap(),
        DeleteOutcome::Started { .. }
    ));
    wait_for("pool gone", Duration::from_secs(15), || async {
        provider
            .get(parent, &created.id)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(
        provider.delete(parent, &created.id).await.unwrap(),
        DeleteOutcome::AlreadyGone
    );
    assert!(provider.get(parent, &created.id).await.unwrap().is_none());
}

fn fast() -> SimConfig {
    SimConfig {
        timing: fast_timing(150, 100),
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn cce_lifecycle() {
    let sim = start(fast()).await;
    let provider = cce(&sim, ak_sk(), transport(RetryPolicy::default()));
    lifecycle(&provider, CLUSTER, cce_pool("story"), |spec| {
        if let PoolSpec::Cce(spec) = spec {
            spec.node_template.as_mut().unwrap().k8s_tags =
                Some(BTreeMap::from([("team".into(), "infra".into())]));
        }
    })
    .await;
    // No update could have scaled the pool to 0 by omission: every PUT says what to do with the count.
    let puts: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.cloud.is_some() && r.operation == "update")
        .collect();
    assert_eq!(puts.len(), 3);
    for put in puts {
        let spec = &put.body.as_ref().unwrap()["spec"];
        assert!(
            spec["initialNodeCount"].is_u64() || spec["ignoreInitialNodeCount"] == true,
            "{spec}"
        );
    }
}

#[tokio::test]
async fn modelarts_lifecycle() {
    let sim = start(fast()).await;
    let provider = modelarts(&sim, ak_sk(), transport(RetryPolicy::default()));
    lifecycle(&provider, RESOURCE_POOL, modelarts_pool("story"), |spec| {
        if let PoolSpec::ModelArts { spec, .. } = spec {
            spec.resources.as_mut().unwrap().labels =
                Some(BTreeMap::from([("team".into(), "infra".into())]));
        }
    })
    .await;
    let patches: Vec<_> = sim
        .requests()
        .into_iter()
        .filter(|r| r.operation == "patch")
        .collect();
    assert!(!patches.is_empty());
}

#[tokio::test]
async fn ens_lifecycle_v3_and_v1() {
    for signature in [SignatureVersion::V3, SignatureVersion::V1] {
        let sim = start(fast()).await;
        let provider = ens(&sim, signature, transport(RetryPolicy::default()));
        lifecycle(&provider, ENS_CLUSTER, ens_pool("story"), |spec| {
            if let PoolSpec::Ens { scaling_group, .. } = spec {
                scaling_group.image_id = Some("m-newimage".into());
            }
        })
        .await;
        let actions: Vec<String> = sim.requests().into_iter().map(|r| r.operation).collect();
        for action in [
            "ScaleClusterNodePool",
            "DeleteClusterNodes",
            "ModifyClusterNodePool",
            "DeleteClusterNodePool",
        ] {
            assert!(
                actions.iter().any(|a| a == action),
                "{action} used with {signature:?}"
            );
        }
    }
}

#[tokio::test]
async fn huawei_token_mode_logs_in_once_and_refreshes_after_expiry() {
    let config = SimConfig {
        token_lifetime: Duration::from_secs(3),
        ..SimConfig::instant()
    };
    let sim = start(config).await;
    let provider = cce(&sim, iam_user(), transport(RetryPolicy::default()));
    provider.list(CLUSTER).await.unwrap();
    provider.list(CLUSTER).await.unwrap();
    let logins = || {
        sim.requests()
            .into_iter()
            .filter(|r| r.operation == "token")
            .count()
    };
    assert_eq!(logins(), 1, "the token is cached");
    // Once the token expires, the next call logs in again by itself.
    wait_for("a fresh login", Duration::from_secs(10), || async {
        provider.list(CLUSTER).await.unwrap();
        (logins() >= 2).then_some(())
    })
    .await;
    let refused = sim
        .requests()
        .into_iter()
        .filter(|r| r.error_code.is_some())
        .count();
    assert!(
        refused <= 1,
        "at most one call meets the expired token before the refresh ({refused})"
    );
}

#[tokio::test]
async fn missing_things_and_bad_credentials() {
    let sim = start_instant().await;
    let good = cce(&sim, ak_sk(), transport(RetryPolicy::default()));
    assert!(good.get(CLUSTER, "no-such-pool").await.unwrap().is_none());
    assert_eq!(
        good.delete(CLUSTER, "no-such-pool").await.unwrap(),
        DeleteOutcome::AlreadyGone
    );
    let missing_cluster = good
        .list("00000000-0000-0000-0000-000000000000")
        .await
        .unwrap_err();
    assert_eq!(missing_cluster.category(), ErrorCategory::NotFound);

    let bad_key = nodepool_operator::provider::huawei::HuaweiCredentials::AccessKey {
        access_key: "SIMHUAWEIAK000000001".into(),
        secret_key: Secret::from("wrong-secret"),
    };
    let error = cce(&sim, bad_key, transport(RetryPolicy::default()))
        .list(CLUSTER)
        .await
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Auth);
    assert_eq!(error.code(), Some("APIG.0303"));
    let bad_user = nodepool_operator::provider::huawei::HuaweiCredentials::Password {
        user: "sim-user".into(),
        password: Secret::from("wrong-password"),
        domain: "sim-domain".into(),
    };
    let error = modelarts(&sim, bad_user, transport(RetryPolicy::default()))
        .list(RESOURCE_POOL)
        .await
        .unwrap_err();
    assert_eq!(error.category(), ErrorCategory::Auth);
    assert!(!error.to_string().contains("wrong-password"));

    let mut account = alibaba_account(&sim, SignatureVersion::V3);
    account.access_key_secret = Secret::from("wrong");
    let provider = nodepool_operator::provider::ens::EnsProvider::new(
        nodepool_operator::provider::alibaba::AlibabaSession::new(
            account,
            transport(RetryPolicy::default()),
        ),
    );
    let error = provider.list(ENS_CLUSTER).await.unwrap_err();
    assert_eq!(
        (error.category(), error.code()),
        (ErrorCategory::Auth, Some("SignatureDoesNotMatch"))
    );
    let ens_ok = ens(
        &sim,
        SignatureVersion::V3,
        transport(RetryPolicy::default()),
    );
    assert!(
        ens_ok
            .get(ENS_CLUSTER, "np-missing")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        ens_ok.delete(ENS_CLUSTER, "np-missing").await.unwrap(),
        DeleteOutcome::AlreadyGone
    );
    let error = ens_ok.list("eck-unknown").await.unwrap_err();
    assert!(matches!(error, CloudError::NotFound { .. }), "{error}");
}
