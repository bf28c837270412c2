//! `SignPsbt` (spec/signing.md §3): lnd's per-input PSBT signer.
//!
//! The packet is parsed and re-serialised with rust-bitcoin's [`Psbt`]; every
//! field it received is kept and only signatures are added. Two facts lnd's
//! parser keeps but rust-bitcoin's maps do not — the *wire order* of the
//! input's `PSBT_IN_BIP32_DERIVATION` entries (lnd uses the first) and of the
//! unknown tweak fields `0x51`/`0xd0` (lnd applies the first) — are read by a
//! small scan over the already validated key-value framing ([`wire_scan`]).
//!
//! Differences from lnd, all on packets lnd's own node never builds:
//! * duplicate keys are rejected even for unknown types with different
//!   values (BIP-174 forbids them; btcd only rejects exact repeats);
//! * partial signatures already in the packet must use a standard sighash
//!   byte (rust-bitcoin's parser; btcd accepts any);
//! * the global map, the outputs and unsigned inputs come back byte for byte as
//!   received; a signed input is written in rust-bitcoin's canonical order,
//!   which equals btcd's except for preimage (0x0a–0x0d) and proprietary
//!   (0xfc) fields and several unknown fields (btcd keeps those in wire order
//!   at the end);
//! * a tweak that yields the zero key, or a zero double-tweak secret, is an
//!   error instead of a meaningless signature;
//! * a non-witness UTXO without the spent output index is an error (lnd
//!   would crash on it).

use bitcoin::consensus::encode::VarInt;
use bitcoin::consensus::Decodable;
use bitcoin::hashes::{sha256d, Hash};
use bitcoin::psbt::{raw, Input, Psbt};
use bitcoin::secp256k1::{Keypair, Message, PublicKey, SecretKey, SECP256K1};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::taproot::{TapLeafHash, TapNodeHash};
use bitcoin::{ecdsa, taproot, Transaction, TxOut};

use super::keyloc::{derive_psbt_path, PsbtPathError};
use super::taproot_tweak_keypair;
use super::tweak::{double_tweak, single_tweak, TweakError};
use crate::entropy::Entropy;
use crate::keys::RootKey;

/// Unknown input key type of lnd's single tweak ("si").
pub const TWEAK_SINGLE: u8 = 0x51;
/// Unknown input key type of lnd's double tweak ("do").
pub const TWEAK_DOUBLE: u8 = 0xd0;

const PSBT_IN_PARTIAL_SIG: u8 = 0x02;
const PSBT_IN_BIP32_DERIVATION: u8 = 0x06;
const PSBT_IN_TAP_MERKLE_ROOT: u8 = 0x18;

/// A request lnd rejects as a whole.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignPsbtError {
    /// Not a valid BIP-174 version-0 packet.
    #[error("error parsing PSBT: {0}")]
    Parse(String),
    /// An input carries neither `WITNESS_UTXO` nor `NON_WITNESS_UTXO`.
    #[error("input (index={0}) doesn't specify any UTXO info")]
    MissingUtxo(usize),
    /// The unsigned transaction has no inputs.
    #[error("error signing PSBT: PSBT packet must contain at least one input")]
    NoInputs,
    /// The unsigned transaction has no outputs.
    #[error("error signing PSBT: PSBT packet must contain at least one output")]
    NoOutputs,
    /// A signable input failed (sign-method detection or signing).
    #[error("error signing PSBT: input {index}: {error}")]
    Input {
        /// Input index.
        index: usize,
        /// What went wrong.
        error: InputError,
    },
}

/// Why a signable input makes the whole request fail.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// P2PKH spends cannot be signed by this path.
    #[error("unsupported script class for signing PSBT: pubkeyhash")]
    PubKeyHash,
    /// Any other script that is not P2WKH, P2SH, P2WSH or P2TR.
    #[error("error detecting signing method, couldn't parse pkScript: unsupported script type")]
    UnsupportedScript,
    /// Taproot input without a `PSBT_IN_TAP_BIP32_DERIVATION` entry.
    #[error("cannot sign for taproot input without taproot BIP0032 derivation info")]
    NoTaprootDerivation,
    /// More than one `PSBT_IN_TAP_BIP32_DERIVATION` entry.
    #[error(
        "unsupported multiple taproot BIP0032 derivation info found, can only sign for one at a time"
    )]
    MultipleTaprootDerivations,
    /// `PSBT_IN_TAP_MERKLE_ROOT` is not 32 bytes.
    #[error("invalid taproot merkle root length, got {0} expected 32")]
    MerkleRootLength(usize),
    /// One leaf hash but not exactly one leaf script.
    #[error("specified leaf hash in taproot BIP0032 derivation but missing taproot leaf script")]
    MissingLeafScript,
    /// The leaf script does not hash to the leaf hash.
    #[error(
        "specified leaf hash in taproot BIP0032 derivation but corresponding taproot leaf \
         script was not found"
    )]
    LeafHashMismatch,
    /// More than one leaf hash.
    #[error(
        "unsupported number of leaf hashes in taproot BIP0032 derivation info, can only sign \
         for one at a time"
    )]
    MultipleLeafHashes,
    /// The tweak from the unknown fields cannot be applied.
    #[error("{0}")]
    Tweak(#[from] TweakError),
    /// `PSBT_IN_SIGHASH_TYPE` is not a BIP-341 sighash type.
    #[error("error signing taproot input: invalid taproot sighash type {0:#x}")]
    TaprootSighashType(u32),
    /// A `NON_WITNESS_UTXO` lacks the output the input spends.
    #[error("non-witness UTXO has no output {vout} (it has {len} outputs)")]
    PrevoutIndex {
        /// The spent output index.
        vout: u32,
        /// Number of outputs of the non-witness UTXO.
        len: usize,
    },
    /// The sighash could not be computed (e.g. SINGLE without matching output for taproot).
    #[error("error computing sighash: {0}")]
    Sighash(String),
    /// The BIP-341 key tweak gives an invalid key (probability ~2^-128).
    #[error("error signing taproot input: the taproot tweak gives an invalid key")]
    TapTweak,
}

/// Why an input was skipped (not an error: lnd logs these and goes on).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// No `WITNESS_UTXO`.
    NoWitnessUtxo,
    /// `FINAL_SCRIPTWITNESS` present.
    AlreadyFinalized,
    /// No `BIP32_DERIVATION` entry.
    NoBip32Derivation,
    /// The path of the first entry cannot be derived.
    Path(PsbtPathError),
    /// The derived key is not the entry's public key.
    PubkeyMismatch,
}

impl core::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SkipReason::NoWitnessUtxo => f.write_str("no witness UTXO"),
            SkipReason::AlreadyFinalized => f.write_str("already has final witness data"),
            SkipReason::NoBip32Derivation => f.write_str("no BIP32 derivation info"),
            SkipReason::Path(e) => write!(f, "error deriving signing key: {e}"),
            SkipReason::PubkeyMismatch => {
                f.write_str("derived public key does not match bip32 derivation info public key")
            }
        }
    }
}

/// Result of [`sign_psbt`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedPsbt {
    /// The complete packet with the new signatures (binary, version 0).
    pub psbt: Vec<u8>,
    /// Indices of the inputs signed now, ascending.
    pub signed_inputs: Vec<u32>,
    /// Inputs that were not signed and why (for logs; lnd only logs these).
    pub skipped: Vec<(u32, SkipReason)>,
}

/// What lnd's parser keeps and rust-bitcoin's maps do not, per input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InputWireInfo {
    /// Key data (the public key bytes) of the first `BIP32_DERIVATION` entry.
    pub first_bip32_pubkey: Option<Vec<u8>>,
    /// The first unknown field whose key is exactly `0x51` or `0xd0`: (type, value).
    pub first_tweak: Option<(u8, Vec<u8>)>,
    /// Length of the `TAP_MERKLE_ROOT` value, if present.
    pub merkle_root_len: Option<usize>,
}

/// The key-value framing of a PSBT: `(key type, key data, value)` per map, in
/// wire order (global map first, then one map per input and per output).
pub mod wire_scan {
    use super::*;

    /// One key-value pair.
    pub type Pair<'a> = (u8, &'a [u8], &'a [u8]);

    pub(super) fn read_len(r: &mut &[u8]) -> Result<usize, String> {
        let VarInt(n) = VarInt::consensus_decode(r).map_err(|e| e.to_string())?;
        let n = usize::try_from(n).map_err(|_| "length too large".to_owned())?;
        if n > r.len() {
            return Err("truncated key or value".to_owned());
        }
        Ok(n)
    }

    pub(super) fn take<'a>(r: &mut &'a [u8], n: usize) -> &'a [u8] {
        let (head, tail) = r.split_at(n);
        *r = tail;
        head
    }

    /// Splits a binary PSBT into its maps (stops at the end of the data).
    pub fn maps(raw: &[u8]) -> Result<Vec<Vec<Pair<'_>>>, String> {
        let mut r = raw
            .strip_prefix(b"psbt\xff")
            .ok_or_else(|| "invalid magic".to_owned())?;
        let mut maps = Vec::new();
        while !r.is_empty() {
            let mut map = Vec::new();
            loop {
                let key_len = read_len(&mut r)?;
                if key_len == 0 {
                    break;
                }
                let key = take(&mut r, key_len);
                let value_len = read_len(&mut r)?;
                let value = take(&mut r, value_len);
                map.push((key[0], &key[1..], value));
            }
            maps.push(map);
        }
        Ok(maps)
    }

    /// Per-input wire facts for a packet whose unsigned tx has `inputs` inputs.
    pub fn inputs(raw: &[u8], inputs: usize) -> Result<Vec<InputWireInfo>, String> {
        let maps = maps(raw)?;
        if maps.len() < 1 + inputs {
            return Err("fewer input maps than transaction inputs".to_owned());
        }
        Ok(maps[1..=inputs]
            .iter()
            .map(|map| {
                let mut info = InputWireInfo::default();
                for &(ty, key, value) in map {
                    match ty {
                        PSBT_IN_BIP32_DERIVATION if info.first_bip32_pubkey.is_none() => {
                            info.first_bip32_pubkey = Some(key.to_vec());
                        }
                        TWEAK_SINGLE | TWEAK_DOUBLE
                            if key.is_empty() && info.first_tweak.is_none() =>
                        {
                            info.first_tweak = Some((ty, value.to_vec()));
                        }
                        PSBT_IN_TAP_MERKLE_ROOT if key.is_empty() => {
                            info.merkle_root_len = Some(value.len());
                        }
                        _ => {}
                    }
                }
                info
            })
            .collect())
    }

    /// Byte ranges of the first `count` maps (each with its 0x00 terminator),
    /// after the 5-byte magic.
    pub fn map_ranges(raw: &[u8], count: usize) -> Result<Vec<core::ops::Range<usize>>, String> {
        let mut r = raw
            .strip_prefix(b"psbt\xff")
            .ok_or_else(|| "invalid magic".to_owned())?;
        let mut ranges = Vec::with_capacity(count);
        let mut start = 5;
        for _ in 0..count {
            let before = r.len();
            loop {
                let key_len = read_len(&mut r)?;
                if key_len == 0 {
                    break;
                }
                take(&mut r, key_len);
                let value_len = read_len(&mut r)?;
                take(&mut r, value_len);
            }
            let end = start + (before - r.len());
            ranges.push(start..end);
            start = end;
        }
        Ok(ranges)
    }

    /// Number of inputs of the unsigned transaction in the global map.
    pub fn unsigned_tx_inputs(raw: &[u8]) -> Option<usize> {
        let maps = maps(raw).ok()?;
        let &(_, _, value) = maps
            .first()?
            .iter()
            .find(|(ty, key, _)| *ty == 0 && key.is_empty())?;
        let tx: Transaction = bitcoin::consensus::deserialize(value).ok()?;
        Some(tx.input.len())
    }
}

/// Key type of `PSBT_IN_FINAL_SCRIPTWITNESS`.
const PSBT_IN_FINAL_SCRIPTWITNESS: u8 = 0x08;

/// Parses a binary version-0 packet as `SignPsbt` does. When rust-bitcoin
/// rejects it, two cases that lnd's parser accepts are handled as lnd does:
///
/// * a merkle root that is not 32 bytes: lnd's signer rejects it with its own
///   message, reported here;
/// * a `FINAL_SCRIPTWITNESS` value that is not a well-formed witness: btcd's
///   parser keeps the value as opaque bytes and lnd's signer skips every
///   input that has one. lnd's own watch-only node sends such values: its
///   `packetFromTx` (rpcwallet, used for every taproot input of a
///   transaction whose other inputs are already signed) gives all signed
///   inputs slices of one reused buffer, so each carries the bytes of the
///   last witness cut to its own length. Those inputs count as finalized
///   here too and come back byte for byte.
pub fn parse(raw: &[u8]) -> Result<Psbt, SignPsbtError> {
    match Psbt::deserialize(raw) {
        Ok(p) => Ok(p),
        Err(e) => {
            if let Some(n) = wire_scan::unsigned_tx_inputs(raw) {
                if let Ok(infos) = wire_scan::inputs(raw, n) {
                    for (index, info) in infos.iter().enumerate() {
                        if let Some(len) = info.merkle_root_len.filter(|&l| l != 32) {
                            return Err(SignPsbtError::Input {
                                index,
                                error: InputError::MerkleRootLength(len),
                            });
                        }
                    }
                }
                if let Some(p) = parse_with_opaque_final_witnesses(raw, n) {
                    return Ok(p);
                }
            }
            Err(SignPsbtError::Parse(e.to_string()))
        }
    }
}

/// [`parse`] for a packet whose only defect is final witnesses that do not
/// decode: parses it without them and marks those inputs finalized (an
/// empty witness; [`splice`] returns their bytes as received). `None` if
/// there is no such witness or the packet still does not parse.
fn parse_with_opaque_final_witnesses(raw: &[u8], inputs: usize) -> Option<Psbt> {
    let ranges = wire_scan::map_ranges(raw, 1 + inputs).ok()?;
    let mut opaque = Vec::new();
    let mut cleaned = Vec::with_capacity(raw.len());
    cleaned.extend_from_slice(&raw[..5]);
    for (map_index, range) in ranges.iter().enumerate() {
        let mut r = &raw[range.clone()];
        loop {
            let start = r;
            let key_len = wire_scan::read_len(&mut r).ok()?;
            if key_len == 0 {
                cleaned.push(0);
                break;
            }
            let key = wire_scan::take(&mut r, key_len);
            let value_len = wire_scan::read_len(&mut r).ok()?;
            let value = wire_scan::take(&mut r, value_len);
            let pair = &start[..start.len() - r.len()];
            let is_bad_witness = map_index >= 1
                && key == [PSBT_IN_FINAL_SCRIPTWITNESS]
                && bitcoin::consensus::deserialize::<bitcoin::Witness>(value).is_err();
            if is_bad_witness {
                opaque.push(map_index - 1);
            } else {
                cleaned.extend_from_slice(pair);
            }
        }
    }
    if opaque.is_empty() {
        return None;
    }
    cleaned.extend_from_slice(&raw[ranges.last()?.end..]);
    let mut psbt = Psbt::deserialize(&cleaned).ok()?;
    for index in opaque {
        psbt.inputs.get_mut(index)?.final_script_witness = Some(bitcoin::Witness::new());
    }
    Some(psbt)
}

/// How an input is signed (lnd's `validateSigningMethod`).
enum SignMethod {
    /// P2WKH, NP2WKH, P2WSH.
    WitnessV0,
    /// P2TR key spend; `None` = BIP-86, `Some` = with script root.
    TaprootKeySpend(Option<TapNodeHash>),
    /// P2TR script spend: leaf hash and the x-only key of the 0x16 entry.
    TaprootScriptSpend {
        leaf_hash: TapLeafHash,
        xonly: bitcoin::secp256k1::XOnlyPublicKey,
    },
}

fn sign_method(input: &Input, pk_script: &bitcoin::Script) -> Result<SignMethod, InputError> {
    if pk_script.is_p2wpkh() || pk_script.is_p2sh() || pk_script.is_p2wsh() {
        return Ok(SignMethod::WitnessV0);
    }
    if pk_script.is_p2pkh() {
        return Err(InputError::PubKeyHash);
    }
    if !pk_script.is_p2tr() {
        return Err(InputError::UnsupportedScript);
    }
    let mut origins = input.tap_key_origins.iter();
    let (xonly, (leaf_hashes, _)) = match (origins.next(), origins.next()) {
        (None, _) => return Err(InputError::NoTaprootDerivation),
        (Some(_), Some(_)) => return Err(InputError::MultipleTaprootDerivations),
        (Some(entry), None) => entry,
    };
    match leaf_hashes.as_slice() {
        [] => Ok(SignMethod::TaprootKeySpend(input.tap_merkle_root)),
        [leaf_hash] => {
            if input.tap_scripts.len() != 1 {
                return Err(InputError::MissingLeafScript);
            }
            let (script, version) = input
                .tap_scripts
                .values()
                .next()
                .ok_or(InputError::MissingLeafScript)?;
            if TapLeafHash::from_script(script, *version) != *leaf_hash {
                return Err(InputError::LeafHashMismatch);
            }
            Ok(SignMethod::TaprootScriptSpend {
                leaf_hash: *leaf_hash,
                xonly: *xonly,
            })
        }
        _ => Err(InputError::MultipleLeafHashes),
    }
}

/// The spent outputs lnd's prevout fetcher sees: `NON_WITNESS_UTXO.vout[prevout]`
/// when present, else `WITNESS_UTXO`.
fn prevouts(psbt: &Psbt) -> Result<Vec<TxOut>, SignPsbtError> {
    psbt.unsigned_tx
        .input
        .iter()
        .zip(&psbt.inputs)
        .enumerate()
        .map(|(index, (txin, input))| {
            if let Some(prev_tx) = &input.non_witness_utxo {
                let vout = txin.previous_output.vout;
                prev_tx
                    .output
                    .get(vout as usize)
                    .cloned()
                    .ok_or(SignPsbtError::Input {
                        index,
                        error: InputError::PrevoutIndex {
                            vout,
                            len: prev_tx.output.len(),
                        },
                    })
            } else {
                input
                    .witness_utxo
                    .clone()
                    .ok_or(SignPsbtError::MissingUtxo(index))
            }
        })
        .collect()
}

/// BIP-143 digest for a raw 32-bit sighash type (lnd signs `PSBT_IN_SIGHASH_TYPE`
/// as is, 0 when absent). The semantics follow the consensus masking
/// (`& 0x1f` for NONE/SINGLE, `& 0x80` for ANYONECANPAY); the preimage carries
/// the raw value.
fn segwit_v0_digest(
    cache: &mut SighashCache<&Transaction>,
    index: usize,
    script_code: &bitcoin::Script,
    value: bitcoin::Amount,
    sighash_type: u32,
) -> Result<[u8; 32], InputError> {
    let mut preimage = Vec::with_capacity(256);
    cache
        .segwit_v0_encode_signing_data_to(
            &mut preimage,
            index,
            script_code,
            value,
            EcdsaSighashType::from_consensus(sighash_type),
        )
        .map_err(|e| InputError::Sighash(e.to_string()))?;
    let len = preimage.len();
    preimage[len - 4..].copy_from_slice(&sighash_type.to_le_bytes());
    Ok(sha256d::Hash::hash(&preimage).to_byte_array())
}

/// Adds `DER ‖ sighash byte` as `PARTIAL_SIG` for `pubkey`. A non-standard
/// sighash byte (e.g. 0 when the packet has no sighash type) cannot be held by
/// rust-bitcoin's typed map; it goes in as a raw 0x02 pair (same bytes on the wire).
fn put_partial_sig(
    input: &mut Input,
    pubkey: PublicKey,
    signature: bitcoin::secp256k1::ecdsa::Signature,
    sighash_byte: u8,
) {
    let key = bitcoin::PublicKey::new(pubkey);
    let raw_key = raw::Key {
        type_value: PSBT_IN_PARTIAL_SIG,
        key: pubkey.serialize().to_vec(),
    };
    match EcdsaSighashType::from_standard(u32::from(sighash_byte)) {
        Ok(sighash_type) => {
            input.unknown.remove(&raw_key);
            input.partial_sigs.insert(
                key,
                ecdsa::Signature {
                    signature,
                    sighash_type,
                },
            );
        }
        Err(_) => {
            input.partial_sigs.remove(&key);
            let mut value = signature.serialize_der().to_vec();
            value.push(sighash_byte);
            input.unknown.insert(raw_key, value);
        }
    }
}

fn taproot_sighash_type(raw: u32) -> Result<TapSighashType, InputError> {
    u8::try_from(raw)
        .ok()
        .and_then(|b| TapSighashType::from_consensus_u8(b).ok())
        .ok_or(InputError::TaprootSighashType(raw))
}

fn schnorr_sign(
    keypair: &Keypair,
    digest: [u8; 32],
    entropy: &dyn Entropy,
) -> bitcoin::secp256k1::schnorr::Signature {
    let mut aux = [0u8; 32];
    entropy.fill_bytes(&mut aux);
    SECP256K1.sign_schnorr_with_aux_rand(&Message::from_digest(digest), keypair, &aux)
}

/// BIP-143 digest lnd signs for a SegWit v0 input: `subscript` is lnd's
/// script source (redeem script, else witness script, else the UTXO script);
/// a P2WKH program yields the P2PKH scriptCode; `sighash_type` is the raw
/// `PSBT_IN_SIGHASH_TYPE` value (0 when absent).
pub fn segwit_v0_sighash(
    tx: &Transaction,
    index: usize,
    subscript: &bitcoin::Script,
    value: bitcoin::Amount,
    sighash_type: u32,
) -> Result<[u8; 32], InputError> {
    let script_code = subscript
        .p2wpkh_script_code()
        .unwrap_or_else(|| subscript.to_owned());
    segwit_v0_digest(
        &mut SighashCache::new(tx),
        index,
        &script_code,
        value,
        sighash_type,
    )
}

/// BIP-341 digest lnd signs for a taproot input (`leaf_hash` for script
/// spends): all `prevouts`, or with ANYONECANPAY only `prevouts[index]`.
pub fn taproot_sighash(
    tx: &Transaction,
    index: usize,
    prevouts: &[TxOut],
    sighash_type: u32,
    leaf_hash: Option<TapLeafHash>,
) -> Result<[u8; 32], InputError> {
    let ty = taproot_sighash_type(sighash_type)?;
    let own = prevouts
        .get(index)
        .ok_or_else(|| InputError::Sighash(format!("no prevout for input {index}")))?;
    taproot_digest(
        &mut SighashCache::new(tx),
        index,
        ty,
        prevouts,
        own,
        leaf_hash,
    )
}

/// The `PARTIAL_SIG` value lnd writes: low-S RFC 6979 DER ‖ low byte of the sighash type.
pub fn ecdsa_signature(key: &SecretKey, digest: [u8; 32], sighash_type: u32) -> Vec<u8> {
    let mut out = SECP256K1
        .sign_ecdsa(&Message::from_digest(digest), key)
        .serialize_der()
        .to_vec();
    out.push(sighash_type as u8);
    out
}

/// The key-spend signing key: BIP-341 tweak of `key` with `merkle_root`
/// (`None` = BIP-86).
pub fn key_spend_keypair(key: &SecretKey, merkle_root: Option<[u8; 32]>) -> Option<Keypair> {
    let keypair = Keypair::from_secret_key(SECP256K1, key);
    taproot_tweak_keypair(&keypair, merkle_root.as_ref().map_or(&[][..], |r| &r[..]))
}

/// A BIP-340 signature over `digest` with auxiliary randomness `aux`, plus
/// the sighash byte iff the type is not 0 (SIGHASH_DEFAULT).
pub fn schnorr_signature(
    keypair: &Keypair,
    digest: [u8; 32],
    sighash_type: u8,
    aux: [u8; 32],
) -> Vec<u8> {
    let mut out = SECP256K1
        .sign_schnorr_with_aux_rand(&Message::from_digest(digest), keypair, &aux)
        .serialize()
        .to_vec();
    if sighash_type != 0 {
        out.push(sighash_type);
    }
    out
}

/// Signs one input with `key` (already tweaked) by `method`; `known` is the
/// key pair of `key` when it was already computed.
#[allow(clippy::too_many_arguments)]
fn sign_input(
    input: &mut Input,
    index: usize,
    key: &SecretKey,
    known: Option<Keypair>,
    method: SignMethod,
    cache: &mut SighashCache<&Transaction>,
    all_prevouts: &[TxOut],
    witness_utxo: &TxOut,
    entropy: &dyn Entropy,
) -> Result<(), InputError> {
    let sighash_raw = input.sighash_type.map(|t| t.to_u32()).unwrap_or(0);
    match method {
        SignMethod::WitnessV0 => {
            let subscript = [&input.redeem_script, &input.witness_script]
                .into_iter()
                .flatten()
                .find(|s| !s.is_empty())
                .unwrap_or(&witness_utxo.script_pubkey);
            let script_code = subscript
                .p2wpkh_script_code()
                .unwrap_or_else(|| subscript.clone());
            let digest =
                segwit_v0_digest(cache, index, &script_code, witness_utxo.value, sighash_raw)?;
            let signature = SECP256K1.sign_ecdsa(&Message::from_digest(digest), key);
            put_partial_sig(
                input,
                known.map_or_else(|| key.public_key(SECP256K1), |k| k.public_key()),
                signature,
                sighash_raw as u8,
            );
        }
        SignMethod::TaprootKeySpend(root) => {
            let ty = taproot_sighash_type(sighash_raw)?;
            let digest = taproot_digest(cache, index, ty, all_prevouts, witness_utxo, None)?;
            let keypair = known.unwrap_or_else(|| Keypair::from_secret_key(SECP256K1, key));
            let root_bytes = root.map(|r| r.to_byte_array());
            let tweaked =
                taproot_tweak_keypair(&keypair, root_bytes.as_ref().map_or(&[][..], |r| r))
                    .ok_or(InputError::TapTweak)?;
            input.tap_key_sig = Some(taproot::Signature {
                signature: schnorr_sign(&tweaked, digest, entropy),
                sighash_type: ty,
            });
        }
        SignMethod::TaprootScriptSpend { leaf_hash, xonly } => {
            let ty = taproot_sighash_type(sighash_raw)?;
            let digest = taproot_digest(
                cache,
                index,
                ty,
                all_prevouts,
                witness_utxo,
                Some(leaf_hash),
            )?;
            let keypair = known.unwrap_or_else(|| Keypair::from_secret_key(SECP256K1, key));
            input.tap_script_sigs.insert(
                (xonly, leaf_hash),
                taproot::Signature {
                    signature: schnorr_sign(&keypair, digest, entropy),
                    sighash_type: ty,
                },
            );
        }
    }
    Ok(())
}

/// BIP-341 digest; with ANYONECANPAY the input's own `WITNESS_UTXO` is used
/// (btcd's canned fetcher), otherwise every input's prevout.
fn taproot_digest(
    cache: &mut SighashCache<&Transaction>,
    index: usize,
    ty: TapSighashType,
    all_prevouts: &[TxOut],
    witness_utxo: &TxOut,
    leaf_hash: Option<TapLeafHash>,
) -> Result<[u8; 32], InputError> {
    let anyone_can_pay = matches!(
        ty,
        TapSighashType::AllPlusAnyoneCanPay
            | TapSighashType::NonePlusAnyoneCanPay
            | TapSighashType::SinglePlusAnyoneCanPay
    );
    let one;
    let all;
    let prevouts: &Prevouts<'_, TxOut> = if anyone_can_pay {
        one = Prevouts::One(index, witness_utxo.clone());
        &one
    } else {
        all = Prevouts::All(all_prevouts);
        &all
    };
    let hash = match leaf_hash {
        None => cache.taproot_key_spend_signature_hash(index, prevouts, ty),
        Some(leaf) => cache.taproot_script_spend_signature_hash(index, prevouts, leaf, ty),
    }
    .map_err(|e| InputError::Sighash(e.to_string()))?;
    Ok(hash.to_byte_array())
}

/// Signs every input lnd would sign (spec/signing.md §3.2) and returns the
/// re-serialised packet.
pub fn sign_psbt(
    root: &RootKey,
    entropy: &dyn Entropy,
    raw: &[u8],
) -> Result<SignedPsbt, SignPsbtError> {
    let mut psbt = parse(raw)?;
    for (index, input) in psbt.inputs.iter().enumerate() {
        if input.witness_utxo.is_none() && input.non_witness_utxo.is_none() {
            return Err(SignPsbtError::MissingUtxo(index));
        }
    }
    if psbt.unsigned_tx.input.is_empty() {
        return Err(SignPsbtError::NoInputs);
    }
    if psbt.unsigned_tx.output.is_empty() {
        return Err(SignPsbtError::NoOutputs);
    }
    let wire = wire_scan::inputs(raw, psbt.inputs.len()).map_err(SignPsbtError::Parse)?;
    let all_prevouts = prevouts(&psbt)?;
    let tx = psbt.unsigned_tx.clone();
    let mut cache = SighashCache::new(&tx);

    let mut signed_inputs = Vec::new();
    let mut skipped = Vec::new();
    for (index, (input, wire)) in psbt.inputs.iter_mut().zip(&wire).enumerate() {
        let idx = index as u32;
        let Some(witness_utxo) = input.witness_utxo.clone() else {
            skipped.push((idx, SkipReason::NoWitnessUtxo));
            continue;
        };
        if input.final_script_witness.is_some() {
            skipped.push((idx, SkipReason::AlreadyFinalized));
            continue;
        }
        let Some(pubkey_bytes) = &wire.first_bip32_pubkey else {
            skipped.push((idx, SkipReason::NoBip32Derivation));
            continue;
        };
        // Compared serialized: parsing the bytes again would cost a square root.
        let source = input
            .bip32_derivation
            .iter()
            .find(|(pk, _)| pk.serialize()[..] == pubkey_bytes[..])
            .map(|(_, source)| source);
        let Some((_fingerprint, path)) = source else {
            skipped.push((idx, SkipReason::NoBip32Derivation));
            continue;
        };
        let path: Vec<u32> = path.as_ref().iter().map(|c| u32::from(*c)).collect();
        let key = match derive_psbt_path(root, &path) {
            Ok(k) => k,
            Err(e) => {
                skipped.push((idx, SkipReason::Path(e)));
                continue;
            }
        };
        // One point multiplication gives the public key lnd compares and, for
        // an untweaked taproot input, the signing key pair.
        let keypair = Keypair::from_secret_key(SECP256K1, &key);
        let derived_pubkey = keypair.public_key();
        if derived_pubkey.serialize()[..] != pubkey_bytes[..] {
            skipped.push((idx, SkipReason::PubkeyMismatch));
            continue;
        }
        let fail = |error| SignPsbtError::Input { index, error };
        let (key, known) = match &wire.first_tweak {
            Some((TWEAK_SINGLE, t)) => (single_tweak(&key, t).map_err(|e| fail(e.into()))?, None),
            Some((_, c)) => (double_tweak(&key, c).map_err(|e| fail(e.into()))?, None),
            None => (key, Some(keypair)),
        };
        let method = sign_method(input, &witness_utxo.script_pubkey).map_err(fail)?;
        sign_input(
            input,
            index,
            &key,
            known,
            method,
            &mut cache,
            &all_prevouts,
            &witness_utxo,
            entropy,
        )
        .map_err(fail)?;
        signed_inputs.push(idx);
    }
    let packet = splice(raw, &psbt, &signed_inputs)?;
    Ok(SignedPsbt {
        psbt: packet,
        signed_inputs,
        skipped,
    })
}

/// The returned packet: the received bytes of the global map, the outputs and
/// every input not signed now, and rust-bitcoin's serialisation of each
/// input that got a signature. Fields the signer does not touch (e.g. an
/// output's tap tree, whose leaf order rust-bitcoin would normalise) come
/// back exactly as received; trailing bytes after the last map are dropped.
fn splice(raw: &[u8], psbt: &Psbt, signed: &[u32]) -> Result<Vec<u8>, SignPsbtError> {
    let count = 1 + psbt.inputs.len() + psbt.outputs.len();
    let reserialized = psbt.serialize();
    let old = wire_scan::map_ranges(raw, count).map_err(SignPsbtError::Parse)?;
    let new = wire_scan::map_ranges(&reserialized, count).map_err(SignPsbtError::Parse)?;
    let mut out = Vec::with_capacity(reserialized.len().max(raw.len()));
    out.extend_from_slice(&raw[..5]);
    for (i, (old_range, new_range)) in old.into_iter().zip(new).enumerate() {
        let is_signed_input =
            i >= 1 && i <= psbt.inputs.len() && signed.binary_search(&((i - 1) as u32)).is_ok();
        if is_signed_input {
            out.extend_from_slice(&reserialized[new_range]);
        } else {
            out.extend_from_slice(&raw[old_range]);
        }
    }
    Ok(out)
}
