//! `SignMessage` (spec/signing.md §2): DER ECDSA, 65-byte compact (recoverable)
//! ECDSA and BIP-340 Schnorr with optional tap tweak and tag.

use bitcoin::hashes::{sha256, sha256d, Hash};
use bitcoin::secp256k1::{Keypair, Message, SECP256K1};

use super::keyloc::{locator, locator_key, KeyLocError};
use super::{tagged_hash, taproot_tweak_keypair};
use crate::entropy::Entropy;
use crate::keys::RootKey;
use crate::proto::signrpc::{SignMessageReq, SignMessageResp};

/// Why a `SignMessageReq` is rejected; the texts are lnd's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignMessageError {
    /// Empty `msg` (proto3 cannot tell empty from unset).
    #[error("a message to sign MUST be passed in")]
    MissingMessage,
    /// `key_loc` unset.
    #[error("a key locator MUST be passed in")]
    MissingKeyLoc,
    /// `schnorr_sig` and `compact_sig` together.
    #[error("compact format can not be used for Schnorr signatures")]
    SchnorrCompact,
    /// A tag without `schnorr_sig`.
    #[error("tag can only be used when the Schnorr signature option is set")]
    TagWithoutSchnorr,
    /// Tag starting with `BIP0340`.
    #[error("tag cannot have BIP0340 prefix")]
    TagBip340,
    /// Tag starting with `TapSighash`.
    #[error("tag cannot be TapSighash")]
    TagTapSighash,
    /// `double_hash` together with a tag.
    #[error("double hash and tag can't be set at the same time")]
    DoubleHashAndTag,
    /// Key derivation failed.
    #[error("can't sign the hash: {0}")]
    Key(#[from] KeyLocError),
    /// The BIP-341 tweak of the key failed (probability ~2^-128).
    #[error("can't sign the hash: the taproot tweak gives an invalid key")]
    TapTweak,
}

/// The 32-byte digest lnd signs for this request (after validation).
pub fn message_digest(req: &SignMessageReq) -> [u8; 32] {
    if req.schnorr_sig && !req.tag.is_empty() {
        tagged_hash(&req.tag, &req.msg)
    } else if req.double_hash {
        sha256d::Hash::hash(&req.msg).to_byte_array()
    } else {
        sha256::Hash::hash(&req.msg).to_byte_array()
    }
}

/// lnd's request checks, in lnd's order.
pub fn validate(req: &SignMessageReq) -> Result<(), SignMessageError> {
    if req.msg.is_empty() {
        return Err(SignMessageError::MissingMessage);
    }
    if req.key_loc.is_none() {
        return Err(SignMessageError::MissingKeyLoc);
    }
    if req.schnorr_sig && req.compact_sig {
        return Err(SignMessageError::SchnorrCompact);
    }
    if !req.schnorr_sig && !req.tag.is_empty() {
        return Err(SignMessageError::TagWithoutSchnorr);
    }
    if req.tag.starts_with(b"BIP0340") {
        return Err(SignMessageError::TagBip340);
    }
    if req.tag.starts_with(b"TapSighash") {
        return Err(SignMessageError::TagTapSighash);
    }
    if req.double_hash && !req.tag.is_empty() {
        return Err(SignMessageError::DoubleHashAndTag);
    }
    Ok(())
}

/// Answers a `SignMessageReq` as lnd does: DER (default), 65-byte compact with
/// header `31 + recid`, or a 64-byte BIP-340 signature (aux randomness from
/// `entropy`). ECDSA uses RFC 6979 nonces and low-S, byte-identical to lnd.
pub fn sign_message(
    root: &RootKey,
    entropy: &dyn Entropy,
    req: &SignMessageReq,
) -> Result<SignMessageResp, SignMessageError> {
    validate(req)?;
    let loc = req.key_loc.ok_or(SignMessageError::MissingKeyLoc)?;
    let (family, index) = locator(loc.key_family, loc.key_index);
    let secret = locator_key(root, family, index)?;
    let digest = message_digest(req);
    let msg = Message::from_digest(digest);

    let signature = if req.schnorr_sig {
        let mut keypair = Keypair::from_secret_key(SECP256K1, &secret);
        if !req.schnorr_sig_tap_tweak.is_empty() {
            keypair = taproot_tweak_keypair(&keypair, &req.schnorr_sig_tap_tweak)
                .ok_or(SignMessageError::TapTweak)?;
        }
        let mut aux = [0u8; 32];
        entropy.fill_bytes(&mut aux);
        SECP256K1
            .sign_schnorr_with_aux_rand(&msg, &keypair, &aux)
            .serialize()
            .to_vec()
    } else if req.compact_sig {
        let sig = SECP256K1.sign_ecdsa_recoverable(&msg, &secret);
        let (recid, rs) = sig.serialize_compact();
        let mut out = Vec::with_capacity(65);
        // 27 + 4 (compressed public key) + recovery id.
        out.push(31 + recid.to_i32() as u8);
        out.extend_from_slice(&rs);
        out
    } else {
        SECP256K1.sign_ecdsa(&msg, &secret).serialize_der().to_vec()
    };
    Ok(SignMessageResp { signature })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Network;
    use crate::proto::signrpc::KeyLocator;

    struct Zero;
    impl Entropy for Zero {
        fn fill_bytes(&self, dest: &mut [u8]) {
            dest.fill(0);
        }
    }

    fn root() -> RootKey {
        RootKey::from_xprv(
            "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg",
            Network::Regtest,
        )
        .expect("root")
    }

    fn req() -> SignMessageReq {
        SignMessageReq {
            msg: b"alice msg".to_vec(),
            key_loc: Some(KeyLocator {
                key_family: 6,
                key_index: 0,
            }),
            double_hash: true,
            ..Default::default()
        }
    }

    #[test]
    fn checks_in_lnd_order() {
        let r = root();
        let mut q = req();
        q.msg.clear();
        q.key_loc = None;
        assert_eq!(
            sign_message(&r, &Zero, &q),
            Err(SignMessageError::MissingMessage)
        );
        let mut q = req();
        q.key_loc = None;
        assert_eq!(
            sign_message(&r, &Zero, &q),
            Err(SignMessageError::MissingKeyLoc)
        );
        let mut q = req();
        q.schnorr_sig = true;
        q.compact_sig = true;
        assert_eq!(
            sign_message(&r, &Zero, &q),
            Err(SignMessageError::SchnorrCompact)
        );
        let mut q = req();
        q.tag = b"x".to_vec();
        assert_eq!(
            sign_message(&r, &Zero, &q),
            Err(SignMessageError::TagWithoutSchnorr)
        );
        let mut q = req();
        q.schnorr_sig = true;
        q.tag = b"BIP0340/challenge".to_vec();
        assert_eq!(
            sign_message(&r, &Zero, &q),
            Err(SignMessageError::TagBip340)
        );
        q.tag = b"TapSighash".to_vec();
        assert_eq!(
            sign_message(&r, &Zero, &q),
            Err(SignMessageError::TagTapSighash)
        );
        q.tag = b"mytag".to_vec();
        assert_eq!(
            sign_message(&r, &Zero, &q),
            Err(SignMessageError::DoubleHashAndTag)
        );
    }

    #[test]
    fn der_matches_lnd() {
        let sig = sign_message(&root(), &Zero, &req()).expect("sign");
        assert_eq!(
            hex::encode(sig.signature),
            "3045022100dc14f49fd04967d683fd4dbf15ea0c34bc18af14cbf228015633e3f372450a0a022067973d83e3946abaf00b990f4f243c8082a8646c0ddeeb5cf804971e887e7fe1"
        );
    }
}
