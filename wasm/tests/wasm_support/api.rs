#![allow(dead_code)]
//! The exported JS API called from Rust in the browser: outputs equal the
//! native core's for the vector inputs; vault round trips; clear errors.

use lnd_web_signer::keys::aezeed::CipherSeed;
use lnd_web_signer::keys::{accounts_json, Network, RootKey};
use lnd_web_signer_wasm::api::{
    accounts_json as js_accounts_json, create_seed, open_vault, seal_vault,
};
use lnd_web_signer_wasm::UnlockedSigner;
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

/// The cheapest Argon2id sealVault accepts (the floor; the default is
/// exercised once below).
fn fast_kdf() -> JsValue {
    js_object(&[
        ("mCostKib", 19456.into()),
        ("tCost", 2.into()),
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

    let signer = open_vault(&blob, "correct horse battery".into(), None).expect("openVault");
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

    let err = open_vault(&blob, "wrong".into(), None).expect_err("wrong passphrase");
    assert_eq!(js_error_text(err), "wrong passphrase");
    let mut bad = blob.clone();
    let last = bad.len() - 40;
    bad[last] ^= 1;
    let err = open_vault(&bad, "correct horse battery".into(), None).expect_err("tampered");
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
    let signer = open_vault(&blob, "pw".into(), None).expect("open");
    let root = RootKey::from_xprv(tprv, Network::Regtest).expect("tprv");
    assert_eq!(signer.fingerprint(), hex::encode(root.master_fingerprint()));
    assert!(!signer.has_macaroon());
    assert_eq!(signer.network(), "regtest");
}

#[wasm_bindgen_test]
fn policy_sealed_in_the_vault_budget_and_audit_chain() {
    let v = vector(crate::ACCOUNTS_JSON);
    let tprv = v["root_key_tprv"].as_str().expect("tprv");
    let input = js_object(&[
        ("network", "regtest".into()),
        ("xprv", tprv.into()),
        ("vaultPassphrase", "pw".into()),
    ]);
    let blob = seal_vault(input.unchecked_into()).expect("seal").to_vec();
    let signer = open_vault(&blob, "pw".into(), None).expect("open");
    let policy = |s: &UnlockedSigner| -> serde_json::Value {
        serde_wasm_bindgen::from_value(s.policy().expect("policy")).expect("json")
    };
    assert_eq!(policy(&signer)["sealed"], serde_json::Value::Null);
    assert_eq!(policy(&signer)["pregeneratedNonce"], "multisig-only");
    let text = r#"{"onchain":{"max_external_per_tx":1000,"over_limit":"ask"}}"#;
    // A bad key is named; a wrong passphrase changes nothing.
    let bad = signer.seal_policy(
        &blob,
        "pw".into(),
        Some(r#"{"onchain":{"max_fee":-1}}"#.into()),
    );
    assert!(js_error_text(bad.expect_err("bad key")).contains("onchain.max_fee"));
    let wrong = signer.seal_policy(&blob, "nope".into(), Some(text.into()));
    assert_eq!(
        js_error_text(wrong.expect_err("wrong passphrase")),
        "wrong passphrase"
    );
    assert_eq!(policy(&signer)["maxExternalPerTx"], serde_json::Value::Null);
    let sealed = signer
        .seal_policy(&blob, "pw".into(), Some(text.into()))
        .expect("seal policy")
        .to_vec();
    assert_eq!(policy(&signer)["maxExternalPerTx"], 1000);
    assert_eq!(policy(&signer)["overLimit"], "ask");
    // It is in the vault: a new unlock has it; openVault's argument overrides it.
    let reopened = open_vault(&sealed, "pw".into(), None).expect("open");
    assert_eq!(policy(&reopened)["sealed"], text);
    let overridden =
        open_vault(&sealed, "pw".into(), Some(r#"{"preset":"strict"}"#.into())).expect("open");
    assert_eq!(policy(&overridden)["pregeneratedNonce"], "refuse");
    assert!(js_error_text(
        open_vault(&sealed, "pw".into(), Some("{".into())).expect_err("not json")
    )
    .contains("not valid JSON"));
    // Budgets.
    assert!(reopened.budget().expect("budget").is_null());
    assert!(reopened.set_budget(0.5, 5.0).is_err());
    assert!(reopened.set_budget(1000.0, 0.0).is_err());
    reopened.set_budget(250_000.0, 5.0).expect("budget");
    let b: serde_json::Value =
        serde_wasm_bindgen::from_value(reopened.budget().expect("b")).expect("json");
    assert_eq!(b["remaining"], 250_000);
    reopened.clear_budget().expect("clear");
    assert!(reopened.budget().expect("budget").is_null());
    // An empty log starts a chain; a foreign one is refused naming the line.
    assert_eq!(reopened.resume_audit("").expect("new log"), 0.0);
    let forged = "{\"seq\":0}\n";
    assert!(js_error_text(reopened.resume_audit(forged).expect_err("forged")).contains("line 1"));
    assert!(js_error_text(reopened.verify_audit(forged).expect_err("forged")).contains("line 1"));
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

/// sealVault and vaultWithMacaroon accepted Argon2 parameters down to
/// 8 KiB / t = 1: below OWASP's Argon2id minimum
/// they are refused now; a cheap vault made elsewhere still opens, and
/// re-sealing it (a new macaroon) upgrades it to the default cost.
#[wasm_bindgen_test]
fn seal_vault_refuses_a_kdf_below_the_floor() {
    use lnd_web_signer::keys::SeedInput;
    use lnd_web_signer::secret::SecretString;
    use lnd_web_signer::vault;
    use lnd_web_signer_wasm::page::{vault_info, vault_with_macaroon};

    let v = vector(crate::ACCOUNTS_JSON);
    let tprv = v["root_key_tprv"].as_str().expect("tprv");
    let kdf = |m: u32, t: u32| {
        js_object(&[
            ("mCostKib", m.into()),
            ("tCost", t.into()),
            ("pCost", 1.into()),
        ])
    };
    for (m, t) in [(8, 1), (64, 1), (19455, 2), (19456, 1), (65536, 1)] {
        let msg = seal_error(&[
            ("network", "regtest".into()),
            ("xprv", tprv.into()),
            ("vaultPassphrase", "pw".into()),
            ("kdf", kdf(m, t)),
        ]);
        assert_eq!(
            msg,
            format!("vault key derivation parameters below the sealing floor (m = {m} KiB, t = {t}; at least m = 19456 KiB and t = 2, OWASP's Argon2id minimum)")
        );
    }
    // A cheap vault from the test-only path (or an old build) opens ...
    let weak = vault::KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };
    let blob = vault::test_only_weak_kdf::seal(
        &SeedInput::Xprv(SecretString::from(tprv)),
        Network::Regtest,
        None,
        b"pw",
        weak,
        &lnd_web_signer::entropy::FixedEntropy([3; 32]),
    )
    .expect("weak vault");
    assert!(open_vault(&blob, "pw".into(), None).is_ok());
    // ... and re-sealing it gives the default cost, not the cheap one.
    let resealed = vault_with_macaroon(&blob, "pw".into(), Some("0201".into()))
        .expect("vaultWithMacaroon")
        .to_vec();
    let info = vault_info(&resealed).expect("vaultInfo");
    let m = js_sys::Reflect::get(&info, &"mCostKib".into()).expect("mCostKib");
    assert_eq!(m.as_f64(), Some(65536.0));
    assert!(open_vault(&resealed, "pw".into(), None)
        .expect("opens")
        .has_macaroon());
}

/// A new seed's words and aezeed passphrase stay in wasm (the worker used
/// to hold them as JS strings until sealing): the words
/// come out once, the user's copy is checked and the seed sealed inside.
#[wasm_bindgen_test]
fn pending_seed_shows_its_words_once_checks_and_seals_inside() {
    use lnd_web_signer_wasm::PendingSeed;

    let mut pending = PendingSeed::new("regtest", Some("aezeed pass".into())).expect("seed");
    assert_eq!(pending.network(), "regtest");
    let words: Vec<String> = pending
        .take_words()
        .expect("first time")
        .iter()
        .map(|w| w.as_string().expect("a string"))
        .collect();
    assert_eq!(words.len(), 24);
    assert_eq!(
        js_error_text(pending.take_words().expect_err("only once")),
        "the words of this seed were already shown"
    );
    let answer = |p: u32, w: &str| js_object(&[("position", p.into()), ("word", w.into())]);
    let answers: js_sys::Array = [
        answer(1, &words[0]),
        answer(2, "zzz"),
        answer(24, &format!("  {}  ", words[23].to_uppercase())),
        answer(0, &words[0]),
        answer(25, &words[0]),
    ]
    .into_iter()
    .collect();
    let wrong: Vec<f64> = pending
        .check_words(answers.into())
        .expect("checked")
        .iter()
        .filter_map(|v| v.as_f64())
        .collect();
    assert_eq!(wrong, vec![2.0, 0.0, 25.0]);
    let too_many: js_sys::Array = (1..=25).map(|p| answer(p, "x")).collect();
    assert_eq!(
        js_error_text(pending.check_words(too_many.into()).expect_err("bounded")),
        "at most 24 answers"
    );
    let weak = js_object(&[("mCostKib", 64.into()), ("tCost", 1.into())]);
    assert!(
        js_error_text(pending.seal("vault pass".into(), weak).expect_err("floor"))
            .contains("below the sealing floor")
    );
    let blob = pending
        .seal("vault pass".into(), fast_kdf())
        .expect("sealed")
        .to_vec();
    let signer = open_vault(&blob, "vault pass".into(), None).expect("opens");
    // The same key as the words with their aezeed passphrase.
    let seed = CipherSeed::from_mnemonic(&words.join(" "), b"aezeed pass").expect("deciphers");
    let root = RootKey::from_seed_entropy(seed.entropy(), Network::Regtest).expect("root");
    assert_eq!(signer.fingerprint(), hex::encode(root.master_fingerprint()));
    assert_eq!(signer.birthday(), pending.birthday());
    // Debug shows only the network and whether the words were shown: the
    // exact text, since any random seed word may be a substring of the
    // field names ("network", "true", "work", …).
    let text = format!("{pending:?}");
    assert_eq!(
        text,
        "PendingSeed { network: Regtest, words_taken: true, .. }"
    );
}

/// The macaroon enters wasm as bytes, is sealed into the vault and kept by
/// the unlocked signer for connect() (the page used to pass its hex to
/// connect on every connect).
#[wasm_bindgen_test]
fn seal_macaroon_keeps_it_inside_for_connect() {
    let v = vector(crate::ACCOUNTS_JSON);
    let tprv = v["root_key_tprv"].as_str().expect("tprv");
    let seal = |xprv: &str, network: &str| {
        let input = js_object(&[
            ("network", network.into()),
            ("xprv", xprv.into()),
            ("vaultPassphrase", "pw".into()),
            ("kdf", fast_kdf()),
        ]);
        seal_vault(input.unchecked_into()).expect("seal").to_vec()
    };
    let blob = seal(tprv, "regtest");
    let signer = open_vault(&blob, "pw".into(), None).expect("open");
    assert!(!signer.has_macaroon());
    let sealed = signer
        .seal_macaroon(&blob, "pw".into(), Some(vec![2, 1, 3, 0x6c]))
        .expect("sealed")
        .to_vec();
    assert!(signer.has_macaroon(), "held for connect()");
    let reopened = open_vault(&sealed, "pw".into(), None).expect("the new vault opens");
    assert!(reopened.has_macaroon());
    assert_eq!(
        js_error_text(
            signer
                .seal_macaroon(&blob, "nope".into(), Some(vec![1]))
                .expect_err("wrong passphrase")
        ),
        "wrong passphrase"
    );
    // Another key's vault is refused.
    let (_, other_xprv) = signer_test_words();
    let other = seal(&other_xprv, "mainnet");
    assert!(js_error_text(
        signer
            .seal_macaroon(&other, "pw".into(), Some(vec![1]))
            .expect_err("other key")
    )
    .starts_with("this vault holds another key"));
    // Removing it.
    let without = signer
        .seal_macaroon(&sealed, "pw".into(), None)
        .expect("removed")
        .to_vec();
    assert!(!signer.has_macaroon());
    assert!(!open_vault(&without, "pw".into(), None)
        .expect("opens")
        .has_macaroon());
    signer.lock();
    assert_eq!(
        js_error_text(
            signer
                .seal_macaroon(&blob, "pw".into(), Some(vec![1]))
                .expect_err("locked")
        ),
        "the signer is locked"
    );
}
