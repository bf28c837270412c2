//! Native driver for the lnd MuSig2 conformance checks
//! (`tests/conformance/musig2_lnd.rs`) over `vectors/lnd/musig2.json` and
//! `vectors/lnd/lnd_test_vectors_taproot.json`.

#[path = "conformance/musig2_lnd.rs"]
mod checks;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/vectors");

fn read(name: &str) -> String {
    let path = format!("{VECTORS}/lnd/{name}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read test vectors {path}: {e} (is ../shared/vectors present?)")
    })
}

fn count(json: &str, pointer: &str) -> usize {
    let v: serde_json::Value = serde_json::from_str(json).expect("vector file parses");
    v.pointer(pointer)
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("{pointer} missing"))
        .len()
}

#[test]
fn lnd_combine_keys_vectors() {
    let json = read("musig2.json");
    let want = count(&json, "/lnd_combine_keys/cases");
    let got = checks::run_lnd_combine_keys(&json);
    assert!(got > 0);
    assert_eq!(got, want);
}

#[test]
fn lnd_taproot_channel_signatures() {
    let m = read("musig2.json");
    let t = read("lnd_test_vectors_taproot.json");
    let want = count(&t, "/data/transactions");
    assert_eq!(want, count(&m, "/lnd_taproot_channel_sessions/sessions"));
    let got = checks::run_lnd_taproot_sessions(&m, &t);
    assert!(got > 0);
    assert_eq!(got, want);
}
