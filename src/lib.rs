//! lnd-web-signer core: keys, signing, the sans-IO protocol session and the
//! sealed seed vault. Pure code without target-specific parts: it builds for
//! `wasm32-unknown-unknown` and natively, and hosts inject clock, entropy,
//! storage and transport.
//!
//! Pipeline (see docs/ARCHITECTURE.md): [`keys`] → [`signing`] / [`musig2`]
//! → [`signer`] (signing work) → [`session`] (stream protocol) → hosts
//! (the `native/` crate; the `wasm/` crate with the JavaScript API, used by
//! `web/` and `worker/`).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod activity;
pub mod audit;
#[doc(hidden)]
pub mod bundle;
pub mod entropy;
pub mod grpcweb;
pub mod js_number;
#[cfg(feature = "json")]
pub mod json;
pub mod keys;
pub mod macaroon;
pub mod musig2;
pub mod policy;
pub mod proto;
pub mod reply_queue;
pub mod request;
pub mod secret;
pub mod session;
pub mod signer;
pub mod signing;
pub mod vault;
