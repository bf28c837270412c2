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
//!   Attach stream and of the signer's Reply calls, for the activity log
//!   (the core's [`lnd_web_signer::activity`] does the work, natively
//!   tested; this is its JS binding). It never reports key material,
//!   nonces, signatures or shared secrets.
//!
//! The page feeds `StreamInspector` from the `fetch` hook that
//! `UnlockedSigner.connect` accepts: the Attach response body is teed, the
//! Reply request bodies are read from a clone of the request.

use js_sys::Uint8Array;
use lnd_web_signer::activity::{describe_reply_batch_body, describe_reply_body, AttachInspector};
use lnd_web_signer::keys::Network;
use lnd_web_signer::secret::{SecretBytes, SecretString};
use lnd_web_signer::vault;
use serde::Serialize;
use wasm_bindgen::prelude::*;

use super::error_code::{ErrorCode, Phase};

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

/** The final status of an Attach stream (StreamInspector.end). */
export interface StreamEnd {
  /** grpc-status (never 0 here: an OK end has errorCode null). */
  code: number;
  /** grpc-message, percent-decoded. */
  message: string;
  /** As the signer loop's error event would give it; null for status OK. */
  errorCode: ErrorCode | null;
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

use super::js_value::to_js;

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
        Some(SecretBytes::new(
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
    macaroon: Option<SecretBytes>,
) -> Result<(Vec<u8>, vault::OpenedVault), JsError> {
    let header = vault::read_header(blob).map_err(|e| JsError::new(&e.to_string()))?;
    let mut opened = vault::open(blob, passphrase.expose().as_bytes())
        .map_err(|e| JsError::new(&e.to_string()))?;
    opened.macaroon = macaroon;
    let sealed = vault::reseal(
        &opened,
        passphrase.expose().as_bytes(),
        header.kdf.for_reseal(),
        &lnd_web_signer::entropy::OsEntropy,
    )
    .map_err(|e| JsError::new(&e.to_string()))?;
    Ok((sealed, opened))
}

/// The error code of an Attach stream's final `grpc-status` and
/// `grpc-message` (`None`: OK).
fn stream_end_code(code: u32, message: &str, registered: bool) -> Option<ErrorCode> {
    let code = tonic::Code::from(i32::try_from(code).unwrap_or(i32::MAX));
    (code != tonic::Code::Ok)
        .then(|| ErrorCode::of_bridge(Phase::Stream { registered }, code, message))
}

/// Describes the traffic of one Attach stream for the activity log.
#[wasm_bindgen]
#[derive(Debug)]
pub struct StreamInspector {
    inner: AttachInspector,
    /// Whether a request (the first is lnd's registration answer) was seen:
    /// the phase of the stream's end for its [`ErrorCode`].
    registered: bool,
}

/// The stream's end as JavaScript gets it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StreamEndJs<'a> {
    code: u32,
    message: &'a str,
    /// `None` for status OK.
    error_code: Option<ErrorCode>,
}

#[wasm_bindgen]
impl StreamInspector {
    /// An inspector for a signer on `network` (addresses are encoded for it).
    #[wasm_bindgen(constructor)]
    pub fn new(network: &str) -> Result<StreamInspector, JsError> {
        let network = network
            .parse::<Network>()
            .map_err(|e| JsError::new(&e.to_string()))?;
        Ok(StreamInspector {
            inner: AttachInspector::new(network),
            registered: false,
        })
    }

    /// Feeds the next chunk of an Attach response body; returns the
    /// requests completed by it (session tokens are skipped).
    #[wasm_bindgen(js_name = pushAttachChunk, unchecked_return_type = "StreamRequestInfo[]")]
    pub fn push_attach_chunk(&mut self, chunk: &[u8]) -> Result<JsValue, JsError> {
        let out = self
            .inner
            .push_chunk(chunk)
            .map_err(|e| JsError::new(&e.to_string()))?;
        self.registered |= !out.is_empty();
        to_js(&out)
    }

    /// The stream's final status once its trailer frame was seen (the
    /// bridge's reason for ending it, e.g. lnd rejecting the macaroon), with
    /// its error code (null for OK) as the signer loop gives it: the phase
    /// is the handshake until a request was seen, then the established
    /// stream.
    #[wasm_bindgen(getter, unchecked_return_type = "StreamEnd | null")]
    pub fn end(&self) -> Result<JsValue, JsError> {
        match self.inner.end() {
            None => Ok(JsValue::NULL),
            Some(end) => to_js(&StreamEndJs {
                code: end.code,
                message: &end.message,
                error_code: stream_end_code(end.code, &end.message, self.registered),
            }),
        }
    }

    /// Describes the body of one Reply call (a single grpc-web frame).
    #[wasm_bindgen(js_name = describeReply, unchecked_return_type = "StreamReplyInfo | null")]
    pub fn describe_reply(&self, body: &[u8]) -> Result<JsValue, JsError> {
        match describe_reply_body(body).map_err(|e| JsError::new(&e.to_string()))? {
            Some(reply) => to_js(&reply),
            None => Ok(JsValue::NULL),
        }
    }

    /// Describes the body of one ReplyBatch call: one entry per answer, in
    /// order, each as [`Self::describe_reply`] gives it.
    #[wasm_bindgen(js_name = describeReplyBatch, unchecked_return_type = "StreamReplyInfo[]")]
    pub fn describe_reply_batch(&self, body: &[u8]) -> Result<JsValue, JsError> {
        let out = describe_reply_batch_body(body).map_err(|e| JsError::new(&e.to_string()))?;
        to_js(&out)
    }
}

/// The JS side of the bindings; what they describe is tested natively in
/// `lnd_web_signer::activity`.
#[cfg(test)]
mod tests {
    use super::*;
    use lnd_web_signer::grpcweb::{encode_data_frame, encode_trailer_frame};
    use lnd_web_signer::keys::bitcoin::hashes::Hash;
    use lnd_web_signer::keys::bitcoin::psbt::Psbt;
    use lnd_web_signer::keys::bitcoin::{
        absolute, transaction, Amount, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
        Txid, Witness,
    };
    use lnd_web_signer::proto::signerbridge::attach_event::Event;
    use lnd_web_signer::proto::signerbridge::{AttachEvent, ReplyRequest};
    use lnd_web_signer::proto::walletrpc::{SignPsbtRequest, SignPsbtResponse};
    use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
    use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
    use lnd_web_signer::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
    use prost::Message;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn frame(msg: &[u8]) -> Vec<u8> {
        encode_data_frame(msg).expect("small frame")
    }

    fn js_get(obj: &JsValue, name: &str) -> JsValue {
        js_sys::Reflect::get(obj, &JsValue::from_str(name)).expect("property")
    }

    /// Two inputs (the first with a `amount_sat` UTXO, the second without
    /// one) and one 90,000 sat output.
    fn psbt_bytes(amount_sat: u64) -> Vec<u8> {
        let input = |txid: u8, vout: u32| TxIn {
            previous_output: OutPoint::new(Txid::from_byte_array([txid; 32]), vout),
            script_sig: ScriptBuf::new(),
            sequence: Sequence::MAX,
            witness: Witness::new(),
        };
        let p2wpkh = |byte: u8| {
            let mut s = vec![0x00, 0x14];
            s.extend_from_slice(&[byte; 20]);
            ScriptBuf::from_bytes(s)
        };
        let tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![input(7, 1), input(8, 0)],
            output: vec![TxOut {
                value: Amount::from_sat(90_000),
                script_pubkey: p2wpkh(3),
            }],
        };
        let mut psbt = Psbt::from_unsigned_tx(tx).expect("unsigned tx");
        psbt.inputs[0].witness_utxo = Some(TxOut {
            value: Amount::from_sat(amount_sat),
            script_pubkey: p2wpkh(1),
        });
        psbt.serialize()
    }

    #[wasm_bindgen_test]
    fn sha256_of_bytes() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[wasm_bindgen_test]
    fn request_ids_and_amounts_beyond_2_pow_53_reach_js_exactly() {
        // serde-wasm-bindgen's json_compatible() refuses u64 values above
        // 2^53 - 1: the inspector threw, the page stopped reading its copy
        // of the stream and later PSBTs lost their details. Ids travel as
        // decimal strings, out-of-range amounts too.
        const BIG_ID: u64 = (1 << 53) + 1;
        const BIG_SAT: u64 = 1 << 60;
        let request = AttachEvent {
            event: Some(Event::Request(SignCoordinatorRequest {
                request_id: BIG_ID,
                sign_request_type: Some(Req::SignPsbtRequest(SignPsbtRequest {
                    funded_psbt: psbt_bytes(BIG_SAT),
                })),
            })),
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
            event: Some(Event::Request(SignCoordinatorRequest {
                request_id: u64::MAX,
                sign_request_type: Some(Req::Ping(true)),
            })),
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
    fn stream_end_and_errors_reach_js() {
        let mut insp = StreamInspector::new("regtest").expect("inspector");
        assert!(insp.end().expect("end").is_null());
        let trailer = encode_trailer_frame(&[
            ("grpc-status", "16"),
            ("grpc-message", "lnd%20rejected%20the%20macaroon"),
        ])
        .expect("trailer");
        let out = insp.push_attach_chunk(&trailer).expect("trailer read");
        assert_eq!(js_sys::Array::from(&out).length(), 0);
        let end = insp.end().expect("end");
        assert_eq!(js_get(&end, "code").as_f64(), Some(16.0));
        assert_eq!(
            js_get(&end, "message").as_string().as_deref(),
            Some("lnd rejected the macaroon")
        );
        assert_eq!(
            js_get(&end, "errorCode").as_string().as_deref(),
            Some("macaroon_rejected")
        );
        assert!(StreamInspector::new("moon").is_err());
        // OK ends have no error code.
        assert_eq!(stream_end_code(0, "", true), None);
        let mut insp = StreamInspector::new("regtest").expect("inspector");
        assert!(insp.push_attach_chunk(&frame(&[0x0a, 0x7f])).is_err());
    }

    /// A lost lnd connection (the bridge's Unavailable on the stream) is
    /// lnd's, not the bridge's, whenever it comes; other codes are lnd
    /// refusing the stream until the handshake completed.
    #[wasm_bindgen_test]
    fn stream_end_codes_follow_the_phase() {
        let lost = tonic::Code::Unavailable as u32;
        let unknown = tonic::Code::Unknown as u32;
        assert_eq!(stream_end_code(lost, "x", true), Some(ErrorCode::LndLost));
        assert_eq!(stream_end_code(lost, "x", false), Some(ErrorCode::LndLost));
        assert_eq!(
            stream_end_code(unknown, "x", false),
            Some(ErrorCode::LndRefused)
        );
        assert_eq!(
            stream_end_code(unknown, "x", true),
            Some(ErrorCode::LndLost)
        );
        assert_eq!(
            stream_end_code(16, "x", false),
            Some(ErrorCode::MacaroonRejected)
        );
        assert_eq!(stream_end_code(99, "x", true), Some(ErrorCode::LndLost));
        assert_eq!(
            stream_end_code(lost, "signer-bridge is shutting down", true),
            Some(ErrorCode::BridgeShutdown)
        );

        // The inspector is in the handshake until it has seen a request.
        let mut insp = StreamInspector::new("regtest").expect("inspector");
        let ping = AttachEvent {
            event: Some(Event::Request(SignCoordinatorRequest {
                request_id: 1,
                sign_request_type: Some(Req::Ping(true)),
            })),
        };
        let mut body = frame(&ping.encode_to_vec());
        body.extend(
            encode_trailer_frame(&[("grpc-status", "2"), ("grpc-message", "EOF")])
                .expect("trailer"),
        );
        insp.push_attach_chunk(&body).expect("read");
        let end = insp.end().expect("end");
        assert_eq!(
            js_get(&end, "errorCode").as_string().as_deref(),
            Some("lnd_lost")
        );
    }
}
