//! lnd signing conformance checks against `vectors/lnd/{ecdh,message_signing,
//! tweaks,psbt_signing,key_derivation}.json`.
//!
//! Run by the driver of the same name in `tests/conformance/`, natively and
//! in headless Chromium: no file I/O, threads or clocks here. Every request goes through
//! `Signer::handle`, the same entry point the stream uses.

use lnd_web_signer::entropy::Entropy;
use lnd_web_signer::keys::bitcoin::hashes::Hash;
use lnd_web_signer::keys::bitcoin::psbt::Psbt;
use lnd_web_signer::keys::bitcoin::secp256k1::{
    schnorr, Message, PublicKey, SecretKey, XOnlyPublicKey, SECP256K1,
};
use lnd_web_signer::keys::{Network, RootKey, HARDENED};
use lnd_web_signer::proto::signrpc::{KeyDescriptor, KeyLocator, SharedKeyRequest, SignMessageReq};
use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorRequest;
use lnd_web_signer::request::Work;
use lnd_web_signer::signer::Signer;
use lnd_web_signer::signing::keyloc::derive_psbt_path;
use lnd_web_signer::signing::tweak::{double_tweak, single_tweak};
use serde_json::Value;

/// Deterministic aux randomness (Schnorr signatures only need to be valid).
struct CounterEntropy(std::sync::atomic::AtomicU8);

impl Entropy for CounterEntropy {
    fn fill_bytes(&self, dest: &mut [u8]) {
        let b = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        dest.fill(b);
    }
}

fn signer(root: RootKey) -> Signer {
    Signer::new(root, Box::new(CounterEntropy(0.into())))
}

fn field<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("{ctx}: missing field {key:?}"))
}

fn text<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    field(v, key, ctx)
        .as_str()
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not a string"))
}

fn bytes(v: &Value, key: &str, ctx: &str) -> Vec<u8> {
    hex::decode(text(v, key, ctx))
        .unwrap_or_else(|e| panic!("{ctx}: field {key:?} is not hex: {e}"))
}

fn cases<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Vec<Value> {
    field(v, key, ctx)
        .as_array()
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} is not an array"))
}

fn secret(b: &[u8], ctx: &str) -> SecretKey {
    SecretKey::from_slice(b).unwrap_or_else(|e| panic!("{ctx}: bad private key: {e}"))
}

fn handle(s: &Signer, req: Req) -> Resp {
    let resp = s.handle(
        &Work::try_from(SignCoordinatorRequest {
            request_id: 42,
            sign_request_type: Some(req),
        })
        .expect("signing work"),
    );
    assert_eq!(
        resp.ref_request_id, 42,
        "ref_request_id must echo request_id"
    );
    resp.sign_response_type
        .unwrap_or_else(|| panic!("response without a member"))
}

fn key_loc(v: &Value, ctx: &str) -> KeyLocator {
    let n = |k| {
        field(v, k, ctx)
            .as_i64()
            .unwrap_or_else(|| panic!("{ctx}: {k} is not a number")) as i32
    };
    KeyLocator {
        key_family: n("key_family"),
        key_index: n("key_index"),
    }
}

fn tprv_root(doc: &Value, ctx: &str) -> RootKey {
    RootKey::from_xprv(text(doc, "root_key_tprv", ctx), Network::Regtest)
        .unwrap_or_else(|e| panic!("{ctx}: root key: {e}"))
}

/// `ecdh.json`: BOLT-8 ECDH values (computed with the raw BOLT-8 keys) and
/// the watch-only-style `DeriveSharedKey` requests against the itest root key.
pub fn run_ecdh(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("ecdh.json parses");
    let mut n = 0;

    let bolt8 = field(&doc, "lnd_bolt8_keys", "ecdh.json");
    let computed = field(bolt8, "computed_by_author", "ecdh.json bolt8");
    for (label, priv_key, pub_key) in [
        (
            "responder_node_key_ecdh_act1 = ECDH(responder_static_priv, initiator_ephemeral_pub)",
            "responder_static_priv",
            "initiator_ephemeral_pub",
        ),
        (
            "initiator_node_key_ecdh_act3 = ECDH(initiator_static_priv, responder_ephemeral_pub)",
            "initiator_static_priv",
            "responder_ephemeral_pub",
        ),
    ] {
        let ctx = format!("ecdh.json bolt8 {label}");
        let k = secret(&bytes(bolt8, priv_key, &ctx), &ctx);
        let p = PublicKey::from_slice(&bytes(bolt8, pub_key, &ctx)).expect("bolt8 pubkey");
        let got = lnd_web_signer::keys::bitcoin::secp256k1::ecdh::SharedSecret::new(&p, &k);
        assert_eq!(
            hex::encode(got.secret_bytes()),
            text(computed, label, &ctx),
            "{ctx}"
        );
        n += 1;
    }

    let section = field(&doc, "computed_remote_signer_requests", "ecdh.json");
    let s = signer(tprv_root(section, "ecdh.json"));
    for (i, case) in cases(section, "cases", "ecdh.json").iter().enumerate() {
        let ctx = format!("ecdh.json case {i} ({})", text(case, "what", "ecdh.json"));
        let r = field(case, "request", &ctx);
        let req = SharedKeyRequest {
            ephemeral_pubkey: bytes(r, "ephemeral_pubkey", &ctx),
            key_loc: r.get("key_loc").map(|l| key_loc(l, &ctx)),
            key_desc: r.get("key_desc").map(|d| KeyDescriptor {
                raw_key_bytes: d
                    .get("raw_key_bytes")
                    .map(|_| bytes(d, "raw_key_bytes", &ctx))
                    .unwrap_or_default(),
                key_loc: d.get("key_loc").map(|l| key_loc(l, &ctx)),
            }),
        };
        match handle(&s, Req::SharedKeyRequest(req)) {
            Resp::SharedKeyResponse(resp) => assert_eq!(
                hex::encode(resp.shared_key),
                text(case, "expected_shared_key", &ctx),
                "{ctx}"
            ),
            other => panic!("{ctx}: unexpected response {other:?}"),
        }
        n += 1;
    }
    n
}

fn sign_message(s: &Signer, req: SignMessageReq, ctx: &str) -> Vec<u8> {
    match handle(s, Req::SignMessageReq(req)) {
        Resp::SignMessageResp(r) => r.signature,
        other => panic!("{ctx}: unexpected response {other:?}"),
    }
}

fn verify_schnorr(sig: &[u8], digest: &[u8], xonly: &[u8], ctx: &str) {
    let sig = schnorr::Signature::from_slice(sig).unwrap_or_else(|e| panic!("{ctx}: sig: {e}"));
    let key = XOnlyPublicKey::from_slice(xonly).unwrap_or_else(|e| panic!("{ctx}: key: {e}"));
    let msg = Message::from_digest_slice(digest).unwrap_or_else(|e| panic!("{ctx}: digest: {e}"));
    SECP256K1
        .verify_schnorr(&sig, &msg, &key)
        .unwrap_or_else(|e| panic!("{ctx}: BIP-340 signature does not verify: {e}"));
}

/// `message_signing.json`: the BOLT-11 invoice signature (compact, single
/// hash) with lnd's zpay32 key, and DER/compact/Schnorr cases with the itest
/// node key. ECDSA byte-identical; Schnorr valid for the given key and digest.
pub fn run_message_signing(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("message_signing.json parses");
    let mut n = 0;

    // zpay32: the key is a raw private key, not a wallet key, so the compact
    // signature is checked with the same code path's primitives.
    let z = field(&doc, "lnd_zpay32", "message_signing.json");
    let ctx = "message_signing.json lnd_zpay32";
    let k = secret(&bytes(z, "privkey", ctx), ctx);
    let req = field(z, "sign_message_request", ctx);
    let msg = bytes(req, "msg_hex", ctx);
    let digest = lnd_web_signer::keys::bitcoin::hashes::sha256::Hash::hash(&msg).to_byte_array();
    assert_eq!(
        hex::encode(digest),
        text(z, "digest_sha256", ctx),
        "{ctx}: digest"
    );
    let rec = SECP256K1.sign_ecdsa_recoverable(&Message::from_digest(digest), &k);
    let (recid, rs) = rec.serialize_compact();
    let mut compact = vec![31 + recid.to_i32() as u8];
    compact.extend_from_slice(&rs);
    assert_eq!(
        hex::encode(&compact),
        text(z, "expected_signature_compact_65", ctx),
        "{ctx}: compact"
    );
    n += 1;

    let node = field(&doc, "computed_node_key", "message_signing.json");
    let s = signer(tprv_root(node, "message_signing.json computed_node_key"));
    let loc = key_loc(
        field(node, "key_loc", "computed_node_key"),
        "computed_node_key",
    );
    let xonly_node = bytes(node, "xonly_pubkey", "computed_node_key");
    for (i, case) in cases(node, "cases", "computed_node_key").iter().enumerate() {
        let ctx = format!("message_signing.json computed_node_key case {i}");
        let r = field(case, "request", &ctx);
        let flag = |k: &str| r.get(k).and_then(Value::as_bool).unwrap_or(false);
        let req = SignMessageReq {
            msg: text(r, "msg_ascii", &ctx).as_bytes().to_vec(),
            key_loc: Some(loc),
            double_hash: flag("double_hash"),
            compact_sig: flag("compact_sig"),
            schnorr_sig: flag("schnorr_sig"),
            schnorr_sig_tap_tweak: r
                .get("schnorr_sig_tap_tweak_hex")
                .map(|_| bytes(r, "schnorr_sig_tap_tweak_hex", &ctx))
                .unwrap_or_default(),
            tag: r
                .get("tag_ascii")
                .map(|_| text(r, "tag_ascii", &ctx).as_bytes().to_vec())
                .unwrap_or_default(),
        };
        assert_eq!(
            hex::encode(lnd_web_signer::signing::message::message_digest(&req)),
            text(case, "digest", &ctx),
            "{ctx}: digest"
        );
        let sig = sign_message(&s, req.clone(), &ctx);
        if let Some(expected) = case.get("expected_signature_DER") {
            assert_eq!(
                hex::encode(&sig),
                expected.as_str().expect("hex"),
                "{ctx}: DER"
            );
        } else if let Some(expected) = case.get("expected_signature_compact_65") {
            assert_eq!(
                hex::encode(&sig),
                expected.as_str().expect("hex"),
                "{ctx}: compact"
            );
        } else {
            let key = case
                .get("tweaked_xonly_pubkey")
                .or_else(|| case.get("verify_with_xonly_pubkey"))
                .map(|v| hex::decode(v.as_str().expect("hex")).expect("hex"))
                .unwrap_or_else(|| xonly_node.clone());
            let digest = bytes(case, "digest", &ctx);
            assert_eq!(sig.len(), 64, "{ctx}: Schnorr signature length");
            verify_schnorr(&sig, &digest, &key, &ctx);
            // The published example signature verifies too (sanity of the vector).
            verify_schnorr(
                &bytes(case, "one_valid_signature", &ctx),
                &digest,
                &key,
                &ctx,
            );
        }
        n += 1;
    }
    n
}

/// `tweaks.json`: BOLT-3 single/double tweaks, lnd's taproot channel keys and
/// the PSBT test inputs (33-byte single tweak, double tweak).
pub fn run_tweaks(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("tweaks.json parses");
    let mut n = 0;
    let pubhex = |k: &SecretKey| hex::encode(k.public_key(SECP256K1).serialize());

    let b = field(&doc, "lnd_bolt3_key_derivation", "tweaks.json");
    let ctx = "tweaks.json bolt3";
    let base = secret(&bytes(b, "base_secret", ctx), ctx);
    let single = single_tweak(
        &base,
        &bytes(b, "single_tweak_value_psbt_0x51 (computed_by author)", ctx),
    )
    .expect("single tweak");
    assert_eq!(
        hex::encode(single.secret_bytes()),
        text(b, "expected_local_privkey (single tweak)", ctx)
    );
    assert_eq!(
        pubhex(&single),
        text(b, "expected_local_pubkey (single tweak)", ctx)
    );
    let rev = double_tweak(&base, &bytes(b, "double_tweak_value_psbt_0xd0", ctx)).expect("double");
    assert_eq!(
        hex::encode(rev.secret_bytes()),
        text(b, "expected_revocation_privkey (double tweak)", ctx)
    );
    assert_eq!(
        pubhex(&rev),
        text(b, "expected_revocation_pubkey (double tweak)", ctx)
    );
    n += 2;

    let t = field(&doc, "lnd_taproot_channel_vector_keys", "tweaks.json");
    let ctx = "tweaks.json taproot channel keys";
    let computed = field(t, "computed_by_author", ctx);
    let commit_point =
        PublicKey::from_slice(&bytes(t, "local_per_commit_point", ctx)).expect("point");
    // lnd's single tweak value: sha256(per_commitment_point ‖ base_point).
    let tweak_for = |base: &SecretKey| {
        let mut data = commit_point.serialize().to_vec();
        data.extend_from_slice(&base.public_key(SECP256K1).serialize());
        lnd_web_signer::keys::bitcoin::hashes::sha256::Hash::hash(&data).to_byte_array()
    };
    for (base_field, priv_field, pub_field) in [
        (
            "local_delayed_payment_basepoint_secret",
            "derived_local_delayed_privkey",
            "expected_derived_local_delayed_pubkey",
        ),
        (
            "local_htlc_basepoint_secret",
            "derived_local_htlc_privkey",
            "expected_derived_local_htlc_pubkey",
        ),
    ] {
        let base = secret(&bytes(t, base_field, ctx), ctx);
        let k = single_tweak(&base, &tweak_for(&base)).expect("single");
        assert_eq!(
            hex::encode(k.secret_bytes()),
            text(computed, priv_field, ctx),
            "{ctx} {priv_field}"
        );
        assert_eq!(pubhex(&k), text(t, pub_field, ctx), "{ctx} {pub_field}");
        n += 1;
    }
    let rev_base = secret(&bytes(t, "remote_revocation_basepoint_secret", ctx), ctx);
    let rev = double_tweak(&rev_base, &bytes(t, "local_per_commit_secret", ctx)).expect("double");
    assert_eq!(
        hex::encode(rev.secret_bytes()),
        text(computed, "derived_revocation_privkey", ctx)
    );
    assert_eq!(
        pubhex(&rev),
        text(t, "expected_derived_revocation_pubkey", ctx)
    );
    n += 1;

    let m = field(&doc, "lnd_btcwallet_maybe_tweak_inputs", "tweaks.json");
    let ctx = "tweaks.json maybe_tweak";
    let computed = field(m, "computed_by_author", ctx);
    let k = secret(&bytes(m, "privkey", ctx), ctx);
    let s = single_tweak(&k, &bytes(m, "single_tweak", ctx)).expect("single");
    assert_eq!(
        hex::encode(s.secret_bytes()),
        text(computed, "single_only_privkey", ctx)
    );
    assert_eq!(pubhex(&s), text(computed, "single_only_pubkey", ctx));
    let d = double_tweak(&k, &bytes(m, "double_tweak_privkey", ctx)).expect("double");
    assert_eq!(
        hex::encode(d.secret_bytes()),
        text(computed, "double_only_privkey", ctx)
    );
    assert_eq!(pubhex(&d), text(computed, "double_only_pubkey", ctx));
    n += 2;

    let p = field(&doc, "lnd_psbt_test_inputs", "tweaks.json");
    let ctx = "tweaks.json psbt test inputs";
    let computed = field(p, "computed_by_author", ctx);
    let root = RootKey::from_seed_entropy(&bytes(p, "seed_entropy_hex", ctx), Network::Regtest)
        .expect("root");
    let k84 = derive_psbt_path(&root, &[84 + HARDENED, HARDENED, HARDENED, 0, 0]).expect("84");
    assert_eq!(
        hex::encode(k84.secret_bytes()),
        text(computed, "m/84'/0'/0'/0/0_privkey", ctx)
    );
    let tweaked =
        single_tweak(&k84, &bytes(p, "testTweakSingle_hex (33 bytes!)", ctx)).expect("single");
    assert_eq!(
        hex::encode(tweaked.secret_bytes()),
        text(
            computed,
            "tweakedP2WKH_privkey (tweak = first 32 bytes of the 33-byte value)",
            ctx
        )
    );
    assert_eq!(pubhex(&tweaked), text(computed, "tweakedP2WKH_pubkey", ctx));
    let k4 = derive_psbt_path(&root, &[1017 + HARDENED, 1 + HARDENED, 4 + HARDENED, 0, 9])
        .expect("1017");
    assert_eq!(
        hex::encode(k4.secret_bytes()),
        text(computed, "m/1017'/1'/4'/0/9_privkey", ctx)
    );
    let d = double_tweak(&k4, &bytes(p, "testCommitSecret_hex", ctx)).expect("double");
    assert_eq!(
        hex::encode(d.secret_bytes()),
        text(computed, "doubleTweaked_privkey", ctx)
    );
    assert_eq!(pubhex(&d), text(computed, "doubleTweaked_pubkey", ctx));
    n += 3;
    n
}

fn sign_psbt(s: &Signer, raw: Vec<u8>, ctx: &str) -> (Vec<u8>, Vec<u32>) {
    match handle(
        s,
        Req::SignPsbtRequest(SignPsbtRequest { funded_psbt: raw }),
    ) {
        Resp::SignPsbtResponse(r) => (r.signed_psbt, r.signed_inputs),
        other => panic!("{ctx}: unexpected response {other:?}"),
    }
}

/// `psbt_signing.json`: the five watch-only-style SignPsbt requests. ECDSA
/// cases must be byte-identical to lnd's packet; for taproot cases our
/// signature must verify for the given digest and output/base key, and the
/// packet must equal the expected one with our signature in its place.
pub fn run_psbt_signing(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("psbt_signing.json parses");
    let root = RootKey::from_seed_entropy(
        &hex::decode("4a7611b6979ba7c4bc5c5cd2239b2973").expect("hex"),
        Network::Regtest,
    )
    .expect("root");
    let s = signer(root);
    let mut n = 0;
    for case in cases(&doc, "cases", "psbt_signing.json") {
        let ctx = format!(
            "psbt_signing.json {}",
            text(case, "name", "psbt_signing.json")
        );
        let (signed, inputs) = sign_psbt(&s, bytes(case, "psbt_in_hex", &ctx), &ctx);
        let expected_inputs: Vec<u32> = cases(case, "expected_signed_inputs", &ctx)
            .iter()
            .map(|v| v.as_u64().expect("index") as u32)
            .collect();
        assert_eq!(inputs, expected_inputs, "{ctx}: signed_inputs");
        let signed_hex = hex::encode(&signed);
        if let Some(expected) = case.get("expected_signed_psbt_hex (btcd field order)") {
            assert_eq!(
                signed_hex,
                expected.as_str().expect("hex"),
                "{ctx}: signed packet"
            );
            n += 1;
            continue;
        }
        let packet = Psbt::deserialize(&signed).unwrap_or_else(|e| panic!("{ctx}: reparse: {e}"));
        let input = &packet.inputs[0];
        let (sig, digest_field, key, example, expected_packet) = if let Some(ks) =
            &input.tap_key_sig
        {
            (
                ks.signature,
                "bip341_sighash (SIGHASH_DEFAULT)",
                bytes(case, "output_key_xonly", &ctx),
                "one_valid_key_spend_sig (64 bytes; any valid BIP-340 sig accepted)",
                "signed_psbt_hex_with_that_sig (btcd field order)",
            )
        } else {
            let (_, ss) = input
                .tap_script_sigs
                .iter()
                .next()
                .unwrap_or_else(|| panic!("{ctx}: no taproot signature added"));
            (
                ss.signature,
                "bip342_tapscript_sighash (SIGHASH_DEFAULT, ext_flag 1, key_version 0, codesep 0xffffffff)",
                bytes(case, "tweaked_xonly_pubkey", &ctx),
                "one_valid_script_spend_sig (64 bytes)",
                "signed_psbt_hex_with_that_sig (btcd field order; PSBT_IN_TAP_SCRIPT_SIG key = x-only BASE key from the taproot derivation || leaf hash)",
            )
        };
        let digest = bytes(case, digest_field, &ctx);
        verify_schnorr(sig.as_ref(), &digest, &key, &ctx);
        let expected = text(case, expected_packet, &ctx)
            .replace(text(case, example, &ctx), &hex::encode(sig.as_ref()));
        assert_eq!(
            signed_hex, expected,
            "{ctx}: signed packet (with our signature)"
        );
        n += 1;
    }
    n
}

/// `key_derivation.json`: lnd's WIF derivations (as PSBT paths) and the PSBT
/// path error cases of `deriveKeyByBIP32Path`.
pub fn run_key_derivation_psbt_paths(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("key_derivation.json parses");
    let t = field(&doc, "lnd_signer_test", "key_derivation.json");
    let ctx = "key_derivation.json lnd_signer_test";
    let root = RootKey::from_seed_entropy(&bytes(t, "seed_entropy_hex", ctx), Network::Regtest)
        .expect("root");
    let parse_path = |p: &str| -> Vec<u32> {
        p.trim_start_matches("m/")
            .split('/')
            .map(|e| match e.strip_suffix('\'') {
                Some(h) => h.parse::<u32>().expect("path element") + HARDENED,
                None => e.parse::<u32>().expect("path element"),
            })
            .collect()
    };
    let mut n = 0;
    for d in cases(t, "derivations", ctx) {
        let path = text(d, "path", ctx);
        let k = derive_psbt_path(&root, &parse_path(path))
            .unwrap_or_else(|e| panic!("{ctx} {path}: {e}"));
        assert_eq!(
            hex::encode(k.secret_bytes()),
            text(d, "privkey_hex", ctx),
            "{ctx} {path}"
        );
        assert_eq!(
            hex::encode(k.public_key(SECP256K1).serialize()),
            text(d, "pubkey_compressed_hex", ctx),
            "{ctx} {path}"
        );
        n += 1;
    }
    for e in cases(t, "error_cases", ctx) {
        let path = match e.get("path") {
            Some(p) => parse_path(p.as_str().expect("path")),
            None => cases(e, "path_raw_uint32", ctx)
                .iter()
                .map(|v| v.as_u64().expect("u32") as u32)
                .collect(),
        };
        let want = text(e, "expected_error_contains", ctx);
        match derive_psbt_path(&root, &path) {
            Ok(_) => panic!("{ctx}: path {path:?} must be refused ({want})"),
            Err(err) => assert!(
                err.to_string().contains(want),
                "{ctx}: path {path:?}: error {err:?} does not contain {want:?}"
            ),
        }
        n += 1;
    }
    n
}
