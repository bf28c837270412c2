//! Public-side Lightning script and key math the watch-only node uses to
//! build its sign descriptors: BOLT-3 scripts (funding 2-of-2, to_local,
//! to_remote with anchors, anchors, offered/received HTLCs), the simple
//! taproot channel leaves, lnd's single and double tweaks, and ECDH.

use bitcoin::hashes::{hash160, ripemd160, sha256, Hash};
use bitcoin::opcodes::all::*;
use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::secp256k1::{All, PublicKey, Scalar, Secp256k1, SecretKey, XOnlyPublicKey};
use bitcoin::ScriptBuf;

/// `sha256(x)`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha256::Hash::hash(data).to_byte_array()
}

/// `sha256(sha256(x))`.
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    sha256(&sha256(data))
}

/// BIP-340 tagged hash.
pub fn tagged_hash(tag: &[u8], data: &[u8]) -> [u8; 32] {
    let t = sha256(tag);
    let mut buf = Vec::with_capacity(64 + data.len());
    buf.extend_from_slice(&t);
    buf.extend_from_slice(&t);
    buf.extend_from_slice(data);
    sha256(&buf)
}

/// lnd's single tweak `sha256(ser33(per_commitment_point) ‖ ser33(base_point))`.
pub fn single_tweak(per_commitment_point: &PublicKey, base_point: &PublicKey) -> [u8; 32] {
    let mut buf = Vec::with_capacity(66);
    buf.extend_from_slice(&per_commitment_point.serialize());
    buf.extend_from_slice(&base_point.serialize());
    sha256(&buf)
}

/// `base + t·G`.
pub fn tweak_pubkey(
    secp: &Secp256k1<All>,
    base: &PublicKey,
    tweak: &[u8; 32],
) -> Result<PublicKey, String> {
    let t = Scalar::from_be_bytes(*tweak).map_err(|_| "tweak is not below the curve order")?;
    base.add_exp_tweak(secp, &t).map_err(|e| e.to_string())
}

/// The revocation public key for revocation base point `B` and the revealed
/// per-commitment secret `c`: `B·sha256(B‖C) + C·sha256(C‖B)`, `C = c·G`.
pub fn revocation_pubkey(
    secp: &Secp256k1<All>,
    revocation_base: &PublicKey,
    commit_secret: &SecretKey,
) -> Result<PublicKey, String> {
    let c_point = PublicKey::from_secret_key(secp, commit_secret);
    revocation_pubkey_from_point(secp, revocation_base, &c_point)
}

/// The revocation public key from public points only: revocation base `B`
/// and per-commitment point `C` (what the commitment scripts contain).
pub fn revocation_pubkey_from_point(
    secp: &Secp256k1<All>,
    revocation_base: &PublicKey,
    per_commitment_point: &PublicKey,
) -> Result<PublicKey, String> {
    let mut bc = revocation_base.serialize().to_vec();
    bc.extend_from_slice(&per_commitment_point.serialize());
    let mut cb = per_commitment_point.serialize().to_vec();
    cb.extend_from_slice(&revocation_base.serialize());
    let h1 = Scalar::from_be_bytes(sha256(&bc)).map_err(|_| "hash not below the curve order")?;
    let h2 = Scalar::from_be_bytes(sha256(&cb)).map_err(|_| "hash not below the curve order")?;
    let a = revocation_base
        .mul_tweak(secp, &h1)
        .map_err(|e| e.to_string())?;
    let b = per_commitment_point
        .mul_tweak(secp, &h2)
        .map_err(|e| e.to_string())?;
    a.combine(&b).map_err(|e| e.to_string())
}

/// ECDH as lnd computes it: `sha256(ser33(k·P))`; here from the side that
/// knows the ephemeral secret.
pub fn ecdh(
    secp: &Secp256k1<All>,
    secret: &SecretKey,
    point: &PublicKey,
) -> Result<[u8; 32], String> {
    let s = Scalar::from(*secret);
    let shared = point.mul_tweak(secp, &s).map_err(|e| e.to_string())?;
    Ok(sha256(&shared.serialize()))
}

fn push_key(b: Builder, key: &PublicKey) -> Builder {
    b.push_slice(key.serialize())
}

fn push_xonly(b: Builder, key: &PublicKey) -> Builder {
    b.push_slice(XOnlyPublicKey::from(*key).serialize())
}

fn push_bytes(b: Builder, data: &[u8]) -> Builder {
    let mut p = PushBytesBuf::new();
    // Callers only push hashes and keys (< 520 bytes).
    if p.extend_from_slice(data).is_err() {
        return b;
    }
    b.push_slice(p)
}

/// `2 <k1> <k2> 2 OP_CHECKMULTISIG` with keys sorted (BOLT-3 funding).
pub fn funding_script(a: &PublicKey, b: &PublicKey) -> ScriptBuf {
    let (k1, k2) = if a.serialize() <= b.serialize() {
        (a, b)
    } else {
        (b, a)
    };
    let s = Builder::new().push_opcode(OP_PUSHNUM_2);
    let s = push_key(s, k1);
    let s = push_key(s, k2);
    s.push_opcode(OP_PUSHNUM_2)
        .push_opcode(OP_CHECKMULTISIG)
        .into_script()
}

/// BOLT-3 to_local: revocation branch or delayed key after `csv` blocks.
pub fn to_local_script(revocation: &PublicKey, delayed: &PublicKey, csv: u16) -> ScriptBuf {
    let s = Builder::new().push_opcode(OP_IF);
    let s = push_key(s, revocation);
    let s = s
        .push_opcode(OP_ELSE)
        .push_int(i64::from(csv))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP);
    let s = push_key(s, delayed);
    s.push_opcode(OP_ENDIF)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// BOLT-3 to_remote of anchor channels: `<key> OP_CHECKSIGVERIFY 1 OP_CSV`.
pub fn to_remote_anchor_script(key: &PublicKey) -> ScriptBuf {
    push_key(Builder::new(), key)
        .push_opcode(OP_CHECKSIGVERIFY)
        .push_int(1)
        .push_opcode(OP_CSV)
        .into_script()
}

/// BOLT-3 anchor output spendable by the funding key (or anyone after 16
/// blocks).
pub fn anchor_script(funding_key: &PublicKey) -> ScriptBuf {
    push_key(Builder::new(), funding_key)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_IFDUP)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_PUSHNUM_16)
        .push_opcode(OP_CSV)
        .push_opcode(OP_ENDIF)
        .into_script()
}

fn revocation_hash(revocation: &PublicKey) -> [u8; 20] {
    hash160::Hash::hash(&revocation.serialize()).to_byte_array()
}

fn payment_ripemd(payment_hash: &[u8; 32]) -> [u8; 20] {
    ripemd160::Hash::hash(payment_hash).to_byte_array()
}

/// BOLT-3 offered HTLC output (anchor variant, with the 1-block CSV).
pub fn offered_htlc_script(
    revocation: &PublicKey,
    local_htlc: &PublicKey,
    remote_htlc: &PublicKey,
    payment_hash: &[u8; 32],
) -> ScriptBuf {
    let s = Builder::new().push_opcode(OP_DUP).push_opcode(OP_HASH160);
    let s = push_bytes(s, &revocation_hash(revocation));
    let s = s
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE);
    let s = push_key(s, remote_htlc);
    let s = s
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_NOTIF)
        .push_opcode(OP_DROP)
        .push_int(2)
        .push_opcode(OP_SWAP);
    let s = push_key(s, local_htlc);
    let s = s
        .push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_HASH160);
    let s = push_bytes(s, &payment_ripemd(payment_hash));
    s.push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .push_int(1)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// BOLT-3 received HTLC output (anchor variant).
pub fn received_htlc_script(
    revocation: &PublicKey,
    local_htlc: &PublicKey,
    remote_htlc: &PublicKey,
    payment_hash: &[u8; 32],
    cltv_expiry: u32,
) -> ScriptBuf {
    let s = Builder::new().push_opcode(OP_DUP).push_opcode(OP_HASH160);
    let s = push_bytes(s, &revocation_hash(revocation));
    let s = s
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ELSE);
    let s = push_key(s, remote_htlc);
    let s = s
        .push_opcode(OP_SWAP)
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUAL)
        .push_opcode(OP_IF)
        .push_opcode(OP_HASH160);
    let s = push_bytes(s, &payment_ripemd(payment_hash));
    let s = s
        .push_opcode(OP_EQUALVERIFY)
        .push_int(2)
        .push_opcode(OP_SWAP);
    let s = push_key(s, local_htlc);
    s.push_int(2)
        .push_opcode(OP_CHECKMULTISIG)
        .push_opcode(OP_ELSE)
        .push_opcode(OP_DROP)
        .push_int(i64::from(cltv_expiry))
        .push_opcode(OP_CLTV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_ENDIF)
        .push_int(1)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .push_opcode(OP_ENDIF)
        .into_script()
}

/// Simple taproot channel to_local delay leaf:
/// `<delayed> OP_CHECKSIG <csv> OP_CSV OP_DROP`.
pub fn taproot_to_local_delay_leaf(delayed: &PublicKey, csv: u16) -> ScriptBuf {
    push_xonly(Builder::new(), delayed)
        .push_opcode(OP_CHECKSIG)
        .push_int(i64::from(csv))
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .into_script()
}

/// Simple taproot channel to_local revocation leaf:
/// `<delayed> OP_DROP <revocation> OP_CHECKSIG`.
pub fn taproot_to_local_revoke_leaf(delayed: &PublicKey, revocation: &PublicKey) -> ScriptBuf {
    let s = push_xonly(Builder::new(), delayed).push_opcode(OP_DROP);
    push_xonly(s, revocation)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// Simple taproot channel to_remote leaf: `<key> OP_CHECKSIG 1 OP_CSV OP_DROP`.
pub fn taproot_to_remote_leaf(key: &PublicKey) -> ScriptBuf {
    push_xonly(Builder::new(), key)
        .push_opcode(OP_CHECKSIG)
        .push_int(1)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .into_script()
}

/// Simple taproot channel HTLC timeout leaf (offered by the key holder):
/// `<local_htlc> OP_CHECKSIGVERIFY <remote_htlc> OP_CHECKSIG`.
pub fn taproot_htlc_timeout_leaf(local_htlc: &PublicKey, remote_htlc: &PublicKey) -> ScriptBuf {
    let s = push_xonly(Builder::new(), local_htlc).push_opcode(OP_CHECKSIGVERIFY);
    push_xonly(s, remote_htlc)
        .push_opcode(OP_CHECKSIG)
        .into_script()
}

/// Simple taproot channel HTLC success leaf.
pub fn taproot_htlc_success_leaf(remote_htlc: &PublicKey, payment_hash: &[u8; 32]) -> ScriptBuf {
    let s = Builder::new()
        .push_opcode(OP_SIZE)
        .push_int(32)
        .push_opcode(OP_EQUALVERIFY)
        .push_opcode(OP_HASH160);
    let s = push_bytes(s, &payment_ripemd(payment_hash));
    let s = s.push_opcode(OP_EQUALVERIFY);
    push_xonly(s, remote_htlc)
        .push_opcode(OP_CHECKSIG)
        .push_int(1)
        .push_opcode(OP_CSV)
        .push_opcode(OP_DROP)
        .into_script()
}

/// Taproot anchor leaf: `OP_16 OP_CSV`.
pub fn taproot_anchor_leaf() -> ScriptBuf {
    Builder::new()
        .push_opcode(OP_PUSHNUM_16)
        .push_opcode(OP_CSV)
        .into_script()
}

/// BIP-341 "nothing up my sleeve" point (x of `H = lift_x(sha256(G))`), used
/// by simple taproot channels as internal key of script-only outputs.
pub fn nums_point() -> Result<XOnlyPublicKey, String> {
    const NUMS: [u8; 32] = [
        0x50, 0x92, 0x9b, 0x74, 0xc1, 0xa0, 0x49, 0x54, 0xb7, 0x8b, 0x4b, 0x60, 0x35, 0xe9, 0x7a,
        0x5e, 0x07, 0x8a, 0x5a, 0x0f, 0x28, 0xec, 0x96, 0xd5, 0x47, 0xbf, 0xee, 0x9a, 0xce, 0x80,
        0x3a, 0xc0,
    ];
    XOnlyPublicKey::from_slice(&NUMS).map_err(|e| format!("NUMS point: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nums_point_parses() {
        let k = nums_point().expect("valid point");
        assert_eq!(
            hex::encode(k.serialize()),
            "50929b74c1a04954b78b4b6035e97a5e078a5a0f28ec96d547bfee9ace803ac0"
        );
    }

    #[test]
    fn revocation_key_matches_private_derivation() {
        let secp = Secp256k1::new();
        let b = SecretKey::from_slice(&[7u8; 32]).expect("key");
        let c = SecretKey::from_slice(&[9u8; 32]).expect("key");
        let bp = PublicKey::from_secret_key(&secp, &b);
        let cp = PublicKey::from_secret_key(&secp, &c);
        let mut bc = bp.serialize().to_vec();
        bc.extend_from_slice(&cp.serialize());
        let mut cb = cp.serialize().to_vec();
        cb.extend_from_slice(&bp.serialize());
        let h1 = Scalar::from_be_bytes(sha256(&bc)).expect("scalar");
        let h2 = Scalar::from_be_bytes(sha256(&cb)).expect("scalar");
        let k = b
            .mul_tweak(&h1)
            .expect("mul")
            .add_tweak(&Scalar::from(c.mul_tweak(&h2).expect("mul")))
            .expect("add");
        let expect = PublicKey::from_secret_key(&secp, &k);
        assert_eq!(revocation_pubkey(&secp, &bp, &c).expect("computes"), expect);
    }

    #[test]
    fn ecdh_is_symmetric() {
        let secp = Secp256k1::new();
        let a = SecretKey::from_slice(&[5u8; 32]).expect("key");
        let b = SecretKey::from_slice(&[6u8; 32]).expect("key");
        let ap = PublicKey::from_secret_key(&secp, &a);
        let bp = PublicKey::from_secret_key(&secp, &b);
        assert_eq!(
            ecdh(&secp, &a, &bp).expect("ecdh"),
            ecdh(&secp, &b, &ap).expect("ecdh")
        );
    }

    #[test]
    fn funding_script_sorts_keys() {
        let secp = Secp256k1::new();
        let a = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[5u8; 32]).expect("k"));
        let b = PublicKey::from_secret_key(&secp, &SecretKey::from_slice(&[6u8; 32]).expect("k"));
        assert_eq!(funding_script(&a, &b), funding_script(&b, &a));
        assert_eq!(funding_script(&a, &b).len(), 71);
    }
}
