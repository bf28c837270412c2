//! The BIP-32 master (root) private key and cached derivation (keys.md §1, §3, §6).

use core::fmt;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use std::sync::OnceLock;

use bitcoin::bip32::{ChildNumber, Fingerprint, Xpriv, Xpub};
use bitcoin::hashes::hmac::{Hmac, HmacEngine};
use bitcoin::hashes::{hash160, sha512, Hash, HashEngine};
use bitcoin::secp256k1::{PublicKey, Scalar, SecretKey, SECP256K1};
use zeroize::{Zeroize, Zeroizing};

use super::network::Network;
use super::path::format_path;

use super::path::{HARDENED, LND_PURPOSE};

/// Nodes at depth 1..=CACHE_MAX_DEPTH are cached (account level is 3, the
/// branch under an account is 4).
const CACHE_MAX_DEPTH: usize = 4;
/// At most this many nodes are cached; the cache is emptied when it is full.
/// The standard lnd account set needs about 530 entries (259 accounts, their
/// parents and the branch-0/1 nodes below them).
const CACHE_MAX_ENTRIES: usize = 1024;

/// Errors of [`RootKey`] construction and derivation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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

/// Purposes of btcwallet's key scopes (BIP-44/49/84/86 and lnd's 1017).
/// Paths below them are derived exactly as lnd's wallet derives them,
/// including btcd's legacy hardened derivation (see [`lnd_unpadded_step`]).
const WALLET_PURPOSES: [u32; 5] = [44, 49, 84, 86, LND_PURPOSE];

/// Whether btcwallet derives element `depth` (0-based) of `path` with btcd's
/// legacy `DeriveNonStandard` (btcd issue 172): a hardened child of a parent
/// private key whose big-endian bytes start with zero is computed from the
/// key bytes *without* their leading zeros (zero-filled at the end instead).
///
/// btcwallet derives a scope's coin-type key (depth 1 → 2) that way from the
/// freshly derived purpose key, and the default account 0 (depth 2 → 3) from
/// the freshly derived coin-type key. Other accounts are derived later from
/// the coin-type key as stored in its database (32 bytes, padded), i.e. by
/// standard BIP-32; so is everything below the account level (non-hardened).
/// About one seed in 128 is affected in some scope; an lnd-compatible signer
/// must reproduce it or its keys differ from lnd's for those seeds.
fn lnd_unpadded_step(path: &[u32], depth: usize) -> bool {
    let in_wallet_scope = path
        .first()
        .is_some_and(|p| WALLET_PURPOSES.iter().any(|w| w + HARDENED == *p));
    in_wallet_scope && (depth == 1 || (depth == 2 && path[2] == HARDENED))
}

/// An extended private key that wipes its key and chain code when dropped,
/// with its public key computed at most once. The public-key cell is shared
/// by every copy of the node ([`Node::clone_node`]): a node taken from the
/// cache and used as a parent fills the cached node's public key too, so a
/// leaf derived under a cached branch costs one HMAC and one scalar addition,
/// not another point multiplication.
struct Node {
    xpriv: Xpriv,
    public: Arc<OnceLock<PublicKey>>,
}

/// Why one derivation step failed (probability ~2^-127 each, or depth > 255).
#[derive(Debug)]
enum StepError {
    InvalidChild,
    TooDeep,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StepError::InvalidChild => "the child key is invalid (IL >= n or zero key)",
            StepError::TooDeep => "depth would exceed 255",
        })
    }
}

impl Node {
    fn new(xpriv: Xpriv) -> Node {
        Node {
            xpriv,
            public: Arc::new(OnceLock::new()),
        }
    }

    fn public(&self) -> PublicKey {
        *self
            .public
            .get_or_init(|| self.xpriv.private_key.public_key(SECP256K1))
    }

    /// BIP-32 key fingerprint: the first 4 bytes of HASH160 of the public key.
    fn fingerprint(&self) -> Fingerprint {
        let id = hash160::Hash::hash(&self.public().serialize());
        let mut bytes = [0u8; 4];
        bytes.copy_from_slice(&id.as_byte_array()[..4]);
        Fingerprint::from(bytes)
    }

    /// BIP-32 CKDpriv. With `unpadded`, a hardened child is derived as btcd's
    /// legacy `DeriveNonStandard` does (see [`lnd_unpadded_step`]); for keys
    /// without a leading zero byte both are the same.
    fn derive(&self, child: u32, unpadded: bool) -> Result<Node, StepError> {
        let depth = self.xpriv.depth.checked_add(1).ok_or(StepError::TooDeep)?;
        let mut data = Zeroizing::new([0u8; 37]);
        if child >= HARDENED {
            let key = Zeroizing::new(self.xpriv.private_key.secret_bytes());
            let skip = if unpadded {
                key.iter().take_while(|b| **b == 0).count()
            } else {
                0
            };
            data[1..33 - skip].copy_from_slice(&key[skip..]);
        } else {
            data[..33].copy_from_slice(&self.public().serialize());
        }
        data[33..].copy_from_slice(&child.to_be_bytes());
        let mut engine = HmacEngine::<sha512::Hash>::new(self.xpriv.chain_code.as_bytes());
        engine.input(&data[..]);
        let mut i = Zeroizing::new(Hmac::<sha512::Hash>::from_engine(engine).to_byte_array());
        let mut il = Zeroizing::new([0u8; 32]);
        il.copy_from_slice(&i[..32]);
        let tweak = Scalar::from_be_bytes(*il).map_err(|_| StepError::InvalidChild)?;
        let private_key = self
            .xpriv
            .private_key
            .add_tweak(&tweak)
            .map_err(|_| StepError::InvalidChild)?;
        let mut chain_code = [0u8; 32];
        chain_code.copy_from_slice(&i[32..]);
        i.zeroize();
        let xpriv = Xpriv {
            network: self.xpriv.network,
            depth,
            parent_fingerprint: self.fingerprint(),
            child_number: ChildNumber::from(child),
            private_key,
            chain_code: chain_code.into(),
        };
        chain_code.zeroize();
        Ok(Node::new(xpriv))
    }

    fn clone_node(&self) -> Node {
        Node {
            xpriv: self.xpriv,
            public: Arc::clone(&self.public),
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.xpriv.private_key.non_secure_erase();
        let cc: &mut [u8] = self.xpriv.chain_code.as_mut();
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
        let master = Node::new(master);
        // Computes the master's public key once and keeps it in its node.
        let fingerprint = master.fingerprint().to_bytes();
        RootKey {
            network,
            master,
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
        out[..32].copy_from_slice(&self.master.xpriv.private_key.secret_bytes());
        out[32..].copy_from_slice(self.master.xpriv.chain_code.as_bytes());
        out
    }

    /// The key of the signer's audit log (crate::audit): HMAC-SHA256 keyed
    /// with the master private key and chain code over a fixed label, so
    /// that only the holder of the seed can write (or check) the log's MACs.
    /// Independent of the network and of every key lnd derives.
    pub fn audit_key(&self) -> Zeroizing<[u8; 32]> {
        use bitcoin::hashes::sha256;
        let parts = self.master_parts();
        let mut engine = HmacEngine::<sha256::Hash>::new(&parts[..]);
        engine.input(b"lnd-web-signer audit log v1");
        Zeroizing::new(Hmac::<sha256::Hash>::from_engine(engine).to_byte_array())
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
        self.master.public()
    }

    fn node(&self, path: &[u32]) -> Result<Node, RootKeyError> {
        let err = |e: StepError| RootKeyError::Derivation {
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
            node = node
                .derive(child, lnd_unpadded_step(path, i))
                .map_err(err)?;
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
        Ok(self.node(path)?.xpriv.private_key)
    }

    /// Public key at `path`.
    pub fn derive_pub(&self, path: &[u32]) -> Result<PublicKey, RootKeyError> {
        Ok(self.node(path)?.public())
    }

    /// Extended public key at `path` (version bytes `xpub` on mainnet, `tpub`
    /// elsewhere; see [`super::accounts`] for lnd's per-scope versions).
    pub fn derive_xpub(&self, path: &[u32]) -> Result<Xpub, RootKeyError> {
        Ok(Xpub::from_priv(SECP256K1, &self.node(path)?.xpriv))
    }

    /// Path of lnd key `family`/`index`: m/1017'/coin'/family'/0/index, coin =
    /// the network's lnd coin type. `index` is a raw child number (lnd derives
    /// `index` ≥ 2^31 as hardened, as does this).
    pub fn lnd_key_path(&self, family: u32, index: u32) -> Result<[u32; 5], RootKeyError> {
        Ok([
            LND_PURPOSE + HARDENED,
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
    fn cached_branch_keeps_its_public_key() {
        let root = RootKey::from_xprv(ITEST_TPRV, Network::Regtest).expect("root");
        let branch = &root.lnd_key_path(6, 0).expect("path")[..4];
        let branch_public = |root: &RootKey| {
            let cache = root.cache.lock().expect("lock");
            cache
                .nodes
                .get(branch)
                .and_then(|n| n.public.get().copied())
        };
        // The first leaf derives and caches the branch; deriving the leaf
        // needs the branch's public key, which must land in the cached node.
        root.lnd_key(6, 0).expect("key");
        let want = root.derive_pub(branch).expect("branch pub");
        assert_eq!(branch_public(&root), Some(want));
        // The master's public key is computed once as well.
        assert!(root.master.public.get().is_some());
        root.lnd_key(6, 1).expect("key");
        assert_eq!(branch_public(&root), Some(want));
    }

    /// btcd's TestLeadingZero (btcutil issue 172): seed 0…0‖399 gives an
    /// m/0' key with a leading zero byte; its child 0' differs between
    /// standard BIP-32 and the legacy unpadded derivation.
    #[test]
    fn legacy_unpadded_derivation_matches_btcd() {
        let mut seed = [0u8; 32];
        seed[28..].copy_from_slice(&399u32.to_be_bytes());
        let master = Xpriv::new_master(bitcoin::NetworkKind::Main, &seed).expect("master");
        let child0 = Node::new(master).derive(HARDENED, false).expect("m/0'");
        assert_eq!(
            child0.xpriv.private_key.secret_bytes()[0],
            0,
            "leading zero"
        );
        let standard = child0.derive(HARDENED, false).expect("standard");
        let legacy = child0.derive(HARDENED, true).expect("legacy");
        assert_eq!(
            hex::encode(standard.xpriv.private_key.secret_bytes()),
            "a9b6b30a5b90b56ed48728c73af1d8a7ef1e9cc372ec21afcc1d9bdf269b0988"
        );
        assert_eq!(
            hex::encode(legacy.xpriv.private_key.secret_bytes()),
            "ea46d8f58eb863a2d371a938396af8b0babe85c01920f59a8044412e70e837ee"
        );
        // Our standard step equals rust-bitcoin's BIP-32.
        let rb = master
            .derive_priv(
                SECP256K1,
                &[ChildNumber::from(HARDENED), ChildNumber::from(HARDENED)],
            )
            .expect("rust-bitcoin");
        assert_eq!(rb, standard.xpriv);
    }

    #[test]
    fn unpadded_steps_follow_btcwallet() {
        let h = |i: u32| i + HARDENED;
        // coin type of every wallet scope; account 0 only.
        assert!(lnd_unpadded_step(&[h(1017), h(1), h(6), 0, 0], 1));
        assert!(lnd_unpadded_step(&[h(1017), h(1), h(0), 0, 0], 2));
        assert!(!lnd_unpadded_step(&[h(1017), h(1), h(6), 0, 0], 2));
        assert!(lnd_unpadded_step(&[h(84), h(0), h(0)], 2));
        assert!(!lnd_unpadded_step(&[h(84), h(0), h(1)], 2));
        assert!(!lnd_unpadded_step(&[h(84), h(0), h(0), 1, 5], 0));
        assert!(!lnd_unpadded_step(&[h(84), h(0), h(0), 1, 5], 3));
        // Outside btcwallet's scopes: plain BIP-32.
        assert!(!lnd_unpadded_step(&[h(0), h(1)], 1));
        assert!(!lnd_unpadded_step(&[h(45), h(0), h(0)], 2));
    }

    /// A seed whose m/1017' key starts with a zero byte: lnd's coin-type key,
    /// and so every 1017 account, differs from plain BIP-32; the signer must
    /// follow lnd, and stay consistent between accounts.json and signing.
    #[test]
    fn affected_seed_follows_lnd_not_bip32() {
        let (root, master) = (0u32..4096)
            .find_map(|n| {
                let mut entropy = [7u8; 16];
                entropy[..4].copy_from_slice(&n.to_be_bytes());
                let master =
                    Xpriv::new_master(bitcoin::NetworkKind::Test, &entropy).expect("master");
                let purpose = master
                    .derive_priv(SECP256K1, &[ChildNumber::from(1017 + HARDENED)])
                    .expect("purpose");
                (purpose.private_key.secret_bytes()[0] == 0).then(|| {
                    (
                        RootKey::from_seed_entropy(&entropy, Network::Regtest).expect("root"),
                        master,
                    )
                })
            })
            .expect("an affected seed among 4096 (expected ~16)");
        let bip32 = |path: &[u32]| {
            let cn: Vec<ChildNumber> = path.iter().map(|&c| ChildNumber::from(c)).collect();
            master
                .derive_priv(SECP256K1, &cn)
                .expect("bip32")
                .private_key
        };
        let path = root.lnd_key_path(6, 0).expect("path");
        assert_ne!(root.derive_priv(&path).expect("lnd"), bip32(&path));
        // Signing keys and the exported account xpub agree.
        let xpub = root.account_xpub(1017, 1, 6).expect("xpub");
        let from_xpub = xpub
            .derive_pub(SECP256K1, &[ChildNumber::from(0), ChildNumber::from(0)])
            .expect("child");
        assert_eq!(
            from_xpub.public_key,
            root.lnd_key(6, 0).expect("key").public_key(SECP256K1)
        );
        // Other scopes of the same seed are unaffected unless their own keys are.
        let p84 = [84 + HARDENED, HARDENED, HARDENED + 1, 0, 0];
        assert_eq!(root.derive_priv(&p84).expect("84"), bip32(&p84));
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
