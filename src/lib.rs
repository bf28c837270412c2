//! lnd-web-signer core: keys, signing, the sans-IO protocol session and the
//! sealed seed vault. Pure code that builds for `wasm32-unknown-unknown` and
//! natively; hosts inject clock, entropy, storage and transport.
//!
//! Pipeline (see docs/ARCHITECTURE.md): [`keys`] → [`signing`] / [`musig2`]
//! → [`signer`] (signing work) → [`session`] (stream protocol) → hosts
//! (`native/` crate, [`wasm`] API, `web/`, `worker/`).
#![forbid(unsafe_code)]

#[doc(hidden)]
pub mod bench;
pub mod bundle;
pub mod entropy;
pub mod grpcweb;
#[cfg(feature = "json")]
pub mod json;
pub mod keys;
pub mod macaroon;
pub mod musig2;
pub mod proto;
pub mod request;
pub mod secret;
pub mod session;
pub mod signer;
pub mod signing;
pub mod vault;

// The one place for wasm cfg gates: everything target-specific lives below.
#[cfg(target_arch = "wasm32")]
pub mod wasm;
