//! Driver (native and wasm) for the key-model conformance checks
//! (`checks/keys.rs`), plus native-only checks.

use crate::checks::keys as checks;

use serde_json::Value;

use crate::vectors::{doc, file as read, len};

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn key_derivation_vectors() {
    let json = read("lnd/key_derivation.json");
    let d = doc(&json);
    // master + derivations + first P2WKH + first P2TR + path cases + node key
    // + itest accounts + fingerprint
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
    let checked = checks::run_key_derivation(&json);
    assert!(checked > 0);
    assert_eq!(checked, expected);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn remote_signing_accounts_vectors() {
    let json = read("lnd/remote_signing_accounts.json");
    let d = doc(&json);
    let accounts = len(&d, "/docs_init_wallet_accounts/accounts");
    assert_eq!(accounts, 259, "the docs list 3 wallet + 256 lnd accounts");
    assert_eq!(len(&d, "/lncli_wallet_accounts_list_format/accounts"), 259);
    let checked = checks::run_accounts(&json);
    assert_eq!(checked, accounts + 1);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn aezeed_seed_file_gives_lnd_root() {
    let json = read("lnd/aezeed.json");
    assert!(doc(&json).get("lnd_signer_test_seed").is_some());
    assert_eq!(checks::run_aezeed_root(&json), 1);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip32_vectors() {
    let json = read("bip/bip32.json");
    let d = doc(&json);
    let chains: usize = d["vectors"]
        .as_array()
        .expect("vectors")
        .iter()
        .map(|v| v["chains"].as_array().expect("chains").len())
        .sum();
    let invalid = len(&d, "/invalid_extended_keys/keys");
    let checked = checks::run_bip32(&json);
    assert!(checked > 0);
    assert_eq!(checked, chains + invalid);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip49_84_86_vectors() {
    for (file, run) in [
        ("bip/bip49.json", checks::run_bip49 as fn(&str) -> usize),
        ("bip/bip84.json", checks::run_bip84),
        ("bip/bip86.json", checks::run_bip86),
    ] {
        let json = read(file);
        let expected = 1 + len(&doc(&json), "/addresses");
        assert_eq!(run(&json), expected, "{file}");
    }
}

/// The accounts file for the docs root key on every network: well-formed,
/// 259 accounts, 1017 coin type per network, and stable (same root → same
/// bytes).
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn accounts_json_every_network() {
    use lnd_web_signer::keys::{accounts_json, Network, RootKey};
    for network in Network::ALL {
        let root = RootKey::from_seed_entropy(&[0x11; 16], network).expect("root");
        let a = accounts_json(&root);
        assert_eq!(a, accounts_json(&root));
        let v: Value = serde_json::from_str(&a).expect("JSON");
        let list = v["accounts"].as_array().expect("accounts");
        assert_eq!(list.len(), 259);
        assert_eq!(
            list[3]["derivation_path"],
            format!("m/1017'/{}'/0'", network.lnd_coin_type())
        );
        assert!(a.ends_with("}\n") && !a.ends_with("\n\n"));
    }
}
