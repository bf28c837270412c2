//! The sans-IO session driven like a host would, with the real signing core:
//! several streams (reconnects) share one `Signer`, so a MuSig2 session made
//! on one stream is used on the next; pings never reach the signer; the
//! backoff follows the handshake outcome of each attempt.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bitcoin::secp256k1::{PublicKey, SecretKey, SECP256K1};
use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::signrpc::{
    KeyLocator, MuSig2CleanupRequest, MuSig2RegisterNoncesRequest, MuSig2SessionRequest,
    MuSig2SignRequest, MuSig2Version,
};
use lnd_web_signer::proto::watchonlyrpc::registration_response::RegistrationResponseType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::proto::watchonlyrpc::{
    RegistrationComplete, RegistrationResponse, SignCoordinatorRequest, SignCoordinatorResponse,
};
use lnd_web_signer::session::{
    answer, respond, Backoff, Event, Session, SessionConfig, SessionError, SessionState,
};
use lnd_web_signer::signer::Signer;

fn request(id: u64, member: SignRequestType) -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: id,
        sign_request_type: Some(member),
    }
}

fn registration(result: RegistrationResponseType) -> SignCoordinatorRequest {
    request(
        1,
        SignRequestType::RegistrationResponse(RegistrationResponse {
            registration_response_type: Some(result),
        }),
    )
}

fn complete() -> SignCoordinatorRequest {
    registration(RegistrationResponseType::RegistrationComplete(
        RegistrationComplete {
            signature: String::new(),
            registration_info: "watch-only registration info".into(),
        },
    ))
}

fn point(secret: u8) -> PublicKey {
    let sk = SecretKey::from_slice(&[secret; 32]).expect("valid scalar");
    PublicKey::from_secret_key(SECP256K1, &sk)
}

/// Host side of one stream: start, handshake, then answer each request
/// through the session (pongs directly, everything else via the signer).
struct Stream<'a> {
    session: Session,
    signer: &'a Signer,
    signer_calls: &'a AtomicU32,
    now: Duration,
}

impl<'a> Stream<'a> {
    fn open(signer: &'a Signer, signer_calls: &'a AtomicU32, now: Duration) -> Self {
        let mut session = Session::new(SessionConfig::default()).expect("default config");
        let reg = session.start(now).expect("start");
        assert_eq!(reg.ref_request_id, 1);
        assert!(matches!(
            reg.sign_response_type,
            Some(SignResponseType::SignerRegistration(_))
        ));
        Self {
            session,
            signer,
            signer_calls,
            now,
        }
    }

    fn handshake(&mut self) {
        self.now += Duration::from_millis(20);
        let ev = self
            .session
            .on_request(complete(), self.now)
            .expect("handshake");
        assert!(matches!(ev, Event::Registered { .. }), "{ev:?}");
    }

    fn ask(&mut self, req: SignCoordinatorRequest) -> SignCoordinatorResponse {
        self.now += Duration::from_millis(5);
        let id = req.request_id;
        let resp = match self.session.on_request(req, self.now).expect("request") {
            Event::Reply(resp) => resp,
            Event::Handle(work) => answer(&work, |r| {
                self.signer_calls.fetch_add(1, Ordering::SeqCst);
                self.signer.handle(r)
            }),
            Event::Registered { .. } => panic!("unexpected second handshake"),
        };
        assert_eq!(resp.ref_request_id, id);
        resp
    }
}

#[test]
fn musig2_session_survives_reconnects_and_pings_bypass_the_signer() {
    let root = RootKey::from_seed_entropy(&[0x42; 16], Network::Regtest).expect("root key");
    let local = root
        .derive_pub(&root.lnd_key_path(6, 0).expect("lnd path"))
        .expect("local key");
    let signer = Signer::new(root, Box::new(OsEntropy));
    let calls = AtomicU32::new(0);
    let mut backoff = Backoff::new();

    // Stream 1: create the MuSig2 session, answer a ping.
    let mut s1 = Stream::open(&signer, &calls, Duration::ZERO);
    s1.handshake();
    let created = s1.ask(request(
        2,
        SignRequestType::MuSig2SessionRequest(MuSig2SessionRequest {
            key_loc: Some(KeyLocator {
                key_family: 6,
                key_index: 0,
            }),
            all_signer_pubkeys: vec![local.serialize().to_vec(), point(2).serialize().to_vec()],
            version: MuSig2Version::Musig2VersionV100rc2 as i32,
            ..Default::default()
        }),
    ));
    let session_id = match created.sign_response_type {
        Some(SignResponseType::MuSig2SessionResponse(r)) => {
            assert_eq!(r.session_id.len(), 32);
            assert_eq!(r.local_public_nonces.len(), 66);
            assert!(!r.have_all_nonces);
            r.session_id
        }
        other => panic!("expected mu_sig2_session_response, got {other:?}"),
    };
    let before = calls.load(Ordering::SeqCst);
    let pong = s1.ask(request(3, SignRequestType::Ping(true)));
    assert_eq!(pong.sign_response_type, Some(SignResponseType::Pong(true)));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "a ping must not reach the signer"
    );

    // The stream drops after a completed handshake: retry after 1 s.
    assert!(s1.session.is_registered());
    let now = s1.now;
    drop(s1);
    assert_eq!(backoff.after_attempt(true, 0), Duration::from_secs(1));

    // Stream 2 (same process, same signer): the session is still there.
    let mut s2 = Stream::open(&signer, &calls, now + Duration::from_secs(1));
    s2.handshake();
    let mut nonce = point(3).serialize().to_vec();
    nonce.extend_from_slice(&point(4).serialize());
    let registered = s2.ask(request(
        4,
        SignRequestType::MuSig2RegisterNoncesRequest(MuSig2RegisterNoncesRequest {
            session_id: session_id.clone(),
            other_signer_public_nonces: vec![nonce],
        }),
    ));
    match registered.sign_response_type {
        Some(SignResponseType::MuSig2RegisterNoncesResponse(r)) => assert!(r.have_all_nonces),
        other => panic!("session lost across reconnect: {other:?}"),
    }
    let signed = s2.ask(request(
        5,
        SignRequestType::MuSig2SignRequest(MuSig2SignRequest {
            session_id: session_id.clone(),
            message_digest: vec![7; 32],
            cleanup: false,
        }),
    ));
    match signed.sign_response_type {
        Some(SignResponseType::MuSig2SignResponse(r)) => {
            assert_eq!(r.local_partial_signature.len(), 32)
        }
        other => panic!("expected mu_sig2_sign_response, got {other:?}"),
    }
    let cleaned = s2.ask(request(
        6,
        SignRequestType::MuSig2CleanupRequest(MuSig2CleanupRequest {
            session_id: session_id.clone(),
        }),
    ));
    assert!(matches!(
        cleaned.sign_response_type,
        Some(SignResponseType::MuSig2CleanupResponse(_))
    ));
    // After cleanup the session is gone: signer_error, the stream stays up.
    let gone = s2.ask(request(
        7,
        SignRequestType::MuSig2SignRequest(MuSig2SignRequest {
            session_id,
            message_digest: vec![7; 32],
            cleanup: false,
        }),
    ));
    assert!(matches!(
        gone.sign_response_type,
        Some(SignResponseType::SignerError(_))
    ));
    assert!(s2.session.is_registered());
    let now = s2.now;
    drop(s2);
    assert_eq!(backoff.after_attempt(true, 0), Duration::from_secs(1));

    // Stream 3 is rejected, stream 4 never gets an answer: the backoff grows.
    let mut s3 = Stream::open(&signer, &calls, now + Duration::from_secs(1));
    let err = s3
        .session
        .on_request(
            registration(RegistrationResponseType::RegistrationError("busy".into())),
            now + Duration::from_secs(2),
        )
        .expect_err("rejected");
    assert_eq!(err, SessionError::RegistrationRejected("busy".into()));
    assert!(!s3.session.is_registered());
    assert_eq!(backoff.after_attempt(false, 0), Duration::from_millis(1500));

    let start = now + Duration::from_secs(4);
    let mut s4 = Stream::open(&signer, &calls, start);
    let deadline = s4.session.poll_timeout().expect("handshake timer");
    assert_eq!(deadline, start + Duration::from_secs(5));
    assert!(s4.session.on_timeout(deadline).is_err());
    assert_eq!(s4.session.state(), SessionState::Failed);
    assert_eq!(backoff.after_attempt(false, 0), Duration::from_millis(2250));
}

#[test]
fn real_signer_answers_pass_finish_unchanged() {
    let root = RootKey::from_seed_entropy(&[0x07; 32], Network::Regtest).expect("root key");
    let signer = Signer::new(root, Box::new(OsEntropy));
    let calls = AtomicU32::new(0);
    let mut s = Stream::open(&signer, &calls, Duration::ZERO);
    s.handshake();
    let req = request(
        2,
        SignRequestType::SignMessageReq(lnd_web_signer::proto::signrpc::SignMessageReq {
            msg: b"session test".to_vec(),
            key_loc: Some(KeyLocator {
                key_family: 6,
                key_index: 0,
            }),
            ..Default::default()
        }),
    );
    let direct = respond(req.clone(), |w| signer.handle(w));
    let via_session = s.ask(req);
    // Plain ECDSA over a deterministic nonce: identical answers.
    assert_eq!(direct, via_session);
    assert!(matches!(
        via_session.sign_response_type,
        Some(SignResponseType::SignMessageResp(_))
    ));
    // An invalid request becomes the signer's own error text, unchanged.
    let bad = request(
        3,
        SignRequestType::SignMessageReq(lnd_web_signer::proto::signrpc::SignMessageReq::default()),
    );
    let direct = respond(bad.clone(), |w| signer.handle(w));
    assert_eq!(s.ask(bad), direct);
}
