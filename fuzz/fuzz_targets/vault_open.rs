//! Fuzz target `vault_open`: see `lws_fuzz::checks::vault_open` (fuzz/src/checks.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lws_fuzz::checks::vault_open(data));
