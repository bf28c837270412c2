//! Cryptographic checks of the signer's answers, from the public side only.

use bitcoin::hashes::{hash160, Hash};
use bitcoin::script::Instruction;
use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId, Signature};
use bitcoin::secp256k1::{schnorr, All, Message, PublicKey, Secp256k1, XOnlyPublicKey};
use bitcoin::sighash::{EcdsaSighashType, Prevouts, SighashCache, TapSighashType};
use bitcoin::{Script, Transaction, TxOut};

/// Parses a strict-DER ECDSA signature and requires low S and canonical
/// encoding (what lnd's node parses: protocol/signing.md §2.2, §3.9).
pub fn parse_der_low_s(der: &[u8]) -> Result<Signature, String> {
    let sig = Signature::from_der(der).map_err(|e| format!("not strict DER ({e})"))?;
    if sig.serialize_der().as_ref() != der {
        return Err("DER encoding is not canonical".into());
    }
    let mut norm = sig;
    norm.normalize_s();
    if norm != sig {
        return Err("signature has a high S value".into());
    }
    Ok(sig)
}

/// Checks a DER signature over `digest` for `key`.
pub fn verify_ecdsa_der(
    secp: &Secp256k1<All>,
    der: &[u8],
    digest: [u8; 32],
    key: &PublicKey,
) -> Result<(), String> {
    let sig = parse_der_low_s(der)?;
    secp.verify_ecdsa(&Message::from_digest(digest), &sig, key)
        .map_err(|_| "ECDSA signature does not verify for the expected key and digest".to_string())
}

/// Checks a 65-byte compact recoverable signature (`27 + 4 + recid ‖ R ‖ S`)
/// over `digest`: header in 31..=34, low S, recovers to `key`.
pub fn verify_compact(
    secp: &Secp256k1<All>,
    sig: &[u8],
    digest: [u8; 32],
    key: &PublicKey,
) -> Result<(), String> {
    if sig.len() != 65 {
        return Err(format!(
            "compact signature has {} bytes, want 65",
            sig.len()
        ));
    }
    let header = sig[0];
    if !(31..=34).contains(&header) {
        return Err(format!(
            "compact signature header {header} is not 31..34 (compressed key)"
        ));
    }
    let recid = RecoveryId::from_i32(i32::from(header - 31)).map_err(|e| e.to_string())?;
    let rsig = RecoverableSignature::from_compact(&sig[1..], recid).map_err(|e| e.to_string())?;
    let plain = rsig.to_standard();
    let mut norm = plain;
    norm.normalize_s();
    if norm != plain {
        return Err("compact signature has a high S value".into());
    }
    let msg = Message::from_digest(digest);
    let recovered = secp
        .recover_ecdsa(&msg, &rsig)
        .map_err(|e| format!("cannot recover a key: {e}"))?;
    if &recovered != key {
        return Err(format!(
            "compact signature recovers to {recovered}, want {key}"
        ));
    }
    secp.verify_ecdsa(&msg, &plain, key)
        .map_err(|_| "compact signature does not verify".to_string())
}

/// Checks a 64-byte BIP-340 signature over `digest` for `key`.
pub fn verify_schnorr(
    secp: &Secp256k1<All>,
    sig: &[u8],
    digest: [u8; 32],
    key: &XOnlyPublicKey,
) -> Result<(), String> {
    if sig.len() != 64 {
        return Err(format!(
            "schnorr signature has {} bytes, want 64",
            sig.len()
        ));
    }
    let s = schnorr::Signature::from_slice(sig).map_err(|e| e.to_string())?;
    secp.verify_schnorr(&s, &Message::from_digest(digest), key)
        .map_err(|_| {
            "BIP-340 signature does not verify for the expected key and digest".to_string()
        })
}

/// Checks an assembled wallet transaction the way the interpreter would
/// for the output types lnd's wallet spends: P2WKH (witness `sig ‖ key`,
/// key hashing to the program, empty scriptSig), NP2WKH (scriptSig one push
/// of the P2WKH program hashing to the P2SH hash, then as P2WKH) and P2TR
/// key spends (one 64/65-byte witness item, BIP-340 under the output key).
/// Every signature is checked against the sighash of the final transaction
/// (BIP-143 / BIP-341 over all `prevouts`), ECDSA strict DER and low S.
pub fn verify_wallet_spend(
    secp: &Secp256k1<All>,
    tx: &Transaction,
    prevouts: &[TxOut],
) -> Result<(), String> {
    if tx.input.len() != prevouts.len() {
        return Err(format!(
            "{} inputs but {} spent outputs",
            tx.input.len(),
            prevouts.len()
        ));
    }
    let mut cache = SighashCache::new(tx);
    for (i, (txin, prev)) in tx.input.iter().zip(prevouts).enumerate() {
        let ctx = |m: String| format!("input {i}: {m}");
        let spk = &prev.script_pubkey;
        let witness: Vec<&[u8]> = txin.witness.iter().collect();
        if spk.is_p2tr() {
            if !txin.script_sig.is_empty() {
                return Err(ctx("P2TR spend with a scriptSig".into()));
            }
            let [sig] = witness.as_slice() else {
                return Err(ctx(format!(
                    "P2TR key spend needs one witness item, has {}",
                    witness.len()
                )));
            };
            let ty = match sig.len() {
                64 => TapSighashType::Default,
                65 if sig[64] != 0 => TapSighashType::from_consensus_u8(sig[64])
                    .map_err(|e| ctx(format!("sighash byte: {e}")))?,
                n => return Err(ctx(format!("taproot signature has {n} bytes"))),
            };
            let key = XOnlyPublicKey::from_slice(&spk.as_bytes()[2..34])
                .map_err(|e| ctx(format!("output key: {e}")))?;
            let digest = cache
                .taproot_key_spend_signature_hash(i, &Prevouts::All(prevouts), ty)
                .map_err(|e| ctx(e.to_string()))?;
            verify_schnorr(secp, &sig[..64], digest.to_byte_array(), &key).map_err(ctx)?;
            continue;
        }
        let program = if spk.is_p2wpkh() {
            if !txin.script_sig.is_empty() {
                return Err(ctx("P2WKH spend with a scriptSig".into()));
            }
            spk.clone()
        } else if spk.is_p2sh() {
            let pushes: Vec<_> = txin.script_sig.instructions().collect();
            let redeem = match pushes.as_slice() {
                [Ok(Instruction::PushBytes(p))] => Script::from_bytes(p.as_bytes()).to_owned(),
                _ => return Err(ctx("NP2WKH scriptSig is not one push".into())),
            };
            if hash160::Hash::hash(redeem.as_bytes()).as_byte_array()[..] != spk.as_bytes()[2..22] {
                return Err(ctx("redeem script does not hash to the P2SH output".into()));
            }
            if !redeem.is_p2wpkh() {
                return Err(ctx("redeem script is not a P2WKH program".into()));
            }
            redeem
        } else {
            return Err(ctx(format!("cannot judge a spend of {spk}")));
        };
        let [sig, key] = witness.as_slice() else {
            return Err(ctx(format!(
                "P2WKH spend needs two witness items, has {}",
                witness.len()
            )));
        };
        let pk = PublicKey::from_slice(key).map_err(|e| ctx(format!("witness key: {e}")))?;
        if key.len() != 33
            || hash160::Hash::hash(key).as_byte_array()[..] != program.as_bytes()[2..]
        {
            return Err(ctx("witness key does not hash to the P2WKH program".into()));
        }
        let Some((&ty, der)) = sig.split_last() else {
            return Err(ctx("empty signature".into()));
        };
        let ty = EcdsaSighashType::from_standard(u32::from(ty))
            .map_err(|e| ctx(format!("sighash byte: {e}")))?;
        let digest = cache
            .p2wpkh_signature_hash(i, &program, prev.value, ty)
            .map_err(|e| ctx(e.to_string()))?;
        verify_ecdsa_der(secp, der, digest.to_byte_array(), &pk).map_err(ctx)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::secp256k1::{Keypair, SecretKey};

    #[test]
    fn der_compact_and_schnorr_checks() {
        let secp = Secp256k1::new();
        let sk = SecretKey::from_slice(&[0x42; 32]).expect("key");
        let pk = PublicKey::from_secret_key(&secp, &sk);
        let other =
            PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[0x43; 32]).expect("key"));
        let digest = [7u8; 32];
        let msg = Message::from_digest(digest);

        let der = secp.sign_ecdsa(&msg, &sk).serialize_der().to_vec();
        assert_eq!(verify_ecdsa_der(&secp, &der, digest, &pk), Ok(()));
        assert!(verify_ecdsa_der(&secp, &der, digest, &other).is_err());
        assert!(verify_ecdsa_der(&secp, &der, [8u8; 32], &pk).is_err());

        let rec = secp.sign_ecdsa_recoverable(&msg, &sk);
        let (id, rs) = rec.serialize_compact();
        let mut compact = vec![31 + id.to_i32() as u8];
        compact.extend_from_slice(&rs);
        assert_eq!(verify_compact(&secp, &compact, digest, &pk), Ok(()));
        assert!(verify_compact(&secp, &compact, digest, &other).is_err());
        compact[0] = 27;
        assert!(verify_compact(&secp, &compact, digest, &pk).is_err());

        let kp = Keypair::from_secret_key(&secp, &sk);
        let sig = secp.sign_schnorr_no_aux_rand(&msg, &kp);
        let (x, _) = kp.x_only_public_key();
        assert_eq!(verify_schnorr(&secp, sig.as_ref(), digest, &x), Ok(()));
        assert!(verify_schnorr(&secp, sig.as_ref(), [1u8; 32], &x).is_err());
    }

    #[test]
    fn wallet_spend_check_judges_every_input() {
        use bitcoin::absolute::LockTime;
        use bitcoin::key::TapTweak;
        use bitcoin::script::{Builder, PushBytesBuf};
        use bitcoin::transaction::Version;
        use bitcoin::{Amount, CompressedPublicKey, OutPoint, ScriptBuf, Sequence, TxIn, Witness};

        let secp = Secp256k1::new();
        let sks: Vec<SecretKey> = (1..=3u8)
            .map(|b| SecretKey::from_slice(&[b; 32]).expect("key"))
            .collect();
        let pks: Vec<PublicKey> = sks
            .iter()
            .map(|k| PublicKey::from_secret_key(&secp, k))
            .collect();
        let p2wkh =
            |pk: &PublicKey| ScriptBuf::new_p2wpkh(&CompressedPublicKey(*pk).wpubkey_hash());
        let prevouts = vec![
            TxOut {
                value: Amount::from_sat(10_000),
                script_pubkey: p2wkh(&pks[0]),
            },
            TxOut {
                value: Amount::from_sat(20_000),
                script_pubkey: ScriptBuf::new_p2sh(&p2wkh(&pks[1]).script_hash()),
            },
            TxOut {
                value: Amount::from_sat(30_000),
                script_pubkey: ScriptBuf::new_p2tr(&secp, XOnlyPublicKey::from(pks[2]), None),
            },
        ];
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: (0..3)
                .map(|v| TxIn {
                    previous_output: OutPoint {
                        txid: bitcoin::Txid::all_zeros(),
                        vout: v,
                    },
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::ZERO,
                    witness: Witness::new(),
                })
                .collect(),
            output: vec![TxOut {
                value: Amount::from_sat(59_000),
                script_pubkey: ScriptBuf::from_bytes(vec![0x51]),
            }],
        };
        let unsigned = tx.clone();
        let mut cache = SighashCache::new(&unsigned);
        for i in 0..2 {
            let d = cache
                .p2wpkh_signature_hash(i, &p2wkh(&pks[i]), prevouts[i].value, EcdsaSighashType::All)
                .expect("sighash");
            let mut sig = secp
                .sign_ecdsa(&Message::from_digest(d.to_byte_array()), &sks[i])
                .serialize_der()
                .to_vec();
            sig.push(1);
            tx.input[i].witness = Witness::from_slice(&[sig, pks[i].serialize().to_vec()]);
        }
        let mut push = PushBytesBuf::new();
        push.extend_from_slice(p2wkh(&pks[1]).as_bytes())
            .expect("push");
        tx.input[1].script_sig = Builder::new().push_slice(push).into_script();
        let d = cache
            .taproot_key_spend_signature_hash(2, &Prevouts::All(&prevouts), TapSighashType::Default)
            .expect("sighash");
        let kp =
            bitcoin::secp256k1::Keypair::from_secret_key(&secp, &sks[2]).tap_tweak(&secp, None);
        let sig = secp
            .sign_schnorr_no_aux_rand(&Message::from_digest(d.to_byte_array()), &kp.to_keypair());
        tx.input[2].witness = Witness::from_slice(&[sig.as_ref().to_vec()]);
        assert_eq!(verify_wallet_spend(&secp, &tx, &prevouts), Ok(()));

        let mut bad = tx.clone();
        bad.input.swap(0, 1);
        assert!(verify_wallet_spend(&secp, &bad, &prevouts).is_err());
        let mut bad = tx.clone();
        bad.input[1].script_sig = ScriptBuf::new();
        assert!(verify_wallet_spend(&secp, &bad, &prevouts).is_err());
        let mut bad = tx.clone();
        bad.output[0].value = Amount::from_sat(58_999);
        assert!(verify_wallet_spend(&secp, &bad, &prevouts).is_err());
        let mut bad = tx.clone();
        bad.input[2].witness = Witness::from_slice(&[[0u8; 64].to_vec()]);
        assert!(verify_wallet_spend(&secp, &bad, &prevouts).is_err());
        assert!(verify_wallet_spend(&secp, &tx, &prevouts[..2]).is_err());
    }
}
