//! Native driver for the lnd signing conformance checks (`conformance/signing_lnd.rs`).

#[path = "conformance/signing_lnd.rs"]
mod checks;

use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors");

fn read(name: &str) -> String {
    let path = format!("{VECTORS}/{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read test vectors {path}: {e} (is ../shared/vectors present?)")
    })
}

fn len(doc: &Value, pointer: &str) -> usize {
    doc.pointer(pointer)
        .and_then(Value::as_array)
        .unwrap_or_else(|| panic!("vector file: {pointer} missing"))
        .len()
}

#[test]
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

#[test]
fn message_signing_vectors() {
    let json = read("lnd/message_signing.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_message_signing(&json);
    assert!(checked > 0);
    assert_eq!(checked, 1 + len(&doc, "/computed_node_key/cases"));
}

#[test]
fn tweak_vectors() {
    let checked = checks::run_tweaks(&read("lnd/tweaks.json"));
    // bolt3 (single+double), taproot channel (2 single + 1 double), maybe_tweak
    // (single+double), psbt test inputs (84 key, single, double).
    assert_eq!(checked, 2 + 3 + 2 + 3);
}

#[test]
fn psbt_signing_vectors() {
    let json = read("lnd/psbt_signing.json");
    let doc: Value = serde_json::from_str(&json).expect("json");
    let checked = checks::run_psbt_signing(&json);
    assert!(checked > 0);
    assert_eq!(checked, len(&doc, "/cases"));
}

#[test]
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
