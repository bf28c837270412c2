//! Fuzz target `grpcweb_frames`: see `lws_fuzz::checks::grpcweb_frames` (fuzz/src/checks.rs).
#![no_main]
#![forbid(unsafe_code)]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lws_fuzz::checks::grpcweb_frames(data));
