//! Driver (native and wasm) for the BIP signing/PSBT conformance checks (`conformance/signing_bip.rs`).

use crate::checks::signing_bip as checks;

use serde_json::Value;

use crate::vectors::{file as read, len};

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip143_vectors() {
    let json = read("bip/bip143.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_bip143(&json);
    assert!(checked > 0);
    assert_eq!(checked, len(&doc, "/vectors"));
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip341_key_path_vectors() {
    let json = read("bip/bip341-wallet-test-vectors.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let expected: usize = doc["keyPathSpending"]
        .as_array()
        .expect("keyPathSpending")
        .iter()
        .map(|c| c["inputSpending"].as_array().expect("inputSpending").len())
        .sum();
    let checked = checks::run_bip341_keypath(&json);
    assert!(checked > 0);
    assert_eq!(checked, expected);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip340_vectors() {
    let csv = read("bip/bip340-test-vectors.csv");
    let rows = csv.lines().skip(1).filter(|l| !l.trim().is_empty()).count();
    let (checked, not_applicable) = checks::run_bip340(&csv);
    assert!(checked > 0);
    assert_eq!(checked + not_applicable, rows);
    // Only BIP-340 rows 15-18 (messages of 0, 1, 17 and 100 bytes).
    assert_eq!(not_applicable, 4);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip174_vectors() {
    let json = read("bip/bip174.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_bip174(&json);
    let packets = len(&doc, "/invalid") + len(&doc, "/valid") + len(&doc, "/fails_signer_checks");
    // + the lnd-rules signer run + one P2SH-P2WSH signature per signer step.
    assert_eq!(checked, packets + 1 + 2);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip371_vectors() {
    let json = read("bip/bip371.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_bip371(&json);
    assert!(checked > 0);
    assert_eq!(checked, len(&doc, "/invalid") + len(&doc, "/valid"));
}
