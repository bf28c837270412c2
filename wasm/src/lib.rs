//! The browser host of lnd-web-signer: the JavaScript API of the signer
//! (wasm-bindgen) and its I/O — grpc-web over `fetch`, timers, the clock,
//! the signer loop — on top of the pure core crate (`lnd_web_signer`), as
//! quinn is to quinn-proto. Built for `wasm32-unknown-unknown` by
//! `scripts/build-wasm.sh` into the package `web/pkg/lnd_web_signer.js` +
//! `lnd_web_signer_bg.wasm` used by `web/`, `worker/` and the extension.
//!
//! * [`api`] — the exported functions and classes (`createSeed`,
//!   `sealVault`, `openVault`, `accountsJson`, `UnlockedSigner`,
//!   `SignerConnection`) with their TypeScript types.
//! * [`connection`] — the signer loop over signer-bridge (Attach + Reply),
//!   batching answers with the core's [`lnd_web_signer::reply_queue`].
//! * [`error_code`] — the stable error codes of its `error` and
//!   `disconnected` events, set from gRPC codes and transport failures.
//! * [`transport`] — grpc-web over `fetch` as a tonic transport.
//! * [`host`] — clock, timers and randomness through the global object.
//! * [`page`] — thin bindings for the signer tab (vault checks, the stream
//!   inspector over the core's [`lnd_web_signer::activity`]).
//! * [`js_value`] — conversions to JavaScript values that never fail
//!   (64-bit ids as strings).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod api;
#[cfg(feature = "bench")]
pub mod bench;
pub mod connection;
pub mod credentials;
pub mod error_code;
pub mod host;
pub mod js_value;
pub mod page;
pub mod policy;
pub mod transport;
pub mod websocket;

pub use api::{PendingSeed, SignerConnection, UnlockedSigner};
