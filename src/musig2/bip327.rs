//! Byte-level BIP-327 (MuSig2) functions on top of the `musig2` crate.
//!
//! These are the algorithms of BIP-327 with its input encodings (33-byte
//! plain public keys, 66-byte public nonces, 97-byte secret nonces,
//! 32-byte partial signatures) and its error model (which signer supplied an
//! invalid contribution), so the official test vectors can be run against
//! exactly the code the session manager uses for `MUSIG2_VERSION_V100RC2`.
//!
//! `NonceGen` and `DeterministicSign`'s nonce derivation are hash
//! constructions we implement here (the crate's nonce builder only accepts
//! a valid curve point as aggregate key, the vectors use arbitrary bytes);
//! all curve arithmetic, key aggregation, signing, verification and
//! aggregation is the crate's.

use musig2::{AggNonce, KeyAggContext, PubNonce, SecNonce};
use secp::{MaybeScalar, Point, Scalar};

use super::hash::{nonce_gen_bip327, public_nonce, tagged_hash, NonceScalars};
use super::{EffectiveTweak, Tweak32};

/// A BIP-327 failure: either a named participant's (or the aggregator's)
/// contribution is invalid, or a value error.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Bip327Error {
    /// `InvalidContributionError(signer, contrib)` of the BIP; `signer` is
    /// `None` for the aggregator's values (aggnonce, aggothernonce).
    #[error("invalid {contrib} contribution from signer {signer:?}")]
    InvalidContribution {
        /// Index of the culprit, if a signer.
        signer: Option<usize>,
        /// "pubkey", "pubnonce", "aggnonce", "aggothernonce" or "psig".
        contrib: &'static str,
    },
    /// `ValueError` of the BIP with its message.
    #[error("{0}")]
    Value(String),
}

fn invalid(signer: Option<usize>, contrib: &'static str) -> Bip327Error {
    Bip327Error::InvalidContribution { signer, contrib }
}

fn value(msg: &str) -> Bip327Error {
    Bip327Error::Value(msg.to_string())
}

/// The BIP-327 session parameters shared by sign, verify and aggregate.
#[derive(Clone, Copy, Debug)]
pub struct SessionParams<'a> {
    /// Signer public keys (33-byte plain), in signing order.
    pub pubkeys: &'a [Vec<u8>],
    /// Tweaks (32 bytes each), applied in order.
    pub tweaks: &'a [Vec<u8>],
    /// `is_xonly` flag per tweak.
    pub is_xonly: &'a [bool],
    /// The message (any length).
    pub msg: &'a [u8],
}

fn parse_pubkeys(pubkeys: &[Vec<u8>]) -> Result<Vec<Point>, Bip327Error> {
    pubkeys
        .iter()
        .enumerate()
        .map(|(i, k)| Point::from_slice(k).map_err(|_| invalid(Some(i), "pubkey")))
        .collect()
}

fn parse_tweaks(tweaks: &[Vec<u8>], is_xonly: &[bool]) -> Result<Vec<Tweak32>, Bip327Error> {
    if tweaks.len() != is_xonly.len() {
        return Err(value(
            "The tweaks and is_xonly arrays must have the same length.",
        ));
    }
    tweaks
        .iter()
        .zip(is_xonly)
        .map(|(t, x)| {
            let tweak: [u8; 32] = t
                .as_slice()
                .try_into()
                .map_err(|_| value("The tweak must be 32 bytes."))?;
            Ok(Tweak32 { tweak, x_only: *x })
        })
        .collect()
}

fn tweak_err(_: musig2::errors::TweakError) -> Bip327Error {
    value("The result of tweaking cannot be infinity.")
}

/// Apply one BIP-327 `ApplyTweak`. The crate takes non-zero scalars only; a
/// zero plain tweak is the identity, and a zero x-only tweak (negate when the
/// key has odd Y) equals an x-only tweak by 1 followed by a plain tweak by −1.
fn apply_tweak(ctx: KeyAggContext, t: &Tweak32) -> Result<KeyAggContext, Bip327Error> {
    let tweak =
        MaybeScalar::from_slice(&t.tweak).map_err(|_| value("The tweak must be less than n."))?;
    match tweak {
        MaybeScalar::Valid(s) => ctx.with_tweak(s, t.x_only).map_err(tweak_err),
        MaybeScalar::Zero if !t.x_only => Ok(ctx),
        MaybeScalar::Zero => ctx
            .with_tweak(Scalar::one(), true)
            .and_then(|c| c.with_tweak(-Scalar::one(), false))
            .map_err(tweak_err),
    }
}

/// Build the crate's key aggregation context for already-parsed keys
/// (sorted by their 33-byte encoding when `sort`), then apply `tweak` with
/// lnd's semantics (BIP-86 and script-root are BIP-341 x-only tweaks over
/// the untweaked aggregate key).
pub(crate) fn key_agg_context(
    keys: &[Point],
    sort: bool,
    tweak: &EffectiveTweak,
) -> Result<KeyAggContext, Bip327Error> {
    key_agg_context_and_internal(keys, sort, tweak).map(|(ctx, _)| ctx)
}

/// [`key_agg_context`] plus the untweaked aggregate key (read before
/// tweaking, which saves recomputing it from the accumulators).
pub(crate) fn key_agg_context_and_internal(
    keys: &[Point],
    sort: bool,
    tweak: &EffectiveTweak,
) -> Result<(KeyAggContext, Point), Bip327Error> {
    let mut keys = keys.to_vec();
    if sort {
        keys.sort_by_key(Point::serialize);
    }
    if keys.is_empty() {
        return Err(value("The list of public keys must not be empty."));
    }
    let ctx = KeyAggContext::new(keys)
        .map_err(|_| value("The aggregate key is the point at infinity."))?;
    let internal: Point = ctx.aggregated_pubkey();
    let ctx = match tweak {
        EffectiveTweak::None => Ok(ctx),
        EffectiveTweak::Bip86 => ctx.with_unspendable_taproot_tweak().map_err(tweak_err),
        EffectiveTweak::ScriptRoot(root) => ctx.with_taproot_tweak(root).map_err(tweak_err),
        EffectiveTweak::Generic(ts) => ts.iter().try_fold(ctx, apply_tweak),
    }?;
    Ok((ctx, internal))
}

fn context(params: &SessionParams<'_>) -> Result<KeyAggContext, Bip327Error> {
    let keys = parse_pubkeys(params.pubkeys)?;
    let tweaks = parse_tweaks(params.tweaks, params.is_xonly)?;
    // Range-check every tweak first: BIP-327 reports "less than n" before
    // attempting any tweak.
    for t in &tweaks {
        MaybeScalar::from_slice(&t.tweak).map_err(|_| value("The tweak must be less than n."))?;
    }
    key_agg_context(&keys, false, &EffectiveTweak::Generic(tweaks))
}

/// `KeySort`: sort 33-byte public keys lexicographically.
pub fn key_sort(pubkeys: &[Vec<u8>]) -> Result<Vec<[u8; 33]>, Bip327Error> {
    let mut keys: Vec<[u8; 33]> = parse_pubkeys(pubkeys)?
        .iter()
        .map(Point::serialize)
        .collect();
    keys.sort();
    Ok(keys)
}

/// `KeyAgg` followed by `ApplyTweak` for each tweak; returns the x-only
/// aggregate key `GetXonlyPubkey(keyagg_ctx)`.
pub fn key_agg(
    pubkeys: &[Vec<u8>],
    tweaks: &[Vec<u8>],
    is_xonly: &[bool],
) -> Result<[u8; 32], Bip327Error> {
    let ctx = context(&SessionParams {
        pubkeys,
        tweaks,
        is_xonly,
        msg: &[],
    })?;
    let q: Point = ctx.aggregated_pubkey();
    Ok(q.serialize_xonly())
}

/// `NonceGen(sk, pk, aggpk, m, extra_in)` with the randomness `rand`
/// (BIP-327's `rand'`). Returns `(secnonce, pubnonce)`.
pub fn nonce_gen(
    rand: &[u8; 32],
    sk: Option<&[u8]>,
    pk: &[u8],
    aggpk: Option<&[u8]>,
    msg: Option<&[u8]>,
    extra_in: Option<&[u8]>,
) -> Result<([u8; 97], [u8; 66]), Bip327Error> {
    let sk: Option<[u8; 32]> = sk
        .map(|s| {
            s.try_into()
                .map_err(|_| value("The secret key must be 32 bytes."))
        })
        .transpose()?;
    if pk.len() != 33 {
        return Err(value("The public key must be 33 bytes."));
    }
    if aggpk.is_some_and(|a| a.len() != 32) {
        return Err(value("The aggregate public key must be 32 bytes."));
    }
    let k = nonce_gen_bip327(rand, sk.as_ref(), pk, aggpk, msg, extra_in)
        .ok_or_else(|| value("The secret nonce is zero."))?;
    let mut sec = [0u8; 97];
    sec[..32].copy_from_slice(&k.k1.serialize());
    sec[32..64].copy_from_slice(&k.k2.serialize());
    sec[64..].copy_from_slice(pk);
    Ok((sec, public_nonce(&k)))
}

/// Parse a 66-byte individual public nonce (both halves valid points).
pub(crate) fn parse_pubnonce(bytes: &[u8]) -> Option<PubNonce> {
    if bytes.len() != 66 {
        return None;
    }
    PubNonce::from_bytes(bytes).ok()
}

/// `NonceAgg`: sum the public nonces; an infinite half is encoded as 33
/// zero bytes.
pub fn nonce_agg(pubnonces: &[Vec<u8>]) -> Result<[u8; 66], Bip327Error> {
    let parsed = pubnonces
        .iter()
        .enumerate()
        .map(|(i, n)| parse_pubnonce(n).ok_or_else(|| invalid(Some(i), "pubnonce")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(AggNonce::sum(parsed).serialize())
}

fn parse_aggnonce(bytes: &[u8], contrib: &'static str) -> Result<AggNonce, Bip327Error> {
    if bytes.len() != 66 {
        return Err(invalid(None, contrib));
    }
    AggNonce::from_bytes(bytes).map_err(|_| invalid(None, contrib))
}

fn parse_secnonce(secnonce: &[u8]) -> Result<(Scalar, Scalar, [u8; 33]), Bip327Error> {
    if secnonce.len() != 97 {
        return Err(value("The secret nonce must be 97 bytes."));
    }
    let k1 = Scalar::from_slice(&secnonce[..32])
        .map_err(|_| value("first secnonce value is out of range."))?;
    let k2 = Scalar::from_slice(&secnonce[32..64])
        .map_err(|_| value("second secnonce value is out of range."))?;
    let mut pk = [0u8; 33];
    pk.copy_from_slice(&secnonce[64..]);
    Ok((k1, k2, pk))
}

/// Partial signing with the crate for an already-built context: checks that
/// the secret nonce belongs to `sk` and that `sk`'s key is a signer; the
/// crate verifies the partial signature before returning it.
pub(crate) fn sign_with_context(
    ctx: &KeyAggContext,
    k1: Scalar,
    k2: Scalar,
    sk: Scalar,
    pubkey: Point,
    aggnonce: &AggNonce,
    msg: &[u8],
) -> Result<MaybeScalar, Bip327Error> {
    if ctx.pubkey_index(pubkey).is_none() {
        return Err(value(
            "The signer's pubkey must be included in the list of pubkeys.",
        ));
    }
    musig2::sign_partial(ctx, sk, SecNonce::new(k1, k2, pubkey), aggnonce, msg)
        .map_err(|e| Bip327Error::Value(e.to_string()))
}

/// `Sign(secnonce, sk, session_ctx)` with `session_ctx = (aggnonce, pubkeys,
/// tweaks, is_xonly, msg)`. Returns the 32-byte partial signature.
pub fn sign(
    secnonce: &[u8],
    sk: &[u8],
    aggnonce: &[u8],
    params: &SessionParams<'_>,
) -> Result<[u8; 32], Bip327Error> {
    let ctx = context(params)?;
    let aggnonce = parse_aggnonce(aggnonce, "aggnonce")?;
    let (k1, k2, pk) = parse_secnonce(secnonce)?;
    let sk = Scalar::from_slice(sk).map_err(|_| value("The secret key is out of range."))?;
    let pubkey = sk.base_point_mul();
    if pubkey.serialize() != pk {
        return Err(value("Public key does not match nonce_gen argument"));
    }
    Ok(sign_with_context(&ctx, k1, k2, sk, pubkey, &aggnonce, params.msg)?.serialize())
}

/// `PartialSigVerify(psig, pubnonces, pubkeys, tweaks, is_xonly, msg, i)`:
/// `Ok(false)` for a signature that does not verify (including `psig ≥ n`),
/// `Err` for invalid inputs.
pub fn partial_sig_verify(
    psig: &[u8],
    pubnonces: &[Vec<u8>],
    params: &SessionParams<'_>,
    signer_index: usize,
) -> Result<bool, Bip327Error> {
    let aggnonce =
        AggNonce::from_bytes(&nonce_agg(pubnonces)?).map_err(|_| invalid(None, "aggnonce"))?;
    let ctx = context(params)?;
    let pubkey = parse_pubkeys(params.pubkeys)?
        .get(signer_index)
        .copied()
        .ok_or_else(|| value("The signer index is out of range."))?;
    let pubnonce = pubnonces
        .get(signer_index)
        .and_then(|n| parse_pubnonce(n))
        .ok_or_else(|| invalid(Some(signer_index), "pubnonce"))?;
    let Ok(s) = MaybeScalar::from_slice(psig) else {
        return Ok(false);
    };
    Ok(musig2::verify_partial(&ctx, s, &aggnonce, pubkey, &pubnonce, params.msg).is_ok())
}

/// `PartialSigAgg(psigs, session_ctx)`: the 64-byte BIP-340 signature. The
/// crate verifies the result; a signature that does not verify is an error.
pub fn partial_sig_agg(
    psigs: &[Vec<u8>],
    aggnonce: &[u8],
    params: &SessionParams<'_>,
) -> Result<[u8; 64], Bip327Error> {
    let ctx = context(params)?;
    let aggnonce = parse_aggnonce(aggnonce, "aggnonce")?;
    let sigs = psigs
        .iter()
        .enumerate()
        .map(|(i, p)| MaybeScalar::from_slice(p).map_err(|_| invalid(Some(i), "psig")))
        .collect::<Result<Vec<_>, _>>()?;
    aggregate_with_context(&ctx, &aggnonce, &sigs, params.msg)
        .ok_or_else(|| value("The aggregate signature is invalid."))
}

/// Aggregate with the crate (it verifies the final signature).
pub(crate) fn aggregate_with_context(
    ctx: &KeyAggContext,
    aggnonce: &AggNonce,
    sigs: &[MaybeScalar],
    msg: &[u8],
) -> Option<[u8; 64]> {
    musig2::aggregate_partial_signatures::<_, musig2::CompactSignature>(
        ctx,
        aggnonce,
        sigs.iter().copied(),
        msg,
    )
    .ok()
    .map(|s| s.serialize())
}

/// `DeterministicSign(sk, aggothernonce, pubkeys, tweaks, is_xonly, msg,
/// rand)`: returns `(pubnonce, psig)`.
pub fn deterministic_sign(
    sk: &[u8],
    aggothernonce: &[u8],
    params: &SessionParams<'_>,
    rand: Option<&[u8; 32]>,
) -> Result<([u8; 66], [u8; 32]), Bip327Error> {
    let sk_bytes: [u8; 32] = sk
        .try_into()
        .map_err(|_| value("The secret key must be 32 bytes."))?;
    let sk_scalar =
        Scalar::from_slice(&sk_bytes).map_err(|_| value("The secret key is out of range."))?;
    let sk_mixed: [u8; 32] = match rand {
        Some(r) => {
            let aux = tagged_hash(b"MuSig/aux", &[r]);
            let mut out = [0u8; 32];
            for (o, (s, a)) in out.iter_mut().zip(sk_bytes.iter().zip(aux.iter())) {
                *o = s ^ a;
            }
            out
        }
        None => sk_bytes,
    };
    let ctx = context(params)?;
    let q: Point = ctx.aggregated_pubkey();
    let other = parse_pubnonce(aggothernonce).ok_or_else(|| invalid(None, "aggothernonce"))?;
    let msg_len = (params.msg.len() as u64).to_be_bytes();
    let k = |i: u8| {
        let h = tagged_hash(
            b"MuSig/deterministic/nonce",
            &[
                &sk_mixed,
                aggothernonce,
                &q.serialize_xonly(),
                &msg_len,
                params.msg,
                &[i],
            ],
        );
        MaybeScalar::reduce_from(&h).into_option()
    };
    let (Some(k1), Some(k2)) = (k(0), k(1)) else {
        return Err(value("The derived nonce is zero."));
    };
    let pubnonce = public_nonce(&NonceScalars { k1, k2 });
    let own = parse_pubnonce(&pubnonce).ok_or_else(|| value("The derived nonce is invalid."))?;
    let aggnonce = AggNonce::sum([own, other]);
    let psig = sign_with_context(
        &ctx,
        k1,
        k2,
        sk_scalar,
        sk_scalar.base_point_mul(),
        &aggnonce,
        params.msg,
    )?;
    Ok((pubnonce, psig.serialize()))
}

/// BIP-340 verification of a 64-byte signature under an x-only key.
pub fn verify_bip340(xonly: &[u8; 32], msg: &[u8], sig: &[u8; 64]) -> bool {
    let Ok(p) = Point::lift_x(xonly) else {
        return false;
    };
    musig2::verify_single(p, sig.as_slice(), msg).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Zero tweaks (BIP-327 allows them; the crate does not take them) sign
    /// and aggregate to a valid signature, and a zero x-only tweak keeps the
    /// x-only key while a zero plain tweak keeps the whole key.
    #[test]
    fn zero_tweaks_sign_and_aggregate() {
        for seeds in [[1u8, 2], [3, 4], [5, 6], [7, 8]] {
            let sks: Vec<Scalar> = seeds
                .iter()
                .map(|s| Scalar::from_slice(&[*s; 32]).expect("sk"))
                .collect();
            let pks: Vec<Vec<u8>> = sks
                .iter()
                .map(|s| s.base_point_mul().serialize().to_vec())
                .collect();
            let plain = key_agg(&pks, &[], &[]).expect("plain");
            for x_only in [true, false] {
                let tweaks = vec![vec![0u8; 32], vec![0u8; 32]];
                let flags = vec![x_only, !x_only];
                assert_eq!(key_agg(&pks, &tweaks, &flags).expect("zero tweaks"), plain);
                let msg = [0x33u8; 32];
                let params = SessionParams {
                    pubkeys: &pks,
                    tweaks: &tweaks,
                    is_xonly: &flags,
                    msg: &msg,
                };
                let nonces: Vec<([u8; 97], [u8; 66])> = sks
                    .iter()
                    .zip(&pks)
                    .map(|(s, pk)| {
                        nonce_gen(&[9; 32], Some(&s.serialize()), pk, None, None, None)
                            .expect("nonce")
                    })
                    .collect();
                let pubnonces: Vec<Vec<u8>> = nonces.iter().map(|n| n.1.to_vec()).collect();
                let agg = nonce_agg(&pubnonces).expect("aggnonce");
                let psigs: Vec<Vec<u8>> = sks
                    .iter()
                    .zip(&nonces)
                    .map(|(s, n)| {
                        sign(&n.0, &s.serialize(), &agg, &params)
                            .expect("sign")
                            .to_vec()
                    })
                    .collect();
                let sig = partial_sig_agg(&psigs, &agg, &params).expect("aggregate");
                assert!(verify_bip340(&plain, &msg, &sig));
            }
        }
    }
}
