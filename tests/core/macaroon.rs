//! The macaroon decoder against real lnd macaroons (tests/fixtures/macaroons,
//! baked with lncli for a throwaway root key) and what `lncli printmacaroon`
//! printed for them; broken and hostile inputs never panic.

use lnd_web_signer::macaroon::{self, MacaroonError, BAKE_COMMAND};
use proptest::prelude::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/macaroons");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}/{name}.macaroon")).expect("fixture macaroon")
}

fn printmacaroon(name: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("{FIXTURES}/{name}.printmacaroon.json"))
        .expect("printmacaroon output");
    serde_json::from_str(&text).expect("printmacaroon JSON")
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    match v {
        serde_json::Value::Null => Vec::new(),
        v => v
            .as_array()
            .expect("array")
            .iter()
            .map(|s| s.as_str().expect("string").to_owned())
            .collect(),
    }
}

#[test]
fn decodes_like_lncli_printmacaroon() {
    for name in ["signer", "admin-like", "signer-timeout-ip"] {
        let info = macaroon::decode(&fixture(name)).expect(name);
        let want = printmacaroon(name);
        assert_eq!(info.location, want["location"], "{name}");
        assert_eq!(info.root_key_id, want["root_key_id"], "{name}");
        assert_eq!(info.permissions, strings(&want["permissions"]), "{name}");
        assert_eq!(info.caveats, strings(&want["caveats"]), "{name}");
    }
}

#[test]
fn least_privilege_and_warning() {
    let signer = macaroon::decode(&fixture("signer")).expect("signer");
    assert!(signer.least_privilege());
    assert_eq!(signer.warning(), None);
    assert_eq!(
        signer.inspect_json(),
        r#"{"permissions":["remotesigner:generate"],"caveats":[],"least_privilege":true}"#
    );

    let caveated = macaroon::decode(&fixture("signer-timeout-ip")).expect("caveats");
    assert!(caveated.least_privilege(), "caveats do not add permissions");
    let v: serde_json::Value = serde_json::from_str(&caveated.inspect_json()).expect("json");
    assert_eq!(v["caveats"][1], "ipaddr 127.0.0.1");
    assert!(v["caveats"][0]
        .as_str()
        .expect("caveat")
        .starts_with("time-before "));

    let admin = macaroon::decode(&fixture("admin-like")).expect("admin");
    assert!(!admin.least_privilege());
    assert_eq!(admin.extra_permissions().len(), 16);
    assert!(!admin.extra_permissions().contains(&"remotesigner:generate"));
    let w = admin.warning().expect("admin-like warns");
    assert!(!w.contains('\n'), "one line: {w}");
    assert!(
        w.contains("also address:read, address:write, info:read"),
        "{w}"
    );
    assert!(w.contains(BAKE_COMMAND), "{w}");
    let v: serde_json::Value = serde_json::from_str(&admin.inspect_json()).expect("json");
    assert_eq!(v["least_privilege"], false);
    assert_eq!(v["permissions"].as_array().expect("list").len(), 17);
}

#[test]
fn inspect_output_never_shows_the_macaroon_bytes() {
    for name in ["signer", "admin-like", "signer-timeout-ip"] {
        let bytes = fixture(name);
        let info = macaroon::decode(&bytes).expect(name);
        let shown = format!("{} {:?} {}", info.inspect_json(), info, info);
        let sig = &bytes[bytes.len() - 32..];
        assert!(!shown.contains(&hex::encode(sig)), "{name}: {shown}");
        assert!(!shown.contains(&hex::encode(&bytes)), "{name}");
    }
}

#[test]
fn hex_text_files_are_accepted() {
    let bin = fixture("admin-like");
    let text = format!("  {}\r\n", hex::encode(&bin));
    let bytes = macaroon::from_file_bytes(text.as_bytes()).expect("hex");
    assert_eq!(bytes.as_slice(), &bin[..]);
    assert_eq!(
        macaroon::from_file_bytes(&bin).expect("binary").as_slice(),
        &bin[..]
    );
}

#[test]
fn every_truncation_and_extension_is_refused() {
    for name in ["signer", "admin-like", "signer-timeout-ip"] {
        let bytes = fixture(name);
        for cut in 0..bytes.len() {
            assert!(
                macaroon::decode(&bytes[..cut]).is_err(),
                "{name} cut at {cut}"
            );
        }
        let mut longer = bytes.clone();
        longer.push(b'\n');
        assert_eq!(
            macaroon::decode(&longer),
            Err(MacaroonError::TrailingBytes(1))
        );
    }
    assert!(macaroon::decode(b"-----BEGIN CERTIFICATE-----").is_err());
    assert!(macaroon::decode(b"{\"i\": \"x\"}").is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Random bytes after a v2 version byte: an error or a result, never a panic.
    #[test]
    fn random_bytes_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut m = vec![2u8];
        m.extend_from_slice(&tail);
        let _ = macaroon::decode(&m);
    }

    /// A real macaroon with one byte changed: never a panic.
    #[test]
    fn mutated_macaroons_never_panic(pos in 0usize..299, byte in any::<u8>()) {
        let mut m = fixture("admin-like");
        let pos = pos % m.len();
        m[pos] = byte;
        let _ = macaroon::decode(&m);
    }
}
