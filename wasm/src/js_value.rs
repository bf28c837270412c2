//! Values for JavaScript: `serde-wasm-bindgen`'s JSON-compatible mode (plain
//! objects, `null` for `None`) refuses any `u64` above 2^53 − 1, so 64-bit
//! fields are serialized with the core's [`lnd_web_signer::js_number`]
//! helpers (ids as decimal strings, amounts as numbers while exact, counters
//! as numbers), re-exported here.

use serde::Serialize;
use wasm_bindgen::{JsError, JsValue};

pub use lnd_web_signer::js_number::{u64_number, u64_string};

/// Converts `value` with JSON-compatible settings.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("internal error converting a result: {e}")))
}
