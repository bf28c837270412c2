//! lnd's signing semantics (spec/signing.md §0–3): the answers lnd's own
//! signer gives for `DeriveSharedKey`, `SignMessage` and `SignPsbt`.
//!
//! Everything here is pure: inputs are the root key, the request and (for
//! BIP-340 auxiliary randomness) an injected [`crate::entropy::Entropy`].
//! The request dispatcher that turns these results into stream responses is
//! [`crate::signer::Signer`].
//!
//! * [`keyloc`] — key locators and PSBT derivation paths → private keys (§0, §3.3).
//! * [`ecdh`] — `DeriveSharedKey` (§1).
//! * [`message`] — `SignMessage` (§2).
//! * [`tweak`] — lnd's single and double (revocation) private-key tweaks (§3.4).
//! * [`psbt`] — `SignPsbt` (§3).

pub mod ecdh;
pub mod keyloc;
pub mod message;
pub mod psbt;
pub mod tweak;

use bitcoin::hashes::{sha256, Hash, HashEngine};
use bitcoin::secp256k1::{Keypair, Scalar, SECP256K1};
use bitcoin::taproot::TapTweakHash;

/// `tagged_hash(tag, msg) = sha256(sha256(tag) ‖ sha256(tag) ‖ msg)` (BIP-340).
pub(crate) fn tagged_hash(tag: &[u8], msg: &[u8]) -> [u8; 32] {
    let tag_hash = sha256::Hash::hash(tag);
    let mut engine = sha256::Hash::engine();
    engine.input(tag_hash.as_byte_array());
    engine.input(tag_hash.as_byte_array());
    engine.input(msg);
    sha256::Hash::from_engine(engine).to_byte_array()
}

/// BIP-341 private-key tweak with arbitrary commitment data:
/// `k' = k_even + int(tagged_hash("TapTweak", x(P) ‖ data))`. `data` is the
/// 32-byte merkle root for key spends with a script tree, empty for BIP-86,
/// or any byte string for `SignMessage`'s `schnorr_sig_tap_tweak`.
/// Fails only if the tweak hash is ≥ n or the result is zero (negligible).
pub(crate) fn taproot_tweak_keypair(keypair: &Keypair, data: &[u8]) -> Option<Keypair> {
    let (xonly, _) = keypair.x_only_public_key();
    let mut engine = TapTweakHash::engine();
    engine.input(&xonly.serialize());
    engine.input(data);
    let tweak = TapTweakHash::from_engine(engine).to_byte_array();
    let scalar = Scalar::from_be_bytes(tweak).ok()?;
    keypair.add_xonly_tweak(SECP256K1, &scalar).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_hash_matches_rust_bitcoin_tap_leaf() {
        // TapLeaf hash of an empty script with leaf version 0xc0, computed two ways.
        let ours = tagged_hash(b"TapLeaf", &[0xc0, 0x00]);
        let theirs = bitcoin::taproot::TapLeafHash::from_script(
            bitcoin::Script::new(),
            bitcoin::taproot::LeafVersion::TapScript,
        );
        assert_eq!(ours, theirs.to_byte_array());
    }
}
