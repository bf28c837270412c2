//! `connect` against an in-process fake watch-only node: a tonic server on
//! 127.0.0.1:0 with an lnd-like self-signed CA certificate. The test plays
//! the node's side of each stream by hand.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use lnd_web_signer::proto::signrpc::SignMessageResp;
use lnd_web_signer::proto::walletrpc::{SignPsbtRequest, SignPsbtResponse};
use lnd_web_signer::proto::watchonlyrpc::registration_response::RegistrationResponseType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
use lnd_web_signer::request::{Op, Work};
use lnd_web_signer::session::{Backoff, SessionError};
use lnd_web_signer_native::connect::{self, ConnectConfig, ConnectError, Handler};
use lnd_web_signer_native::tls::DialError;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::Status;

use crate::support::connect as connect_support;
use connect_support::*;

/// Stand-in signing core: "signs" a message by reversing it, echoes PSBT sizes.
fn echo_handler() -> Handler {
    Arc::new(|work: &Work| {
        let member = match &work.op {
            Op::SignMessage(m) => SignResponseType::SignMessageResp(SignMessageResp {
                signature: m.msg.iter().rev().copied().collect(),
            }),
            Op::SignPsbt(p) => SignResponseType::SignPsbtResponse(SignPsbtResponse {
                signed_psbt: (p.funded_psbt.len() as u64).to_be_bytes().to_vec(),
                signed_inputs: vec![],
            }),
            _ => SignResponseType::SignerError(lnd_web_signer::proto::watchonlyrpc::SignerError {
                error: "not supported by the test handler".into(),
            }),
        };
        SignCoordinatorResponse {
            ref_request_id: work.id,
            sign_response_type: Some(member),
        }
    })
}

fn config(node: &Node, tls: &Tls) -> ConnectConfig {
    let mut cfg = ConnectConfig::new(
        node.addr.to_string(),
        tls.cert_pem.as_bytes().to_vec(),
        MACAROON.to_vec(),
    );
    cfg.backoff = Backoff::with_limits(Duration::from_millis(50), Duration::from_millis(200));
    cfg
}

/// Runs the signer in the background; the returned sender stops it.
fn spawn_signer(
    cfg: ConnectConfig,
    handler: Handler,
) -> (oneshot::Sender<()>, JoinHandle<Result<(), ConnectError>>) {
    let (stop, stop_rx) = oneshot::channel::<()>();
    let task = tokio::spawn(connect::run(cfg, handler, async {
        let _ = stop_rx.await;
    }));
    (stop, task)
}

async fn finish(
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), ConnectError>>,
) -> Result<(), ConnectError> {
    let _ = stop.send(());
    tokio::time::timeout(STEP, task)
        .await
        .expect("signer stopped in time")
        .expect("signer task did not panic")
}

// ---------------------------------------------------------------- tests

#[tokio::test]
async fn registration_first_then_ping_and_sign_message_round_trip() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let (stop, task) = spawn_signer(config(&node, &tls), echo_handler());

    let mut conn = node.accept().await;
    assert_eq!(
        conn.macaroon.as_deref(),
        Some("0201abcdef7f"),
        "macaroon must be sent as lower-case hex in `macaroon` metadata"
    );
    conn.handshake().await;

    conn.send(ping(2)).await;
    expect_pong(&conn.recv().await, 2);

    conn.send(sign_message(3, b"hello")).await;
    let resp = conn.recv().await;
    assert_eq!(resp.ref_request_id, 3);
    assert_eq!(signature_of(&resp), b"olleh");

    // Unset member: signer_error, stream stays up.
    conn.send(SignCoordinatorRequest {
        request_id: 4,
        sign_request_type: None,
    })
    .await;
    let resp = conn.recv().await;
    assert_eq!(resp.ref_request_id, 4);
    match resp.sign_response_type {
        Some(SignResponseType::SignerError(e)) => {
            assert!(
                e.error.contains("unimplemented request by watch-only node"),
                "{}",
                e.error
            )
        }
        other => panic!("expected signer_error, got {other:?}"),
    }

    // Duplicate request id (a retry): answered again.
    conn.send(sign_message(3, b"hello")).await;
    let resp = conn.recv().await;
    assert_eq!(
        (resp.ref_request_id, signature_of(&resp)),
        (3, &b"olleh"[..])
    );

    conn.send(ping(5)).await;
    expect_pong(&conn.recv().await, 5);

    finish(stop, task).await.expect("clean shutdown");
    // Our side of the stream is closed on shutdown.
    let end = tokio::time::timeout(STEP, conn.inbound.message())
        .await
        .expect("stream ended in time");
    assert!(
        !matches!(end, Ok(Some(_))),
        "no further messages after shutdown"
    );
}

/// A gate that blocks handler threads until the test opens it and counts
/// how many handlers are waiting.
#[derive(Default)]
struct Gate {
    state: Mutex<(bool, u32)>,
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut st = self.state.lock().expect("gate lock");
        st.1 += 1;
        self.cv.notify_all();
        while !st.0 {
            st = self.cv.wait(st).expect("gate wait");
        }
    }

    fn open(&self) {
        let mut st = self.state.lock().expect("gate lock");
        st.0 = true;
        self.cv.notify_all();
    }

    /// Blocks (on a blocking thread) until `n` handlers are waiting.
    async fn waiting(self: &Arc<Self>, n: u32) {
        let me = Arc::clone(self);
        let wait = tokio::task::spawn_blocking(move || {
            let mut st = me.state.lock().expect("gate lock");
            while st.1 < n {
                st = me.cv.wait(st).expect("gate wait");
            }
        });
        tokio::time::timeout(STEP, wait)
            .await
            .expect("handlers entered in time")
            .expect("waiter did not panic");
    }
}

#[tokio::test]
async fn pings_and_requests_are_not_blocked_by_slow_signing() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let gate = Arc::new(Gate::default());
    let inner = echo_handler();
    let g = Arc::clone(&gate);
    let handler: Handler = Arc::new(move |work: &Work| {
        g.wait();
        inner(work)
    });
    let (stop, task) = spawn_signer(config(&node, &tls), handler);
    let mut conn = node.accept().await;
    conn.handshake().await;

    // Two slow requests in flight at the same time...
    conn.send(sign_message(2, b"first")).await;
    conn.send(sign_message(3, b"second")).await;
    gate.waiting(2).await;
    // ...and a ping is still answered at once.
    conn.send(ping(4)).await;
    expect_pong(&conn.recv().await, 4);

    gate.open();
    let mut answered = [conn.recv().await, conn.recv().await];
    answered.sort_by_key(|r| r.ref_request_id);
    assert_eq!(answered[0].ref_request_id, 2);
    assert_eq!(signature_of(&answered[0]), b"tsrif");
    assert_eq!(answered[1].ref_request_id, 3);
    assert_eq!(signature_of(&answered[1]), b"dnoces");

    finish(stop, task).await.expect("clean shutdown");
}

#[tokio::test]
async fn reconnects_after_the_node_drops_the_stream_and_keeps_handler_state() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    // State that must survive reconnects (like MuSig2 sessions): a counter.
    let calls = Arc::new(AtomicU32::new(0));
    let c = Arc::clone(&calls);
    let handler: Handler = Arc::new(move |work: &Work| {
        let n = c.fetch_add(1, Ordering::SeqCst) + 1;
        SignCoordinatorResponse {
            ref_request_id: work.id,
            sign_response_type: Some(SignResponseType::SignMessageResp(SignMessageResp {
                signature: vec![u8::try_from(n).expect("few calls")],
            })),
        }
    });
    let (stop, task) = spawn_signer(config(&node, &tls), handler);

    let mut first = node.accept().await;
    first.handshake().await;
    first.send(sign_message(2, b"a")).await;
    assert_eq!(signature_of(&first.recv().await), [1]);
    // The node ends the stream (as on a restart of its listener).
    drop(first);

    let dropped = tokio::time::Instant::now();
    let mut second = node.accept().await;
    // Backoff after a registered session: the initial delay minus at most 20 % jitter.
    assert!(
        dropped.elapsed() >= Duration::from_millis(40),
        "reconnected without backoff"
    );
    second.handshake().await;
    second.send(sign_message(3, b"b")).await;
    assert_eq!(
        signature_of(&second.recv().await),
        [2],
        "handler state survived"
    );

    // A rejected registration ends that attempt; the signer tries again.
    drop(second);
    let mut third = node.accept().await;
    let _registration = third.recv().await;
    third
        .send(registration(RegistrationResponseType::RegistrationError(
            "not now".into(),
        )))
        .await;
    let mut fourth = node.accept().await;
    fourth.handshake().await;
    fourth.send(ping(4)).await;
    expect_pong(&fourth.recv().await, 4);

    // An error status from the node also leads to a reconnect.
    fourth
        .outbound
        .send(Err(Status::unknown(
            "only one remote signer can be connected",
        )))
        .await
        .expect("stream open");
    let mut fifth = node.accept().await;
    fifth.handshake().await;
    fifth.send(ping(5)).await;
    expect_pong(&fifth.recv().await, 5);

    finish(stop, task).await.expect("clean shutdown");
}

#[tokio::test]
async fn large_requests_above_four_mib_are_received() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let (stop, task) = spawn_signer(config(&node, &tls), echo_handler());
    let mut conn = node.accept().await;
    conn.handshake().await;

    let size = 6 * 1024 * 1024;
    conn.send(SignCoordinatorRequest {
        request_id: 2,
        sign_request_type: Some(SignRequestType::SignPsbtRequest(SignPsbtRequest {
            funded_psbt: vec![0x70; size],
        })),
    })
    .await;
    let resp = conn.recv().await;
    assert_eq!(resp.ref_request_id, 2);
    match resp.sign_response_type {
        Some(SignResponseType::SignPsbtResponse(r)) => {
            assert_eq!(r.signed_psbt, (size as u64).to_be_bytes());
        }
        other => panic!("expected sign_psbt_response, got {other:?}"),
    }
    finish(stop, task).await.expect("clean shutdown");
}

#[tokio::test]
async fn pin_mismatch_is_a_clear_error() {
    let served = lnd_like_cert();
    let pinned = lnd_like_cert();
    let node = Node::start(&served).await;
    let mut cfg = config(&node, &pinned);
    cfg.once = true;
    let err = tokio::time::timeout(
        STEP,
        connect::run(cfg, echo_handler(), std::future::pending()),
    )
    .await
    .expect("attempt ended in time")
    .expect_err("a different certificate must be refused");
    assert!(
        matches!(err, ConnectError::Dial(DialError::CertMismatch { .. })),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("does not match the pinned certificate")
            && text.contains(&node.addr.to_string()),
        "{text}"
    );
}

#[tokio::test]
async fn handshake_timeout_ends_the_attempt() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let mut cfg = config(&node, &tls);
    cfg.once = true;
    cfg.session.handshake_timeout = Duration::from_millis(300);
    let run = tokio::spawn(connect::run(cfg, echo_handler(), std::future::pending()));
    // Accept the stream but never answer the registration.
    let mut conn = node.accept().await;
    let _registration = conn.recv().await;
    let err = tokio::time::timeout(STEP, run)
        .await
        .expect("attempt ended in time")
        .expect("no panic")
        .expect_err("no registration answer must fail the attempt");
    assert!(
        matches!(
            err,
            ConnectError::Session(SessionError::HandshakeTimeout { .. })
        ),
        "{err:?}"
    );
    drop(conn);
}

#[tokio::test]
async fn wrong_first_message_fails_and_once_exits_after_the_stream() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let mut cfg = config(&node, &tls);
    cfg.once = true;
    let run = tokio::spawn(connect::run(
        cfg.clone(),
        echo_handler(),
        std::future::pending(),
    ));
    let mut conn = node.accept().await;
    let _registration = conn.recv().await;
    conn.send(ping(2)).await;
    let err = tokio::time::timeout(STEP, run)
        .await
        .expect("attempt ended in time")
        .expect("no panic")
        .expect_err("a ping before the registration answer must fail");
    assert!(
        err.to_string().contains("request id 1, got 2"),
        "unclear error: {err}"
    );

    // --once after a good session that the node ends: exit without error.
    let run = tokio::spawn(connect::run(cfg, echo_handler(), std::future::pending()));
    let mut conn = node.accept().await;
    conn.handshake().await;
    conn.send(ping(3)).await;
    expect_pong(&conn.recv().await, 3);
    drop(conn);
    tokio::time::timeout(STEP, run)
        .await
        .expect("exited in time")
        .expect("no panic")
        .expect("stream ended by the node is not an error with --once");
}

#[tokio::test]
async fn unreachable_node_is_reported() {
    // Bind and drop to get a port with nothing listening.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let tls = lnd_like_cert();
    let mut cfg = ConnectConfig::new(
        addr.to_string(),
        tls.cert_pem.into_bytes(),
        MACAROON.to_vec(),
    );
    cfg.once = true;
    let err = tokio::time::timeout(
        STEP,
        connect::run(cfg, echo_handler(), std::future::pending()),
    )
    .await
    .expect("attempt ended in time")
    .expect_err("nothing listens there");
    assert!(
        matches!(err, ConnectError::Dial(DialError::Unreachable { .. })),
        "{err:?}"
    );
}

/// The idle watchdog: once registered, a stream on which nothing arrives for
/// longer than the idle timeout is ended (the link is presumed dead); every
/// message restarts the watchdog.
#[tokio::test]
async fn a_silent_node_is_dropped_by_the_idle_watchdog() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let mut cfg = config(&node, &tls);
    cfg.once = true;
    let limit = Duration::from_millis(600);
    cfg.session.idle_timeout = Some(limit);
    let run = tokio::spawn(connect::run(cfg, echo_handler(), std::future::pending()));
    let mut conn = node.accept().await;
    conn.handshake().await;
    // Messages within the limit keep the stream: 4 × 300 ms > 600 ms.
    for id in 2..6 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        conn.send(ping(id)).await;
        expect_pong(&conn.recv().await, id);
    }
    assert!(!run.is_finished(), "the watchdog fired although lnd spoke");
    let silent_since = tokio::time::Instant::now();
    let err = tokio::time::timeout(STEP, run)
        .await
        .expect("attempt ended in time")
        .expect("no panic")
        .expect_err("silence must end the attempt");
    let waited = silent_since.elapsed();
    match &err {
        ConnectError::Session(SessionError::IdleTimeout { silent, limit: l }) => {
            assert_eq!(*l, limit);
            assert!(*silent >= limit, "{silent:?}");
        }
        other => panic!("expected an idle timeout, got {other:?}"),
    }
    assert!(
        waited >= Duration::from_millis(550) && waited < Duration::from_secs(5),
        "dropped after {waited:?} of silence (limit {limit:?})"
    );
    let text = err.to_string();
    assert!(
        text.starts_with("no message from the watch-only node for 0.6")
            && text.contains("(idle timeout 0.6 s)"),
        "{text}"
    );
    // The signer closed its side of the stream.
    let end = tokio::time::timeout(STEP, conn.inbound.message())
        .await
        .expect("stream ended in time");
    assert!(!matches!(end, Ok(Some(_))), "{end:?}");
}

#[tokio::test]
async fn after_an_idle_drop_the_signer_reconnects_and_without_a_watchdog_silence_is_kept() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let mut cfg = config(&node, &tls);
    cfg.session.idle_timeout = Some(Duration::from_millis(300));
    let (stop, task) = spawn_signer(cfg, echo_handler());
    let mut first = node.accept().await;
    first.handshake().await;
    // Silence: the signer gives up on this stream and registers anew.
    let mut second = node.accept().await;
    second.handshake().await;
    second.send(ping(2)).await;
    expect_pong(&second.recv().await, 2);
    finish(stop, task).await.expect("clean shutdown");
    drop(first);

    // With the watchdog off, a silent stream stays up.
    let mut cfg = config(&node, &tls);
    cfg.session.idle_timeout = None;
    let (stop, task) = spawn_signer(cfg, echo_handler());
    let mut conn = node.accept().await;
    conn.handshake().await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    conn.send(ping(3)).await;
    expect_pong(&conn.recv().await, 3);
    assert!(
        tokio::time::timeout(Duration::from_millis(200), node.accept())
            .await
            .is_err(),
        "the signer reconnected without a watchdog"
    );
    finish(stop, task).await.expect("clean shutdown");
}
