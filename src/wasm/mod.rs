//! The JavaScript API of the signer (wasm-bindgen) and its browser
//! transport. Compiled for `wasm32` only.

pub mod connection;
pub mod host;
pub mod transport;
