//! PSBTs exactly as lnd's watch-only node builds them (`remoteSign`,
//! signing.md §3.10) and the verification of the signer's answers (§3.9).

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
/// scriptSig/witness get FINAL fields, every other input its WITNESS_UTXO
/// from `prevouts`, and each input of `specs` its signing fields.
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
    for (i, txin) in tx.input.iter().enumerate() {
        if !txin.script_sig.is_empty() {
            psbt.inputs[i].final_script_sig = Some(txin.script_sig.clone());
        }
        if !txin.witness.is_empty() {
            psbt.inputs[i].final_script_witness = Some(txin.witness.clone());
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
    let got = Psbt::deserialize(&resp.signed_psbt)
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
