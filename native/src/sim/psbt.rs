//! PSBTs exactly as lnd's watch-only node builds them (`remoteSign`,
//! signing.md §3.10) and the verification of the signer's answers (§3.9).
//!
//! That includes lnd's reused-buffer bug in `packetFromTx`
//! (`lnwallet/rpcwallet/rpcwallet.go`): every already signed input's
//! FINAL_SCRIPTWITNESS is a slice of one `bytes.Buffer` that is `Reset` and
//! rewritten for each witness, so the values sent are not the inputs'
//! witnesses ([`lnd_final_witnesses`] reproduces the bytes). Such values
//! often do not decode, so the packet carries them as raw records and the
//! answer is split at the record level before rust-bitcoin parses it.

use std::collections::BTreeMap;

use bitcoin::bip32::{ChildNumber, DerivationPath, Fingerprint};
use bitcoin::key::TapTweak;
use bitcoin::psbt::{raw, Psbt, PsbtSighashType};
use bitcoin::secp256k1::{All, PublicKey, Secp256k1, SecretKey, XOnlyPublicKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::taproot::{ControlBlock, LeafVersion, TapLeafHash, TapNodeHash};
use bitcoin::{ScriptBuf, Transaction, TxOut, Witness};
use lnd_web_signer::proto::walletrpc::SignPsbtResponse;

use super::accounts::DerivedKey;
use super::scripts::{revocation_pubkey, tweak_pubkey};
use super::verify::{parse_der_low_s, verify_schnorr};

/// lnd's unknown input key type for the single tweak.
pub const KEY_SINGLE_TWEAK: u8 = 0x51;
/// lnd's unknown input key type for the double tweak.
pub const KEY_DOUBLE_TWEAK: u8 = 0xd0;
/// PSBT_IN_FINAL_SCRIPTWITNESS (carried as a raw record, see the module doc).
pub const KEY_FINAL_SCRIPTWITNESS: u8 = 0x08;

/// Go's `bytes.Buffer` as `packetFromTx` drives it: `Reset` keeps the
/// backing array, `Bytes` returns a slice of it, and a `Write` that does not
/// fit allocates a new array (`grow`, `growSlice`, Go 1.21+ `bytes/buffer.go`)
/// while slices handed out earlier keep the old one.
#[derive(Debug, Default)]
struct GoBuffer {
    /// Every backing array allocated so far (length = Go capacity).
    arrays: Vec<Vec<u8>>,
    /// The current backing array; `None` while `b.buf` is nil.
    current: Option<usize>,
    /// `len(b.buf)` (`b.off` stays 0: nothing is read).
    len: usize,
}

/// `bytes.smallBufferSize`.
const GO_SMALL_BUFFER: usize = 64;

/// The size class Go's allocator rounds a pointer-free allocation up to
/// (`runtime.roundupsize` with `noscan`; `internal/runtime/gc/sizeclasses.go`).
fn go_roundupsize(size: usize) -> usize {
    const CLASSES: [usize; 68] = [
        0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288,
        320, 352, 384, 416, 448, 480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536,
        1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096, 4864, 5376, 6144, 6528, 6784, 6912, 8192,
        9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072, 20480, 21760, 24576,
        27264, 28672, 32768,
    ];
    const MALLOC_HEADER: usize = 8;
    const PAGE: usize = 8192;
    if size <= 32768 - MALLOC_HEADER {
        return CLASSES.iter().copied().find(|&c| c >= size).unwrap_or(size);
    }
    size.checked_add(PAGE - 1).map_or(size, |s| s & !(PAGE - 1))
}

impl GoBuffer {
    fn reset(&mut self) {
        self.len = 0;
    }

    fn cap(&self) -> usize {
        self.current.map_or(0, |a| self.arrays[a].len())
    }

    /// `Buffer.Write(p)`.
    fn write(&mut self, p: &[u8]) {
        let n = p.len();
        let cap = self.cap();
        let array = match self.current {
            // tryGrowByReslice
            Some(a) if n <= cap - self.len => a,
            None if n == 0 => return,
            // grow: the first small write allocates smallBufferSize
            None if n <= GO_SMALL_BUFFER => {
                self.arrays.push(vec![0; GO_SMALL_BUFFER]);
                self.arrays.len() - 1
            }
            // grow → growSlice(b.buf[:len], n): max(len+n, 2·cap), rounded up
            // to a size class, the old contents copied over
            _ => {
                let want = (self.len + n).max(2 * cap);
                let mut fresh = vec![0; go_roundupsize(want)];
                if let Some(old) = self.current {
                    fresh[..self.len].copy_from_slice(&self.arrays[old][..self.len]);
                }
                self.arrays.push(fresh);
                self.arrays.len() - 1
            }
        };
        self.current = Some(array);
        self.arrays[array][self.len..self.len + n].copy_from_slice(p);
        self.len += n;
    }

    /// `wire.WriteVarInt` (one `Write`, two for 9-byte values).
    fn write_varint(&mut self, v: u64) {
        if v < 0xfd {
            self.write(&[v as u8]);
        } else if v <= 0xffff {
            let b = (v as u16).to_le_bytes();
            self.write(&[0xfd, b[0], b[1]]);
        } else if v <= 0xffff_ffff {
            let b = (v as u32).to_le_bytes();
            self.write(&[0xfe, b[0], b[1], b[2], b[3]]);
        } else {
            self.write(&[0xff]);
            self.write(&v.to_le_bytes());
        }
    }

    /// `psbt.WriteTxWitness`: the item count, then per item
    /// `wire.WriteVarBytes` (length, then the bytes, as separate writes).
    fn write_tx_witness(&mut self, witness: &Witness) {
        self.write_varint(witness.len() as u64);
        for item in witness.iter() {
            self.write_varint(item.len() as u64);
            self.write(item);
        }
    }

    /// `Buffer.Bytes()`: which array, how long.
    fn bytes(&self) -> Option<(usize, usize)> {
        self.current.map(|a| (a, self.len))
    }
}

/// The FINAL_SCRIPTWITNESS values lnd's `packetFromTx` puts into the packet
/// for `tx` (by input; `None` for inputs without a witness): one reused
/// buffer, `buf.Reset()`, `psbt.WriteTxWitness(&buf, txIn.Witness)`,
/// `FinalScriptWitness = buf.Bytes()`. Each value therefore has its own
/// witness's length, but its bytes are whatever its backing array holds
/// once the loop is done: the start of the last witness written to that
/// array, then leftovers of longer earlier witnesses (an array left behind
/// when a longer witness needed a new one keeps the first writes of that
/// witness). Only the last signed input's value is its own witness.
pub fn lnd_final_witnesses(tx: &Transaction) -> Vec<Option<Vec<u8>>> {
    let mut buf = GoBuffer::default();
    let slices: Vec<Option<(usize, usize)>> = tx
        .input
        .iter()
        .map(|txin| {
            if txin.witness.is_empty() {
                return None;
            }
            buf.reset();
            buf.write_tx_witness(&txin.witness);
            buf.bytes()
        })
        .collect();
    slices
        .into_iter()
        .map(|s| s.map(|(a, len)| buf.arrays[a][..len].to_vec()))
        .collect()
}

/// How the input is spent (the signer's sign method).
#[derive(Debug, Clone)]
pub enum Spend {
    /// SegWit v0; `script_code` is the P2WKH program or the P2WSH witness
    /// script the sighash commits to.
    V0 {
        /// P2WKH program or witness script.
        script_code: ScriptBuf,
    },
    /// Taproot key spend, BIP-86 (`None`) or with a script root.
    TaprootKey {
        /// Tapscript merkle root.
        merkle_root: Option<TapNodeHash>,
    },
    /// Taproot script-path spend of `leaf` (leaf version 0xc0).
    TaprootScript {
        /// The leaf script.
        leaf: ScriptBuf,
    },
}

/// One input the node asks the signer to sign.
#[derive(Debug, Clone)]
pub struct SignSpec {
    /// Input index.
    pub input: usize,
    /// Untweaked base key and its path.
    pub key: DerivedKey,
    /// The output being spent.
    pub utxo: TxOut,
    /// Full previous transaction (wallet-known outputs only).
    pub prev_tx: Option<Transaction>,
    /// Sighash type; 0 omits the field (SIGHASH_DEFAULT for taproot).
    pub sighash: u32,
    /// REDEEM_SCRIPT (wallet P2WKH/NP2WKH: the P2WKH program).
    pub redeem_script: Option<ScriptBuf>,
    /// WITNESS_SCRIPT.
    pub witness_script: Option<ScriptBuf>,
    /// 0x51 single tweak.
    pub single_tweak: Option<[u8; 32]>,
    /// 0xd0 double tweak (revealed per-commitment secret).
    pub double_tweak: Option<SecretKey>,
    /// Sign method.
    pub spend: Spend,
}

impl SignSpec {
    /// The key the signature must verify under (tweaks applied; before the
    /// BIP-341 output tweak).
    pub fn signing_key(&self, secp: &Secp256k1<All>) -> Result<PublicKey, String> {
        if let Some(t) = &self.single_tweak {
            return tweak_pubkey(secp, &self.key.pubkey, t);
        }
        if let Some(c) = &self.double_tweak {
            return revocation_pubkey(secp, &self.key.pubkey, c);
        }
        Ok(self.key.pubkey)
    }
}

fn key_source(key: &DerivedKey) -> (Fingerprint, DerivationPath) {
    let path: Vec<ChildNumber> = key.path.iter().map(|p| ChildNumber::from(*p)).collect();
    (Fingerprint::default(), DerivationPath::from(path))
}

/// Fake control block of the node: `(0xc0 | parity(base)) ‖ x(base)`.
fn fake_control_block(base: &PublicKey) -> Result<ControlBlock, String> {
    let ser = base.serialize();
    let mut bytes = vec![0xc0 | (ser[0] & 1)];
    bytes.extend_from_slice(&ser[1..]);
    ControlBlock::decode(&bytes).map_err(|e| format!("fake control block: {e}"))
}

/// Builds the PSBT of `remoteSign` (plus, for `walletrpc.SignPsbt`-style
/// requests, several signable inputs): inputs of `tx` that already carry a
/// scriptSig/witness get FINAL fields (the witnesses as lnd's reused buffer
/// leaves them, [`lnd_final_witnesses`], in raw 0x08 records), every input
/// but the signed one its WITNESS_UTXO from `prevouts`
/// (`populateNonSignedInputWitnessUtxos`), and each input of `specs` its
/// signing fields.
pub fn build_packet(
    tx: &Transaction,
    prevouts: &[TxOut],
    specs: &[&SignSpec],
) -> Result<Psbt, String> {
    let mut unsigned = tx.clone();
    for txin in &mut unsigned.input {
        txin.script_sig = ScriptBuf::new();
        txin.witness = Witness::new();
    }
    let mut psbt = Psbt::from_unsigned_tx(unsigned).map_err(|e| e.to_string())?;
    let finals = lnd_final_witnesses(tx);
    for (i, (txin, fin)) in tx.input.iter().zip(finals).enumerate() {
        if !txin.script_sig.is_empty() {
            psbt.inputs[i].final_script_sig = Some(txin.script_sig.clone());
        }
        if let Some(value) = fin {
            // Serialised after FINAL_SCRIPTSIG, where btcd writes it too
            // (a finalized input has no other field but WITNESS_UTXO).
            psbt.inputs[i].unknown.insert(final_witness_key(), value);
        }
        if let Some(p) = prevouts.get(i) {
            psbt.inputs[i].witness_utxo = Some(p.clone());
        }
    }
    for spec in specs {
        let input = psbt
            .inputs
            .get_mut(spec.input)
            .ok_or_else(|| format!("input {} out of range", spec.input))?;
        input.witness_utxo = Some(spec.utxo.clone());
        input.non_witness_utxo = spec.prev_tx.clone();
        input.bip32_derivation = BTreeMap::from([(spec.key.pubkey, key_source(&spec.key))]);
        input.redeem_script = spec.redeem_script.clone();
        input.witness_script = spec.witness_script.clone();
        if spec.sighash != 0 {
            input.sighash_type = Some(PsbtSighashType::from_u32(spec.sighash));
        }
        if let Some(t) = &spec.single_tweak {
            input.unknown.insert(
                raw::Key {
                    type_value: KEY_SINGLE_TWEAK,
                    key: vec![],
                },
                t.to_vec(),
            );
        }
        if let Some(c) = &spec.double_tweak {
            input.unknown.insert(
                raw::Key {
                    type_value: KEY_DOUBLE_TWEAK,
                    key: vec![],
                },
                c.secret_bytes().to_vec(),
            );
        }
        let xonly = XOnlyPublicKey::from(spec.key.pubkey);
        match &spec.spend {
            Spend::V0 { .. } => {}
            Spend::TaprootKey { merkle_root } => {
                input.tap_key_origins = BTreeMap::from([(xonly, (vec![], key_source(&spec.key)))]);
                input.tap_merkle_root = *merkle_root;
            }
            Spend::TaprootScript { leaf } => {
                let leaf_hash = TapLeafHash::from_script(leaf, LeafVersion::TapScript);
                input.tap_key_origins =
                    BTreeMap::from([(xonly, (vec![leaf_hash], key_source(&spec.key)))]);
                input.tap_scripts = BTreeMap::from([(
                    fake_control_block(&spec.key.pubkey)?,
                    (leaf.clone(), LeafVersion::TapScript),
                )]);
            }
        }
    }
    Ok(psbt)
}

/// The raw key of a FINAL_SCRIPTWITNESS record.
fn final_witness_key() -> raw::Key {
    raw::Key {
        type_value: KEY_FINAL_SCRIPTWITNESS,
        key: vec![],
    }
}

/// Reads a compact-size integer at `*pos`.
fn read_compact_size(data: &[u8], pos: &mut usize) -> Option<u64> {
    let first = *data.get(*pos)?;
    let width = match first {
        0xfd => 2,
        0xfe => 4,
        0xff => 8,
        v => {
            *pos += 1;
            return Some(u64::from(v));
        }
    };
    let bytes = data.get(*pos + 1..*pos + 1 + width)?;
    let mut le = [0u8; 8];
    le[..width].copy_from_slice(bytes);
    *pos += 1 + width;
    Some(u64::from_le_bytes(le))
}

/// Reads `len` bytes at `*pos`.
fn take<'a>(data: &'a [u8], pos: &mut usize, len: u64) -> Option<&'a [u8]> {
    let len = usize::try_from(len).ok()?;
    let end = pos.checked_add(len)?;
    let out = data.get(*pos..end)?;
    *pos = end;
    Some(out)
}

/// Parses a packet whose inputs may carry FINAL_SCRIPTWITNESS values that
/// do not decode (lnd's reused buffer): the packet is split into its
/// `1 + inputs + outputs` key-value maps, the input maps' 0x08 records are
/// taken out, rust-bitcoin parses the rest, and the values go back in as
/// raw records (`unknown`, key type 0x08), the way [`build_packet`] holds
/// them, so that packets compare byte for byte.
pub fn parse_with_raw_final_witnesses(
    data: &[u8],
    inputs: usize,
    outputs: usize,
) -> Result<Psbt, String> {
    const MAGIC: &[u8] = b"psbt\xff";
    let short = || "truncated key-value map".to_string();
    if !data.starts_with(MAGIC) {
        return Err("no PSBT magic".into());
    }
    let mut pos = MAGIC.len();
    let mut rest = MAGIC.to_vec();
    let mut finals: Vec<Option<Vec<u8>>> = vec![None; inputs];
    for map in 0..1 + inputs + outputs {
        loop {
            let start = pos;
            let key_len = read_compact_size(data, &mut pos).ok_or_else(short)?;
            if key_len == 0 {
                rest.push(0);
                break;
            }
            let key = take(data, &mut pos, key_len).ok_or_else(short)?;
            let value_len = read_compact_size(data, &mut pos).ok_or_else(short)?;
            let value = take(data, &mut pos, value_len).ok_or_else(short)?;
            let input = map.checked_sub(1).filter(|i| *i < inputs);
            match input {
                Some(i) if key == [KEY_FINAL_SCRIPTWITNESS] => {
                    if finals[i].replace(value.to_vec()).is_some() {
                        return Err(format!("input {i}: two FINAL_SCRIPTWITNESS records"));
                    }
                }
                _ => rest.extend_from_slice(&data[start..pos]),
            }
        }
    }
    if pos != data.len() {
        return Err(format!(
            "{} bytes after the {} maps of {inputs} inputs and {outputs} outputs",
            data.len() - pos,
            1 + inputs + outputs
        ));
    }
    let mut psbt = Psbt::deserialize(&rest).map_err(|e| e.to_string())?;
    for (input, fin) in psbt.inputs.iter_mut().zip(finals) {
        if let Some(value) = fin {
            input.unknown.insert(final_witness_key(), value);
        }
    }
    Ok(psbt)
}

/// A verified signature, for assembling witnesses.
#[derive(Debug, Clone)]
pub enum GotSig {
    /// DER ‖ sighash byte.
    Ecdsa(Vec<u8>),
    /// 64 or 65 bytes.
    Schnorr(Vec<u8>),
}

impl GotSig {
    /// Serialized signature as it goes into a witness.
    pub fn bytes(&self) -> &[u8] {
        match self {
            GotSig::Ecdsa(b) | GotSig::Schnorr(b) => b,
        }
    }
}

fn sighash_digest(sent: &Psbt, prevouts: &[TxOut], spec: &SignSpec) -> Result<[u8; 32], String> {
    let mut cache = SighashCache::new(&sent.unsigned_tx);
    let value = spec.utxo.value;
    match &spec.spend {
        Spend::V0 { script_code } => {
            let ty = EcdsaSighashType::from_consensus(spec.sighash);
            let h = if script_code.is_p2wpkh() {
                cache
                    .p2wpkh_signature_hash(spec.input, script_code, value, ty)
                    .map_err(|e| e.to_string())?
            } else {
                cache
                    .p2wsh_signature_hash(spec.input, script_code, value, ty)
                    .map_err(|e| e.to_string())?
            };
            Ok(h.to_byte_array_compat())
        }
        Spend::TaprootKey { .. } => {
            let ty =
                TapSighashType::from_consensus_u8(spec.sighash as u8).map_err(|e| e.to_string())?;
            let h = cache
                .taproot_key_spend_signature_hash(spec.input, &Prevouts::All(prevouts), ty)
                .map_err(|e| e.to_string())?;
            Ok(h.to_byte_array_compat())
        }
        Spend::TaprootScript { leaf } => {
            let ty =
                TapSighashType::from_consensus_u8(spec.sighash as u8).map_err(|e| e.to_string())?;
            let lh = TapLeafHash::from_script(leaf, LeafVersion::TapScript);
            let h = cache
                .taproot_script_spend_signature_hash(spec.input, &Prevouts::All(prevouts), lh, ty)
                .map_err(|e| e.to_string())?;
            Ok(h.to_byte_array_compat())
        }
    }
}

/// Small shim over the hash types' byte accessors.
trait ToBytes32 {
    fn to_byte_array_compat(self) -> [u8; 32];
}

impl<T: bitcoin::hashes::Hash<Bytes = [u8; 32]>> ToBytes32 for T {
    fn to_byte_array_compat(self) -> [u8; 32] {
        self.to_byte_array()
    }
}

/// Verifies a SignPsbt answer: `signed_inputs` equals the spec inputs, each
/// signed input carries exactly the expected signature field with a valid
/// signature for the (tweaked) key and the sighash computed here, and
/// nothing else in the packet changed. Returns the signatures by input.
pub fn verify_answer(
    secp: &Secp256k1<All>,
    sent: &Psbt,
    prevouts: &[TxOut],
    specs: &[&SignSpec],
    resp: &SignPsbtResponse,
) -> Result<Vec<(usize, GotSig)>, String> {
    let mut want: Vec<u32> = specs.iter().map(|s| s.input as u32).collect();
    want.sort_unstable();
    if resp.signed_inputs != want {
        return Err(format!(
            "signed_inputs {:?}, want {:?}",
            resp.signed_inputs, want
        ));
    }
    let got =
        parse_with_raw_final_witnesses(&resp.signed_psbt, sent.inputs.len(), sent.outputs.len())
            .map_err(|e| format!("signed_psbt does not parse: {e}"))?;
    if got.inputs.len() != sent.inputs.len() || got.outputs.len() != sent.outputs.len() {
        return Err("signed_psbt has a different number of inputs or outputs".into());
    }
    let mut stripped = got.clone();
    let mut sigs = Vec::new();
    for spec in specs {
        let i = spec.input;
        let input = &got.inputs[i];
        let digest = sighash_digest(sent, prevouts, spec)?;
        let key = spec.signing_key(secp)?;
        let ctx = |m: String| format!("input {i}: {m}");
        match &spec.spend {
            Spend::V0 { .. } => {
                if input.partial_sigs.len() != 1 {
                    return Err(ctx(format!(
                        "{} partial signatures, want exactly 1",
                        input.partial_sigs.len()
                    )));
                }
                let (pk, sig) = input
                    .partial_sigs
                    .iter()
                    .next()
                    .ok_or_else(|| ctx("no partial signature".into()))?;
                if pk.inner != key || !pk.compressed {
                    return Err(ctx(format!("partial signature under key {pk}, want {key}")));
                }
                let ser = sig.to_vec();
                if u32::from(ser[ser.len() - 1]) != spec.sighash {
                    return Err(ctx(format!(
                        "sighash byte {:#04x}, want {:#04x}",
                        ser[ser.len() - 1],
                        spec.sighash
                    )));
                }
                let der_sig = parse_der_low_s(&ser[..ser.len() - 1]).map_err(ctx)?;
                secp.verify_ecdsa(
                    &bitcoin::secp256k1::Message::from_digest(digest),
                    &der_sig,
                    &key,
                )
                .map_err(|_| {
                    ctx(
                        "ECDSA signature does not verify for the tweaked key and BIP-143 sighash"
                            .into(),
                    )
                })?;
                sigs.push((i, GotSig::Ecdsa(ser)));
                stripped.inputs[i].partial_sigs.clear();
            }
            Spend::TaprootKey { merkle_root } => {
                let sig = input
                    .tap_key_sig
                    .ok_or_else(|| ctx("no TAP_KEY_SIG".into()))?;
                let ser = sig.to_vec();
                let want_len = if spec.sighash == 0 { 64 } else { 65 };
                if ser.len() != want_len {
                    return Err(ctx(format!(
                        "TAP_KEY_SIG has {} bytes, want {want_len}",
                        ser.len()
                    )));
                }
                if want_len == 65 && u32::from(ser[64]) != spec.sighash {
                    return Err(ctx("wrong sighash byte in TAP_KEY_SIG".into()));
                }
                let (output_key, _) = XOnlyPublicKey::from(key).tap_tweak(secp, *merkle_root);
                verify_schnorr(secp, &ser[..64], digest, &output_key.to_x_only_public_key())
                    .map_err(ctx)?;
                sigs.push((i, GotSig::Schnorr(ser)));
                stripped.inputs[i].tap_key_sig = None;
            }
            Spend::TaprootScript { leaf } => {
                if input.tap_script_sigs.len() != 1 {
                    return Err(ctx(format!(
                        "{} TAP_SCRIPT_SIG entries, want exactly 1",
                        input.tap_script_sigs.len()
                    )));
                }
                let ((xonly, lh), sig) = input
                    .tap_script_sigs
                    .iter()
                    .next()
                    .ok_or_else(|| ctx("no TAP_SCRIPT_SIG".into()))?;
                let want_lh = TapLeafHash::from_script(leaf, LeafVersion::TapScript);
                if *lh != want_lh {
                    return Err(ctx("TAP_SCRIPT_SIG leaf hash differs".into()));
                }
                if *xonly != XOnlyPublicKey::from(spec.key.pubkey) {
                    return Err(ctx(
                        "TAP_SCRIPT_SIG key is not the x-only key of the 0x16 entry".into(),
                    ));
                }
                let ser = sig.to_vec();
                let want_len = if spec.sighash == 0 { 64 } else { 65 };
                if ser.len() != want_len {
                    return Err(ctx(format!(
                        "TAP_SCRIPT_SIG has {} bytes, want {want_len}",
                        ser.len()
                    )));
                }
                if want_len == 65 && u32::from(ser[64]) != spec.sighash {
                    return Err(ctx("wrong sighash byte in TAP_SCRIPT_SIG".into()));
                }
                verify_schnorr(secp, &ser[..64], digest, &XOnlyPublicKey::from(key))
                    .map_err(ctx)?;
                sigs.push((i, GotSig::Schnorr(ser)));
                stripped.inputs[i].tap_script_sigs.clear();
            }
        }
    }
    if stripped != *sent {
        return Err(describe_difference(sent, &stripped));
    }
    Ok(sigs)
}

fn describe_difference(sent: &Psbt, got: &Psbt) -> String {
    if sent.unsigned_tx != got.unsigned_tx {
        return "the unsigned transaction was changed".into();
    }
    for (i, (a, b)) in sent.inputs.iter().zip(&got.inputs).enumerate() {
        if a != b {
            return format!(
                "input {i} changed beyond the added signature (fields added, dropped or altered)"
            );
        }
    }
    for (i, (a, b)) in sent.outputs.iter().zip(&got.outputs).enumerate() {
        if a != b {
            return format!("output {i} changed");
        }
    }
    "global fields changed".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::absolute::LockTime;
    use bitcoin::transaction::Version;
    use bitcoin::{Amount, OutPoint, Sequence, TxIn};

    /// A transaction whose inputs have witnesses of the given items
    /// (`(length, first byte)`, item byte j = first + j mod 256; empty =
    /// no witness), like the Go cross-check below.
    fn tx_with_witnesses(witnesses: &[&[(usize, u8)]]) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: witnesses
                .iter()
                .map(|items| TxIn {
                    previous_output: OutPoint::null(),
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::from_slice(
                        &items
                            .iter()
                            .map(|&(len, first)| {
                                (0..len).map(|j| first.wrapping_add(j as u8)).collect()
                            })
                            .collect::<Vec<Vec<u8>>>(),
                    ),
                })
                .collect(),
            output: vec![TxOut {
                value: Amount::from_sat(1000),
                script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
            }],
        }
    }

    // Expected values printed by lnd's `packetFromTx` (copied verbatim)
    // over btcd's psbt/v2 v2.0.0, built with Go 1.26 against lnd's go.mod:
    // a P2WKH-like, a taproot, no witness, a P2WKH-like with a shorter
    // signature, a script witness that outgrows the 128-byte array (so
    // inputs 0..3 keep the old one), a 65-byte and a 64-byte taproot one.
    const GO_CASE_1: [&str; 7] = [
        concat!(
            "0348404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d",
            "5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d",
            "7e7f8081828384858687009605060708090a0b0c0d0e0f101112131415161718",
            "191a1b1c1d1e1f2021222322",
        ),
        concat!(
            "0348404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d",
            "5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d",
            "7e7f",
        ),
        "",
        concat!(
            "0348404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d",
            "5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d",
            "7e7f8081828384858687009605060708090a0b0c0d0e0f101112131415161718",
            "191a1b1c1d1e1f20212223",
        ),
        concat!(
            "0140c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5",
            "e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405",
            "06079a8182838485868700960708090a0b0c0d0e0f101112131415161718191a",
            "1b1c1d1e1f202122232425262728292a2b2c2d2e2f303132333435363738393a",
            "3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a",
            "5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a",
            "7b7c7d7e7f808182838485868788898a8b8c8d8e8f909192939495969798999a",
            "9b9c",
        ),
        concat!(
            "0140c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5",
            "e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405",
            "06079a",
        ),
        concat!(
            "0140c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5",
            "e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405",
            "0607",
        ),
    ];
    // A 42-byte witness in the first 64-byte array, then a 300-byte item
    // (3-byte length) that moves to a new array after 4 bytes.
    const GO_CASE_2: [&str; 4] = [
        concat!(
            "01fd2c01030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e",
            "1f202122232425262728",
        ),
        concat!(
            "01140708090a0b0c0d0e0f101112131415161718191a191a1b1c1d1e1f202122",
            "232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142",
            "434421060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122",
            "23242526696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f8081828384",
            "85868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4",
            "a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4",
            "c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4",
            "e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff0001020304",
            "05060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324",
            "25262728292a2b2c2d2e2f3031323334",
        ),
        concat!(
            "01140708090a0b0c0d0e0f101112131415161718191a191a1b1c1d1e1f202122",
            "232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142",
            "434421060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122",
            "23242526",
        ),
        "01140708090a0b0c0d0e0f101112131415161718191a",
    ];

    #[test]
    fn final_witnesses_match_lnds_reused_buffer() {
        let tx = tx_with_witnesses(&[
            &[(72, 160), (33, 2)],
            &[(64, 17)],
            &[],
            &[(71, 48), (33, 3)],
            &[(72, 64), (0, 0), (150, 7)],
            &[(65, 90)],
            &[(64, 200)],
        ]);
        let got = lnd_final_witnesses(&tx);
        for (i, (g, want)) in got.iter().zip(GO_CASE_1).enumerate() {
            assert_eq!(
                g.as_ref().map(hex::encode).unwrap_or_default(),
                want,
                "case 1 input {i}"
            );
        }
        assert_eq!(got.len(), GO_CASE_1.len());
        // Every value has its own witness's length; only the last one is
        // the input's own witness.
        for (i, txin) in tx.input.iter().enumerate() {
            let own = bitcoin::consensus::serialize(&txin.witness);
            match &got[i] {
                None => assert!(txin.witness.is_empty()),
                Some(v) => {
                    assert_eq!(v.len(), own.len(), "input {i}");
                    assert_eq!(*v == own, i == 6, "input {i}");
                }
            }
        }

        let tx = tx_with_witnesses(&[&[(40, 1)], &[(300, 9)], &[(64, 5), (33, 6)], &[(20, 7)]]);
        let got: Vec<String> = lnd_final_witnesses(&tx)
            .iter()
            .map(|v| v.as_ref().map(hex::encode).unwrap_or_default())
            .collect();
        assert_eq!(got, GO_CASE_2);
    }

    #[test]
    fn raw_final_witnesses_survive_the_round_trip() {
        let mut tx = tx_with_witnesses(&[&[(72, 160), (33, 2)], &[(64, 17)], &[]]);
        tx.input[0].script_sig = ScriptBuf::from_bytes(vec![0x00, 0x14]);
        let prevouts = vec![
            TxOut {
                value: Amount::from_sat(5000),
                script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
            };
            3
        ];
        let p = build_packet(&tx, &prevouts, &[]).expect("builds");
        let bytes = p.serialize();
        assert!(
            Psbt::deserialize(&bytes).is_err(),
            "input 0 must not decode"
        );
        let back = parse_with_raw_final_witnesses(&bytes, 3, 1).expect("parses");
        assert_eq!(back, p);
        assert_eq!(back.serialize(), bytes);
        let finals = lnd_final_witnesses(&tx);
        for (i, input) in back.inputs.iter().enumerate() {
            assert_eq!(input.unknown.get(&final_witness_key()), finals[i].as_ref());
        }
        // Truncations, trailing bytes and wrong map counts are errors, not
        // panics.
        for cut in 0..bytes.len() {
            assert!(parse_with_raw_final_witnesses(&bytes[..cut], 3, 1).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse_with_raw_final_witnesses(&longer, 3, 1).is_err());
        assert!(parse_with_raw_final_witnesses(&bytes, 2, 1).is_err());
        assert!(parse_with_raw_final_witnesses(&bytes, 3, 2).is_err());
    }

    #[test]
    fn packet_carries_lnd_fields() {
        let secp = Secp256k1::new();
        let sk = SecretKey::from_slice(&[3u8; 32]).expect("key");
        let pk = PublicKey::from_secret_key(&secp, &sk);
        let tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::null(),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::new(),
            }],
            output: vec![TxOut {
                value: Amount::from_sat(1000),
                script_pubkey: ScriptBuf::new(),
            }],
        };
        let utxo = TxOut {
            value: Amount::from_sat(2000),
            script_pubkey: ScriptBuf::new_p2tr(&secp, XOnlyPublicKey::from(pk), None),
        };
        let spec = SignSpec {
            input: 0,
            key: DerivedKey {
                pubkey: pk,
                path: [1017 | 0x8000_0000, 0x8000_0001, 0x8000_0002, 0, 5],
            },
            utxo: utxo.clone(),
            prev_tx: None,
            sighash: 0x83,
            redeem_script: None,
            witness_script: None,
            single_tweak: Some([1u8; 32]),
            double_tweak: None,
            spend: Spend::TaprootScript {
                leaf: ScriptBuf::from_bytes(vec![0x51]),
            },
        };
        let p = build_packet(&tx, &[utxo], &[&spec]).expect("builds");
        let bytes = p.serialize();
        let back = Psbt::deserialize(&bytes).expect("parses");
        assert_eq!(back, p);
        let input = &back.inputs[0];
        assert_eq!(input.unknown.len(), 1);
        assert_eq!(input.tap_scripts.len(), 1);
        assert_eq!(input.tap_key_origins.len(), 1);
        let (_, (fp, path)) = input.bip32_derivation.iter().next().expect("one entry");
        assert_eq!(*fp, Fingerprint::default());
        assert_eq!(path.len(), 5);
        assert!(input.sighash_type.is_some());
    }
}
