//! Values for JavaScript: `serde-wasm-bindgen`'s JSON-compatible mode (plain
//! objects, `null` for `None`) refuses any `u64` above 2^53 − 1, and a
//! refused value used to make a whole status or description disappear
//! (issue 11, finding 2). lnd's request ids are `uint64`, and a hostile node
//! can put any 64-bit amount into a PSBT, so:
//!
//! * request ids always travel as exact decimal strings ([`u64_string`]);
//! * amounts are numbers while they are exact, strings beyond
//!   ([`opt_u64_exact`]);
//! * counters are numbers, rounded past 2^53 ([`u64_number`]) — they cannot
//!   get there, and they must never fail.

use serde::{Serialize, Serializer};
use wasm_bindgen::{JsError, JsValue};

/// `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// Converts `value` with JSON-compatible settings.
pub fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("internal error converting a result: {e}")))
}

/// A `u64` as its decimal string.
pub fn u64_string<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// An optional `u64`: a number up to [`MAX_SAFE_INTEGER`], the decimal
/// string above, `null` for `None`.
pub fn opt_u64_exact<S: Serializer>(value: &Option<u64>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        None => s.serialize_none(),
        Some(n) if *n <= MAX_SAFE_INTEGER => s.serialize_some(n),
        Some(n) => s.serialize_some(&n.to_string()),
    }
}

/// A `u64` counter as a number (`f64`, exact up to 2^53).
pub fn u64_number<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(*value as f64)
}
