//! Fuzz targets of lnd-web-signer (cargo-fuzz, libFuzzer): the properties
//! live in [`checks`], one function per target in `fuzz_targets/`.
#![forbid(unsafe_code)]

pub mod checks;
