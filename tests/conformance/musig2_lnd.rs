//! Driver (native and wasm) for the lnd MuSig2 conformance checks
//! (`checks/musig2_lnd.rs`) over `vectors/lnd/musig2.json` and
//! `vectors/lnd/lnd_test_vectors_taproot.json`.

use crate::checks::musig2_lnd as checks;

fn read(name: &str) -> String {
    crate::vectors::file(&format!("lnd/{name}"))
}

fn count(json: &str, pointer: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(json).expect("vector file parses");
    v.pointer(pointer)
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("{pointer} missing"))
        .len()
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn lnd_combine_keys_vectors() {
    let json = read("musig2.json");
    let want = count(&json, "/lnd_combine_keys/cases");
    let got = checks::run_lnd_combine_keys(&json);
    assert!(got > 0);
    assert_eq!(got, want);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn lnd_taproot_channel_signatures() {
    let m = read("musig2.json");
    let t = read("lnd_test_vectors_taproot.json");
    let want = count(&t, "/data/transactions");
    assert_eq!(want, count(&m, "/lnd_taproot_channel_sessions/sessions"));
    let got = checks::run_lnd_taproot_sessions(&m, &t);
    assert!(got > 0);
    assert_eq!(got, want);
}
