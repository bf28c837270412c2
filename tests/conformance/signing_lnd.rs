//! Driver (native and wasm) for the lnd signing conformance checks (`conformance/signing_lnd.rs`).

use crate::checks::signing_lnd as checks;

use serde_json::Value;

use crate::vectors::{file as read, len};

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn ecdh_vectors() {
    let json = read("lnd/ecdh.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_ecdh(&json);
    assert!(checked > 0);
    assert_eq!(
        checked,
        2 + len(&doc, "/computed_remote_signer_requests/cases")
    );
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn message_signing_vectors() {
    let json = read("lnd/message_signing.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_message_signing(&json);
    assert!(checked > 0);
    assert_eq!(checked, 1 + len(&doc, "/computed_node_key/cases"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn tweak_vectors() {
    let checked = checks::run_tweaks(&read("lnd/tweaks.json"));
    // bolt3 (single+double), taproot channel (2 single + 1 double), maybe_tweak
    // (single+double), psbt test inputs (84 key, single, double).
    assert_eq!(checked, 2 + 3 + 2 + 3);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn psbt_signing_vectors() {
    let json = read("lnd/psbt_signing.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_psbt_signing(&json);
    assert!(checked > 0);
    assert_eq!(checked, len(&doc, "/cases"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn key_derivation_psbt_path_vectors() {
    let json = read("lnd/key_derivation.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_key_derivation_psbt_paths(&json);
    assert!(checked > 0);
    assert_eq!(
        checked,
        len(&doc, "/lnd_signer_test/derivations") + len(&doc, "/lnd_signer_test/error_cases")
    );
}
