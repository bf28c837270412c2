//! Byte-exact relaying: a gRPC codec that passes message bytes through, the
//! few protobuf wire-format steps the bridge needs to wrap and unwrap its own
//! envelope messages, and the `signerbridge.SignerBridge` HTTP service built
//! on them.
//!
//! The bridge never decodes a `SignCoordinatorRequest` or
//! `SignCoordinatorResponse`: lnd's bytes go into `AttachEvent.request`
//! (field 2) as they are, and the bytes of `ReplyRequest.response` go to lnd
//! as they are. Fields the bridge does not know (newer lnd versions) are
//! therefore kept, and the signing content is never parsed.

use std::task::{Context, Poll};

use prost::bytes::{Buf, BufMut, Bytes, BytesMut};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::{http, Body, BoxFuture, Service, StdError},
    server::{Grpc, NamedService},
    Request, Response, Status,
};

use super::service::{AttachStream, SignerBridgeService};

/// gRPC codec whose messages are the encoded protobuf bytes themselves.
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCodec;

/// Encoder/decoder of [`RawCodec`].
#[derive(Debug, Clone, Copy, Default)]
pub struct RawCoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawCoder;
    type Decoder = RawCoder;

    fn encoder(&mut self) -> Self::Encoder {
        RawCoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCoder
    }
}

impl Encoder for RawCoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for RawCoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        let n = src.remaining();
        Ok(Some(src.copy_to_bytes(n)))
    }
}

/// Protobuf wire-format errors in a bridge envelope message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// A varint or length runs past the end of the message.
    #[error("truncated message")]
    Truncated,
    /// A varint longer than 10 bytes.
    #[error("malformed varint")]
    BadVarint,
    /// Wire type 3/4 (groups) or 6/7, or field number 0.
    #[error("unsupported wire type {0}")]
    BadWireType(u64),
    /// A known field arrived with the wrong wire type.
    #[error("field {field} has wire type {wire_type}, expected length-delimited")]
    WrongWireType {
        /// Field number.
        field: u64,
        /// Wire type seen.
        wire_type: u64,
    },
}

fn read_varint(buf: &mut &[u8]) -> Result<u64, WireError> {
    let mut value = 0u64;
    for i in 0..10 {
        let (&b, rest) = buf.split_first().ok_or(WireError::Truncated)?;
        *buf = rest;
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(WireError::BadVarint)
}

fn take<'a>(buf: &mut &'a [u8], n: u64) -> Result<&'a [u8], WireError> {
    let n = usize::try_from(n).map_err(|_| WireError::Truncated)?;
    if buf.len() < n {
        return Err(WireError::Truncated);
    }
    let (head, rest) = buf.split_at(n);
    *buf = rest;
    Ok(head)
}

/// Visits the fields of one message: `f(field_number, wire_type, payload)`
/// where payload is the length-delimited content (empty for other types).
fn for_each_field<'a>(
    mut buf: &'a [u8],
    mut f: impl FnMut(u64, u64, &'a [u8]) -> Result<(), WireError>,
) -> Result<(), WireError> {
    while !buf.is_empty() {
        let key = read_varint(&mut buf)?;
        let (field, wire_type) = (key >> 3, key & 7);
        if field == 0 {
            return Err(WireError::BadWireType(wire_type));
        }
        let payload = match wire_type {
            0 => {
                read_varint(&mut buf)?;
                &[][..]
            }
            1 => {
                take(&mut buf, 8)?;
                &[][..]
            }
            2 => {
                let len = read_varint(&mut buf)?;
                take(&mut buf, len)?
            }
            5 => {
                take(&mut buf, 4)?;
                &[][..]
            }
            other => return Err(WireError::BadWireType(other)),
        };
        f(field, wire_type, payload)?;
    }
    Ok(())
}

/// The two fields of a `ReplyRequest`, without decoding the response.
#[derive(Debug, PartialEq, Eq)]
pub struct ReplyParts {
    /// `session_token` (field 1; the last occurrence wins, as in protobuf).
    pub token: Vec<u8>,
    /// The encoded `SignCoordinatorResponse` (field 2), `None` if absent.
    /// Several occurrences are concatenated, which is protobuf's merge.
    pub response: Option<Vec<u8>>,
}

/// Splits an encoded `ReplyRequest`. Unknown fields are skipped.
pub fn split_reply(buf: &[u8]) -> Result<ReplyParts, WireError> {
    let mut token = Vec::new();
    let mut response: Option<Vec<u8>> = None;
    for_each_field(buf, |field, wire_type, payload| {
        if (field == 1 || field == 2) && wire_type != 2 {
            return Err(WireError::WrongWireType { field, wire_type });
        }
        match field {
            1 => token = payload.to_vec(),
            2 => response
                .get_or_insert_with(Vec::new)
                .extend_from_slice(payload),
            _ => {}
        }
        Ok(())
    })?;
    Ok(ReplyParts { token, response })
}

/// The fields of a `ReplyBatchRequest`, without decoding the responses.
#[derive(Debug, PartialEq, Eq)]
pub struct BatchParts<'a> {
    /// `session_token` (field 1; the last occurrence wins).
    pub token: &'a [u8],
    /// The encoded `SignCoordinatorResponse`s (field 2, repeated: every
    /// occurrence is one response), in order, exactly as sent.
    pub responses: Vec<&'a [u8]>,
}

/// Splits an encoded `ReplyBatchRequest`. Unknown fields are skipped. At
/// most `max_responses` responses are collected; more is
/// [`BatchError::TooMany`] (checked while splitting, so a huge count costs
/// no memory).
pub fn split_batch(buf: &[u8], max_responses: usize) -> Result<BatchParts<'_>, BatchError> {
    let mut token: &[u8] = &[];
    let mut responses = Vec::new();
    let mut too_many = false;
    for_each_field(buf, |field, wire_type, payload| {
        if (field == 1 || field == 2) && wire_type != 2 {
            return Err(WireError::WrongWireType { field, wire_type });
        }
        match field {
            1 => token = payload,
            2 if responses.len() < max_responses => responses.push(payload),
            2 => too_many = true,
            _ => {}
        }
        Ok(())
    })?;
    if too_many {
        return Err(BatchError::TooMany(max_responses));
    }
    Ok(BatchParts { token, responses })
}

/// Why a `ReplyBatchRequest` cannot be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// Not valid protobuf.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// More responses than allowed in one batch.
    #[error("more than {0} responses in one batch")]
    TooMany(usize),
}

fn put_varint(out: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        // Truncation to the low 7 bits is the point of the encoding.
        out.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// Encodes `AttachEvent { request: <raw> }` around lnd's encoded request.
pub fn request_event(raw: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(raw.len() + 11);
    put_varint(&mut out, (2 << 3) | 2);
    put_varint(&mut out, raw.len() as u64);
    out.put_slice(raw);
    out.freeze()
}

/// Encodes `AttachEvent { session_token: <token> }`.
pub fn token_event(token: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(token.len() + 11);
    put_varint(&mut out, (1 << 3) | 2);
    put_varint(&mut out, token.len() as u64);
    out.put_slice(token);
    out.freeze()
}

/// Full method paths served.
pub const ATTACH_PATH: &str = "/signerbridge.SignerBridge/Attach";
/// See [`ATTACH_PATH`].
pub const REPLY_PATH: &str = "/signerbridge.SignerBridge/Reply";
/// See [`ATTACH_PATH`].
pub const REPLY_BATCH_PATH: &str = "/signerbridge.SignerBridge/ReplyBatch";

/// HTTP service for `signerbridge.SignerBridge` (same wire protocol as the
/// generated server, but messages stay bytes).
#[derive(Debug, Clone)]
pub struct BridgeServer {
    svc: SignerBridgeService,
    max_decoding: usize,
    max_encoding: usize,
}

impl BridgeServer {
    /// Serves `svc`, refusing incoming messages over `max_decoding` bytes and
    /// outgoing ones over `max_encoding` bytes.
    pub fn new(svc: SignerBridgeService, max_decoding: usize, max_encoding: usize) -> Self {
        Self {
            svc,
            max_decoding,
            max_encoding,
        }
    }

    fn grpc(&self) -> Grpc<RawCodec> {
        Grpc::new(RawCodec)
            .apply_max_message_size_config(Some(self.max_decoding), Some(self.max_encoding))
    }
}

impl NamedService for BridgeServer {
    const NAME: &'static str = "signerbridge.SignerBridge";
}

struct AttachSvc(SignerBridgeService);

impl Service<Request<Bytes>> for AttachSvc {
    type Response = Response<AttachStream>;
    type Error = Status;
    type Future = BoxFuture<Self::Response, Status>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let svc = self.0.clone();
        Box::pin(async move { svc.attach(req).await })
    }
}

struct ReplySvc(SignerBridgeService);

impl Service<Request<Bytes>> for ReplySvc {
    type Response = Response<Bytes>;
    type Error = Status;
    type Future = BoxFuture<Self::Response, Status>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let svc = self.0.clone();
        Box::pin(async move { svc.reply(req).await })
    }
}

struct ReplyBatchSvc(SignerBridgeService);

impl Service<Request<Bytes>> for ReplyBatchSvc {
    type Response = Response<Bytes>;
    type Error = Status;
    type Future = BoxFuture<Self::Response, Status>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Bytes>) -> Self::Future {
        let svc = self.0.clone();
        Box::pin(async move { svc.reply_batch(req).await })
    }
}

impl<B> Service<http::Request<B>> for BridgeServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let mut grpc = self.grpc();
        let svc = self.svc.clone();
        match req.uri().path() {
            ATTACH_PATH => {
                Box::pin(async move { Ok(grpc.server_streaming(AttachSvc(svc), req).await) })
            }
            REPLY_PATH => Box::pin(async move { Ok(grpc.unary(ReplySvc(svc), req).await) }),
            REPLY_BATCH_PATH => {
                Box::pin(async move { Ok(grpc.unary(ReplyBatchSvc(svc), req).await) })
            }
            _ => Box::pin(async move {
                Ok(
                    Status::unimplemented("no such method on signerbridge.SignerBridge")
                        .into_http(),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lnd_web_signer::proto::{
        signerbridge::{attach_event::Event, AttachEvent, ReplyBatchRequest, ReplyRequest},
        watchonlyrpc::{
            sign_coordinator_request::SignRequestType, sign_coordinator_response::SignResponseType,
            SignCoordinatorRequest, SignCoordinatorResponse,
        },
    };
    use prost::Message;

    fn pong(id: u64) -> SignCoordinatorResponse {
        SignCoordinatorResponse {
            ref_request_id: id,
            sign_response_type: Some(SignResponseType::Pong(true)),
        }
    }

    #[test]
    fn events_match_prost_encoding() {
        for len in [0usize, 1, 127, 128, 300, 70_000] {
            let raw: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let ours = request_event(&raw);
            // Decoding gives back the same bytes inside field 2.
            let mut buf = &ours[..];
            let mut seen = None;
            for_each_field(buf, |f, w, p| {
                assert_eq!((f, w), (2, 2));
                seen = Some(p.to_vec());
                Ok(())
            })
            .expect("well-formed");
            assert_eq!(seen.as_deref(), Some(&raw[..]));
            // Our varint matches prost's for the length prefix.
            let mut prost_len = Vec::new();
            prost::encoding::encode_varint(len as u64, &mut prost_len);
            buf = &ours[1..];
            assert!(buf.starts_with(&prost_len));
        }
        let token = [7u8; 32];
        let expected = AttachEvent {
            event: Some(Event::SessionToken(token.to_vec())),
        }
        .encode_to_vec();
        assert_eq!(token_event(&token).to_vec(), expected);
        // A real request round-trips through prost.
        let request = SignCoordinatorRequest {
            request_id: 9,
            sign_request_type: Some(SignRequestType::Ping(true)),
        };
        let ev = AttachEvent::decode(request_event(&request.encode_to_vec())).expect("decodes");
        assert_eq!(ev.event, Some(Event::Request(request)));
    }

    #[test]
    fn reply_split_keeps_bytes() {
        let req = ReplyRequest {
            session_token: vec![1; 32],
            response: Some(pong(5)),
        };
        let parts = split_reply(&req.encode_to_vec()).expect("valid");
        assert_eq!(parts.token, vec![1; 32]);
        assert_eq!(parts.response, Some(pong(5).encode_to_vec()));

        // Unknown fields inside the response are kept byte for byte; unknown
        // fields of the envelope are skipped.
        let mut response = pong(6).encode_to_vec();
        response.extend_from_slice(&[0xf8, 0x06, 0x01]); // field 111, varint 1
        let mut env = Vec::new();
        env.extend_from_slice(&[0x0a, 2, 0xaa, 0xbb]); // token
        env.extend_from_slice(&[0x18, 0x05]); // field 3 varint: unknown
        env.push(0x12);
        env.push(response.len() as u8);
        env.extend_from_slice(&response);
        env.extend_from_slice(&[0x25, 1, 2, 3, 4]); // field 4 fixed32
        let parts = split_reply(&env).expect("valid");
        assert_eq!(parts.token, vec![0xaa, 0xbb]);
        assert_eq!(parts.response, Some(response));

        // Absent response.
        let parts = split_reply(&[0x0a, 1, 9]).expect("valid");
        assert_eq!(parts.response, None);
    }

    #[test]
    fn batch_split_keeps_bytes_and_order() {
        let req = ReplyBatchRequest {
            session_token: vec![3; 32],
            responses: vec![
                pong(1),
                pong(2),
                SignCoordinatorResponse::default(),
                pong(4),
            ],
        };
        let enc = req.encode_to_vec();
        let parts = split_batch(&enc, 64).expect("valid");
        assert_eq!(parts.token, &[3; 32][..]);
        let got: Vec<Vec<u8>> = parts.responses.iter().map(|r| r.to_vec()).collect();
        let want: Vec<Vec<u8>> = req.responses.iter().map(Message::encode_to_vec).collect();
        assert_eq!(got, want);
        // An empty response (all defaults) is still one element.
        assert!(parts.responses[2].is_empty());

        // Unknown fields inside responses are kept; envelope extras skipped;
        // responses interleaved with other fields keep their order.
        let mut r1 = pong(7).encode_to_vec();
        r1.extend_from_slice(&[0xf8, 0x06, 0x01]);
        let r2 = pong(8).encode_to_vec();
        let mut env = vec![0x12, r1.len() as u8];
        env.extend_from_slice(&r1);
        env.extend_from_slice(&[0x18, 0x05, 0x0a, 2, 0xaa, 0xbb]);
        env.push(0x12);
        env.push(r2.len() as u8);
        env.extend_from_slice(&r2);
        let parts = split_batch(&env, 64).expect("valid");
        assert_eq!(parts.token, &[0xaa, 0xbb][..]);
        assert_eq!(parts.responses, vec![&r1[..], &r2[..]]);

        // The same bytes decode with prost as the same batch.
        let decoded = ReplyBatchRequest::decode(&enc[..]).expect("prost decodes");
        assert_eq!(decoded, req);
    }

    #[test]
    fn batch_split_bounds_and_errors() {
        let req = ReplyBatchRequest {
            session_token: vec![1; 32],
            responses: (0..5).map(pong).collect(),
        };
        let enc = req.encode_to_vec();
        assert_eq!(
            split_batch(&enc, 5).expect("at the limit").responses.len(),
            5
        );
        assert_eq!(split_batch(&enc, 4), Err(BatchError::TooMany(4)));
        assert_eq!(
            split_batch(&[0x12, 5, 1], 64),
            Err(BatchError::Wire(WireError::Truncated))
        );
        assert_eq!(
            split_batch(&[0x10, 1], 64),
            Err(BatchError::Wire(WireError::WrongWireType {
                field: 2,
                wire_type: 0
            }))
        );
        let parts = split_batch(&[0x0a, 1, 9], 64).expect("valid, no responses");
        assert!(parts.responses.is_empty());
    }

    #[test]
    fn reply_split_rejects_malformed_input() {
        assert_eq!(split_reply(&[0x0a, 5, 1]), Err(WireError::Truncated));
        assert_eq!(split_reply(&[0x0a]), Err(WireError::Truncated));
        assert_eq!(
            split_reply(&[0x08, 1]),
            Err(WireError::WrongWireType {
                field: 1,
                wire_type: 0
            })
        );
        assert_eq!(split_reply(&[0x0b]), Err(WireError::BadWireType(3)));
        assert_eq!(split_reply(&[0x02, 0]), Err(WireError::BadWireType(2)));
        assert_eq!(split_reply(&[0x80; 11]), Err(WireError::BadVarint));
    }
}
