//! Gossip, invoice and message signatures (signing.md §2.3):
//! node_announcement / channel_update / channel_announcement (ECDSA, double
//! SHA-256, DER) with the node key 6/0 and a funding key 0/i, BOLT-11
//! invoices (compact, single SHA-256) and `lncli signmessage` (compact,
//! double SHA-256, prefixed). `run_apps` adds what apps send through the
//! node's signrpc: BIP-340 signatures with a tag and with a taproot tweak.

use bitcoin::hashes::Hash;
use bitcoin::key::TapTweak;
use bitcoin::secp256k1::{PublicKey, XOnlyPublicKey};
use bitcoin::taproot::TapNodeHash;
use lnd_web_signer::proto::signrpc::SignMessageReq;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;

use super::{key_loc, random32, Sim, StepError, StepResult};
use crate::sim::scripts::{sha256, sha256d, tagged_hash};
use crate::sim::verify::{verify_compact, verify_ecdsa_der, verify_schnorr};

/// Signature bytes of a SignMessage answer.
fn signature_of(resp: &Resp) -> Result<&[u8], StepError> {
    match resp {
        Resp::SignMessageResp(r) => Ok(&r.signature),
        _ => Err(StepError::Check("not a sign_message response".into())),
    }
}

fn node_announcement_data(node: &PublicKey, round: u32) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&[0, 2, 0x20, 0x00]); // features
    d.extend_from_slice(&(1_700_000_000u32 + round).to_be_bytes()); // timestamp
    d.extend_from_slice(&node.serialize());
    d.extend_from_slice(&[0x3d, 0x99, 0xff]); // rgb
    let mut alias = [0u8; 32];
    alias[..14].copy_from_slice(b"watchonly-sim ");
    d.extend_from_slice(&alias);
    d.extend_from_slice(&[0, 7, 1, 127, 0, 0, 1, 0x26, 0x07]); // one IPv4 address
    d
}

fn channel_update_data(scid: u64, round: u32) -> Vec<u8> {
    let mut d = Vec::new();
    d.extend_from_slice(&random32()); // chain hash (any)
    d.extend_from_slice(&scid.to_be_bytes());
    d.extend_from_slice(&(1_700_000_000u32 + round).to_be_bytes());
    d.extend_from_slice(&[1, 0]); // message/channel flags
    d.extend_from_slice(&80u16.to_be_bytes()); // cltv delta
    d.extend_from_slice(&1000u64.to_be_bytes()); // htlc min
    d.extend_from_slice(&1000u32.to_be_bytes()); // base fee
    d.extend_from_slice(&1u32.to_be_bytes()); // fee rate
    d.extend_from_slice(&990_000_000u64.to_be_bytes()); // htlc max
    d
}

fn channel_announcement_data(node: &PublicKey, remote: &PublicKey, fund: &PublicKey) -> Vec<u8> {
    let mut d = vec![0, 0]; // features
    d.extend_from_slice(&random32());
    d.extend_from_slice(&(800_000u64 << 40 | 1 << 16).to_be_bytes());
    d.extend_from_slice(&node.serialize());
    d.extend_from_slice(&remote.serialize());
    d.extend_from_slice(&fund.serialize());
    d.extend_from_slice(&remote.serialize());
    d
}

/// SignMessage, ECDSA DER, as `SignMessage(keyLoc, msg, doubleHash)`.
pub async fn sign_der(
    sim: &Sim,
    family: u32,
    index: u32,
    msg: &[u8],
    double_hash: bool,
) -> StepResult {
    let key = sim.keys()?.family_key(family, index)?.pubkey;
    let (id, resp) = sim
        .call(Req::SignMessageReq(SignMessageReq {
            msg: msg.to_vec(),
            key_loc: Some(key_loc(family, index)),
            double_hash,
            ..Default::default()
        }))
        .await?;
    let digest = if double_hash {
        sha256d(msg)
    } else {
        sha256(msg)
    };
    verify_ecdsa_der(&sim.secp, signature_of(&resp)?, digest, &key)
        .map_err(|e| StepError::Check(format!("request {id}: {e}")))?;
    Ok(format!("request {id}"))
}

/// SignMessage, compact recoverable, node key only (the node refuses other
/// families locally).
pub async fn sign_compact(sim: &Sim, msg: &[u8], double_hash: bool) -> StepResult {
    let key = sim.keys()?.node_key()?.pubkey;
    let (id, resp) = sim
        .call(Req::SignMessageReq(SignMessageReq {
            msg: msg.to_vec(),
            key_loc: Some(key_loc(6, 0)),
            double_hash,
            compact_sig: true,
            ..Default::default()
        }))
        .await?;
    let digest = if double_hash {
        sha256d(msg)
    } else {
        sha256(msg)
    };
    verify_compact(&sim.secp, signature_of(&resp)?, digest, &key)
        .map_err(|e| StepError::Check(format!("request {id}: {e}")))?;
    Ok(format!("request {id}"))
}

/// One round of gossip signatures.
pub async fn run(sim: &Sim, round: u32) {
    let node = match sim
        .keys()
        .and_then(|k| k.node_key().map_err(StepError::from))
    {
        Ok(k) => k.pubkey,
        Err(e) => {
            sim.step("[gossip] node key", || async {
                Err::<String, _>(StepError::Check(e.to_string()))
            })
            .await;
            return;
        }
    };
    let chan = sim.alloc_channel();
    let remote = PublicKey::from_secret_key(
        &sim.secp,
        &match super::random_secret() {
            Ok(k) => k,
            Err(_) => return,
        },
    );
    let fund = sim
        .keys()
        .ok()
        .and_then(|k| k.family_key(0, chan).ok())
        .map(|k| k.pubkey)
        .unwrap_or(node);
    let ann = node_announcement_data(&node, round);
    let upd = channel_update_data(u64::from(chan) + 1, round);
    let cann = channel_announcement_data(&node, &remote, &fund);
    let invoice = {
        let mut m = b"lnbcrt25u".to_vec();
        m.extend_from_slice(&random32());
        m.extend_from_slice(&[0x0b, 0x25, 0xfe, 0x64, 0x41, 0x0d, 0x00, 0x00]);
        m
    };
    let user_msg = {
        let mut m = b"Lightning Signed Message:".to_vec();
        m.extend_from_slice(format!("hello from watchonly-sim, round {round}").as_bytes());
        m
    };
    let c = chan;
    let l_bitcoin =
        format!("[gossip] channel_announcement bitcoin sig: sign_message 0/{c} double-hash DER");
    futures_util::join!(
        sim.step(
            "[gossip] node_announcement: sign_message 6/0 double-hash DER",
            || { sign_der(sim, 6, 0, &ann, true) }
        ),
        sim.step(
            "[gossip] channel_update: sign_message 6/0 double-hash DER",
            || { sign_der(sim, 6, 0, &upd, true) }
        ),
        sim.step(
            "[gossip] channel_announcement node sig: sign_message 6/0 double-hash DER",
            || { sign_der(sim, 6, 0, &cann, true) }
        ),
        sim.step(&l_bitcoin, || sign_der(sim, 0, c, &cann, true)),
        sim.step(
            "[gossip] BOLT-11 invoice: sign_message 6/0 single-hash compact",
            || { sign_compact(sim, &invoice, false) }
        ),
        sim.step(
            "[gossip] lncli signmessage: sign_message 6/0 double-hash compact",
            || { sign_compact(sim, &user_msg, true) }
        ),
    );
}

/// BIP-340 SignMessage as apps send it through signrpc (tag; taproot tweak).
async fn sign_schnorr(sim: &Sim, family: u32, index: u32, tagged: bool, tweak: bool) -> StepResult {
    let key = sim.keys()?.family_key(family, index)?.pubkey;
    let msg = random32().to_vec();
    let tag = if tagged {
        b"lnd-web-signer/sim".to_vec()
    } else {
        vec![]
    };
    let tap_tweak = if tweak { random32().to_vec() } else { vec![] };
    let (id, resp) = sim
        .call(Req::SignMessageReq(SignMessageReq {
            msg: msg.clone(),
            key_loc: Some(key_loc(family, index)),
            double_hash: false,
            compact_sig: false,
            schnorr_sig: true,
            schnorr_sig_tap_tweak: tap_tweak.clone(),
            tag: tag.clone(),
        }))
        .await?;
    let digest = if tagged {
        tagged_hash(&tag, &msg)
    } else {
        sha256(&msg)
    };
    let xonly = XOnlyPublicKey::from(key);
    let verify_key = if tweak {
        let mut root = [0u8; 32];
        root.copy_from_slice(&tap_tweak);
        let (tweaked, _) = xonly.tap_tweak(&sim.secp, Some(TapNodeHash::from_byte_array(root)));
        tweaked.to_x_only_public_key()
    } else {
        xonly
    };
    verify_schnorr(&sim.secp, signature_of(&resp)?, digest, &verify_key)
        .map_err(|e| StepError::Check(format!("request {id}: {e}")))?;
    Ok(format!("request {id}"))
}

/// What apps (loop, pool, tapd …) send through the node's signrpc.
pub async fn run_apps(sim: &Sim, round: u32) {
    let idx = round;
    let l_tweak = format!("[apps] sign_message 212/{idx} schnorr, taproot tweak");
    let l_der = format!("[apps] sign_message 42/{idx} single-hash DER");
    futures_util::join!(
        sim.step("[apps] sign_message 6/0 schnorr, tagged", || {
            sign_schnorr(sim, 6, 0, true, false)
        }),
        sim.step(&l_tweak, || sign_schnorr(sim, 212, idx, false, true)),
        sim.step(&l_der, || async {
            let m = random32();
            sign_der(sim, 42, idx, &m, false).await
        }),
    );
}
