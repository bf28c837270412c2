use super::*;
use crate::proto::signrpc::{KeyLocator, SignMessageReq, SignMessageResp};
use crate::proto::walletrpc::{SignPsbtRequest, SignPsbtResponse};
use crate::proto::watchonlyrpc::{RegistrationComplete, RegistrationResponse, SignerError};

fn secs(v: u64) -> Duration {
    Duration::from_secs(v)
}

fn registration_reply(id: u64, result: Option<RegistrationResponseType>) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::RegistrationResponse(
            RegistrationResponse {
                registration_response_type: result,
            },
        )),
    }
}

fn complete(id: u64) -> SignCoordinatorRequest {
    registration_reply(
        id,
        Some(RegistrationResponseType::RegistrationComplete(
            RegistrationComplete {
                signature: String::new(),
                registration_info: "watch-only registration info".into(),
            },
        )),
    )
}

fn ping(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::Ping(true)),
    }
}

fn sign_message(id: u64) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(SignRequestType::SignMessageReq(SignMessageReq {
            msg: b"hello".to_vec(),
            key_loc: Some(KeyLocator {
                key_family: 6,
                key_index: 0,
            }),
            ..Default::default()
        })),
    }
}

fn work(req: SignCoordinatorRequest) -> Work {
    Work::try_from(req).expect("signing work")
}

fn registered() -> Session {
    let mut s = Session::new(SessionConfig::default()).expect("default config is valid");
    s.start(secs(0)).expect("fresh session starts");
    match s.on_request(complete(1), secs(1)) {
        Ok(Event::Registered { .. }) => {}
        other => panic!("handshake failed: {other:?}"),
    }
    s
}

fn error_text(resp: &SignCoordinatorResponse) -> &str {
    match &resp.sign_response_type {
        Some(SignResponseType::SignerError(e)) => &e.error,
        other => panic!("expected signer_error, got {other:?}"),
    }
}

#[test]
fn registration_message_is_first_and_well_formed() {
    let mut s = Session::new(SessionConfig::default()).expect("default config is valid");
    assert_eq!(s.state(), SessionState::Idle);
    let reg = s.start(secs(10)).expect("start");
    assert_eq!(reg.ref_request_id, 1);
    match reg.sign_response_type {
        Some(SignResponseType::SignerRegistration(r)) => {
            assert_eq!(
                r.registration_info,
                format!("lnd-web-signer/{}", env!("CARGO_PKG_VERSION"))
            );
            assert!(r.registration_info.starts_with("lnd-web-signer/"));
            assert_eq!(r.registration_challenge, b"registrationChallenge");
        }
        other => panic!("registration expected, got {other:?}"),
    }
    assert_eq!(s.state(), SessionState::Handshaking);
    assert_eq!(s.poll_timeout(), Some(secs(15)));
    assert_eq!(s.start(secs(11)), Err(SessionError::AlreadyStarted));
}

#[test]
fn empty_registration_info_is_rejected() {
    let cfg = SessionConfig {
        registration_info: String::new(),
        ..SessionConfig::default()
    };
    assert_eq!(
        Session::new(cfg).err(),
        Some(SessionError::EmptyRegistrationInfo)
    );
}

#[test]
fn handshake_completes() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    let ev = s
        .on_request(complete(1), Duration::from_millis(4999))
        .expect("complete");
    assert_eq!(
        ev,
        Event::Registered {
            node_info: "watch-only registration info".into()
        }
    );
    assert!(s.is_registered());
    assert_eq!(s.state(), SessionState::Registered);
    // After the handshake the idle watchdog runs from the registration.
    assert_eq!(
        s.poll_timeout(),
        Some(Duration::from_millis(4999) + DEFAULT_IDLE_TIMEOUT)
    );
    assert_eq!(s.on_timeout(secs(100)), Ok(()));
    assert!(s.is_registered());
}

#[test]
fn without_the_watchdog_there_is_no_timer_after_the_handshake() {
    for idle_timeout in [None, Some(Duration::ZERO)] {
        let cfg = SessionConfig {
            idle_timeout,
            ..SessionConfig::default()
        };
        let mut s = Session::new(cfg).expect("valid");
        assert_eq!(s.idle_timeout(), None);
        s.start(secs(0)).expect("start");
        s.on_request(complete(1), secs(1)).expect("complete");
        assert_eq!(s.poll_timeout(), None);
        // No timer after the handshake: on_timeout is a no-op.
        assert_eq!(s.on_timeout(secs(100_000)), Ok(()));
        assert!(s.is_registered());
    }
}

#[test]
fn default_idle_timeout_is_three_health_check_intervals() {
    assert_eq!(DEFAULT_HEALTH_CHECK_INTERVAL, secs(60));
    assert_eq!(DEFAULT_IDLE_MULTIPLE, 3);
    assert_eq!(DEFAULT_IDLE_TIMEOUT, secs(180));
    assert_eq!(
        SessionConfig::default().idle_timeout,
        Some(DEFAULT_IDLE_TIMEOUT)
    );
    assert_eq!(
        idle_timeout_for(DEFAULT_HEALTH_CHECK_INTERVAL, DEFAULT_IDLE_MULTIPLE),
        Some(DEFAULT_IDLE_TIMEOUT)
    );
    // lnd's docs suggest `healthcheck.remotesigner.interval=5s` for outbound
    // signers: 15 s then.
    assert_eq!(idle_timeout_for(secs(5), 3), Some(secs(15)));
    assert_eq!(idle_timeout_for(Duration::ZERO, 3), None);
    assert_eq!(idle_timeout_for(secs(60), 0), None);
    assert_eq!(
        idle_timeout_for(Duration::MAX, u32::MAX),
        Some(Duration::MAX)
    );
}

fn with_idle(limit: Duration) -> Session {
    let cfg = SessionConfig {
        idle_timeout: Some(limit),
        ..SessionConfig::default()
    };
    let mut s = Session::new(cfg).expect("valid");
    s.start(secs(0)).expect("start");
    s.on_request(complete(1), secs(2)).expect("complete");
    s
}

#[test]
fn silence_after_the_registration_ends_the_session() {
    let mut s = with_idle(secs(180));
    assert_eq!(s.poll_timeout(), Some(secs(182)));
    // Early wake-ups do nothing.
    assert_eq!(s.on_timeout(secs(181)), Ok(()));
    assert!(s.is_registered());
    let err = s.on_timeout(secs(182)).expect_err("idle deadline reached");
    assert_eq!(
        err,
        SessionError::IdleTimeout {
            silent: secs(180),
            limit: secs(180)
        }
    );
    assert_eq!(
        err.to_string(),
        "no message from the watch-only node for 180 s (idle timeout 180 s): the link is presumed dead"
    );
    assert_eq!(s.state(), SessionState::Failed);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(s.on_request(ping(2), secs(183)), Err(SessionError::Closed));
    // A late timer reports how long the link was really silent.
    let mut late = with_idle(Duration::from_millis(1500));
    let err = late
        .on_timeout(Duration::from_millis(3750))
        .expect_err("past the deadline");
    assert_eq!(
        err.to_string(),
        "no message from the watch-only node for 1.75 s (idle timeout 1.5 s): the link is presumed dead"
    );
}

#[test]
fn every_message_restarts_the_idle_watchdog() {
    let mut s = with_idle(secs(10));
    assert_eq!(s.poll_timeout(), Some(secs(12)));
    // A ping, a request the host handles, an unusable request: all count.
    s.on_request(ping(2), secs(11)).expect("ping");
    assert_eq!(s.poll_timeout(), Some(secs(21)));
    s.on_request(sign_message(3), secs(20)).expect("request");
    assert_eq!(s.poll_timeout(), Some(secs(30)));
    let unset = SignCoordinatorRequest {
        request_id: 4,
        sign_request_type: None,
    };
    s.on_request(unset, secs(29)).expect("unset member");
    assert_eq!(s.poll_timeout(), Some(secs(39)));
    // The old deadline has passed, but the link spoke since.
    assert_eq!(s.on_timeout(secs(30)), Ok(()));
    assert!(s.is_registered());
    // A message arriving after the deadline, before the host's timer fired,
    // still counts: the link is alive.
    assert!(s.on_request(ping(5), secs(40)).is_ok());
    assert_eq!(s.poll_timeout(), Some(secs(50)));
    assert_eq!(s.on_timeout(secs(45)), Ok(()));
    assert!(s.on_timeout(secs(50)).is_err());
}

#[test]
fn handshake_deadline_comes_before_the_idle_watchdog() {
    // Until the registration answer arrives only the handshake timer runs,
    // however long the idle timeout.
    let cfg = SessionConfig {
        handshake_timeout: secs(5),
        idle_timeout: Some(Duration::from_millis(10)),
        ..SessionConfig::default()
    };
    let mut s = Session::new(cfg).expect("valid");
    s.start(secs(0)).expect("start");
    assert_eq!(s.poll_timeout(), Some(secs(5)));
    assert_eq!(s.on_timeout(secs(1)), Ok(()));
    assert!(matches!(
        s.on_timeout(secs(5)),
        Err(SessionError::HandshakeTimeout { .. })
    ));
}

#[test]
fn seconds_format() {
    assert_eq!(fmt_secs(secs(180)), "180 s");
    assert_eq!(fmt_secs(Duration::from_millis(1500)), "1.5 s");
    assert_eq!(fmt_secs(Duration::from_millis(250)), "0.25 s");
    assert_eq!(fmt_secs(Duration::from_micros(1)), "0 s");
    assert_eq!(fmt_secs(Duration::ZERO), "0 s");
}

#[test]
fn registration_complete_signature_is_not_checked() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    let req = registration_reply(
        1,
        Some(RegistrationResponseType::RegistrationComplete(
            RegistrationComplete {
                signature: "garbage".into(),
                registration_info: String::new(),
            },
        )),
    );
    assert!(matches!(
        s.on_request(req, secs(0)),
        Ok(Event::Registered { .. })
    ));
}

#[test]
fn registration_error_ends_attempt() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    let req = registration_reply(
        1,
        Some(RegistrationResponseType::RegistrationError(
            "signer not allowed".into(),
        )),
    );
    let err = s.on_request(req, secs(1)).expect_err("must fail");
    assert_eq!(
        err,
        SessionError::RegistrationRejected("signer not allowed".into())
    );
    assert_eq!(
        err.to_string(),
        "watch-only node rejected the registration: signer not allowed"
    );
    assert_eq!(s.state(), SessionState::Failed);
    assert!(!s.is_registered());
    // Terminal: nothing more is accepted.
    assert_eq!(s.on_request(ping(2), secs(1)), Err(SessionError::Closed));
}

#[test]
fn empty_registration_response_ends_attempt() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    assert_eq!(
        s.on_request(registration_reply(1, None), secs(1)),
        Err(SessionError::EmptyRegistrationResponse)
    );
}

#[test]
fn wrong_first_request_id_ends_attempt() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    let err = s.on_request(complete(2), secs(1)).expect_err("must fail");
    assert_eq!(
        err,
        SessionError::WrongInitialRequestId {
            got: 2,
            kind: RequestKind::Registration
        }
    );
    assert!(err.to_string().contains("request id 1, got 2"), "{err}");
    assert_eq!(s.state(), SessionState::Failed);
}

#[test]
fn non_registration_first_message_ends_attempt() {
    for (req, kind) in [
        (ping(1), RequestKind::Ping),
        (sign_message(1), RequestKind::SignMessage),
        (
            SignCoordinatorRequest {
                request_id: 1,
                sign_request_type: None,
            },
            RequestKind::Unset,
        ),
    ] {
        let mut s = Session::new(SessionConfig::default()).expect("valid");
        s.start(secs(0)).expect("start");
        let err = s.on_request(req, secs(1)).expect_err("must fail");
        assert_eq!(err, SessionError::ExpectedRegistration { got: kind });
        assert!(err.to_string().contains(kind.field()), "{err}");
    }
    // A wrong id is reported before a wrong member.
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    assert_eq!(
        s.on_request(ping(7), secs(1)),
        Err(SessionError::WrongInitialRequestId {
            got: 7,
            kind: RequestKind::Ping
        })
    );
}

#[test]
fn request_before_start_is_an_error() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    assert_eq!(
        s.on_request(complete(1), secs(0)),
        Err(SessionError::NotStarted)
    );
    assert_eq!(s.poll_timeout(), None);
}

#[test]
fn handshake_timeout_via_on_timeout() {
    let cfg = SessionConfig {
        handshake_timeout: secs(3),
        ..SessionConfig::default()
    };
    let mut s = Session::new(cfg).expect("valid");
    s.start(secs(100)).expect("start");
    let deadline = s.poll_timeout().expect("timer pending");
    assert_eq!(deadline, secs(103));
    // Early wake-ups do nothing.
    assert_eq!(s.on_timeout(secs(102)), Ok(()));
    assert_eq!(s.state(), SessionState::Handshaking);
    let err = s.on_timeout(deadline).expect_err("deadline reached");
    assert_eq!(err, SessionError::HandshakeTimeout { timeout: secs(3) });
    assert_eq!(
        err.to_string(),
        "no registration response from the watch-only node within 3s"
    );
    assert_eq!(s.state(), SessionState::Failed);
    assert_eq!(s.poll_timeout(), None);
    assert_eq!(
        s.on_request(complete(1), secs(104)),
        Err(SessionError::Closed)
    );
}

#[test]
fn late_registration_response_is_a_timeout() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    assert_eq!(
        s.on_request(complete(1), secs(5)),
        Err(SessionError::HandshakeTimeout { timeout: secs(5) })
    );
}

#[test]
fn ping_is_answered_at_once_with_pong_true() {
    let mut s = registered();
    let ev = s.on_request(ping(2), secs(2)).expect("ping");
    assert_eq!(ev, Event::Reply(pong(2)));
    if let Event::Reply(resp) = ev {
        assert_eq!(resp.sign_response_type, Some(SignResponseType::Pong(true)));
        assert_eq!(resp.ref_request_id, 2);
    }
    // Even an (invalid) ping=false is answered with pong=true, never pong=false.
    let weird = SignCoordinatorRequest {
        request_id: 3,
        sign_request_type: Some(SignRequestType::Ping(false)),
    };
    assert_eq!(s.on_request(weird, secs(2)), Ok(Event::Reply(pong(3))));
}

#[test]
fn signing_requests_go_to_the_handler() {
    let mut s = registered();
    let req = sign_message(2);
    assert_eq!(
        s.on_request(req.clone(), secs(2)),
        Ok(Event::Handle(work(req)))
    );
    let psbt = SignCoordinatorRequest {
        request_id: 3,
        sign_request_type: Some(SignRequestType::SignPsbtRequest(SignPsbtRequest {
            funded_psbt: vec![1, 2, 3],
        })),
    };
    assert_eq!(
        s.on_request(psbt.clone(), secs(2)),
        Ok(Event::Handle(work(psbt)))
    );
    assert_eq!(s.requests_received(), 2);
}

#[test]
fn unset_member_gets_signer_error() {
    let mut s = registered();
    let req = SignCoordinatorRequest {
        request_id: 9,
        sign_request_type: None,
    };
    let Ok(Event::Reply(resp)) = s.on_request(req, secs(2)) else {
        panic!("unset member must be answered directly");
    };
    assert_eq!(resp.ref_request_id, 9);
    assert_eq!(
        error_text(&resp),
        "error processing the request in the remote signer: unimplemented request by watch-only node"
    );
    assert!(
        s.is_registered(),
        "an unknown member must not end the session"
    );
}

#[test]
fn registration_after_handshake_gets_signer_error() {
    let mut s = registered();
    let Ok(Event::Reply(resp)) = s.on_request(complete(1), secs(2)) else {
        panic!("late registration must be answered directly");
    };
    assert_eq!(resp.ref_request_id, 1);
    assert!(error_text(&resp).contains("unexpected registration response"));
    assert!(s.is_registered());
}

#[test]
fn duplicates_are_answered_again() {
    let mut s = registered();
    let req = sign_message(5);
    let calls = core::cell::Cell::new(0u32);
    let handler = |r: &Work| {
        calls.set(calls.get() + 1);
        SignCoordinatorResponse {
            ref_request_id: r.id,
            sign_response_type: Some(SignResponseType::SignMessageResp(SignMessageResp {
                signature: vec![0xaa; 64],
            })),
        }
    };
    let first = s.handle_with(req.clone(), secs(2), handler).expect("first");
    let second = s.handle_with(req, secs(3), handler).expect("second");
    assert_eq!(first, second);
    assert_eq!(first.as_ref().map(|r| r.ref_request_id), Some(5));
    assert_eq!(calls.get(), 2);
    // Duplicate pings too.
    assert_eq!(s.on_request(ping(6), secs(3)), Ok(Event::Reply(pong(6))));
    assert_eq!(s.on_request(ping(6), secs(3)), Ok(Event::Reply(pong(6))));
    assert_eq!(s.requests_received(), 4);
}

#[test]
fn several_requests_in_flight_answered_in_any_order() {
    let mut s = registered();
    let mut pending = Vec::new();
    for id in 2..6 {
        match s.on_request(sign_message(id), secs(2)).expect("request") {
            Event::Handle(req) => pending.push(req),
            other => panic!("expected Handle, got {other:?}"),
        }
    }
    // A ping while four requests are pending is still answered at once.
    assert_eq!(s.on_request(ping(6), secs(2)), Ok(Event::Reply(pong(6))));
    pending.reverse();
    for req in pending {
        let resp = answer(&req, |r| signer_error(r.id, "key family not allowed"));
        assert_eq!(resp.ref_request_id, req.id);
    }
    assert!(s.is_registered());
}

#[test]
fn handle_with_returns_none_for_registration() {
    let mut s = Session::new(SessionConfig::default()).expect("valid");
    s.start(secs(0)).expect("start");
    let out = s
        .handle_with(complete(1), secs(0), |_| {
            panic!("handler must not run for the handshake")
        })
        .expect("handshake");
    assert_eq!(out, None);
    let out = s
        .handle_with(ping(2), secs(0), |_| {
            panic!("handler must not run for pings")
        })
        .expect("ping");
    assert_eq!(out, Some(pong(2)));
}

#[test]
fn finish_fixes_ref_id_and_rejects_wrong_members() {
    let req = work(sign_message(42));
    let ok = SignCoordinatorResponse {
        ref_request_id: 0,
        sign_response_type: Some(SignResponseType::SignMessageResp(SignMessageResp {
            signature: vec![1],
        })),
    };
    let fixed = finish(&req, ok);
    assert_eq!(fixed.ref_request_id, 42);
    assert!(matches!(
        fixed.sign_response_type,
        Some(SignResponseType::SignMessageResp(_))
    ));

    let wrong = SignCoordinatorResponse {
        ref_request_id: 42,
        sign_response_type: Some(SignResponseType::SignPsbtResponse(
            SignPsbtResponse::default(),
        )),
    };
    let out = finish(&req, wrong);
    assert_eq!(out.ref_request_id, 42);
    assert_eq!(
        error_text(&out),
        "error processing the request in the remote signer: internal error: sign_message_req was answered with sign_psbt_response"
    );

    let pong_false = SignCoordinatorResponse {
        ref_request_id: 7,
        sign_response_type: Some(SignResponseType::Pong(false)),
    };
    let out = finish(&work(sign_message(7)), pong_false);
    assert!(error_text(&out).contains("pong=false"));

    let empty = SignCoordinatorResponse {
        ref_request_id: 8,
        sign_response_type: None,
    };
    assert!(error_text(&finish(&work(sign_message(8)), empty)).contains("answered with unset"));

    // A handler's own signer_error passes unchanged (no double prefix).
    let own = SignCoordinatorResponse {
        ref_request_id: 9,
        sign_response_type: Some(SignResponseType::SignerError(SignerError {
            error: "boom".into(),
        })),
    };
    assert_eq!(error_text(&finish(&work(sign_message(9)), own)), "boom");
}

#[test]
fn every_kind_accepts_its_member_and_signer_error_only() {
    use crate::proto::signrpc as s;
    use crate::proto::watchonlyrpc::SignerRegistration as Reg;
    let reqs: Vec<SignRequestType> = vec![
        SignRequestType::Ping(true),
        SignRequestType::SharedKeyRequest(s::SharedKeyRequest::default()),
        SignRequestType::SignMessageReq(s::SignMessageReq::default()),
        SignRequestType::MuSig2SessionRequest(s::MuSig2SessionRequest::default()),
        SignRequestType::MuSig2RegisterNoncesRequest(s::MuSig2RegisterNoncesRequest::default()),
        SignRequestType::MuSig2CombinedNoncesReq(s::MuSig2RegisterCombinedNonceRequest::default()),
        SignRequestType::MuSig2GetCombinedNoncesReq(s::MuSig2GetCombinedNonceRequest::default()),
        SignRequestType::MuSig2SignRequest(s::MuSig2SignRequest::default()),
        SignRequestType::MuSig2CombineSigRequest(s::MuSig2CombineSigRequest::default()),
        SignRequestType::MuSig2CleanupRequest(s::MuSig2CleanupRequest::default()),
        SignRequestType::SignPsbtRequest(SignPsbtRequest::default()),
    ];
    let resps: Vec<SignResponseType> = vec![
        SignResponseType::Pong(true),
        SignResponseType::SharedKeyResponse(s::SharedKeyResponse::default()),
        SignResponseType::SignMessageResp(s::SignMessageResp::default()),
        SignResponseType::MuSig2SessionResponse(s::MuSig2SessionResponse::default()),
        SignResponseType::MuSig2RegisterNoncesResponse(s::MuSig2RegisterNoncesResponse::default()),
        SignResponseType::MuSig2CombNoncesResp(s::MuSig2RegisterCombinedNonceResponse::default()),
        SignResponseType::MuSig2GetCombNoncesResp(s::MuSig2GetCombinedNonceResponse::default()),
        SignResponseType::MuSig2SignResponse(s::MuSig2SignResponse::default()),
        SignResponseType::MuSig2CombineSigResponse(s::MuSig2CombineSigResponse::default()),
        SignResponseType::MuSig2CleanupResponse(s::MuSig2CleanupResponse::default()),
        SignResponseType::SignPsbtResponse(SignPsbtResponse::default()),
    ];
    let mut names = std::collections::HashSet::new();
    for (i, rq) in reqs.iter().enumerate() {
        let req = SignCoordinatorRequest {
            request_id: 2,
            sign_request_type: Some(rq.clone()),
        };
        let kind = RequestKind::of(&req);
        assert!(names.insert(kind.field()), "duplicate kind name {kind}");
        for (j, rs) in resps.iter().enumerate() {
            let resp = SignCoordinatorResponse {
                ref_request_id: 2,
                sign_response_type: Some(rs.clone()),
            };
            assert_eq!(
                kind.accepts(&resp),
                i == j,
                "{kind} vs {}",
                response_member_name(&resp)
            );
        }
        let err = signer_error(2, "x");
        assert!(kind.accepts(&err));
        let reg = SignCoordinatorResponse {
            ref_request_id: 2,
            sign_response_type: Some(SignResponseType::SignerRegistration(Reg::default())),
        };
        assert!(!kind.accepts(&reg));
        assert!(!kind.accepts(&pong_false_resp()));
    }
    assert!(!RequestKind::Unset.accepts(&pong(2)));
    assert!(RequestKind::Unset.accepts(&signer_error(2, "x")));
    assert!(!RequestKind::Registration.accepts(&pong(2)));
}

fn pong_false_resp() -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: 2,
        sign_response_type: Some(SignResponseType::Pong(false)),
    }
}

#[test]
fn error_messages_are_lower_case() {
    let errs = [
        SessionError::EmptyRegistrationInfo,
        SessionError::AlreadyStarted,
        SessionError::NotStarted,
        SessionError::WrongInitialRequestId {
            got: 3,
            kind: RequestKind::Ping,
        },
        SessionError::ExpectedRegistration {
            got: RequestKind::SignPsbt,
        },
        SessionError::RegistrationRejected("x".into()),
        SessionError::EmptyRegistrationResponse,
        SessionError::HandshakeTimeout { timeout: secs(5) },
        SessionError::IdleTimeout {
            silent: secs(181),
            limit: secs(180),
        },
        SessionError::Closed,
    ];
    for e in errs {
        let text = e.to_string();
        let first = text.chars().next().expect("non-empty message");
        assert!(first.is_lowercase(), "message not lower-case: {text}");
    }
}

#[test]
fn route_answers_everything_but_signing_work() {
    assert_eq!(route(ping(3)), Route::Reply(pong(3)));
    let unimplemented = "error processing the request in the remote signer: unimplemented request by watch-only node";
    for req in [
        complete(4),
        SignCoordinatorRequest {
            request_id: 4,
            sign_request_type: None,
        },
    ] {
        let Route::Reply(resp) = route(req) else {
            panic!("answered by the session");
        };
        assert_eq!(resp.ref_request_id, 4);
        assert_eq!(error_text(&resp), unimplemented);
    }
    assert_eq!(route(sign_message(5)), Route::Work(work(sign_message(5))));
    let resp = respond(ping(6), |_| panic!("no signing work"));
    assert_eq!(resp, pong(6));
    let resp = respond(sign_message(7), |w| signer_error(w.id, "no"));
    assert_eq!(resp.ref_request_id, 7);
}
