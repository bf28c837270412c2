//! Randomness, injected by the host: BIP-340 auxiliary randomness
//! ([`crate::signing`]), MuSig2 nonces ([`crate::musig2`]), and the vault's
//! salt and nonce ([`crate::vault`]) all draw from one [`Entropy`].
//!
//! The core never picks a source itself: hosts pass [`OsEntropy`] (the
//! operating system's, `crypto.getRandomValues` in a browser), tests pass a
//! deterministic one.

use core::fmt;

/// The source of randomness could not deliver bytes.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EntropyError(pub String);

/// Source of randomness.
pub trait Entropy: Send + Sync {
    /// Fills `dest` with random bytes. A source that can fail panics here:
    /// signing without randomness (MuSig2 nonces) would be unsafe, so
    /// stopping is the only correct reaction when no error can be returned.
    fn fill_bytes(&self, dest: &mut [u8]);

    /// Fills `dest`, or reports why the source cannot. The default never
    /// fails; fallible sources override it (and make [`Entropy::fill_bytes`]
    /// panic on the same failure).
    fn try_fill_bytes(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

/// Operating-system randomness (`getrandom`; `crypto.getRandomValues` in wasm).
#[derive(Clone, Copy, Debug, Default)]
pub struct OsEntropy;

impl Entropy for OsEntropy {
    fn fill_bytes(&self, dest: &mut [u8]) {
        // No input can cause this; see the trait's note on failing sources.
        if let Err(e) = self.try_fill_bytes(dest) {
            panic!("operating-system randomness unavailable: {e}");
        }
    }

    fn try_fill_bytes(&self, dest: &mut [u8]) -> Result<(), EntropyError> {
        getrandom::getrandom(dest).map_err(|e| EntropyError(e.to_string()))
    }
}

/// The same 32 bytes on every draw of up to 32 bytes (longer draws repeat
/// them): fixed MuSig2 nonce randomness for test vectors. Never a
/// production source.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct FixedEntropy(pub [u8; 32]);

impl fmt::Debug for FixedEntropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FixedEntropy([redacted])")
    }
}

impl Entropy for FixedEntropy {
    fn fill_bytes(&self, dest: &mut [u8]) {
        for (d, s) in dest.iter_mut().zip(self.0.iter().cycle()) {
            *d = *s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_entropy_fills() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        OsEntropy.fill_bytes(&mut a);
        OsEntropy.try_fill_bytes(&mut b).expect("os randomness");
        assert_ne!(a, b);
    }

    #[test]
    fn fixed_entropy_repeats() {
        let mut out = [0u8; 40];
        let mut seed = [0u8; 32];
        seed[0] = 1;
        seed[31] = 32;
        FixedEntropy(seed).fill_bytes(&mut out);
        assert_eq!(out[..32], seed);
        assert_eq!(out[32], 1);
        assert_eq!(
            format!("{:?}", FixedEntropy(seed)),
            "FixedEntropy([redacted])"
        );
    }
}
