//! Fuzz target `handle_line`: see `lws_fuzz::checks::handle_line` (fuzz/src/checks.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lws_fuzz::checks::handle_line(data));
