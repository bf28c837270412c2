//! Public descriptions of the signer's traffic, for the activity log of the
//! signer tab (`web/`, through the wasm crate's `StreamInspector`): kind,
//! request id, key family/index, PSBT inputs and outputs with amounts and
//! addresses, signed inputs, error texts. A description never carries key
//! material, nonces, signatures or shared secrets.
//!
//! * [`describe_request`] / [`describe_psbt`] — one request from lnd;
//! * [`describe_response`] — one answer of the signer;
//! * [`AttachInspector`] — the requests of an Attach response body (grpc-web
//!   frames in any chunking) and its final status; [`describe_reply_body`]
//!   the answer in one Reply request body.
//!
//! The types serialize (serde, camelCase) to exactly the objects the page
//! reads (`StreamRequestInfo`, `StreamReplyInfo`, … in the wasm package's
//! `.d.ts`): ids as decimal strings, amounts as numbers while exact in
//! JavaScript and as strings beyond ([`crate::js_number`]).

use bitcoin::{Address, Amount, ScriptBuf, TxOut};
use prost::Message;
use serde::Serialize;

use crate::grpcweb::{DecodeError, Decoder, Frame, FRAME_HEADER_LEN};
use crate::js_number::{opt_u64_exact, u64_string};
use crate::keys::HARDENED;
use crate::keys::{format_path, Network};
use crate::proto::signerbridge::attach_event::Event as AttachEventKind;
use crate::proto::signerbridge::{AttachEvent, ReplyBatchRequest, ReplyRequest};
use crate::proto::signrpc::KeyLocator;
use crate::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use crate::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
use crate::session::response_member_name;

/// An lnd key locator (`KeyRef` in TypeScript).
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    /// Key family.
    pub family: i32,
    /// Key index.
    pub index: i32,
}

impl From<&KeyLocator> for KeyRef {
    fn from(k: &KeyLocator) -> Self {
        KeyRef {
            family: k.key_family,
            index: k.key_index,
        }
    }
}

/// One input of a described PSBT (`PsbtInputInfo`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PsbtInputInfo {
    /// Position in the transaction.
    pub index: usize,
    /// `txid:vout`.
    pub outpoint: String,
    /// From the witness or non-witness UTXO; `None` when the PSBT has neither.
    #[serde(serialize_with = "opt_u64_exact")]
    pub amount_sat: Option<u64>,
    /// The spent output's address on the signer's network, if it has one.
    pub address: Option<String>,
    /// BIP-32 paths of the keys the input names (ECDSA and taproot), sorted.
    pub paths: Vec<String>,
}

/// One output of a described PSBT (`PsbtOutputInfo`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PsbtOutputInfo {
    /// Position in the transaction.
    pub index: usize,
    /// Amount in satoshi.
    #[serde(serialize_with = "exact_sat")]
    pub amount_sat: u64,
    /// `None` for scripts without an address form (OP_RETURN, simnet).
    pub address: Option<String>,
    /// The output script, hex.
    pub script_hex: String,
}

/// A described PSBT (`PsbtInfo`).
#[derive(Debug, Clone, Serialize, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PsbtInfo {
    /// The inputs.
    pub inputs: Vec<PsbtInputInfo>,
    /// The outputs.
    pub outputs: Vec<PsbtOutputInfo>,
    /// Sum of inputs minus outputs, when every input amount is known.
    #[serde(serialize_with = "opt_u64_exact")]
    pub fee_sat: Option<u64>,
    /// Set when the PSBT could not be parsed.
    pub error: Option<String>,
}

/// A request seen on the Attach stream (`StreamRequestInfo`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestInfo {
    /// lnd's request id (a decimal string in JSON).
    #[serde(serialize_with = "u64_string")]
    pub id: u64,
    /// Short request kind, as [`crate::request::RequestKind::display_name`].
    pub kind: &'static str,
    /// Key locators named by the request; for PSBTs, the lnd (m/1017') keys of the inputs.
    pub keys: Vec<KeyRef>,
    /// Short human-readable summary of the parameters.
    pub summary: String,
    /// SignPsbt only: the packet's inputs and outputs.
    pub psbt: Option<PsbtInfo>,
}

/// One answer of the signer (`StreamReplyInfo`).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReplyInfo {
    /// The answered request's id (a decimal string in JSON).
    #[serde(serialize_with = "u64_string")]
    pub id: u64,
    /// Proto member name of the answer, e.g. `sign_psbt_response`.
    pub kind: &'static str,
    /// The `signer_error` text, if the answer is one.
    pub error: Option<String>,
    /// SignPsbt only: the inputs signed.
    pub signed_inputs: Option<Vec<u32>>,
}

/// An amount that is always present: a number while exact, else a string.
fn exact_sat<S: serde::Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
    opt_u64_exact(&Some(*value), s)
}

fn address_of(script: &ScriptBuf, network: Network) -> Option<String> {
    let net = network.bitcoin_network()?;
    Address::from_script(script, net)
        .ok()
        .map(|a| a.to_string())
}

fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn short_hex(bytes: &[u8]) -> String {
    let h = hex::encode(bytes);
    if h.len() > 16 {
        format!("{}…", &h[..16])
    } else {
        h
    }
}

/// lnd's key family and index of a `m/1017'/coin'/family'/0/index` path.
pub fn lnd_key_of(path: &[u32]) -> Option<KeyRef> {
    match path {
        [purpose, _, family, 0, index] if *purpose == 1017 + HARDENED && *family >= HARDENED => {
            Some(KeyRef {
                family: i32::try_from(family - HARDENED).ok()?,
                index: i32::try_from(*index).ok()?,
            })
        }
        _ => None,
    }
}

/// The PSBT's inputs and outputs, and the lnd keys its inputs name. Parsed
/// exactly as `SignPsbt` parses it (`signing::psbt::parse`: lnd's opaque
/// final witnesses are accepted), so every packet the signer reads is shown.
pub fn describe_psbt(bytes: &[u8], network: Network) -> (PsbtInfo, Vec<KeyRef>) {
    let psbt = match crate::signing::psbt::parse(bytes) {
        Ok(p) => p,
        Err(e) => {
            let info = PsbtInfo {
                error: Some(format!("unparseable psbt: {e}")),
                ..PsbtInfo::default()
            };
            return (info, Vec::new());
        }
    };
    let mut lnd_keys: Vec<KeyRef> = Vec::new();
    let tx = &psbt.unsigned_tx;
    let mut total_in = Some(Amount::ZERO);
    let mut inputs = Vec::with_capacity(psbt.inputs.len());
    for (i, (input, txin)) in psbt.inputs.iter().zip(tx.input.iter()).enumerate() {
        let prevout = &txin.previous_output;
        let utxo: Option<TxOut> = input.witness_utxo.clone().or_else(|| {
            input
                .non_witness_utxo
                .as_ref()
                .and_then(|t| t.output.get(prevout.vout as usize).cloned())
        });
        total_in = match (total_in, &utxo) {
            (Some(sum), Some(u)) => sum.checked_add(u.value),
            _ => None,
        };
        let raw_paths: Vec<Vec<u32>> = input
            .bip32_derivation
            .values()
            .map(|(_, path)| path.to_u32_vec())
            .chain(
                input
                    .tap_key_origins
                    .values()
                    .map(|(_, (_, path))| path.to_u32_vec()),
            )
            .collect();
        for k in raw_paths.iter().filter_map(|p| lnd_key_of(p)) {
            if !lnd_keys.contains(&k) {
                lnd_keys.push(k);
            }
        }
        let mut paths: Vec<String> = raw_paths.iter().map(|p| format_path(p)).collect();
        paths.sort();
        paths.dedup();
        inputs.push(PsbtInputInfo {
            index: i,
            outpoint: format!("{}:{}", prevout.txid, prevout.vout),
            amount_sat: utxo.as_ref().map(|u| u.value.to_sat()),
            address: utxo
                .as_ref()
                .and_then(|u| address_of(&u.script_pubkey, network)),
            paths,
        });
    }
    let mut total_out = Some(Amount::ZERO);
    let outputs = tx
        .output
        .iter()
        .enumerate()
        .map(|(i, o)| {
            total_out = total_out.and_then(|s| s.checked_add(o.value));
            PsbtOutputInfo {
                index: i,
                amount_sat: o.value.to_sat(),
                address: address_of(&o.script_pubkey, network),
                script_hex: hex::encode(o.script_pubkey.as_bytes()),
            }
        })
        .collect();
    let fee_sat = match (total_in, total_out) {
        (Some(i), Some(o)) => i.checked_sub(o).map(Amount::to_sat),
        _ => None,
    };
    let info = PsbtInfo {
        inputs,
        outputs,
        fee_sat,
        error: None,
    };
    (info, lnd_keys)
}

/// The public description of one request from lnd (never key material,
/// nonces or shared secrets; see the module documentation).
pub fn describe_request(req: &SignCoordinatorRequest, network: Network) -> RequestInfo {
    let kind = crate::request::RequestKind::of(req).display_name();
    let mut keys = Vec::new();
    let mut psbt = None;
    let summary = match &req.sign_request_type {
        None => "no request member".to_owned(),
        Some(Req::RegistrationResponse(_)) => "registration answer".to_owned(),
        Some(Req::Ping(_)) => "health check".to_owned(),
        Some(Req::SharedKeyRequest(r)) => {
            let loc = r
                .key_desc
                .as_ref()
                .and_then(|d| d.key_loc.as_ref())
                .or(r.key_loc.as_ref());
            if let Some(l) = loc {
                keys.push(KeyRef::from(l));
            }
            match r.key_desc.as_ref().filter(|d| !d.raw_key_bytes.is_empty()) {
                Some(d) => format!("ECDH with key {}", short_hex(&d.raw_key_bytes)),
                None => "ECDH".to_owned(),
            }
        }
        Some(Req::SignMessageReq(r)) => {
            if let Some(l) = &r.key_loc {
                keys.push(KeyRef::from(l));
            }
            let scheme = if r.schnorr_sig {
                "schnorr"
            } else if r.compact_sig {
                "compact ECDSA"
            } else {
                "DER ECDSA"
            };
            let hash = if r.double_hash {
                ", double SHA-256"
            } else {
                ""
            };
            format!("{} byte message, {scheme}{hash}", r.msg.len())
        }
        Some(Req::MuSig2SessionRequest(r)) => {
            if let Some(l) = &r.key_loc {
                keys.push(KeyRef::from(l));
            }
            format!(
                "new session, {}, version {}",
                plural(r.all_signer_pubkeys.len(), "signer"),
                r.version
            )
        }
        Some(Req::MuSig2RegisterNoncesRequest(r)) => {
            format!("session {}", short_hex(&r.session_id))
        }
        Some(Req::MuSig2CombinedNoncesReq(r)) => format!("session {}", short_hex(&r.session_id)),
        Some(Req::MuSig2GetCombinedNoncesReq(r)) => {
            format!("session {}", short_hex(&r.session_id))
        }
        Some(Req::MuSig2SignRequest(r)) => format!(
            "session {}{}",
            short_hex(&r.session_id),
            if r.cleanup { ", cleanup" } else { "" }
        ),
        Some(Req::MuSig2CombineSigRequest(r)) => format!("session {}", short_hex(&r.session_id)),
        Some(Req::MuSig2CleanupRequest(r)) => format!("session {}", short_hex(&r.session_id)),
        Some(Req::SignPsbtRequest(r)) => {
            let (info, lnd_keys) = describe_psbt(&r.funded_psbt, network);
            keys = lnd_keys;
            let s = match &info.error {
                Some(e) => e.clone(),
                None => format!(
                    "{}, {}",
                    plural(info.inputs.len(), "input"),
                    plural(info.outputs.len(), "output")
                ),
            };
            psbt = Some(info);
            s
        }
    };
    RequestInfo {
        id: req.request_id,
        kind,
        keys,
        summary,
        psbt,
    }
}

/// The public description of one answer of the signer.
pub fn describe_response(resp: &SignCoordinatorResponse) -> ReplyInfo {
    let (error, signed_inputs) = match &resp.sign_response_type {
        Some(Resp::SignerError(e)) => (Some(e.error.clone()), None),
        Some(Resp::SignPsbtResponse(r)) => (None, Some(r.signed_inputs.clone())),
        _ => (None, None),
    };
    ReplyInfo {
        id: resp.ref_request_id,
        kind: response_member_name(resp),
        error,
        signed_inputs,
    }
}

/// The message of a grpc-web data frame (header stripped); `None` for a
/// compressed frame (the bridge never compresses).
fn frame_message(frame: &[u8]) -> Option<&[u8]> {
    if frame.len() < FRAME_HEADER_LEN || frame[0] & 1 != 0 {
        return None;
    }
    Some(&frame[FRAME_HEADER_LEN..])
}

/// The final status of an Attach stream, from its grpc-web trailer frame.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StreamEnd {
    /// `grpc-status` (0 = OK).
    pub code: u32,
    /// `grpc-message`, percent-decoded.
    pub message: String,
}

/// Decodes the percent-encoding of a `grpc-message` value.
pub fn percent_decode(text: &str) -> String {
    fn hex_val(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex_val(bytes[i + 1]), hex_val(bytes[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why a stream body could not be described (the texts the page shows).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The grpc-web framing is broken (see [`DecodeError`]).
    #[error(transparent)]
    Frame(#[from] DecodeError),
    /// A data frame of the Attach stream is not an `AttachEvent`.
    #[error("undecodable attach event: {0}")]
    AttachEvent(prost::DecodeError),
    /// A Reply body's frame is not a `ReplyRequest` (or a ReplyBatch
    /// body's frame not a `ReplyBatchRequest`).
    #[error("undecodable reply: {0}")]
    Reply(prost::DecodeError),
}

/// Describes the traffic of one Attach stream: feed the response body in
/// chunks as they arrive, however they are cut.
#[derive(Debug)]
pub struct AttachInspector {
    network: Network,
    decoder: Decoder,
    end: Option<StreamEnd>,
}

impl AttachInspector {
    /// An inspector for a signer on `network` (addresses are encoded for it).
    pub fn new(network: Network) -> Self {
        AttachInspector {
            network,
            decoder: Decoder::new(),
            end: None,
        }
    }

    /// Feeds the next chunk of an Attach response body; returns the
    /// requests completed by it (session tokens are skipped). On an error
    /// the requests completed before it in this chunk are not returned.
    pub fn push_chunk(&mut self, chunk: &[u8]) -> Result<Vec<RequestInfo>, InspectError> {
        self.decoder.push(chunk);
        let mut out = Vec::new();
        while let Some(frame) = self.decoder.next_frame()? {
            let data = match frame {
                Frame::Data(data) => data,
                Frame::Trailers(headers) => {
                    let code = headers
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u32>().ok())
                        .unwrap_or(2);
                    let message = headers
                        .get("grpc-message")
                        .and_then(|v| v.to_str().ok())
                        .map(percent_decode)
                        .unwrap_or_default();
                    self.end = Some(StreamEnd { code, message });
                    continue;
                }
            };
            let Some(msg) = frame_message(&data) else {
                continue;
            };
            let event = AttachEvent::decode(msg).map_err(InspectError::AttachEvent)?;
            if let Some(AttachEventKind::Request(req)) = event.event {
                out.push(describe_request(&req, self.network));
            }
        }
        Ok(out)
    }

    /// The stream's final status once its trailer frame was seen (the
    /// bridge's reason for ending it, e.g. lnd rejecting the macaroon).
    pub fn end(&self) -> Option<&StreamEnd> {
        self.end.as_ref()
    }
}

/// Describes the body of one Reply call (grpc-web frames): the answer of
/// its first data frame that carries one, `None` if none does.
pub fn describe_reply_body(body: &[u8]) -> Result<Option<ReplyInfo>, InspectError> {
    let mut decoder = Decoder::new();
    decoder.push(body);
    while let Some(frame) = decoder.next_frame()? {
        let Frame::Data(data) = frame else { continue };
        let Some(msg) = frame_message(&data) else {
            continue;
        };
        let reply = ReplyRequest::decode(msg).map_err(InspectError::Reply)?;
        if let Some(resp) = reply.response {
            return Ok(Some(describe_response(&resp)));
        }
    }
    Ok(None)
}

/// Describes the body of one ReplyBatch call (a single grpc-web frame
/// carrying a `ReplyBatchRequest`): one [`ReplyInfo`] per answer, in order,
/// each as [`describe_reply_body`] gives it for the same answer in a Reply.
pub fn describe_reply_batch_body(body: &[u8]) -> Result<Vec<ReplyInfo>, InspectError> {
    let mut decoder = Decoder::new();
    decoder.push(body);
    let mut out = Vec::new();
    while let Some(frame) = decoder.next_frame()? {
        let Frame::Data(data) = frame else { continue };
        let Some(msg) = frame_message(&data) else {
            continue;
        };
        let batch = ReplyBatchRequest::decode(msg).map_err(InspectError::Reply)?;
        out.extend(batch.responses.iter().map(describe_response));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::bip32::{DerivationPath, Fingerprint};
    use bitcoin::hashes::Hash;
    use bitcoin::psbt::Psbt;
    use bitcoin::{absolute, transaction, OutPoint, Sequence, Transaction, TxIn, Txid, Witness};

    use crate::grpcweb::TRAILER_FLAG;
    use crate::proto::signrpc::{KeyDescriptor, SharedKeyRequest};
    use crate::proto::walletrpc::{SignPsbtRequest, SignPsbtResponse};
    use crate::proto::watchonlyrpc::SignerError;

    const H: u32 = HARDENED;

    fn p2wpkh(byte: u8) -> ScriptBuf {
        let mut s = vec![0x00, 0x14];
        s.extend_from_slice(&[byte; 20]);
        ScriptBuf::from_bytes(s)
    }

    fn psbt_bytes() -> Vec<u8> {
        let tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![
                TxIn {
                    previous_output: OutPoint::new(Txid::from_byte_array([7; 32]), 1),
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::new(),
                },
                TxIn {
                    previous_output: OutPoint::new(Txid::from_byte_array([8; 32]), 0),
                    script_sig: ScriptBuf::new(),
                    sequence: Sequence::MAX,
                    witness: Witness::new(),
                },
            ],
            output: vec![TxOut {
                value: Amount::from_sat(90_000),
                script_pubkey: p2wpkh(3),
            }],
        };
        let mut psbt = Psbt::from_unsigned_tx(tx).expect("unsigned tx");
        psbt.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(100_000),
            script_pubkey: p2wpkh(1),
        });
        let key = crate::keys::RootKey::from_seed_entropy(&[9u8; 32], Network::Regtest)
            .expect("root")
            .derive_pub(&[1017 + H, 1 + H, 6 + H, 0, 3])
            .expect("key");
        psbt.inputs[0].bip32_derivation.insert(
            key,
            (
                Fingerprint::from([1, 2, 3, 4]),
                DerivationPath::from(vec![
                    bitcoin::bip32::ChildNumber::from(1017 + H),
                    bitcoin::bip32::ChildNumber::from(1 + H),
                    bitcoin::bip32::ChildNumber::from(6 + H),
                    bitcoin::bip32::ChildNumber::from(0),
                    bitcoin::bip32::ChildNumber::from(3),
                ]),
            ),
        );
        psbt.serialize()
    }

    /// A grpc-web data frame around `msg`.
    fn frame(msg: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8];
        f.extend_from_slice(&u32::try_from(msg.len()).expect("small").to_be_bytes());
        f.extend_from_slice(msg);
        f
    }

    fn trailer(text: &str) -> Vec<u8> {
        let mut f = vec![TRAILER_FLAG];
        f.extend_from_slice(&u32::try_from(text.len()).expect("small").to_be_bytes());
        f.extend_from_slice(text.as_bytes());
        f
    }

    /// What `describe_request` gives for [`psbt_bytes`] as a SignPsbt
    /// request (id 10, regtest), as JSON.
    const GOLDEN_PSBT_REQUEST_JSON: &str = concat!(
        r#"{"id":"10","kind":"sign_psbt","keys":[{"family":6,"index":3}],"#,
        r#""summary":"2 inputs, 1 output","psbt":{"inputs":["#,
        r#"{"index":0,"outpoint":"0707070707070707070707070707070707070707070707070707070707070707:1","#,
        r#""amountSat":100000,"address":"bcrt1qqyqszqgpqyqszqgpqyqszqgpqyqszqgpvxat9t","#,
        r#""paths":["m/1017'/1'/6'/0/3"]},"#,
        r#"{"index":1,"outpoint":"0808080808080808080808080808080808080808080808080808080808080808:0","#,
        r#""amountSat":null,"address":null,"paths":[]}],"#,
        r#""outputs":[{"index":0,"amountSat":90000,"#,
        r#""address":"bcrt1qqvpsxqcrqvpsxqcrqvpsxqcrqvpsxqcruj60yu","#,
        r#""scriptHex":"00140303030303030303030303030303030303030303"}],"#,
        r#""feeSat":null,"error":null}}"#,
    );

    #[test]
    fn percent_decoding_of_grpc_messages() {
        assert_eq!(
            percent_decode("lnd%20rejected: 100%25"),
            "lnd rejected: 100%"
        );
        assert_eq!(percent_decode("bad %zz and %4"), "bad %zz and %4");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }

    #[test]
    fn lnd_key_paths_only() {
        let k = lnd_key_of(&[1017 + H, 1 + H, 6 + H, 0, 3]).expect("lnd path");
        assert_eq!((k.family, k.index), (6, 3));
        assert!(lnd_key_of(&[84 + H, H, H, 0, 3]).is_none());
        assert!(lnd_key_of(&[1017 + H, 1 + H, 6, 0, 3]).is_none());
        assert!(lnd_key_of(&[1017 + H, 1 + H, 6 + H, 1, 3]).is_none());
    }

    #[test]
    fn psbt_inputs_outputs_fee_and_keys() {
        let (info, keys) = describe_psbt(&psbt_bytes(), Network::Regtest);
        assert!(info.error.is_none());
        assert_eq!(info.inputs.len(), 2);
        assert_eq!(info.inputs[0].amount_sat, Some(100_000));
        assert_eq!(
            info.inputs[0].outpoint,
            format!("{}:1", Txid::from_byte_array([7; 32]))
        );
        assert_eq!(info.inputs[0].paths, vec!["m/1017'/1'/6'/0/3".to_owned()]);
        assert!(info.inputs[0]
            .address
            .as_deref()
            .is_some_and(|a| a.starts_with("bcrt1q")));
        assert_eq!(info.inputs[1].amount_sat, None);
        // One input amount unknown: no fee.
        assert_eq!(info.fee_sat, None);
        assert_eq!(info.outputs.len(), 1);
        assert_eq!(info.outputs[0].amount_sat, 90_000);
        assert_eq!(
            info.outputs[0].script_hex,
            hex::encode(p2wpkh(3).as_bytes())
        );
        assert_eq!(keys.len(), 1);
        assert_eq!((keys[0].family, keys[0].index), (6, 3));

        let (bad, keys) = describe_psbt(b"not a psbt", Network::Regtest);
        assert!(bad.error.is_some_and(|e| e.starts_with("unparseable psbt")));
        assert!(keys.is_empty());

        // Simnet has no address encoding: scripts only.
        let (sim, _) = describe_psbt(&psbt_bytes(), Network::Simnet);
        assert!(sim.outputs[0].address.is_none());
    }

    #[test]
    fn psbts_the_signer_accepts_are_described_too() {
        // lnd's watch-only node (packetFromTx) sends FINAL_SCRIPTWITNESS
        // values cut from one reused buffer; rust-bitcoin rejects them, the
        // signer keeps them opaque (signing::psbt::parse). The inspector
        // must read the same packets, or the page shows no details.
        let mut psbt = Psbt::deserialize(&psbt_bytes()).expect("psbt");
        let short = Witness::from_slice(&[[0x11u8; 64].to_vec()]);
        let long = Witness::from_slice(&[vec![0x30u8; 72], vec![0x02u8; 33]]);
        psbt.inputs[1].final_script_witness = Some(short.clone());
        let mut raw = psbt.serialize();
        let good = bitcoin::consensus::serialize(&short);
        let last = bitcoin::consensus::serialize(&long);
        let at = raw
            .windows(good.len())
            .position(|w| w == good.as_slice())
            .expect("the witness in the packet");
        raw[at..at + good.len()].copy_from_slice(&last[..good.len()]);
        assert!(
            Psbt::deserialize(&raw).is_err(),
            "a packet rust-bitcoin rejects"
        );
        let (info, keys) = describe_psbt(&raw, Network::Regtest);
        assert_eq!(info.error, None);
        assert_eq!(info.inputs.len(), 2);
        assert_eq!(info.inputs[0].amount_sat, Some(100_000));
        assert_eq!(info.outputs.len(), 1);
        assert_eq!(keys.len(), 1);
    }

    #[test]
    fn requests_and_replies_described_without_secrets() {
        let req = SignCoordinatorRequest {
            request_id: 9,
            sign_request_type: Some(Req::SharedKeyRequest(SharedKeyRequest {
                ephemeral_pubkey: vec![2; 33],
                key_loc: None,
                key_desc: Some(KeyDescriptor {
                    raw_key_bytes: Vec::new(),
                    key_loc: Some(KeyLocator {
                        key_family: 6,
                        key_index: 0,
                    }),
                }),
            })),
        };
        let info = describe_request(&req, Network::Regtest);
        assert_eq!((info.id, info.kind), (9, "shared_key"));
        assert_eq!(info.keys.len(), 1);
        assert_eq!(info.summary, "ECDH");

        let psbt_req = SignCoordinatorRequest {
            request_id: 10,
            sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: psbt_bytes(),
            })),
        };
        let info = describe_request(&psbt_req, Network::Regtest);
        assert_eq!(info.kind, "sign_psbt");
        assert_eq!(info.summary, "2 inputs, 1 output");
        assert!(info.psbt.is_some());

        let resp = SignCoordinatorResponse {
            ref_request_id: 10,
            sign_response_type: Some(Resp::SignPsbtResponse(SignPsbtResponse {
                signed_psbt: psbt_bytes(),
                signed_inputs: vec![0],
            })),
        };
        let r = describe_response(&resp);
        assert_eq!((r.id, r.kind), (10, "sign_psbt_response"));
        assert_eq!(r.signed_inputs, Some(vec![0]));
        let err = SignCoordinatorResponse {
            ref_request_id: 11,
            sign_response_type: Some(Resp::SignerError(SignerError {
                error: "no such key".into(),
            })),
        };
        assert_eq!(
            describe_response(&err).error.as_deref(),
            Some("no such key")
        );
    }

    #[test]
    fn attach_stream_split_anywhere_and_trailer() {
        use crate::proto::signerbridge::attach_event::Event;
        let token = AttachEvent {
            event: Some(Event::SessionToken(vec![1; 16])),
        };
        let request = AttachEvent {
            event: Some(Event::Request(SignCoordinatorRequest {
                request_id: 2,
                sign_request_type: Some(Req::Ping(true)),
            })),
        };
        let mut body = frame(&token.encode_to_vec());
        body.extend(frame(&request.encode_to_vec()));
        body.extend(trailer(
            "grpc-status: 16\r\ngrpc-message: lnd%20rejected%20the%20macaroon\r\n",
        ));
        for split in 0..=body.len() {
            let mut insp = AttachInspector::new(Network::Regtest);
            let a = insp.push_chunk(&body[..split]).expect("first part");
            let b = insp.push_chunk(&body[split..]).expect("second part");
            assert_eq!(
                a.len() + b.len(),
                1,
                "one request (the token is skipped), split at {split}"
            );
            assert_eq!(
                insp.end(),
                Some(&StreamEnd {
                    code: 16,
                    message: "lnd rejected the macaroon".to_owned()
                })
            );
        }
    }

    #[test]
    fn undecodable_frames_are_errors_with_the_texts_the_page_shows() {
        // A data frame that is no AttachEvent (a length past the end).
        let mut insp = AttachInspector::new(Network::Regtest);
        let err = insp.push_chunk(&frame(&[0x0a, 0x7f])).expect_err("broken");
        assert!(
            err.to_string().starts_with("undecodable attach event: "),
            "{err}"
        );
        let err = describe_reply_body(&frame(&[0x12, 0x7f])).expect_err("broken");
        assert!(err.to_string().starts_with("undecodable reply: "), "{err}");
        // A Reply body without an answer describes nothing.
        let empty = ReplyRequest {
            session_token: vec![1],
            response: None,
        };
        assert_eq!(
            describe_reply_body(&frame(&empty.encode_to_vec())),
            Ok(None)
        );
        let err = describe_reply_batch_body(&frame(&[0x12, 0x7f])).expect_err("broken");
        assert!(err.to_string().starts_with("undecodable reply: "), "{err}");
    }

    #[test]
    fn a_reply_batch_is_described_answer_by_answer_as_single_replies() {
        let answers: Vec<SignCoordinatorResponse> = (0..3u64)
            .map(|i| SignCoordinatorResponse {
                ref_request_id: 10 + i,
                sign_response_type: Some(if i == 1 {
                    Resp::SignerError(SignerError {
                        error: "no".to_owned(),
                    })
                } else {
                    Resp::Pong(true)
                }),
            })
            .collect();
        let batch = ReplyBatchRequest {
            session_token: vec![1],
            responses: answers.clone(),
        };
        let described = describe_reply_batch_body(&frame(&batch.encode_to_vec())).expect("batch");
        let singles: Vec<ReplyInfo> = answers
            .into_iter()
            .map(|a| {
                let single = ReplyRequest {
                    session_token: vec![1],
                    response: Some(a),
                };
                describe_reply_body(&frame(&single.encode_to_vec()))
                    .expect("reply")
                    .expect("an answer")
            })
            .collect();
        assert_eq!(described, singles);
        assert_eq!(
            described.iter().map(|r| r.id).collect::<Vec<_>>(),
            [10, 11, 12]
        );
    }

    /// The JSON of a described SignPsbt request, field for field: the object
    /// the page's activity log shows (the wasm crate converts the same
    /// serde output with serde-wasm-bindgen's JSON-compatible serializer).
    #[test]
    fn a_described_psbt_request_as_the_page_receives_it() {
        let req = SignCoordinatorRequest {
            request_id: 10,
            sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: psbt_bytes(),
            })),
        };
        let json =
            serde_json::to_string(&describe_request(&req, Network::Regtest)).expect("serializable");
        assert_eq!(json, GOLDEN_PSBT_REQUEST_JSON);
    }

    #[test]
    fn ids_and_amounts_beyond_2_pow_53_serialize_exactly() {
        const BIG_ID: u64 = (1 << 53) + 1;
        const BIG_SAT: u64 = 1 << 60;
        let mut psbt = Psbt::deserialize(&psbt_bytes()).expect("psbt");
        psbt.inputs[0].witness_utxo.as_mut().expect("utxo").value = Amount::from_sat(BIG_SAT);
        let req = SignCoordinatorRequest {
            request_id: BIG_ID,
            sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                funded_psbt: psbt.serialize(),
            })),
        };
        let v = serde_json::to_value(describe_request(&req, Network::Regtest)).expect("json");
        assert_eq!(v["id"], "9007199254740993");
        assert_eq!(v["psbt"]["inputs"][0]["amountSat"], "1152921504606846976");
        assert!(v["psbt"]["inputs"][1]["amountSat"].is_null());
        assert_eq!(v["psbt"]["outputs"][0]["amountSat"], 90_000);
        let resp = SignCoordinatorResponse {
            ref_request_id: u64::MAX,
            sign_response_type: Some(Resp::SignPsbtResponse(SignPsbtResponse {
                signed_psbt: Vec::new(),
                signed_inputs: vec![0],
            })),
        };
        let v = serde_json::to_value(describe_response(&resp)).expect("json");
        assert_eq!(v["id"], "18446744073709551615");
        assert_eq!(v["kind"], "sign_psbt_response");
    }
}
