//! lnd MuSig2 conformance checks against `vectors/lnd/musig2.json` and
//! lnd's verbatim simple-taproot-channel vectors
//! `vectors/lnd/lnd_test_vectors_taproot.json`.
//!
//! Run by the driver of the same name in `tests/conformance/`, natively and
//! in headless Chromium: no file I/O, threads or clocks here.

use lnd_web_signer::musig2::{combine_keys, SessionManager, Tweaks, Version};
use lnd_web_signer::proto::signrpc;
use serde_json::Value;

fn parse(json: &str, file: &str) -> Value {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{file}: not JSON: {e}"))
}

fn s<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} missing or not a string"))
}

fn hx(v: &Value, key: &str, ctx: &str) -> Vec<u8> {
    hex::decode(s(v, key, ctx)).unwrap_or_else(|e| panic!("{ctx}: {key} not hex: {e}"))
}

fn list<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("{ctx}: field {key:?} missing or not an array"))
}

fn hex_items(v: &Value, key: &str, ctx: &str) -> Vec<Vec<u8>> {
    list(v, key, ctx)
        .iter()
        .map(|x| {
            hex::decode(
                x.as_str()
                    .unwrap_or_else(|| panic!("{ctx}: {key} entry not a string")),
            )
            .unwrap_or_else(|e| panic!("{ctx}: {key} entry not hex: {e}"))
        })
        .collect()
}

/// `musig2.json` → `lnd_combine_keys`: lnd's `TestMuSig2CombineKeys` cases
/// for v0.4.0 and v1.0.0rc2 (sorted and unsorted). Returns the case count.
pub fn run_lnd_combine_keys(json: &str) -> usize {
    let d = parse(json, "musig2.json");
    let cases = list(&d["lnd_combine_keys"], "cases", "lnd_combine_keys");
    for (i, c) in cases.iter().enumerate() {
        let ctx = format!("lnd_combine_keys[{i}] {}", s(c, "name", "case"));
        let version = match s(c, "version", &ctx) {
            "v0.4.0" => Version::V040,
            "v1.0.0rc2" => Version::V100Rc2,
            other => panic!("{ctx}: unknown version {other}"),
        };
        // x-only keys are parsed with even Y (lnd's schnorr.ParsePubKey).
        let keys: Vec<Vec<u8>> = if c.get("keys_xonly").is_some() {
            hex_items(c, "keys_xonly", &ctx)
                .into_iter()
                .map(|x| {
                    let mut k = vec![0x02];
                    k.extend_from_slice(&x);
                    k
                })
                .collect()
        } else {
            hex_items(c, "keys", &ctx)
        };
        let sort = c
            .get("sort")
            .and_then(Value::as_bool)
            .unwrap_or_else(|| panic!("{ctx}: sort missing"));
        assert_eq!(
            s(c, "tweak", &ctx),
            "bip86",
            "{ctx}: only BIP-86 cases are known"
        );
        let tweaks = Tweaks {
            bip86: true,
            ..Tweaks::default()
        };
        let got =
            combine_keys(version, &keys, sort, &tweaks).unwrap_or_else(|e| panic!("{ctx}: {e}"));
        assert_eq!(
            hex::encode(got.final_key),
            s(c, "expected_final_key", &ctx).to_lowercase(),
            "{ctx}: final key"
        );
        assert_eq!(
            hex::encode(got.pre_tweak_key),
            s(c, "expected_pre_tweak_key", &ctx).to_lowercase(),
            "{ctx}: pre-tweak key"
        );
    }
    cases.len()
}

fn bip86_request(
    keys: Vec<Vec<u8>>,
    other_nonce: Vec<u8>,
    pregenerated: Vec<u8>,
) -> signrpc::MuSig2SessionRequest {
    signrpc::MuSig2SessionRequest {
        key_loc: Some(signrpc::KeyLocator {
            key_family: 0,
            key_index: 0,
        }),
        all_signer_pubkeys: keys,
        other_signer_public_nonces: vec![other_nonce],
        tweaks: Vec::new(),
        taproot_tweak: Some(signrpc::TaprootTweakDesc {
            script_root: Vec::new(),
            key_spend_only: true,
        }),
        version: signrpc::MuSig2Version::Musig2VersionV100rc2 as i32,
        pregenerated_local_nonce: pregenerated,
    }
}

/// Reproduce lnd's simple-taproot-channel commitment signatures through the
/// signer's request interface (CreateSession → Sign → CombineSig), taking
/// keys, nonces and the peer's partial signature from lnd's verbatim file
/// (`taproot_json`) and the BIP-341 digests and expected responses from
/// `musig2_json`. Also recomputes the peer's partial signature from its
/// secret nonce the same way. Returns the number of transactions checked.
pub fn run_lnd_taproot_sessions(musig2_json: &str, taproot_json: &str) -> usize {
    let m = parse(musig2_json, "musig2.json");
    let t = parse(taproot_json, "lnd_test_vectors_taproot.json");
    let data = &t["data"];
    let keys = &data["params"]["keys"];
    let local_sk = s(keys, "local_funding_privkey", "params.keys");
    let remote_sk = s(keys, "remote_funding_privkey", "params.keys");
    let local_pk = hx(keys, "local_funding_pubkey", "params.keys");
    let remote_pk = hx(keys, "remote_funding_pubkey", "params.keys");
    let combined = s(
        &data["scripts"]["funding"],
        "combined_key",
        "scripts.funding",
    );
    let sessions = list(
        &m["lnd_taproot_channel_sessions"],
        "sessions",
        "musig2.json",
    );
    let txs = list(data, "transactions", "lnd_test_vectors_taproot.json");
    assert_eq!(
        sessions.len(),
        txs.len(),
        "one derived session per lnd transaction"
    );
    for (i, (sess, tx)) in sessions.iter().zip(txs).enumerate() {
        let ctx = format!("taproot[{i}] {}", s(tx, "name", "tx"));
        assert_eq!(
            s(sess, "name", &ctx),
            s(tx, "name", &ctx),
            "{ctx}: vector files out of step"
        );
        let digest = hx(
            sess,
            "request_MuSig2SignRequest_message_digest (BIP-341 key-spend sighash, SIGHASH_DEFAULT, input 0)",
            &ctx,
        );
        // Our side: the watch-only node's request layout (local key first
        // here; the signer sorts).
        let mut ours = SessionManager::default();
        let req = bip86_request(
            vec![local_pk.clone(), remote_pk.clone()],
            hx(tx, "remote_nonce", &ctx),
            hx(tx, "local_sec_nonce", &ctx),
        );
        let resp = ours
            .create_session(
                &local_sk.parse().expect("local funding key"),
                &req,
                [0u8; 32],
            )
            .unwrap_or_else(|e| panic!("{ctx}: create: {e}"));
        let want = &sess["expected_MuSig2SessionResponse"];
        assert_eq!(
            hex::encode(&resp.combined_key),
            combined,
            "{ctx}: combined_key vs lnd funding key"
        );
        assert_eq!(
            hex::encode(&resp.combined_key),
            s(want, "combined_key", &ctx),
            "{ctx}: combined_key"
        );
        assert_eq!(
            hex::encode(&resp.taproot_internal_key),
            s(want, "taproot_internal_key", &ctx),
            "{ctx}: taproot_internal_key"
        );
        assert_eq!(
            hex::encode(&resp.local_public_nonces),
            s(tx, "local_nonce", &ctx),
            "{ctx}: local nonce"
        );
        assert_eq!(
            hex::encode(&resp.session_id),
            s(want, "session_id (lnd formula, opaque)", &ctx),
            "{ctx}: session_id"
        );
        assert!(resp.have_all_nonces, "{ctx}: have_all_nonces");
        assert_eq!(resp.version, req.version, "{ctx}: version echo");
        let combined_nonce = ours
            .get_combined_nonce(&signrpc::MuSig2GetCombinedNonceRequest {
                session_id: resp.session_id.clone(),
            })
            .unwrap_or_else(|e| panic!("{ctx}: get combined nonce: {e}"));
        assert_eq!(
            hex::encode(&combined_nonce.combined_public_nonce),
            s(sess, "aggregate_nonce", &ctx),
            "{ctx}: aggregate nonce"
        );
        let signed = ours
            .sign(&signrpc::MuSig2SignRequest {
                session_id: resp.session_id.clone(),
                message_digest: digest.clone(),
                cleanup: false,
            })
            .unwrap_or_else(|e| panic!("{ctx}: sign: {e}"));
        assert_eq!(
            hex::encode(&signed.local_partial_signature),
            s(
                sess,
                "expected_MuSig2SignResponse_local_partial_signature",
                &ctx
            ),
            "{ctx}: local partial signature"
        );
        let remote_psig = hx(tx, "remote_partial_sig", &ctx);
        let done = ours
            .combine_sig(&signrpc::MuSig2CombineSigRequest {
                session_id: resp.session_id.clone(),
                other_partial_signatures: vec![remote_psig.clone()],
            })
            .unwrap_or_else(|e| panic!("{ctx}: combine: {e}"));
        assert!(done.have_all_signatures, "{ctx}: have_all_signatures");
        let final_hex = hex::encode(&done.final_signature);
        assert_eq!(
            final_hex,
            s(
                &sess["expected_MuSig2CombineSigResponse"],
                "final_signature",
                &ctx
            ),
            "{ctx}: final signature"
        );
        assert!(
            s(tx, "expected_commitment_tx_hex", &ctx).contains(&final_hex),
            "{ctx}: final signature is not the one in lnd's commitment transaction"
        );
        // The peer's side, from its secret nonce: lnd's remote_partial_sig.
        let mut peer = SessionManager::default();
        let preq = bip86_request(
            vec![remote_pk.clone(), local_pk.clone()],
            hx(tx, "local_nonce", &ctx),
            hx(tx, "remote_sec_nonce", &ctx),
        );
        let presp = peer
            .create_session(
                &remote_sk.parse().expect("remote funding key"),
                &preq,
                [0u8; 32],
            )
            .unwrap_or_else(|e| panic!("{ctx}: peer create: {e}"));
        assert_eq!(
            hex::encode(&presp.local_public_nonces),
            s(tx, "remote_nonce", &ctx),
            "{ctx}: peer nonce"
        );
        let psig = peer
            .sign(&signrpc::MuSig2SignRequest {
                session_id: presp.session_id,
                message_digest: digest,
                cleanup: true,
            })
            .unwrap_or_else(|e| panic!("{ctx}: peer sign: {e}"));
        assert_eq!(
            psig.local_partial_signature, remote_psig,
            "{ctx}: peer partial signature"
        );
    }
    txs.len()
}
