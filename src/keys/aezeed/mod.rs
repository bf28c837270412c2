//! lnd's aezeed cipher seed, version 0 (keys.md §2), in pure Rust.
//!
//! * Plaintext (19 bytes): internal version ‖ birthday (big-endian days since
//!   the genesis block time) ‖ 16 entropy bytes (the BIP-32 seed).
//! * Enciphered (33 bytes): version 0 ‖ AEZ ciphertext (23 bytes, τ = 4) ‖
//!   5-byte salt ‖ CRC32C (big-endian) of the first 29 bytes.
//! * Key: scrypt(passphrase or `aezeed`, salt, N = 32768, r = 8, p = 1, 32);
//!   AEZ with an empty nonce and the single associated-data element
//!   `version ‖ salt`.
//! * Mnemonic: the 33 bytes as 24 × 11-bit indices into the BIP-39 English
//!   list.
//!
//! Decoding checks, in lnd's order: word count and every word in the list →
//! version byte → CRC32C → AEZ authenticator (wrong passphrase).

mod aez;
mod mnemonic;
pub mod wordlist;

use core::fmt;

use crc::{Crc, CRC_32_ISCSI};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

pub use mnemonic::Mnemonic;

/// Passphrase used when the user gives none (lnd substitutes it for an
/// empty passphrase).
pub const DEFAULT_PASSPHRASE: &[u8] = b"aezeed";
/// The only known external (cipher-seed) version.
pub const CIPHER_SEED_VERSION: u8 = 0;
/// Size of the enciphered seed.
pub const ENCIPHERED_LEN: usize = 33;
/// Number of mnemonic words.
pub const NUM_WORDS: usize = 24;
/// Size of the entropy (the BIP-32 seed).
pub const ENTROPY_LEN: usize = 16;
/// Size of the scrypt salt.
pub const SALT_LEN: usize = 5;
/// Unix time of the Bitcoin genesis block, the birthday epoch.
pub const GENESIS_UNIX: u64 = 1_231_006_505;
/// Seconds per birthday day.
pub const SECONDS_PER_DAY: u64 = 86_400;

const PLAINTEXT_LEN: usize = 19;
const CIPHERTEXT_LEN: usize = PLAINTEXT_LEN + TAU;
/// AEZ authenticator length in bytes (lnd's code uses 4).
const TAU: usize = 4;
const KEY_LEN: usize = 32;
const CHECKSUM_OFFSET: usize = ENCIPHERED_LEN - 4;
const SALT_OFFSET: usize = 1 + CIPHERTEXT_LEN;

const CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// Errors when encoding or decoding an aezeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AezeedError {
    /// The mnemonic does not have 24 words.
    #[error("expected 24 aezeed words, found {found}")]
    WrongWordCount {
        /// Number of words given.
        found: usize,
    },
    /// A word is not in the BIP-39 English list.
    #[error("word {position} \"{word}\" is not in the aezeed word list")]
    UnknownWord {
        /// 1-based position of the word.
        position: usize,
        /// The word as given.
        word: String,
    },
    /// The external version byte is not 0.
    #[error("unsupported aezeed version {0} (only version 0 is known)")]
    UnsupportedVersion(u8),
    /// CRC32C over the first 29 bytes does not match.
    #[error("aezeed checksum mismatch: a word is wrong or the words are out of order")]
    ChecksumMismatch,
    /// The AEZ authenticator did not verify.
    #[error("invalid aezeed passphrase (or corrupted seed)")]
    InvalidPassphrase,
    /// The scrypt parameters are not accepted by scrypt.
    #[error("invalid scrypt parameters for aezeed (log_n {log_n}, r {r}, p {p})")]
    InvalidScryptParams {
        /// log2(N).
        log_n: u8,
        /// Block size.
        r: u32,
        /// Parallelism.
        p: u32,
    },
}

/// scrypt cost parameters for the aezeed key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    /// log2 of N.
    pub log_n: u8,
    /// Block size.
    pub r: u32,
    /// Parallelism.
    pub p: u32,
}

impl ScryptParams {
    /// lnd's production parameters: N = 32768, r = 8, p = 1.
    pub const PRODUCTION: ScryptParams = ScryptParams {
        log_n: 15,
        r: 8,
        p: 1,
    };
    /// The parameters lnd's own aezeed tests (and `integration` builds) use:
    /// N = 16, r = 8, p = 1. Never for real seeds.
    pub const LND_TEST: ScryptParams = ScryptParams {
        log_n: 4,
        r: 8,
        p: 1,
    };
}

impl Default for ScryptParams {
    fn default() -> Self {
        Self::PRODUCTION
    }
}

/// A deciphered aezeed (version 0). The entropy is wiped on drop; `Debug`
/// is redacted.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CipherSeed {
    internal_version: u8,
    birthday: u16,
    entropy: [u8; ENTROPY_LEN],
    salt: [u8; SALT_LEN],
}

impl fmt::Debug for CipherSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

fn derive_key(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    params: ScryptParams,
) -> Result<Zeroizing<[u8; KEY_LEN]>, AezeedError> {
    let bad = AezeedError::InvalidScryptParams {
        log_n: params.log_n,
        r: params.r,
        p: params.p,
    };
    let pass = if passphrase.is_empty() {
        DEFAULT_PASSPHRASE
    } else {
        passphrase
    };
    let sp =
        scrypt::Params::new(params.log_n, params.r, params.p, KEY_LEN).map_err(|_| bad.clone())?;
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    scrypt::scrypt(pass, salt, &sp, &mut key[..]).map_err(|_| bad)?;
    Ok(key)
}

fn checksum(bytes: &[u8]) -> [u8; 4] {
    CASTAGNOLI.checksum(bytes).to_be_bytes()
}

impl CipherSeed {
    /// A seed from its parts. `internal_version` is not restricted here (lnd
    /// accepts 0 and 1 when creating a wallet; new seeds use 1).
    pub fn new(
        internal_version: u8,
        birthday_days: u16,
        entropy: [u8; ENTROPY_LEN],
        salt: [u8; SALT_LEN],
    ) -> Self {
        CipherSeed {
            internal_version,
            birthday: birthday_days,
            entropy,
            salt,
        }
    }

    /// Internal (key-derivation) version.
    pub fn internal_version(&self) -> u8 {
        self.internal_version
    }

    /// Birthday in whole days since the genesis block time.
    pub fn birthday_days(&self) -> u16 {
        self.birthday
    }

    /// Birthday as Unix seconds: genesis + days · 86400.
    pub fn birthday_unix(&self) -> u64 {
        GENESIS_UNIX + u64::from(self.birthday) * SECONDS_PER_DAY
    }

    /// `floor((t − genesis) / 86400)`, saturating at 0 and `u16::MAX`.
    pub fn birthday_days_from_unix(unix_secs: u64) -> u16 {
        let days = unix_secs.saturating_sub(GENESIS_UNIX) / SECONDS_PER_DAY;
        u16::try_from(days).unwrap_or(u16::MAX)
    }

    /// The 16 entropy bytes (the BIP-32 seed).
    pub fn entropy(&self) -> &[u8; ENTROPY_LEN] {
        &self.entropy
    }

    /// The scrypt salt.
    pub fn salt(&self) -> [u8; SALT_LEN] {
        self.salt
    }

    /// Enciphers to the 33-byte form (empty passphrase => `aezeed`).
    pub fn encipher(
        &self,
        passphrase: &[u8],
        params: ScryptParams,
    ) -> Result<Zeroizing<[u8; ENCIPHERED_LEN]>, AezeedError> {
        let mut plaintext = Zeroizing::new([0u8; PLAINTEXT_LEN]);
        plaintext[0] = self.internal_version;
        plaintext[1..3].copy_from_slice(&self.birthday.to_be_bytes());
        plaintext[3..].copy_from_slice(&self.entropy);

        let key = derive_key(passphrase, &self.salt, params)?;
        let ad = Self::associated_data(&self.salt);
        let ciphertext = aez::encrypt(&key[..], &[], &[&ad[..]], TAU, &plaintext[..]);

        let mut out = Zeroizing::new([0u8; ENCIPHERED_LEN]);
        out[0] = CIPHER_SEED_VERSION;
        out[1..SALT_OFFSET].copy_from_slice(&ciphertext);
        out[SALT_OFFSET..CHECKSUM_OFFSET].copy_from_slice(&self.salt);
        let sum = checksum(&out[..CHECKSUM_OFFSET]);
        out[CHECKSUM_OFFSET..].copy_from_slice(&sum);
        Ok(out)
    }

    /// Deciphers the 33-byte form: version byte, then CRC32C, then the AEZ
    /// authenticator (empty passphrase => `aezeed`).
    pub fn decipher(
        enciphered: &[u8; ENCIPHERED_LEN],
        passphrase: &[u8],
        params: ScryptParams,
    ) -> Result<Self, AezeedError> {
        if enciphered[0] != CIPHER_SEED_VERSION {
            return Err(AezeedError::UnsupportedVersion(enciphered[0]));
        }
        if checksum(&enciphered[..CHECKSUM_OFFSET]) != enciphered[CHECKSUM_OFFSET..] {
            return Err(AezeedError::ChecksumMismatch);
        }
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(&enciphered[SALT_OFFSET..CHECKSUM_OFFSET]);

        let key = derive_key(passphrase, &salt, params)?;
        let ad = Self::associated_data(&salt);
        let plaintext = aez::decrypt(&key[..], &[], &[&ad[..]], TAU, &enciphered[1..SALT_OFFSET])
            .ok_or(AezeedError::InvalidPassphrase)?;
        if plaintext.len() != PLAINTEXT_LEN {
            return Err(AezeedError::InvalidPassphrase);
        }

        let mut entropy = [0u8; ENTROPY_LEN];
        entropy.copy_from_slice(&plaintext[3..]);
        Ok(CipherSeed {
            internal_version: plaintext[0],
            birthday: u16::from_be_bytes([plaintext[1], plaintext[2]]),
            entropy,
            salt,
        })
    }

    /// The mnemonic with the production scrypt parameters (empty passphrase
    /// => `aezeed`).
    pub fn to_mnemonic(&self, passphrase: &[u8]) -> Result<Mnemonic, AezeedError> {
        self.to_mnemonic_with(passphrase, ScryptParams::PRODUCTION)
    }

    /// The mnemonic with explicit scrypt parameters.
    pub fn to_mnemonic_with(
        &self,
        passphrase: &[u8],
        params: ScryptParams,
    ) -> Result<Mnemonic, AezeedError> {
        let enciphered = self.encipher(passphrase, params)?;
        Ok(Mnemonic::from_enciphered(&enciphered))
    }

    /// Decodes a 24-word mnemonic (any whitespace between words) with the
    /// production scrypt parameters. This is the operation the benchmark
    /// (`scripts/bench.sh`) times; scrypt dominates.
    pub fn from_mnemonic(words: &str, passphrase: &[u8]) -> Result<Self, AezeedError> {
        Self::from_mnemonic_with(words, passphrase, ScryptParams::PRODUCTION)
    }

    /// Decodes a 24-word mnemonic with explicit scrypt parameters.
    pub fn from_mnemonic_with(
        words: &str,
        passphrase: &[u8],
        params: ScryptParams,
    ) -> Result<Self, AezeedError> {
        Mnemonic::parse(words)?.decipher_with(passphrase, params)
    }

    fn associated_data(salt: &[u8; SALT_LEN]) -> [u8; 1 + SALT_LEN] {
        let mut ad = [0u8; 1 + SALT_LEN];
        ad[0] = CIPHER_SEED_VERSION;
        ad[1..].copy_from_slice(salt);
        ad
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENTROPY: [u8; 16] = *b"0123456789abcdef";
    const SALT: [u8; 5] = *b"salt1";

    #[test]
    fn birthday_conversions() {
        assert_eq!(CipherSeed::birthday_days_from_unix(0), 0);
        assert_eq!(CipherSeed::birthday_days_from_unix(GENESIS_UNIX), 0);
        assert_eq!(
            CipherSeed::birthday_days_from_unix(GENESIS_UNIX + SECONDS_PER_DAY - 1),
            0
        );
        assert_eq!(
            CipherSeed::birthday_days_from_unix(GENESIS_UNIX + SECONDS_PER_DAY),
            1
        );
        // lnd's test vector: 1521799345 => 3365 days.
        assert_eq!(CipherSeed::birthday_days_from_unix(1_521_799_345), 3365);
        assert_eq!(CipherSeed::birthday_days_from_unix(u64::MAX), u16::MAX);
        let seed = CipherSeed::new(0, 3365, ENTROPY, SALT);
        assert_eq!(seed.birthday_unix(), GENESIS_UNIX + 3365 * 86_400);
    }

    #[test]
    fn enciphered_layout() {
        let seed = CipherSeed::new(1, 0x1234, ENTROPY, SALT);
        let bytes = seed
            .encipher(b"", ScryptParams::LND_TEST)
            .expect("test params are valid");
        assert_eq!(bytes[0], 0);
        assert_eq!(&bytes[24..29], &SALT);
        assert_eq!(checksum(&bytes[..29]), bytes[29..]);
        let back = CipherSeed::decipher(&bytes, b"", ScryptParams::LND_TEST).expect("deciphers");
        assert_eq!(back.internal_version(), 1);
        assert_eq!(back.birthday_days(), 0x1234);
        assert_eq!(back.entropy(), &ENTROPY);
        assert_eq!(back.salt(), SALT);
    }

    #[test]
    fn empty_passphrase_is_default() {
        let seed = CipherSeed::new(0, 7, ENTROPY, SALT);
        let a = seed.encipher(b"", ScryptParams::LND_TEST).expect("valid");
        let b = seed
            .encipher(DEFAULT_PASSPHRASE, ScryptParams::LND_TEST)
            .expect("valid");
        assert_eq!(*a, *b);
        let c = seed
            .encipher(b"other", ScryptParams::LND_TEST)
            .expect("valid");
        assert_ne!(*a, *c);
    }

    #[test]
    fn crc32c_is_castagnoli() {
        // Standard check value of CRC-32C.
        assert_eq!(CASTAGNOLI.checksum(b"123456789"), 0xe306_9283);
    }

    #[test]
    fn invalid_scrypt_params_are_an_error() {
        let seed = CipherSeed::new(0, 0, ENTROPY, SALT);
        let bad = ScryptParams {
            log_n: 4,
            r: 0,
            p: 1,
        };
        assert_eq!(
            seed.encipher(b"", bad).map(|_| ()),
            Err(AezeedError::InvalidScryptParams {
                log_n: 4,
                r: 0,
                p: 1
            })
        );
    }

    #[test]
    fn debug_is_redacted() {
        let seed = CipherSeed::new(0, 0, ENTROPY, SALT);
        assert_eq!(format!("{seed:?}"), "[redacted]");
    }
}
