//! aezeed conformance checks against `vectors/lnd/aezeed.json`.
//!
//! Run by the driver of the same name in `tests/conformance/`, natively and
//! in headless Chromium: no file I/O, threads or clocks here.

use lnd_web_signer::keys::aezeed::{AezeedError, CipherSeed, Mnemonic, ScryptParams};
use serde_json::Value;

fn field<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a Value {
    v.get(key)
        .unwrap_or_else(|| panic!("aezeed.json {ctx}: missing field {key:?}"))
}

fn text<'a>(v: &'a Value, key: &str, ctx: &str) -> &'a str {
    field(v, key, ctx)
        .as_str()
        .unwrap_or_else(|| panic!("aezeed.json {ctx}: field {key:?} is not a string"))
}

fn number(v: &Value, key: &str, ctx: &str) -> u64 {
    field(v, key, ctx)
        .as_u64()
        .unwrap_or_else(|| panic!("aezeed.json {ctx}: field {key:?} is not an unsigned integer"))
}

fn hex_array<const N: usize>(v: &Value, key: &str, ctx: &str) -> [u8; N] {
    let bytes = hex::decode(text(v, key, ctx))
        .unwrap_or_else(|e| panic!("aezeed.json {ctx}: field {key:?} is not hex: {e}"));
    bytes.try_into().unwrap_or_else(|b: Vec<u8>| {
        panic!("aezeed.json {ctx}: {key:?} has {} bytes, want {N}", b.len())
    })
}

fn words(v: &Value, key: &str, ctx: &str) -> String {
    let list = field(v, key, ctx)
        .as_array()
        .unwrap_or_else(|| panic!("aezeed.json {ctx}: field {key:?} is not an array"));
    let words: Vec<&str> = list
        .iter()
        .map(|w| {
            w.as_str()
                .unwrap_or_else(|| panic!("aezeed.json {ctx}: {key:?} holds a non-string"))
        })
        .collect();
    words.join(" ")
}

fn params_of(section: &Value, ctx: &str) -> ScryptParams {
    let s = field(section, "scrypt", ctx);
    let n = number(s, "N", ctx);
    assert!(
        n.is_power_of_two(),
        "aezeed.json {ctx}: scrypt N {n} is not a power of two"
    );
    assert_eq!(number(s, "key_len", ctx), 32, "aezeed.json {ctx}: key_len");
    ScryptParams {
        log_n: u8::try_from(n.trailing_zeros()).expect("log2 of a u64 fits u8"),
        r: u32::try_from(number(s, "r", ctx)).expect("r fits u32"),
        p: u32::try_from(number(s, "p", ctx)).expect("p fits u32"),
    }
}

/// Checks one seed both ways: encode(plaintext fields, salt, passphrase)
/// must give exactly `mnemonic` (and `enciphered`, when given), and decode
/// must give back every field.
#[allow(clippy::too_many_arguments)]
fn check_both_ways(
    ctx: &str,
    params: ScryptParams,
    internal_version: u8,
    birthday: u16,
    entropy: [u8; 16],
    salt: [u8; 5],
    passphrase: &[u8],
    mnemonic: &str,
    enciphered: Option<[u8; 33]>,
) {
    let seed = CipherSeed::new(internal_version, birthday, entropy, salt);
    let encoded = seed
        .to_mnemonic_with(passphrase, params)
        .unwrap_or_else(|e| panic!("{ctx}: encode failed: {e}"));
    assert_eq!(encoded.phrase(), mnemonic, "{ctx}: encoded mnemonic");

    let parsed = Mnemonic::parse(mnemonic).unwrap_or_else(|e| panic!("{ctx}: parse failed: {e}"));
    if let Some(bytes) = enciphered {
        assert_eq!(
            hex::encode(*parsed.to_enciphered()),
            hex::encode(bytes),
            "{ctx}: enciphered bytes of the mnemonic"
        );
        assert_eq!(
            hex::encode(*seed.encipher(passphrase, params).expect("encipher")),
            hex::encode(bytes),
            "{ctx}: enciphered bytes of the seed"
        );
    }

    let decoded = CipherSeed::from_mnemonic_with(mnemonic, passphrase, params)
        .unwrap_or_else(|e| panic!("{ctx}: decode failed: {e}"));
    assert_eq!(
        decoded.internal_version(),
        internal_version,
        "{ctx}: internal version"
    );
    assert_eq!(decoded.birthday_days(), birthday, "{ctx}: birthday");
    assert_eq!(decoded.entropy(), &entropy, "{ctx}: entropy");
    assert_eq!(decoded.salt(), salt, "{ctx}: salt");
}

/// Runs every case in `aezeed.json`; returns the number of cases checked:
/// each vector of `lnd_cipherseed_test` and `production_params_equivalent`,
/// plus `lnd_signer_test_seed` and `lnd_readme_sample`.
pub fn run_aezeed(json: &str) -> usize {
    let doc: Value = serde_json::from_str(json).expect("aezeed.json is not valid JSON");
    let mut checked = 0usize;

    let common = field(&doc, "common_inputs", "top level");
    let entropy: [u8; 16] = hex_array(common, "entropy_hex", "common_inputs");
    let salt: [u8; 5] = hex_array(common, "salt_hex", "common_inputs");
    let internal_version = u8::try_from(number(common, "internal_version", "common_inputs"))
        .expect("internal_version fits u8");
    assert_eq!(number(common, "cipher_seed_version", "common_inputs"), 0);

    // lnd's own vectors (scrypt N = 16).
    let section = field(&doc, "lnd_cipherseed_test", "top level");
    let params = params_of(section, "lnd_cipherseed_test");
    assert_eq!(
        params,
        ScryptParams::LND_TEST,
        "lnd_cipherseed_test: scrypt parameters"
    );
    let vectors = field(section, "vectors", "lnd_cipherseed_test")
        .as_array()
        .expect("lnd_cipherseed_test.vectors is an array");
    for (n, v) in vectors.iter().enumerate() {
        let ctx = format!("lnd_cipherseed_test vector {n}");
        let time = number(v, "time_unix", &ctx);
        let birthday = u16::try_from(number(v, "expected_birthday", &ctx)).expect("birthday");
        assert_eq!(
            CipherSeed::birthday_days_from_unix(time),
            birthday,
            "{ctx}: birthday from time"
        );
        let password = text(v, "password", &ctx).as_bytes();
        let mnemonic = words(v, "expected_mnemonic", &ctx);
        let enciphered = hex_array(v, "enciphered_seed_hex_derived_from_mnemonic", &ctx);
        check_both_ways(
            &ctx,
            params,
            internal_version,
            birthday,
            entropy,
            salt,
            password,
            &mnemonic,
            Some(enciphered),
        );
        // A different passphrase must fail the AEZ tag (cheap with N = 16).
        let wrong: &[u8] = if password.is_empty() {
            b"not-aezeed"
        } else {
            b""
        };
        assert_eq!(
            CipherSeed::from_mnemonic_with(&mnemonic, wrong, params).map(|_| ()),
            Err(AezeedError::InvalidPassphrase),
            "{ctx}: wrong passphrase"
        );
        checked += 1;
    }

    // The same inputs with lnd's production parameters.
    let section = field(&doc, "production_params_equivalent", "top level");
    let params = params_of(section, "production_params_equivalent");
    assert_eq!(
        params,
        ScryptParams::PRODUCTION,
        "production_params_equivalent: scrypt"
    );
    let vectors = field(section, "vectors", "production_params_equivalent")
        .as_array()
        .expect("production_params_equivalent.vectors is an array");
    for (n, v) in vectors.iter().enumerate() {
        let ctx = format!("production_params_equivalent vector {n}");
        let birthday = u16::try_from(number(v, "birthday", &ctx)).expect("birthday");
        let password = text(v, "password", &ctx).as_bytes();
        let mnemonic = words(v, "mnemonic", &ctx);
        let enciphered = hex_array(v, "enciphered_seed_hex", &ctx);
        check_both_ways(
            &ctx,
            params,
            internal_version,
            birthday,
            entropy,
            salt,
            password,
            &mnemonic,
            Some(enciphered),
        );
        checked += 1;
    }

    // lnd's signer_test.go seed (production parameters): mnemonic → entropy.
    let v = field(&doc, "lnd_signer_test_seed", "top level");
    let ctx = "lnd_signer_test_seed";
    let decoded = field(v, "decoded_by_npm_aezeed", ctx);
    check_both_ways(
        ctx,
        ScryptParams::PRODUCTION,
        u8::try_from(number(decoded, "internal_version", ctx)).expect("version fits u8"),
        u16::try_from(number(decoded, "birthday_days", ctx)).expect("birthday fits u16"),
        hex_array(v, "entropy_hex", ctx),
        hex_array(decoded, "salt_hex", ctx),
        text(v, "aezeed_passphrase", ctx).as_bytes(),
        &words(v, "mnemonic", ctx),
        Some(hex_array(decoded, "enciphered_seed_hex", ctx)),
    );
    checked += 1;

    // lnd's README sample fails its CRC32C (documented in the vector file).
    let v = field(&doc, "lnd_readme_sample", "top level");
    let ctx = "lnd_readme_sample";
    assert!(
        text(v, "status", ctx).contains("fails CRC32C"),
        "{ctx}: expected the vector file to mark this sample as failing CRC32C"
    );
    assert_eq!(
        CipherSeed::from_mnemonic(&words(v, "mnemonic", ctx), b"").map(|_| ()),
        Err(AezeedError::ChecksumMismatch),
        "{ctx}: checksum"
    );
    checked += 1;

    checked
}
