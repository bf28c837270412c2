//! lnd's private-key tweaks (spec/signing.md §3.4, lnd `input/script_utils.go`).
//!
//! * single tweak: `k' = k + int(t) mod n`
//! * double tweak (revocation key):
//!   `k' = k · int(sha256(ser33(B) ‖ ser33(C))) + c · int(sha256(ser33(C) ‖ ser33(B))) mod n`
//!   with `B = k·G`, `C = c·G`.
//!
//! Tweak values are read like btcec's `ModNScalar::SetByteSlice`: only the
//! first 32 bytes are used, a shorter value is a big-endian number, and the
//! result is reduced modulo n.

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Scalar, SecretKey, SECP256K1};

/// A tweak that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TweakError {
    /// The tweaked private key is zero (tweak = −k mod n).
    #[error("the single tweak gives an invalid (zero) private key")]
    SingleZeroKey,
    /// The double-tweak value is 0 mod n: not a valid commitment secret.
    #[error("the double tweak value is not a valid private key (zero mod n)")]
    DoubleInvalidSecret,
    /// The revocation key is zero (probability ~2^-256).
    #[error("the double tweak gives an invalid (zero) private key")]
    DoubleZeroKey,
}

/// secp256k1 group order n, big-endian.
const ORDER: [u8; 32] = bitcoin::secp256k1::constants::CURVE_ORDER;

/// Big-endian subtraction `a - b` for `a ≥ b` (32 bytes).
fn sub_be(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    out
}

/// btcec `SetByteSlice`: first 32 bytes (left-padded when shorter), reduced mod n.
/// A 256-bit value is below 2n, so one subtraction suffices.
pub fn scalar_bytes_mod_n(value: &[u8]) -> [u8; 32] {
    let take = value.len().min(32);
    let mut out = [0u8; 32];
    out[32 - take..].copy_from_slice(&value[..take]);
    if out >= ORDER {
        out = sub_be(&out, &ORDER);
    }
    out
}

/// Single tweak: `k + int(tweak) mod n`.
pub fn single_tweak(key: &SecretKey, tweak: &[u8]) -> Result<SecretKey, TweakError> {
    let t = scalar_bytes_mod_n(tweak);
    if t == [0u8; 32] {
        return Ok(*key);
    }
    let scalar = Scalar::from_be_bytes(t).map_err(|_| TweakError::SingleZeroKey)?;
    key.add_tweak(&scalar)
        .map_err(|_| TweakError::SingleZeroKey)
}

/// `sha256(ser33(a) ‖ ser33(b))` reduced mod n, as a scalar.
fn hash_points(a: &PublicKey, b: &PublicKey) -> [u8; 32] {
    let mut engine = sha256::Hash::engine();
    engine.input(&a.serialize());
    engine.input(&b.serialize());
    scalar_bytes_mod_n(sha256::Hash::from_engine(engine).as_byte_array())
}

/// Double tweak (revocation private key) with commitment secret `commit_secret`.
pub fn double_tweak(key: &SecretKey, commit_secret: &[u8]) -> Result<SecretKey, TweakError> {
    let c_bytes = scalar_bytes_mod_n(commit_secret);
    let c = SecretKey::from_slice(&c_bytes).map_err(|_| TweakError::DoubleInvalidSecret)?;
    let base_point = key.public_key(SECP256K1);
    let commit_point = c.public_key(SECP256K1);
    let r = hash_points(&base_point, &commit_point);
    let s = hash_points(&commit_point, &base_point);
    // k·r and c·s; a zero hash scalar (probability ~2^-256) makes the product invalid.
    let kr = Scalar::from_be_bytes(r)
        .ok()
        .and_then(|r| key.mul_tweak(&r).ok())
        .ok_or(TweakError::DoubleZeroKey)?;
    let cs = Scalar::from_be_bytes(s)
        .ok()
        .and_then(|s| c.mul_tweak(&s).ok())
        .ok_or(TweakError::DoubleZeroKey)?;
    kr.add_tweak(&Scalar::from(cs))
        .map_err(|_| TweakError::DoubleZeroKey)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sk(h: &str) -> SecretKey {
        SecretKey::from_slice(&hex::decode(h).expect("hex")).expect("key")
    }

    #[test]
    fn reduction_and_truncation() {
        assert_eq!(scalar_bytes_mod_n(&[]), [0u8; 32]);
        let mut one = [0u8; 32];
        one[31] = 1;
        assert_eq!(scalar_bytes_mod_n(&[1]), one);
        // n + 1 ⇒ 1
        let mut n1 = ORDER;
        n1[31] += 1;
        assert_eq!(scalar_bytes_mod_n(&n1), one);
        // 33 bytes: the last byte is dropped.
        let mut long = one.to_vec();
        long.push(0xff);
        assert_eq!(scalar_bytes_mod_n(&long), one);
    }

    #[test]
    fn single_tweak_to_zero_is_an_error() {
        let k = sk("0000000000000000000000000000000000000000000000000000000000000005");
        let minus_k = sub_be(&ORDER, &k.secret_bytes());
        assert_eq!(single_tweak(&k, &minus_k), Err(TweakError::SingleZeroKey));
        assert_eq!(single_tweak(&k, &[]).expect("empty"), k);
        assert_eq!(
            double_tweak(&k, &[0u8; 32]),
            Err(TweakError::DoubleInvalidSecret)
        );
    }

    #[test]
    fn bolt3_key_derivation() {
        // BOLT #3 appendix E (also in lnd's script_utils_test.go).
        let base = sk("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        let secret =
            hex::decode("1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100")
                .expect("hex");
        let rev = double_tweak(&base, &secret).expect("double");
        assert_eq!(
            hex::encode(rev.secret_bytes()),
            "d09ffff62ddb2297ab000cc85bcb4283fdeb6aa052affbc9dddcf33b61078110"
        );
    }
}
