//! Every watchonly-sim scenario against the real signer
//! (`lnd_web_signer::signer::Signer::handle`) over TLS: the simulator must
//! end with `N passed, 0 failed` and exit code 0.

mod sim_support;

use std::sync::Arc;
use std::time::Duration;

use sim_support::{connect, serve_signer, signer, SimProcess};

async fn run_scenario(scenario: &str, min_checks: u64) {
    let mut sim = SimProcess::start(
        scenario,
        &[
            "--scenario",
            scenario,
            "--network",
            "regtest",
            "--exit-when-done",
            "--ping-interval",
            "300ms",
            "--quiet",
        ],
        true,
    );
    let stream = connect(&sim).await;
    let signer = Arc::new(signer());
    let served = tokio::spawn(serve_signer(stream, signer));
    let code = tokio::task::spawn_blocking(move || {
        let code = sim.wait(Duration::from_secs(120));
        (code, sim)
    })
    .await
    .expect("join");
    let (code, sim) = code;
    let answered = served.await.expect("serve task");
    let (passed, failed) = sim.summary();
    assert_eq!(
        (failed, code),
        (0, 0),
        "scenario {scenario}: {failed} checks failed, exit code {code}\n{}",
        sim.transcript()
    );
    assert!(
        passed >= min_checks,
        "scenario {scenario}: only {passed} checks passed (want >= {min_checks})\n{}",
        sim.transcript()
    );
    assert!(answered as u64 >= passed, "fewer requests than checks");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gossip_scenario_passes_with_the_real_signer() {
    run_scenario("gossip", 6).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wallet_scenario_passes_with_the_real_signer() {
    run_scenario("wallet", 5).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn channel_scenario_passes_with_the_real_signer() {
    run_scenario("channel", 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn taproot_channel_scenario_passes_with_the_real_signer() {
    run_scenario("taproot-channel", 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn mixed_scenario_passes_with_the_real_signer() {
    run_scenario("mixed", 70).await;
}
