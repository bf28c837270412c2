//! The sealed seed vault: the signer's seed (aezeed words + passphrase, or an
//! extended master key), its network, birthday, master key and an optional
//! lnd macaroon, encrypted under a user passphrase.
//!
//! Argon2id (parameters stored in the blob, bounded when opening) derives a
//! 64-byte key: an AES-256-GCM key and a passphrase-verifier key. The header
//! is authenticated as AAD; a SHA-256 checksum over the whole blob detects
//! corruption and plain modification before any passphrase work. Layout,
//! parameters and threat notes: `docs/vault-format.md`.
//!
//! Sans-IO: entropy is injected ([`crate::entropy::Entropy`]), nothing touches storage.

use core::fmt;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use argon2::{Algorithm, Argon2, Params, Version};
use bitcoin::hashes::{hmac, sha256, Hash, HashEngine};
use zeroize::{Zeroize, Zeroizing};

use crate::entropy::{Entropy, OsEntropy};
use crate::keys::seed::{SeedError, SeedInput};
use crate::keys::{Network, RootKey};
use crate::secret::{SecretBytes, SecretString};

/// First 8 bytes of every vault.
pub const MAGIC: [u8; 8] = *b"LNDWSVLT";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// KDF identifier: Argon2id, version 0x13.
pub const KDF_ARGON2ID: u8 = 1;

const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 12;
const VERIFIER_LEN: usize = 16;
const TAG_LEN: usize = 16;
const CHECKSUM_LEN: usize = 32;
/// Offsets in the header.
const OFF_VERSION: usize = 8;
const OFF_KDF: usize = 9;
const OFF_M: usize = 10;
const OFF_T: usize = 14;
const OFF_P: usize = 18;
const OFF_SALT: usize = 22;
const OFF_NONCE: usize = OFF_SALT + SALT_LEN; // 38
const OFF_VERIFIER: usize = OFF_NONCE + NONCE_LEN; // 50
const OFF_CT_LEN: usize = OFF_VERIFIER + VERIFIER_LEN; // 66
/// Header size (the AAD): everything before the ciphertext.
pub const HEADER_LEN: usize = OFF_CT_LEN + 4; // 70
/// Plaintext is zero-padded to a multiple of this (hides passphrase lengths).
const PAD_TO: usize = 256;
/// Largest macaroon accepted (lnd macaroons are a few hundred bytes).
pub const MAX_MACAROON_LEN: usize = 64 * 1024;
/// Largest signing policy accepted (its JSON text; an allowlist of 10 000
/// addresses fits).
pub const MAX_POLICY_LEN: usize = 1024 * 1024;

const VERIFIER_LABEL: &[u8] = b"lnd-web-signer vault v1 passphrase verifier";

const SEED_KIND_AEZEED: u8 = 1;
const SEED_KIND_XPRV: u8 = 2;

/// Argon2id cost parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_cost_kib: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// Default for new vaults: 64 MiB, 2 passes, 1 lane (well under a second
    /// in Chromium's wasm, see docs/vault-format.md).
    pub const DEFAULT: KdfParams = KdfParams {
        m_cost_kib: 64 * 1024,
        t_cost: 2,
        p_cost: 1,
    };
    /// Largest memory an opener accepts (256 MiB).
    pub const MAX_M_COST_KIB: u32 = 256 * 1024;
    /// Most passes an opener accepts.
    pub const MAX_T_COST: u32 = 16;
    /// Most lanes an opener accepts.
    pub const MAX_P_COST: u32 = 4;
    /// Upper bound on m·t (KiB·passes): 8 × the default work.
    pub const MAX_WORK: u64 = 8 * 64 * 1024 * 2;
    /// The floor for sealing: OWASP's minimum for Argon2id (19 MiB, 2
    /// passes, 1 lane; Password Storage Cheat Sheet). [`seal`] and
    /// [`reseal`] refuse anything cheaper; opening still accepts older,
    /// cheaper vaults (within the upper bounds above).
    pub const SEAL_FLOOR: KdfParams = KdfParams {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// True when new vaults may be sealed with these parameters: at least
    /// [`Self::SEAL_FLOOR`]'s memory and passes (and acceptable to open).
    pub fn meets_seal_floor(&self) -> bool {
        self.m_cost_kib >= Self::SEAL_FLOOR.m_cost_kib
            && self.t_cost >= Self::SEAL_FLOOR.t_cost
            && self.is_acceptable()
    }

    /// True when an opener may run these parameters: Argon2-valid (t ≥ 1,
    /// p ≥ 1, m ≥ 8·p) and within the bounds above.
    pub fn is_acceptable(&self) -> bool {
        self.t_cost >= 1
            && self.p_cost >= 1
            && self.p_cost <= Self::MAX_P_COST
            && self.t_cost <= Self::MAX_T_COST
            && self.m_cost_kib >= 8 * self.p_cost
            && self.m_cost_kib <= Self::MAX_M_COST_KIB
            && u64::from(self.m_cost_kib) * u64::from(self.t_cost) <= Self::MAX_WORK
    }
}

impl KdfParams {
    /// The parameters to re-seal a vault that was sealed with `self`: the
    /// same when they meet the floor, else [`Self::DEFAULT`] (an old or
    /// hand-made vault gets the current cost, never a cheaper one).
    pub fn for_reseal(self) -> KdfParams {
        if self.meets_seal_floor() {
            self
        } else {
            Self::DEFAULT
        }
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The public part of a vault header (readable without the passphrase).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VaultHeader {
    /// Format version.
    pub version: u8,
    /// Argon2id parameters.
    pub kdf: KdfParams,
}

/// Errors of sealing and opening a vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Does not start with the vault magic bytes.
    #[error("not an lnd-web-signer vault (bad magic bytes)")]
    BadMagic,
    /// Shorter than its header or its declared length.
    #[error("vault is truncated ({len} bytes, at least {need} expected)")]
    Truncated {
        /// Bytes present.
        len: usize,
        /// Bytes needed.
        need: usize,
    },
    /// A format version this build does not know.
    #[error("unsupported vault format version {0} (this build reads version 1)")]
    UnsupportedVersion(u8),
    /// A KDF this build does not know.
    #[error("unsupported vault key derivation function {0}")]
    UnsupportedKdf(u8),
    /// KDF parameters outside the accepted bounds (refused before any work).
    #[error(
        "vault key derivation parameters out of bounds (m = {} KiB, t = {}, p = {}); refusing to run them",
        .0.m_cost_kib, .0.t_cost, .0.p_cost
    )]
    KdfParamsOutOfBounds(KdfParams),
    /// Sealing parameters cheaper than [`KdfParams::SEAL_FLOOR`].
    #[error(
        "vault key derivation parameters below the sealing floor (m = {} KiB, t = {}; at least m = 19456 KiB and t = 2, OWASP's Argon2id minimum)",
        .0.m_cost_kib, .0.t_cost
    )]
    KdfBelowFloor(KdfParams),
    /// The passphrase does not match the stored verifier.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Checksum, authentication tag or content check failed.
    #[error("vault is corrupted or was modified ({0})")]
    Tampered(&'static str),
    /// The seed to seal is not valid for the network.
    #[error("{0}")]
    Seed(#[from] SeedError),
    /// The macaroon is larger than [`MAX_MACAROON_LEN`].
    #[error("macaroon is too large ({0} bytes, at most 65536)")]
    MacaroonTooLarge(usize),
    /// The signing policy is larger than [`MAX_POLICY_LEN`].
    #[error("signing policy is too large ({0} bytes, at most 1048576)")]
    PolicyTooLarge(usize),
    /// The seed text or passphrase is longer than 65535 bytes.
    #[error("seed text is too long to seal")]
    SeedTooLong,
    /// The operating system's random source failed.
    #[error("no random numbers available: {0}")]
    Randomness(String),
    /// Argon2 refused to run (invalid parameters).
    #[error("key derivation failed: {0}")]
    Kdf(String),
}

/// A decrypted vault: the seed, its network and birthday, the root key (from
/// the stored master key, no aezeed scrypt needed) and the optional macaroon.
/// Everything secret is zeroized on drop; `Debug` is redacted.
pub struct OpenedVault {
    /// The seed as the user gave it.
    pub seed: SeedInput,
    /// The network the seed was sealed for.
    pub network: Network,
    /// Wallet birthday (Unix seconds).
    pub birthday_unix: u64,
    /// The lnd macaroon, if one was stored.
    pub macaroon: Option<SecretBytes>,
    /// The BIP-32 root key.
    pub root: RootKey,
    /// The signing policy sealed with the seed (its JSON text, as
    /// [`crate::policy::PolicyConfig::from_value`] reads it), if one was set:
    /// sealed so that nobody can loosen it at rest without the passphrase.
    pub policy: Option<String>,
}

impl fmt::Debug for OpenedVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenedVault")
            .field("seed", &self.seed)
            .field("network", &self.network)
            .field("birthday_unix", &self.birthday_unix)
            .field("macaroon", &self.macaroon.as_ref().map(|_| "[redacted]"))
            .field("root", &self.root)
            .field("policy", &self.policy.as_ref().map(String::len))
            .finish()
    }
}

fn derive_keys(
    passphrase: &[u8],
    salt: &[u8],
    params: KdfParams,
) -> Result<Zeroizing<[u8; 64]>, VaultError> {
    let p = Params::new(params.m_cost_kib, params.t_cost, params.p_cost, Some(64))
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    let mut out = Zeroizing::new([0u8; 64]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, p)
        .hash_password_into(passphrase, salt, &mut out[..])
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    Ok(out)
}

fn verifier(verify_key: &[u8], header_prefix: &[u8]) -> [u8; VERIFIER_LEN] {
    let mut engine = hmac::HmacEngine::<sha256::Hash>::new(verify_key);
    engine.input(VERIFIER_LABEL);
    engine.input(header_prefix);
    let tag = hmac::Hmac::<sha256::Hash>::from_engine(engine);
    let mut out = [0u8; VERIFIER_LEN];
    out.copy_from_slice(&tag.as_byte_array()[..VERIFIER_LEN]);
    out
}

/// Constant-time comparison of two equal-length byte strings.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn push_field(buf: &mut Vec<u8>, data: &[u8]) -> Result<(), VaultError> {
    let len = u16::try_from(data.len()).map_err(|_| VaultError::SeedTooLong)?;
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(data);
    Ok(())
}

fn encode_plaintext(
    seed: &SeedInput,
    network: Network,
    birthday_unix: u64,
    root: &RootKey,
    macaroon: Option<&SecretBytes>,
    policy: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let mac_len = macaroon.map_or(0, SecretBytes::len);
    if mac_len > MAX_MACAROON_LEN {
        return Err(VaultError::MacaroonTooLarge(mac_len));
    }
    let policy_len = policy.map_or(0, str::len);
    if policy_len > MAX_POLICY_LEN {
        return Err(VaultError::PolicyTooLarge(policy_len));
    }
    let mut buf = Zeroizing::new(Vec::with_capacity(PAD_TO + mac_len + policy_len + PAD_TO));
    buf.push(network.code());
    buf.extend_from_slice(&birthday_unix.to_be_bytes());
    buf.extend_from_slice(&root.master_parts()[..]);
    match seed {
        SeedInput::Aezeed {
            mnemonic,
            passphrase,
        } => {
            buf.push(SEED_KIND_AEZEED);
            push_field(&mut buf, mnemonic.expose().as_bytes())?;
            push_field(&mut buf, passphrase.expose().as_bytes())?;
        }
        SeedInput::Xprv(s) => {
            buf.push(SEED_KIND_XPRV);
            push_field(&mut buf, s.expose().as_bytes())?;
            push_field(&mut buf, &[])?;
        }
    }
    match macaroon {
        Some(m) => {
            buf.push(1);
            // mac_len ≤ MAX_MACAROON_LEN, so it fits in u32.
            buf.extend_from_slice(&(mac_len as u32).to_be_bytes());
            buf.extend_from_slice(m.expose());
        }
        None => buf.push(0),
    }
    // The signing policy (added to format 1 without a version change: a
    // vault without one ends in zero padding, which reads as "none").
    if let Some(p) = policy {
        buf.push(1);
        // policy_len ≤ MAX_POLICY_LEN, so it fits in u32.
        buf.extend_from_slice(&(policy_len as u32).to_be_bytes());
        buf.extend_from_slice(p.as_bytes());
    }
    let padded = buf.len().div_ceil(PAD_TO) * PAD_TO;
    buf.resize(padded, 0);
    Ok(buf)
}

/// Reads plaintext fields; any inconsistency means the sealed content is
/// malformed (it was authenticated, so only a buggy or hostile writer with
/// the passphrase could produce it).
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

const MALFORMED: VaultError = VaultError::Tampered("malformed sealed content");

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], VaultError> {
        let end = self.pos.checked_add(n).ok_or(MALFORMED)?;
        let out = self.data.get(self.pos..end).ok_or(MALFORMED)?;
        self.pos = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, VaultError> {
        Ok(self.take(1)?[0])
    }
    fn field(&mut self) -> Result<SecretString, VaultError> {
        let len = self.take(2)?;
        let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
        let bytes = self.take(len)?;
        let s = core::str::from_utf8(bytes).map_err(|_| MALFORMED)?;
        Ok(SecretString::from(s))
    }
}

fn decode_plaintext(data: &[u8]) -> Result<OpenedVault, VaultError> {
    let mut r = Reader { data, pos: 0 };
    let network = Network::from_code(r.u8()?).ok_or(MALFORMED)?;
    let mut b = [0u8; 8];
    b.copy_from_slice(r.take(8)?);
    let birthday_unix = u64::from_be_bytes(b);
    let mut parts = Zeroizing::new([0u8; 64]);
    parts.copy_from_slice(r.take(64)?);
    let root = RootKey::from_master_parts(&parts, network).map_err(|_| MALFORMED)?;
    let seed = match r.u8()? {
        SEED_KIND_AEZEED => {
            let mnemonic = r.field()?;
            let passphrase = r.field()?;
            SeedInput::Aezeed {
                mnemonic,
                passphrase,
            }
        }
        SEED_KIND_XPRV => {
            let s = r.field()?;
            if !r.field()?.is_empty() {
                return Err(MALFORMED);
            }
            SeedInput::Xprv(s)
        }
        _ => return Err(MALFORMED),
    };
    let macaroon = match r.u8()? {
        0 => None,
        1 => {
            let len = r.take(4)?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len > MAX_MACAROON_LEN {
                return Err(MALFORMED);
            }
            Some(SecretBytes::from_slice(r.take(len)?))
        }
        _ => return Err(MALFORMED),
    };
    // Zero padding follows unless a policy does (see encode_plaintext).
    let policy = match data.get(r.pos) {
        Some(1) => {
            r.pos += 1;
            let len = r.take(4)?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len > MAX_POLICY_LEN {
                return Err(MALFORMED);
            }
            let text = core::str::from_utf8(r.take(len)?).map_err(|_| MALFORMED)?;
            Some(text.to_owned())
        }
        _ => None,
    };
    if !data.len().is_multiple_of(PAD_TO) || data[r.pos..].iter().any(|&x| x != 0) {
        return Err(MALFORMED);
    }
    Ok(OpenedVault {
        seed,
        network,
        birthday_unix,
        macaroon,
        root,
        policy,
    })
}

/// Sealing without the KDF floor, for tests only: a vault sealed here can be
/// brute-forced cheaply. Nothing in the signer (CLI, JS API, page) calls
/// these; they exist so that tests and fuzzers can make many vaults
/// quickly. Opening is the same [`open`].
pub mod test_only_weak_kdf {
    use super::*;

    /// [`super::seal`] with any parameters [`open`] accepts.
    pub fn seal(
        seed: &SeedInput,
        network: Network,
        macaroon: Option<&SecretBytes>,
        passphrase: &[u8],
        params: KdfParams,
        entropy: &dyn Entropy,
    ) -> Result<Vec<u8>, VaultError> {
        let (root, birthday) = seed.to_root(network)?;
        seal_parts(
            seed, network, birthday, &root, macaroon, None, passphrase, params, entropy,
        )
    }

    /// [`super::reseal`] with any parameters [`open`] accepts.
    pub fn reseal(
        vault: &OpenedVault,
        passphrase: &[u8],
        params: KdfParams,
        entropy: &dyn Entropy,
    ) -> Result<Vec<u8>, VaultError> {
        seal_parts(
            &vault.seed,
            vault.network,
            vault.birthday_unix,
            &vault.root,
            vault.macaroon.as_ref(),
            vault.policy.as_deref(),
            passphrase,
            params,
            entropy,
        )
    }
}

/// Refuses parameters below [`KdfParams::SEAL_FLOOR`].
fn check_seal_floor(params: KdfParams) -> Result<(), VaultError> {
    if !params.is_acceptable() {
        return Err(VaultError::KdfParamsOutOfBounds(params));
    }
    if !params.meets_seal_floor() {
        return Err(VaultError::KdfBelowFloor(params));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn seal_parts(
    seed: &SeedInput,
    network: Network,
    birthday_unix: u64,
    root: &RootKey,
    macaroon: Option<&SecretBytes>,
    policy: Option<&str>,
    passphrase: &[u8],
    params: KdfParams,
    entropy: &dyn Entropy,
) -> Result<Vec<u8>, VaultError> {
    if !params.is_acceptable() {
        return Err(VaultError::KdfParamsOutOfBounds(params));
    }
    let mut plaintext = encode_plaintext(seed, network, birthday_unix, root, macaroon, policy)?;

    let mut salt = [0u8; SALT_LEN];
    fill(entropy, &mut salt)?;
    let mut nonce = [0u8; NONCE_LEN];
    fill(entropy, &mut nonce)?;

    let mut blob = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN + CHECKSUM_LEN);
    blob.extend_from_slice(&MAGIC);
    blob.push(FORMAT_VERSION);
    blob.push(KDF_ARGON2ID);
    blob.extend_from_slice(&params.m_cost_kib.to_be_bytes());
    blob.extend_from_slice(&params.t_cost.to_be_bytes());
    blob.extend_from_slice(&params.p_cost.to_be_bytes());
    blob.extend_from_slice(&salt);
    blob.extend_from_slice(&nonce);

    let keys = derive_keys(passphrase, &salt, params)?;
    let check = verifier(&keys[32..], &blob[..OFF_NONCE]);
    blob.extend_from_slice(&check);
    let ct_len = u32::try_from(plaintext.len() + TAG_LEN).map_err(|_| VaultError::SeedTooLong)?;
    blob.extend_from_slice(&ct_len.to_be_bytes());

    let cipher =
        Aes256Gcm::new_from_slice(&keys[..32]).map_err(|e| VaultError::Kdf(e.to_string()))?;
    let tag = cipher
        .encrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            &blob[..HEADER_LEN],
            &mut plaintext[..],
        )
        .map_err(|_| VaultError::Kdf("AES-GCM encryption failed".to_owned()))?;
    // `plaintext` now holds ciphertext.
    blob.extend_from_slice(&plaintext);
    blob.extend_from_slice(&tag);
    plaintext.zeroize();
    let sum = sha256::Hash::hash(&blob);
    blob.extend_from_slice(sum.as_byte_array());
    Ok(blob)
}

/// Seals `seed` for `network` (checked first: the seed must decode and give a
/// root key, which costs one aezeed scrypt) with an optional `macaroon`
/// under `passphrase`. `entropy` fills the salt and nonce. `params` must meet
/// [`KdfParams::SEAL_FLOOR`] ([`VaultError::KdfBelowFloor`] otherwise).
pub fn seal(
    seed: &SeedInput,
    network: Network,
    macaroon: Option<&SecretBytes>,
    passphrase: &[u8],
    params: KdfParams,
    entropy: &dyn Entropy,
) -> Result<Vec<u8>, VaultError> {
    check_seal_floor(params)?;
    test_only_weak_kdf::seal(seed, network, macaroon, passphrase, params, entropy)
}

/// Seals an opened vault again (e.g. with a new macaroon or passphrase)
/// without re-deriving the root from the seed. `params` must meet
/// [`KdfParams::SEAL_FLOOR`]; see [`KdfParams::for_reseal`] for a vault
/// that was sealed with cheaper ones.
pub fn reseal(
    vault: &OpenedVault,
    passphrase: &[u8],
    params: KdfParams,
    entropy: &dyn Entropy,
) -> Result<Vec<u8>, VaultError> {
    check_seal_floor(params)?;
    test_only_weak_kdf::reseal(vault, passphrase, params, entropy)
}

/// Fills `buf` from `entropy`; a failing source is [`VaultError::Randomness`].
fn fill(entropy: &dyn Entropy, buf: &mut [u8]) -> Result<(), VaultError> {
    entropy
        .try_fill_bytes(buf)
        .map_err(|e| VaultError::Randomness(e.0))
}

/// Fills `buf` from the operating system / browser (`crypto.getRandomValues`,
/// [`OsEntropy`]).
pub fn os_random(buf: &mut [u8]) -> Result<(), VaultError> {
    fill(&OsEntropy, buf)
}

/// [`seal`] with salt and nonce from [`OsEntropy`].
pub fn seal_with_os_rng(
    seed: &SeedInput,
    network: Network,
    macaroon: Option<&SecretBytes>,
    passphrase: &[u8],
    params: KdfParams,
) -> Result<Vec<u8>, VaultError> {
    seal(seed, network, macaroon, passphrase, params, &OsEntropy)
}

/// Checks length, magic, version and checksum; returns the header and the
/// ciphertext (with tag).
fn parse(blob: &[u8]) -> Result<(VaultHeader, &[u8]), VaultError> {
    let magic_len = blob.len().min(MAGIC.len());
    if blob[..magic_len] != MAGIC[..magic_len] {
        return Err(VaultError::BadMagic);
    }
    if blob.len() <= OFF_VERSION {
        return Err(VaultError::Truncated {
            len: blob.len(),
            need: HEADER_LEN + TAG_LEN + CHECKSUM_LEN,
        });
    }
    if blob[OFF_VERSION] != FORMAT_VERSION {
        return Err(VaultError::UnsupportedVersion(blob[OFF_VERSION]));
    }
    if blob.len() < HEADER_LEN {
        return Err(VaultError::Truncated {
            len: blob.len(),
            need: HEADER_LEN + TAG_LEN + CHECKSUM_LEN,
        });
    }
    let be32 =
        |off: usize| u32::from_be_bytes([blob[off], blob[off + 1], blob[off + 2], blob[off + 3]]);
    let ct_len = be32(OFF_CT_LEN) as usize;
    let total = HEADER_LEN
        .checked_add(ct_len)
        .and_then(|n| n.checked_add(CHECKSUM_LEN))
        .ok_or(VaultError::Tampered("impossible ciphertext length"))?;
    if blob.len() < total {
        return Err(VaultError::Truncated {
            len: blob.len(),
            need: total,
        });
    }
    if blob.len() > total {
        return Err(VaultError::Tampered("trailing bytes after the checksum"));
    }
    let body = &blob[..total - CHECKSUM_LEN];
    if !ct_eq(
        sha256::Hash::hash(body).as_byte_array(),
        &blob[total - CHECKSUM_LEN..],
    ) {
        return Err(VaultError::Tampered("checksum mismatch"));
    }
    if ct_len < TAG_LEN {
        return Err(VaultError::Tampered("ciphertext shorter than its tag"));
    }
    if blob[OFF_KDF] != KDF_ARGON2ID {
        return Err(VaultError::UnsupportedKdf(blob[OFF_KDF]));
    }
    let header = VaultHeader {
        version: blob[OFF_VERSION],
        kdf: KdfParams {
            m_cost_kib: be32(OFF_M),
            t_cost: be32(OFF_T),
            p_cost: be32(OFF_P),
        },
    };
    Ok((header, &blob[HEADER_LEN..total - CHECKSUM_LEN]))
}

/// Reads the public header (format version, KDF parameters) after the
/// structural and checksum checks, without the passphrase.
pub fn read_header(blob: &[u8]) -> Result<VaultHeader, VaultError> {
    parse(blob).map(|(h, _)| h)
}

/// Opens a vault. Errors, in order: [`VaultError::BadMagic`],
/// [`VaultError::UnsupportedVersion`], [`VaultError::Truncated`],
/// [`VaultError::Tampered`] (checksum), [`VaultError::UnsupportedKdf`],
/// [`VaultError::KdfParamsOutOfBounds`], [`VaultError::WrongPassphrase`]
/// (verifier), [`VaultError::Tampered`] (GCM tag or content). No partial
/// plaintext is ever returned.
pub fn open(blob: &[u8], passphrase: &[u8]) -> Result<OpenedVault, VaultError> {
    let (header, ciphertext) = parse(blob)?;
    if !header.kdf.is_acceptable() {
        return Err(VaultError::KdfParamsOutOfBounds(header.kdf));
    }
    let salt = &blob[OFF_SALT..OFF_NONCE];
    let keys = derive_keys(passphrase, salt, header.kdf)?;
    let check = verifier(&keys[32..], &blob[..OFF_NONCE]);
    if !ct_eq(&check, &blob[OFF_VERIFIER..OFF_CT_LEN]) {
        return Err(VaultError::WrongPassphrase);
    }
    let cipher =
        Aes256Gcm::new_from_slice(&keys[..32]).map_err(|e| VaultError::Kdf(e.to_string()))?;
    let (ct, tag) = ciphertext.split_at(ciphertext.len() - TAG_LEN);
    let mut buf = Zeroizing::new(ct.to_vec());
    cipher
        .decrypt_in_place_detached(
            Nonce::from_slice(&blob[OFF_NONCE..OFF_VERIFIER]),
            &blob[..HEADER_LEN],
            &mut buf[..],
            aes_gcm::Tag::from_slice(tag),
        )
        .map_err(|_| {
            VaultError::Tampered("authentication failed although the passphrase is right")
        })?;
    decode_plaintext(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ITEST_TPRV: &str = "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";
    const FAST: KdfParams = KdfParams {
        m_cost_kib: 64,
        t_cost: 1,
        p_cost: 1,
    };

    /// 1, 2, 3, … across draws.
    struct Counter(std::sync::atomic::AtomicU8);

    impl Entropy for Counter {
        fn fill_bytes(&self, buf: &mut [u8]) {
            for b in buf {
                *b = self
                    .0
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                    .wrapping_add(1);
            }
        }
    }

    fn counter_rng() -> Counter {
        Counter(0.into())
    }

    fn xprv_seed() -> SeedInput {
        SeedInput::Xprv(SecretString::from(ITEST_TPRV))
    }

    fn sealed(mac: Option<&SecretBytes>) -> Vec<u8> {
        test_only_weak_kdf::seal(
            &xprv_seed(),
            Network::Regtest,
            mac,
            b"pw",
            FAST,
            &counter_rng(),
        )
        .expect("seal")
    }

    #[test]
    fn round_trip_and_layout() {
        let mac = SecretBytes::from_slice(&[0xab; 300]);
        let blob = sealed(Some(&mac));
        assert_eq!(&blob[..8], b"LNDWSVLT");
        assert_eq!(blob[8], 1);
        assert_eq!(blob[9], 1);
        assert_eq!(&blob[10..14], &64u32.to_be_bytes());
        // counter rng: salt 1..=16, nonce 17..=28
        assert_eq!(blob[22], 1);
        assert_eq!(blob[38], 17);
        let ct_len = u32::from_be_bytes([blob[66], blob[67], blob[68], blob[69]]) as usize;
        assert_eq!(blob.len(), HEADER_LEN + ct_len + CHECKSUM_LEN);
        assert!((ct_len - TAG_LEN).is_multiple_of(PAD_TO));
        let v = open(&blob, b"pw").expect("open");
        assert_eq!(v.network, Network::Regtest);
        assert_eq!(
            v.birthday_unix,
            crate::keys::seed::XPRV_DEFAULT_BIRTHDAY_UNIX
        );
        assert_eq!(hex::encode(v.root.master_fingerprint()), "a2e4cfba");
        assert_eq!(
            v.macaroon.as_ref().map(|m| m.expose().to_vec()),
            Some(vec![0xab; 300])
        );
        match &v.seed {
            SeedInput::Xprv(s) => assert_eq!(s.expose(), ITEST_TPRV),
            SeedInput::Aezeed { .. } => panic!("expected xprv"),
        }
        let dbg = format!("{v:?}");
        assert!(
            !dbg.contains("tprv8") && dbg.contains("[redacted]"),
            "{dbg}"
        );
        assert_eq!(read_header(&blob).expect("header").kdf, FAST);
    }

    #[test]
    fn reseal_changes_passphrase_and_macaroon() {
        let mut v = open(&sealed(None), b"pw").expect("open");
        assert!(v.macaroon.is_none());
        v.macaroon = Some(SecretBytes::from_slice(b"mac"));
        let blob = test_only_weak_kdf::reseal(&v, b"new", FAST, &counter_rng()).expect("reseal");
        assert!(matches!(
            open(&blob, b"pw"),
            Err(VaultError::WrongPassphrase)
        ));
        let w = open(&blob, b"new").expect("open");
        assert_eq!(
            w.macaroon.as_ref().map(SecretBytes::expose),
            Some(&b"mac"[..])
        );
        assert_eq!(w.root.master_fingerprint(), v.root.master_fingerprint());
    }

    #[test]
    fn policy_is_sealed_kept_by_reseal_and_bounded() {
        let mut v = open(&sealed(Some(&SecretBytes::from_slice(b"mac"))), b"pw").expect("open");
        assert_eq!(v.policy, None, "a vault sealed without a policy has none");
        let policy = r#"{"onchain":{"max_external_per_tx":1000}}"#;
        v.policy = Some(policy.to_owned());
        let blob = test_only_weak_kdf::reseal(&v, b"pw", FAST, &counter_rng()).expect("reseal");
        let mut w = open(&blob, b"pw").expect("open");
        assert_eq!(w.policy.as_deref(), Some(policy));
        assert_eq!(
            w.macaroon.as_ref().map(SecretBytes::expose),
            Some(&b"mac"[..])
        );
        assert!(
            !format!("{w:?}").contains("max_external"),
            "Debug shows only its length"
        );
        // A reseal for another reason (a new macaroon) keeps it.
        w.macaroon = None;
        let blob = test_only_weak_kdf::reseal(&w, b"pw", FAST, &counter_rng()).expect("reseal");
        assert_eq!(
            open(&blob, b"pw").expect("open").policy.as_deref(),
            Some(policy)
        );
        // Every padding length: the policy byte right at a 256-byte boundary.
        for n in 0..300 {
            w.policy = Some("x".repeat(n));
            let blob = test_only_weak_kdf::reseal(&w, b"pw", FAST, &counter_rng()).expect("reseal");
            assert_eq!(
                open(&blob, b"pw").expect("open").policy.map(|p| p.len()),
                Some(n)
            );
        }
        w.policy = Some("x".repeat(MAX_POLICY_LEN + 1));
        assert!(matches!(
            test_only_weak_kdf::reseal(&w, b"pw", FAST, &counter_rng()),
            Err(VaultError::PolicyTooLarge(_))
        ));
    }

    #[test]
    fn wrong_passphrase() {
        let err = open(&sealed(None), b"nope").expect_err("wrong");
        assert!(matches!(err, VaultError::WrongPassphrase));
        assert_eq!(err.to_string(), "wrong passphrase");
    }

    /// Rewrites the trailing checksum so the change reaches the later checks.
    fn fix_checksum(blob: &mut [u8]) {
        let n = blob.len() - CHECKSUM_LEN;
        let sum = sha256::Hash::hash(&blob[..n]);
        blob[n..].copy_from_slice(sum.as_byte_array());
    }

    #[test]
    fn tampering_is_detected_everywhere() {
        let blob = sealed(None);
        for i in 0..blob.len() {
            let mut t = blob.clone();
            t[i] ^= 0x01;
            let res = open(&t, b"pw");
            assert!(res.is_err(), "flip at byte {i} was accepted");
        }
        // Plain modification (checksum not updated) is reported as tampering
        // before any passphrase work, whatever the passphrase.
        let mut t = blob.clone();
        t[HEADER_LEN + 3] ^= 0x80;
        assert!(matches!(
            open(&t, b"wrong"),
            Err(VaultError::Tampered("checksum mismatch"))
        ));
        // Ciphertext modified with a recomputed checksum: passphrase verifies,
        // GCM does not.
        fix_checksum(&mut t);
        let err = open(&t, b"pw").expect_err("tampered");
        assert!(matches!(err, VaultError::Tampered(_)), "{err}");
        assert!(err
            .to_string()
            .starts_with("vault is corrupted or was modified"));
        // Nonce modified (header, not covered by the verifier): GCM fails.
        let mut t = blob.clone();
        t[OFF_NONCE] ^= 1;
        fix_checksum(&mut t);
        assert!(matches!(open(&t, b"pw"), Err(VaultError::Tampered(_))));
        // Salt modified: the key changes, indistinguishable from a wrong passphrase.
        let mut t = blob.clone();
        t[OFF_SALT] ^= 1;
        fix_checksum(&mut t);
        assert!(matches!(open(&t, b"pw"), Err(VaultError::WrongPassphrase)));
    }

    #[test]
    fn structural_errors() {
        let blob = sealed(None);
        assert!(matches!(
            open(b"", b"pw"),
            Err(VaultError::Truncated { len: 0, .. })
        ));
        assert!(matches!(
            open(&blob[..5], b"pw"),
            Err(VaultError::Truncated { .. })
        ));
        assert!(matches!(
            open(&blob[..40], b"pw"),
            Err(VaultError::Truncated { .. })
        ));
        assert!(matches!(
            open(&blob[..blob.len() - 1], b"pw"),
            Err(VaultError::Truncated { .. })
        ));
        let mut long = blob.clone();
        long.push(0);
        assert!(matches!(open(&long, b"pw"), Err(VaultError::Tampered(_))));
        assert!(matches!(
            open(b"PK\x03\x04 zip", b"pw"),
            Err(VaultError::BadMagic)
        ));
        let mut v2 = blob.clone();
        v2[OFF_VERSION] = 2;
        let err = open(&v2, b"pw").expect_err("version");
        assert!(matches!(err, VaultError::UnsupportedVersion(2)));
        assert_eq!(
            err.to_string(),
            "unsupported vault format version 2 (this build reads version 1)"
        );
        let mut kdf = blob.clone();
        kdf[OFF_KDF] = 9;
        fix_checksum(&mut kdf);
        assert!(matches!(
            open(&kdf, b"pw"),
            Err(VaultError::UnsupportedKdf(9))
        ));
    }

    #[test]
    fn hostile_kdf_params_are_refused_before_work() {
        let blob = sealed(None);
        for (off, value) in [
            (OFF_M, u32::MAX),
            (OFF_M, KdfParams::MAX_M_COST_KIB + 1),
            (OFF_T, 1000),
            (OFF_T, 0),
            (OFF_P, 0),
            (OFF_P, 64),
            (OFF_M, 4),
        ] {
            let mut t = blob.clone();
            t[off..off + 4].copy_from_slice(&value.to_be_bytes());
            fix_checksum(&mut t);
            let err = open(&t, b"pw").expect_err("hostile params");
            assert!(matches!(err, VaultError::KdfParamsOutOfBounds(_)), "{err}");
        }
        // Within each bound but too much work in total.
        let p = KdfParams {
            m_cost_kib: KdfParams::MAX_M_COST_KIB,
            t_cost: KdfParams::MAX_T_COST,
            p_cost: 1,
        };
        assert!(!p.is_acceptable());
        assert!(KdfParams::DEFAULT.is_acceptable());
        assert!(matches!(
            seal(
                &xprv_seed(),
                Network::Regtest,
                None,
                b"pw",
                p,
                &counter_rng()
            ),
            Err(VaultError::KdfParamsOutOfBounds(_))
        ));
    }

    #[test]
    fn seal_validates_the_seed() {
        let err = test_only_weak_kdf::seal(
            &xprv_seed(),
            Network::Mainnet,
            None,
            b"pw",
            FAST,
            &counter_rng(),
        )
        .expect_err("network mismatch");
        assert_eq!(
            err.to_string(),
            "tprv key is for test networks but the network is mainnet"
        );
        let big = SecretBytes::new(vec![0; MAX_MACAROON_LEN + 1]);
        assert!(matches!(
            test_only_weak_kdf::seal(
                &xprv_seed(),
                Network::Regtest,
                Some(&big),
                b"pw",
                FAST,
                &counter_rng()
            ),
            Err(VaultError::MacaroonTooLarge(_))
        ));
    }

    #[test]
    fn different_randomness_gives_different_blobs() {
        let floor = KdfParams::SEAL_FLOOR;
        let a = seal_with_os_rng(&xprv_seed(), Network::Regtest, None, b"pw", floor).expect("a");
        let b = seal_with_os_rng(&xprv_seed(), Network::Regtest, None, b"pw", floor).expect("b");
        assert_ne!(a, b);
        assert_eq!(a.len(), b.len());
        assert!(open(&a, b"pw").is_ok() && open(&b, b"pw").is_ok());
    }

    #[test]
    fn aezeed_seed_round_trip() {
        use crate::keys::aezeed::{CipherSeed, ScryptParams};
        let words = CipherSeed::new(1, 6000, [9; 16], *b"salty")
            .to_mnemonic_with(b"seedpw", ScryptParams::PRODUCTION)
            .expect("mnemonic")
            .phrase();
        let seed = SeedInput::parse_seed_file(&words, Some("seedpw")).expect("seed");
        let blob = test_only_weak_kdf::seal(
            &seed,
            Network::Testnet4,
            None,
            "pässword".as_bytes(),
            FAST,
            &counter_rng(),
        )
        .expect("seal");
        let v = open(&blob, "pässword".as_bytes()).expect("open");
        assert_eq!(v.network, Network::Testnet4);
        assert_eq!(v.birthday_unix, 1_231_006_505 + 6000 * 86_400);
        let want = RootKey::from_seed_entropy(&[9; 16], Network::Testnet4).expect("root");
        assert_eq!(v.root.master_fingerprint(), want.master_fingerprint());
        match &v.seed {
            SeedInput::Aezeed {
                mnemonic,
                passphrase,
            } => {
                assert_eq!(mnemonic.expose(), words);
                assert_eq!(passphrase.expose(), "seedpw");
            }
            SeedInput::Xprv(_) => panic!("expected aezeed"),
        }
    }

    #[test]
    fn default_params_round_trip() {
        let blob = seal(
            &xprv_seed(),
            Network::Regtest,
            None,
            b"pw",
            KdfParams::DEFAULT,
            &counter_rng(),
        )
        .expect("seal");
        assert_eq!(read_header(&blob).expect("header").kdf, KdfParams::DEFAULT);
        assert!(open(&blob, b"pw").is_ok());
    }

    #[test]
    fn sealing_below_the_kdf_floor_is_refused() {
        // sealVault and re-sealing accepted anything down to 8 KiB / t = 1
        // (docs/vault-format.md, KDF floor). Below OWASP's Argon2id minimum: refused.
        let floor = KdfParams::SEAL_FLOOR;
        for weak in [
            FAST,
            KdfParams {
                m_cost_kib: 8,
                ..floor
            },
            KdfParams {
                m_cost_kib: floor.m_cost_kib - 1,
                ..floor
            },
            KdfParams { t_cost: 1, ..floor },
            KdfParams {
                t_cost: 1,
                ..KdfParams::DEFAULT
            },
        ] {
            let err = seal(
                &xprv_seed(),
                Network::Regtest,
                None,
                b"pw",
                weak,
                &counter_rng(),
            )
            .expect_err("below the floor");
            assert!(
                matches!(err, VaultError::KdfBelowFloor(p) if p == weak),
                "{err}"
            );
            assert!(matches!(
                seal_with_os_rng(&xprv_seed(), Network::Regtest, None, b"pw", weak),
                Err(VaultError::KdfBelowFloor(_))
            ));
        }
        let err = seal(
            &xprv_seed(),
            Network::Regtest,
            None,
            b"pw",
            FAST,
            &counter_rng(),
        )
        .expect_err("weak");
        assert_eq!(
            err.to_string(),
            "vault key derivation parameters below the sealing floor (m = 64 KiB, t = 1; at least m = 19456 KiB and t = 2, OWASP's Argon2id minimum)"
        );
        // Re-sealing too; a weak vault still opens and re-seals at the default.
        let weak_vault = open(&sealed(None), b"pw").expect("a cheap old vault opens");
        assert!(matches!(
            reseal(&weak_vault, b"pw", FAST, &counter_rng()),
            Err(VaultError::KdfBelowFloor(_))
        ));
        assert_eq!(FAST.for_reseal(), KdfParams::DEFAULT);
        assert_eq!(floor.for_reseal(), floor);
        // Out of the upper bounds stays its own error.
        let huge = KdfParams {
            m_cost_kib: u32::MAX,
            ..floor
        };
        assert!(matches!(
            seal(
                &xprv_seed(),
                Network::Regtest,
                None,
                b"pw",
                huge,
                &counter_rng()
            ),
            Err(VaultError::KdfParamsOutOfBounds(_))
        ));
        // At the floor: sealed, and opens.
        let blob = seal(
            &xprv_seed(),
            Network::Regtest,
            None,
            b"pw",
            floor,
            &counter_rng(),
        )
        .expect("the floor itself is accepted");
        assert_eq!(read_header(&blob).expect("header").kdf, floor);
        let v = open(&blob, b"pw").expect("open");
        let again = reseal(&v, b"pw2", floor, &counter_rng()).expect("reseal at the floor");
        assert!(open(&again, b"pw2").is_ok());
        assert!(KdfParams::DEFAULT.meets_seal_floor());
    }
}
