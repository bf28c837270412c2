//! Serde helpers for 64-bit integers in output meant for JavaScript, where a
//! number is exact only up to 2^53 − 1. lnd's request ids are `uint64`, and a
//! hostile node can put any 64-bit amount into a PSBT; a value refused by the
//! converter used to make a whole status or description disappear (see the
//! request-id rows of docs/testing.md's error table). So:
//!
//! * request ids always travel as exact decimal strings ([`u64_string`]);
//! * amounts are numbers while they are exact, strings beyond
//!   ([`opt_u64_exact`]);
//! * counters are numbers, rounded past 2^53 ([`u64_number`]) — they cannot
//!   get there, and they must never fail.

use serde::Serializer;

/// `Number.MAX_SAFE_INTEGER`.
pub const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

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

#[cfg(test)]
mod tests {
    use serde::Serialize;

    #[derive(Serialize)]
    struct Sample {
        #[serde(serialize_with = "super::u64_string")]
        id: u64,
        #[serde(serialize_with = "super::opt_u64_exact")]
        small: Option<u64>,
        #[serde(serialize_with = "super::opt_u64_exact")]
        big: Option<u64>,
        #[serde(serialize_with = "super::opt_u64_exact")]
        none: Option<u64>,
        #[serde(serialize_with = "super::u64_number")]
        count: u64,
    }

    #[test]
    fn exact_up_to_2_pow_53_and_strings_beyond() {
        let s = Sample {
            id: u64::MAX,
            small: Some(super::MAX_SAFE_INTEGER),
            big: Some(super::MAX_SAFE_INTEGER + 1),
            none: None,
            count: 7,
        };
        assert_eq!(
            serde_json::to_string(&s).expect("json"),
            r#"{"id":"18446744073709551615","small":9007199254740991,"big":"9007199254740992","none":null,"count":7.0}"#
        );
    }
}
