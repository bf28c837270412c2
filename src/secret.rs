//! Secret wrapper types.
//!
//! [`SecretBytes`] and [`SecretString`] own their data, wipe it when dropped
//! (via [`zeroize`]) and never show it in `Debug` output (always
//! `[redacted]`). Access goes through an explicit `expose()` call so that
//! every use of the secret is visible when reading the code.
//!
//! There is deliberately no `Display`, no `serde` support and no `PartialEq`
//! (comparing secrets should be a deliberate, constant-time decision of the
//! caller).

use core::fmt;
use zeroize::{Zeroize, Zeroizing};

/// Secret bytes (seed material, macaroons, derived keys), wiped on drop.
#[derive(Clone, Default)]
pub struct SecretBytes(Zeroizing<Vec<u8>>);

impl SecretBytes {
    /// Takes ownership of `bytes` (no copy is left behind by this call).
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// Copies `bytes` into a new secret. The caller is responsible for the
    /// source buffer.
    pub fn from_slice(bytes: &[u8]) -> Self {
        Self::new(bytes.to_vec())
    }

    /// The secret bytes. Do not log or copy them into non-zeroizing storage.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Number of bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are no bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for SecretBytes {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Zeroize for SecretBytes {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

/// A secret UTF-8 string (passphrases, mnemonics, extended private keys),
/// wiped on drop.
#[derive(Clone, Default)]
pub struct SecretString(Zeroizing<String>);

impl SecretString {
    /// Takes ownership of `s`.
    pub fn new(s: String) -> Self {
        Self(Zeroizing::new(s))
    }

    /// Copies `s` into a new secret.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(s: &str) -> Self {
        Self::new(s.to_owned())
    }

    /// The secret text. Do not log or copy it into non-zeroizing storage.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when the string is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(s: String) -> Self {
        Self::new(s)
    }
}

impl From<&str> for SecretString {
    fn from(s: &str) -> Self {
        Self::from_str(s)
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Zeroize for SecretString {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let b = SecretBytes::new(vec![0x41, 0x42, 0x43]);
        assert_eq!(format!("{b:?}"), "[redacted]");
        assert_eq!(format!("{:?}", Some(&b)), "Some([redacted])");
        let s = SecretString::from("hunter2");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(!format!("{s:#?}").contains("hunter2"));
    }

    #[test]
    fn expose_returns_content() {
        let b = SecretBytes::from_slice(&[1, 2, 3]);
        assert_eq!(b.expose(), &[1, 2, 3]);
        assert_eq!(b.len(), 3);
        assert!(!b.is_empty());
        let s = SecretString::new("abc".to_owned());
        assert_eq!(s.expose(), "abc");
        assert_eq!(s.clone().expose(), "abc");
        assert!(SecretString::default().is_empty());
    }

    #[test]
    fn zeroize_clears() {
        let mut b = SecretBytes::from_slice(&[9; 8]);
        b.zeroize();
        assert!(b.is_empty());
        let mut s = SecretString::from("secret");
        s.zeroize();
        assert!(s.is_empty());
    }
}
