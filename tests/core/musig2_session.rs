//! SessionManager behaviour: complete 2-of-2 and 3-of-3 signing flows with
//! BIP-86, script-root and generic tweaks (the other signers computed
//! independently with the `musig2` crate), V040 flows, lnd's error order,
//! every bad input of the issue, nonce-reuse refusal, silent replacement and
//! the bounds on unfinished sessions.

use std::sync::{Arc, Mutex};

use bitcoin::secp256k1::SecretKey;
use lnd_web_signer::entropy::FixedEntropy;
use lnd_web_signer::musig2::bip327::verify_bip340;
use lnd_web_signer::musig2::{Limits, MuSig2Error, SessionManager};
use lnd_web_signer::proto::signrpc;
use musig2::{AggNonce, KeyAggContext, PubNonce, SecNonce};
use secp::{Point, Scalar};

const V100: i32 = signrpc::MuSig2Version::Musig2VersionV100rc2 as i32;
const V040: i32 = signrpc::MuSig2Version::Musig2VersionV040 as i32;

fn sk(seed: u8) -> SecretKey {
    SecretKey::from_slice(&[seed; 32]).expect("valid test key")
}

fn scalar(seed: u8) -> Scalar {
    Scalar::from_slice(&[seed; 32]).expect("valid test scalar")
}

fn point(seed: u8) -> Point {
    scalar(seed).base_point_mul()
}

#[derive(Clone, Debug)]
enum TestTweak {
    None,
    Bip86,
    Root([u8; 32]),
    Generic(Vec<([u8; 32], bool)>),
}

impl TestTweak {
    fn apply(&self, req: &mut signrpc::MuSig2SessionRequest) {
        match self {
            TestTweak::None => {}
            TestTweak::Bip86 => {
                req.taproot_tweak = Some(signrpc::TaprootTweakDesc {
                    script_root: Vec::new(),
                    key_spend_only: true,
                })
            }
            TestTweak::Root(r) => {
                req.taproot_tweak = Some(signrpc::TaprootTweakDesc {
                    script_root: r.to_vec(),
                    key_spend_only: false,
                })
            }
            TestTweak::Generic(ts) => {
                req.tweaks = ts
                    .iter()
                    .map(|(t, x)| signrpc::TweakDesc {
                        tweak: t.to_vec(),
                        is_x_only: *x,
                    })
                    .collect()
            }
        }
    }

    /// The same context built independently with the crate.
    fn context(&self, keys: &[Point]) -> KeyAggContext {
        let mut keys = keys.to_vec();
        keys.sort_by_key(Point::serialize);
        let ctx = KeyAggContext::new(keys).expect("key agg");
        match self {
            TestTweak::None => ctx,
            TestTweak::Bip86 => ctx.with_unspendable_taproot_tweak().expect("bip86"),
            TestTweak::Root(r) => ctx.with_taproot_tweak(r).expect("root"),
            TestTweak::Generic(ts) => ts.iter().fold(ctx, |c, (t, x)| {
                c.with_tweak(Scalar::from_slice(t).expect("tweak"), *x)
                    .expect("tweak applies")
            }),
        }
    }
}

fn request(
    keys: &[Point],
    nonces: Vec<Vec<u8>>,
    tweak: &TestTweak,
) -> signrpc::MuSig2SessionRequest {
    let mut req = signrpc::MuSig2SessionRequest {
        key_loc: Some(signrpc::KeyLocator {
            key_family: 0,
            key_index: 7,
        }),
        all_signer_pubkeys: keys.iter().map(|k| k.serialize().to_vec()).collect(),
        other_signer_public_nonces: nonces,
        tweaks: Vec::new(),
        taproot_tweak: None,
        version: V100,
        pregenerated_local_nonce: Vec::new(),
    };
    tweak.apply(&mut req);
    req
}

struct Peer {
    sk: Scalar,
    secnonce: SecNonce,
    pubnonce: PubNonce,
}

fn peer(seed: u8) -> Peer {
    let sk = scalar(seed);
    let secnonce = SecNonce::build_with_seckey([seed ^ 0x5a; 32], sk).build();
    let pubnonce = secnonce.public_nonce();
    Peer {
        sk,
        secnonce,
        pubnonce,
    }
}

fn sign_req(id: &[u8], digest: &[u8], cleanup: bool) -> signrpc::MuSig2SignRequest {
    signrpc::MuSig2SignRequest {
        session_id: id.to_vec(),
        message_digest: digest.to_vec(),
        cleanup,
    }
}

fn combine_req(id: &[u8], sigs: Vec<Vec<u8>>) -> signrpc::MuSig2CombineSigRequest {
    signrpc::MuSig2CombineSigRequest {
        session_id: id.to_vec(),
        other_partial_signatures: sigs,
    }
}

/// Full flow: our signer (seed 1) plus `n − 1` crate peers; the peers'
/// nonces are given half at creation and half through RegisterNonces.
fn flow(n: u8, tweak: TestTweak) {
    flow_with_fill(n, tweak, 0)
}

/// Unrelated sessions, created so that the manager's cache of recent
/// aggregation contexts no longer holds the one of a session under test.
fn fill(m: &mut SessionManager, count: u8) {
    for i in 0..count {
        m.create_session(
            &sk(1),
            &request(&[point(1), point(200)], vec![], &TestTweak::None),
            [0xF0 ^ i; 32],
        )
        .expect("filler session");
    }
}

/// [`flow`], with `filler` unrelated sessions created before each step that
/// needs the aggregation context (Sign, CombineSig).
fn flow_with_fill(n: u8, tweak: TestTweak, filler: u8) {
    let digest = [0x42u8; 32];
    let peers: Vec<Peer> = (2..=n).map(peer).collect();
    let mut keys: Vec<Point> = vec![point(1)];
    keys.extend(peers.iter().map(|p| p.sk.base_point_mul()));
    // Unsorted on purpose: the signer sorts.
    keys.reverse();
    let nonces: Vec<Vec<u8>> = peers
        .iter()
        .map(|p| p.pubnonce.serialize().to_vec())
        .collect();
    let (at_create, later) = nonces.split_at(nonces.len() / 2);
    let mut m = SessionManager::default();
    let resp = m
        .create_session(
            &sk(1),
            &request(&keys, at_create.to_vec(), &tweak),
            [9u8; 32],
        )
        .expect("create");
    assert_eq!(resp.session_id.len(), 32);
    assert_eq!(resp.have_all_nonces, later.is_empty());
    let ctx = tweak.context(&keys);
    let q: Point = ctx.aggregated_pubkey();
    assert_eq!(
        resp.combined_key,
        q.serialize_xonly().to_vec(),
        "{tweak:?}: combined key"
    );
    let internal: Point = ctx.aggregated_pubkey_untweaked();
    match tweak {
        TestTweak::Bip86 | TestTweak::Root(_) => {
            assert_eq!(
                resp.taproot_internal_key,
                internal.serialize_xonly().to_vec()
            )
        }
        _ => assert!(resp.taproot_internal_key.is_empty()),
    }
    if !later.is_empty() {
        let r = m
            .register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
                session_id: resp.session_id.clone(),
                other_signer_public_nonces: later.to_vec(),
            })
            .expect("register");
        assert!(r.have_all_nonces);
    }
    let ours = PubNonce::from_bytes(&resp.local_public_nonces).expect("our nonce");
    let mut all = vec![ours.clone()];
    all.extend(peers.iter().map(|p| p.pubnonce.clone()));
    let agg = AggNonce::sum(&all);
    let got = m
        .get_combined_nonce(&signrpc::MuSig2GetCombinedNonceRequest {
            session_id: resp.session_id.clone(),
        })
        .expect("combined nonce");
    assert_eq!(got.combined_public_nonce, agg.serialize().to_vec());
    fill(&mut m, filler);
    let local = m
        .sign(&sign_req(&resp.session_id, &digest, false))
        .expect("sign");
    // Our partial signature verifies independently.
    let s = musig2::PartialSignature::from_slice(&local.local_partial_signature).expect("scalar");
    musig2::verify_partial(&ctx, s, &agg, point(1), &ours, digest)
        .expect("our partial sig verifies");
    let others: Vec<Vec<u8>> = peers
        .into_iter()
        .map(|p| {
            let s: musig2::PartialSignature =
                musig2::sign_partial(&ctx, p.sk, p.secnonce, &agg, digest).expect("peer signs");
            s.serialize().to_vec()
        })
        .collect();
    fill(&mut m, filler);
    // Give the peers' signatures one by one: only the last completes.
    let mut last = None;
    for (i, sig) in others.iter().enumerate() {
        let r = m
            .combine_sig(&combine_req(&resp.session_id, vec![sig.clone()]))
            .expect("combine");
        assert_eq!(r.have_all_signatures, i + 1 == others.len());
        last = Some(r);
    }
    let r = last.expect("at least one peer");
    let sig: [u8; 64] = r
        .final_signature
        .as_slice()
        .try_into()
        .expect("64-byte signature");
    let xonly: [u8; 32] = resp
        .combined_key
        .as_slice()
        .try_into()
        .expect("32-byte key");
    assert!(
        verify_bip340(&xonly, &digest, &sig),
        "{tweak:?}: final signature verifies"
    );
    // The session is gone after completion.
    // (The filler sessions are the same ones each time: same keys, same
    // nonce randomness, same ids.)
    assert_eq!(m.session_count(), usize::from(filler));
}

/// Sessions keep their keys and tweak, not the aggregation context: a
/// session whose context has left the cache rebuilds it, and signs and
/// combines exactly as one that did not wait.
#[test]
fn rebuilt_contexts_sign_and_combine_the_same() {
    for n in [2, 3] {
        flow_with_fill(n, TestTweak::None, 12);
        flow_with_fill(n, TestTweak::Bip86, 12);
        flow_with_fill(n, TestTweak::Root([0x12; 32]), 12);
        flow_with_fill(n, TestTweak::Generic(vec![([0x23; 32], true)]), 12);
    }
}

#[test]
fn two_of_two_all_tweaks() {
    flow(2, TestTweak::None);
    flow(2, TestTweak::Bip86);
    flow(2, TestTweak::Root([0x11; 32]));
    flow(
        2,
        TestTweak::Generic(vec![([0x22; 32], false), ([0x33; 32], true)]),
    );
}

#[test]
fn three_of_three_all_tweaks() {
    flow(3, TestTweak::None);
    flow(3, TestTweak::Bip86);
    flow(3, TestTweak::Root([0x44; 32]));
    flow(
        3,
        TestTweak::Generic(vec![([0x55; 32], true), ([0x66; 32], false)]),
    );
}

#[test]
fn taproot_tweak_takes_precedence_over_generic_tweaks() {
    let keys = [point(1), point(2)];
    let mut m = SessionManager::default();
    let mut req = request(&keys, vec![], &TestTweak::Bip86);
    req.tweaks = vec![signrpc::TweakDesc {
        tweak: vec![0x77; 32],
        is_x_only: false,
    }];
    let with_generic = m.create_session(&sk(1), &req, [1; 32]).expect("create");
    let plain = m
        .create_session(&sk(1), &request(&keys, vec![], &TestTweak::Bip86), [1; 32])
        .expect("create");
    assert_eq!(with_generic.combined_key, plain.combined_key);
}

/// V040: two signers with our manager each (x-only keys), combined and
/// verified as BIP-340; combined-nonce calls fail as in lnd.
#[test]
fn v040_two_signers() {
    for tweak in [TestTweak::None, TestTweak::Bip86, TestTweak::Root([3; 32])] {
        let keys: Vec<Vec<u8>> = [point(1), point(2)]
            .iter()
            .map(|p| p.serialize_xonly().to_vec())
            .collect();
        let mk = |local: u8, rand: u8, mgr: &mut SessionManager| {
            let mut req = request(&[point(1), point(2)], vec![], &tweak);
            req.version = V040;
            req.all_signer_pubkeys = keys.clone();
            mgr.create_session(&sk(local), &req, [rand; 32])
                .expect("create v040")
        };
        let (mut a, mut b) = (SessionManager::default(), SessionManager::default());
        let ra = mk(1, 10, &mut a);
        let rb = mk(2, 20, &mut b);
        assert_eq!(ra.combined_key, rb.combined_key);
        for (m, id, other) in [
            (&mut a, &ra.session_id, &rb.local_public_nonces),
            (&mut b, &rb.session_id, &ra.local_public_nonces),
        ] {
            let e = m
                .register_combined_nonce(&signrpc::MuSig2RegisterCombinedNonceRequest {
                    session_id: id.clone(),
                    combined_public_nonce: vec![2; 66],
                })
                .expect_err("v040 combined nonce");
            assert!(matches!(e, MuSig2Error::UnsupportedV040(_)), "{e}");
            let r = m
                .register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
                    session_id: id.clone(),
                    other_signer_public_nonces: vec![other.clone()],
                })
                .expect("register");
            assert!(r.have_all_nonces);
            let e = m
                .get_combined_nonce(&signrpc::MuSig2GetCombinedNonceRequest {
                    session_id: id.clone(),
                })
                .expect_err("v040 get combined nonce");
            assert!(
                e.to_string()
                    .contains("method not supported in MuSig2 v0.4.0"),
                "{e}"
            );
        }
        let digest = [0x99u8; 32];
        // Sessions created since: a's context is rebuilt, b's is cached.
        fill(&mut a, 12);
        let sa = a
            .sign(&sign_req(&ra.session_id, &digest, false))
            .expect("sign a");
        let sb = b
            .sign(&sign_req(&rb.session_id, &digest, true))
            .expect("sign b");
        let done = a
            .combine_sig(&combine_req(
                &ra.session_id,
                vec![sb.local_partial_signature],
            ))
            .expect("combine");
        assert!(done.have_all_signatures);
        let sig: [u8; 64] = done
            .final_signature
            .as_slice()
            .try_into()
            .expect("64 bytes");
        let x: [u8; 32] = ra.combined_key.as_slice().try_into().expect("32 bytes");
        assert!(verify_bip340(&x, &digest, &sig), "{tweak:?}");
        assert_eq!(sa.local_partial_signature.len(), 32);
    }
}

/// RegisterCombinedNonce instead of individual nonces (coordinator flow).
#[test]
fn combined_nonce_flow() {
    let digest = [5u8; 32];
    let p = peer(2);
    let keys = [point(1), point(2)];
    let mut m = SessionManager::default();
    let resp = m
        .create_session(&sk(1), &request(&keys, vec![], &TestTweak::Bip86), [4; 32])
        .expect("create");
    assert!(!resp.have_all_nonces);
    let ours = PubNonce::from_bytes(&resp.local_public_nonces).expect("nonce");
    let agg = AggNonce::sum([ours, p.pubnonce.clone()]);
    m.register_combined_nonce(&signrpc::MuSig2RegisterCombinedNonceRequest {
        session_id: resp.session_id.clone(),
        combined_public_nonce: agg.serialize().to_vec(),
    })
    .expect("register combined");
    let got = m
        .get_combined_nonce(&signrpc::MuSig2GetCombinedNonceRequest {
            session_id: resp.session_id.clone(),
        })
        .expect("get");
    assert_eq!(got.combined_public_nonce, agg.serialize().to_vec());
    let e = m
        .register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
            session_id: resp.session_id.clone(),
            other_signer_public_nonces: vec![p.pubnonce.serialize().to_vec()],
        })
        .expect_err("already complete");
    assert!(matches!(e, MuSig2Error::AlreadyHaveAllNonces(_)), "{e}");
    m.sign(&sign_req(&resp.session_id, &digest, false))
        .expect("sign");
    let ctx = TestTweak::Bip86.context(&keys);
    let ps: musig2::PartialSignature =
        musig2::sign_partial(&ctx, p.sk, p.secnonce, &agg, digest).expect("peer");
    let done = m
        .combine_sig(&combine_req(
            &resp.session_id,
            vec![ps.serialize().to_vec()],
        ))
        .expect("combine");
    assert!(done.have_all_signatures);
}

// ---- bad input (each a clear error) ------------------------------------

fn two_party() -> (SessionManager, signrpc::MuSig2SessionResponse, Peer) {
    let p = peer(2);
    let mut m = SessionManager::default();
    let resp = m
        .create_session(
            &sk(1),
            &request(&[point(1), point(2)], vec![], &TestTweak::Bip86),
            [8; 32],
        )
        .expect("create");
    (m, resp, p)
}

#[test]
fn bad_version_zero() {
    let mut req = request(&[point(1), point(2)], vec![], &TestTweak::Bip86);
    req.version = 0;
    req.key_loc = None; // the version is checked first
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("version 0");
    assert!(matches!(e, MuSig2Error::UnknownVersion(_)), "{e}");
    assert!(e.to_string().contains("MUSIG2_VERSION_UNDEFINED"), "{e}");
    assert!(
        e.to_string().contains("the version field is mandatory"),
        "{e}"
    );
}

#[test]
fn bad_unknown_session_id() {
    let (mut m, _, _) = two_party();
    let e = m
        .sign(&sign_req(&[7; 32], &[0; 32], false))
        .expect_err("unknown id");
    assert_eq!(
        e.to_string(),
        format!(
            "error signing: session with ID {} not found",
            hex::encode([7u8; 32])
        )
    );
    let e = m
        .cleanup(&signrpc::MuSig2CleanupRequest {
            session_id: vec![7; 32],
        })
        .expect_err("unknown id");
    assert!(matches!(e, MuSig2Error::SessionNotFound { .. }), "{e}");
}

#[test]
fn bad_session_id_31_bytes() {
    let (mut m, _, _) = two_party();
    let e = m
        .register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
            session_id: vec![1; 31],
            other_signer_public_nonces: vec![vec![2; 66]],
        })
        .expect_err("31-byte id");
    assert_eq!(e, MuSig2Error::SessionIdLength(31));
    assert_eq!(
        e.to_string(),
        "error parsing session ID: invalid session ID size, got 31 but expected 32"
    );
}

#[test]
fn bad_one_signer_key() {
    let req = request(&[point(1)], vec![], &TestTweak::Bip86);
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("one key");
    assert_eq!(e, MuSig2Error::TooFewSignerKeys);
}

#[test]
fn bad_local_key_not_among_signers() {
    let req = request(&[point(2), point(3)], vec![], &TestTweak::Bip86);
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("not a signer");
    assert_eq!(e, MuSig2Error::LocalKeyNotInSigners);
    assert!(
        e.to_string()
            .contains("signing key is not found in key set"),
        "{e}"
    );
    // V100RC2 compares full points: the same x with the other parity is not us.
    let mut flipped = point(1).serialize();
    flipped[0] ^= 1;
    let mut req = request(&[point(1), point(2)], vec![], &TestTweak::Bip86);
    req.all_signer_pubkeys[0] = flipped.to_vec();
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("parity");
    assert_eq!(e, MuSig2Error::LocalKeyNotInSigners);
}

#[test]
fn bad_nonce_of_65_bytes() {
    let req = request(&[point(1), point(2)], vec![vec![2; 65]], &TestTweak::Bip86);
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("65 bytes");
    assert_eq!(e, MuSig2Error::NonceLength { index: 0, len: 65 });
    let (mut m, resp, _) = two_party();
    let e = m
        .register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
            session_id: resp.session_id,
            other_signer_public_nonces: vec![vec![2; 65]],
        })
        .expect_err("65 bytes");
    assert_eq!(e, MuSig2Error::NonceLength { index: 0, len: 65 });
}

#[test]
fn bad_too_many_nonces() {
    let p = peer(2);
    let n = p.pubnonce.serialize().to_vec();
    let req = request(
        &[point(1), point(2)],
        vec![n.clone(), n.clone()],
        &TestTweak::Bip86,
    );
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("too many");
    assert_eq!(e, MuSig2Error::TooManyNonces { got: 2, max: 1 });
    let (mut m, resp, _) = {
        let mut m = SessionManager::default();
        let resp = m
            .create_session(
                &sk(1),
                &request(&[point(1), point(2), point(3)], vec![], &TestTweak::None),
                [1; 32],
            )
            .expect("create");
        (m, resp, ())
    };
    let e = m
        .register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
            session_id: resp.session_id,
            other_signer_public_nonces: vec![n.clone(), n.clone(), n],
        })
        .expect_err("too many");
    assert_eq!(
        e,
        MuSig2Error::NoncesRemaining {
            remaining: 2,
            got: 3
        }
    );
}

#[test]
fn bad_digest_of_31_bytes() {
    let (mut m, resp, _) = two_party();
    let e = m
        .sign(&sign_req(&resp.session_id, &[0; 31], false))
        .expect_err("31-byte digest");
    assert_eq!(e, MuSig2Error::DigestLength(31));
    assert_eq!(
        e.to_string(),
        "invalid message digest size, got 31 but expected 32"
    );
}

#[test]
fn bad_signing_before_all_nonces() {
    let (mut m, resp, _) = two_party();
    let e = m
        .sign(&sign_req(&resp.session_id, &[0; 32], false))
        .expect_err("no nonces");
    assert_eq!(e, MuSig2Error::MissingNonces { have: 1, need: 2 });
    assert_eq!(
        e.to_string(),
        "error signing: only have 1 of 2 required nonces"
    );
}

fn ready(m: &mut SessionManager, resp: &signrpc::MuSig2SessionResponse, p: &Peer) {
    m.register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
        session_id: resp.session_id.clone(),
        other_signer_public_nonces: vec![p.pubnonce.serialize().to_vec()],
    })
    .expect("register");
}

#[test]
fn bad_partial_signature_not_below_n() {
    let (mut m, resp, p) = two_party();
    ready(&mut m, &resp, &p);
    m.sign(&sign_req(&resp.session_id, &[1; 32], false))
        .expect("sign");
    let e = m
        .combine_sig(&combine_req(&resp.session_id, vec![vec![0xff; 32]]))
        .expect_err("≥ n");
    assert_eq!(e, MuSig2Error::PartialSigRange(0));
    let e = m
        .combine_sig(&combine_req(&resp.session_id, vec![vec![1; 31]]))
        .expect_err("31 bytes");
    assert_eq!(e, MuSig2Error::PartialSigLength { index: 0, len: 31 });
    let e = m
        .combine_sig(&combine_req(&resp.session_id, vec![]))
        .expect_err("none");
    assert_eq!(e, MuSig2Error::NoPartialSignatures);
    // A wrong (but in-range) partial signature: the final signature check fails.
    let e = m
        .combine_sig(&combine_req(&resp.session_id, vec![vec![1; 32]]))
        .expect_err("invalid");
    assert_eq!(e, MuSig2Error::FinalSigInvalid);
}

#[test]
fn bad_second_sign() {
    let (mut m, resp, p) = two_party();
    ready(&mut m, &resp, &p);
    m.sign(&sign_req(&resp.session_id, &[1; 32], false))
        .expect("first sign");
    let e = m
        .sign(&sign_req(&resp.session_id, &[2; 32], false))
        .expect_err("second sign");
    assert_eq!(e, MuSig2Error::NonceAlreadyUsed);
    assert!(e.to_string().contains("nonce already used"), "{e}");
}

fn pregenerated(seed: u8, owner: &Point) -> Vec<u8> {
    let mut v = Vec::with_capacity(97);
    v.extend_from_slice(&scalar(seed).serialize());
    v.extend_from_slice(&scalar(seed.wrapping_add(1)).serialize());
    v.extend_from_slice(&owner.serialize());
    v
}

// ---- nonce reuse: identical context allowed, any other refused ----------

/// One `GetSignedCommitTx` of lnd (`lnwallet/channel.go`) for the local
/// commitment of a taproot channel: CreateSession with the pre-generated
/// verification nonce and the peer's signing nonce, Sign the commitment
/// digest (`cleanup=false`), CombineSig with the peer's partial signature.
/// Returns our partial signature and the verified final signature.
struct Commit {
    keys: Vec<Point>,
    tweak: TestTweak,
    local: u8,
    nonce: Vec<u8>,
    remote: u8,
    remote_nonce: u8,
    digest: [u8; 32],
    /// Register the peer's nonce with RegisterNonces instead of at creation.
    register: bool,
}

impl Commit {
    /// lnd's force close of a 2-of-2 BIP-86 channel (our key seed 1, the
    /// peer's seed 2).
    fn force_close() -> Self {
        Commit {
            keys: vec![point(1), point(2)],
            tweak: TestTweak::Bip86,
            local: 1,
            nonce: pregenerated(0x30, &point(1)),
            remote: 2,
            remote_nonce: 2,
            digest: [0xd1; 32],
            register: false,
        }
    }

    /// The peer: key from `remote`, nonce scalars from `remote_nonce`
    /// only (so a test can change one without the other).
    fn peer(&self) -> Peer {
        let sk = scalar(self.remote);
        let secnonce = SecNonce::new(
            scalar(self.remote_nonce ^ 0x70),
            scalar(self.remote_nonce ^ 0x60),
            sk.base_point_mul(),
        );
        let pubnonce = secnonce.public_nonce();
        Peer {
            sk,
            secnonce,
            pubnonce,
        }
    }

    /// CreateSession (+ RegisterNonces) and Sign; the session id and our
    /// partial signature.
    fn sign(&self, m: &mut SessionManager) -> Result<(Vec<u8>, Vec<u8>), MuSig2Error> {
        let p = self.peer();
        let at_create = if self.register {
            vec![]
        } else {
            vec![p.pubnonce.serialize().to_vec()]
        };
        let mut req = request(&self.keys, at_create, &self.tweak);
        req.pregenerated_local_nonce = self.nonce.clone();
        let resp = m
            .create_session(&sk(self.local), &req, [0; 32])
            .expect("CreateSession accepts a nonce that already signed");
        if self.register {
            ready(m, &resp, &p);
        }
        let sig = m.sign(&sign_req(&resp.session_id, &self.digest, false))?;
        Ok((resp.session_id, sig.local_partial_signature))
    }

    /// The whole flow; panics unless the final signature verifies.
    fn run(&self, m: &mut SessionManager) -> Result<Vec<u8>, MuSig2Error> {
        let (id, ours) = self.sign(m)?;
        let p = self.peer();
        let ctx = self.tweak.context(&self.keys);
        let local_nonce = SecNonce::new(
            scalar(self.nonce[0]),
            scalar(self.nonce[32]),
            point(self.local),
        )
        .public_nonce();
        let agg = AggNonce::sum([local_nonce, p.pubnonce.clone()]);
        let theirs: musig2::PartialSignature =
            musig2::sign_partial(&ctx, p.sk, p.secnonce, &agg, self.digest).expect("peer signs");
        let r = m
            .combine_sig(&combine_req(&id, vec![theirs.serialize().to_vec()]))
            .expect("combine");
        assert!(r.have_all_signatures);
        let q: Point = ctx.aggregated_pubkey();
        let sig: [u8; 64] = r.final_signature.as_slice().try_into().expect("64 bytes");
        assert!(
            verify_bip340(&q.serialize_xonly(), &self.digest, &sig),
            "final signature verifies"
        );
        Ok(ours)
    }
}

/// The reason of a nonce-reuse refusal.
fn reuse_reason(e: MuSig2Error) -> String {
    let text = e.to_string();
    match e {
        MuSig2Error::NonceReuse { reason, .. } => {
            assert!(
                text.contains("already signed") && text.contains(&reason),
                "{text}"
            );
            reason
        }
        other => panic!("not a nonce-reuse refusal: {other}"),
    }
}

/// lnd signs the local commitment from `ValidateChannel` (funding
/// confirmed) and again from `ForceClose`, both times with the same
/// verification nonce, peer nonce and digest: both succeed with the same
/// partial signature.
#[test]
fn force_close_repeats_get_signed_commit_tx() {
    let mut m = SessionManager::default();
    let c = Commit::force_close();
    let first = c.run(&mut m).expect("funding confirmed: GetSignedCommitTx");
    let second = c.run(&mut m).expect("force close: GetSignedCommitTx again");
    assert_eq!(first, second, "byte-identical partial signature");
    // The same context reached another way (peer nonce registered later,
    // keys in another order) is the same context.
    let mut other_path = Commit::force_close();
    other_path.register = true;
    other_path.keys.reverse();
    assert_eq!(other_path.run(&mut m).expect("third repeat"), first);
    // A second Sign on one session stays refused, even for the same digest
    // (lnd's btcec session blanks its nonce).
    let (id, _) = c.sign(&mut m).expect("fourth repeat");
    let e = m
        .sign(&sign_req(&id, &c.digest, false))
        .expect_err("second sign on one session");
    assert_eq!(e, MuSig2Error::NonceAlreadyUsed);
    assert_eq!(m.session_count(), 1);
}

#[test]
fn bad_reused_nonce_for_another_digest() {
    let mut m = SessionManager::default();
    let c = Commit::force_close();
    let first = c.run(&mut m).expect("first");
    let mut other = Commit::force_close();
    other.digest = [0xd2; 32];
    let e = other.sign(&mut m).expect_err("another digest");
    assert_eq!(reuse_reason(e), "different message digest");
    // The refusal did not replace the recorded context.
    assert_eq!(c.run(&mut m).expect("repeat after a refusal"), first);
}

/// A signer that starts after another one signed (a reload, a standby tab
/// taking over) and imports the stored record refuses the nonce in another
/// context too, and still repeats the identical one; without the record it
/// would sign.
#[test]
fn bad_reused_nonce_across_signers_with_the_stored_record() {
    let mut old = SessionManager::default();
    old.journal_used_nonces(true);
    let c = Commit::force_close();
    let first = c.run(&mut old).expect("first signer signs");
    let stored = old.take_used_nonces();
    assert_eq!(stored.len(), lnd_web_signer::musig2::USED_NONCE_ENTRY_LEN);

    let mut other = Commit::force_close();
    other.digest = [0xd2; 32];
    let mut forgetful = SessionManager::default();
    assert!(
        other.sign(&mut forgetful).is_ok(),
        "without the record a new signer cannot know"
    );

    let mut new = SessionManager::default();
    new.journal_used_nonces(true);
    assert_eq!(new.import_used_nonces(&stored), Ok(1));
    let e = other
        .sign(&mut new)
        .expect_err("another digest after the takeover");
    assert_eq!(reuse_reason(e), "different message digest");
    assert_eq!(c.run(&mut new).expect("identical repeat"), first);
    assert!(new.take_used_nonces().is_empty(), "nothing new to store");
}

#[test]
fn bad_reused_nonce_with_another_peer_nonce() {
    let mut m = SessionManager::default();
    Commit::force_close().run(&mut m).expect("first");
    // Same digest, another peer nonce (so another aggregate nonce).
    let mut other = Commit::force_close();
    other.remote_nonce = 3;
    let e = other.sign(&mut m).expect_err("another peer nonce");
    assert_eq!(
        reuse_reason(e),
        "different aggregate nonce (another signer's nonce)"
    );
}

#[test]
fn bad_reused_nonce_with_another_key_set_tweak_or_local_key() {
    let key_reason = "different key set, tweak, local key or version";
    let mut m = SessionManager::default();
    Commit::force_close().run(&mut m).expect("first");
    let mut script_root = Commit::force_close();
    script_root.tweak = TestTweak::Root([0x11; 32]);
    let mut generic = Commit::force_close();
    generic.tweak = TestTweak::Generic(vec![([0x22; 32], true)]);
    let mut untweaked = Commit::force_close();
    untweaked.tweak = TestTweak::None;
    // Another peer key (same peer nonce and digest).
    let mut key_set = Commit::force_close();
    key_set.keys = vec![point(1), point(3)];
    key_set.remote = 3;
    let mut three = Commit::force_close();
    three.keys = vec![point(1), point(2), point(3)];
    // Another local key in the set, the same secret nonce scalars.
    let mut local = Commit::force_close();
    local.keys = vec![point(4), point(2)];
    local.local = 4;
    local.nonce = pregenerated(0x30, &point(4));
    for (name, c) in [
        ("script root", &script_root),
        ("generic tweak", &generic),
        ("no tweak", &untweaked),
        ("peer key", &key_set),
    ] {
        let e = c.sign(&mut m).expect_err(name);
        assert_eq!(reuse_reason(e), key_reason, "{name}");
    }
    let e = local.sign(&mut m).expect_err("local key");
    assert_eq!(reuse_reason(e), key_reason, "local key");
    // Three signers (both other nonces given at creation): the key set and
    // the aggregate nonce differ.
    let mut req = request(
        &three.keys,
        vec![
            three.peer().pubnonce.serialize().to_vec(),
            peer(3).pubnonce.serialize().to_vec(),
        ],
        &three.tweak,
    );
    req.pregenerated_local_nonce = three.nonce.clone();
    let resp = m.create_session(&sk(1), &req, [0; 32]).expect("create");
    let e = m
        .sign(&sign_req(&resp.session_id, &three.digest, false))
        .expect_err("three signers");
    assert!(reuse_reason(e).starts_with(key_reason));
}

/// Two sessions created with one nonce before either signed (different
/// signer sets, so different ids): the second Sign is refused.
#[test]
fn bad_nonce_shared_by_two_unsigned_sessions() {
    let mut m = SessionManager::default();
    let mut a = Commit::force_close();
    a.nonce = pregenerated(0x40, &point(1));
    let mut b = Commit::force_close();
    b.nonce = a.nonce.clone();
    b.keys = vec![point(1), point(3)];
    b.remote = 3;
    b.remote_nonce = 3;
    b.digest = [0xd3; 32];
    let p = a.peer();
    let mut req = request(&a.keys, vec![p.pubnonce.serialize().to_vec()], &a.tweak);
    req.pregenerated_local_nonce = a.nonce.clone();
    let sa = m.create_session(&sk(1), &req, [0; 32]).expect("create a");
    let q = b.peer();
    let mut req = request(&b.keys, vec![q.pubnonce.serialize().to_vec()], &b.tweak);
    req.pregenerated_local_nonce = b.nonce.clone();
    let sb = m.create_session(&sk(1), &req, [0; 32]).expect("create b");
    assert_ne!(sa.session_id, sb.session_id);
    m.sign(&sign_req(&sa.session_id, &a.digest, false))
        .expect("sign a");
    let e = m
        .sign(&sign_req(&sb.session_id, &b.digest, false))
        .expect_err("sign b");
    assert_eq!(
        reuse_reason(e),
        "different key set, tweak, local key or version, \
         different aggregate nonce (another signer's nonce), different message digest"
    );
}

#[test]
fn bad_pregenerated_nonce_for_another_key() {
    let p = peer(2);
    let mut m = SessionManager::default();
    let mut req = request(
        &[point(1), point(2)],
        vec![p.pubnonce.serialize().to_vec()],
        &TestTweak::Bip86,
    );
    req.pregenerated_local_nonce = pregenerated(0x50, &point(9));
    let resp = m
        .create_session(&sk(1), &req, [0; 32])
        .expect("create (lnd checks at signing)");
    let e = m
        .sign(&sign_req(&resp.session_id, &[1; 32], false))
        .expect_err("wrong owner");
    assert_eq!(e, MuSig2Error::SecNoncePubkey);
    req.pregenerated_local_nonce = vec![0; 96];
    let e = m
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("96 bytes");
    assert_eq!(e, MuSig2Error::LocalNonceLength(96));
}

#[test]
fn bad_register_combined_nonce_after_other_nonce() {
    let mut m = SessionManager::default();
    let resp = m
        .create_session(
            &sk(1),
            &request(&[point(1), point(2), point(3)], vec![], &TestTweak::None),
            [1; 32],
        )
        .expect("create");
    m.register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
        session_id: resp.session_id.clone(),
        other_signer_public_nonces: vec![peer(2).pubnonce.serialize().to_vec()],
    })
    .expect("one nonce");
    let e = m
        .register_combined_nonce(&signrpc::MuSig2RegisterCombinedNonceRequest {
            session_id: resp.session_id.clone(),
            combined_public_nonce: peer(3).pubnonce.serialize().to_vec(),
        })
        .expect_err("after nonces");
    assert_eq!(e, MuSig2Error::CombinedNonceAfterNonces);
    let e = m
        .register_combined_nonce(&signrpc::MuSig2RegisterCombinedNonceRequest {
            session_id: resp.session_id,
            combined_public_nonce: vec![2; 65],
        })
        .expect_err("length");
    assert_eq!(e, MuSig2Error::CombinedNonceLength(65));
}

#[test]
fn combine_before_sign_is_refused() {
    let (mut m, resp, p) = two_party();
    ready(&mut m, &resp, &p);
    // All n signatures but without ours: lnd would crash here; we refuse.
    let e = m
        .combine_sig(&combine_req(
            &resp.session_id,
            vec![vec![1; 32], vec![2; 32]],
        ))
        .expect_err("before sign");
    assert_eq!(e, MuSig2Error::CombineBeforeSign);
    // Fewer than n before signing are accepted (as lnd does).
    let r = m
        .combine_sig(&combine_req(&resp.session_id, vec![vec![1; 32]]))
        .expect("one early sig");
    assert!(!r.have_all_signatures);
}

#[test]
fn error_order_follows_lnd() {
    // Signer-key errors before nonce-count errors.
    let mut req = request(
        &[point(1)],
        vec![vec![0; 66], vec![0; 66]],
        &TestTweak::None,
    );
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("order");
    assert_eq!(e, MuSig2Error::TooFewSignerKeys);
    // Missing key_loc before signer keys.
    req.key_loc = None;
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("order");
    assert_eq!(e, MuSig2Error::MissingKeyLoc);
    // Request checks come before key derivation; derivation before the
    // signer-set check.
    let failing = |_: u32, _: u32| -> Result<SecretKey, String> { Err("no such key".into()) };
    let mut req = request(&[point(2), point(3)], vec![vec![0; 65]], &TestTweak::None);
    let e = SessionManager::default()
        .create_session_with(&failing, &req, &FixedEntropy([0; 32]))
        .expect_err("order");
    assert_eq!(e, MuSig2Error::NonceLength { index: 0, len: 65 });
    req.other_signer_public_nonces.clear();
    req.tweaks = vec![signrpc::TweakDesc {
        tweak: vec![],
        is_x_only: false,
    }];
    let e = SessionManager::default()
        .create_session_with(&failing, &req, &FixedEntropy([0; 32]))
        .expect_err("order");
    assert_eq!(e, MuSig2Error::Tweak("tweak cannot be empty"));
    req.tweaks.clear();
    let e = SessionManager::default()
        .create_session_with(&failing, &req, &FixedEntropy([0; 32]))
        .expect_err("order");
    assert_eq!(e, MuSig2Error::KeyDerivation("no such key".into()));
    // key_loc is passed through as (family, index).
    let seen = Mutex::new(None);
    let record = |f: u32, i: u32| -> Result<SecretKey, String> {
        *seen.lock().expect("lock") = Some((f, i));
        Ok(sk(1))
    };
    let req = request(&[point(1), point(2)], vec![], &TestTweak::None);
    SessionManager::default()
        .create_session_with(&record, &req, &FixedEntropy([0; 32]))
        .expect("create");
    assert_eq!(*seen.lock().expect("lock"), Some((0, 7)));
    // Sign: digest length before the session lookup.
    let e = SessionManager::default()
        .sign(&sign_req(&[1; 32], &[0; 5], false))
        .expect_err("order");
    assert_eq!(e, MuSig2Error::DigestLength(5));
    // Script root must be non-empty when not key-spend-only.
    let mut req = request(&[point(1), point(2)], vec![], &TestTweak::None);
    req.taproot_tweak = Some(signrpc::TaprootTweakDesc {
        script_root: vec![],
        key_spend_only: false,
    });
    let e = SessionManager::default()
        .create_session(&sk(1), &req, [0; 32])
        .expect_err("root");
    assert_eq!(
        e,
        MuSig2Error::Tweak("script root cannot be empty for non-keyspend")
    );
}

#[test]
fn same_session_id_replaces_silently() {
    let p = peer(2);
    let mut m = SessionManager::default();
    let mut req = request(&[point(1), point(2)], vec![], &TestTweak::Bip86);
    req.pregenerated_local_nonce = pregenerated(0x60, &point(1));
    let a = m.create_session(&sk(1), &req, [0; 32]).expect("create");
    ready(&mut m, &a, &p);
    let b = m.create_session(&sk(1), &req, [0; 32]).expect("re-create");
    assert_eq!(a.session_id, b.session_id);
    assert_eq!(m.session_count(), 1);
    // The new session has no peer nonce yet: the old state is gone.
    let e = m
        .sign(&sign_req(&b.session_id, &[1; 32], false))
        .expect_err("fresh session");
    assert_eq!(e, MuSig2Error::MissingNonces { have: 1, need: 2 });
}

#[test]
fn fresh_nonces_differ_with_entropy_and_cleanup_works() {
    let keys = [point(1), point(2)];
    let mut m = SessionManager::default();
    let a = m
        .create_session(&sk(1), &request(&keys, vec![], &TestTweak::Bip86), [1; 32])
        .expect("a");
    let b = m
        .create_session(&sk(1), &request(&keys, vec![], &TestTweak::Bip86), [2; 32])
        .expect("b");
    assert_ne!(a.local_public_nonces, b.local_public_nonces);
    assert_ne!(a.session_id, b.session_id);
    assert_eq!(m.session_count(), 2);
    m.cleanup(&signrpc::MuSig2CleanupRequest {
        session_id: a.session_id.clone(),
    })
    .expect("cleanup");
    assert_eq!(m.session_count(), 1);
    let e = m
        .cleanup(&signrpc::MuSig2CleanupRequest {
            session_id: a.session_id,
        })
        .expect_err("gone");
    assert!(matches!(e, MuSig2Error::SessionNotFound { .. }), "{e}");
    // Sign with cleanup=true removes the session.
    ready(&mut m, &b, &peer(2));
    m.sign(&sign_req(&b.session_id, &[3; 32], true))
        .expect("sign");
    assert_eq!(m.session_count(), 0);
}

#[test]
fn unfinished_sessions_are_bounded() {
    let limits = Limits {
        max_unsigned_sessions: 3,
        max_signed_sessions: 2,
        used_nonce_record: 100,
    };
    let mut m = SessionManager::new(limits);
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = Arc::clone(&lines);
    m.set_logger(Box::new(move |l| {
        sink.lock().expect("lock").push(l.to_string())
    }));
    let keys = [point(1), point(2)];
    let ids: Vec<Vec<u8>> = (0..5u8)
        .map(|i| {
            m.create_session(&sk(1), &request(&keys, vec![], &TestTweak::Bip86), [i; 32])
                .expect("create")
                .session_id
        })
        .collect();
    assert_eq!(m.session_count(), 3);
    assert_eq!(m.evictions(), (2, 0));
    let logged = lines.lock().expect("lock").clone();
    assert_eq!(logged.len(), 2);
    assert!(logged[0].contains(&hex::encode(&ids[0])), "{logged:?}");
    let e = m
        .cleanup(&signrpc::MuSig2CleanupRequest {
            session_id: ids[0].clone(),
        })
        .expect_err("evicted");
    assert!(matches!(e, MuSig2Error::SessionNotFound { .. }));
    // Signed but unfinished sessions have their own bound.
    for id in &ids[2..] {
        ready_id(&mut m, id, &peer(2));
        m.sign(&sign_req(id, &[7; 32], false)).expect("sign");
    }
    assert_eq!(m.session_count(), 2);
    assert_eq!(m.evictions(), (2, 1));
    assert!(format!("{m:?}").contains("[redacted]"));
    // Lower bounds apply at once (the oldest go), and are logged.
    let unsigned = m
        .create_session(&sk(1), &request(&keys, vec![], &TestTweak::Bip86), [9; 32])
        .expect("create");
    assert_eq!(m.session_count(), 3);
    m.set_limits(Limits::for_sessions(1));
    assert_eq!(m.limits(), Limits::for_sessions(1));
    assert_eq!(m.session_count(), 2);
    assert_eq!(m.evictions(), (2, 2));
    assert_eq!(lines.lock().expect("lock").len(), 4);
    m.cleanup(&signrpc::MuSig2CleanupRequest {
        session_id: unsigned.session_id,
    })
    .expect("the never-signed session is kept");
    assert_eq!(Limits::for_sessions(10_000), Limits::default());
}

fn ready_id(m: &mut SessionManager, id: &[u8], p: &Peer) {
    m.register_nonces(&signrpc::MuSig2RegisterNoncesRequest {
        session_id: id.to_vec(),
        other_signer_public_nonces: vec![p.pubnonce.serialize().to_vec()],
    })
    .expect("register");
}

#[test]
fn signer_key_encodings_as_lnd() {
    let keys = [point(1), point(2)];
    let mut m = SessionManager::default();
    let compressed = m
        .create_session(&sk(1), &request(&keys, vec![], &TestTweak::Bip86), [1; 32])
        .expect("compressed");
    // btcec.ParsePubKey also takes the uncompressed encoding.
    let mut req = request(&keys, vec![], &TestTweak::Bip86);
    req.all_signer_pubkeys[1] = keys[1].serialize_uncompressed().to_vec();
    let uncompressed = m
        .create_session(&sk(1), &req, [1; 32])
        .expect("uncompressed");
    assert_eq!(compressed.combined_key, uncompressed.combined_key);
    // x-only is not a V100RC2 key; garbage is rejected with the index.
    req.all_signer_pubkeys[1] = keys[1].serialize_xonly().to_vec();
    let e = m.create_session(&sk(1), &req, [1; 32]).expect_err("x-only");
    assert!(
        matches!(e, MuSig2Error::InvalidSignerKey { index: 1, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("v1.0.0rc2 (compressed format)"),
        "{e}"
    );
    // V040 wants x-only keys.
    let mut req = request(&keys, vec![], &TestTweak::Bip86);
    req.version = V040;
    let e = m
        .create_session(&sk(1), &req, [1; 32])
        .expect_err("33-byte key for v040");
    assert!(
        matches!(e, MuSig2Error::InvalidSignerKey { index: 0, .. }),
        "{e}"
    );
    assert!(e.to_string().contains("v0.4.0 (x-only format)"), "{e}");
}
