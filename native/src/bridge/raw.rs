//! The codec layer: bytes in, bytes out, no sessions. A gRPC codec that
//! passes message bytes through, the few protobuf wire-format steps the
//! bridge needs to wrap and unwrap its own envelope messages, and the gRPC
//! framing of a request body's first bytes (to find a Reply's session token
//! before the body is buffered). Nothing here knows the service or the
//! server: both use it (see the layers in the bridge's module doc).
//!
//! The bridge never decodes a `SignCoordinatorRequest` or
//! `SignCoordinatorResponse`: lnd's bytes go into `AttachEvent.request`
//! (field 2) as they are, and the bytes of `ReplyRequest.response` go to lnd
//! as they are. Fields the bridge does not know (newer lnd versions) are
//! therefore kept, and the signing content is never parsed.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame};
use prost::bytes::{Buf, BufMut, Bytes, BytesMut};
use tonic::{
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::{http, StdError},
    Status,
};

/// gRPC's length prefix: compression flag and 4-byte length.
const GRPC_HEADER_LEN: usize = 5;

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
#[non_exhaustive]
pub enum WireError {
    /// A varint or length runs past the end of the message.
    #[error("truncated message")]
    Truncated,
    /// A varint longer than 10 bytes.
    #[error("malformed varint")]
    BadVarint,
    /// Wire type 6/7, or field number 0.
    #[error("unsupported wire type {0}")]
    BadWireType(u64),
    /// An end-group key without its start, or for another field.
    #[error("unmatched end of group")]
    UnmatchedGroupEnd,
    /// Groups nested deeper than protobuf parsers allow.
    #[error("groups nested too deeply")]
    GroupTooDeep,
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

/// Deepest nesting of (deprecated) protobuf groups skipped in an unknown
/// field; prost's recursion limit is 100, and no client sends groups at all.
const MAX_GROUP_DEPTH: usize = 100;

/// Skips the value of one field whose key was read (`wire_type` 0, 1, 2, 5,
/// or 3 = a group, skipped up to its matching end-group key, as protobuf
/// parsers do for unknown fields). Returns the length-delimited content
/// (empty for the other types).
fn skip_value<'a>(
    buf: &mut &'a [u8],
    field: u64,
    wire_type: u64,
    depth: usize,
) -> Result<&'a [u8], WireError> {
    match wire_type {
        0 => {
            read_varint(buf)?;
            Ok(&[][..])
        }
        1 => take(buf, 8).map(|_| &[][..]),
        2 => {
            let len = read_varint(buf)?;
            take(buf, len)
        }
        5 => take(buf, 4).map(|_| &[][..]),
        3 => {
            if depth >= MAX_GROUP_DEPTH {
                return Err(WireError::GroupTooDeep);
            }
            loop {
                let key = read_varint(buf)?;
                let (inner, inner_type) = (key >> 3, key & 7);
                if inner == 0 {
                    return Err(WireError::BadWireType(inner_type));
                }
                if inner_type == 4 {
                    if inner != field {
                        return Err(WireError::UnmatchedGroupEnd);
                    }
                    return Ok(&[][..]);
                }
                skip_value(buf, inner, inner_type, depth + 1)?;
            }
        }
        other => Err(WireError::BadWireType(other)),
    }
}

/// Visits the fields of one message: `f(field_number, wire_type, payload)`
/// where payload is the length-delimited content (empty for other types).
/// Groups (wire type 3) are skipped whole and reported with an empty
/// payload; a stray end-group key (4) is an error.
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
        if wire_type == 4 {
            return Err(WireError::UnmatchedGroupEnd);
        }
        let payload = skip_value(&mut buf, field, wire_type, 0)?;
        f(field, wire_type, payload)?;
    }
    Ok(())
}

/// The two fields of a `ReplyRequest`, without decoding the response.
#[derive(Debug, PartialEq, Eq)]
pub struct ReplyParts<'a> {
    /// `session_token` (field 1; the last occurrence wins, as in protobuf).
    pub token: &'a [u8],
    /// The encoded `SignCoordinatorResponse` (field 2), `None` if absent.
    pub response: Option<ReplyResponse<'a>>,
}

/// Where the response of a [`ReplyParts`] is.
#[derive(Debug, PartialEq, Eq)]
pub enum ReplyResponse<'a> {
    /// One occurrence: a view into the request's buffer.
    Slice(&'a [u8]),
    /// Several occurrences, concatenated (protobuf's merge of a repeated
    /// message field); only this case copies.
    Merged(Vec<u8>),
}

impl ReplyResponse<'_> {
    /// The encoded response.
    pub fn bytes(&self) -> &[u8] {
        match self {
            ReplyResponse::Slice(s) => s,
            ReplyResponse::Merged(v) => v,
        }
    }
}

/// Splits an encoded `ReplyRequest`. Unknown fields are skipped.
pub fn split_reply(buf: &[u8]) -> Result<ReplyParts<'_>, WireError> {
    let mut token: &[u8] = &[];
    let mut response: Option<ReplyResponse<'_>> = None;
    for_each_field(buf, |field, wire_type, payload| {
        if (field == 1 || field == 2) && wire_type != 2 {
            return Err(WireError::WrongWireType { field, wire_type });
        }
        match field {
            1 => token = payload,
            2 => {
                response = Some(match response.take() {
                    None => ReplyResponse::Slice(payload),
                    Some(earlier) => {
                        let mut merged = earlier.bytes().to_vec();
                        merged.extend_from_slice(payload);
                        ReplyResponse::Merged(merged)
                    }
                })
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(ReplyParts { token, response })
}

/// What the first bytes of an encoded `ReplyRequest` or
/// `ReplyBatchRequest` say about its session token (field 1 in both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leading<'a> {
    /// The message starts with field 1: these are its bytes.
    Token(&'a [u8]),
    /// The bytes so far are the start of field 1, but not all of it.
    NeedMore,
    /// The message does not start with a token of at most
    /// [`MAX_LEADING_TOKEN`] bytes (another field first, or a longer
    /// value).
    NotFirst,
}

/// Longest token [`leading_token`] looks for (real tokens have 32 bytes).
pub const MAX_LEADING_TOKEN: usize = 64;

/// Looks at the start of an encoded message for its session token, the way
/// every protobuf encoder writes it (fields in number order: the token
/// first). Lets the bridge check the token of a Reply before it buffers the
/// rest of the body. Never reads past `prefix`, never allocates.
pub fn leading_token(prefix: &[u8]) -> Leading<'_> {
    // Field 1, wire type 2: key byte 0x0a.
    match prefix.first() {
        None => return Leading::NeedMore,
        Some(&0x0a) => {}
        Some(_) => return Leading::NotFirst,
    }
    // A length of at most 64 is one varint byte.
    let Some(&len) = prefix.get(1) else {
        return Leading::NeedMore;
    };
    let len = usize::from(len);
    if len > MAX_LEADING_TOKEN {
        return Leading::NotFirst;
    }
    match prefix.get(2..2 + len) {
        Some(token) => Leading::Token(token),
        None => Leading::NeedMore,
    }
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
#[non_exhaustive]
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

/// A request body whose first bytes were already read (to find its
/// token): yields them, then the rest of the original body.
#[derive(Debug)]
pub(crate) struct Prefixed<B> {
    prefix: Option<Bytes>,
    trailers: Option<http::HeaderMap>,
    ended: bool,
    rest: Pin<Box<B>>,
}

impl<B> Body for Prefixed<B>
where
    B: Body,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        if let Some(prefix) = this.prefix.take() {
            if !prefix.is_empty() {
                return Poll::Ready(Some(Ok(Frame::data(prefix))));
            }
        }
        if this.ended {
            return Poll::Ready(this.trailers.take().map(|t| Ok(Frame::trailers(t))));
        }
        this.rest.as_mut().poll_frame(cx).map(|frame| {
            frame.map(|r| r.map(|f| f.map_data(|mut d| d.copy_to_bytes(d.remaining()))))
        })
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.as_ref().is_none_or(Bytes::is_empty)
            && if self.ended {
                self.trailers.is_none()
            } else {
                self.rest.is_end_stream()
            }
    }
}

/// What the first bytes of a gRPC-framed `ReplyRequest` or
/// `ReplyBatchRequest` say about its session token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Start {
    /// The message starts with this token.
    Token(Vec<u8>),
    /// No token in front (another field first, a compressed message, or a
    /// message shorter than a token); `len` is the announced message
    /// length, when known.
    NoToken { len: Option<usize> },
}

/// The [`Start`] of the framed bytes `buf`, `None` while more are needed
/// (`ended`: the body has no more).
fn start_of(buf: &[u8], ended: bool) -> Option<Start> {
    if buf.len() < GRPC_HEADER_LEN {
        return ended.then_some(Start::NoToken { len: None });
    }
    let len = u32::from_be_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
    if buf[0] != 0 {
        return Some(Start::NoToken { len: Some(len) });
    }
    let have = &buf[GRPC_HEADER_LEN..];
    let msg = &have[..have.len().min(len)];
    match leading_token(msg) {
        Leading::Token(t) => Some(Start::Token(t.to_vec())),
        Leading::NotFirst => Some(Start::NoToken { len: Some(len) }),
        Leading::NeedMore if msg.len() == len || ended => Some(Start::NoToken { len: Some(len) }),
        Leading::NeedMore => None,
    }
}

/// Reads a request body up to its session token (a few dozen bytes, at
/// most one received chunk more). Returns what its start says and the
/// whole body again, the bytes read included.
pub(crate) async fn read_start<B>(body: B) -> Result<(Start, Prefixed<B>), Status>
where
    B: Body,
    B::Error: Into<StdError>,
{
    let mut rest = Box::pin(body);
    let mut buf = BytesMut::new();
    let (start, ended, trailers) = loop {
        if let Some(decided) = start_of(&buf, false) {
            break (decided, false, None);
        }
        let frame = std::future::poll_fn(|cx| rest.as_mut().poll_frame(cx)).await;
        match frame {
            None => break (ended_start(&buf), true, None),
            Some(Err(e)) => {
                let e: StdError = e.into();
                return Err(Status::cancelled(format!(
                    "reading the request failed: {e}"
                )));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(mut data) => buf.put(data.copy_to_bytes(data.remaining())),
                Err(frame) => break (ended_start(&buf), true, frame.into_trailers().ok()),
            },
        }
    };
    let body = Prefixed {
        prefix: Some(buf.freeze()),
        trailers,
        ended,
        rest,
    };
    Ok((start, body))
}

/// The start of a body that has ended: always decided.
fn ended_start(buf: &[u8]) -> Start {
    start_of(buf, true).unwrap_or(Start::NoToken { len: None })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use lnd_web_signer::proto::{
        signerbridge::{attach_event::Event, AttachEvent, ReplyBatchRequest, ReplyRequest},
        watchonlyrpc::{
            sign_coordinator_request::SignRequestType, sign_coordinator_response::SignResponseType,
            SignCoordinatorRequest, SignCoordinatorResponse,
        },
    };
    use prost::Message;
    use std::collections::VecDeque;

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
        let enc = req.encode_to_vec();
        let parts = split_reply(&enc).expect("valid");
        assert_eq!(parts.token, &[1; 32][..]);
        let want = pong(5).encode_to_vec();
        assert_eq!(parts.response, Some(ReplyResponse::Slice(&want[..])));

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
        assert_eq!(parts.token, &[0xaa, 0xbb][..]);
        assert_eq!(
            parts.response.as_ref().map(ReplyResponse::bytes),
            Some(&response[..])
        );

        // Two occurrences of the response merge (concatenate), as in protobuf.
        let mut twice = vec![0x12, 2, 0x08, 0x05, 0x12, 2, 0x18, 0x01];
        twice.extend_from_slice(&[0x0a, 1, 7]);
        let parts = split_reply(&twice).expect("valid");
        assert_eq!(
            parts.response,
            Some(ReplyResponse::Merged(vec![0x08, 0x05, 0x18, 0x01]))
        );

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
    fn groups_in_unknown_fields_are_skipped_like_prost_does() {
        // prost (and every protobuf parser) skips an unknown field encoded
        // as a group (wire types 3..4); the splitter refused the whole Reply
        // with "unsupported wire type 3". The bridge_split fuzz target checks
        // the splitter against prost.
        let mut env = vec![0x1b, 0x08, 0x01, 0x23, 0x24, 0x1c]; // field 3 group { 1: 1, field 4 group {} }
        env.extend_from_slice(&[0x0a, 2, 0xaa, 0xbb]);
        let parts = split_reply(&env).expect("groups skipped");
        assert_eq!(parts.token, &[0xaa, 0xbb][..]);
        let decoded = ReplyRequest::decode(&env[..]).expect("prost agrees");
        assert_eq!(decoded.session_token, vec![0xaa, 0xbb]);
        assert_eq!(
            split_batch(&env, 64).expect("batch too").token,
            &[0xaa, 0xbb][..]
        );

        assert_eq!(split_reply(&[0x1c]), Err(WireError::UnmatchedGroupEnd));
        assert_eq!(
            split_reply(&[0x1b, 0x24]),
            Err(WireError::UnmatchedGroupEnd)
        );
        assert_eq!(split_reply(&[0x1b, 0x08]), Err(WireError::Truncated));
        // Nesting is bounded (no stack exhaustion on hostile input).
        let deep: Vec<u8> = std::iter::repeat_n(0x1b, 10_000).collect();
        assert_eq!(split_reply(&deep), Err(WireError::GroupTooDeep));
    }

    #[test]
    fn leading_token_reads_only_the_first_field() {
        let req = ReplyRequest {
            session_token: vec![9; 32],
            response: Some(pong(3)),
        };
        let enc = req.encode_to_vec();
        assert_eq!(leading_token(&enc), Leading::Token(&[9; 32][..]));
        for cut in 0..34 {
            assert_eq!(leading_token(&enc[..cut]), Leading::NeedMore, "cut {cut}");
        }
        assert_eq!(leading_token(&enc[..34]), Leading::Token(&[9; 32][..]));
        // Response first, a huge length, another key: not token-first.
        assert_eq!(leading_token(&[0x12, 0, 0x0a, 0]), Leading::NotFirst);
        assert_eq!(leading_token(&[0x0a, 65]), Leading::NotFirst);
        assert_eq!(leading_token(&[0x0a, 0x80, 0x01]), Leading::NotFirst);
        assert_eq!(leading_token(&[0x0a, 0]), Leading::Token(&[][..]));
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
        assert_eq!(split_reply(&[0x0b]), Err(WireError::Truncated));
        assert_eq!(
            split_reply(&[0x0b, 0x0c]),
            Err(WireError::WrongWireType {
                field: 1,
                wire_type: 3
            })
        );
        assert_eq!(split_reply(&[0x0e]), Err(WireError::BadWireType(6)));
        assert_eq!(split_reply(&[0x02, 0]), Err(WireError::BadWireType(2)));
        assert_eq!(split_reply(&[0x80; 11]), Err(WireError::BadVarint));
    }

    /// A request body of the given frames, one per poll.
    pub(crate) struct Frames(pub(crate) VecDeque<Frame<Bytes>>);

    impl Frames {
        /// The data chunks `chunks`, then the end.
        pub(crate) fn data<'a>(chunks: impl IntoIterator<Item = &'a [u8]>) -> Self {
            Self(
                chunks
                    .into_iter()
                    .map(|c| Frame::data(Bytes::copy_from_slice(c)))
                    .collect(),
            )
        }
    }

    impl Body for Frames {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _cx: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Ready(self.get_mut().0.pop_front().map(Ok))
        }
    }

    /// `msg` with gRPC's length prefix (`flag` 1 = compressed).
    pub(crate) fn grpc_frame(flag: u8, msg: &[u8]) -> Vec<u8> {
        let mut out = vec![flag];
        out.extend_from_slice(&u32::try_from(msg.len()).expect("short").to_be_bytes());
        out.extend_from_slice(msg);
        out
    }

    /// Everything a body yields: its data and its trailers.
    pub(crate) async fn drain<B: Body<Data = Bytes>>(body: B) -> (Vec<u8>, Option<http::HeaderMap>)
    where
        B::Error: std::fmt::Debug,
    {
        let mut body = std::pin::pin!(body);
        let (mut data, mut trailers) = (Vec::new(), None);
        while let Some(frame) = std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await {
            match frame.expect("body frame").into_data() {
                Ok(d) => data.extend_from_slice(&d),
                Err(f) => trailers = f.into_trailers().ok(),
            }
        }
        (data, trailers)
    }

    #[tokio::test]
    async fn read_start_stops_at_the_token_and_gives_the_body_back() {
        let req = ReplyRequest {
            session_token: vec![5; 32],
            response: Some(pong(1)),
        };
        let framed = grpc_frame(0, &req.encode_to_vec());
        // One byte a chunk: reading stops right after the token.
        let (start, body) = read_start(Frames::data(framed.chunks(1)))
            .await
            .expect("readable");
        assert_eq!(start, Start::Token(vec![5; 32]));
        assert_eq!(
            body.prefix.as_ref().map(Bytes::len),
            Some(GRPC_HEADER_LEN + 34)
        );
        assert_eq!(drain(body).await, (framed.clone(), None));

        // Not token-first, compressed, or too short: no token, with the
        // announced length when there is one.
        let response_first = grpc_frame(0, &[0x12, 0, 0x0a, 0]);
        for (bytes, want) in [
            (&response_first[..], Start::NoToken { len: Some(4) }),
            (
                &grpc_frame(1, &[0x0a, 1, 7])[..],
                Start::NoToken { len: Some(3) },
            ),
            (&framed[..3], Start::NoToken { len: None }),
            (
                &grpc_frame(0, &[0x0a, 32, 1])[..],
                Start::NoToken { len: Some(3) },
            ),
        ] {
            let (start, body) = read_start(Frames::data([bytes])).await.expect("readable");
            assert_eq!(start, want, "{bytes:?}");
            assert_eq!(drain(body).await.0, bytes);
        }

        // Trailers after a short body are kept.
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-end", http::HeaderValue::from_static("1"));
        let frames = Frames(VecDeque::from([
            Frame::data(Bytes::from_static(&[0, 0])),
            Frame::trailers(trailers.clone()),
        ]));
        let (start, body) = read_start(frames).await.expect("readable");
        assert_eq!(start, Start::NoToken { len: None });
        assert_eq!(drain(body).await, (vec![0, 0], Some(trailers)));
    }
}
