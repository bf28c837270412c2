//! The core's integration tests, one binary (one link) natively: credentials
//! bundles, macaroons, MuSig2 sessions, the sans-IO session, bad signing
//! input, consensus checks of signed transactions (Bitcoin Core's script
//! interpreter) and the vault. Vector-driven checks are in `tests/conformance`.

mod bench_requests;
mod bundle;
mod macaroon;
mod musig2_session;
mod session;
mod signing_bad_input;
mod signing_consensus;
mod vault;
