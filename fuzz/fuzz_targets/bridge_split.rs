//! Fuzz target `bridge_split`: see `lws_fuzz::checks::bridge_split` (fuzz/src/checks.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lws_fuzz::checks::bridge_split(data));
