//! Requests the signer cannot handle (end-to-end fault tests). A real
//! watch-only node does not send these; they stand in for a request the
//! signer does not support or cannot parse. Each must be answered with
//! `signer_error` (not a dropped stream, not a wrong member), and afterwards
//! the same stream must still answer a ping and a valid SignMessage: the
//! step fails if the signer reconnected in between.

use std::sync::atomic::Ordering;

use lnd_web_signer::proto::signrpc::{KeyDescriptor, MuSig2SignRequest, SharedKeyRequest};
use lnd_web_signer::proto::walletrpc::SignPsbtRequest;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;

use super::gossip::sign_der;
use super::{key_loc, random32, Sim, StepError, StepResult};
use crate::sim::coordinator::RequestError;

/// The bad requests, with a label each.
fn bad_requests() -> Vec<(&'static str, Req)> {
    vec![
        (
            "SignPsbt with bytes that are not a PSBT",
            Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: b"this is not a psbt".to_vec(),
            }),
        ),
        (
            "SharedKey with an ephemeral key that is not a curve point",
            Req::SharedKeyRequest(SharedKeyRequest {
                ephemeral_pubkey: vec![0x05; 33],
                key_loc: None,
                key_desc: Some(KeyDescriptor {
                    raw_key_bytes: vec![],
                    key_loc: Some(key_loc(6, 0)),
                }),
            }),
        ),
        (
            "MuSig2Sign for a session the signer never created",
            Req::MuSig2SignRequest(MuSig2SignRequest {
                session_id: random32().to_vec(),
                message_digest: random32().to_vec(),
                cleanup: false,
            }),
        ),
    ]
}

async fn bad_then_good(sim: &Sim, req: Req) -> StepResult {
    let handshakes = sim.coord.stats.handshakes.load(Ordering::SeqCst);
    let (id, text) = match sim.call(req).await {
        Err(RequestError::Signer(id, text)) if !text.trim().is_empty() => (id, text),
        Err(RequestError::Signer(id, _)) => {
            return Err(StepError::Check(format!(
                "request {id}: signer_error without a message"
            )))
        }
        Ok((id, _)) => {
            return Err(StepError::Check(format!(
                "request {id}: answered as if it were valid"
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let (ping_id, _) = sim
        .call(Req::Ping(true))
        .await
        .map_err(|e| StepError::Check(format!("ping after the signer_error: {e}")))?;
    let good = sign_der(sim, 6, 0, &random32(), true)
        .await
        .map_err(|e| StepError::Check(format!("valid SignMessage after the signer_error: {e}")))?;
    let now = sim.coord.stats.handshakes.load(Ordering::SeqCst);
    if now != handshakes {
        return Err(StepError::Check(format!(
            "request {id}: the signer reconnected ({} new handshakes) instead of keeping the stream",
            now - handshakes
        )));
    }
    Ok(format!(
        "request {id} signer_error {text:?}, then ping {ping_id} and SignMessage {good} on the same stream"
    ))
}

/// One round: every bad request in turn, each followed by good ones.
pub async fn run(sim: &Sim, round: u32) {
    for (label, req) in bad_requests() {
        let l = format!("[errors {round}] {label}: signer_error, stream stays up");
        sim.step(&l, || bad_then_good(sim, req.clone())).await;
    }
}
