//! Conformance against the external test vectors of `../shared/vectors`
//! (lnd's and the BIPs'): one test binary whose tests run natively
//! (`cargo test --test conformance`) and, unchanged, in headless Chromium
//! (`cargo test --profile wasm-test -p lnd-web-signer --target wasm32-unknown-unknown
//! --test conformance`; release, because scrypt and Argon2id are far too slow
//! unoptimised). Each test carries both attributes, as rust-secp256k1's do.
//!
//! * `checks/` — the checks, plain functions from a vector file's text to the
//!   number of cases checked;
//! * the driver modules — run them and assert that count against the file;
//! * `vectors` — the files, embedded with `include_str!` so that both targets
//!   read the same bytes (a missing `../shared/vectors` fails the build).

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod checks {
    pub mod aezeed;
    pub mod keys;
    pub mod musig2_bip327;
    pub mod musig2_lnd;
    pub mod signing_bip;
    pub mod signing_lnd;
}

mod aezeed;
mod keys;
mod musig2_bip327;
mod musig2_lnd;
mod signing_bip;
mod signing_lnd;

mod vectors {
    /// Every vector file the drivers read, by path under `shared/vectors/`.
    macro_rules! files {
        ($($rel:literal),* $(,)?) => {
            &[$(($rel, include_str!(concat!("../../../shared/vectors/", $rel)))),*]
        };
    }
    const FILES: &[(&str, &str)] = files!(
        "bip/bip32.json",
        "bip/bip49.json",
        "bip/bip84.json",
        "bip/bip86.json",
        "bip/bip143.json",
        "bip/bip174.json",
        "bip/bip340-test-vectors.csv",
        "bip/bip341-wallet-test-vectors.json",
        "bip/bip371.json",
        "bip/bip327/det_sign_vectors.json",
        "bip/bip327/key_agg_vectors.json",
        "bip/bip327/key_sort_vectors.json",
        "bip/bip327/nonce_agg_vectors.json",
        "bip/bip327/nonce_gen_vectors.json",
        "bip/bip327/sig_agg_vectors.json",
        "bip/bip327/sign_verify_vectors.json",
        "bip/bip327/tweak_vectors.json",
        "lnd/aezeed.json",
        "lnd/ecdh.json",
        "lnd/key_derivation.json",
        "lnd/lnd_test_vectors_taproot.json",
        "lnd/message_signing.json",
        "lnd/musig2.json",
        "lnd/psbt_signing.json",
        "lnd/remote_signing_accounts.json",
        "lnd/tweaks.json",
    );

    use serde_json::Value;

    /// A vector file's text as JSON.
    pub fn doc(json: &str) -> Value {
        serde_json::from_str(json).expect("vector file is JSON")
    }

    /// Length of the array at `pointer` of a vector document.
    pub fn len(v: &Value, pointer: &str) -> usize {
        v.pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("vector file: {pointer} is not an array"))
            .len()
    }

    /// The text of vector file `rel` (e.g. `"lnd/aezeed.json"`).
    pub fn file(rel: &str) -> String {
        FILES
            .iter()
            .find(|(name, _)| *name == rel)
            .map(|(_, text)| (*text).to_owned())
            .unwrap_or_else(|| panic!("vector file {rel} is not in tests/conformance/main.rs"))
    }
}
