//! BIP-340 style tagged hashes and the MuSig2 nonce derivations shared by
//! both versions (BIP-327 `NonceGen` and lnd's v0.4.0 draft variant).

use secp::{MaybeScalar, Scalar};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// `sha256(sha256(tag) ‖ sha256(tag) ‖ parts…)`.
pub(crate) fn tagged_hash(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let tag_hash = Sha256::digest(tag);
    let mut h = Sha256::new();
    h.update(tag_hash);
    h.update(tag_hash);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The two secret nonce scalars produced by a nonce derivation.
pub(crate) struct NonceScalars {
    pub k1: Scalar,
    pub k2: Scalar,
}

impl std::fmt::Debug for NonceScalars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceScalars([redacted])")
    }
}

/// `rand' = sk XOR hash_MuSig/aux(rand)` when a secret key is given, else `rand`.
fn mix_secret_key(rand: &[u8; 32], sk: Option<&[u8; 32]>) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new(*rand);
    if let Some(sk) = sk {
        let aux = tagged_hash(b"MuSig/aux", &[rand]);
        for (o, (s, a)) in out.iter_mut().zip(sk.iter().zip(aux.iter())) {
            *o = s ^ a;
        }
    }
    out
}

fn reduce_nonzero(hash: &[u8; 32]) -> Option<Scalar> {
    MaybeScalar::reduce_from(hash).into_option()
}

/// BIP-327 `NonceGen(sk, pk, aggpk, m, extra_in)` with the 32-byte randomness
/// `rand` supplied by the caller. `pk` is the 33-byte individual public key
/// (any bytes: the BIP hashes it as given), `aggpk` the optional 32-byte
/// x-only aggregate key. Returns `None` in the (negligible) case that a
/// derived scalar is zero, which BIP-327 treats as a failure.
pub(crate) fn nonce_gen_bip327(
    rand: &[u8; 32],
    sk: Option<&[u8; 32]>,
    pk: &[u8],
    aggpk: Option<&[u8]>,
    msg: Option<&[u8]>,
    extra_in: Option<&[u8]>,
) -> Option<NonceScalars> {
    let rand = mix_secret_key(rand, sk);
    let pk_len = [u8::try_from(pk.len()).ok()?];
    let aggpk = aggpk.unwrap_or(&[]);
    let aggpk_len = [u8::try_from(aggpk.len()).ok()?];
    let extra = extra_in.unwrap_or(&[]);
    let extra_len = u32::try_from(extra.len()).ok()?.to_be_bytes();
    let msg_prefix: Vec<u8> = match msg {
        None => vec![0],
        Some(m) => {
            let mut v = Vec::with_capacity(9 + m.len());
            v.push(1);
            v.extend_from_slice(&(m.len() as u64).to_be_bytes());
            v.extend_from_slice(m);
            v
        }
    };
    let k = |i: u8| {
        let h = tagged_hash(
            b"MuSig/nonce",
            &[
                rand.as_slice(),
                &pk_len,
                pk,
                &aggpk_len,
                aggpk,
                &msg_prefix,
                &extra_len,
                extra,
                &[i],
            ],
        );
        reduce_nonzero(&h)
    };
    Some(NonceScalars {
        k1: k(0)?,
        k2: k(1)?,
    })
}

/// lnd's v0.4.0 draft nonce derivation (`internal/musig2v040` `GenNonces`
/// with the secret key and the aggregate key as auxiliary inputs and no
/// message): `k_i = hash_MuSig/nonce(rand' ‖ len8(aggpk) ‖ aggpk ‖ len8(m) ‖ m
/// ‖ len32(in) ‖ in ‖ i8) mod n`.
pub(crate) fn nonce_gen_v040(
    rand: &[u8; 32],
    sk: &[u8; 32],
    aggpk_xonly: &[u8; 32],
) -> Option<NonceScalars> {
    let rand = mix_secret_key(rand, Some(sk));
    let k = |i: u8| {
        let h = tagged_hash(
            b"MuSig/nonce",
            &[
                rand.as_slice(),
                &[32],
                aggpk_xonly,
                &[0],
                &[0, 0, 0, 0],
                &[i],
            ],
        );
        reduce_nonzero(&h)
    };
    Some(NonceScalars {
        k1: k(0)?,
        k2: k(1)?,
    })
}

/// The public nonce `(k1·G, k2·G)`.
pub(crate) fn public_nonce_points(k: &NonceScalars) -> musig2::PubNonce {
    musig2::PubNonce {
        R1: k.k1.base_point_mul(),
        R2: k.k2.base_point_mul(),
    }
}

/// `ser33(k1·G) ‖ ser33(k2·G)`.
pub(crate) fn public_nonce(k: &NonceScalars) -> [u8; 66] {
    public_nonce_points(k).serialize()
}
