//! Keys addressed by requests (spec/signing.md §0, §1.2, §3.3).
//!
//! * Key locators `{family, index}` (int32 on the wire, cast to uint32 as lnd
//!   does) ⇒ `m/1017'/C'/family'/0/index` with `C` the network's lnd coin type.
//! * PSBT BIP-32 paths ⇒ lnd's `deriveKeyByBIP32Path` rules (exactly five
//!   elements, first three hardened, purpose 1017 with the network coin type and
//!   a forced branch 0, or purpose 44/49/84/86 with coin type 0 and account 0).

use bitcoin::bip32::{ChildNumber, Xpub};
use bitcoin::secp256k1::{PublicKey, SecretKey, SECP256K1};

use crate::keys::{format_path, RootKey, RootKeyError, HARDENED, LND_PURPOSE};

/// Highest account (key family) number btcwallet derives (`MaxAccountNum`,
/// 2^31 − 2).
pub const MAX_ACCOUNT_NUM: u32 = HARDENED - 2;

/// How many indexes lnd scans when a raw public key is given (`MaxKeyRangeScan`).
pub const MAX_KEY_RANGE_SCAN: u32 = 100_000;

/// Failure to derive a private key for a key locator.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyLocError {
    /// Family ≥ 2^31 − 1 (a negative int32 on the wire): btcwallet refuses the account.
    #[error("account number may not exceed 2147483647 (key family {0})")]
    FamilyTooHigh(u32),
    /// Family above 255: the watch-only node is given accounts for families
    /// 0…255 only (accounts.json), so no request of it can name such a key.
    #[error(
        "key family {0} is beyond 255: the watch-only node only has accounts \
         for key families 0 to 255"
    )]
    FamilyBeyondWatchOnly(u32),
    /// The raw-key scan over `MAX_KEY_RANGE_SCAN` indexes found no match.
    #[error("unable to derive private key")]
    NotFound,
    /// BIP-32 derivation failed.
    #[error("{0}")]
    Derive(#[from] RootKeyError),
}

/// The family and index of a `signrpc.KeyLocator` as lnd reads them (int32 → uint32).
pub fn locator(family: i32, index: i32) -> (u32, u32) {
    (family as u32, index as u32)
}

/// Private key of key locator `family`/`index` (`m/1017'/C'/family'/0/index`).
///
/// Families above [`MAX_KEY_FAMILY`] are refused: lnd's signer would derive
/// them, but a watch-only node built from our accounts.json cannot hold them,
/// so such a request is not one lnd's watch-only node makes.
pub fn locator_key(root: &RootKey, family: u32, index: u32) -> Result<SecretKey, KeyLocError> {
    check_family(family)?;
    Ok(root.lnd_key(family, index)?)
}

/// The highest key family the watch-only node has an account for.
pub const MAX_KEY_FAMILY: u32 = 255;

/// lnd's account-number limit first (its error text), then ours.
fn check_family(family: u32) -> Result<(), KeyLocError> {
    if family > MAX_ACCOUNT_NUM {
        return Err(KeyLocError::FamilyTooHigh(family));
    }
    if family > MAX_KEY_FAMILY {
        return Err(KeyLocError::FamilyBeyondWatchOnly(family));
    }
    Ok(())
}

/// lnd's raw-key search (§1.2): the first `m/1017'/C'/family'/0/i`,
/// `i < MAX_KEY_RANGE_SCAN`, whose public key equals `target`. The branch
/// public key is derived once and children are derived publicly; only the
/// match is derived privately.
pub fn scan_family_for_key(
    root: &RootKey,
    family: u32,
    target: &PublicKey,
) -> Result<SecretKey, KeyLocError> {
    check_family(family)?;
    // The watch-only node sends a raw key only with index 0 (e.g. the node
    // key 6/0): try that key directly, then scan the rest publicly.
    let first = locator_key(root, family, 0)?;
    if first.public_key(SECP256K1) == *target {
        return Ok(first);
    }
    let branch_path = root.lnd_key_path(family, 0)?;
    let branch: Xpub = root.derive_xpub(&branch_path[..4])?;
    for i in 1..MAX_KEY_RANGE_SCAN {
        let child = ChildNumber::Normal { index: i };
        // An invalid child (probability ~2^-127) is skipped like a non-match.
        let Ok(xpub) = branch.ckd_pub(SECP256K1, child) else {
            continue;
        };
        if xpub.public_key == *target {
            return locator_key(root, family, i);
        }
    }
    Err(KeyLocError::NotFound)
}

/// Why lnd cannot derive a key from a PSBT BIP-32 path (the input is then skipped).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PsbtPathError {
    /// Not exactly five elements.
    #[error("invalid BIP32 derivation path, expected path length 5, instead was {0}")]
    Length(usize),
    /// One of the first three elements is not hardened.
    #[error(
        "invalid BIP32 derivation path, expected first three elements to be hardened: \
         element at index {0} is not hardened"
    )]
    NotHardened(usize),
    /// Purpose 1017 with a coin type other than the network's.
    #[error("invalid BIP32 derivation path, expected coin type {expected}, instead was {got}")]
    WrongLndCoinType {
        /// The network's lnd coin type.
        expected: u32,
        /// The path's coin type.
        got: u32,
    },
    /// Purpose other than 1017, 44, 49, 84, 86.
    #[error("invalid BIP32 derivation path, unknown purpose {0}")]
    UnknownPurpose(u32),
    /// BIP-44/49/84/86 path with a coin type other than 0.
    #[error("invalid BIP32 derivation path, coin type must be 0 for BIP49/84 btcwallet keys")]
    WalletCoinType,
    /// BIP-44/49/84/86 account other than 0 (lnd's wallet only knows account 0).
    #[error("error deriving key from path {path}: account {account} not found")]
    UnknownAccount {
        /// The path, `m/…` notation.
        path: String,
        /// The account number.
        account: u32,
    },
    /// Key derivation failed.
    #[error("error deriving key from path {path}: {source}")]
    Derive {
        /// The path, `m/…` notation.
        path: String,
        /// The failure.
        source: KeyLocError,
    },
}

/// Private key for a PSBT BIP-32 derivation path, following lnd's
/// `deriveKeyByBIP32Path` (spec/signing.md §3.3). The master fingerprint is
/// not part of the decision (lnd never checks it).
pub fn derive_psbt_path(root: &RootKey, path: &[u32]) -> Result<SecretKey, PsbtPathError> {
    if path.len() != 5 {
        return Err(PsbtPathError::Length(path.len()));
    }
    if let Some(i) = path[..3].iter().position(|&e| e < HARDENED) {
        return Err(PsbtPathError::NotHardened(i));
    }
    let purpose = path[0] - HARDENED;
    let coin = path[1] - HARDENED;
    let account = path[2] - HARDENED;
    let (change, index) = (path[3], path[4]);
    match purpose {
        LND_PURPOSE => {
            let expected = root.network().lnd_coin_type();
            if coin != expected {
                return Err(PsbtPathError::WrongLndCoinType {
                    expected,
                    got: coin,
                });
            }
            // The branch element is ignored: lnd always uses branch 0.
            locator_key(root, account, index).map_err(|source| PsbtPathError::Derive {
                path: format_path(path),
                source,
            })
        }
        44 | 49 | 84 | 86 => {
            if coin != 0 {
                return Err(PsbtPathError::WalletCoinType);
            }
            if account != 0 {
                return Err(PsbtPathError::UnknownAccount {
                    path: format_path(path),
                    account,
                });
            }
            root.derive_priv(&[path[0], path[1], path[2], change, index])
                .map_err(|e| PsbtPathError::Derive {
                    path: format_path(path),
                    source: e.into(),
                })
        }
        other => Err(PsbtPathError::UnknownPurpose(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Network;

    const H: u32 = HARDENED;

    fn root() -> RootKey {
        let entropy = hex::decode("4a7611b6979ba7c4bc5c5cd2239b2973").expect("hex");
        RootKey::from_seed_entropy(&entropy, Network::Regtest).expect("root")
    }

    #[test]
    fn psbt_path_rules() {
        let r = root();
        // lnd's signer_test.go key for m/84'/0'/0'/0/0.
        let k = derive_psbt_path(&r, &[84 + H, H, H, 0, 0]).expect("84");
        assert_eq!(
            hex::encode(k.secret_bytes()),
            "4289ee56cd7d90dd244457e2df80609e6ac0181d77792ed58fa815d804b78452"
        );
        // 1017: branch forced to 0.
        let a = derive_psbt_path(&r, &[1017 + H, 1 + H, 6 + H, 0, 0]).expect("1017");
        let b = derive_psbt_path(&r, &[1017 + H, 1 + H, 6 + H, 5, 0]).expect("1017 branch 5");
        assert_eq!(a.secret_bytes(), b.secret_bytes());
        assert_eq!(
            derive_psbt_path(&r, &[1017 + H, 1 + H, 6 + H, 0]),
            Err(PsbtPathError::Length(4))
        );
        assert_eq!(
            derive_psbt_path(&r, &[1017 + H, 1 + H, 6 + H, 0, 0, 0]),
            Err(PsbtPathError::Length(6))
        );
        assert_eq!(
            derive_psbt_path(&r, &[1017 + H, 1, 6 + H, 0, 0]),
            Err(PsbtPathError::NotHardened(1))
        );
        assert_eq!(
            derive_psbt_path(&r, &[1017 + H, H, 6 + H, 0, 0]),
            Err(PsbtPathError::WrongLndCoinType {
                expected: 1,
                got: 0
            })
        );
        for purpose in [44, 49, 84, 86] {
            assert_eq!(
                derive_psbt_path(&r, &[purpose + H, 1 + H, H, 0, 0]),
                Err(PsbtPathError::WalletCoinType)
            );
        }
        assert_eq!(
            derive_psbt_path(&r, &[45 + H, H, H, 0, 0]),
            Err(PsbtPathError::UnknownPurpose(45))
        );
        let err = derive_psbt_path(&r, &[86 + H, H, 1 + H, 0, 0]).expect_err("account 1");
        assert!(err.to_string().contains("account 1 not found"), "{err}");
    }

    #[test]
    fn locator_family_limits() {
        let r = root();
        // Families 0…255 are derived at m/1017'/C'/F'/0/I.
        let k = locator_key(&r, 255, 2).expect("family 255");
        let direct = r
            .derive_priv(&[1017 + H, 1 + H, 255 + H, 0, 2])
            .expect("direct");
        assert_eq!(k.secret_bytes(), direct.secret_bytes());
        assert_eq!(
            locator_key(&r, 256, 0),
            Err(KeyLocError::FamilyBeyondWatchOnly(256))
        );
        let target = k.public_key(SECP256K1);
        assert_eq!(
            scan_family_for_key(&r, 300, &target),
            Err(KeyLocError::FamilyBeyondWatchOnly(300))
        );
        let (family, _) = locator(-1, 0);
        assert_eq!(
            locator_key(&r, family, 0),
            Err(KeyLocError::FamilyTooHigh(u32::MAX))
        );
    }

    #[test]
    fn raw_key_scan_finds_index() {
        let r = root();
        let target = locator_key(&r, 5, 7).expect("key").public_key(SECP256K1);
        let found = scan_family_for_key(&r, 5, &target).expect("found");
        assert_eq!(found.public_key(SECP256K1), target);
    }
}
