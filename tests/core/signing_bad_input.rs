//! Bad and borderline requests: each gets a clear error (naming the input
//! where there is one) or is skipped exactly as lnd skips it; nothing panics
//! and nothing is signed that should not be.

use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::keys::bitcoin::bip32::{ChildNumber, DerivationPath};
use lnd_web_signer::keys::bitcoin::psbt::{raw, Psbt};
use lnd_web_signer::keys::bitcoin::secp256k1::{SecretKey, XOnlyPublicKey, SECP256K1};
use lnd_web_signer::keys::bitcoin::taproot::TapLeafHash;
use lnd_web_signer::keys::bitcoin::{hashes::Hash, Amount, ScriptBuf, TxOut};
use lnd_web_signer::keys::{Network, RootKey, HARDENED};
use lnd_web_signer::proto::signrpc::{
    KeyDescriptor, KeyLocator, MuSig2CleanupRequest, MuSig2CombineSigRequest,
    MuSig2GetCombinedNonceRequest, MuSig2RegisterCombinedNonceRequest, MuSig2RegisterNoncesRequest,
    MuSig2SessionRequest, MuSig2SignRequest, MuSig2Version, SharedKeyRequest, SignMessageReq,
};
use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest;
use lnd_web_signer::request::{Work, ERROR_PREFIX};
use lnd_web_signer::signer::Signer;
use lnd_web_signer::signing::psbt::wire_scan;
use lnd_web_signer_testkit::fixtures::{build_psbt, FixtureInput, InputKind};

fn root() -> RootKey {
    RootKey::from_seed_entropy(&[0x42; 16], Network::Regtest).expect("root")
}

fn signer() -> Signer {
    Signer::new(root(), Box::new(OsEntropy))
}

fn handle(req: Req) -> Resp {
    let resp = signer().handle(
        &Work::try_from(SignCoordinatorRequest {
            request_id: 77,
            sign_request_type: Some(req),
        })
        .expect("signing work"),
    );
    assert_eq!(resp.ref_request_id, 77);
    resp.sign_response_type.expect("response member")
}

fn error_of(req: Req) -> String {
    match handle(req) {
        Resp::SignerError(e) => {
            assert!(e.error.starts_with(ERROR_PREFIX), "{}", e.error);
            e.error
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

fn psbt_req(raw: Vec<u8>) -> Req {
    Req::SignPsbtRequest(SignPsbtRequest { funded_psbt: raw })
}

fn fixture(kind: InputKind) -> Psbt {
    build_psbt(
        &root(),
        &[FixtureInput {
            kind,
            index: 0,
            value: 40_000,
            sighash: Some(1),
        }],
    )
    .expect("fixture")
    .psbt
}

fn psbt_error(p: &Psbt) -> String {
    error_of(psbt_req(p.serialize()))
}

/// Signs and asserts nothing was signed and the packet came back unchanged.
fn assert_skipped(p: &Psbt) {
    let raw = p.serialize();
    match handle(psbt_req(raw.clone())) {
        Resp::SignPsbtResponse(r) => {
            assert!(r.signed_inputs.is_empty(), "must be skipped");
            assert_eq!(r.signed_psbt, raw, "packet must come back unchanged");
        }
        other => panic!("expected a (no-op) SignPsbt response, got {other:?}"),
    }
}

fn assert_signed(p: &Psbt) -> Psbt {
    match handle(psbt_req(p.serialize())) {
        Resp::SignPsbtResponse(r) => {
            assert_eq!(r.signed_inputs, vec![0]);
            Psbt::deserialize(&r.signed_psbt).expect("reparse")
        }
        other => panic!("expected a signature, got {other:?}"),
    }
}

fn set_path(p: &mut Psbt, path: &[u32]) {
    let (_, (_, source)) = p.inputs[0]
        .bip32_derivation
        .iter_mut()
        .next()
        .expect("bip32 entry");
    *source = path
        .iter()
        .map(|&c| ChildNumber::from(c))
        .collect::<DerivationPath>();
}

const H: u32 = HARDENED;

#[test]
fn garbage_and_unsupported_packets() {
    for raw in [
        vec![],
        b"not a psbt".to_vec(),
        b"psbt\xff".to_vec(),
        b"psbt\xff\x01\x00".to_vec(),
        vec![0x70, 0x73, 0x62, 0x74, 0xff, 0x05, 0x00, 0x01, 0x02],
    ] {
        let e = error_of(psbt_req(raw));
        assert!(e.contains("error parsing PSBT"), "{e}");
    }
    // PSBT v2 (no unsigned tx, PSBT_GLOBAL_VERSION = 2).
    let v2 = hex::decode("70736274ff01fb040200000001020402000000010401000105010000").expect("hex");
    let e = error_of(psbt_req(v2));
    assert!(e.contains("error parsing PSBT"), "{e}");
    // base64 text instead of binary.
    let b64 = lnd_web_signer::keys::bitcoin::base64::Engine::encode(
        &lnd_web_signer::keys::bitcoin::base64::engine::general_purpose::STANDARD,
        fixture(InputKind::P2wkh).serialize(),
    );
    let e = error_of(psbt_req(b64.into_bytes()));
    assert!(e.contains("error parsing PSBT"), "{e}");
}

#[test]
fn duplicate_keys_are_refused() {
    let p = fixture(InputKind::P2wshSingleTweak);
    let raw = p.serialize();
    let ranges = wire_scan::map_ranges(&raw, 3).expect("maps");
    let input = ranges[1].clone();
    // Duplicate the first pair of the input map (the witness UTXO).
    let maps = wire_scan::maps(&raw).expect("maps");
    let (ty, key, value) = maps[1][0];
    let mut pair = vec![(key.len() + 1) as u8, ty];
    pair.extend_from_slice(key);
    pair.push(value.len() as u8);
    pair.extend_from_slice(value);
    let mut dup = raw[..input.end - 1].to_vec();
    dup.extend_from_slice(&pair);
    dup.extend_from_slice(&raw[input.end - 1..]);
    let e = error_of(psbt_req(dup));
    assert!(e.contains("error parsing PSBT"), "{e}");
    assert!(e.to_lowercase().contains("duplicate"), "{e}");
    // Same unknown key twice with different values (btcd would keep both).
    let mut dup = raw[..input.end - 1].to_vec();
    dup.extend_from_slice(&[0x01, 0x51, 0x01, 0x07]);
    dup.extend_from_slice(&raw[input.end - 1..]);
    let e = error_of(psbt_req(dup));
    assert!(e.to_lowercase().contains("duplicate"), "{e}");
}

#[test]
fn input_without_utxo_info_fails_the_request() {
    let mut p = build_psbt(
        &root(),
        &[
            FixtureInput {
                kind: InputKind::P2wkh,
                index: 0,
                value: 1000,
                sighash: Some(1),
            },
            FixtureInput {
                kind: InputKind::P2trBip86,
                index: 0,
                value: 1000,
                sighash: None,
            },
        ],
    )
    .expect("fixture")
    .psbt;
    p.inputs[1].witness_utxo = None;
    let e = psbt_error(&p);
    assert_eq!(
        e,
        format!("{ERROR_PREFIX}input (index=1) doesn't specify any UTXO info")
    );
}

#[test]
fn unsupported_witness_utxo_scripts() {
    let mut p = fixture(InputKind::P2wkh);
    let pk = p.inputs[0]
        .bip32_derivation
        .keys()
        .next()
        .copied()
        .expect("key");
    let utxo = p.inputs[0].witness_utxo.as_mut().expect("utxo");
    utxo.script_pubkey =
        ScriptBuf::new_p2pkh(&lnd_web_signer::keys::bitcoin::PublicKey::new(pk).pubkey_hash());
    p.inputs[0].redeem_script = None;
    p.inputs[0].witness_script = None;
    let e = psbt_error(&p);
    assert!(e.contains("input 0"), "{e}");
    assert!(e.contains("unsupported script class"), "{e}");
    let utxo = p.inputs[0].witness_utxo.as_mut().expect("utxo");
    utxo.script_pubkey = ScriptBuf::from_bytes(vec![0x51]); // OP_TRUE
    let e = psbt_error(&p);
    assert!(
        e.contains("input 0") && e.contains("unsupported script type"),
        "{e}"
    );
}

#[test]
fn path_rules_skip_the_input() {
    let base = fixture(InputKind::P2wkh);
    for path in [
        vec![84 + H, H, H, 0],
        vec![84 + H, H, H, 0, 0, 0],
        vec![84, H, H, 0, 0],
        vec![84 + H, 0, H, 0, 0],
        vec![84 + H, H, 0, 0, 0],
        vec![84 + H, 1 + H, H, 0, 0],
        vec![49 + H, 1 + H, H, 0, 0],
        vec![86 + H, 1 + H, H, 0, 0],
        vec![44 + H, 1 + H, H, 0, 0],
        vec![84 + H, H, 1 + H, 0, 0],
        vec![1017 + H, H, 6 + H, 0, 0], // regtest needs coin type 1
        vec![45 + H, H, H, 0, 0],
    ] {
        let mut p = base.clone();
        set_path(&mut p, &path);
        assert_skipped(&p);
    }
    // The fingerprint is never checked.
    let mut p = base.clone();
    let (_, (fp, _)) = p.inputs[0]
        .bip32_derivation
        .iter_mut()
        .next()
        .expect("entry");
    *fp = [0xde, 0xad, 0xbe, 0xef].into();
    assert_signed(&p);
}

#[test]
fn wrong_pubkey_in_bip32_entry_is_skipped_not_an_error() {
    let mut p = fixture(InputKind::P2wkh);
    let (_, source) = p.inputs[0].bip32_derivation.pop_first().expect("entry");
    let other = SecretKey::from_slice(&[3; 32])
        .expect("key")
        .public_key(SECP256K1);
    p.inputs[0].bip32_derivation.insert(other, source);
    assert_skipped(&p);
}

#[test]
fn taproot_derivation_count_and_leaf_checks() {
    let mut p = fixture(InputKind::P2trBip86);
    p.inputs[0].tap_key_origins.clear();
    let e = psbt_error(&p);
    assert!(
        e.contains("input 0")
            && e.contains("cannot sign for taproot input without taproot BIP0032 derivation info"),
        "{e}"
    );

    let mut p = fixture(InputKind::P2trBip86);
    let extra = XOnlyPublicKey::from(
        SecretKey::from_slice(&[4; 32])
            .expect("key")
            .public_key(SECP256K1),
    );
    let entry = p.inputs[0]
        .tap_key_origins
        .values()
        .next()
        .cloned()
        .expect("entry");
    p.inputs[0].tap_key_origins.insert(extra, entry);
    let e = psbt_error(&p);
    assert!(
        e.contains("input 0") && e.contains("multiple taproot"),
        "{e}"
    );

    let mut p = fixture(InputKind::P2trScriptPath);
    let (_, (leaves, _)) = p.inputs[0]
        .tap_key_origins
        .iter_mut()
        .next()
        .expect("entry");
    leaves[0] = TapLeafHash::from_byte_array([9; 32]);
    let e = psbt_error(&p);
    assert!(
        e.contains("input 0") && e.contains("leaf script was not found"),
        "{e}"
    );

    let mut p = fixture(InputKind::P2trScriptPath);
    let (_, (leaves, _)) = p.inputs[0]
        .tap_key_origins
        .iter_mut()
        .next()
        .expect("entry");
    leaves.push(TapLeafHash::from_byte_array([9; 32]));
    let e = psbt_error(&p);
    assert!(
        e.contains("input 0") && e.contains("number of leaf hashes"),
        "{e}"
    );

    let mut p = fixture(InputKind::P2trScriptPath);
    p.inputs[0].tap_scripts.clear();
    let e = psbt_error(&p);
    assert!(
        e.contains("input 0") && e.contains("missing taproot leaf script"),
        "{e}"
    );
}

#[test]
fn merkle_root_of_31_bytes() {
    let p = fixture(InputKind::P2trKeyWithRoot);
    let root = p.inputs[0].tap_merkle_root.expect("root").to_byte_array();
    let raw = p.serialize();
    let mut needle = vec![0x01, 0x18, 0x20];
    needle.extend_from_slice(&root);
    let at = raw
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("merkle root pair");
    let mut bad = raw[..at].to_vec();
    bad.extend_from_slice(&[0x01, 0x18, 0x1f]);
    bad.extend_from_slice(&root[..31]);
    bad.extend_from_slice(&raw[at + needle.len()..]);
    let e = error_of(psbt_req(bad));
    assert_eq!(
        e,
        format!(
            "{ERROR_PREFIX}error signing PSBT: input 0: invalid taproot merkle root length, got 31 expected 32"
        )
    );
}

fn tweak_key() -> raw::Key {
    raw::Key {
        type_value: 0x51,
        key: vec![],
    }
}

#[test]
fn tweak_values_follow_lnds_scalar_rules() {
    // Empty single tweak = 0: the base key signs.
    let mut p = fixture(InputKind::P2wshSingleTweak);
    let base = *p.inputs[0].bip32_derivation.keys().next().expect("base");
    p.inputs[0].unknown.insert(tweak_key(), vec![]);
    let signed = assert_signed(&p);
    assert!(signed.inputs[0]
        .partial_sigs
        .contains_key(&lnd_web_signer::keys::bitcoin::PublicKey::new(base)));

    // 33-byte single tweak: only the first 32 bytes count.
    let mut p = fixture(InputKind::P2wshSingleTweak);
    let t32 = p.inputs[0]
        .unknown
        .get(&tweak_key())
        .cloned()
        .expect("tweak");
    let mut t33 = t32.clone();
    t33.push(0xab);
    p.inputs[0].unknown.insert(tweak_key(), t33);
    let long = assert_signed(&p);
    let short = assert_signed(&fixture(InputKind::P2wshSingleTweak));
    assert_eq!(
        long.inputs[0].partial_sigs.keys().collect::<Vec<_>>(),
        short.inputs[0].partial_sigs.keys().collect::<Vec<_>>()
    );

    // Double tweak with a zero commitment secret: refused, nothing signed.
    let mut p = fixture(InputKind::P2wshDoubleTweak);
    let key = raw::Key {
        type_value: 0xd0,
        key: vec![],
    };
    p.inputs[0].unknown.insert(key.clone(), vec![0; 32]);
    let e = psbt_error(&p);
    assert!(e.contains("input 0") && e.contains("double tweak"), "{e}");
    p.inputs[0].unknown.insert(key, vec![]);
    let e = psbt_error(&p);
    assert!(e.contains("input 0") && e.contains("double tweak"), "{e}");
}

#[test]
fn non_witness_utxo_without_the_spent_output() {
    let mut p = fixture(InputKind::P2wkh);
    let prev = lnd_web_signer::keys::bitcoin::Transaction {
        version: lnd_web_signer::keys::bitcoin::transaction::Version::TWO,
        lock_time: lnd_web_signer::keys::bitcoin::absolute::LockTime::ZERO,
        input: vec![],
        output: vec![TxOut {
            value: Amount::from_sat(1),
            script_pubkey: ScriptBuf::new(),
        }],
    };
    // The fixture spends vout 0; make it spend vout 5 of a one-output tx.
    p.unsigned_tx.input[0].previous_output.vout = 5;
    p.inputs[0].non_witness_utxo = Some(prev);
    let e = psbt_error(&p);
    assert!(e.contains("input 0") && e.contains("no output 5"), "{e}");
}

fn loc(family: i32, index: i32) -> Option<KeyLocator> {
    Some(KeyLocator {
        key_family: family,
        key_index: index,
    })
}

#[test]
fn key_families() {
    // Families 0…255 are the watch-only node's accounts: signed.
    for family in [0, 212, 255] {
        match handle(Req::SignMessageReq(SignMessageReq {
            msg: b"m".to_vec(),
            key_loc: loc(family, 0),
            ..Default::default()
        })) {
            Resp::SignMessageResp(r) => assert!(!r.signature.is_empty()),
            other => panic!("family {family}: {other:?}"),
        }
    }
    // Beyond 255 the watch-only node has no account: refused, nothing signed.
    for family in [256, 1000, i32::MAX - 1] {
        let e = error_of(Req::SignMessageReq(SignMessageReq {
            msg: b"m".to_vec(),
            key_loc: loc(family, 0),
            ..Default::default()
        }));
        assert!(
            e.contains(&format!("key family {family} is beyond 255")),
            "{e}"
        );
        let e = error_of(Req::MuSig2SessionRequest(MuSig2SessionRequest {
            key_loc: loc(family, 0),
            all_signer_pubkeys: [1u8, 2]
                .iter()
                .map(|b| {
                    SecretKey::from_slice(&[*b; 32])
                        .expect("key")
                        .public_key(SECP256K1)
                        .serialize()
                        .to_vec()
                })
                .collect(),
            version: MuSig2Version::Musig2VersionV100rc2 as i32,
            ..Default::default()
        }));
        assert!(e.contains("beyond 255"), "{e}");
    }
    // A negative int32 family is 2^31 or more as uint32: refused.
    for family in [-1, i32::MIN, i32::MAX] {
        let e = error_of(Req::SignMessageReq(SignMessageReq {
            msg: b"m".to_vec(),
            key_loc: loc(family, 0),
            ..Default::default()
        }));
        assert!(e.contains("account number may not exceed"), "{e}");
        let e = error_of(Req::SharedKeyRequest(SharedKeyRequest {
            ephemeral_pubkey: SecretKey::from_slice(&[5; 32])
                .expect("key")
                .public_key(SECP256K1)
                .serialize()
                .to_vec(),
            key_loc: None,
            key_desc: Some(KeyDescriptor {
                raw_key_bytes: vec![],
                key_loc: loc(family, 1),
            }),
        }));
        assert!(e.contains("unable to derive shared key"), "{e}");
    }
}

#[test]
fn sign_message_without_message() {
    let e = error_of(Req::SignMessageReq(SignMessageReq {
        msg: vec![],
        key_loc: loc(6, 0),
        ..Default::default()
    }));
    assert_eq!(
        e,
        format!("{ERROR_PREFIX}a message to sign MUST be passed in")
    );
}

#[test]
fn shared_key_with_invalid_ephemeral_point() {
    let mut not_on_curve = vec![0x02];
    not_on_curve.extend_from_slice(&[0xff; 32]); // x ≥ p
    for (point, want) in [
        (vec![], "must provide ephemeral pubkey"),
        (vec![0x02; 32], "error in ephemeral pubkey"),
        (not_on_curve, "error in ephemeral pubkey"),
        (
            {
                let mut v = vec![0x04];
                v.extend_from_slice(&[1; 64]);
                v
            },
            "error in ephemeral pubkey",
        ),
    ] {
        let e = error_of(Req::SharedKeyRequest(SharedKeyRequest {
            ephemeral_pubkey: point,
            key_loc: None,
            key_desc: None,
        }));
        assert!(e.contains(want), "{e}");
    }
}

/// Empty MuSig2 requests (no version, no session id, no key) get lnd's
/// errors from the session manager (helper D's module), never a panic.
#[test]
fn empty_musig2_requests_get_clear_errors() {
    for req in [
        Req::MuSig2SessionRequest(MuSig2SessionRequest::default()),
        Req::MuSig2RegisterNoncesRequest(MuSig2RegisterNoncesRequest::default()),
        Req::MuSig2CombinedNoncesReq(MuSig2RegisterCombinedNonceRequest::default()),
        Req::MuSig2GetCombinedNoncesReq(MuSig2GetCombinedNonceRequest::default()),
        Req::MuSig2SignRequest(MuSig2SignRequest::default()),
        Req::MuSig2CombineSigRequest(MuSig2CombineSigRequest::default()),
        Req::MuSig2CleanupRequest(MuSig2CleanupRequest::default()),
    ] {
        let e = error_of(req);
        assert!(e.len() > ERROR_PREFIX.len() + 10, "{e}");
    }
}

/// lnd's watch-only node (rpcwallet `packetFromTx`, reached for a taproot
/// input of a transaction whose other inputs are already signed, e.g. a
/// `sendcoins --sweepall`) hands every signed input a slice of one reused
/// buffer: each `FINAL_SCRIPTWITNESS` holds the first bytes of the *last*
/// witness written, cut to its own length, which does not decode as a
/// witness. btcd keeps the value as opaque bytes and lnd's signer skips
/// finalized inputs; so do we: the taproot input is signed and the
/// finalized inputs come back byte for byte (seen with the real lnd).
#[test]
fn final_witnesses_from_lnds_reused_buffer_are_opaque() {
    let built = build_psbt(
        &root(),
        &[
            FixtureInput {
                kind: InputKind::P2trBip86,
                index: 0,
                value: 50_000,
                sighash: None,
            },
            FixtureInput {
                kind: InputKind::P2trBip86,
                index: 1,
                value: 60_000,
                sighash: None,
            },
            FixtureInput {
                kind: InputKind::P2wkh,
                index: 2,
                value: 70_000,
                sighash: Some(1),
            },
        ],
    )
    .expect("fixture");
    let mut p = built.psbt;
    // Inputs 0 (taproot: one 64-byte item) and 2 (P2WKH: signature and key)
    // were signed before; input 1 is the one lnd asks for now.
    let taproot_witness =
        lnd_web_signer::keys::bitcoin::Witness::from_slice(&[[0x11u8; 64].to_vec()]);
    let p2wkh_witness =
        lnd_web_signer::keys::bitcoin::Witness::from_slice(&[vec![0x30u8; 72], vec![0x02u8; 33]]);
    for i in [0, 2] {
        p.inputs[i].bip32_derivation.clear();
        p.inputs[i].tap_key_origins.clear();
    }
    p.inputs[0].final_script_witness = Some(taproot_witness.clone());
    p.inputs[2].final_script_witness = Some(p2wkh_witness.clone());
    let mut raw = p.serialize();
    // The reused buffer: input 0's 66 bytes are the start of input 2's witness.
    let good = lnd_web_signer::keys::bitcoin::consensus::serialize(&taproot_witness);
    let last = lnd_web_signer::keys::bitcoin::consensus::serialize(&p2wkh_witness);
    assert_eq!(good.len(), 66);
    let at = raw
        .windows(good.len())
        .position(|w| w == good.as_slice())
        .expect("input 0's witness in the packet");
    raw[at..at + good.len()].copy_from_slice(&last[..good.len()]);
    assert!(
        Psbt::deserialize(&raw).is_err(),
        "the packet must be one rust-bitcoin rejects"
    );
    let before = wire_scan::map_ranges(&raw, 5).expect("maps");
    match handle(psbt_req(raw.clone())) {
        Resp::SignPsbtResponse(r) => {
            assert_eq!(r.signed_inputs, vec![1], "only the unsigned taproot input");
            let after = wire_scan::map_ranges(&r.signed_psbt, 5).expect("maps of the answer");
            for map in [0, 1, 3, 4] {
                assert_eq!(
                    &r.signed_psbt[after[map].clone()],
                    &raw[before[map].clone()],
                    "map {map} must come back byte for byte"
                );
            }
            let signed = &r.signed_psbt[after[2].clone()];
            assert!(
                signed.len() > raw[before[2].clone()].len(),
                "input 1 gained a signature"
            );
        }
        other => panic!("expected a SignPsbt response, got {other:?}"),
    }
}
