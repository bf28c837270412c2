//! The watch-only node's view of the keys: account-level extended public keys
//! read from `accounts.json` (the `lncli wallet accounts list` format, see
//! keys.md §5.2) and the child public keys and PSBT derivation paths the
//! watch-only node builds from them (signing.md §3.10).

use std::collections::BTreeMap;
use std::str::FromStr;

use bitcoin::base58;
use bitcoin::bip32::{ChildNumber, Xpub};
use bitcoin::secp256k1::{PublicKey, Secp256k1, VerifyOnly};
use serde::Deserialize;

pub use lnd_web_signer::keys::{HARDENED, LND_PURPOSE};

/// Errors reading `accounts.json` or deriving keys from it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountsError {
    /// The file is not JSON of the expected shape.
    #[error("accounts.json is not a ListAccounts JSON document: {0}")]
    Json(#[from] serde_json::Error),
    /// A `derivation_path` cannot be parsed.
    #[error("account {name:?}: bad derivation path {path:?}: {reason}")]
    BadPath {
        /// Account name.
        name: String,
        /// The path as given.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// An `extended_public_key` cannot be parsed.
    #[error("account {name:?} ({path}): bad extended public key: {reason}")]
    BadXpub {
        /// Account name.
        name: String,
        /// The account's derivation path.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A key the workload needs has no account in the file.
    #[error(
        "accounts.json has no account m/{purpose}'/{coin}'/{account}' (needed by the workload)"
    )]
    MissingAccount {
        /// BIP-43 purpose.
        purpose: u32,
        /// Coin type.
        coin: u32,
        /// Account number (key family for purpose 1017).
        account: u32,
    },
    /// Public derivation failed (practically impossible).
    #[error("cannot derive a child of m/{purpose}'/{coin}'/{account}': {reason}")]
    Derive {
        /// BIP-43 purpose.
        purpose: u32,
        /// Coin type.
        coin: u32,
        /// Account number.
        account: u32,
        /// The library's message.
        reason: String,
    },
}

/// The networks lnd knows, with the coin types that matter for the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimNetwork {
    /// Bitcoin mainnet.
    Mainnet,
    /// testnet3.
    Testnet,
    /// testnet4.
    Testnet4,
    /// signet.
    Signet,
    /// regtest.
    Regtest,
    /// btcd's simnet.
    Simnet,
}

impl SimNetwork {
    /// Coin type of lnd's keychain (1017 scope): 0 on mainnet, 1 elsewhere
    /// (keys.md §4.1). Used to find the 1017 accounts in accounts.json.
    pub fn keychain_coin(self) -> u32 {
        match self {
            SimNetwork::Mainnet => 0,
            _ => 1,
        }
    }

    /// The chain's `HDCoinType`, which the watch-only node writes into the
    /// 1017 paths of the PSBTs it builds (115 on simnet: a known lnd mismatch).
    pub fn hd_coin(self) -> u32 {
        match self {
            SimNetwork::Mainnet => 0,
            SimNetwork::Simnet => 115,
            _ => 1,
        }
    }

    /// Name as lnd spells it.
    pub fn name(self) -> &'static str {
        match self {
            SimNetwork::Mainnet => "mainnet",
            SimNetwork::Testnet => "testnet",
            SimNetwork::Testnet4 => "testnet4",
            SimNetwork::Signet => "signet",
            SimNetwork::Regtest => "regtest",
            SimNetwork::Simnet => "simnet",
        }
    }
}

impl FromStr for SimNetwork {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "mainnet" | "bitcoin" => SimNetwork::Mainnet,
            "testnet" | "testnet3" => SimNetwork::Testnet,
            "testnet4" => SimNetwork::Testnet4,
            "signet" => SimNetwork::Signet,
            "regtest" => SimNetwork::Regtest,
            "simnet" => SimNetwork::Simnet,
            other => {
                return Err(format!(
                "unknown network {other:?} (mainnet, testnet, testnet4, signet, regtest, simnet)"
            ))
            }
        })
    }
}

#[derive(Debug, Deserialize)]
struct AccountsFile {
    accounts: Vec<AccountEntry>,
}

#[derive(Debug, Deserialize)]
struct AccountEntry {
    #[serde(default)]
    name: String,
    #[serde(default, alias = "extendedPublicKey")]
    extended_public_key: String,
    #[serde(default, alias = "derivationPath")]
    derivation_path: String,
}

/// A child public key together with the BIP-32 path the watch-only node puts
/// into a PSBT for it (always with master fingerprint 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedKey {
    /// The (untweaked) public key.
    pub pubkey: PublicKey,
    /// Five-element path, first three hardened.
    pub path: [u32; 5],
}

impl DerivedKey {
    /// The path in the usual `m/a'/b'/c'/d/e` notation.
    pub fn path_string(&self) -> String {
        let mut s = String::from("m");
        for p in self.path {
            if p >= HARDENED {
                s.push_str(&format!("/{}'", p - HARDENED));
            } else {
                s.push_str(&format!("/{p}"));
            }
        }
        s
    }
}

/// All account xpubs of the watch-only wallet.
#[derive(Debug)]
pub struct WatchKeys {
    accounts: BTreeMap<(u32, u32, u32), Xpub>,
    network: SimNetwork,
    secp: Secp256k1<VerifyOnly>,
}

/// Re-encodes any SLIP-132 style version (ypub, zpub, upub, vpub, spub, …) as
/// plain `xpub` so that rust-bitcoin accepts it; like lnd's `createwatchonly`
/// the version bytes are not checked (keys.md §5.3).
fn parse_any_xpub(s: &str) -> Result<Xpub, String> {
    let mut raw = base58::decode_check(s).map_err(|e| e.to_string())?;
    if raw.len() != 78 {
        return Err(format!("expected 78 bytes, got {}", raw.len()));
    }
    raw[0..4].copy_from_slice(&[0x04, 0x88, 0xb2, 0x1e]);
    Xpub::decode(&raw).map_err(|e| e.to_string())
}

fn parse_account_path(path: &str) -> Result<(u32, u32, u32), &'static str> {
    let rest = path.strip_prefix("m/").ok_or("must start with m/")?;
    let mut out = Vec::new();
    for el in rest.split('/') {
        let digits = el.trim_end_matches(['\'', 'h']);
        let v: u32 = digits.parse().map_err(|_| "element is not a number")?;
        out.push(v);
    }
    if out.len() != 3 {
        return Err("an account path has exactly 3 elements");
    }
    Ok((out[0], out[1], out[2]))
}

impl WatchKeys {
    /// Parses accounts.json (snake_case or camelCase field names; other fields
    /// are ignored) for the given network.
    pub fn from_json(json: &str, network: SimNetwork) -> Result<Self, AccountsError> {
        let file: AccountsFile = serde_json::from_str(json)?;
        let mut accounts = BTreeMap::new();
        for acc in file.accounts {
            if acc.derivation_path.is_empty() {
                // The per-scope "imported" account has no path: lnd's
                // createwatchonly refuses it; we just skip it.
                continue;
            }
            let (purpose, coin, account) =
                parse_account_path(&acc.derivation_path).map_err(|reason| {
                    AccountsError::BadPath {
                        name: acc.name.clone(),
                        path: acc.derivation_path.clone(),
                        reason,
                    }
                })?;
            let bad = |reason: String| AccountsError::BadXpub {
                name: acc.name.clone(),
                path: acc.derivation_path.clone(),
                reason,
            };
            let xpub = parse_any_xpub(&acc.extended_public_key).map_err(bad)?;
            if xpub.depth != 3 {
                return Err(AccountsError::BadXpub {
                    name: acc.name.clone(),
                    path: acc.derivation_path.clone(),
                    reason: format!("depth must be 3, is {}", xpub.depth),
                });
            }
            accounts.insert((purpose, coin, account), xpub);
        }
        Ok(WatchKeys {
            accounts,
            network,
            secp: Secp256k1::verification_only(),
        })
    }

    /// The network the keys are used on.
    pub fn network(&self) -> SimNetwork {
        self.network
    }

    /// Number of accounts read.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when the file held no usable account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    fn account(&self, purpose: u32, coin: u32, account: u32) -> Result<&Xpub, AccountsError> {
        self.accounts
            .get(&(purpose, coin, account))
            .ok_or(AccountsError::MissingAccount {
                purpose,
                coin,
                account,
            })
    }

    fn child(
        &self,
        purpose: u32,
        coin: u32,
        account: u32,
        branch: u32,
        index: u32,
    ) -> Result<(PublicKey, ChildNumber), AccountsError> {
        let xpub = self.account(purpose, coin, account)?;
        let derive_err = |e: bitcoin::bip32::Error| AccountsError::Derive {
            purpose,
            coin,
            account,
            reason: e.to_string(),
        };
        let b = ChildNumber::from_normal_idx(branch).map_err(derive_err)?;
        let i = ChildNumber::from_normal_idx(index).map_err(derive_err)?;
        let child = xpub.derive_pub(&self.secp, &[b, i]).map_err(derive_err)?;
        Ok((child.public_key, xpub.child_number))
    }

    /// Key of lnd's keychain: family `family`, index `index`
    /// (`m/1017'/coin'/family'/0/index`). The PSBT path uses the chain's
    /// `HDCoinType` like the watch-only node does.
    pub fn family_key(&self, family: u32, index: u32) -> Result<DerivedKey, AccountsError> {
        let (pubkey, _) =
            self.child(LND_PURPOSE, self.network.keychain_coin(), family, 0, index)?;
        Ok(DerivedKey {
            pubkey,
            path: [
                LND_PURPOSE + HARDENED,
                self.network.hd_coin() + HARDENED,
                family + HARDENED,
                0,
                index,
            ],
        })
    }

    /// On-chain wallet key `m/purpose'/0'/0'/branch/index` (coin type 0 on
    /// every network). The account element of the path is the xpub's own
    /// child number, as btcwallet writes it.
    pub fn wallet_key(
        &self,
        purpose: u32,
        branch: u32,
        index: u32,
    ) -> Result<DerivedKey, AccountsError> {
        let (pubkey, child_number) = self.child(purpose, 0, 0, branch, index)?;
        Ok(DerivedKey {
            pubkey,
            path: [
                purpose + HARDENED,
                HARDENED,
                u32::from(child_number),
                branch,
                index,
            ],
        })
    }

    /// lnd's node identity key, family 6 index 0.
    pub fn node_key(&self) -> Result<DerivedKey, AccountsError> {
        self.family_key(6, 0)
    }

    /// Checks that every account the workloads use is present.
    pub fn check_required(&self) -> Result<(), AccountsError> {
        for purpose in [49, 84, 86] {
            self.account(purpose, 0, 0)?;
        }
        for family in 0..=6 {
            self.account(LND_PURPOSE, self.network.keychain_coin(), family)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_paths_parse() {
        assert_eq!(parse_account_path("m/1017'/1'/7'"), Ok((1017, 1, 7)));
        assert_eq!(parse_account_path("m/84h/0h/0h"), Ok((84, 0, 0)));
        assert!(parse_account_path("84'/0'/0'").is_err());
        assert!(parse_account_path("m/84'/0'").is_err());
        assert!(parse_account_path("m/84'/x'/0'").is_err());
    }

    #[test]
    fn networks_parse_with_coin_types() {
        let sim: SimNetwork = "simnet".parse().expect("simnet parses");
        assert_eq!((sim.keychain_coin(), sim.hd_coin()), (1, 115));
        let main: SimNetwork = "mainnet".parse().expect("mainnet parses");
        assert_eq!((main.keychain_coin(), main.hd_coin()), (0, 0));
        assert!("foo".parse::<SimNetwork>().is_err());
    }

    #[test]
    fn slip132_versions_are_accepted() {
        // BIP-84 test vector account key (zpub) and the same key as xpub.
        let zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs";
        let k = parse_any_xpub(zpub).expect("zpub parses");
        assert_eq!(k.depth, 3);
        assert_eq!(u32::from(k.child_number), HARDENED);
        assert!(parse_any_xpub("xpub-not-base58").is_err());
    }
}
