//! Headless-Chromium tests of the wasm host (wasm-bindgen-test):
//!
//! * the exported JS API (`createSeed`, `sealVault`, `openVault`,
//!   `accountsJson`, `UnlockedSigner`);
//! * the grpc-web transport with response bodies split at every byte
//!   boundary, and the signer loop against an in-page fake signer-bridge.
//!
//! The conformance checks against the vector files run in Chromium from the
//! core's own test binary (`tests/conformance`, same tests as natively).
//!
//! Run (release: scrypt and Argon2id are far too slow unoptimised):
//! `cargo test --profile wasm-test -p lnd-web-signer-wasm --target wasm32-unknown-unknown --test wasm`
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::wasm_bindgen_test_configure;

wasm_bindgen_test_configure!(run_in_browser);

#[path = "wasm_support/api.rs"]
mod api;
#[path = "wasm_support/fake_bridge.rs"]
mod fake_bridge;
#[path = "wasm_support/signer_loop.rs"]
mod signer_loop;
#[path = "wasm_support/transport.rs"]
mod transport;

/// Vector files the API tests use, relative to this file (wasm/tests/ → the
/// repository → its parent).
macro_rules! vector {
    ($rel:literal) => {
        include_str!(concat!("../../../shared/vectors/", $rel))
    };
}

pub(crate) const AEZEED_JSON: &str = vector!("lnd/aezeed.json");
pub(crate) const ACCOUNTS_JSON: &str = vector!("lnd/remote_signing_accounts.json");
