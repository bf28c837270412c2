//! Fuzz target `aezeed_mnemonic`: see `lws_fuzz::checks::aezeed_mnemonic` (fuzz/src/checks.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lws_fuzz::checks::aezeed_mnemonic(data));
