//! The BIP-32 master (root) private key and cached derivation (keys.md §1, §3, §6).

use core::fmt;
use std::collections::HashMap;
use std::sync::Mutex;

use bitcoin::bip32::{ChildNumber, Xpriv, Xpub};
use bitcoin::secp256k1::{PublicKey, SecretKey, SECP256K1};
use zeroize::{Zeroize, Zeroizing};

use super::network::Network;
use super::path::format_path;

use super::path::HARDENED;

/// Nodes at depth 1..=CACHE_MAX_DEPTH are cached (account level is 3, the
/// branch under an account is 4).
const CACHE_MAX_DEPTH: usize = 4;
/// At most this many nodes are cached; the cache is emptied when it is full.
/// The standard lnd account set needs about 530 entries (259 accounts, their
/// parents and the branch-0/1 nodes below them).
const CACHE_MAX_ENTRIES: usize = 1024;

/// Errors of [`RootKey`] construction and derivation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RootKeyError {
    /// BIP-32 seeds are 16 to 64 bytes.
    #[error("seed must be 16 to 64 bytes long, got {0} bytes")]
    SeedLength(usize),
    /// HMAC-SHA512 gave an invalid master private key (probability ~2^-127).
    #[error("the seed gives an invalid BIP-32 master key")]
    InvalidMasterKey,
    /// Not a base58check-encoded 78-byte extended key, or bad key data.
    #[error("invalid extended key: {0}")]
    InvalidExtendedKey(String),
    /// The version bytes are not one of the known BIP-32/SLIP-132 versions.
    #[error("unknown extended key version 0x{0}")]
    UnknownVersion(String),
    /// An extended public key was given.
    #[error("extended public key given, a private master key is needed")]
    PublicKeyGiven,
    /// A SLIP-132 private key (yprv, zprv, ...) was given; lnd refuses them too.
    #[error("{0} (SLIP-132) keys are not accepted, give the master key in xprv/tprv form")]
    Slip132(&'static str),
    /// The extended key is not a master key.
    #[error("extended key is at depth {0}, a master key (depth 0) is needed")]
    NotMaster(u8),
    /// Depth 0 with a parent fingerprint or child number (invalid per BIP-32).
    #[error("extended key at depth 0 has a non-zero {0}, it is not a valid master key")]
    InvalidMaster(&'static str),
    /// Version bytes of another network.
    #[error("{prefix} key is for {key_networks} but the network is {network}")]
    NetworkMismatch {
        /// `xprv`, `tprv` or `sprv`.
        prefix: &'static str,
        /// `mainnet`, `test networks` or `simnet`.
        key_networks: &'static str,
        /// The network the key was loaded for.
        network: Network,
    },
    /// An index that must be hardened is ≥ 2^31.
    #[error("{what} {index} is too large (must be below 2^31 to be hardened)")]
    IndexTooLarge {
        /// Which element (`purpose`, `coin type`, `account`, `key family`).
        what: &'static str,
        /// The value given.
        index: u32,
    },
    /// BIP-32 derivation failed (invalid child, probability ~2^-127, or depth > 255).
    #[error("key derivation failed at path {path}: {reason}")]
    Derivation {
        /// The path being derived.
        path: String,
        /// rust-bitcoin's reason.
        reason: String,
    },
}

/// An extended private key that wipes its key and chain code when dropped.
struct Node(Xpriv);

impl Node {
    fn derive(&self, child: u32) -> Result<Node, bitcoin::bip32::Error> {
        let xpriv = self.0.derive_priv(SECP256K1, &[ChildNumber::from(child)])?;
        Ok(Node(xpriv))
    }

    fn clone_node(&self) -> Node {
        Node(self.0)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.0.private_key.non_secure_erase();
        let cc: &mut [u8] = self.0.chain_code.as_mut();
        cc.zeroize();
    }
}

/// Bounded cache of derived nodes, keyed by raw child-number path.
#[derive(Default)]
struct NodeCache {
    nodes: HashMap<Vec<u32>, Node>,
}

/// The BIP-32 master private key lnd's wallet is built on, with its network.
///
/// Derived nodes up to depth 4 (account `purpose'/coin'/account'` and the
/// branch below it, e.g. `1017'/C'/F'/0`) are kept in a bounded in-memory
/// cache, so deriving a leaf key costs one BIP-32 step. Every cached key is
/// wiped when the cache is emptied or the `RootKey` is dropped.
pub struct RootKey {
    network: Network,
    master: Node,
    fingerprint: [u8; 4],
    cache: Mutex<NodeCache>,
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RootKey {{ network: {}, key: [redacted] }}",
            self.network
        )
    }
}

/// A known extended-key version prefix.
enum Version {
    Private {
        prefix: &'static str,
        networks: &'static str,
        accepts: fn(Network) -> bool,
    },
    Slip132Private(&'static str),
    Public,
}

fn classify_version(v: [u8; 4]) -> Option<Version> {
    Some(match u32::from_be_bytes(v) {
        0x0488_ade4 => Version::Private {
            prefix: "xprv",
            networks: "mainnet",
            accepts: |n| n == Network::Mainnet,
        },
        0x0435_8394 => Version::Private {
            prefix: "tprv",
            networks: "test networks",
            accepts: |n| {
                matches!(
                    n,
                    Network::Testnet3 | Network::Testnet4 | Network::Signet | Network::Regtest
                )
            },
        },
        0x0420_b900 => Version::Private {
            prefix: "sprv",
            networks: "simnet",
            accepts: |n| n == Network::Simnet,
        },
        0x049d_7878 => Version::Slip132Private("yprv"),
        0x04b2_430c => Version::Slip132Private("zprv"),
        0x044a_4e28 => Version::Slip132Private("uprv"),
        0x045f_18bc => Version::Slip132Private("vprv"),
        0x0295_b005 => Version::Slip132Private("Yprv"),
        0x02aa_7a99 => Version::Slip132Private("Zprv"),
        0x0242_85b5 => Version::Slip132Private("Uprv"),
        0x0257_5048 => Version::Slip132Private("Vprv"),
        // xpub, tpub, spub, ypub, zpub, upub, vpub, Ypub, Zpub, Upub, Vpub
        0x0488_b21e | 0x0435_87cf | 0x0420_bd3a | 0x049d_7cb2 | 0x04b2_4746 | 0x044a_5262
        | 0x045f_1cf6 | 0x0295_b43f | 0x02aa_7ed3 | 0x0242_89ef | 0x0257_5483 => Version::Public,
        _ => return None,
    })
}

fn hardened(what: &'static str, index: u32) -> Result<u32, RootKeyError> {
    if index >= HARDENED {
        Err(RootKeyError::IndexTooLarge { what, index })
    } else {
        Ok(index + HARDENED)
    }
}

impl RootKey {
    fn from_master(master: Xpriv, network: Network) -> Self {
        let fingerprint = master.fingerprint(SECP256K1).to_bytes();
        RootKey {
            network,
            master: Node(master),
            fingerprint,
            cache: Mutex::new(NodeCache::default()),
        }
    }

    /// BIP-32 master key from a seed (`HMAC-SHA512("Bitcoin seed", seed)`); for
    /// lnd this is the 16-byte aezeed entropy. Seeds of 16 to 64 bytes are accepted.
    pub fn from_seed_entropy(entropy: &[u8], network: Network) -> Result<Self, RootKeyError> {
        if !(16..=64).contains(&entropy.len()) {
            return Err(RootKeyError::SeedLength(entropy.len()));
        }
        let master = Xpriv::new_master(network.network_kind(), entropy)
            .map_err(|_| RootKeyError::InvalidMasterKey)?;
        Ok(Self::from_master(master, network))
    }

    /// Parses an extended master private key string (`xprv` on mainnet; `tprv`
    /// on testnet3/4, signet, regtest; `sprv` on simnet). It must be private, at
    /// depth 0 and match `network`; SLIP-132 keys (yprv, zprv, ...) are refused.
    pub fn from_xprv(s: &str, network: Network) -> Result<Self, RootKeyError> {
        let data = Zeroizing::new(
            bitcoin::base58::decode_check(s)
                .map_err(|e| RootKeyError::InvalidExtendedKey(e.to_string()))?,
        );
        if data.len() != 78 {
            return Err(RootKeyError::InvalidExtendedKey(format!(
                "decoded length is {} bytes, expected 78",
                data.len()
            )));
        }
        let version = [data[0], data[1], data[2], data[3]];
        let (prefix, networks, accepts) = match classify_version(version) {
            Some(Version::Private {
                prefix,
                networks,
                accepts,
            }) => (prefix, networks, accepts),
            Some(Version::Slip132Private(p)) => return Err(RootKeyError::Slip132(p)),
            Some(Version::Public) => return Err(RootKeyError::PublicKeyGiven),
            None => return Err(RootKeyError::UnknownVersion(hex::encode(version))),
        };
        if data[4] != 0 {
            return Err(RootKeyError::NotMaster(data[4]));
        }
        if data[5..9] != [0; 4] {
            return Err(RootKeyError::InvalidMaster("parent fingerprint"));
        }
        if data[9..13] != [0; 4] {
            return Err(RootKeyError::InvalidMaster("child number"));
        }
        if data[45] != 0 {
            return Err(RootKeyError::InvalidExtendedKey(
                "private key data does not start with 0x00".to_owned(),
            ));
        }
        if !accepts(network) {
            return Err(RootKeyError::NetworkMismatch {
                prefix,
                key_networks: networks,
                network,
            });
        }
        // rust-bitcoin does not know `sprv`; the version does not influence
        // derivation, so decode with the xprv version and set the network kind.
        let mut normalized = Zeroizing::new([0u8; 78]);
        normalized.copy_from_slice(&data);
        normalized[0..4].copy_from_slice(&0x0488_ade4u32.to_be_bytes());
        let mut xpriv = Xpriv::decode(&normalized[..])
            .map_err(|e| RootKeyError::InvalidExtendedKey(e.to_string()))?;
        xpriv.network = network.network_kind();
        Ok(Self::from_master(xpriv, network))
    }

    /// The master private key and chain code (32 + 32 bytes), for the
    /// sealed vault only.
    pub(crate) fn master_parts(&self) -> Zeroizing<[u8; 64]> {
        let mut out = Zeroizing::new([0u8; 64]);
        out[..32].copy_from_slice(&self.master.0.private_key.secret_bytes());
        out[32..].copy_from_slice(self.master.0.chain_code.as_bytes());
        out
    }

    /// Inverse of [`Self::master_parts`].
    pub(crate) fn from_master_parts(
        parts: &[u8; 64],
        network: Network,
    ) -> Result<Self, RootKeyError> {
        let private_key = SecretKey::from_slice(&parts[..32])
            .map_err(|e| RootKeyError::InvalidExtendedKey(e.to_string()))?;
        let mut chain_code = [0u8; 32];
        chain_code.copy_from_slice(&parts[32..]);
        let master = Xpriv {
            network: network.network_kind(),
            depth: 0,
            parent_fingerprint: Default::default(),
            child_number: ChildNumber::from(0),
            private_key,
            chain_code: chain_code.into(),
        };
        chain_code.zeroize();
        Ok(Self::from_master(master, network))
    }

    /// The network this key is used on.
    pub fn network(&self) -> Network {
        self.network
    }

    /// First 4 bytes of HASH160 of the compressed master public key.
    pub fn master_fingerprint(&self) -> [u8; 4] {
        self.fingerprint
    }

    /// The master public key.
    pub fn master_public_key(&self) -> PublicKey {
        self.master.0.private_key.public_key(SECP256K1)
    }

    fn node(&self, path: &[u32]) -> Result<Node, RootKeyError> {
        let err = |e: bitcoin::bip32::Error| RootKeyError::Derivation {
            path: format_path(path),
            reason: e.to_string(),
        };
        // Longest cached prefix (cache keys have length 1..=CACHE_MAX_DEPTH).
        let mut start = 0;
        let mut node = None;
        {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            for len in (1..=path.len().min(CACHE_MAX_DEPTH)).rev() {
                if let Some(n) = cache.nodes.get(&path[..len]) {
                    node = Some(n.clone_node());
                    start = len;
                    break;
                }
            }
        }
        let mut node = node.unwrap_or_else(|| self.master.clone_node());
        let mut fresh = Vec::new();
        for (i, &child) in path.iter().enumerate().skip(start) {
            node = node.derive(child).map_err(err)?;
            if i < CACHE_MAX_DEPTH {
                fresh.push((path[..=i].to_vec(), node.clone_node()));
            }
        }
        if !fresh.is_empty() {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache.nodes.len() + fresh.len() > CACHE_MAX_ENTRIES {
                cache.nodes.clear();
            }
            cache.nodes.extend(fresh);
        }
        Ok(node)
    }

    /// Private key at `path` (raw child numbers; hardened = index + 2^31).
    pub fn derive_priv(&self, path: &[u32]) -> Result<SecretKey, RootKeyError> {
        Ok(self.node(path)?.0.private_key)
    }

    /// Public key at `path`.
    pub fn derive_pub(&self, path: &[u32]) -> Result<PublicKey, RootKeyError> {
        Ok(self.node(path)?.0.private_key.public_key(SECP256K1))
    }

    /// Extended public key at `path` (version bytes `xpub` on mainnet, `tpub`
    /// elsewhere; see [`super::accounts`] for lnd's per-scope versions).
    pub fn derive_xpub(&self, path: &[u32]) -> Result<Xpub, RootKeyError> {
        Ok(Xpub::from_priv(SECP256K1, &self.node(path)?.0))
    }

    /// Path of lnd key `family`/`index`: m/1017'/coin'/family'/0/index, coin =
    /// the network's lnd coin type. `index` is a raw child number (lnd derives
    /// `index` ≥ 2^31 as hardened, as does this).
    pub fn lnd_key_path(&self, family: u32, index: u32) -> Result<[u32; 5], RootKeyError> {
        Ok([
            1017 + HARDENED,
            self.network.lnd_coin_type() + HARDENED,
            hardened("key family", family)?,
            0,
            index,
        ])
    }

    /// lnd keychain private key m/1017'/coin'/family'/0/index.
    pub fn lnd_key(&self, family: u32, index: u32) -> Result<SecretKey, RootKeyError> {
        self.derive_priv(&self.lnd_key_path(family, index)?)
    }

    /// Account extended public key m/purpose'/coin'/account' (depth 3, child
    /// number = hardened account), `xpub`/`tpub` version bytes.
    pub fn account_xpub(
        &self,
        purpose: u32,
        coin: u32,
        account: u32,
    ) -> Result<Xpub, RootKeyError> {
        let path = [
            hardened("purpose", purpose)?,
            hardened("coin type", coin)?,
            hardened("account", account)?,
        ];
        self.derive_xpub(&path)
    }

    /// Number of cached derived nodes (for tests and diagnostics).
    pub fn cached_nodes(&self) -> usize {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .nodes
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LND_ENTROPY: &str = "4a7611b6979ba7c4bc5c5cd2239b2973";
    const LND_XPRV: &str = "xprv9s21ZrQH143K2KADjED57FvNbptdKLp4sqKzssegwEGKQMGoDkbyhUeCKe5m3AMU44z4vqkmGswwQVKrv599nFG16PPZDEkNrogwoDGeCmZ";
    const ITEST_TPRV: &str = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";

    fn entropy() -> Vec<u8> {
        hex::decode(LND_ENTROPY).expect("hex")
    }

    #[test]
    fn seed_and_xprv_give_same_root() {
        let a = RootKey::from_seed_entropy(&entropy(), Network::Mainnet).expect("root");
        let b = RootKey::from_xprv(LND_XPRV, Network::Mainnet).expect("root");
        assert_eq!(a.master_fingerprint(), b.master_fingerprint());
        assert_eq!(a.master_public_key(), b.master_public_key());
        let p = [84 + HARDENED, HARDENED, HARDENED, 0, 0];
        assert_eq!(
            a.derive_priv(&p).expect("d").secret_bytes(),
            b.derive_priv(&p).expect("d").secret_bytes()
        );
    }

    #[test]
    fn seed_length_bounds() {
        assert_eq!(
            RootKey::from_seed_entropy(&[1; 15], Network::Regtest).map(|_| ()),
            Err(RootKeyError::SeedLength(15))
        );
        assert!(RootKey::from_seed_entropy(&[1; 65], Network::Regtest).is_err());
        assert!(RootKey::from_seed_entropy(&[1; 64], Network::Regtest).is_ok());
    }

    #[test]
    fn xprv_network_checks() {
        let err = RootKey::from_xprv(ITEST_TPRV, Network::Mainnet).expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "tprv key is for test networks but the network is mainnet"
        );
        let err = RootKey::from_xprv(LND_XPRV, Network::Regtest).expect_err("mismatch");
        assert_eq!(
            err.to_string(),
            "xprv key is for mainnet but the network is regtest"
        );
        for n in [
            Network::Testnet3,
            Network::Testnet4,
            Network::Signet,
            Network::Regtest,
        ] {
            assert!(RootKey::from_xprv(ITEST_TPRV, n).is_ok());
        }
        assert!(RootKey::from_xprv(ITEST_TPRV, Network::Simnet).is_err());
    }

    fn reencode(s: &str, version: u32, f: impl FnOnce(&mut Vec<u8>)) -> String {
        let mut d = bitcoin::base58::decode_check(s).expect("b58");
        d[0..4].copy_from_slice(&version.to_be_bytes());
        f(&mut d);
        bitcoin::base58::encode_check(&d)
    }

    #[test]
    fn sprv_is_parsed_for_simnet() {
        let sprv = reencode(LND_XPRV, 0x0420_b900, |_| {});
        assert!(sprv.starts_with("sprv"), "{sprv}");
        let s = RootKey::from_xprv(&sprv, Network::Simnet).expect("sprv");
        let x = RootKey::from_xprv(LND_XPRV, Network::Mainnet).expect("xprv");
        assert_eq!(s.master_fingerprint(), x.master_fingerprint());
        assert_eq!(
            RootKey::from_xprv(&sprv, Network::Regtest)
                .expect_err("mismatch")
                .to_string(),
            "sprv key is for simnet but the network is regtest"
        );
    }

    #[test]
    fn xprv_shape_checks() {
        let zprv = reencode(LND_XPRV, 0x04b2_430c, |_| {});
        assert_eq!(
            RootKey::from_xprv(&zprv, Network::Mainnet).map(|_| ()),
            Err(RootKeyError::Slip132("zprv"))
        );
        let xpub = Xpub::from_priv(SECP256K1, &LND_XPRV.parse::<Xpriv>().expect("xprv"));
        assert_eq!(
            RootKey::from_xprv(&xpub.to_string(), Network::Mainnet)
                .expect_err("public")
                .to_string(),
            "extended public key given, a private master key is needed"
        );
        let root = RootKey::from_xprv(LND_XPRV, Network::Mainnet).expect("root");
        let _ = root.account_xpub(84, 0, 0).expect("xpub");
        let deep = LND_XPRV
            .parse::<Xpriv>()
            .expect("xprv")
            .derive_priv(
                SECP256K1,
                &[
                    ChildNumber::from(84 + HARDENED),
                    ChildNumber::from(HARDENED),
                    ChildNumber::from(HARDENED),
                ],
            )
            .expect("derive");
        assert_eq!(
            RootKey::from_xprv(&deep.to_string(), Network::Mainnet)
                .expect_err("deep")
                .to_string(),
            "extended key is at depth 3, a master key (depth 0) is needed"
        );
        let bad_index = reencode(LND_XPRV, 0x0488_ade4, |d| d[12] = 1);
        assert!(RootKey::from_xprv(&bad_index, Network::Mainnet).is_err());
        let unknown = reencode(LND_XPRV, 0x0102_0304, |_| {});
        assert_eq!(
            RootKey::from_xprv(&unknown, Network::Mainnet).map(|_| ()),
            Err(RootKeyError::UnknownVersion("01020304".into()))
        );
        assert!(matches!(
            RootKey::from_xprv("xprv123", Network::Mainnet),
            Err(RootKeyError::InvalidExtendedKey(_))
        ));
    }

    #[test]
    fn itest_node_key() {
        let root = RootKey::from_xprv(ITEST_TPRV, Network::Regtest).expect("root");
        let pk = root.lnd_key(6, 0).expect("node key").public_key(SECP256K1);
        assert_eq!(
            hex::encode(pk.serialize()),
            "033f55d436d4f7d24aeffb1b976647380f22ebf9e74390e8c76dcff9fea0093b7a"
        );
        assert_eq!(hex::encode(root.master_fingerprint()), "a2e4cfba");
        assert_eq!(
            format_path(&root.lnd_key_path(0, 123).expect("path")),
            "m/1017'/1'/0'/0/123"
        );
        assert!(root.lnd_key(HARDENED, 0).is_err());
    }

    #[test]
    fn cache_is_consistent_and_bounded() {
        let cached = RootKey::from_xprv(ITEST_TPRV, Network::Regtest).expect("root");
        let plain = ITEST_TPRV.parse::<Xpriv>().expect("xprv");
        for family in 0..300u32 {
            for index in [0u32, 7] {
                let path = cached.lnd_key_path(family, index).expect("path");
                let want = plain
                    .derive_priv(
                        SECP256K1,
                        &path
                            .iter()
                            .map(|&c| ChildNumber::from(c))
                            .collect::<Vec<_>>(),
                    )
                    .expect("derive")
                    .private_key;
                assert_eq!(cached.lnd_key(family, index).expect("key"), want);
                assert!(cached.cached_nodes() <= CACHE_MAX_ENTRIES);
            }
        }
        assert!(cached.cached_nodes() > 0);
    }

    #[test]
    fn debug_redacts() {
        let root = RootKey::from_xprv(ITEST_TPRV, Network::Regtest).expect("root");
        let d = format!("{root:?}");
        assert!(d.contains("[redacted]") && !d.contains("tprv"), "{d}");
    }

    #[test]
    fn root_key_is_send_sync() {
        fn check<T: Send + Sync>() {}
        check::<RootKey>();
    }
}
