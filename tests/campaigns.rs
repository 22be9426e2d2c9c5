//! Reliability campaigns: the real `nodepool-operator run` process against the real control
//! plane and `nodepool-sim`, under crashes, a long cloud outage, a hostile API server and steady
//! churn, with the invariants read from the simulator's own state and every record scanned for
//! the credentials. Short settings by default (the CI); `NODEPOOL_CAMPAIGN=full` for the
//! figures of `docs/reliability.md`; `NODEPOOL_CAMPAIGN_<KEY>=N` sets one parameter.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use nodepool_sim::FaultEffect;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use support::campaign::{
    Campaign, Expected, History, Member, assert_nothing_doubled, doubled_creates, duplicate_pools,
    fleet, millis, setting, spread, write_result,
};
use support::kube_proxy::{FailRule, KubeProxy};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Create,
    ScaleUp,
    ScaleDown,
    Change,
    Delete,
}

/// Each member's lifecycle, interleaved across members in a seeded random order (each member's
/// own steps stay in order). About two thirds of the members are deleted at the end.
fn schedule(members: &[Member], rng: &mut ChaCha8Rng) -> Vec<(usize, Step)> {
    let mut queues: Vec<Vec<Step>> = members
        .iter()
        .map(|_| {
            let mut steps = vec![Step::Create, Step::ScaleUp, Step::ScaleDown, Step::Change];
            if rng.random_bool(0.67) {
                steps.push(Step::Delete);
            }
            steps.reverse();
            steps
        })
        .collect();
    let mut order = Vec::new();
    loop {
        let open: Vec<usize> = (0..queues.len())
            .filter(|i| !queues[*i].is_empty())
            .collect();
        if open.is_empty() {
            return order;
        }
        let i = open[rng.random_range(0..open.len())];
        let step = queues[i].pop().unwrap();
        order.push((i, step));
    }
}

/// Carries out one step and records what the member should end as.
async fn apply(campaign: &Campaign, member: &Member, step: Step, expected: &mut Expected) {
    match step {
        Step::Create => {
            expected.count = 1;
            campaign.create(member, 1).await;
        }
        Step::ScaleUp | Step::ScaleDown => {
            expected.count = if step == Step::ScaleUp { 3 } else { 2 };
            campaign
                .patch(member, &member.which.count_patch(expected.count))
                .await;
        }
        Step::Change => {
            let marker = format!("chg-{}", member.name);
            campaign.patch(member, &member.change_patch(&marker)).await;
            expected.marker = Some(marker);
        }
        Step::Delete => {
            expected.deleted = true;
            campaign.delete(member).await;
        }
    }
}

/// 1. The crash campaign: the fleet's lifecycles run while the operator is SIGKILLed at random
///    instants and restarted; a share of the cloud's answers are held (the cloud acted, the
///    operator has not heard) or lost, so kills land in the dangerous windows. After each
///    restart no cloud pool is doubled; at the end every NodePool converges within three poll
///    windows of the last kill, none is stuck, none leaked a cloud pool, none was created twice.
#[tokio::test]
async fn crash_campaign_loses_nothing_across_random_kills() {
    let kills = setting("KILLS", 12, 200) as usize;
    let pools = setting("POOLS", 9, 30) as usize;
    let seed = setting("SEED", 1, 1);
    let poll = setting("POLL_SECONDS", 10, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut campaign = Campaign::start("crash", poll, 300, seed).await;
    campaign.add_faults(&[
        (FaultEffect::HoldAnswer { millis: 400 }, 0.10),
        (FaultEffect::HoldAnswer { millis: 1500 }, 0.10),
        (FaultEffect::DropAfterServing, 0.05),
    ]);
    let members = fleet(pools, "");
    let mut expected = vec![Expected::default(); members.len()];
    let order = schedule(&members, &mut rng);
    let mut steps_left = vec![0usize; members.len()];
    for (i, _) in &order {
        steps_left[*i] += 1;
    }
    // When each member's last step was made, and how long it took from there to converge
    // (through whatever kills came after).
    let mut done_at: Vec<Option<Instant>> = vec![None; members.len()];
    let mut waiting = done_at.clone();
    let mut settled_after: Vec<Option<Duration>> = vec![None; members.len()];
    let mut steps = order.into_iter().peekable();
    let mut kills_left = kills;
    let mut kill_times = Vec::new();
    let mut doubled_after_restart = Vec::new();
    let mut history = History::default();
    let started = Instant::now();
    campaign.start_operator();
    while kills_left > 0 || steps.peek().is_some() {
        history.absorb(&campaign.sim);
        // A random instant: 50 ms to 1.5 s after the previous event.
        tokio::time::sleep(Duration::from_millis(rng.random_range(50..1500))).await;
        let kill_now = rng.random_range(0..kills_left + steps.len().max(1)) < kills_left;
        if kill_now {
            campaign.kill_operator();
            kill_times.push(Instant::now());
            kills_left -= 1;
            // Down for up to half a second, then restarted; the cloud's state is checked
            // after every restart.
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..500))).await;
            campaign.start_operator();
            doubled_after_restart.extend(duplicate_pools(&campaign.sim));
        } else if let Some((i, step)) = steps.next() {
            apply(&campaign, &members[i], step, &mut expected[i]).await;
            steps_left[i] -= 1;
            if steps_left[i] == 0 {
                done_at[i] = Some(Instant::now());
                waiting[i] = done_at[i];
            }
        }
        let converged = campaign
            .newly_converged(&members, &expected, &mut waiting, &history.writes)
            .await;
        for (i, after) in converged {
            settled_after[i] = Some(after);
        }
    }
    let last_kill = *kill_times.last().unwrap_or(&started);
    let run = started.elapsed();

    let fleet_expected: Vec<_> = members.iter().cloned().zip(expected.clone()).collect();
    let offset = last_kill.elapsed();
    let deadline = Duration::from_secs(3 * poll).saturating_sub(offset);
    let converging = Instant::now();
    let final_times = campaign
        .converge(&fleet_expected, &mut history, deadline)
        .await;
    let times: Vec<Duration> = final_times.iter().map(|t| *t + offset).collect();
    let after_final_step: Vec<Duration> = settled_after
        .iter()
        .zip(&done_at)
        .zip(&final_times)
        .filter_map(|((settled, done), at_end)| {
            settled.or_else(|| done.map(|d| converging.duration_since(d) + *at_end))
        })
        .collect();
    let since_kill = last_kill.elapsed();
    history.absorb(&campaign.sim);
    let doubled = doubled_creates(&history.writes);
    let held = history.faults.get("HoldAnswer").copied().unwrap_or(0);
    let lost = history.faults.get("DropAfterServing").copied().unwrap_or(0);
    let scan = campaign.assert_no_leak().await;
    let deleted = expected.iter().filter(|e| e.deleted).count();
    write_result(
        "crash",
        &json!({
            "seed": seed,
            "nodepools": pools,
            "deleted": deleted,
            "kills": kill_times.len(),
            "operatorStarts": campaign.starts,
            "runSeconds": run.as_secs_f64(),
            "cloudCalls": history.calls,
            "answersHeld": held,
            "answersLost": lost,
            "duplicatesAfterRestarts": doubled_after_restart.len(),
            "doubledCreates": doubled.len(),
            "convergedAfterLastKillMs": spread(&times),
            "allConvergedAfterLastKillMs": millis(since_kill),
            "convergedAfterFinalStepMs": spread(&after_final_step),
            "pollWindowSeconds": poll,
            "secretScan": scan,
        }),
    );
    assert!(
        doubled_after_restart.is_empty(),
        "{doubled_after_restart:?}"
    );
    assert!(
        doubled.is_empty(),
        "a create carried out twice: {doubled:?}"
    );
    assert!(
        held > 0 && lost > 0,
        "the faults fired: {held} held, {lost} lost"
    );
}

/// The outage's faults on every cloud and operation: about 30% of calls fail or crawl (the
/// rules are tried in turn, so each fires on 7% of what the ones before let through).
fn outage_faults() -> Vec<(FaultEffect, f64)> {
    vec![
        (FaultEffect::Error { status: 503 }, 0.07),
        (FaultEffect::Throttle, 0.07),
        (FaultEffect::Drop, 0.07),
        (FaultEffect::Latency { millis: 3000 }, 0.07),
        (FaultEffect::DropAfterServing, 0.07),
    ]
}

/// Calls per pool per minute the outage may cost at most. A settled pool costs a share of one
/// list per poll window; a failing one retries with a backoff that starts at 2 s, each attempt
/// a few bounded cloud calls: tens per minute. A hot loop costs thousands.
const OUTAGE_CALL_BOUND: f64 = 60.0;

/// 2. The cloud outage soak: with the fleet settled, about 30% of cloud calls fail (5xx,
///    throttling, dropped connections, 3 s latency, answers lost after serving) while every
///    operation goes on (creates, scales, changes, deletes); the calls per pool per minute stay
///    bounded, and once the faults stop every NodePool converges within two poll windows,
///    with no cloud pool doubled or left behind.
#[tokio::test]
async fn outage_soak_stays_bounded_and_converges_after_the_faults_clear() {
    let pools = setting("OUTAGE_POOLS", 9, 30) as usize;
    let outage = Duration::from_secs(setting("OUTAGE_SECONDS", 20, 600));
    let poll = setting("POLL_SECONDS", 10, 10);
    let seed = setting("SEED", 1, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut campaign = Campaign::start("outage", poll, 300, seed).await;
    let members = fleet(pools, "");
    let mut expected = vec![Expected::default(); members.len()];
    let mut history = History::default();
    campaign.start_operator();

    // Settled first: two thirds of the fleet at two nodes.
    let settled = pools * 2 / 3;
    for (member, expected) in members.iter().zip(&mut expected).take(settled) {
        campaign.create(member, 2).await;
        expected.count = 2;
    }
    let before: Vec<_> = members
        .iter()
        .cloned()
        .zip(expected.clone())
        .take(settled)
        .collect();
    campaign
        .converge(&before, &mut history, Duration::from_secs(120))
        .await;

    // The outage, with every operation spread over it: the last third created, every settled
    // pool scaled up and changed, every third settled pool deleted.
    let mut work: Vec<(usize, Step)> = (0..settled)
        .flat_map(|i| [(i, Step::ScaleUp), (i, Step::Change)])
        .chain((settled..pools).map(|i| (i, Step::Create)))
        .collect();
    work.shuffle(&mut rng);
    // Deletes after the member's other steps.
    work.extend((0..settled).step_by(3).map(|i| (i, Step::Delete)));
    campaign.add_faults(&outage_faults());
    let calls_before = {
        history.absorb(&campaign.sim);
        history.calls
    };
    let began = Instant::now();
    let spacing = outage.mul_f64(0.8) / work.len().max(1) as u32;
    // Each operation's time to converge, through the faults: from the operation to the first
    // look that finds its pool converged (a later operation on the same pool restarts it).
    let mut pending: Vec<Option<Instant>> = vec![None; members.len()];
    let mut op_times = Vec::new();
    let mut next = 0;
    while began.elapsed() < outage {
        if let Some((i, step)) = work.get(next)
            && began.elapsed() >= spacing * next as u32
        {
            apply(&campaign, &members[*i], *step, &mut expected[*i]).await;
            pending[*i] = Some(Instant::now());
            next += 1;
        }
        history.absorb(&campaign.sim);
        let converged = campaign
            .newly_converged(&members, &expected, &mut pending, &history.writes)
            .await;
        op_times.extend(converged.into_iter().map(|(_, after)| after));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let unsettled_in_outage = pending.iter().filter(|p| p.is_some()).count();
    campaign.sim.clear_faults();
    history.absorb(&campaign.sim);
    let outage_calls = history.calls - calls_before;
    let per_pool_minute = outage_calls as f64 / pools as f64 / (outage.as_secs_f64() / 60.0);

    let fleet_expected: Vec<_> = members.iter().cloned().zip(expected.clone()).collect();
    let times = campaign
        .converge(&fleet_expected, &mut history, Duration::from_secs(2 * poll))
        .await;
    let doubled = doubled_creates(&history.writes);
    let duplicates = duplicate_pools(&campaign.sim);
    let scan = campaign.assert_no_leak().await;
    write_result(
        "outage",
        &json!({
            "seed": seed,
            "nodepools": pools,
            "outageSeconds": outage.as_secs(),
            "operationsDuringOutage": work.len(),
            "callsDuringOutage": outage_calls,
            "faultsFired": history.faults,
            "callsPerPoolPerMinute": per_pool_minute,
            "operationConvergedDuringOutageMs": spread(&op_times),
            "unconvergedWhenFaultsCleared": unsettled_in_outage,
            "convergedAfterFaultsClearedMs": spread(&times),
            "pollWindowSeconds": poll,
            "doubledCreates": doubled.len(),
            "duplicatePools": duplicates.len(),
            "secretScan": scan,
        }),
    );
    assert_nothing_doubled(&doubled, &duplicates);
    assert!(
        per_pool_minute <= OUTAGE_CALL_BOUND,
        "{per_pool_minute:.1} cloud calls per pool per minute during the outage"
    );
}

/// The API server's misbehaviour, until `stop` is set: every 1-3 s the watch streams are cut;
/// every third time the next re-watches are answered `410 Expired` (a relist); writes of
/// NodePools (finalizer and status) get 429 and 500, reads of CloudAccounts and Secrets 503;
/// and every answer is slowed by 0-300 ms, changing each time.
async fn disturb(
    proxy: std::sync::Arc<KubeProxy>,
    seed: u64,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rounds = 0;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(rng.random_range(1000..3000))).await;
        rounds += 1;
        proxy.cut_watches();
        if rounds % 3 == 0 {
            proxy.expire_watches(rng.random_range(1..=3));
        }
        let fail = |method: &str, resource: &str, status, count| FailRule {
            method: Some(method.into()),
            resource: Some(resource.into()),
            watch: Some(false),
            status,
            count,
            ..FailRule::default()
        };
        proxy.fail(fail("PATCH", "nodepools", 429, rng.random_range(1..=3)));
        proxy.fail(fail("PATCH", "nodepools", 500, rng.random_range(0..=2)));
        proxy.fail(fail("GET", "cloudaccounts", 503, rng.random_range(0..=1)));
        proxy.fail(fail("GET", "secrets", 503, rng.random_range(0..=1)));
        proxy.set_latency(Duration::from_millis(rng.random_range(0..300)));
    }
    rounds
}

/// 3. The hostile API server: the operator talks to the API server through a proxy that cuts
///    its watches every few seconds, forces relists, refuses writes with 429 and 500 and slows
///    every answer. Every count change reaches the cloud before the next one is made (none is
///    lost), no create is carried out twice, and once the API server behaves the status of
///    every NodePool is correct.
#[tokio::test]
async fn hostile_api_server_loses_no_update() {
    let pools = setting("HOSTILE_POOLS", 6, 30) as usize;
    let rounds = setting("HOSTILE_CHANGES", 6, 30) as usize;
    let poll = setting("POLL_SECONDS", 10, 10);
    let seed = setting("SEED", 1, 1);
    let mut campaign = Campaign::start("hostile", poll, 300, seed).await;
    let proxy = std::sync::Arc::new(
        KubeProxy::start(&campaign.cluster.url, &campaign.cluster.ca_pem).await,
    );
    campaign.through(&proxy.url());
    campaign.start_operator();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hostile = tokio::spawn(disturb(proxy.clone(), seed, stop.clone()));

    let members = fleet(pools, "");
    let mut expected = vec![Expected::default(); members.len()];
    let mut history = History::default();
    for (member, expected) in members.iter().zip(&mut expected) {
        campaign.create(member, 1).await;
        expected.count = 1;
    }
    // Each round changes every member's count; each change must reach the cloud before the
    // member's next one is made.
    let counts = [3, 2, 1];
    let mut latencies = Vec::new();
    for round in 0..rounds {
        let count = counts[round % counts.len()];
        let mut changed = Vec::new();
        for (i, member) in members.iter().enumerate() {
            campaign
                .patch(member, &member.which.count_patch(count))
                .await;
            expected[i].count = count;
            changed.push((i, Instant::now()));
        }
        let deadline = Instant::now() + Duration::from_secs(90);
        while !changed.is_empty() {
            let cloud = campaign.sim.pools();
            changed.retain(|(i, at)| {
                let member = &members[*i];
                let reached = cloud.iter().any(|p| {
                    p.cloud == member.cloud()
                        && p.name == member.name
                        && i64::from(p.desired) == count
                });
                if reached {
                    latencies.push(at.elapsed());
                }
                !reached
            });
            let left: Vec<_> = changed.iter().map(|(i, _)| &members[*i].name).collect();
            assert!(
                Instant::now() < deadline,
                "round {round}: the count {count} never reached the cloud for {left:?} (operator log: {})",
                campaign.log.display()
            );
            history.absorb(&campaign.sim);
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    for (i, member) in members.iter().enumerate() {
        apply(&campaign, member, Step::Change, &mut expected[i]).await;
    }
    for (i, member) in members.iter().enumerate().step_by(2) {
        apply(&campaign, member, Step::Delete, &mut expected[i]).await;
    }

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let disturbances = hostile.await.unwrap();
    proxy.clear();
    let fleet_expected: Vec<_> = members.iter().cloned().zip(expected.clone()).collect();
    let times = campaign
        .converge(&fleet_expected, &mut history, Duration::from_secs(3 * poll))
        .await;
    let seen = proxy.requests();
    let refused = seen.iter().filter(|r| r.status >= 400).count();
    let doubled = doubled_creates(&history.writes);
    let duplicates = duplicate_pools(&campaign.sim);
    let scan = campaign.assert_no_leak().await;
    write_result(
        "hostile",
        &json!({
            "seed": seed,
            "nodepools": pools,
            "countChanges": latencies.len(),
            "disturbanceRounds": disturbances,
            "apiRequests": seen.len(),
            "apiAnswersRefusedOrExpired": refused,
            "changeToCloudMs": spread(&latencies),
            "statusCorrectAfterCalmMs": spread(&times),
            "doubledCreates": doubled.len(),
            "duplicatePools": duplicates.len(),
            "secretScan": scan,
        }),
    );
    assert_nothing_doubled(&doubled, &duplicates);
    assert!(disturbances > 0 && refused > 0, "the API server misbehaved");
}

/// 5. The churn soak: the fleet is created, then NodePools are scaled, replaced (deleted and a
///    new one created) at a steady rate; the operator's resident memory, sampled every few
///    seconds after warm-up, stays within 10% of its level after warm-up, and every record is
///    free of the credentials.
#[tokio::test]
async fn churn_soak_holds_memory_flat() {
    let pools = setting("SOAK_POOLS", 60, 1000) as usize;
    let soak = Duration::from_secs(setting("SOAK_SECONDS", 60, 3600));
    let per_second = setting("SOAK_OPS_PER_SECOND", 2, 2);
    let poll = setting("POLL_SECONDS", 10, 10);
    let seed = setting("SEED", 1, 1);
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut campaign = Campaign::start("soak", poll, 300, seed).await;
    // Debug logs of a thousand pools would measure the log, not the operator.
    campaign.log_level = "info";
    campaign.start_operator();
    let mut history = History::default();

    // Every slot holds one live member; a replacement takes the next generation's name.
    let base = fleet(pools, "");
    let mut generation = vec![0usize; pools];
    let name = |i: usize, generation: usize| format!("{}-g{generation}", base[i].name);
    // No orphans here: a replaced pool's cloud pool goes with it, so the cloud's inventory (and
    // with it the size of every list the operator reads) stays level and any growth in memory
    // is the operator's own.
    let mut live: Vec<Member> = (0..pools)
        .map(|i| Member {
            name: name(i, 0),
            orphan: false,
            ..base[i].clone()
        })
        .collect();
    let mut retired: Vec<(Member, Expected)> = Vec::new();
    let mut expected = vec![Expected::default(); pools];
    for (member, expected) in live.iter().zip(&mut expected) {
        campaign.create(member, 1).await;
        expected.count = 1;
    }
    let warm: Vec<_> = live.iter().cloned().zip(expected.clone()).collect();
    campaign
        .converge(
            &warm,
            &mut history,
            Duration::from_secs(60 + pools as u64 / 2),
        )
        .await;

    let cloud_pools_before = campaign.sim.pools().len();
    let operator = campaign.operator.as_ref().unwrap();
    let cpu_before = operator.cpu_seconds().unwrap_or_default();
    let began = Instant::now();
    let warm_up = soak / 5;
    let mut samples: Vec<(f64, u64)> = Vec::new();
    let mut last_sample = Instant::now() - Duration::from_secs(60);
    let mut operations = 0u64;
    while began.elapsed() < soak {
        let at = Duration::from_secs_f64(operations as f64 / per_second as f64);
        tokio::time::sleep(at.saturating_sub(began.elapsed())).await;
        let i = rng.random_range(0..pools);
        if rng.random_bool(0.7) {
            let count = rng.random_range(1..=3);
            campaign
                .patch(&live[i], &live[i].which.count_patch(count))
                .await;
            expected[i].count = count;
        } else {
            campaign.delete(&live[i]).await;
            let gone = Expected {
                deleted: true,
                ..expected[i].clone()
            };
            retired.push((live[i].clone(), gone));
            generation[i] += 1;
            live[i].name = name(i, generation[i]);
            campaign.create(&live[i], 1).await;
            expected[i] = Expected {
                count: 1,
                ..Expected::default()
            };
        }
        operations += 1;
        if last_sample.elapsed() >= Duration::from_secs(5) {
            last_sample = Instant::now();
            history.absorb(&campaign.sim);
            if let Some(rss) = operator.rss_kib() {
                samples.push((began.elapsed().as_secs_f64(), rss));
            }
        }
    }
    let cpu = operator.cpu_seconds().unwrap_or_default() - cpu_before;
    let settled: Vec<_> = live
        .iter()
        .cloned()
        .zip(expected.clone())
        .chain(retired.iter().cloned())
        .collect();
    campaign
        .converge(
            &settled,
            &mut history,
            Duration::from_secs(60 + pools as u64 / 2),
        )
        .await;
    let after_warm_up: Vec<u64> = samples
        .iter()
        .filter(|(t, _)| *t >= warm_up.as_secs_f64())
        .map(|(_, rss)| *rss)
        .collect();
    let level = after_warm_up.first().copied().unwrap_or_default();
    let peak = after_warm_up.iter().copied().max().unwrap_or_default();
    let last = after_warm_up.last().copied().unwrap_or_default();
    let doubled = doubled_creates(&history.writes);
    let scan = campaign.assert_no_leak().await;
    write_result(
        "soak",
        &json!({
            "seed": seed,
            "nodepools": pools,
            "soakSeconds": soak.as_secs(),
            "operations": operations,
            "replaced": retired.len(),
            "cloudCalls": history.calls,
            "operatorCpuSecondsDuringChurn": cpu,
            "cloudPools": {"afterWarmUp": cloud_pools_before, "atEnd": campaign.sim.pools().len()},
            "rssKiB": {
                "afterWarmUp": level,
                "peak": peak,
                "last": last,
                "peakOverLevel": peak as f64 / level.max(1) as f64,
                "samples": samples,
            },
            "doubledCreates": doubled.len(),
            "secretScan": scan,
        }),
    );
    assert!(
        doubled.is_empty(),
        "a create carried out twice: {doubled:?}"
    );
    assert!(
        after_warm_up.len() >= 3,
        "RSS sampled {} times",
        after_warm_up.len()
    );
    assert!(
        peak as f64 <= level as f64 * 1.10,
        "operator RSS rose from {level} KiB after warm-up to {peak} KiB"
    );
}
