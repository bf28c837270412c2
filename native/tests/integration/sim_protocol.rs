//! watchonly-sim follows protocol.md: macaroon check, one signer at a time,
//! handshake checks and texts, request ids from 2 that continue across
//! reconnects, re-send of retryable requests, health pings with their own
//! timeout, the per-request deadline whose miss ends the process, and
//! answers that are verified (wrong ones fail).

use crate::support::sim as sim_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use lnd_web_signer::proto::watchonlyrpc::{
    sign_coordinator_response::SignResponseType as Resp, SignCoordinatorResponse,
};
use sim_support::{
    answer, connect, kind, open_call, open_stream, reconnect, registration, serve, serve_signer,
    signer, SimProcess,
};
use tonic::Code;

const EXIT_FAILED: i32 = 1;
const EXIT_SHUTDOWN: i32 = 3;

async fn wait_exit(sim: SimProcess, timeout: Duration) -> (i32, SimProcess) {
    tokio::task::spawn_blocking(move || {
        let mut sim = sim;
        let code = sim.wait(timeout);
        (code, sim)
    })
    .await
    .expect("join")
}

/// The status a stream opened with `first` ends with. A failed handshake is
/// the call's only answer (trailers-only, no headers first), as grpc-go
/// answers for lnd.
async fn first_error(sim: &SimProcess, first: SignCoordinatorResponse) -> tonic::Status {
    let opened = tokio::time::timeout(
        Duration::from_secs(10),
        open_stream(sim, Some(&sim.macaroon_hex), Some(first)),
    )
    .await
    .expect("the node answers in time");
    match opened {
        Err(status) => status,
        Ok(mut s) => panic!(
            "the node sent headers for a failed handshake (first message: {:?})",
            s.rx.message().await
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn macaroon_is_required_and_checked() {
    let sim = SimProcess::start("mac", &["--scenario", "idle"], false);
    let reg = || Some(registration(1, "outboundSigner"));
    let missing = open_stream(&sim, None, reg()).await.err().expect("refused");
    assert_eq!(missing.code(), Code::Unknown);
    assert_eq!(missing.message(), "expected 1 macaroon, got 0");
    let wrong = open_stream(&sim, Some("0201abcdef"), reg())
        .await
        .err()
        .expect("refused");
    assert_eq!(wrong.code(), Code::Unknown);
    assert!(
        wrong.message().contains("verification failed"),
        "{}",
        wrong.message()
    );
    // The right one gets through the handshake.
    let _ok = connect(&sim).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_errors_use_lnds_texts() {
    let sim = SimProcess::start(
        "hs",
        &["--scenario", "idle", "--request-timeout", "1s"],
        false,
    );

    let st = first_error(&sim, registration(5, "outboundSigner")).await;
    assert_eq!(st.code(), Code::Unknown);
    assert_eq!(
        st.message(),
        "error receiving initial remote signer registration message: initial request ID must be 1, but is: 5"
    );

    let st = first_error(
        &sim,
        SignCoordinatorResponse {
            ref_request_id: 1,
            sign_response_type: Some(Resp::Pong(true)),
        },
    )
    .await;
    assert_eq!(
        st.message(),
        "error receiving initial remote signer registration message: expected registration message, but got: *watchonlyrpc.SignCoordinatorResponse_Pong"
    );

    let st = first_error(&sim, registration(1, "")).await;
    assert_eq!(st.message(), "invalid remote signer registration info");

    // Nothing sent: the handshake window (request timeout) expires, and the
    // node's only answer is that status.
    let start = std::time::Instant::now();
    let st = match tokio::time::timeout(
        Duration::from_secs(10),
        open_stream(&sim, Some(&sim.macaroon_hex), None),
    )
    .await
    {
        Ok(Err(status)) => status,
        Ok(Ok(_)) => panic!("the node sent headers before any registration"),
        Err(_) => panic!("no handshake timeout within 10 s"),
    };
    assert_eq!(st.code(), Code::DeadlineExceeded);
    assert!(start.elapsed() >= Duration::from_millis(900));

    // After all these failures a correct signer is accepted.
    let _ok = connect(&sim).await;
}

/// lnd's handler `Recv`s the registration before its first `Send`
/// (`lnwallet/rpcwallet/sign_coordinator.go`, `handshake`), and grpc-go
/// sends a stream's response headers only with its first message (or with
/// the final status). So a signer that waits for the headers before sending
/// its registration waits until the node's handshake window ends, then gets
/// `DeadlineExceeded` and never a header. The simulator behaves the same;
/// `liveness.rs` checks grpc-go itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_headers_come_only_with_the_registration_answer() {
    let sim = SimProcess::start(
        "hdr",
        &[
            "--scenario",
            "idle",
            "--request-timeout",
            "2s",
            "--ping-interval",
            "0",
        ],
        false,
    );
    // A headers-first client: it opens the call and sends nothing before
    // the headers came.
    let start = std::time::Instant::now();
    let (_tx, rx) = tokio::sync::mpsc::channel(4);
    let call = open_call(&sim, Some(&sim.macaroon_hex), rx);
    tokio::pin!(call);
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), &mut call)
            .await
            .is_err(),
        "the node answered before it had a registration"
    );
    let st = match tokio::time::timeout(Duration::from_secs(10), call).await {
        Ok(Err(status)) => status,
        Ok(Ok(_)) => panic!("headers arrived although no registration was sent"),
        Err(_) => panic!("the node never gave up on the handshake"),
    };
    assert_eq!(st.code(), Code::DeadlineExceeded, "{st:?}");
    assert!(start.elapsed() >= Duration::from_millis(1900));

    // A registration-first client: the headers come right after the
    // registration is sent, with the answer as the first message.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let call = open_call(&sim, Some(&sim.macaroon_hex), rx);
    tokio::pin!(call);
    assert!(
        tokio::time::timeout(Duration::from_millis(700), &mut call)
            .await
            .is_err(),
        "headers before the registration"
    );
    tx.send(registration(1, "outboundSigner"))
        .await
        .expect("send the registration");
    let mut inbound = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("headers in time after the registration")
        .expect("stream accepted");
    let first = tokio::time::timeout(Duration::from_secs(5), inbound.message())
        .await
        .expect("answer in time")
        .expect("no error")
        .expect("a message");
    assert_eq!(first.request_id, 1);
    assert_eq!(kind(&first), "registration_response");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn second_signer_is_refused_while_the_first_stays_up() {
    let sim = SimProcess::start(
        "two",
        &["--scenario", "idle", "--ping-interval", "200ms"],
        false,
    );
    let mut first = connect(&sim).await;
    let second = open_stream(
        &sim,
        Some(&sim.macaroon_hex),
        Some(registration(1, "outboundSigner")),
    )
    .await
    .err()
    .expect("second stream refused");
    assert_eq!(second.code(), Code::Unknown);
    assert_eq!(second.message(), "only one remote signer can be connected");
    // The first one still gets (and answers) pings.
    for _ in 0..2 {
        let req = tokio::time::timeout(Duration::from_secs(5), first.rx.message())
            .await
            .expect("ping in time")
            .expect("no error")
            .expect("message");
        assert_eq!(kind(&req), "ping");
        first
            .tx
            .send(SignCoordinatorResponse {
                ref_request_id: req.request_id,
                sign_response_type: Some(Resp::Pong(true)),
            })
            .await
            .expect("send pong");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ids_continue_across_reconnects_and_retryable_requests_are_resent() {
    let sim = SimProcess::start(
        "ids",
        &[
            "--scenario",
            "gossip",
            "--exit-when-done",
            "--ping-interval",
            "0",
        ],
        true,
    );
    // First connection: take the first request and drop the stream without
    // answering (gossip starts with SignMessage requests, which lnd re-sends).
    let first = connect(&sim).await;
    let dropped = Arc::new(Mutex::new(None));
    let d = dropped.clone();
    let seen1 = serve(first, move |req| {
        *d.lock().expect("lock") = Some(req.clone());
        Err(())
    })
    .await;
    let dropped = dropped.lock().expect("lock").clone().expect("a request");
    assert_eq!(
        dropped.request_id, 2,
        "first request id after the handshake"
    );
    assert_eq!(kind(&dropped), "sign_message");
    assert_eq!(seen1.len(), 1);

    // Second connection: the real signer answers everything.
    let second = reconnect(&sim).await;
    let signer = Arc::new(signer());
    let seen2 = Arc::new(Mutex::new(Vec::new()));
    let log = seen2.clone();
    let s2 = signer.clone();
    let served = tokio::spawn(serve(second, move |req| {
        log.lock().expect("lock").push(req.clone());
        Ok(Some(answer(&s2, req)))
    }));
    let (code, sim) = wait_exit(sim, Duration::from_secs(60)).await;
    let _ = served.await;
    assert_eq!(code, 0, "{}", sim.transcript());
    let (passed, failed) = sim.summary();
    assert_eq!(failed, 0, "{}", sim.transcript());
    assert!(passed >= 6);
    let seen2 = seen2.lock().expect("lock").clone();
    let ids: Vec<u64> = seen2.iter().map(|r| r.request_id).collect();
    assert!(
        ids.iter().all(|&i| i > dropped.request_id),
        "ids must never be reused after a reconnect: {ids:?}"
    );
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "duplicate ids: {ids:?}");
    // The dropped SignMessage came again, with a new id.
    let resent = seen2
        .iter()
        .find(|r| r.sign_request_type == dropped.sign_request_type)
        .expect("the dropped SignMessage was re-sent");
    assert!(resent.request_id > dropped.request_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missed_request_deadline_ends_the_process() {
    let sim = SimProcess::start(
        "deadline",
        &[
            "--scenario",
            "gossip",
            "--request-timeout",
            "1s",
            "--ping-interval",
            "0",
        ],
        true,
    );
    let stream = connect(&sim).await;
    // Never answer.
    let holder = tokio::spawn(serve(stream, |_| Ok(None)));
    let (code, sim) = wait_exit(sim, Duration::from_secs(30)).await;
    holder.abort();
    assert_eq!(code, EXIT_SHUTDOWN, "{}", sim.transcript());
    let out = sim.stdout();
    assert!(
        out.iter()
            .any(|l| l.contains("missed its 1s deadline")
                && l.contains("the real lnd would shut down")),
        "{}",
        sim.transcript()
    );
    let (_, failed) = sim.summary();
    assert!(failed > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_health_ping_ends_the_process() {
    let sim = SimProcess::start(
        "ping",
        &[
            "--scenario",
            "idle",
            "--ping-interval",
            "300ms",
            "--ping-timeout",
            "500ms",
        ],
        false,
    );
    let stream = connect(&sim).await;
    let pings = Arc::new(Mutex::new(0u32));
    let p = pings.clone();
    // Answer the first two pings, then stay silent.
    let holder = tokio::spawn(serve(stream, move |req| {
        let mut n = p.lock().expect("lock");
        *n += 1;
        if *n <= 2 {
            Ok(Some(SignCoordinatorResponse {
                ref_request_id: req.request_id,
                sign_response_type: Some(Resp::Pong(true)),
            }))
        } else {
            Ok(None)
        }
    }));
    let (code, sim) = wait_exit(sim, Duration::from_secs(30)).await;
    holder.abort();
    assert_eq!(code, EXIT_SHUTDOWN, "{}", sim.transcript());
    assert!(*pings.lock().expect("lock") >= 3);
    assert!(
        sim.stdout()
            .iter()
            .any(|l| l.contains("health check") && l.contains("shut down")),
        "{}",
        sim.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pong_false_fails_the_health_check() {
    let sim = SimProcess::start(
        "pongfalse",
        &["--scenario", "idle", "--ping-interval", "200ms"],
        false,
    );
    let stream = connect(&sim).await;
    let holder = tokio::spawn(serve(stream, |req| {
        Ok(Some(SignCoordinatorResponse {
            ref_request_id: req.request_id,
            sign_response_type: Some(Resp::Pong(false)),
        }))
    }));
    let (code, sim) = wait_exit(sim, Duration::from_secs(30)).await;
    holder.abort();
    assert_eq!(code, EXIT_SHUTDOWN, "{}", sim.transcript());
    assert!(
        sim.stderr().iter().any(|l| l.contains("pong=false")),
        "{}",
        sim.transcript()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_from_the_wrong_key_fail_every_check() {
    let sim = SimProcess::start(
        "wrongkey",
        &[
            "--scenario",
            "gossip",
            "--exit-when-done",
            "--ping-interval",
            "0",
        ],
        true,
    );
    let stream = connect(&sim).await;
    // A signer over a different seed: valid signatures, wrong keys.
    let other = lnd_web_signer::keys::RootKey::from_seed_entropy(
        &[0x11; 16],
        lnd_web_signer::keys::Network::Regtest,
    )
    .expect("root");
    let wrong = Arc::new(lnd_web_signer::signer::Signer::new(
        other,
        Box::new(lnd_web_signer::entropy::OsEntropy),
    ));
    let served = tokio::spawn(serve_signer(stream, wrong));
    let (code, sim) = wait_exit(sim, Duration::from_secs(60)).await;
    let _ = served.await;
    assert_eq!(code, EXIT_FAILED, "{}", sim.transcript());
    let (passed, failed) = sim.summary();
    assert_eq!(passed, 0, "{}", sim.transcript());
    assert!(failed >= 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tampered_psbts_and_signer_errors_are_reported() {
    use bitcoin::psbt::Psbt;
    let sim = SimProcess::start(
        "tamper",
        &[
            "--scenario",
            "wallet",
            "--exit-when-done",
            "--ping-interval",
            "0",
        ],
        true,
    );
    let stream = connect(&sim).await;
    let real = Arc::new(signer());
    let count = Arc::new(Mutex::new(0u32));
    let c = count.clone();
    let served = tokio::spawn(serve(stream, move |req| {
        let mut resp = answer(&real, req);
        let mut n = c.lock().expect("lock");
        *n += 1;
        match (*n, &mut resp.sign_response_type) {
            // 1st answer: drop the NON_WITNESS_UTXO of the signed input.
            (1, Some(Resp::SignPsbtResponse(r))) => {
                let mut p = Psbt::deserialize(&r.signed_psbt).expect("signer PSBT parses");
                for i in &mut p.inputs {
                    i.non_witness_utxo = None;
                }
                r.signed_psbt = p.serialize();
            }
            // 2nd answer: a signer error.
            (2, _) => {
                resp.sign_response_type = Some(Resp::SignerError(
                    lnd_web_signer::proto::watchonlyrpc::SignerError {
                        error: "error processing the request in the remote signer: test".into(),
                    },
                ));
            }
            // 3rd answer: wrong member.
            (3, _) => resp.sign_response_type = Some(Resp::Pong(true)),
            _ => {}
        }
        Ok(Some(resp))
    }));
    let (code, sim) = wait_exit(sim, Duration::from_secs(60)).await;
    let _ = served.await;
    assert_eq!(code, EXIT_FAILED, "{}", sim.transcript());
    let (passed, failed) = sim.summary();
    assert_eq!(failed, 3, "{}", sim.transcript());
    assert!(passed >= 2, "{}", sim.transcript());
    let out = sim.stdout().join("\n");
    assert!(out.contains("changed beyond the added signature"), "{out}");
    assert!(
        out.contains("signer error: error processing the request in the remote signer: test"),
        "{out}"
    );
    assert!(out.contains("unexpected response type (got pong)"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn steps_are_redone_after_a_disconnect_during_non_retryable_requests() {
    let sim = SimProcess::start(
        "redo",
        &[
            "--scenario",
            "taproot-channel",
            "--exit-when-done",
            "--ping-interval",
            "0",
        ],
        true,
    );
    // First connection: drop the stream at the first SharedKey or MuSig2
    // request (lnd fails those with "the remote signer is no longer
    // connected"; the workload redoes the step).
    let first = connect(&sim).await;
    let seen1 = serve(first, |req| match kind(req) {
        k if k == "shared_key" || k.starts_with("musig2") => Err(()),
        _ => Ok(None),
    })
    .await;
    assert!(!seen1.is_empty());
    let second = reconnect(&sim).await;
    let served = tokio::spawn(serve_signer(second, Arc::new(signer())));
    let (code, sim) = wait_exit(sim, Duration::from_secs(120)).await;
    let _ = served.await;
    assert_eq!(code, 0, "{}", sim.transcript());
    let (passed, failed) = sim.summary();
    assert_eq!(failed, 0, "{}", sim.transcript());
    assert!(passed >= 20, "{}", sim.transcript());
    assert!(
        sim.stderr().iter().any(|l| l.contains("redoing the step")),
        "{}",
        sim.transcript()
    );
}
