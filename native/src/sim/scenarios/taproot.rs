//! Simple taproot channel workload (signing.md §3.7, §3.8, §4.4) plus the
//! MuSig2 calls apps reach through the node's signrpc (§4.3).
//!
//! The simulator plays both the watch-only node and the channel peer: it
//! holds the peer's funding key and nonces, so it computes the peer's
//! partial signature itself, aggregates, and checks that the final BIP-340
//! signature is valid for the funding output key. Every session response
//! is checked field by field against the expected key aggregation
//! (BIP-327, keys sorted, BIP-86 tweak).

use bitcoin::hashes::Hash;
use bitcoin::key::TapTweak;
use bitcoin::secp256k1::{PublicKey, SecretKey, XOnlyPublicKey};
use bitcoin::taproot::{LeafVersion, TapLeafHash, TapNodeHash, TaprootBuilder};
use bitcoin::{Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxOut};
use lnd_web_signer::proto::signrpc::{
    MuSig2CleanupRequest, MuSig2CombineSigRequest, MuSig2GetCombinedNonceRequest,
    MuSig2RegisterCombinedNonceRequest, MuSig2RegisterNoncesRequest, MuSig2SessionRequest,
    MuSig2SessionResponse, MuSig2SignRequest, TaprootTweakDesc, TweakDesc,
};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use musig2::{AggNonce, BinaryEncoding, KeyAggContext, PartialSignature, PubNonce, SecNonce};

use super::channel::{commitment_tx, LocalKeys, RemoteKeys, TO_SELF_DELAY};
use super::wallet::{compute_input_scripts, WalletCoin, WalletKind};
use super::{
    foreign_output, key_loc, make_tx, node_ecdh, random32, random_outpoint, random_secret,
    sign_psbt, wallet_output, Sim, StepError, StepResult,
};
use crate::sim::coordinator::RequestError;
use crate::sim::psbt::{SignSpec, Spend};
use crate::sim::scripts::{
    nums_point, revocation_pubkey_from_point, single_tweak, taproot_anchor_leaf,
    taproot_htlc_success_leaf, taproot_htlc_timeout_leaf, taproot_to_local_delay_leaf,
    taproot_to_local_revoke_leaf, taproot_to_remote_leaf, tweak_pubkey,
};
use crate::sim::verify::verify_schnorr;

/// `MUSIG2_VERSION_V100RC2`.
const V100RC2: i32 = 2;

fn pubkey(sim: &Sim, k: &SecretKey) -> PublicKey {
    PublicKey::from_secret_key(&sim.secp, k)
}

fn check(cond: bool, msg: impl FnOnce() -> String) -> Result<(), StepError> {
    if cond {
        Ok(())
    } else {
        Err(StepError::Check(msg()))
    }
}

/// How the aggregate key is tweaked.
#[derive(Debug, Clone, Copy)]
enum Tweak {
    /// BIP-86 (`taproot_tweak{key_spend_only}`): funding outputs.
    Bip86,
    /// A generic x-only tweak.
    XOnly([u8; 32]),
}

/// The 2-of-2 MuSig2 setup of a channel (or an app session).
struct Musig {
    local: PublicKey,
    remote_sk: SecretKey,
    remote: PublicKey,
    tweak: Tweak,
    ctx: KeyAggContext,
}

impl Musig {
    fn new(
        sim: &Sim,
        local: PublicKey,
        remote_sk: SecretKey,
        tweak: Tweak,
    ) -> Result<Self, StepError> {
        let remote = pubkey(sim, &remote_sk);
        let mut keys = [local, remote];
        keys.sort_by_key(|k| k.serialize());
        let ctx = KeyAggContext::new(keys)
            .map_err(|e| StepError::Check(format!("key aggregation: {e}")))?;
        let ctx = match tweak {
            Tweak::Bip86 => ctx.with_unspendable_taproot_tweak(),
            Tweak::XOnly(t) => {
                let s = musig2::secp::Scalar::from_slice(&t)
                    .map_err(|e| StepError::Check(format!("tweak: {e}")))?;
                ctx.with_xonly_tweak(s)
            }
        }
        .map_err(|e| StepError::Check(format!("tweak: {e}")))?;
        Ok(Musig {
            local,
            remote_sk,
            remote,
            tweak,
            ctx,
        })
    }

    fn final_key(&self) -> XOnlyPublicKey {
        let p: PublicKey = self.ctx.aggregated_pubkey();
        XOnlyPublicKey::from(p)
    }

    fn internal_key(&self) -> XOnlyPublicKey {
        let p: PublicKey = self.ctx.aggregated_pubkey_untweaked();
        XOnlyPublicKey::from(p)
    }

    /// P2TR output of the funding transaction.
    fn funding_output(&self, sat: u64) -> TxOut {
        TxOut {
            value: Amount::from_sat(sat),
            script_pubkey: ScriptBuf::new_p2tr_tweaked(
                bitcoin::key::TweakedPublicKey::dangerous_assume_tweaked(self.final_key()),
            ),
        }
    }

    fn request(&self, idx: u32, other_nonces: Vec<Vec<u8>>, pregenerated: Vec<u8>) -> Req {
        let (taproot_tweak, tweaks) = match self.tweak {
            Tweak::Bip86 => (
                Some(TaprootTweakDesc {
                    script_root: vec![],
                    key_spend_only: true,
                }),
                vec![],
            ),
            Tweak::XOnly(t) => (
                None,
                vec![TweakDesc {
                    tweak: t.to_vec(),
                    is_x_only: true,
                }],
            ),
        };
        Req::MuSig2SessionRequest(MuSig2SessionRequest {
            key_loc: Some(key_loc(0, idx)),
            all_signer_pubkeys: vec![
                self.local.serialize().to_vec(),
                self.remote.serialize().to_vec(),
            ],
            other_signer_public_nonces: other_nonces,
            tweaks,
            taproot_tweak,
            version: V100RC2,
            pregenerated_local_nonce: pregenerated,
        })
    }

    /// Checks the CreateSession answer; returns the local public nonce.
    fn check_session(
        &self,
        id: u64,
        r: &MuSig2SessionResponse,
        all_nonces: bool,
    ) -> Result<PubNonce, StepError> {
        let ctx = |m: String| StepError::Check(format!("request {id}: {m}"));
        if r.session_id.len() != 32 {
            return Err(ctx(format!(
                "session_id has {} bytes, want 32",
                r.session_id.len()
            )));
        }
        if r.combined_key != self.final_key().serialize() {
            return Err(ctx(format!(
                "combined_key {} != expected aggregate key {}",
                hex::encode(&r.combined_key),
                hex::encode(self.final_key().serialize())
            )));
        }
        let want_internal = match self.tweak {
            Tweak::Bip86 => self.internal_key().serialize().to_vec(),
            Tweak::XOnly(_) => vec![],
        };
        if r.taproot_internal_key != want_internal {
            return Err(ctx(format!(
                "taproot_internal_key {} != expected {}",
                hex::encode(&r.taproot_internal_key),
                hex::encode(&want_internal)
            )));
        }
        if r.have_all_nonces != all_nonces {
            return Err(ctx(format!(
                "have_all_nonces {} != {all_nonces}",
                r.have_all_nonces
            )));
        }
        if r.version != V100RC2 {
            return Err(ctx(format!("version {} != {V100RC2}", r.version)));
        }
        PubNonce::from_bytes(&r.local_public_nonces).map_err(|e| {
            ctx(format!(
                "local_public_nonces ({} bytes): {e}",
                r.local_public_nonces.len()
            ))
        })
    }

    /// Verifies the signer's partial signature, then aggregates it with the
    /// peer's and verifies the final BIP-340 signature. Returns (peer
    /// partial, final signature).
    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        sim: &Sim,
        id: u64,
        local_partial: &[u8],
        local_nonce: &PubNonce,
        remote_secnonce: SecNonce,
        agg: &AggNonce,
        msg: &[u8; 32],
    ) -> Result<(PartialSignature, [u8; 64]), StepError> {
        let ctx = |m: String| StepError::Check(format!("request {id}: {m}"));
        if local_partial.len() != 32 {
            return Err(ctx(format!(
                "partial signature has {} bytes, want 32",
                local_partial.len()
            )));
        }
        let lp = PartialSignature::from_slice(local_partial)
            .map_err(|e| ctx(format!("partial signature: {e}")))?;
        musig2::verify_partial(&self.ctx, lp, agg, self.local, local_nonce, msg).map_err(|e| {
            ctx(format!(
                "partial signature does not verify (BIP-327 PartialSigVerify): {e}"
            ))
        })?;
        let rp: PartialSignature =
            musig2::sign_partial(&self.ctx, self.remote_sk, remote_secnonce, agg, msg)
                .map_err(|e| StepError::Check(format!("peer partial signature: {e}")))?;
        let sig: bitcoin::secp256k1::schnorr::Signature =
            musig2::aggregate_partial_signatures(&self.ctx, agg, [lp, rp], msg)
                .map_err(|e| ctx(format!("aggregated signature invalid: {e}")))?;
        let bytes = sig.serialize();
        verify_schnorr(&sim.secp, &bytes, *msg, &self.final_key()).map_err(ctx)?;
        Ok((rp, bytes))
    }
}

fn session_of(resp: Resp) -> Result<MuSig2SessionResponse, StepError> {
    match resp {
        Resp::MuSig2SessionResponse(r) => Ok(r),
        _ => Err(StepError::Check("not a MuSig2 session response".into())),
    }
}

/// A fresh secret nonce for `pk`.
fn fresh_secnonce(pk: PublicKey) -> SecNonce {
    SecNonce::build_with_pubkey(random32(), pk).build()
}

/// The BIP-341 key-spend sighash of input 0 of `tx` spending `prevout`.
fn keyspend_digest(tx: &Transaction, prevout: &TxOut) -> Result<[u8; 32], StepError> {
    let mut cache = bitcoin::sighash::SighashCache::new(tx);
    let h = cache
        .taproot_key_spend_signature_hash(
            0,
            &bitcoin::sighash::Prevouts::All(std::slice::from_ref(prevout)),
            bitcoin::sighash::TapSighashType::Default,
        )
        .map_err(|e| StepError::Check(format!("sighash: {e}")))?;
    Ok(h.to_byte_array())
}

/// The node's commitment signing: CreateSession with a pre-generated (JIT)
/// local nonce and the peer's nonce, Sign, and (when `combine`) CombineSig
/// with the peer's partial signature.
async fn musig_commitment(
    sim: &Sim,
    idx: u32,
    m: &Musig,
    tx: &Transaction,
    prevout: &TxOut,
    combine: bool,
) -> StepResult {
    let digest = keyspend_digest(tx, prevout)?;
    let local_sec = fresh_secnonce(m.local);
    let remote_sec = fresh_secnonce(m.remote);
    let (detail, _) =
        musig_sign_with(sim, idx, m, &local_sec, &remote_sec, &digest, combine).await?;
    Ok(detail)
}

/// CreateSession with `local_sec` as the pre-generated local nonce and the
/// public nonce of `remote_sec` (the peer's), Sign `digest` (`cleanup=false`)
/// and, when `combine`, CombineSig with the peer's partial signature; every
/// answer verified. Returns the request ids and the local partial signature.
async fn musig_sign_with(
    sim: &Sim,
    idx: u32,
    m: &Musig,
    local_sec: &SecNonce,
    remote_sec: &SecNonce,
    digest: &[u8; 32],
    combine: bool,
) -> Result<(String, Vec<u8>), StepError> {
    let local_pub = local_sec.public_nonce();
    let remote_pub = remote_sec.public_nonce();
    let (id1, r) = sim
        .call(m.request(
            idx,
            vec![remote_pub.to_bytes().to_vec()],
            local_sec.to_bytes().to_vec(),
        ))
        .await?;
    let session = session_of(r)?;
    let got_nonce = m.check_session(id1, &session, true)?;
    check(got_nonce == local_pub, || {
        format!("request {id1}: local_public_nonces do not match the pre-generated nonce")
    })?;
    let (id2, r) = sim
        .call(Req::MuSig2SignRequest(MuSig2SignRequest {
            session_id: session.session_id.clone(),
            message_digest: digest.to_vec(),
            cleanup: false,
        }))
        .await?;
    let Resp::MuSig2SignResponse(sign) = r else {
        return Err(StepError::Check(format!(
            "request {id2}: not a sign response"
        )));
    };
    let agg = AggNonce::sum([local_pub.clone(), remote_pub]);
    let (rp, final_sig) = m.finish(
        sim,
        id2,
        &sign.local_partial_signature,
        &local_pub,
        remote_sec.clone(),
        &agg,
        digest,
    )?;
    if !combine {
        return Ok((
            format!("requests {id1}, {id2}"),
            sign.local_partial_signature,
        ));
    }
    let (id3, r) = sim
        .call(Req::MuSig2CombineSigRequest(MuSig2CombineSigRequest {
            session_id: session.session_id,
            other_partial_signatures: vec![rp.serialize().to_vec()],
        }))
        .await?;
    let Resp::MuSig2CombineSigResponse(c) = r else {
        return Err(StepError::Check(format!(
            "request {id3}: not a combine response"
        )));
    };
    check(c.have_all_signatures, || {
        format!("request {id3}: have_all_signatures is false")
    })?;
    verify_schnorr(&sim.secp, &c.final_signature, *digest, &m.final_key())
        .map_err(|e| StepError::Check(format!("request {id3}: final signature: {e}")))?;
    check(c.final_signature == final_sig, || {
        format!("request {id3}: final signature differs from the BIP-327 aggregate of the two partial signatures")
    })?;
    Ok((
        format!("requests {id1}, {id2}, {id3}"),
        sign.local_partial_signature,
    ))
}

/// Our local commitment of a taproot channel as lnd's `GetSignedCommitTx`
/// (`lnwallet/channel.go`) signs it: the session is re-created from the
/// pre-generated verification nonce of the commitment's height (lnd
/// derives it with its shachain nonce producer; random here) and the peer's
/// signing nonce from its `commit_sig`; the peer's partial signature (also
/// from `commit_sig`) completes it.
struct LocalCommit {
    verification: SecNonce,
    peer_signing: SecNonce,
    digest: [u8; 32],
    /// The local partial signature of the first `GetSignedCommitTx`.
    first_partial: std::sync::Mutex<Option<Vec<u8>>>,
}

impl LocalCommit {
    fn new(m: &Musig, tx: &Transaction, prevout: &TxOut) -> Result<Self, StepError> {
        Ok(LocalCommit {
            verification: fresh_secnonce(m.local),
            peer_signing: fresh_secnonce(m.remote),
            digest: keyspend_digest(tx, prevout)?,
            first_partial: std::sync::Mutex::new(None),
        })
    }

    /// lnd's `GetSignedCommitTx`: create + sign + combine. Every call after
    /// the first must give the same partial signature (same nonce, same
    /// peer nonce, same keys, same digest).
    async fn get_signed_commit_tx(&self, sim: &Sim, idx: u32, m: &Musig) -> StepResult {
        let (detail, partial) = musig_sign_with(
            sim,
            idx,
            m,
            &self.verification,
            &self.peer_signing,
            &self.digest,
            true,
        )
        .await?;
        let mut first = self
            .first_partial
            .lock()
            .map_err(|_| StepError::Check("first partial signature lock poisoned".into()))?;
        match first.as_ref() {
            None => {
                *first = Some(partial);
                Ok(detail)
            }
            Some(p) if *p == partial => Ok(format!("{detail}, the same partial signature")),
            Some(p) => Err(StepError::Check(format!(
                "{detail}: partial signature {} differs from {} of the first GetSignedCommitTx with the same nonce and digest",
                hex::encode(&partial),
                hex::encode(p)
            ))),
        }
    }

    /// The verification nonce asked to sign another digest (same keys, same
    /// peer nonce): the signer must refuse (two challenges signed with one
    /// secret nonce reveal the funding key). CreateSession may succeed;
    /// the refusal must come at the latest at Sign.
    async fn reuse_for_another_digest(&self, sim: &Sim, idx: u32, m: &Musig) -> StepResult {
        let mut other = random32();
        if other == self.digest {
            other[0] ^= 1;
        }
        let refused = |ids: String, at: &str, text: &str| -> StepResult {
            Ok(format!("{ids}: {at} refused as expected: {text}"))
        };
        let created = sim
            .call(m.request(
                idx,
                vec![self.peer_signing.public_nonce().to_bytes().to_vec()],
                self.verification.to_bytes().to_vec(),
            ))
            .await;
        let (id1, r) = match created {
            Err(RequestError::Signer(id, text)) => {
                return refused(format!("request {id}"), "CreateSession", &text)
            }
            other => other?,
        };
        let session = session_of(r)?;
        m.check_session(id1, &session, true)?;
        match sim
            .call(Req::MuSig2SignRequest(MuSig2SignRequest {
                session_id: session.session_id,
                message_digest: other.to_vec(),
                cleanup: false,
            }))
            .await
        {
            Err(RequestError::Signer(id2, text)) => {
                refused(format!("requests {id1}, {id2}"), "Sign", &text)
            }
            Ok((id2, _)) => Err(StepError::Check(format!(
                "request {id2}: the signer signed a second digest with the verification nonce it already signed the commitment with (nonce reuse reveals the funding key)"
            ))),
            Err(e) => Err(e.into()),
        }
    }
}

/// A session created only to verify the peer's signature: never signed nor
/// cleaned up by the node.
async fn musig_verify_session(sim: &Sim, idx: u32, m: &Musig) -> StepResult {
    let local_sec = fresh_secnonce(m.local);
    let remote_pub = fresh_secnonce(m.remote).public_nonce();
    let (id, r) = sim
        .call(m.request(
            idx,
            vec![remote_pub.to_bytes().to_vec()],
            local_sec.to_bytes().to_vec(),
        ))
        .await?;
    let got = m.check_session(id, &session_of(r)?, true)?;
    check(got == local_sec.public_nonce(), || {
        format!("request {id}: local_public_nonces do not match the pre-generated nonce")
    })?;
    Ok(format!("request {id}"))
}

/// Apps: CreateSession without nonces, RegisterNonces, GetCombinedNonce,
/// Sign, CombineSig (generic x-only tweak or BIP-86).
async fn app_register_nonces(sim: &Sim, idx: u32, tweak: Tweak) -> StepResult {
    let m = Musig::new(
        sim,
        sim.keys()?.family_key(0, idx)?.pubkey,
        random_secret()?,
        tweak,
    )?;
    let (id1, r) = sim.call(m.request(idx, vec![], vec![])).await?;
    let session = session_of(r)?;
    let local_pub = m.check_session(id1, &session, false)?;
    let remote_sec = fresh_secnonce(m.remote);
    let remote_pub = remote_sec.public_nonce();
    let (id2, r) = sim
        .call(Req::MuSig2RegisterNoncesRequest(
            MuSig2RegisterNoncesRequest {
                session_id: session.session_id.clone(),
                other_signer_public_nonces: vec![remote_pub.to_bytes().to_vec()],
            },
        ))
        .await?;
    let Resp::MuSig2RegisterNoncesResponse(rn) = r else {
        return Err(StepError::Check(format!(
            "request {id2}: not a register-nonces response"
        )));
    };
    check(rn.have_all_nonces, || {
        format!("request {id2}: have_all_nonces is false")
    })?;
    let agg = AggNonce::sum([local_pub.clone(), remote_pub]);
    let (id3, r) = sim
        .call(Req::MuSig2GetCombinedNoncesReq(
            MuSig2GetCombinedNonceRequest {
                session_id: session.session_id.clone(),
            },
        ))
        .await?;
    let Resp::MuSig2GetCombNoncesResp(gc) = r else {
        return Err(StepError::Check(format!(
            "request {id3}: not a get-combined-nonce response"
        )));
    };
    check(gc.combined_public_nonce == agg.to_bytes(), || {
        format!("request {id3}: combined nonce is not NonceAgg(local, peer)")
    })?;
    let msg = random32();
    let (id4, r) = sim
        .call(Req::MuSig2SignRequest(MuSig2SignRequest {
            session_id: session.session_id.clone(),
            message_digest: msg.to_vec(),
            cleanup: false,
        }))
        .await?;
    let Resp::MuSig2SignResponse(sign) = r else {
        return Err(StepError::Check(format!(
            "request {id4}: not a sign response"
        )));
    };
    let (rp, final_sig) = m.finish(
        sim,
        id4,
        &sign.local_partial_signature,
        &local_pub,
        remote_sec,
        &agg,
        &msg,
    )?;
    let (id5, r) = sim
        .call(Req::MuSig2CombineSigRequest(MuSig2CombineSigRequest {
            session_id: session.session_id,
            other_partial_signatures: vec![rp.serialize().to_vec()],
        }))
        .await?;
    let Resp::MuSig2CombineSigResponse(c) = r else {
        return Err(StepError::Check(format!(
            "request {id5}: not a combine response"
        )));
    };
    check(
        c.have_all_signatures && c.final_signature == final_sig,
        || {
            format!("request {id5}: final signature missing or not the aggregate of the partial signatures")
        },
    )?;
    Ok(format!("requests {id1}..{id5}"))
}

/// Apps: RegisterCombinedNonce instead of the peer's nonce, then Sign.
async fn app_register_combined(sim: &Sim, idx: u32) -> StepResult {
    let m = Musig::new(
        sim,
        sim.keys()?.family_key(0, idx)?.pubkey,
        random_secret()?,
        Tweak::Bip86,
    )?;
    let (id1, r) = sim.call(m.request(idx, vec![], vec![])).await?;
    let session = session_of(r)?;
    let local_pub = m.check_session(id1, &session, false)?;
    let remote_sec = fresh_secnonce(m.remote);
    let agg = AggNonce::sum([local_pub.clone(), remote_sec.public_nonce()]);
    let (id2, r) = sim
        .call(Req::MuSig2CombinedNoncesReq(
            MuSig2RegisterCombinedNonceRequest {
                session_id: session.session_id.clone(),
                combined_public_nonce: agg.to_bytes().to_vec(),
            },
        ))
        .await?;
    check(matches!(r, Resp::MuSig2CombNoncesResp(_)), || {
        format!("request {id2}: not a register-combined-nonce response")
    })?;
    let msg = random32();
    let (id3, r) = sim
        .call(Req::MuSig2SignRequest(MuSig2SignRequest {
            session_id: session.session_id,
            message_digest: msg.to_vec(),
            cleanup: true,
        }))
        .await?;
    let Resp::MuSig2SignResponse(sign) = r else {
        return Err(StepError::Check(format!(
            "request {id3}: not a sign response"
        )));
    };
    m.finish(
        sim,
        id3,
        &sign.local_partial_signature,
        &local_pub,
        remote_sec,
        &agg,
        &msg,
    )?;
    Ok(format!("requests {id1}, {id2}, {id3}"))
}

/// Apps: Cleanup deletes the session (a later Sign must fail).
async fn app_cleanup(sim: &Sim, idx: u32) -> StepResult {
    let m = Musig::new(
        sim,
        sim.keys()?.family_key(0, idx)?.pubkey,
        random_secret()?,
        Tweak::Bip86,
    )?;
    let remote_pub = fresh_secnonce(m.remote).public_nonce();
    let (id1, r) = sim
        .call(m.request(idx, vec![remote_pub.to_bytes().to_vec()], vec![]))
        .await?;
    let session = session_of(r)?;
    m.check_session(id1, &session, true)?;
    let (id2, r) = sim
        .call(Req::MuSig2CleanupRequest(MuSig2CleanupRequest {
            session_id: session.session_id.clone(),
        }))
        .await?;
    check(matches!(r, Resp::MuSig2CleanupResponse(_)), || {
        format!("request {id2}: not a cleanup response")
    })?;
    match sim
        .call(Req::MuSig2SignRequest(MuSig2SignRequest {
            session_id: session.session_id,
            message_digest: random32().to_vec(),
            cleanup: false,
        }))
        .await
    {
        Err(RequestError::Signer(id3, _)) => Ok(format!(
            "requests {id1}, {id2}, {id3} (signer_error as expected)"
        )),
        Ok((id3, _)) => Err(StepError::Check(format!(
            "request {id3}: signing on a cleaned-up session succeeded"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// P2TR output with internal key `internal` and the given leaves (one or two).
fn p2tr_tree(
    sim: &Sim,
    internal: XOnlyPublicKey,
    leaves: &[&ScriptBuf],
    sat: u64,
) -> Result<TxOut, StepError> {
    let mut b = TaprootBuilder::new();
    let depth = if leaves.len() > 1 { 1 } else { 0 };
    for l in leaves {
        b = b
            .add_leaf(depth, (*l).clone())
            .map_err(|e| StepError::Check(format!("taproot tree: {e}")))?;
    }
    let info = b
        .finalize(&sim.secp, internal)
        .map_err(|_| StepError::Check("taproot tree incomplete".into()))?;
    Ok(TxOut {
        value: Amount::from_sat(sat),
        script_pubkey: ScriptBuf::new_p2tr_tweaked(info.output_key()),
    })
}

fn script_spec(
    input: usize,
    key: &crate::sim::accounts::DerivedKey,
    utxo: TxOut,
    leaf: &ScriptBuf,
    sighash: u32,
    single: Option<[u8; 32]>,
    double: Option<SecretKey>,
) -> SignSpec {
    SignSpec {
        input,
        key: key.clone(),
        utxo,
        prev_tx: None,
        sighash,
        redeem_script: None,
        witness_script: Some(leaf.clone()),
        single_tweak: single,
        double_tweak: double,
        spend: Spend::TaprootScript { leaf: leaf.clone() },
    }
}

async fn sign_one(sim: &Sim, tx: &Transaction, prevouts: &[TxOut], spec: &SignSpec) -> StepResult {
    let (id, _) = sign_psbt(sim, tx, prevouts, &[spec]).await?;
    Ok(format!("request {id}"))
}

async fn taproot_channel(sim: &Sim, round: u32) -> Result<(), StepError> {
    let idx = sim.alloc_channel();
    let tag = format!("[taproot-channel {idx}]");
    let keys = LocalKeys::derive(sim, idx)?;
    let remote = RemoteKeys::random()?;
    let m = Musig::new(sim, keys.funding.pubkey, remote.funding, Tweak::Bip86)?;

    // Open: brontide, revocation root, P2TR funding inputs.
    let l = format!("{tag} open: brontide ECDH 6/0");
    sim.step(&l, || node_ecdh(sim, "brontide")).await;
    let w = sim.alloc_wallet(2);
    let a = WalletCoin::new(sim, WalletKind::P2tr, w, 600_000)?;
    let b = WalletCoin::new(sim, WalletKind::P2tr, w + 1, 450_000)?;
    let funding_out = m.funding_output(1_000_000);
    let mut ftx = make_tx(
        &[
            (a.outpoint(), Sequence::ENABLE_RBF_NO_LOCKTIME),
            (b.outpoint(), Sequence::ENABLE_RBF_NO_LOCKTIME),
        ],
        vec![funding_out.clone(), foreign_output(48_000)?],
        0,
    );
    let prev = vec![a.txout(), b.txout()];
    compute_input_scripts(
        sim,
        &format!("{tag} open: funding tx"),
        &mut ftx,
        &prev,
        &[(0, a), (1, b)],
    )
    .await;
    let funding_op = OutPoint {
        txid: ftx.compute_txid(),
        vout: 0,
    };

    // First commitment and updates: verification session + signing session
    // per remote commitment, HTLC signatures (script path, single tweak,
    // SIGHASH_SINGLE|ANYONECANPAY) concurrently.
    for n in 0..=2u64 {
        let number = n + u64::from(round) * 10;
        let pcp_remote = pubkey(sim, &random_secret()?);
        let our_htlc = tweak_pubkey(
            &sim.secp,
            &keys.htlc.pubkey,
            &single_tweak(&pcp_remote, &keys.htlc.pubkey),
        )?;
        let their_htlc_base = pubkey(sim, &remote.htlc);
        let their_htlc = tweak_pubkey(
            &sim.secp,
            &their_htlc_base,
            &single_tweak(&pcp_remote, &their_htlc_base),
        )?;
        let revocation =
            revocation_pubkey_from_point(&sim.secp, &keys.revocation.pubkey, &pcp_remote)?;
        let timeout_leaf = taproot_htlc_timeout_leaf(&their_htlc, &our_htlc);
        let success_leaf = taproot_htlc_success_leaf(&our_htlc, &random32());
        let htlcs = if n == 0 { 0 } else { 2 };
        let mut outputs = vec![p2tr_tree(
            sim,
            nums_point()?,
            &[&taproot_to_remote_leaf(&keys.payment.pubkey)],
            400_000,
        )?];
        for h in 0..htlcs {
            outputs.push(p2tr_tree(
                sim,
                XOnlyPublicKey::from(revocation),
                &[&timeout_leaf, &success_leaf],
                20_000 + h as u64,
            )?);
        }
        let ctx_tx = commitment_tx(funding_op, outputs.clone(), number);
        let what = if n == 0 {
            "first commitment".to_string()
        } else {
            format!("update {n}")
        };
        let l_verify =
            format!("{tag} {what}: MuSig2 session to verify the peer's signature (never signed)");
        let l_sign = format!("{tag} {what}: MuSig2 commitment signature 0/{idx} (create + sign)");
        sim.step(&l_verify, || musig_verify_session(sim, idx, &m))
            .await;
        sim.step(&l_sign, || {
            musig_commitment(sim, idx, &m, &ctx_tx, &funding_out, false)
        })
        .await;
        let ctx_id = ctx_tx.compute_txid();
        let labels: Vec<String> = (0..htlcs)
            .map(|h| format!("{tag} {what}: taproot HTLC signature 2/{idx} + single tweak, script path (output {})", h + 1))
            .collect();
        let tweak = single_tweak(&pcp_remote, &keys.htlc.pubkey);
        let specs: Vec<(Transaction, TxOut, SignSpec)> = (0..htlcs)
            .map(|h| {
                let utxo = outputs[h + 1].clone();
                let tx = make_tx(
                    &[(
                        OutPoint {
                            txid: ctx_id,
                            vout: (h + 1) as u32,
                        },
                        Sequence(1),
                    )],
                    vec![TxOut {
                        value: Amount::from_sat(19_000),
                        script_pubkey: utxo.script_pubkey.clone(),
                    }],
                    800_200,
                );
                let spec = script_spec(
                    0,
                    &keys.htlc,
                    utxo.clone(),
                    &timeout_leaf,
                    0x83,
                    Some(tweak),
                    None,
                );
                (tx, utxo, spec)
            })
            .collect();
        let steps = specs.iter().zip(&labels).map(|((tx, utxo, spec), l)| {
            sim.step(l, move || {
                sign_one(sim, tx, std::slice::from_ref(utxo), spec)
            })
        });
        futures_util::future::join_all(steps).await;
    }

    // Force close of our commitment: create + sign + combine.
    let pcp_local = pubkey(sim, &random_secret()?);
    let delay_tweak = single_tweak(&pcp_local, &keys.delay.pubkey);
    let our_delayed = tweak_pubkey(&sim.secp, &keys.delay.pubkey, &delay_tweak)?;
    let their_rev_base = pubkey(sim, &remote.revocation);
    let our_revocation = revocation_pubkey_from_point(&sim.secp, &their_rev_base, &pcp_local)?;
    let delay_leaf = taproot_to_local_delay_leaf(&our_delayed, TO_SELF_DELAY);
    let revoke_leaf = taproot_to_local_revoke_leaf(&our_delayed, &our_revocation);
    let anchor_leaf = taproot_anchor_leaf();
    let anchor_root = TapNodeHash::from(TapLeafHash::from_script(
        &anchor_leaf,
        LeafVersion::TapScript,
    ));
    let (anchor_key, _) = XOnlyPublicKey::from(our_delayed).tap_tweak(&sim.secp, Some(anchor_root));
    let to_local_out = p2tr_tree(sim, nums_point()?, &[&delay_leaf, &revoke_leaf], 550_000)?;
    let anchor_out = TxOut {
        value: Amount::from_sat(330),
        script_pubkey: ScriptBuf::new_p2tr_tweaked(anchor_key),
    };
    let ours = commitment_tx(
        funding_op,
        vec![
            anchor_out.clone(),
            to_local_out.clone(),
            foreign_output(440_000)?,
        ],
        99,
    );
    let l = format!("{tag} force close: our commitment, MuSig2 create + sign + combine");
    sim.step(&l, || {
        musig_commitment(sim, idx, &m, &ours, &funding_out, true)
    })
    .await;
    let ours_id = ours.compute_txid();

    let sweep = make_tx(
        &[(
            OutPoint {
                txid: ours_id,
                vout: 1,
            },
            Sequence(u32::from(TO_SELF_DELAY)),
        )],
        vec![wallet_output(sim, 548_000)?],
        0,
    );
    let s_local = script_spec(
        0,
        &keys.delay,
        to_local_out.clone(),
        &delay_leaf,
        0,
        Some(delay_tweak),
        None,
    );
    let l = format!("{tag} force close: to_local sweep 4/{idx} + single tweak, script path");
    sim.step(&l, || {
        sign_one(sim, &sweep, std::slice::from_ref(&to_local_out), &s_local)
    })
    .await;

    let anchor_tx = make_tx(
        &[(
            OutPoint {
                txid: ours_id,
                vout: 0,
            },
            Sequence::ENABLE_RBF_NO_LOCKTIME,
        )],
        vec![wallet_output(sim, 300)?],
        0,
    );
    let s_anchor = SignSpec {
        input: 0,
        key: keys.delay.clone(),
        utxo: anchor_out.clone(),
        prev_tx: None,
        sighash: 0,
        redeem_script: None,
        witness_script: None,
        single_tweak: Some(delay_tweak),
        double_tweak: None,
        spend: Spend::TaprootKey {
            merkle_root: Some(anchor_root),
        },
    };
    let l = format!("{tag} force close: anchor key spend with script root, 4/{idx} + single tweak");
    sim.step(&l, || {
        sign_one(
            sim,
            &anchor_tx,
            std::slice::from_ref(&anchor_out),
            &s_anchor,
        )
    })
    .await;

    let to_remote_leaf = taproot_to_remote_leaf(&keys.payment.pubkey);
    let to_remote_out = p2tr_tree(sim, nums_point()?, &[&to_remote_leaf], 400_000)?;
    let tr_tx = make_tx(
        &[(random_outpoint(0), Sequence(1))],
        vec![wallet_output(sim, 399_000)?],
        0,
    );
    let s_remote = script_spec(
        0,
        &keys.payment,
        to_remote_out.clone(),
        &to_remote_leaf,
        0,
        None,
        None,
    );
    let l = format!("{tag} force close: to_remote sweep 3/{idx} (untweaked), script path");
    sim.step(&l, || {
        sign_one(sim, &tr_tx, std::slice::from_ref(&to_remote_out), &s_remote)
    })
    .await;

    // Justice on a revoked remote commitment: revocation leaf, double tweak.
    let secret = random_secret()?;
    let point = pubkey(sim, &secret);
    let rev = revocation_pubkey_from_point(&sim.secp, &keys.revocation.pubkey, &point)?;
    let their_delay_base = pubkey(sim, &remote.delay);
    let their_delayed = tweak_pubkey(
        &sim.secp,
        &their_delay_base,
        &single_tweak(&point, &their_delay_base),
    )?;
    let j_leaf = taproot_to_local_revoke_leaf(&their_delayed, &rev);
    let j_out = p2tr_tree(
        sim,
        nums_point()?,
        &[
            &taproot_to_local_delay_leaf(&their_delayed, TO_SELF_DELAY),
            &j_leaf,
        ],
        380_000,
    )?;
    let j_tx = make_tx(
        &[(random_outpoint(1), Sequence::ENABLE_RBF_NO_LOCKTIME)],
        vec![wallet_output(sim, 379_000)?],
        0,
    );
    let s_j = script_spec(
        0,
        &keys.revocation,
        j_out.clone(),
        &j_leaf,
        0,
        None,
        Some(secret),
    );
    let l = format!("{tag} justice: revoked to_local, 1/{idx} + double tweak, script path");
    sim.step(&l, || {
        sign_one(sim, &j_tx, std::slice::from_ref(&j_out), &s_j)
    })
    .await;
    Ok(())
}

/// A taproot channel force-closed before any update, as lnd drives it: the
/// session to verify the peer's signature of our first commitment (never
/// signed), `ValidateChannel` when the funding confirms and `ForceClose`
/// later, both through `GetSignedCommitTx` on that same commitment (the same
/// verification nonce signs the same digest twice), then the same nonce
/// asked to sign another digest, which must be refused.
async fn taproot_force_close_unused(sim: &Sim) -> Result<(), StepError> {
    let idx = sim.alloc_channel();
    let tag = format!("[taproot-channel {idx}]");
    let keys = LocalKeys::derive(sim, idx)?;
    let remote = RemoteKeys::random()?;
    let m = Musig::new(sim, keys.funding.pubkey, remote.funding, Tweak::Bip86)?;
    let funding_out = m.funding_output(700_000);
    let funding_op = random_outpoint(0);
    let pcp_local = pubkey(sim, &random_secret()?);
    let our_delayed = tweak_pubkey(
        &sim.secp,
        &keys.delay.pubkey,
        &single_tweak(&pcp_local, &keys.delay.pubkey),
    )?;
    let their_rev_base = pubkey(sim, &remote.revocation);
    let our_revocation = revocation_pubkey_from_point(&sim.secp, &their_rev_base, &pcp_local)?;
    let to_local = p2tr_tree(
        sim,
        nums_point()?,
        &[
            &taproot_to_local_delay_leaf(&our_delayed, TO_SELF_DELAY),
            &taproot_to_local_revoke_leaf(&our_delayed, &our_revocation),
        ],
        699_000,
    )?;
    let first = commitment_tx(funding_op, vec![to_local], 0);
    let lc = LocalCommit::new(&m, &first, &funding_out)?;

    let l = format!("{tag} first commitment: MuSig2 session to verify the peer's signature with the verification nonce of height 0 (never signed)");
    sim.step(&l, || async {
        let (id, r) = sim
            .call(m.request(
                idx,
                vec![lc.peer_signing.public_nonce().to_bytes().to_vec()],
                lc.verification.to_bytes().to_vec(),
            ))
            .await?;
        let got = m.check_session(id, &session_of(r)?, true)?;
        check(got == lc.verification.public_nonce(), || {
            format!("request {id}: local_public_nonces do not match the verification nonce")
        })?;
        Ok(format!("request {id}"))
    })
    .await;
    let l = format!("{tag} funding confirmed (ValidateChannel): GetSignedCommitTx of the first commitment, MuSig2 create with the verification nonce + sign + combine 0/{idx}");
    sim.step(&l, || lc.get_signed_commit_tx(sim, idx, &m)).await;
    let l = format!("{tag} force close (ForceClose): GetSignedCommitTx again, the same verification nonce and commitment, create + sign + combine 0/{idx}");
    sim.step(&l, || lc.get_signed_commit_tx(sim, idx, &m)).await;
    let l = format!("{tag} force close: the verification nonce for another digest must be refused (nonce reuse)");
    sim.step(&l, || lc.reuse_for_another_digest(sim, idx, &m))
        .await;
    Ok(())
}

async fn taproot_coop(sim: &Sim) -> Result<(), StepError> {
    let idx = sim.alloc_channel();
    let tag = format!("[taproot-channel {idx}]");
    let keys = LocalKeys::derive(sim, idx)?;
    let remote = RemoteKeys::random()?;
    let m = Musig::new(sim, keys.funding.pubkey, remote.funding, Tweak::Bip86)?;
    let funding_out = m.funding_output(800_000);
    let close = make_tx(
        &[(random_outpoint(0), Sequence::MAX)],
        vec![foreign_output(300_000)?, foreign_output(499_000)?],
        0,
    );
    let l = format!("{tag} cooperative close: MuSig2 create + sign + combine 0/{idx}");
    sim.step(&l, || {
        musig_commitment(sim, idx, &m, &close, &funding_out, true)
    })
    .await;
    Ok(())
}

async fn report_setup(sim: &Sim, r: Result<(), StepError>) {
    if let Err(e) = r {
        sim.step("[taproot-channel] setup", || async {
            Err::<String, _>(StepError::Check(e.to_string()))
        })
        .await;
    }
}

/// One round: a taproot channel's life, one force-closed before any update,
/// a cooperatively closed one, and the app-level MuSig2 calls.
pub async fn run(sim: &Sim, round: u32) {
    let app = 100 + round;
    let l1 = format!("[musig2 app] 0/{app}: create, register_nonces, get_combined_nonce, sign, combine_sig (BIP-86)");
    let l2 = format!("[musig2 app] 0/{app}: create, register_nonces, get_combined_nonce, sign, combine_sig (x-only tweak)");
    let l3 = format!("[musig2 app] 0/{app}: create, register_combined_nonce, sign with cleanup");
    let l4 = format!("[musig2 app] 0/{app}: create, cleanup, sign must fail");
    let xt = random32();
    futures_util::join!(
        async { report_setup(sim, taproot_channel(sim, round).await).await },
        async { report_setup(sim, taproot_force_close_unused(sim).await).await },
        async { report_setup(sim, taproot_coop(sim).await).await },
        sim.step(&l1, || app_register_nonces(sim, app, Tweak::Bip86)),
        sim.step(&l2, || app_register_nonces(sim, app, Tweak::XOnly(xt))),
        sim.step(&l3, || app_register_combined(sim, app)),
        sim.step(&l4, || app_cleanup(sim, app)),
    );
}
