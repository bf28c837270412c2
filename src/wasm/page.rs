//! Helpers of the signer tab (`web/`), on top of the core:
//!
//! * `vaultInfo` — checks a vault file (magic, version, checksum, KDF cost)
//!   before the page stores it, without the passphrase;
//! * `vaultWithMacaroon` — seals a new macaroon into an existing vault, so
//!   the macaroon is only ever stored inside the vault;
//! * `sha256Hex` — the SHA-256 of the running `.wasm` (the worker hashes
//!   the bytes it instantiates), shown in Settings to compare with a
//!   release's;
//! * `StreamInspector` — public descriptions of the requests on the bridge's
//!   Attach stream and of the signer's Reply calls, for the activity log:
//!   kind, request id, key family/index, PSBT inputs and outputs with amounts
//!   and addresses, signed inputs, error texts. It never reports key
//!   material, nonces, signatures or shared secrets.
//!
//! The page feeds `StreamInspector` from the `fetch` hook that
//! `UnlockedSigner.connect` accepts: the Attach response body is teed, the
//! Reply request bodies are read from a clone of the request.

use bitcoin::{Address, Amount, ScriptBuf, TxOut};
use js_sys::Uint8Array;
use prost::Message;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::grpcweb::{Decoder, Frame, FRAME_HEADER_LEN};
use crate::keys::HARDENED;
use crate::keys::{format_path, Network};
use crate::proto::signerbridge::attach_event::Event as AttachEventKind;
use crate::proto::signerbridge::{AttachEvent, ReplyRequest};
use crate::proto::signrpc::KeyLocator;
use crate::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use crate::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use crate::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
use crate::secret::SecretString;
use crate::session::response_member_name;
use crate::vault;

#[wasm_bindgen(typescript_custom_section)]
const TS_PAGE_TYPES: &'static str = r#"
/** Public header of a vault file (no passphrase needed). */
export interface VaultInfo {
  version: number;
  mCostKib: number;
  tCost: number;
  pCost: number;
  bytes: number;
}

/** An lnd key locator. */
export interface KeyRef { family: number; index: number; }

export interface PsbtInputInfo {
  index: number;
  /** txid:vout */
  outpoint: string;
  /**
   * From the witness or non-witness UTXO; null when the PSBT has neither. A
   * decimal string when above 2^53 - 1 (never a valid amount: lnd would not
   * send it, a hostile node might).
   */
  amountSat: number | string | null;
  address: string | null;
  /** BIP-32 paths of the keys the input names (ECDSA and taproot). */
  paths: string[];
}

export interface PsbtOutputInfo {
  index: number;
  /** A decimal string when above 2^53 - 1. */
  amountSat: number | string;
  /** null for scripts without an address form (OP_RETURN, simnet). */
  address: string | null;
  scriptHex: string;
}

export interface PsbtInfo {
  inputs: PsbtInputInfo[];
  outputs: PsbtOutputInfo[];
  /** Sum of inputs minus outputs, when every input amount is known (a string above 2^53 - 1). */
  feeSat: number | string | null;
  /** Set when the PSBT could not be parsed. */
  error: string | null;
}

/** A request seen on the Attach stream. */
export interface StreamRequestInfo {
  /** lnd's uint64 request id as a decimal string (RequestId). */
  id: string;
  /** Short request kind as in SignerStatus.requestKind, e.g. "sign_psbt". */
  kind: string;
  /** Key locators named by the request; for PSBTs, the lnd (m/1017') keys of the inputs. */
  keys: KeyRef[];
  /** Short human-readable summary of the parameters. */
  summary: string;
  psbt: PsbtInfo | null;
}

/** A Reply call of the signer. */
export interface StreamReplyInfo {
  /** The answered request's id as a decimal string (RequestId). */
  id: string;
  /** Proto member name of the answer, e.g. "sign_psbt_response". */
  kind: string;
  error: string | null;
  /** SignPsbt only: the inputs signed. */
  signedInputs: number[] | null;
}
"#;

use super::js_value::{opt_u64_exact, to_js, u64_string};

/// SHA-256 of `bytes`, lower-case hex (the page shows the running module's).
#[wasm_bindgen(js_name = sha256Hex)]
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VaultInfo {
    version: u8,
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
    bytes: usize,
}

/// Checks a vault file (length, magic, version, checksum, acceptable KDF
/// cost) and returns its public header. Needs no passphrase.
#[wasm_bindgen(js_name = vaultInfo, unchecked_return_type = "VaultInfo")]
pub fn vault_info(blob: &[u8]) -> Result<JsValue, JsError> {
    let header = vault::read_header(blob).map_err(|e| JsError::new(&e.to_string()))?;
    to_js(&VaultInfo {
        version: header.version,
        m_cost_kib: header.kdf.m_cost_kib,
        t_cost: header.kdf.t_cost,
        p_cost: header.kdf.p_cost,
        bytes: blob.len(),
    })
}

/// Opens `blob` with `passphrase`, replaces its macaroon (hex; blank =
/// remove it) and seals it again with the same passphrase and KDF cost
/// (the default cost if the vault's is below the sealing floor). Returns
/// the new vault bytes. Runs Argon2id twice. (The signer tab uses
/// `UnlockedSigner.sealMacaroon`, which takes the macaroon as bytes and
/// keeps it for `connect`.)
#[wasm_bindgen(js_name = vaultWithMacaroon)]
pub fn vault_with_macaroon(
    blob: &[u8],
    passphrase: String,
    #[wasm_bindgen(js_name = macaroonHex)] macaroon_hex: Option<String>,
) -> Result<Uint8Array, JsError> {
    let passphrase = SecretString::new(passphrase);
    let hex_text = SecretString::new(macaroon_hex.unwrap_or_default());
    let macaroon = if hex_text.expose().trim().is_empty() {
        None
    } else {
        Some(crate::secret::SecretBytes::new(
            hex::decode(hex_text.expose().trim())
                .map_err(|e| JsError::new(&format!("macaroon hex is invalid: {e}")))?,
        ))
    };
    let (sealed, _) = reseal_with_macaroon(blob, &passphrase, macaroon)?;
    Ok(Uint8Array::from(sealed.as_slice()))
}

/// Opens `blob`, sets its macaroon and seals it again (same passphrase; the
/// vault's KDF cost, or the default when it is below the sealing floor: an
/// old or hand-made vault is upgraded, never kept cheap). Returns the new
/// bytes and the opened vault (with the new macaroon).
pub(crate) fn reseal_with_macaroon(
    blob: &[u8],
    passphrase: &SecretString,
    macaroon: Option<crate::secret::SecretBytes>,
) -> Result<(Vec<u8>, vault::OpenedVault), JsError> {
    let header = vault::read_header(blob).map_err(|e| JsError::new(&e.to_string()))?;
    let mut opened = vault::open(blob, passphrase.expose().as_bytes())
        .map_err(|e| JsError::new(&e.to_string()))?;
    opened.macaroon = macaroon;
    let sealed = vault::reseal(
        &opened,
        passphrase.expose().as_bytes(),
        header.kdf.for_reseal(),
        &crate::entropy::OsEntropy,
    )
    .map_err(|e| JsError::new(&e.to_string()))?;
    Ok((sealed, opened))
}

#[derive(Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
struct KeyRef {
    family: i32,
    index: i32,
}

impl From<&KeyLocator> for KeyRef {
    fn from(k: &KeyLocator) -> Self {
        KeyRef {
            family: k.key_family,
            index: k.key_index,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PsbtInputInfo {
    index: usize,
    outpoint: String,
    #[serde(serialize_with = "opt_u64_exact")]
    amount_sat: Option<u64>,
    address: Option<String>,
    paths: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PsbtOutputInfo {
    index: usize,
    #[serde(serialize_with = "exact_sat")]
    amount_sat: u64,
    address: Option<String>,
    script_hex: String,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct PsbtInfo {
    inputs: Vec<PsbtInputInfo>,
    outputs: Vec<PsbtOutputInfo>,
    #[serde(serialize_with = "opt_u64_exact")]
    fee_sat: Option<u64>,
    error: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RequestInfo {
    #[serde(serialize_with = "u64_string")]
    id: u64,
    kind: &'static str,
    keys: Vec<KeyRef>,
    summary: String,
    psbt: Option<PsbtInfo>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReplyInfo {
    #[serde(serialize_with = "u64_string")]
    id: u64,
    kind: &'static str,
    error: Option<String>,
    signed_inputs: Option<Vec<u32>>,
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
fn lnd_key_of(path: &[u32]) -> Option<KeyRef> {
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
fn describe_psbt(bytes: &[u8], network: Network) -> (PsbtInfo, Vec<KeyRef>) {
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

fn describe_request(req: &SignCoordinatorRequest, network: Network) -> RequestInfo {
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

fn describe_response(resp: &SignCoordinatorResponse) -> ReplyInfo {
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
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamEnd {
    /// `grpc-status` (0 = OK).
    code: u32,
    /// `grpc-message`, percent-decoded.
    message: String,
}

/// Decodes the percent-encoding of a `grpc-message` value.
fn percent_decode(text: &str) -> String {
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

/// Describes the traffic of one Attach stream for the activity log.
#[wasm_bindgen]
#[derive(Debug)]
pub struct StreamInspector {
    network: Network,
    decoder: Decoder,
    end: Option<(u32, String)>,
}

#[wasm_bindgen]
impl StreamInspector {
    /// An inspector for a signer on `network` (addresses are encoded for it).
    #[wasm_bindgen(constructor)]
    pub fn new(network: &str) -> Result<StreamInspector, JsError> {
        Ok(StreamInspector {
            network: network
                .parse::<Network>()
                .map_err(|e| JsError::new(&e.to_string()))?,
            decoder: Decoder::new(),
            end: None,
        })
    }

    /// Feeds the next chunk of an Attach response body; returns the
    /// requests completed by it (session tokens are skipped).
    #[wasm_bindgen(js_name = pushAttachChunk, unchecked_return_type = "StreamRequestInfo[]")]
    pub fn push_attach_chunk(&mut self, chunk: &[u8]) -> Result<JsValue, JsError> {
        self.decoder.push(chunk);
        let mut out = Vec::new();
        while let Some(frame) = self
            .decoder
            .next_frame()
            .map_err(|e| JsError::new(&e.to_string()))?
        {
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
                    self.end = Some((code, message));
                    continue;
                }
            };
            let Some(msg) = frame_message(&data) else {
                continue;
            };
            let event = AttachEvent::decode(msg)
                .map_err(|e| JsError::new(&format!("undecodable attach event: {e}")))?;
            if let Some(AttachEventKind::Request(req)) = event.event {
                out.push(describe_request(&req, self.network));
            }
        }
        to_js(&out)
    }

    /// The stream's final status once its trailer frame was seen (the
    /// bridge's reason for ending it, e.g. lnd rejecting the macaroon).
    #[wasm_bindgen(
        getter,
        unchecked_return_type = "{ code: number; message: string } | null"
    )]
    pub fn end(&self) -> Result<JsValue, JsError> {
        match &self.end {
            None => Ok(JsValue::NULL),
            Some((code, message)) => to_js(&StreamEnd {
                code: *code,
                message: message.clone(),
            }),
        }
    }

    /// Describes the body of one Reply call (a single grpc-web frame).
    #[wasm_bindgen(js_name = describeReply, unchecked_return_type = "StreamReplyInfo | null")]
    pub fn describe_reply(&self, body: &[u8]) -> Result<JsValue, JsError> {
        let mut decoder = Decoder::new();
        decoder.push(body);
        while let Some(frame) = decoder
            .next_frame()
            .map_err(|e| JsError::new(&e.to_string()))?
        {
            let Frame::Data(data) = frame else { continue };
            let Some(msg) = frame_message(&data) else {
                continue;
            };
            let reply = ReplyRequest::decode(msg)
                .map_err(|e| JsError::new(&format!("undecodable reply: {e}")))?;
            if let Some(resp) = reply.response {
                return to_js(&describe_response(&resp));
            }
        }
        Ok(JsValue::NULL)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitcoin::bip32::{DerivationPath, Fingerprint};
    use bitcoin::hashes::Hash;
    use bitcoin::psbt::Psbt;
    use bitcoin::{absolute, transaction, OutPoint, Sequence, Transaction, TxIn, Txid, Witness};
    use wasm_bindgen_test::wasm_bindgen_test;

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

    #[wasm_bindgen_test]
    fn sha256_of_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[wasm_bindgen_test]
    fn percent_decoding_of_grpc_messages() {
        assert_eq!(
            percent_decode("lnd%20rejected: 100%25"),
            "lnd rejected: 100%"
        );
        assert_eq!(percent_decode("bad %zz and %4"), "bad %zz and %4");
        assert_eq!(percent_decode("caf%C3%A9"), "café");
    }

    #[wasm_bindgen_test]
    fn lnd_key_paths_only() {
        let k = lnd_key_of(&[1017 + H, 1 + H, 6 + H, 0, 3]).expect("lnd path");
        assert_eq!((k.family, k.index), (6, 3));
        assert!(lnd_key_of(&[84 + H, H, H, 0, 3]).is_none());
        assert!(lnd_key_of(&[1017 + H, 1 + H, 6, 0, 3]).is_none());
        assert!(lnd_key_of(&[1017 + H, 1 + H, 6 + H, 1, 3]).is_none());
    }

    #[wasm_bindgen_test]
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

    #[wasm_bindgen_test]
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

    #[wasm_bindgen_test]
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

    fn js_get(obj: &JsValue, name: &str) -> JsValue {
        js_sys::Reflect::get(obj, &JsValue::from_str(name)).expect("property")
    }

    #[wasm_bindgen_test]
    fn request_ids_and_amounts_beyond_2_pow_53_reach_js_exactly() {
        // serde-wasm-bindgen's json_compatible() refuses u64 values above
        // 2^53 - 1: the inspector threw, the page stopped reading its copy
        // of the stream and later PSBTs lost their details (issue 11,
        // finding 2). Ids travel as decimal strings, out-of-range amounts
        // too.
        const BIG_ID: u64 = (1 << 53) + 1;
        const BIG_SAT: u64 = 1 << 60;
        let mut psbt = Psbt::deserialize(&psbt_bytes()).expect("psbt");
        psbt.inputs[0].witness_utxo.as_mut().expect("utxo").value = Amount::from_sat(BIG_SAT);
        let request = AttachEvent {
            event: Some(crate::proto::signerbridge::attach_event::Event::Request(
                SignCoordinatorRequest {
                    request_id: BIG_ID,
                    sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                        funded_psbt: psbt.serialize(),
                    })),
                },
            )),
        };
        let mut insp = StreamInspector::new("regtest").expect("inspector");
        let out = insp
            .push_attach_chunk(&frame(&request.encode_to_vec()))
            .expect("described, not an error");
        let out = js_sys::Array::from(&out);
        assert_eq!(out.length(), 1);
        let info = out.get(0);
        assert_eq!(
            js_get(&info, "id").as_string().as_deref(),
            Some("9007199254740993")
        );
        let psbt_info = js_get(&info, "psbt");
        let inputs = js_sys::Array::from(&js_get(&psbt_info, "inputs"));
        assert_eq!(
            js_get(&inputs.get(0), "amountSat").as_string().as_deref(),
            Some("1152921504606846976")
        );
        assert!(js_get(&inputs.get(1), "amountSat").is_null());
        let outputs = js_sys::Array::from(&js_get(&psbt_info, "outputs"));
        assert_eq!(
            js_get(&outputs.get(0), "amountSat").as_f64(),
            Some(90_000.0)
        );
        // The stream goes on: a small id after the big one.
        let ping = AttachEvent {
            event: Some(crate::proto::signerbridge::attach_event::Event::Request(
                SignCoordinatorRequest {
                    request_id: u64::MAX,
                    sign_request_type: Some(Req::Ping(true)),
                },
            )),
        };
        let out = js_sys::Array::from(
            &insp
                .push_attach_chunk(&frame(&ping.encode_to_vec()))
                .expect("next request"),
        );
        assert_eq!(
            js_get(&out.get(0), "id").as_string().as_deref(),
            Some("18446744073709551615")
        );
        // Reply descriptions carry the id as a string too.
        let reply = ReplyRequest {
            session_token: vec![1],
            response: Some(SignCoordinatorResponse {
                ref_request_id: BIG_ID,
                sign_response_type: Some(Resp::SignPsbtResponse(SignPsbtResponse {
                    signed_psbt: Vec::new(),
                    signed_inputs: vec![0],
                })),
            }),
        };
        let r = insp
            .describe_reply(&frame(&reply.encode_to_vec()))
            .expect("reply described");
        assert_eq!(
            js_get(&r, "id").as_string().as_deref(),
            Some("9007199254740993")
        );
    }

    #[wasm_bindgen_test]
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
            let mut insp = StreamInspector::new("regtest").expect("inspector");
            let a = insp.push_attach_chunk(&body[..split]).expect("first part");
            let b = insp.push_attach_chunk(&body[split..]).expect("second part");
            let n = js_sys::Array::from(&a).length() + js_sys::Array::from(&b).length();
            assert_eq!(n, 1, "one request (the token is skipped), split at {split}");
            assert_eq!(insp.end, Some((16, "lnd rejected the macaroon".to_owned())));
        }
        assert!(StreamInspector::new("moon").is_err());
    }
}
