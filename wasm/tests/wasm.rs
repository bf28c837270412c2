//! Headless-Chromium tests of the wasm build (wasm-bindgen-test):
//!
//! * the conformance checks of `tests/conformance/*.rs` on the same vector
//!   files as the native drivers (`include_str!` of `../shared/vectors`, so a
//!   missing vector folder fails the build), asserting the same case counts;
//! * the exported JS API (`createSeed`, `sealVault`, `openVault`,
//!   `accountsJson`, `UnlockedSigner`);
//! * the grpc-web transport with response bodies split at every byte
//!   boundary, and the signer loop against an in-page fake signer-bridge.
//!
//! Run (release: scrypt and Argon2id are far too slow unoptimised):
//! `cargo test --release -p lnd-web-signer-wasm --target wasm32-unknown-unknown --test wasm`
#![cfg(target_arch = "wasm32")]

use serde_json::Value;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[path = "../../tests/conformance/aezeed.rs"]
mod aezeed;
#[path = "../../tests/conformance/keys.rs"]
mod keys;
#[path = "../../tests/conformance/musig2_bip327.rs"]
mod musig2_bip327;
#[path = "../../tests/conformance/musig2_lnd.rs"]
mod musig2_lnd;
#[path = "../../tests/conformance/signing_bip.rs"]
mod signing_bip;
#[path = "../../tests/conformance/signing_lnd.rs"]
mod signing_lnd;

#[path = "wasm_support/api.rs"]
mod api;
#[path = "wasm_support/fake_bridge.rs"]
mod fake_bridge;
#[path = "wasm_support/signer_loop.rs"]
mod signer_loop;
#[path = "wasm_support/transport.rs"]
mod transport;

/// Vector files, relative to this file (wasm/tests/ → the repository → its parent).
macro_rules! vector {
    ($rel:literal) => {
        include_str!(concat!("../../../shared/vectors/", $rel))
    };
}

pub(crate) const AEZEED_JSON: &str = vector!("lnd/aezeed.json");
pub(crate) const ACCOUNTS_JSON: &str = vector!("lnd/remote_signing_accounts.json");
const KEY_DERIVATION_JSON: &str = vector!("lnd/key_derivation.json");
const ECDH_JSON: &str = vector!("lnd/ecdh.json");
const MESSAGE_SIGNING_JSON: &str = vector!("lnd/message_signing.json");
const TWEAKS_JSON: &str = vector!("lnd/tweaks.json");
const PSBT_SIGNING_JSON: &str = vector!("lnd/psbt_signing.json");
const MUSIG2_JSON: &str = vector!("lnd/musig2.json");
const TAPROOT_JSON: &str = vector!("lnd/lnd_test_vectors_taproot.json");
const BIP32_JSON: &str = vector!("bip/bip32.json");
const BIP49_JSON: &str = vector!("bip/bip49.json");
const BIP84_JSON: &str = vector!("bip/bip84.json");
const BIP86_JSON: &str = vector!("bip/bip86.json");
const BIP143_JSON: &str = vector!("bip/bip143.json");
const BIP341_JSON: &str = vector!("bip/bip341-wallet-test-vectors.json");
const BIP340_CSV: &str = vector!("bip/bip340-test-vectors.csv");
const BIP174_JSON: &str = vector!("bip/bip174.json");
const BIP371_JSON: &str = vector!("bip/bip371.json");

fn doc(json: &str) -> Value {
    serde_json::from_str(json).expect("vector file is JSON")
}

fn len(v: &Value, pointer: &str) -> usize {
    v.pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("vector file: {pointer} is not an array"))
        .len()
}

// ---- aezeed (tests/aezeed.rs) ----

#[wasm_bindgen_test]
fn aezeed_vectors() {
    let d = doc(AEZEED_JSON);
    let expected = len(&d, "/lnd_cipherseed_test/vectors")
        + len(&d, "/production_params_equivalent/vectors")
        + 2;
    let checked = aezeed::run_aezeed(AEZEED_JSON);
    assert!(checked > 0);
    assert_eq!(checked, expected);
}

// ---- keys (tests/keys.rs) ----

#[wasm_bindgen_test]
fn key_derivation_vectors() {
    let d = doc(KEY_DERIVATION_JSON);
    let expected = 1
        + len(&d, "/lnd_signer_test/derivations")
        + 2
        + len(&d, "/lnd_psbt_test_bip32_path_strings/cases")
        + 1
        + len(
            &d,
            "/lnd_itest_remote_signer/watch_only_accounts_as_in_test",
        )
        + 1;
    let checked = keys::run_key_derivation(KEY_DERIVATION_JSON);
    assert!(checked > 0);
    assert_eq!(checked, expected);
}

#[wasm_bindgen_test]
fn remote_signing_accounts_vectors() {
    let d = doc(ACCOUNTS_JSON);
    let accounts = len(&d, "/docs_init_wallet_accounts/accounts");
    assert_eq!(accounts, 259, "the docs list 3 wallet + 256 lnd accounts");
    assert_eq!(len(&d, "/lncli_wallet_accounts_list_format/accounts"), 259);
    assert_eq!(keys::run_accounts(ACCOUNTS_JSON), accounts + 1);
}

#[wasm_bindgen_test]
fn aezeed_seed_file_gives_lnd_root() {
    assert!(doc(AEZEED_JSON).get("lnd_signer_test_seed").is_some());
    assert_eq!(keys::run_aezeed_root(AEZEED_JSON), 1);
}

#[wasm_bindgen_test]
fn bip32_vectors() {
    let d = doc(BIP32_JSON);
    let chains: usize = d["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| v["chains"].as_array().expect("chains").len())
        .sum();
    let invalid = len(&d, "/invalid_extended_keys/keys");
    let checked = keys::run_bip32(BIP32_JSON);
    assert!(checked > 0);
    assert_eq!(checked, chains + invalid);
}

#[wasm_bindgen_test]
fn bip49_84_86_vectors() {
    for (file, json, run) in [
        (
            "bip49.json",
            BIP49_JSON,
            keys::run_bip49 as fn(&str) -> usize,
        ),
        ("bip84.json", BIP84_JSON, keys::run_bip84),
        ("bip86.json", BIP86_JSON, keys::run_bip86),
    ] {
        let expected = 1 + len(&doc(json), "/addresses");
        assert_eq!(run(json), expected, "{file}");
    }
}

// ---- signing (tests/signing_lnd.rs) ----

#[wasm_bindgen_test]
fn ecdh_vectors() {
    let checked = signing_lnd::run_ecdh(ECDH_JSON);
    assert!(checked > 0);
    assert_eq!(
        checked,
        2 + len(&doc(ECDH_JSON), "/computed_remote_signer_requests/cases")
    );
}

#[wasm_bindgen_test]
fn message_signing_vectors() {
    let checked = signing_lnd::run_message_signing(MESSAGE_SIGNING_JSON);
    assert!(checked > 0);
    assert_eq!(
        checked,
        1 + len(&doc(MESSAGE_SIGNING_JSON), "/computed_node_key/cases")
    );
}

#[wasm_bindgen_test]
fn tweak_vectors() {
    assert_eq!(signing_lnd::run_tweaks(TWEAKS_JSON), 2 + 3 + 2 + 3);
}

#[wasm_bindgen_test]
fn psbt_signing_vectors() {
    let checked = signing_lnd::run_psbt_signing(PSBT_SIGNING_JSON);
    assert!(checked > 0);
    assert_eq!(checked, len(&doc(PSBT_SIGNING_JSON), "/cases"));
}

#[wasm_bindgen_test]
fn key_derivation_psbt_path_vectors() {
    let d = doc(KEY_DERIVATION_JSON);
    let checked = signing_lnd::run_key_derivation_psbt_paths(KEY_DERIVATION_JSON);
    assert!(checked > 0);
    assert_eq!(
        checked,
        len(&d, "/lnd_signer_test/derivations") + len(&d, "/lnd_signer_test/error_cases")
    );
}

// ---- BIP signing primitives and PSBT parser (tests/signing_bip.rs) ----

#[wasm_bindgen_test]
fn bip143_vectors() {
    let checked = signing_bip::run_bip143(BIP143_JSON);
    assert!(checked > 0);
    assert_eq!(checked, len(&doc(BIP143_JSON), "/vectors"));
}

#[wasm_bindgen_test]
fn bip341_key_path_vectors() {
    let d = doc(BIP341_JSON);
    let expected: usize = d["keyPathSpending"]
        .as_array()
        .expect("keyPathSpending")
        .iter()
        .map(|c| c["inputSpending"].as_array().expect("inputSpending").len())
        .sum();
    let checked = signing_bip::run_bip341_keypath(BIP341_JSON);
    assert!(checked > 0);
    assert_eq!(checked, expected);
}

#[wasm_bindgen_test]
fn bip340_vectors() {
    let rows = BIP340_CSV
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    let (checked, not_applicable) = signing_bip::run_bip340(BIP340_CSV);
    assert!(checked > 0);
    assert_eq!(checked + not_applicable, rows);
    assert_eq!(not_applicable, 4);
}

#[wasm_bindgen_test]
fn bip174_vectors() {
    let d = doc(BIP174_JSON);
    let packets = len(&d, "/invalid") + len(&d, "/valid") + len(&d, "/fails_signer_checks");
    assert_eq!(signing_bip::run_bip174(BIP174_JSON), packets + 1 + 2);
}

#[wasm_bindgen_test]
fn bip371_vectors() {
    let d = doc(BIP371_JSON);
    let checked = signing_bip::run_bip371(BIP371_JSON);
    assert!(checked > 0);
    assert_eq!(checked, len(&d, "/invalid") + len(&d, "/valid"));
}

// ---- MuSig2 (tests/musig2_lnd.rs, tests/musig2_bip327.rs) ----

#[wasm_bindgen_test]
fn lnd_combine_keys_vectors() {
    let want = len(&doc(MUSIG2_JSON), "/lnd_combine_keys/cases");
    let got = musig2_lnd::run_lnd_combine_keys(MUSIG2_JSON);
    assert!(got > 0);
    assert_eq!(got, want);
}

#[wasm_bindgen_test]
fn lnd_taproot_channel_signatures() {
    let want = len(&doc(TAPROOT_JSON), "/data/transactions");
    assert_eq!(
        want,
        len(&doc(MUSIG2_JSON), "/lnd_taproot_channel_sessions/sessions")
    );
    let got = musig2_lnd::run_lnd_taproot_sessions(MUSIG2_JSON, TAPROOT_JSON);
    assert!(got > 0);
    assert_eq!(got, want);
}

/// Case count of a BIP-327 vector file, as in tests/musig2_bip327.rs.
fn bip327_cases(json: &str) -> usize {
    let v = doc(json);
    let obj = v.as_object().expect("vector file is an object");
    let n: usize = obj
        .iter()
        .filter(|(k, _)| k.ends_with("test_cases"))
        .map(|(_, v)| v.as_array().map_or(0, Vec::len))
        .sum();
    if n == 0 && obj.contains_key("sorted_pubkeys") {
        1
    } else {
        n
    }
}

fn bip327(name: &str, json: &str, run: fn(&str) -> usize) {
    let want = bip327_cases(json);
    let got = run(json);
    assert!(got > 0, "{name}: no cases checked");
    assert_eq!(got, want, "{name}: checked {got} of {want} cases");
}

#[wasm_bindgen_test]
fn bip327_vectors() {
    bip327(
        "key_sort",
        vector!("bip/bip327/key_sort_vectors.json"),
        musig2_bip327::run_key_sort,
    );
    bip327(
        "key_agg",
        vector!("bip/bip327/key_agg_vectors.json"),
        musig2_bip327::run_key_agg,
    );
    bip327(
        "nonce_gen",
        vector!("bip/bip327/nonce_gen_vectors.json"),
        musig2_bip327::run_nonce_gen,
    );
    bip327(
        "nonce_agg",
        vector!("bip/bip327/nonce_agg_vectors.json"),
        musig2_bip327::run_nonce_agg,
    );
    bip327(
        "sign_verify",
        vector!("bip/bip327/sign_verify_vectors.json"),
        musig2_bip327::run_sign_verify,
    );
    bip327(
        "tweak",
        vector!("bip/bip327/tweak_vectors.json"),
        musig2_bip327::run_tweak,
    );
    bip327(
        "sig_agg",
        vector!("bip/bip327/sig_agg_vectors.json"),
        musig2_bip327::run_sig_agg,
    );
    bip327(
        "det_sign",
        vector!("bip/bip327/det_sign_vectors.json"),
        musig2_bip327::run_det_sign,
    );
}
