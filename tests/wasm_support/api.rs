#![allow(dead_code)]
//! The exported JS API called from Rust in the browser: outputs equal the
//! native core's for the vector inputs; vault round trips; clear errors.

use lnd_web_signer::keys::aezeed::CipherSeed;
use lnd_web_signer::keys::{accounts_json, Network, RootKey};
use lnd_web_signer::wasm::api::{
    accounts_json as js_accounts_json, create_seed, open_vault, seal_vault,
};
use lnd_web_signer::wasm::UnlockedSigner;
use serde_json::Value;
use wasm_bindgen::{JsCast, JsError, JsValue};
use wasm_bindgen_test::wasm_bindgen_test;

use crate::signer_loop::js_object;

/// The message of a `JsError` as JavaScript sees it.
pub fn js_error_text(e: JsError) -> String {
    let v: JsValue = e.into();
    v.dyn_into::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .unwrap_or_else(|v| format!("{v:?}"))
}

fn vector(json: &str) -> Value {
    serde_json::from_str(json).expect("vector JSON")
}

fn signer_test_words() -> (Vec<String>, String) {
    let v = vector(crate::AEZEED_JSON);
    let seed = &v["lnd_signer_test_seed"];
    let words = seed["mnemonic"]
        .as_array()
        .expect("mnemonic")
        .iter()
        .map(|w| w.as_str().expect("word").to_owned())
        .collect();
    (
        words,
        seed["master_xprv_mainnet"]
            .as_str()
            .expect("xprv")
            .to_owned(),
    )
}

fn words_js(words: &[String]) -> JsValue {
    words
        .iter()
        .map(|w| JsValue::from_str(w))
        .collect::<js_sys::Array>()
        .into()
}

/// Cheap Argon2id for round trips (the default is exercised once below).
fn fast_kdf() -> JsValue {
    js_object(&[
        ("mCostKib", 64.into()),
        ("tCost", 1.into()),
        ("pCost", 1.into()),
    ])
}

#[wasm_bindgen_test]
fn accounts_json_of_the_vector_tprv_is_lncli_output() {
    let v = vector(crate::ACCOUNTS_JSON);
    let tprv = v["root_key_tprv"].as_str().expect("tprv");
    let input = js_object(&[("network", "regtest".into()), ("xprv", tprv.into())]);
    let out = js_accounts_json(input.unchecked_into()).expect("accountsJson");
    let parsed: Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(parsed, v["lncli_wallet_accounts_list_format"]);
    let native = accounts_json(&RootKey::from_xprv(tprv, Network::Regtest).expect("tprv"));
    assert_eq!(out, native, "byte-identical to the native output");
}

#[wasm_bindgen_test]
fn accounts_json_of_the_vector_aezeed_matches_its_xprv() {
    let (words, xprv) = signer_test_words();
    let input = js_object(&[
        ("network", "mainnet".into()),
        ("mnemonic", words_js(&words)),
    ]);
    let out = js_accounts_json(input.unchecked_into()).expect("accountsJson from words");
    let native = accounts_json(&RootKey::from_xprv(&xprv, Network::Mainnet).expect("xprv"));
    assert_eq!(out, native);
    // The same words as one string.
    let input = js_object(&[
        ("network", "mainnet".into()),
        ("mnemonic", words.join("  ").into()),
    ]);
    assert_eq!(
        js_accounts_json(input.unchecked_into()).expect("from a phrase"),
        native
    );
}

#[wasm_bindgen_test]
fn create_seed_gives_a_decodable_lnd_seed() {
    let out: JsValue = create_seed("regtest", Some("seed pass".into()))
        .expect("createSeed")
        .into();
    let words: Vec<String> =
        js_sys::Array::from(&js_sys::Reflect::get(&out, &"mnemonic".into()).expect("mnemonic"))
            .iter()
            .map(|w| w.as_string().expect("word"))
            .collect();
    assert_eq!(words.len(), 24);
    let get = |k: &str| {
        js_sys::Reflect::get(&out, &k.into())
            .expect("field")
            .as_f64()
            .expect("number")
    };
    let seed = CipherSeed::from_mnemonic(&words.join(" "), b"seed pass").expect("decodes");
    assert_eq!(seed.internal_version(), 1);
    assert_eq!(f64::from(seed.birthday_days()), get("birthdayDays"));
    assert_eq!(seed.birthday_unix() as f64, get("birthday"));
    let now = js_sys::Date::now() / 1000.0;
    assert!(now - get("birthday") < 2.0 * 86400.0 && get("birthday") <= now);
    assert_eq!(
        js_sys::Reflect::get(&out, &"network".into())
            .expect("network")
            .as_string()
            .as_deref(),
        Some("regtest")
    );
    assert!(CipherSeed::from_mnemonic(&words.join(" "), b"other").is_err());
    // Two seeds differ.
    let again: JsValue = create_seed("regtest", None).expect("createSeed").into();
    let words2 =
        js_sys::Array::from(&js_sys::Reflect::get(&again, &"mnemonic".into()).expect("mnemonic"));
    assert_ne!(
        words.join(" "),
        words2
            .iter()
            .map(|w| w.as_string().expect("word"))
            .collect::<Vec<_>>()
            .join(" ")
    );
}

#[wasm_bindgen_test]
fn create_seed_rejects_unknown_network() {
    let Err(err) = create_seed("moonnet", None) else {
        panic!("an unknown network must fail");
    };
    assert!(js_error_text(err).contains("unknown network \"moonnet\""));
}

#[wasm_bindgen_test]
fn seal_open_round_trip_keeps_keys_inside() {
    let (words, xprv) = signer_test_words();
    let seal_input = js_object(&[
        ("network", "mainnet".into()),
        ("mnemonic", words_js(&words)),
        ("vaultPassphrase", "correct horse battery".into()),
        ("macaroonHex", "0201036C6E64".into()),
        ("kdf", fast_kdf()),
    ]);
    let blob = seal_vault(seal_input.unchecked_into())
        .expect("sealVault")
        .to_vec();
    assert_eq!(&blob[..8], b"LNDWSVLT");

    let signer = open_vault(&blob, "correct horse battery".into()).expect("openVault");
    let root = RootKey::from_xprv(&xprv, Network::Mainnet).expect("xprv");
    assert_eq!(signer.network(), "mainnet");
    assert_eq!(signer.fingerprint(), hex::encode(root.master_fingerprint()));
    let seed = CipherSeed::from_mnemonic(&words.join(" "), b"").expect("vector seed");
    assert_eq!(signer.birthday(), seed.birthday_unix() as f64);
    assert!(signer.has_macaroon());
    assert!(!signer.locked());
    assert_eq!(
        signer.accounts_json().expect("accounts"),
        accounts_json(&root)
    );

    let err = open_vault(&blob, "wrong".into()).expect_err("wrong passphrase");
    assert_eq!(js_error_text(err), "wrong passphrase");
    let mut bad = blob.clone();
    let last = bad.len() - 40;
    bad[last] ^= 1;
    let err = open_vault(&bad, "correct horse battery".into()).expect_err("tampered");
    assert!(js_error_text(err).contains("corrupted"), "tampered vault");

    signer.lock();
    assert!(signer.locked());
    assert!(!signer.has_macaroon());
    assert_eq!(
        js_error_text(signer.accounts_json().expect_err("locked")),
        "the signer is locked"
    );
}

#[wasm_bindgen_test]
fn default_kdf_vault_opens_in_the_browser() {
    let v = vector(crate::ACCOUNTS_JSON);
    let tprv = v["root_key_tprv"].as_str().expect("tprv");
    let input = js_object(&[
        ("network", "regtest".into()),
        ("xprv", tprv.into()),
        ("vaultPassphrase", "pw".into()),
    ]);
    let blob = seal_vault(input.unchecked_into()).expect("seal").to_vec();
    let signer = open_vault(&blob, "pw".into()).expect("open");
    let root = RootKey::from_xprv(tprv, Network::Regtest).expect("tprv");
    assert_eq!(signer.fingerprint(), hex::encode(root.master_fingerprint()));
    assert!(!signer.has_macaroon());
    assert_eq!(signer.network(), "regtest");
}

fn seal_error(pairs: &[(&str, JsValue)]) -> String {
    let input = js_object(pairs);
    js_error_text(seal_vault(input.unchecked_into()).expect_err("must fail"))
}

#[wasm_bindgen_test]
fn seal_input_errors_are_clear() {
    let (words, xprv) = signer_test_words();
    let pass = ("vaultPassphrase", JsValue::from_str("pw"));
    assert_eq!(
        seal_error(&[
            ("network", "mainnet".into()),
            ("mnemonic", words_js(&words)),
            ("xprv", xprv.as_str().into()),
            pass.clone(),
        ]),
        "give either mnemonic or xprv, not both"
    );
    assert_eq!(
        seal_error(&[("network", "mainnet".into()), pass.clone()]),
        "mnemonic or xprv is missing"
    );
    assert_eq!(
        seal_error(&[
            ("network", "mainnet".into()),
            ("xprv", xprv.as_str().into())
        ]),
        "vaultPassphrase is missing"
    );
    assert!(seal_error(&[
        ("network", "mainnet".into()),
        ("xprv", xprv.as_str().into()),
        pass.clone(),
        ("macaroonHex", "zz".into()),
    ])
    .starts_with("macaroon hex is invalid"));
    // A wrong word count comes from the core's aezeed decoder.
    let short = words_js(&words[..12]);
    let msg = seal_error(&[
        ("network", "mainnet".into()),
        ("mnemonic", short),
        pass.clone(),
    ]);
    assert!(msg.contains("24"), "{msg}");
    // The xprv must belong to the network.
    let msg = seal_error(&[
        ("network", "regtest".into()),
        ("xprv", xprv.as_str().into()),
        pass,
    ]);
    assert!(!msg.is_empty());
    let not_object = js_error_text(
        seal_vault(JsValue::from_str("nope").unchecked_into()).expect_err("not an object"),
    );
    assert!(not_object.starts_with("seed input must be an object"));
}

#[wasm_bindgen_test]
fn from_seed_signer_matches_vault_signer() {
    let v = vector(crate::ACCOUNTS_JSON);
    let tprv = v["root_key_tprv"].as_str().expect("tprv");
    let input = js_object(&[("network", "regtest".into()), ("xprv", tprv.into())]);
    let signer =
        UnlockedSigner::from_seed(input.unchecked_into(), Some("abcd".into())).expect("signer");
    assert!(signer.has_macaroon());
    let root = RootKey::from_xprv(tprv, Network::Regtest).expect("tprv");
    assert_eq!(signer.fingerprint(), hex::encode(root.master_fingerprint()));
    let parsed: Value =
        serde_json::from_str(&signer.accounts_json().expect("accounts")).expect("JSON");
    assert_eq!(parsed, v["lncli_wallet_accounts_list_format"]);
}
