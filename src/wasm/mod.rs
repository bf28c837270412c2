//! The JavaScript API of the signer (wasm-bindgen) and its browser
//! transport. Compiled for `wasm32` only.
//!
//! * [`api`] — the exported functions and classes (`createSeed`,
//!   `sealVault`, `openVault`, `accountsJson`, `UnlockedSigner`,
//!   `SignerConnection`) with their TypeScript types.
//! * [`connection`] — the signer loop over signer-bridge (Attach + Reply).
//! * [`transport`] — grpc-web over `fetch` as a tonic transport.
//! * [`host`] — clock, timers and randomness through the global object.
//! * [`js_value`] — conversions to JavaScript values that never fail
//!   (64-bit ids as strings).

pub mod api;
#[cfg(feature = "bench")]
pub mod bench;
pub mod connection;
pub mod host;
pub mod js_value;
pub mod page;
pub mod reply_queue;
pub mod transport;

pub use api::{PendingSeed, SignerConnection, UnlockedSigner};
