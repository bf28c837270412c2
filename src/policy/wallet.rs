//! Our own wallet's output scripts, to tell change and sweep destinations
//! (ours) from payments (external).
//!
//! lnd's wallet has one account per address type that the watch-only node
//! uses by default (spec/keys.md §5.1): m/49'/0'/0' (nested P2WKH outside,
//! P2WKH for change: lnd's "BIP-49 plus" scope), m/84'/0'/0' (P2WKH) and
//! m/86'/0'/0' (BIP-86 P2TR), coin type 0 on every network, each with an
//! external (0) and an internal (1) branch. The signer cannot see which
//! addresses the node handed out, so it derives every branch from index 0
//! up to the highest index it has seen there (in the paths of the wallet
//! inputs it signs) plus a look-ahead, lazily and once: scripts are cached
//! and the set only grows. Both address types of BIP-49 are derived on both
//! of its branches. Other accounts (m/84'/0'/1', imported keys) are not
//! ours in this sense: payments to them count as external.

use std::collections::HashSet;

use bitcoin::bip32::{ChildNumber, Xpub};
use bitcoin::secp256k1::SECP256K1;
use bitcoin::{CompressedPublicKey, ScriptBuf};

use crate::keys::{RootKey, HARDENED};

/// Indexes derived beyond the highest one seen on a branch (default).
pub const DEFAULT_LOOKAHEAD: u32 = 1000;
/// Largest look-ahead a policy may ask for (derivation cost is linear in it).
pub const MAX_LOOKAHEAD: u32 = 100_000;

/// Script types of one branch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    P2wkh,
    NestedP2wkh,
    P2tr,
}

#[derive(Debug)]
struct Branch {
    purpose: u32,
    branch: u32,
    xpub: Xpub,
    kinds: &'static [Kind],
    /// Highest index seen in an input path.
    seen: u32,
    /// Indexes `0..derived` are in the set.
    derived: u32,
}

/// The script set (public data only).
#[derive(Debug)]
pub struct OwnWallet {
    branches: Vec<Branch>,
    scripts: HashSet<ScriptBuf>,
    lookahead: u32,
}

impl OwnWallet {
    /// The default accounts of `root`, with `lookahead` indexes past the
    /// highest one seen per branch.
    /// A branch whose key cannot be derived (probability about 2^-127) is
    /// left out.
    pub fn new(root: &RootKey, lookahead: u32) -> Self {
        const BIP49: &[Kind] = &[Kind::NestedP2wkh, Kind::P2wkh];
        let mut branches = Vec::with_capacity(6);
        for (purpose, kinds) in [
            (49, BIP49),
            (84, &[Kind::P2wkh][..]),
            (86, &[Kind::P2tr][..]),
        ] {
            let Ok(account) = root.account_xpub(purpose, 0, 0) else {
                continue;
            };
            for branch in 0..2 {
                let Ok(xpub) = account.ckd_pub(SECP256K1, ChildNumber::Normal { index: branch })
                else {
                    continue;
                };
                branches.push(Branch {
                    purpose,
                    branch,
                    xpub,
                    kinds,
                    seen: 0,
                    derived: 0,
                });
            }
        }
        OwnWallet {
            branches,
            scripts: HashSet::new(),
            lookahead: lookahead.min(MAX_LOOKAHEAD),
        }
    }

    /// Notes a wallet input path (m/purpose'/0'/0'/branch/index) so that
    /// later checks cover the addresses around it.
    pub fn saw_path(&mut self, path: &[u32]) {
        if let [p, c, a, branch, index] = *path {
            if c != HARDENED || a != HARDENED || index >= HARDENED {
                return;
            }
            if let Some(b) = self
                .branches
                .iter_mut()
                .find(|b| b.purpose + HARDENED == p && b.branch == branch)
            {
                b.seen = b.seen.max(index);
            }
        }
    }

    /// Whether `script` pays one of our wallet addresses.
    pub fn is_ours(&mut self, script: &bitcoin::Script) -> bool {
        self.extend();
        self.scripts.contains(script)
    }

    /// Number of scripts derived so far.
    pub fn derived_scripts(&self) -> usize {
        self.scripts.len()
    }

    /// Derives every script up to the look-ahead now (hosts call this at
    /// unlock, before lnd's requests and health-check pings arrive; later
    /// checks then only derive what a higher index seen adds).
    pub fn extend(&mut self) {
        for b in &mut self.branches {
            let want = b.seen.saturating_add(self.lookahead).saturating_add(1);
            let want = want.min(HARDENED);
            while b.derived < want {
                let child = b
                    .xpub
                    .ckd_pub(SECP256K1, ChildNumber::Normal { index: b.derived });
                b.derived += 1;
                // An invalid child (probability 2^-127) has no address.
                let Ok(child) = child else { continue };
                let key = CompressedPublicKey(child.public_key);
                for kind in b.kinds {
                    let script = match kind {
                        Kind::P2wkh => ScriptBuf::new_p2wpkh(&key.wpubkey_hash()),
                        Kind::NestedP2wkh => ScriptBuf::new_p2sh(
                            &ScriptBuf::new_p2wpkh(&key.wpubkey_hash()).script_hash(),
                        ),
                        Kind::P2tr => ScriptBuf::new_p2tr(
                            SECP256K1,
                            child.public_key.x_only_public_key().0,
                            None,
                        ),
                    };
                    self.scripts.insert(script);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Network;

    fn root() -> RootKey {
        RootKey::from_seed_entropy(&[7u8; 16], Network::Regtest).expect("root")
    }

    fn p2wkh_at(root: &RootKey, purpose: u32, branch: u32, index: u32) -> ScriptBuf {
        let pk = root
            .derive_pub(&[purpose + HARDENED, HARDENED, HARDENED, branch, index])
            .expect("derive");
        ScriptBuf::new_p2wpkh(&CompressedPublicKey(pk).wpubkey_hash())
    }

    #[test]
    fn recognises_addresses_within_the_lookahead_of_what_was_seen() {
        let root = root();
        let mut w = OwnWallet::new(&root, 10);
        assert!(w.is_ours(&p2wkh_at(&root, 84, 0, 10)));
        assert!(w.is_ours(&p2wkh_at(&root, 84, 1, 3)));
        assert!(!w.is_ours(&p2wkh_at(&root, 84, 0, 11)));
        // BIP-49's internal branch is plain P2WKH (lnd's scope).
        assert!(w.is_ours(&p2wkh_at(&root, 49, 1, 2)));
        w.saw_path(&[84 + HARDENED, HARDENED, HARDENED, 0, 20]);
        assert!(w.is_ours(&p2wkh_at(&root, 84, 0, 30)));
        assert!(!w.is_ours(&p2wkh_at(&root, 84, 0, 31)));
        // Another account is not ours.
        let other = root
            .derive_pub(&[84 + HARDENED, HARDENED, 1 + HARDENED, 0, 0])
            .expect("derive");
        assert!(!w.is_ours(&ScriptBuf::new_p2wpkh(
            &CompressedPublicKey(other).wpubkey_hash()
        )));
        // BIP-86: the key-path-only output key.
        let pk = root
            .derive_pub(&[86 + HARDENED, HARDENED, HARDENED, 0, 4])
            .expect("derive");
        let tr = ScriptBuf::new_p2tr(SECP256K1, pk.x_only_public_key().0, None);
        assert!(w.is_ours(&tr));
        let untweaked = ScriptBuf::new_p2tr_tweaked(
            bitcoin::key::TweakedPublicKey::dangerous_assume_tweaked(pk.x_only_public_key().0),
        );
        assert!(!w.is_ours(&untweaked));
    }
}
