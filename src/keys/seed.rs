//! The signer's secret as the user gives it: an aezeed (24 words + optional
//! passphrase) or an extended master private key (keys.md §1, §6).

use core::fmt;

use super::aezeed::{AezeedError, CipherSeed, ScryptParams};
use super::network::Network;
use super::root::{RootKey, RootKeyError};
use crate::secret::SecretString;

/// Birthday lnd uses for a wallet created from an extended master key without
/// a birthday: 2017-08-24 01:57:37 UTC (the first SegWit block).
pub const XPRV_DEFAULT_BIRTHDAY_UNIX: u64 = 1_503_539_857;

/// Prefixes that mark a token as an extended key (private or public, BIP-32
/// or SLIP-132); the key parser gives the precise error for the wrong kinds.
const EXTENDED_KEY_PREFIXES: [&str; 22] = [
    "xprv", "tprv", "sprv", "yprv", "zprv", "uprv", "vprv", "Yprv", "Zprv", "Uprv", "Vprv", "xpub",
    "tpub", "spub", "ypub", "zpub", "upub", "vpub", "Ypub", "Zpub", "Upub", "Vpub",
];

/// A seed as read from a seed file or typed by the user.
#[derive(Clone)]
pub enum SeedInput {
    /// An aezeed mnemonic (words separated by single spaces) and its
    /// passphrase (empty = lnd's default `aezeed`).
    Aezeed {
        /// The 24 words.
        mnemonic: SecretString,
        /// The aezeed passphrase.
        passphrase: SecretString,
    },
    /// An extended master private key string (`xprv…`, `tprv…`, `sprv…`).
    Xprv(SecretString),
}

impl fmt::Debug for SeedInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeedInput::Aezeed { .. } => f.write_str("SeedInput::Aezeed([redacted])"),
            SeedInput::Xprv(_) => f.write_str("SeedInput::Xprv([redacted])"),
        }
    }
}

/// Errors of [`SeedInput::parse_seed_file`]. Messages never contain the secret
/// (only counts and kinds).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeedFileError {
    /// Nothing but whitespace.
    #[error("the seed file is empty (expected 24 aezeed words or one extended private key)")]
    Empty,
    /// One token that does not look like an extended key.
    #[error(
        "the seed file holds a single word that is not an extended private key \
         (expected 24 aezeed words or one xprv/tprv key)"
    )]
    NotAKey,
    /// Neither 1 nor 24 tokens.
    #[error("the seed file holds {0} words, expected 24 aezeed words or one extended private key{hint}", hint = bip39_hint(*.0))]
    WrongWordCount(usize),
    /// A seed passphrase makes no sense for an extended key.
    #[error(
        "a seed passphrase was given but the seed file holds an extended key \
         (seed passphrases only apply to aezeed seeds)"
    )]
    PassphraseWithXprv,
}

fn bip39_hint(n: usize) -> &'static str {
    if matches!(n, 12 | 15 | 18 | 21) {
        " (BIP-39 mnemonics are not lnd seeds)"
    } else {
        ""
    }
}

/// Errors of [`SeedInput::to_root`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SeedError {
    /// The aezeed could not be decoded/deciphered.
    #[error("{0}")]
    Aezeed(#[from] AezeedError),
    /// lnd only creates wallets from aezeed internal versions 0 and 1.
    #[error("aezeed internal version {0} is not supported (lnd accepts versions 0 and 1)")]
    UnsupportedInternalVersion(u8),
    /// The extended key was refused, or the root key could not be built.
    #[error("{0}")]
    RootKey(#[from] RootKeyError),
}

impl SeedInput {
    /// Interprets the contents of a seed file: 24 whitespace-separated words
    /// are an aezeed (with `seed_passphrase`, `None` = empty), one token
    /// starting with an extended-key prefix (`xprv`, `tprv`, `sprv`, …) is an
    /// extended master key. Anything else is an error.
    pub fn parse_seed_file(
        contents: &str,
        seed_passphrase: Option<&str>,
    ) -> Result<SeedInput, SeedFileError> {
        let words: Vec<&str> = contents.split_whitespace().collect();
        match words.len() {
            0 => Err(SeedFileError::Empty),
            1 => {
                let token = words[0];
                if !EXTENDED_KEY_PREFIXES.iter().any(|p| token.starts_with(p)) {
                    return Err(SeedFileError::NotAKey);
                }
                if seed_passphrase.is_some_and(|p| !p.is_empty()) {
                    return Err(SeedFileError::PassphraseWithXprv);
                }
                Ok(SeedInput::Xprv(SecretString::from(token)))
            }
            24 => Ok(SeedInput::Aezeed {
                mnemonic: SecretString::new(words.join(" ")),
                passphrase: SecretString::from(seed_passphrase.unwrap_or("")),
            }),
            n => Err(SeedFileError::WrongWordCount(n)),
        }
    }

    /// "aezeed" or "extended key", for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            SeedInput::Aezeed { .. } => "aezeed",
            SeedInput::Xprv(_) => "extended key",
        }
    }

    /// The root key and wallet birthday (Unix seconds).
    ///
    /// aezeed: root from the 16 entropy bytes, birthday from the seed, the
    /// internal version must be 0 or 1. Extended key: must be a master private
    /// key of `network`; birthday is lnd's default [`XPRV_DEFAULT_BIRTHDAY_UNIX`].
    pub fn to_root(&self, network: Network) -> Result<(RootKey, u64), SeedError> {
        self.to_root_with(network, ScryptParams::PRODUCTION)
    }

    /// [`Self::to_root`] with explicit aezeed scrypt parameters (tests use
    /// lnd's fast test parameters).
    pub fn to_root_with(
        &self,
        network: Network,
        params: ScryptParams,
    ) -> Result<(RootKey, u64), SeedError> {
        match self {
            SeedInput::Aezeed {
                mnemonic,
                passphrase,
            } => {
                let seed = CipherSeed::from_mnemonic_with(
                    mnemonic.expose(),
                    passphrase.expose().as_bytes(),
                    params,
                )?;
                if seed.internal_version() > 1 {
                    return Err(SeedError::UnsupportedInternalVersion(
                        seed.internal_version(),
                    ));
                }
                let root = RootKey::from_seed_entropy(seed.entropy(), network)?;
                Ok((root, seed.birthday_unix()))
            }
            SeedInput::Xprv(s) => Ok((
                RootKey::from_xprv(s.expose(), network)?,
                XPRV_DEFAULT_BIRTHDAY_UNIX,
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEST_TPRV: &str = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";

    fn fast_mnemonic(version: u8, passphrase: &str) -> String {
        CipherSeed::new(version, 3365, [0x42; 16], *b"salt1")
            .to_mnemonic_with(passphrase.as_bytes(), ScryptParams::LND_TEST)
            .expect("encipher")
            .phrase()
    }

    #[test]
    fn parses_aezeed_with_any_whitespace() {
        let words = fast_mnemonic(0, "");
        let messy = words.replace(' ', "\n\t  ");
        let seed = SeedInput::parse_seed_file(&format!("  {messy}\n"), Some("pw")).expect("seed");
        match &seed {
            SeedInput::Aezeed {
                mnemonic,
                passphrase,
            } => {
                assert_eq!(mnemonic.expose(), words);
                assert_eq!(passphrase.expose(), "pw");
            }
            SeedInput::Xprv(_) => panic!("expected aezeed"),
        }
        assert_eq!(format!("{seed:?}"), "SeedInput::Aezeed([redacted])");
    }

    #[test]
    fn aezeed_to_root() {
        let seed = SeedInput::parse_seed_file(&fast_mnemonic(1, "pw"), Some("pw")).expect("seed");
        let (root, birthday) = seed
            .to_root_with(Network::Regtest, ScryptParams::LND_TEST)
            .expect("root");
        let want = RootKey::from_seed_entropy(&[0x42; 16], Network::Regtest).expect("root");
        assert_eq!(root.master_fingerprint(), want.master_fingerprint());
        assert_eq!(birthday, 1_231_006_505 + 3365 * 86_400);

        let wrong = SeedInput::parse_seed_file(&fast_mnemonic(1, "pw"), None).expect("seed");
        assert_eq!(
            wrong
                .to_root_with(Network::Regtest, ScryptParams::LND_TEST)
                .map(|_| ()),
            Err(SeedError::Aezeed(AezeedError::InvalidPassphrase))
        );
        let v2 = SeedInput::parse_seed_file(&fast_mnemonic(2, ""), None).expect("seed");
        assert_eq!(
            v2.to_root_with(Network::Regtest, ScryptParams::LND_TEST)
                .map(|_| ()),
            Err(SeedError::UnsupportedInternalVersion(2))
        );
    }

    #[test]
    fn parses_xprv() {
        let seed = SeedInput::parse_seed_file(&format!("{ITEST_TPRV}\n"), None).expect("seed");
        let (root, birthday) = seed.to_root(Network::Regtest).expect("root");
        assert_eq!(hex::encode(root.master_fingerprint()), "a2e4cfba");
        assert_eq!(birthday, XPRV_DEFAULT_BIRTHDAY_UNIX);
        assert_eq!(
            seed.to_root(Network::Mainnet).map(|_| ()),
            Err(SeedError::RootKey(RootKeyError::NetworkMismatch {
                prefix: "tprv",
                key_networks: "test networks",
                network: Network::Mainnet
            }))
        );
        assert_eq!(
            SeedInput::parse_seed_file(ITEST_TPRV, Some("pw")).map(|_| ()),
            Err(SeedFileError::PassphraseWithXprv)
        );
        // An empty passphrase file is the same as none.
        assert!(SeedInput::parse_seed_file(ITEST_TPRV, Some("")).is_ok());
    }

    #[test]
    fn parse_errors_do_not_echo_secrets() {
        assert_eq!(
            SeedInput::parse_seed_file(" \n", None).map(|_| ()),
            Err(SeedFileError::Empty)
        );
        let e = SeedInput::parse_seed_file("hunter2", None).expect_err("not a key");
        assert!(!e.to_string().contains("hunter2"));
        let twelve = ["abandon"; 12].join(" ");
        let e = SeedInput::parse_seed_file(&twelve, None).expect_err("12 words");
        assert_eq!(
            e.to_string(),
            "the seed file holds 12 words, expected 24 aezeed words or one extended private key (BIP-39 mnemonics are not lnd seeds)"
        );
        let e = SeedInput::parse_seed_file(&["zoo"; 23].join(" "), None).expect_err("23");
        assert_eq!(e, SeedFileError::WrongWordCount(23));
    }

    #[test]
    fn unknown_word_error_is_precise() {
        let mut words: Vec<String> = fast_mnemonic(0, "").split(' ').map(str::to_owned).collect();
        words[6] = "abandn".to_owned();
        let seed = SeedInput::parse_seed_file(&words.join(" "), None).expect("24 words");
        let err = seed
            .to_root_with(Network::Regtest, ScryptParams::LND_TEST)
            .expect_err("bad word");
        assert_eq!(
            err.to_string(),
            "word 7 \"abandn\" is not in the aezeed word list"
        );
    }
}
