//! Driver (native and wasm) for the BIP-327 conformance checks
//! (`checks/musig2_bip327.rs`) over `vectors/bip/bip327/*.json`.

use crate::checks::musig2_bip327 as checks;

fn read(name: &str) -> String {
    crate::vectors::file(&format!("bip/bip327/{name}"))
}

/// Number of cases in a vector file: the entries of every `*test_cases`
/// array (or 1 for the single-case key sort file).
fn cases_in(json: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(json).expect("vector file parses");
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

fn check(name: &str, run: fn(&str) -> usize) {
    let json = read(name);
    let want = cases_in(&json);
    let got = run(&json);
    assert!(got > 0, "{name}: no cases checked");
    assert_eq!(got, want, "{name}: checked {got} of {want} cases");
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_key_sort() {
    check("key_sort_vectors.json", checks::run_key_sort);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_key_agg() {
    check("key_agg_vectors.json", checks::run_key_agg);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_nonce_gen() {
    check("nonce_gen_vectors.json", checks::run_nonce_gen);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_nonce_agg() {
    check("nonce_agg_vectors.json", checks::run_nonce_agg);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_sign_verify() {
    check("sign_verify_vectors.json", checks::run_sign_verify);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_tweak() {
    check("tweak_vectors.json", checks::run_tweak);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_sig_agg() {
    check("sig_agg_vectors.json", checks::run_sig_agg);
}

#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
#[cfg_attr(not(target_arch = "wasm32"), test)]
fn bip327_det_sign() {
    check("det_sign_vectors.json", checks::run_det_sign);
}
