//! Fuzz target `signer_handle`: see `lws_fuzz::checks::signer_handle` (fuzz/src/checks.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lws_fuzz::checks::signer_handle(data));
