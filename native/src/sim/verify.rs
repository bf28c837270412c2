//! Cryptographic checks of the signer's answers, from the public side only.

use bitcoin::secp256k1::ecdsa::{RecoverableSignature, RecoveryId, Signature};
use bitcoin::secp256k1::{schnorr, All, Message, PublicKey, Secp256k1, XOnlyPublicKey};

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
}
