//! End-to-end: the native signer (`lnd-web-signer connect`, built binary)
//! against the watch-only simulator (`watchonly-sim`, built binary) over TLS
//! on 127.0.0.1: every scenario with every answer verified by the
//! simulator, and the fault cases of docs/testing.md (simulator restarted, stream
//! cut mid-request, simulator not yet listening, wrong macaroon, requests
//! the signer cannot handle, pings during a 10-input SignPsbt burst).
//!
//! Every wait is bounded and every child is killed on drop.

use crate::support::e2e as e2e_support;

use std::time::Duration;

use e2e_support::{attempts, free_port, start_signer, CutProxy, Fixture, SeedSource, Sim};

/// Bound for one scenario run (debug builds on 2 loaded cores).
const RUN: Duration = Duration::from_secs(180);

/// Runs `scenario` with the native signer and asserts every check passed.
fn scenario(scenario: &str, rounds: u32, min_checks: u64, seed: SeedSource, extra: &[&str]) {
    let fx = Fixture::new();
    let rounds = rounds.to_string();
    let mut args = vec![
        "--scenario",
        scenario,
        "--rounds",
        &rounds,
        "--exit-when-done",
        "--startup-timeout",
        "60s",
        "--quiet",
    ];
    if !extra.contains(&"--ping-interval") {
        args.extend_from_slice(&["--ping-interval", "250ms"]);
    }
    args.extend_from_slice(extra);
    let mut sim = Sim::start(&fx, "127.0.0.1:0", &args);
    let signer = start_signer(&fx, &sim.addr, &fx.macaroon(), seed, &[]);
    let passed = sim.assert_passed(scenario, min_checks, RUN);
    let answered = signer.count(|l| l.contains("answered"));
    assert!(
        answered as u64 >= passed,
        "{scenario}: the signer logged {answered} answers for {passed} checks\n{}",
        signer.transcript()
    );
}

#[test]
fn gossip_scenario() {
    scenario("gossip", 2, 12, SeedSource::SeedFile, &[]);
}

#[test]
fn wallet_scenario() {
    scenario("wallet", 2, 10, SeedSource::SeedFile, &[]);
}

#[test]
fn channel_scenario() {
    scenario("channel", 1, 30, SeedSource::SeedFile, &[]);
}

#[test]
fn taproot_channel_scenario() {
    scenario("taproot-channel", 1, 20, SeedSource::SeedFile, &[]);
}

/// The mixed scenario with the seed from a sealed vault (`vault seal`).
#[test]
fn mixed_scenario_from_a_vault() {
    scenario("mixed", 1, 70, SeedSource::Vault, &[]);
}

/// Requests the signer cannot handle: each is answered with `signer_error`
/// and the same stream keeps answering (the scenario checks the simulator's
/// handshake count).
#[test]
fn unhandled_requests_get_signer_error_and_the_stream_stays_up() {
    scenario("errors", 1, 3, SeedSource::SeedFile, &[]);
}

/// A ping during a burst of concurrent 10-input SignPsbt requests is
/// answered within 1 s: the scenario measures its own pings, and the health
/// check (every 100 ms, 1 s timeout, one attempt) would end the simulator
/// with exit code 3 otherwise.
#[test]
fn ping_during_a_ten_input_sign_psbt_burst_within_one_second() {
    scenario(
        "burst",
        2,
        2 * 7,
        SeedSource::SeedFile,
        &[
            "--ping-interval",
            "100ms",
            "--ping-timeout",
            "1s",
            "--ping-attempts",
            "1",
        ],
    );
}

/// The simulator is killed mid-workload and started again on the same
/// address (same tls.cert and macaroon, like a restarted lnd): the signer
/// reconnects by itself and the new run's requests all complete.
#[test]
fn simulator_restarted_mid_stream() {
    let fx = Fixture::new();
    let mut first = Sim::start(
        &fx,
        "127.0.0.1:0",
        &[
            "--scenario",
            "wallet",
            "--rounds",
            "0",
            "--round-interval",
            "50ms",
        ],
    );
    let addr = first.addr.clone();
    let mut signer = start_signer(&fx, &addr, &fx.macaroon(), SeedSource::SeedFile, &[]);
    first
        .proc
        .wait_count(4, RUN, |l| l.starts_with("ok ") || l.starts_with("FAIL "));
    assert_eq!(first.proc.count(|l| l.starts_with("FAIL ")), 0);
    first.proc.kill();

    let mut second = Sim::start(
        &fx,
        &addr,
        &[
            "--scenario",
            "wallet",
            "--rounds",
            "2",
            "--exit-when-done",
            "--startup-timeout",
            "60s",
        ],
    );
    second.assert_passed("wallet after the restart", 10, RUN);
    signer.wait_count(2, Duration::from_secs(5), |l| {
        l.contains("registered with the watch-only node")
    });
    assert!(
        signer.count(|l| l.contains("reconnecting")) >= 1,
        "no reconnect logged\n{}",
        signer.transcript()
    );
}

/// The connection is cut right after a SignPsbt request reached the signer
/// (TCP proxy in between): the simulator keeps the request, the signer
/// reconnects, the request is re-sent with a new id and every check passes.
#[test]
fn stream_cut_mid_request_is_retried_after_the_reconnect() {
    let fx = Fixture::new();
    let mut sim = Sim::start(
        &fx,
        "127.0.0.1:0",
        &[
            "--scenario",
            "wallet",
            "--rounds",
            "3",
            "--exit-when-done",
            "--startup-timeout",
            "60s",
            "--request-timeout",
            "20s",
        ],
    );
    let proxy = CutProxy::start(&sim.addr);
    let rpchost = proxy.addr.to_string();
    let signer = start_signer(&fx, &rpchost, &fx.macaroon(), SeedSource::SeedFile, &[]);
    sim.proc
        .wait_line(RUN, |l| l.contains("signer connected and ready"));
    // Every large chunk from the simulator after the handshake is a SignPsbt
    // request (the wallet scenario sends nothing else; pings are small).
    proxy.cut_after(3, 400);
    sim.assert_passed("wallet across a cut connection", 15, RUN);
    assert_eq!(
        proxy.cuts(),
        1,
        "the proxy did not cut\n{}",
        sim.proc.transcript()
    );
    let (_, resent, handshakes, _) = sim.stats();
    assert!(
        resent >= 1 && handshakes >= 2,
        "want >= 1 re-sent request and >= 2 handshakes, got {resent} and {handshakes}\n{}\n{}",
        sim.proc.transcript(),
        signer.transcript()
    );
}

/// The signer starts before the simulator listens: it retries with growing
/// delays (no storm) and registers once the simulator is up.
#[test]
fn simulator_not_yet_listening_backoff_until_it_is() {
    let fx = Fixture::new();
    fx.pre_create_sim_files();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut signer = start_signer(&fx, &addr, &fx.macaroon(), SeedSource::SeedFile, &[]);
    // Attempts at about 0, 1, 2.5, 4.75 s (1 s × 1.5, jittered).
    std::thread::sleep(Duration::from_secs(5));
    let before = attempts(&signer);
    assert!(
        (2..=6).contains(&before.len()),
        "{} attempts in 5 s while nothing listens (want 2..=6)\n{}",
        before.len(),
        signer.transcript()
    );
    let gaps: Vec<f64> = before.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(
        gaps.iter().all(|g| *g >= 0.4),
        "attempts closer than 0.4 s: {gaps:?}\n{}",
        signer.transcript()
    );
    assert!(
        gaps.windows(2).all(|w| w[1] >= w[0] * 0.9),
        "delays do not grow: {gaps:?}"
    );
    let mut sim = Sim::start(
        &fx,
        &addr,
        &[
            "--scenario",
            "gossip",
            "--exit-when-done",
            "--startup-timeout",
            "60s",
        ],
    );
    sim.assert_passed("gossip after the late start", 6, RUN);
    signer.wait_line(Duration::from_secs(5), |l| {
        l.contains("registered with the watch-only node")
    });
}

/// A wrong macaroon: the simulator refuses the stream with lnd's text, the
/// signer logs exactly that error and retries with backoff (not a storm);
/// with `--once` it exits non-zero with the error.
#[test]
fn wrong_macaroon_is_reported_clearly_without_a_retry_storm() {
    let fx = Fixture::new();
    let mut sim = Sim::start(
        &fx,
        "127.0.0.1:0",
        &["--scenario", "idle", "--startup-timeout", "6s"],
    );
    let wrong = fx.dir().join("wrong.macaroon");
    let mut bytes = vec![0x02u8];
    bytes.extend((1u8..48).map(|i| i.wrapping_mul(37)));
    std::fs::write(&wrong, &bytes).expect("write wrong macaroon");
    assert_ne!(hex::encode(&bytes), fx.macaroon_hex());

    let signer = start_signer(&fx, &sim.addr, &wrong, SeedSource::SeedFile, &[]);
    let code = sim.wait_exit(Duration::from_secs(60));
    assert_eq!(
        code,
        3,
        "no signer registered, so the simulator ends with 3\n{}",
        sim.proc.transcript()
    );
    const LND_TEXT: &str = "verification failed: signature mismatch after caveat verification";
    let errors = signer.count(|l| l.contains("stream attempt failed") && l.contains(LND_TEXT));
    let tries = attempts(&signer).len();
    assert!(
        errors >= 1 && errors <= tries,
        "signer log lacks the macaroon error\n{}",
        signer.transcript()
    );
    assert!(
        (2..=6).contains(&tries),
        "{tries} attempts in about 6 s with a wrong macaroon (want 2..=6)\n{}",
        signer.transcript()
    );
    let (_, _, handshakes, refused) = sim.stats();
    assert_eq!(handshakes, 0);
    assert!(
        refused >= 1 && refused as usize <= tries,
        "refused {refused}"
    );
    drop(signer);

    // `--once`: one attempt, the error on stderr, exit code 1.
    let mut sim = Sim::start(
        &fx,
        "127.0.0.1:0",
        &["--scenario", "idle", "--startup-timeout", "20s"],
    );
    let mut once = start_signer(&fx, &sim.addr, &wrong, SeedSource::SeedFile, &["--once"]);
    let code = once.wait_exit(Duration::from_secs(30));
    assert_ne!(code, 0, "{}", once.transcript());
    assert!(
        once.stderr().iter().any(|l| l.contains(LND_TEXT)),
        "{}",
        once.transcript()
    );
    assert_eq!(attempts(&once).len(), 1);
    sim.proc.kill();
}
