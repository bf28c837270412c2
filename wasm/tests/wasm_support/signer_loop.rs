#![allow(dead_code)]
//! The wasm signer loop against the in-page fake signer-bridge: Attach with
//! the macaroon, registration, answers identical to `Signer::handle`,
//! statuses, reconnect with backoff, handshake failures, lock/disconnect.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::signrpc::{KeyDescriptor, KeyLocator, SharedKeyRequest, SignMessageReq};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
use lnd_web_signer::secret::SecretBytes;
use lnd_web_signer::session::{self, Backoff};
use lnd_web_signer::signer::Signer;
use lnd_web_signer_wasm::connection::{ConnectOptions, Status};
use lnd_web_signer_wasm::{SignerConnection, UnlockedSigner};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::wasm_bindgen_test;

use crate::fake_bridge::{wait_for, FakeBridge, Registration, Script};

/// lnd itest's regtest root key (also in vectors/lnd/remote_signing_accounts.json).
pub use lnd_web_signer_testkit::DEMO_TPRV as TPRV;
const MACAROON: [u8; 6] = [0x02, 0x01, 0x03, 0x6c, 0x6e, 0x64];

pub fn sign_message_request(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::SignMessageReq(SignMessageReq {
            msg: b"hello from the watch-only node".to_vec(),
            key_loc: Some(KeyLocator {
                key_family: 6,
                key_index: 0,
            }),
            double_hash: false,
            compact_sig: true,
            ..SignMessageReq::default()
        })),
    }
}

fn shared_key_request(id: u64) -> SignCoordinatorRequest {
    // The secp256k1 generator as the ephemeral point.
    let g = hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
        .expect("hex");
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::SharedKeyRequest(SharedKeyRequest {
            ephemeral_pubkey: g,
            key_desc: Some(KeyDescriptor {
                raw_key_bytes: Vec::new(),
                key_loc: Some(KeyLocator {
                    key_family: 6,
                    key_index: 0,
                }),
            }),
            ..SharedKeyRequest::default()
        })),
    }
}

fn ping(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::Ping(true)),
    }
}

fn unset(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: None,
    }
}

pub fn js_object(pairs: &[(&str, wasm_bindgen::JsValue)]) -> wasm_bindgen::JsValue {
    let obj = js_sys::Object::new();
    for (k, v) in pairs {
        js_sys::Reflect::set(&obj, &(*k).into(), v).expect("set property");
    }
    obj.into()
}

fn test_signer() -> UnlockedSigner {
    let input = js_object(&[("network", "regtest".into()), ("xprv", TPRV.into())]);
    UnlockedSigner::from_seed(input.unchecked_into(), None).expect("signer from tprv")
}

/// The native answer for `req` (same core, outside the loop).
fn native_answer(req: &SignCoordinatorRequest) -> SignCoordinatorResponse {
    let root = RootKey::from_xprv(TPRV, Network::Regtest).expect("tprv");
    let signer = Signer::new(root, Box::new(OsEntropy));
    session::respond(req.clone(), |work| signer.handle(work))
}

type Statuses = Rc<RefCell<Vec<Status>>>;

fn start(
    signer: &UnlockedSigner,
    bridge: &FakeBridge,
    tweak: impl FnOnce(&mut ConnectOptions),
) -> (SignerConnection, Statuses) {
    let mut opts = ConnectOptions::new(
        "https://bridge.example.test",
        SecretBytes::from_slice(&MACAROON),
    );
    opts.fetch = Some(bridge.fetch());
    // The fake bridge knows Reply only.
    opts.batch_replies = false;
    opts.backoff = Backoff::with_limits(Duration::from_millis(40), Duration::from_millis(400));
    tweak(&mut opts);
    let statuses: Statuses = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&statuses);
    let conn = signer
        .connect_with(
            opts,
            Rc::new(move |s: &Status| sink.borrow_mut().push(s.clone())),
        )
        .expect("connect");
    (conn, statuses)
}

fn kinds(statuses: &Statuses) -> Vec<&'static str> {
    statuses
        .borrow()
        .iter()
        .map(|s| match s {
            Status::Connecting { .. } => "connecting",
            Status::Registered { .. } => "registered",
            Status::Ping { .. } => "ping",
            Status::Request { .. } => "request",
            Status::Reconnecting { .. } => "reconnecting",
            Status::Error { .. } => "error",
            Status::Disconnected { .. } => "disconnected",
        })
        .collect()
}

fn count(statuses: &Statuses, kind: &str) -> usize {
    kinds(statuses).iter().filter(|k| **k == kind).count()
}

#[wasm_bindgen_test]
async fn serves_requests_like_the_native_signer_and_reconnects() {
    let requests = vec![
        ping(2),
        sign_message_request(3),
        shared_key_request(4),
        unset(5),
    ];
    let bridge = FakeBridge::new(Script {
        chunk: 1,
        requests: requests.clone(),
        close_after_requests: true,
        ..Script::default()
    });
    let signer = test_signer();
    let (conn, statuses) = start(&signer, &bridge, |_| {});
    wait_for("a second registration", 5000.0, || {
        count(&statuses, "registered") == 2
    })
    .await;
    conn.handle().disconnect("test finished").await;
    assert!(!conn.running());

    // The Attach calls carried the macaroon as lower-case hex.
    let state = bridge.state.borrow();
    assert_eq!(state.attaches.len(), 2);
    for a in &state.attaches {
        assert_eq!(a.header("macaroon"), Some("0201036c6e64"));
        assert_eq!(a.header("content-type"), Some("application/grpc-web+proto"));
    }
    drop(state);

    // Replies: registration, the four answers (identical to the native
    // signer's), then the second session's registration.
    let replies = bridge.replies();
    assert_eq!(replies.len(), 6, "{replies:?}");
    for r in [&replies[0], &replies[5]] {
        assert_eq!(r.ref_request_id, 1);
        match &r.sign_response_type {
            Some(SignResponseType::SignerRegistration(reg)) => {
                assert_eq!(reg.registration_challenge, b"registrationChallenge");
                assert!(reg.registration_info.starts_with("lnd-web-signer-wasm/"));
            }
            other => panic!("expected a registration, got {other:?}"),
        }
    }
    assert_eq!(replies[1], session::pong(2));
    assert_eq!(replies[2], native_answer(&requests[1]));
    assert!(matches!(
        replies[2].sign_response_type,
        Some(SignResponseType::SignMessageResp(ref m)) if m.signature.len() == 65
    ));
    assert_eq!(replies[3], native_answer(&requests[2]));
    assert!(matches!(
        replies[3].sign_response_type,
        Some(SignResponseType::SharedKeyResponse(ref k)) if k.shared_key.len() == 32
    ));
    assert_eq!(
        replies[4],
        session::signer_error(5, lnd_web_signer::request::UNIMPLEMENTED)
    );

    // Statuses. Answer statuses come when each Reply is acknowledged, so
    // they interleave with the stream's end; the rest is strictly ordered.
    let k = kinds(&statuses);
    let lifecycle: Vec<&str> = k
        .iter()
        .copied()
        .filter(|k| *k != "ping" && *k != "request")
        .collect();
    assert_eq!(
        lifecycle,
        vec![
            "connecting",
            "registered",
            "error",
            "reconnecting",
            "connecting",
            "registered",
            "disconnected"
        ]
    );
    let second_registered = k
        .iter()
        .rposition(|k| *k == "registered")
        .expect("registered");
    let first_registered = k
        .iter()
        .position(|k| *k == "registered")
        .expect("registered");
    let answers: Vec<usize> = k
        .iter()
        .enumerate()
        .filter(|(_, k)| **k == "ping" || **k == "request")
        .map(|(i, _)| i)
        .collect();
    assert_eq!(answers.len(), 4);
    assert!(answers
        .iter()
        .all(|i| *i > first_registered && *i < second_registered));

    let st = statuses.borrow();
    assert!(
        matches!(&st[0], Status::Connecting { attempt: 1, url } if url == "https://bridge.example.test")
    );
    assert!(
        matches!(&st[1], Status::Registered { attempt: 1, node_info, .. } if node_info == "watch-only registration info")
    );
    let mut answered: Vec<&Status> = answers.iter().map(|i| &st[*i]).collect();
    answered.sort_by_key(|s| match s {
        Status::Ping { id, .. } | Status::Request { id, .. } => *id,
        _ => 0,
    });
    assert!(matches!(answered[0], Status::Ping { id: 2, latency_ms } if *latency_ms >= 0.0));
    assert!(
        matches!(answered[1], Status::Request { request_kind, id: 3, error: None, latency_ms, sign_ms, .. } if request_kind == "sign_message" && latency_ms >= sign_ms)
    );
    assert!(
        matches!(answered[2], Status::Request { request_kind, id: 4, error: None, .. } if request_kind == "shared_key")
    );
    assert!(
        matches!(answered[3], Status::Request { id: 5, error: Some(e), .. } if e.contains("unimplemented request"))
    );
    let error = st
        .iter()
        .find(|s| matches!(s, Status::Error { .. }))
        .expect("error status");
    assert!(
        matches!(error, Status::Error { attempt: 1, reason, silent_ms: None } if reason.contains("ended the attach stream"))
    );
    match st
        .iter()
        .find(|s| matches!(s, Status::Reconnecting { .. }))
        .expect("reconnecting status")
    {
        Status::Reconnecting {
            attempt: 1,
            delay_ms,
            was_registered: true,
        } => assert!(*delay_ms > 31.0 && *delay_ms <= 40.0, "delay {delay_ms}"),
        other => panic!("expected reconnecting, got {other:?}"),
    }
    assert!(
        matches!(st.last(), Some(Status::Disconnected { reason }) if reason == "test finished")
    );
    drop(st);

    let stats = conn.handle().stats();
    assert_eq!(
        (
            stats.attempts,
            stats.registrations,
            stats.pings,
            stats.requests
        ),
        (2, 2, 1, 3)
    );
    assert!(!stats.running);

    // The Attach stream of the live session was cancelled by disconnect.
    let state = bridge.state.borrow();
    assert!(state.streams.last().expect("stream").0.cancelled());
}

#[wasm_bindgen_test]
async fn rejected_registration_backs_off_and_retries() {
    let bridge = FakeBridge::new(Script {
        registration: Registration::Reject("not today"),
        ..Script::default()
    });
    let signer = test_signer();
    let (conn, statuses) = start(&signer, &bridge, |_| {});
    wait_for("three failed attempts", 5000.0, || {
        count(&statuses, "reconnecting") >= 3
    })
    .await;
    conn.handle().disconnect("enough").await;
    let st = statuses.borrow();
    assert!(!st.iter().any(|s| matches!(s, Status::Registered { .. })));
    let errors: Vec<&String> = st
        .iter()
        .filter_map(|s| match s {
            Status::Error { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    assert!(
        errors
            .iter()
            .all(|r| r.contains("rejected the registration: not today")),
        "{errors:?}"
    );
    let delays: Vec<f64> = st
        .iter()
        .filter_map(|s| match s {
            Status::Reconnecting {
                delay_ms,
                was_registered: false,
                ..
            } => Some(*delay_ms),
            _ => None,
        })
        .collect();
    // 40 ms ×1.5 per failed attempt, jitter shortens by at most 20 %.
    assert!(delays.len() >= 3);
    for (i, d) in delays.iter().take(3).enumerate() {
        let base = 40.0 * 1.5f64.powi(i as i32);
        assert!(
            *d <= base + 1e-9 && *d > base * 0.8 - 1e-9,
            "attempt {i}: {d} vs {base}"
        );
    }
    assert!(delays[2] > delays[0]);
}

#[wasm_bindgen_test]
async fn silent_node_times_out_the_handshake() {
    let bridge = FakeBridge::new(Script {
        registration: Registration::Silent,
        ..Script::default()
    });
    let signer = test_signer();
    let (conn, statuses) = start(&signer, &bridge, |o| {
        o.session.handshake_timeout = Duration::from_millis(150);
    });
    wait_for("a handshake timeout", 5000.0, || {
        count(&statuses, "error") >= 1
    })
    .await;
    conn.handle().disconnect("done").await;
    let st = statuses.borrow();
    let reason = st
        .iter()
        .find_map(|s| match s {
            Status::Error { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .expect("an error status");
    assert!(reason.contains("no registration response"), "{reason}");
}

/// The idle watchdog: after the registration and one ping the bridge stays
/// open but sends nothing (a half-open link, a hung bridge or lnd); the loop
/// ends the attempt once the idle timeout has passed, says so in the
/// `error` status (`silent_ms`) and registers anew.
#[wasm_bindgen_test]
async fn a_silent_bridge_is_dropped_by_the_idle_watchdog() {
    let bridge = FakeBridge::new(Script {
        chunk: 0,
        requests: vec![ping(2)],
        ..Script::default()
    });
    let signer = test_signer();
    let (conn, statuses) = start(&signer, &bridge, |o| {
        o.session.idle_timeout = Some(Duration::from_millis(600));
    });
    wait_for("a registration after the idle drop", 8000.0, || {
        count(&statuses, "registered") == 2
    })
    .await;
    conn.handle().disconnect("done").await;
    let st = statuses.borrow();
    let (reason, silent_ms) = st
        .iter()
        .find_map(|s| match s {
            Status::Error {
                attempt: 1,
                reason,
                silent_ms,
            } => Some((reason.clone(), *silent_ms)),
            _ => None,
        })
        .expect("an error status for attempt 1");
    assert!(
        reason.starts_with("no message from the watch-only node for ")
            && reason.contains("(idle timeout 0.6 s)"),
        "{reason}"
    );
    let silent = silent_ms.expect("silent_ms is set for an idle drop");
    // The watchdog tick is 250 ms: the drop comes within one tick (plus
    // slack for a busy machine) after the limit.
    assert!((600.0..2000.0).contains(&silent), "{silent}");
    // The ping was answered before the silence.
    assert_eq!(bridge.replies()[1], session::pong(2));
    // The dropped attempt's Attach stream was closed.
    assert!(bridge.state.borrow().streams[0].0.cancelled());
}

#[wasm_bindgen_test]
async fn without_the_idle_watchdog_a_silent_bridge_is_kept() {
    let bridge = FakeBridge::new(Script::default());
    let signer = test_signer();
    let (conn, statuses) = start(&signer, &bridge, |o| {
        o.session.idle_timeout = None;
    });
    wait_for("registration", 5000.0, || {
        count(&statuses, "registered") == 1
    })
    .await;
    lnd_web_signer_wasm::host::sleep(Duration::from_millis(1200)).await;
    assert_eq!(count(&statuses, "error"), 0, "{:?}", statuses.borrow());
    assert!(conn.handle().stats().registered);
    conn.handle().disconnect("done").await;
}

#[wasm_bindgen_test]
async fn failed_reply_ends_the_attempt() {
    let bridge = FakeBridge::new(Script {
        requests: vec![ping(2), sign_message_request(3), ping(4)],
        fail_reply_for: Some(3),
        ..Script::default()
    });
    let signer = test_signer();
    let (conn, statuses) = start(&signer, &bridge, |_| {});
    wait_for("a reconnect", 5000.0, || {
        count(&statuses, "connecting") >= 2
    })
    .await;
    conn.handle().disconnect("done").await;
    let st = statuses.borrow();
    assert!(st.iter().any(|s| matches!(
        s,
        Status::Error { attempt: 1, reason, silent_ms: None } if reason.contains("reply to request 3 failed") && reason.contains("lnd stream gone")
    )), "{st:?}");
    // The failed session's Attach stream was closed.
    assert!(bridge.state.borrow().streams[0].0.cancelled());
}

#[wasm_bindgen_test]
async fn lock_stops_the_connection_and_wipes_the_key() {
    let bridge = FakeBridge::new(Script::default());
    let signer = test_signer();
    let (conn, statuses) = start(&signer, &bridge, |_| {});
    wait_for("registration", 5000.0, || {
        count(&statuses, "registered") == 1
    })
    .await;
    assert!(conn.running());
    signer.lock();
    assert!(signer.locked());
    assert!(!conn.running());
    assert!(matches!(
        statuses.borrow().last(),
        Some(Status::Disconnected { reason }) if reason == "signer locked"
    ));
    wait_for("the attach stream to be cancelled", 2000.0, || {
        bridge.state.borrow().streams[0].0.cancelled()
    })
    .await;
    let err = signer.accounts_json().expect_err("locked");
    assert_eq!(crate::api::js_error_text(err), "the signer is locked");
    let opts = ConnectOptions::new("https://x.test", SecretBytes::default());
    assert!(signer.connect_with(opts, Rc::new(|_: &Status| {})).is_err());
}

#[wasm_bindgen_test]
async fn unreachable_bridge_reports_errors_and_keeps_trying() {
    let signer = test_signer();
    let mut opts = ConnectOptions::new("https://nowhere.test", SecretBytes::default());
    opts.fetch = Some(crate::fake_bridge::rejecting_fetch("Failed to fetch"));
    opts.backoff = Backoff::with_limits(Duration::from_millis(10), Duration::from_millis(20));
    let statuses: Statuses = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&statuses);
    let conn = signer
        .connect_with(
            opts,
            Rc::new(move |s: &Status| sink.borrow_mut().push(s.clone())),
        )
        .expect("connect");
    wait_for("three attempts", 5000.0, || {
        count(&statuses, "connecting") >= 3
    })
    .await;
    conn.handle().disconnect("done").await;
    let st = statuses.borrow();
    assert!(st.iter().any(|s| matches!(
        s,
        Status::Error { reason, .. } if reason.contains("attach failed") && reason.contains("Failed to fetch")
    )), "{st:?}");
}

fn js_prop(obj: &wasm_bindgen::JsValue, name: &str) -> wasm_bindgen::JsValue {
    js_sys::Reflect::get(obj, &name.into()).expect("property")
}

#[wasm_bindgen_test]
async fn js_connect_with_options_and_status_objects() {
    use wasm_bindgen::prelude::Closure;
    use wasm_bindgen::JsValue;

    let bridge = FakeBridge::new(Script {
        requests: vec![ping(2), sign_message_request(3), unset(4)],
        ..Script::default()
    });
    let signer = test_signer();
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let on_status = Closure::<dyn FnMut(JsValue)>::new(move |s: JsValue| {
        sink.borrow_mut().push(s);
    });
    let callback: js_sys::Function = on_status.as_ref().clone().unchecked_into();
    let options = js_object(&[
        ("fetch", bridge.fetch().into()),
        ("initialBackoffMs", 20.into()),
        ("maxBackoffMs", 50.into()),
        ("handshakeTimeoutMs", 2000.into()),
        ("registrationInfo", "page-test".into()),
        ("clientInfo", "tab".into()),
    ]);
    let conn = signer
        .connect(
            "https://bridge.example.test/".into(),
            Some("0A0B".into()),
            Some(callback.clone().unchecked_into()),
            Some(options.unchecked_into()),
        )
        .expect("connect");
    let kind_of = |s: &JsValue| js_prop(s, "kind").as_string().unwrap_or_default();
    wait_for("three answers", 5000.0, || {
        seen.borrow()
            .iter()
            .filter(|s| matches!(kind_of(s).as_str(), "ping" | "request"))
            .count()
            == 3
    })
    .await;
    wasm_bindgen_futures::JsFuture::from(conn.disconnect())
        .await
        .expect("disconnect resolves");
    assert!(!conn.running());

    let seen = seen.borrow();
    assert_eq!(kind_of(&seen[0]), "connecting");
    assert_eq!(js_prop(&seen[0], "attempt").as_f64(), Some(1.0));
    assert_eq!(
        js_prop(&seen[0], "url").as_string().as_deref(),
        Some("https://bridge.example.test/")
    );
    assert_eq!(kind_of(&seen[1]), "registered");
    assert_eq!(
        js_prop(&seen[1], "nodeInfo").as_string().as_deref(),
        Some("watch-only registration info")
    );
    let signed = seen
        .iter()
        .find(|s| js_prop(s, "id").as_string().as_deref() == Some("3"))
        .expect("status of request 3");
    assert_eq!(kind_of(signed), "request");
    assert_eq!(
        js_prop(signed, "requestKind").as_string().as_deref(),
        Some("sign_message")
    );
    assert!(js_prop(signed, "latencyMs").as_f64().is_some());
    assert!(js_prop(signed, "signMs").as_f64().is_some());
    assert!(js_prop(signed, "error").is_null());
    let failed = seen
        .iter()
        .find(|s| js_prop(s, "id").as_string().as_deref() == Some("4"))
        .expect("status of request 4");
    assert!(js_prop(failed, "error")
        .as_string()
        .is_some_and(|e| e.contains("unimplemented")));
    let last = seen.last().expect("statuses");
    assert_eq!(kind_of(last), "disconnected");
    assert_eq!(
        js_prop(last, "reason").as_string().as_deref(),
        Some("disconnected by the user")
    );
    let stats: JsValue = conn.stats().expect("stats").into();
    assert_eq!(js_prop(&stats, "requests").as_f64(), Some(2.0));
    assert_eq!(js_prop(&stats, "pings").as_f64(), Some(1.0));
    assert_eq!(js_prop(&stats, "running").as_bool(), Some(false));

    // What the bridge saw: lower-case hex macaroon, our registration info
    // and client info; the URL's trailing slash is not doubled.
    let state = bridge.state.borrow();
    let attach = &state.attaches[0];
    assert_eq!(attach.header("macaroon"), Some("0a0b"));
    assert_eq!(
        attach.url,
        "https://bridge.example.test/signerbridge.SignerBridge/Attach"
    );
    let sent: lnd_web_signer::proto::signerbridge::AttachRequest = attach.message();
    assert_eq!(sent.client_info, "tab");
    match &state.replies[0].1.sign_response_type {
        Some(SignResponseType::SignerRegistration(r)) => {
            assert_eq!(r.registration_info, "page-test");
        }
        other => panic!("expected the registration first, got {other:?}"),
    }
    drop(state);

    // Option and argument errors.
    let err = |opts: wasm_bindgen::JsValue, mac: Option<&str>| {
        crate::api::js_error_text(
            signer
                .connect(
                    "https://x.test".into(),
                    mac.map(str::to_owned),
                    None,
                    Some(opts.unchecked_into()),
                )
                .expect_err("must fail"),
        )
    };
    assert_eq!(
        err(js_object(&[("registrationInfo", "".into())]), None),
        "registrationInfo must not be empty"
    );
    assert_eq!(
        err(js_object(&[("fetch", 5.into())]), None),
        "options.fetch must be a function"
    );
    assert_eq!(
        err(js_object(&[("initialBackoffMs", (-1).into())]), None),
        "initialBackoffMs must be a non-negative number"
    );
    assert!(err(js_object(&[]), Some("xyz")).starts_with("macaroon hex is invalid"));
    assert_eq!(
        err(js_object(&[("idleMultiple", 1.5.into())]), None),
        "idleMultiple must be a whole number"
    );
    assert_eq!(
        err(js_object(&[("idleTimeoutMs", (-5).into())]), None),
        "idleTimeoutMs must be a non-negative number"
    );
    for bad in [100.0, 4096.5, 300e6] {
        assert_eq!(
            err(js_object(&[("maxMessageBytes", bad.into())]), None),
            "maxMessageBytes must be a whole number from 4096 to 209715200"
        );
    }
    drop(on_status);
}

/// The idle options of the JS API and the `silentMs` field of the `error`
/// status: healthCheckIntervalMs × idleMultiple, or idleTimeoutMs directly.
#[wasm_bindgen_test]
async fn js_idle_options_and_the_silent_ms_status() {
    use wasm_bindgen::prelude::Closure;
    use wasm_bindgen::JsValue;

    for (options, limit_text) in [
        (
            vec![
                ("healthCheckIntervalMs", 200.into()),
                ("idleMultiple", 2.into()),
            ],
            "(idle timeout 0.4 s)",
        ),
        (
            vec![
                ("healthCheckIntervalMs", 200.into()),
                ("idleTimeoutMs", 300.into()),
            ],
            "(idle timeout 0.3 s)",
        ),
    ] {
        let bridge = FakeBridge::new(Script::default());
        let signer = test_signer();
        let seen: Rc<RefCell<Vec<JsValue>>> = Rc::new(RefCell::new(Vec::new()));
        let sink = Rc::clone(&seen);
        let on_status = Closure::<dyn FnMut(JsValue)>::new(move |s: JsValue| {
            sink.borrow_mut().push(s);
        });
        let callback: js_sys::Function = on_status.as_ref().clone().unchecked_into();
        let mut pairs = vec![("fetch", bridge.fetch().into())];
        pairs.extend(options);
        let conn = signer
            .connect(
                "https://bridge.example.test".into(),
                None,
                Some(callback.unchecked_into()),
                Some(js_object(&pairs).unchecked_into()),
            )
            .expect("connect");
        let kind_of = |s: &JsValue| js_prop(s, "kind").as_string().unwrap_or_default();
        wait_for("an idle drop", 5000.0, || {
            seen.borrow().iter().any(|s| kind_of(s) == "error")
        })
        .await;
        wasm_bindgen_futures::JsFuture::from(conn.disconnect())
            .await
            .expect("disconnect resolves");
        let seen = seen.borrow();
        let error = seen
            .iter()
            .find(|s| kind_of(s) == "error")
            .expect("error status");
        let reason = js_prop(error, "reason").as_string().unwrap_or_default();
        assert!(
            reason.starts_with("no message from the watch-only node for ")
                && reason.contains(limit_text),
            "{reason}"
        );
        assert!(js_prop(error, "silentMs")
            .as_f64()
            .is_some_and(|ms| ms >= 300.0));
        drop(on_status);
    }
}

/// Request ids above 2^53 (lnd's ids are uint64): every status reaches JS,
/// with the id as an exact decimal string. Before, serde-wasm-bindgen's
/// json_compatible() refused them and the status was silently dropped.
#[wasm_bindgen_test]
async fn js_statuses_carry_request_ids_beyond_2_pow_53() {
    use wasm_bindgen::prelude::Closure;
    use wasm_bindgen::JsValue;

    let ids: [u64; 3] = [(1 << 53) + 1, 1 << 60, u64::MAX];
    let bridge = FakeBridge::new(Script {
        requests: vec![ping(ids[0]), sign_message_request(ids[1]), unset(ids[2])],
        ..Script::default()
    });
    let signer = test_signer();
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let on_status = Closure::<dyn FnMut(JsValue)>::new(move |s: JsValue| {
        sink.borrow_mut().push(s);
    });
    let callback: js_sys::Function = on_status.as_ref().clone().unchecked_into();
    let conn = signer
        .connect(
            "https://bridge.example.test".into(),
            None,
            Some(callback.unchecked_into()),
            Some(js_object(&[("fetch", bridge.fetch().into())]).unchecked_into()),
        )
        .expect("connect");
    wait_for("three answers reported to JS", 5000.0, || {
        bridge.replies().len() == 4
            && seen
                .borrow()
                .iter()
                .filter(|s| js_prop(s, "id").is_string())
                .count()
                == 3
    })
    .await;
    wasm_bindgen_futures::JsFuture::from(conn.disconnect())
        .await
        .expect("disconnect resolves");
    let seen = seen.borrow();
    let reported: Vec<(String, String)> = seen
        .iter()
        .filter(|s| js_prop(s, "id").is_string())
        .map(|s| {
            (
                js_prop(s, "kind").as_string().unwrap_or_default(),
                js_prop(s, "id").as_string().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        reported,
        vec![
            ("ping".to_owned(), "9007199254740993".to_owned()),
            ("request".to_owned(), "1152921504606846976".to_owned()),
            ("request".to_owned(), "18446744073709551615".to_owned()),
        ]
    );
    // Answered with the exact ids.
    let answered: Vec<u64> = bridge.replies()[1..]
        .iter()
        .map(|r| r.ref_request_id)
        .collect();
    assert_eq!(answered, ids);
    drop(on_status);
}

/// A bridge that stops acknowledging Replies while lnd keeps sending: the
/// loop stops reading requests once its bounded reply queue is full
/// (before, it read and answered everything, keeping every answer in an
/// unbounded list), and serves them all once the bridge
/// answers again.
#[wasm_bindgen_test]
async fn a_stuck_bridge_makes_the_loop_stop_reading_requests() {
    use crate::fake_bridge::{
        async_fetch_fn, new_gate, registration_complete, reply_ack, request_event, token_event,
        PullHandle,
    };
    use lnd_web_signer::grpcweb::encode_data_frame;
    use lnd_web_signer_wasm::connection::MAX_WAITING_ANSWERS;

    const N: u64 = 1500;
    let mut chunks = vec![
        encode_data_frame(&token_event(b"stuck")).expect("frame"),
        encode_data_frame(&request_event(registration_complete())).expect("frame"),
    ];
    for i in 0..N {
        chunks.push(encode_data_frame(&request_event(ping(i + 2))).expect("frame"));
    }
    // No trailer: the stream stays open after the last ping.
    let gate = new_gate();
    let gate_promise = gate.promise();
    let slot: Rc<RefCell<Option<PullHandle>>> = Rc::new(RefCell::new(None));
    let put = Rc::clone(&slot);
    let replies = Rc::new(core::cell::Cell::new(0u32));
    let counted = Rc::clone(&replies);
    let log = Rc::new(RefCell::new(Vec::new()));
    let fetch = async_fetch_fn(Rc::clone(&log), move |rec| {
        if rec.path().ends_with("/Attach") {
            let h = PullHandle::new(&chunks);
            let r = h.response_object();
            *put.borrow_mut() = Some(h);
            return js_sys::Promise::resolve(&wasm_bindgen::JsValue::from(r));
        }
        counted.set(counted.get() + 1);
        if counted.get() == 1 {
            // The registration is acknowledged at once; every later Reply
            // waits for the gate.
            return js_sys::Promise::resolve(&wasm_bindgen::JsValue::from(reply_ack()));
        }
        let g = gate_promise.clone();
        wasm_bindgen_futures::future_to_promise(async move {
            wasm_bindgen_futures::JsFuture::from(g).await?;
            Ok(reply_ack().into())
        })
    });
    let signer = test_signer();
    let bridge = FakeBridge::new(Script::default());
    let (conn, statuses) = start(&signer, &bridge, |o| {
        o.fetch = Some(fetch);
        o.reply_timeout = Duration::from_secs(60);
    });
    wait_for("the registration", 5000.0, || {
        count(&statuses, "registered") == 1
    })
    .await;
    lnd_web_signer_wasm::host::sleep(Duration::from_millis(1500)).await;
    let pulled = slot.borrow().as_ref().map_or(0, PullHandle::pulled) as usize;
    // token + registration + 2 open calls + the waiting line, plus the few
    // frames the transport may hold.
    let bound = 2 + 2 + MAX_WAITING_ANSWERS + 6;
    assert!(
        pulled <= bound,
        "the loop read {pulled} of {} chunks while the bridge was stuck (bound {bound})",
        N + 3
    );
    assert!(
        pulled >= MAX_WAITING_ANSWERS,
        "it reads up to the bound ({pulled})"
    );
    assert_eq!(replies.get(), 3, "registration + 2 calls in flight");
    assert_eq!(count(&statuses, "ping"), 0);
    gate.open();
    wait_for("every ping answered", 30_000.0, || {
        count(&statuses, "ping") == N as usize
    })
    .await;
    assert_eq!(count(&statuses, "error"), 0, "{:?}", kinds(&statuses));
    conn.handle().disconnect("test over").await;
}

/// `maxMessageBytes` (the worker sets it: Workers have 128 MB): a request
/// over the limit ends the attempt with a clear reason, before it is
/// buffered; smaller ones are served.
#[wasm_bindgen_test]
async fn js_max_message_bytes_refuses_a_larger_request() {
    use wasm_bindgen::prelude::Closure;
    use wasm_bindgen::JsValue;

    let mut big = sign_message_request(3);
    if let Some(SignRequestType::SignMessageReq(m)) = big.sign_request_type.as_mut() {
        m.msg = vec![7; 10_000];
    }
    let bridge = FakeBridge::new(Script {
        requests: vec![sign_message_request(2), big],
        chunk: 0,
        ..Script::default()
    });
    let signer = test_signer();
    let seen: Rc<RefCell<Vec<JsValue>>> = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let on_status = Closure::<dyn FnMut(JsValue)>::new(move |s: JsValue| {
        sink.borrow_mut().push(s);
    });
    let callback: js_sys::Function = on_status.as_ref().clone().unchecked_into();
    let options = js_object(&[
        ("fetch", bridge.fetch().into()),
        ("maxMessageBytes", 4096.into()),
        ("initialBackoffMs", 5000.into()),
    ]);
    let conn = signer
        .connect(
            "https://bridge.example.test".into(),
            None,
            Some(callback.unchecked_into()),
            Some(options.unchecked_into()),
        )
        .expect("connect");
    let kind_of = |s: &JsValue| js_prop(s, "kind").as_string().unwrap_or_default();
    wait_for("the attempt to end", 5000.0, || {
        seen.borrow().iter().any(|s| kind_of(s) == "error")
    })
    .await;
    wasm_bindgen_futures::JsFuture::from(conn.disconnect())
        .await
        .expect("disconnect resolves");
    let seen = seen.borrow();
    let served: Vec<String> = seen
        .iter()
        .filter(|s| kind_of(s) == "request")
        .filter_map(|s| js_prop(s, "id").as_string())
        .collect();
    assert_eq!(served, vec!["2".to_owned()], "the small request was served");
    let reason = seen
        .iter()
        .find(|s| kind_of(s) == "error")
        .and_then(|s| js_prop(s, "reason").as_string())
        .unwrap_or_default();
    assert!(
        reason.contains("attach stream failed")
            && reason.contains("exceeds the limit of 4096 bytes"),
        "{reason}"
    );
    drop(on_status);
}
