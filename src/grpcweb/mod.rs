//! grpc-web response body decoding, independent of the target.
//!
//! A grpc-web response body is a sequence of frames, each
//! `flag (1 byte) ‖ length (4 bytes, big endian) ‖ payload`:
//!
//! * flag bit `0x80` clear: a data frame; the payload is one protobuf
//!   message (bit `0x01` marks a compressed message, as in gRPC);
//! * flag bit `0x80` set: the trailer frame; the payload is a block of
//!   HTTP/1-style header lines (`grpc-status: 0\r\ngrpc-message: ...\r\n`).
//!
//! The transport (fetch on wasm) hands us the body in chunks whose boundaries
//! have nothing to do with frame boundaries: a proxy may cut anywhere, even
//! inside the 5-byte frame header of the trailer. [`Decoder`] buffers until a
//! frame is complete and only then yields it, so chunking can never change
//! the result. (tonic-web-wasm-client 0.9.2 ends the body early when the
//! trailer frame is split and tonic then reports "missing grpc-status
//! trailer"; see docs/wasm-transport.md.)
//!
//! Data frames are yielded with their 5-byte header, i.e. as gRPC
//! length-prefixed messages, which is what tonic's decoder consumes.

use bytes::{Buf, Bytes, BytesMut};
use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Length of the frame header: flag byte plus 4-byte length.
pub const FRAME_HEADER_LEN: usize = 5;
/// Flag bit of the trailer frame.
pub const TRAILER_FLAG: u8 = 0x80;
/// Largest frame payload accepted by default (lnd's watch-only node accepts
/// messages up to 200 MiB; see spec/protocol.md §1).
pub const DEFAULT_MAX_FRAME_LEN: usize = 200 * 1024 * 1024;
/// Largest trailer frame payload accepted. A server's trailers are
/// `grpc-status`, `grpc-message` and perhaps a few more names: a few hundred
/// bytes. The limit is checked on the announced length, before the frame is
/// buffered.
pub const MAX_TRAILER_LEN: usize = 8 * 1024;
/// Most non-blank lines in a trailer block. `http::HeaderMap` panics past
/// 24,576 distinct names; this bound keeps a hostile server far below it.
pub const MAX_TRAILER_LINES: usize = 64;

/// One complete grpc-web frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A data frame including its 5-byte header (a gRPC length-prefixed
    /// message).
    Data(Bytes),
    /// The parsed trailer frame (header names in lower case).
    Trailers(HeaderMap),
}

/// Errors of grpc-web body decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A frame announces more payload than allowed.
    #[error("grpc-web frame of {len} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Announced payload length.
        len: usize,
        /// Configured limit.
        max: usize,
    },
    /// Bytes followed the trailer frame.
    #[error("grpc-web body has {0} bytes after the trailer frame")]
    DataAfterTrailers(usize),
    /// The body ended inside a frame.
    #[error("grpc-web body ended inside a frame ({have} of {need} bytes received)")]
    Truncated {
        /// Bytes of the incomplete frame received.
        have: usize,
        /// Bytes the frame needs (header included, when known).
        need: usize,
    },
    /// A trailer frame announces more payload than [`MAX_TRAILER_LEN`].
    #[error("grpc-web trailer frame of {len} bytes exceeds the limit of {max} bytes")]
    TrailerTooLarge {
        /// Announced payload length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A trailer block has more than [`MAX_TRAILER_LINES`] lines.
    #[error("grpc-web trailer frame has more than {max} lines")]
    TooManyTrailerLines {
        /// The limit.
        max: usize,
    },
    /// A trailer line is not `name: value`.
    #[error("invalid grpc-web trailer line {line}: {reason}")]
    BadTrailer {
        /// 1-based line number inside the trailer block.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
}

/// Incremental grpc-web body decoder: [`push`](Decoder::push) chunks as they
/// arrive, then take complete frames with [`next_frame`](Decoder::next_frame).
#[derive(Debug)]
pub struct Decoder {
    buf: BytesMut,
    max_frame_len: usize,
    trailers_seen: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder with [`DEFAULT_MAX_FRAME_LEN`].
    pub fn new() -> Self {
        Self::with_max_frame_len(DEFAULT_MAX_FRAME_LEN)
    }

    /// A decoder rejecting frames with a payload larger than `max`.
    pub fn with_max_frame_len(max: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            max_frame_len: max,
            trailers_seen: false,
        }
    }

    /// Appends one chunk of the body, as received.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// True once the trailer frame has been returned.
    pub fn trailers_seen(&self) -> bool {
        self.trailers_seen
    }

    /// Number of buffered bytes not yet returned as a frame.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, or `None` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        if self.trailers_seen {
            return if self.buf.is_empty() {
                Ok(None)
            } else {
                Err(DecodeError::DataAfterTrailers(self.buf.len()))
            };
        }
        if self.buf.len() < FRAME_HEADER_LEN {
            return Ok(None);
        }
        let flag = self.buf[0];
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if flag & TRAILER_FLAG != 0 && len > MAX_TRAILER_LEN {
            return Err(DecodeError::TrailerTooLarge {
                len,
                max: MAX_TRAILER_LEN,
            });
        }
        if len > self.max_frame_len {
            return Err(DecodeError::FrameTooLarge {
                len,
                max: self.max_frame_len,
            });
        }
        if self.buf.len() < FRAME_HEADER_LEN + len {
            return Ok(None);
        }
        if flag & TRAILER_FLAG == 0 {
            let frame = self.buf.split_to(FRAME_HEADER_LEN + len).freeze();
            return Ok(Some(Frame::Data(frame)));
        }
        self.buf.advance(FRAME_HEADER_LEN);
        let block = self.buf.split_to(len);
        let trailers = parse_trailers(&block)?;
        self.trailers_seen = true;
        Ok(Some(Frame::Trailers(trailers)))
    }

    /// Call at the end of the body: fails if it ended inside a frame or
    /// undecoded bytes remain.
    pub fn finish(&self) -> Result<(), DecodeError> {
        let have = self.buf.len();
        if have == 0 {
            return Ok(());
        }
        if self.trailers_seen {
            return Err(DecodeError::DataAfterTrailers(have));
        }
        let need = if have < FRAME_HEADER_LEN {
            FRAME_HEADER_LEN
        } else {
            FRAME_HEADER_LEN
                + u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize
        };
        Err(DecodeError::Truncated { have, need })
    }
}

/// Parses a trailer block (`name: value` lines separated by CRLF or LF).
/// Names are lower-cased; surrounding white space of values is removed.
/// At most [`MAX_TRAILER_LINES`] non-blank lines are accepted (the caller
/// bounds the block's size: [`Decoder`] refuses trailer frames over
/// [`MAX_TRAILER_LEN`]).
pub fn parse_trailers(block: &[u8]) -> Result<HeaderMap, DecodeError> {
    let mut map = HeaderMap::new();
    let mut lines = 0usize;
    for (i, raw) in block.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let line = raw.strip_suffix(b"\r").unwrap_or(raw);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        lines += 1;
        if lines > MAX_TRAILER_LINES {
            return Err(DecodeError::TooManyTrailerLines {
                max: MAX_TRAILER_LINES,
            });
        }
        let bad = |reason: &str| DecodeError::BadTrailer {
            line: line_no,
            reason: reason.to_owned(),
        };
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or_else(|| bad("no ':' separator"))?;
        let name = line[..colon].trim_ascii().to_ascii_lowercase();
        let value = line[colon + 1..].trim_ascii();
        let name = HeaderName::from_bytes(&name).map_err(|_| bad("invalid header name"))?;
        let value = HeaderValue::from_bytes(value).map_err(|_| bad("invalid header value"))?;
        // Never the panicking `append`: the line bound keeps the map far
        // below its capacity limit, and should that ever change this is an
        // error, not a trap.
        map.try_append(name, value)
            .map_err(|_| DecodeError::TooManyTrailerLines {
                max: MAX_TRAILER_LINES,
            })?;
    }
    Ok(map)
}

/// Encodes one data frame (for servers and tests).
pub fn encode_data_frame(message: &[u8]) -> Result<Vec<u8>, DecodeError> {
    encode_frame(0, message)
}

/// Encodes a trailer frame from `(name, value)` pairs (for servers and tests).
pub fn encode_trailer_frame(trailers: &[(&str, &str)]) -> Result<Vec<u8>, DecodeError> {
    let mut block = Vec::new();
    for (name, value) in trailers {
        block.extend_from_slice(name.as_bytes());
        block.extend_from_slice(b": ");
        block.extend_from_slice(value.as_bytes());
        block.extend_from_slice(b"\r\n");
    }
    encode_frame(TRAILER_FLAG, &block)
}

fn encode_frame(flag: u8, payload: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let len = u32::try_from(payload.len()).map_err(|_| DecodeError::FrameTooLarge {
        len: payload.len(),
        max: u32::MAX as usize,
    })?;
    let mut out = Vec::with_capacity(FRAME_HEADER_LEN + payload.len());
    out.push(flag);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

#[cfg(test)]
mod tests;
