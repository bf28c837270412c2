//! gzip (RFC 1952) over miniz_oxide's raw DEFLATE: one member, header
//! fields checked, CRC-32 and size verified, output bounded. Scratch
//! buffers are wiped (the data may hold a macaroon); the caller wraps the
//! result.

use miniz_oxide::inflate::stream::{inflate, InflateState};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};
use zeroize::Zeroizing;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

const FTEXT: u8 = 1;
const FHCRC: u8 = 2;
const FEXTRA: u8 = 4;
const FNAME: u8 = 8;
const FCOMMENT: u8 = 16;

/// Why bytes are not a usable gzip file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GzipError {
    /// No gzip magic bytes.
    #[error("not a gzip file")]
    NotGzip,
    /// A compression method other than DEFLATE.
    #[error("gzip compression method {0} is not deflate")]
    Method(u8),
    /// Reserved flag bits set.
    #[error("gzip header has reserved flags set")]
    ReservedFlags,
    /// The header ends early.
    #[error("gzip header is truncated")]
    TruncatedHeader,
    /// The optional header CRC does not match.
    #[error("gzip header checksum does not match")]
    HeaderCrc,
    /// The DEFLATE data is corrupt.
    #[error("gzip data is corrupt")]
    Corrupt,
    /// The DEFLATE data ends early.
    #[error("gzip data is truncated")]
    Truncated,
    /// Decompressed data beyond the limit (a decompression bomb, or not a bundle).
    #[error("gzip data decompresses to more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The CRC-32 or size in the trailer does not match the data.
    #[error("gzip checksum does not match the data")]
    Checksum,
    /// Bytes after the first gzip member.
    #[error("{0} bytes follow the gzip data")]
    TrailingBytes(usize),
}

/// gzip of `data`: no name, no time stamp, DEFLATE level 9, OS "unix".
pub fn compress(data: &[u8]) -> Vec<u8> {
    let body = Zeroizing::new(miniz_oxide::deflate::compress_to_vec(data, 9));
    let mut out = Vec::with_capacity(body.len() + 18);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);
    out.extend_from_slice(&body);
    out.extend_from_slice(&CRC32.checksum(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// Whether `data` starts with the gzip magic bytes.
pub fn is_gzip(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b])
}

/// Decompresses one gzip member of at most `limit` bytes; nothing may
/// follow it.
pub fn decompress(data: &[u8], limit: usize) -> Result<Vec<u8>, GzipError> {
    if !is_gzip(data) {
        return Err(GzipError::NotGzip);
    }
    let h = data.get(..10).ok_or(GzipError::TruncatedHeader)?;
    if h[2] != 8 {
        return Err(GzipError::Method(h[2]));
    }
    let flags = h[3];
    if flags & !(FTEXT | FHCRC | FEXTRA | FNAME | FCOMMENT) != 0 {
        return Err(GzipError::ReservedFlags);
    }
    let mut pos = 10;
    if flags & FEXTRA != 0 {
        let x = data.get(pos..pos + 2).ok_or(GzipError::TruncatedHeader)?;
        let xlen = usize::from(u16::from_le_bytes([x[0], x[1]]));
        pos += 2 + xlen;
        if pos > data.len() {
            return Err(GzipError::TruncatedHeader);
        }
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = data[pos..]
                .iter()
                .position(|&b| b == 0)
                .ok_or(GzipError::TruncatedHeader)?;
            pos += end + 1;
        }
    }
    if flags & FHCRC != 0 {
        let c = data.get(pos..pos + 2).ok_or(GzipError::TruncatedHeader)?;
        let want = u16::from_le_bytes([c[0], c[1]]);
        if (CRC32.checksum(&data[..pos]) & 0xffff) as u16 != want {
            return Err(GzipError::HeaderCrc);
        }
        pos += 2;
    }

    let (out, used) = inflate_raw(&data[pos..], limit)?;
    pos += used;
    let t = data.get(pos..pos + 8).ok_or(GzipError::Truncated)?;
    let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
    let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
    if crc != CRC32.checksum(&out) || isize != out.len() as u32 {
        return Err(GzipError::Checksum);
    }
    pos += 8;
    if pos != data.len() {
        return Err(GzipError::TrailingBytes(data.len() - pos));
    }
    Ok(out)
}

/// Inflates raw DEFLATE data up to its end; returns the output and the
/// number of input bytes it took.
fn inflate_raw(input: &[u8], limit: usize) -> Result<(Vec<u8>, usize), GzipError> {
    let mut state = InflateState::new_boxed(DataFormat::Raw);
    let mut out = Vec::new();
    let mut chunk = Zeroizing::new(vec![0u8; 32 * 1024]);
    let mut pos = 0;
    loop {
        let r = inflate(&mut state, &input[pos..], &mut chunk, MZFlush::None);
        pos += r.bytes_consumed;
        if out.len() + r.bytes_written > limit {
            return Err(GzipError::TooLarge { limit });
        }
        out.extend_from_slice(&chunk[..r.bytes_written]);
        match r.status {
            Ok(MZStatus::StreamEnd) => return Ok((out, pos)),
            Ok(_) => {
                if r.bytes_consumed == 0 && r.bytes_written == 0 {
                    return Err(GzipError::Truncated);
                }
            }
            Err(MZError::Buf) => return Err(GzipError::Truncated),
            Err(_) => return Err(GzipError::Corrupt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bounds() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let gz = compress(&data);
        assert_eq!(decompress(&gz, data.len()).expect("round trip"), data);
        assert_eq!(
            decompress(&gz, data.len() - 1),
            Err(GzipError::TooLarge {
                limit: data.len() - 1
            })
        );
        assert_eq!(decompress(&compress(b""), 0).expect("empty"), b"");
        for cut in 0..gz.len() {
            assert!(decompress(&gz[..cut], 1 << 20).is_err(), "cut at {cut}");
        }
        let mut trailing = gz.clone();
        trailing.push(0);
        assert_eq!(
            decompress(&trailing, 1 << 20),
            Err(GzipError::TrailingBytes(1))
        );
        let mut bad_crc = gz.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        assert_eq!(decompress(&bad_crc, 1 << 20), Err(GzipError::Checksum));
        let mut method = gz.clone();
        method[2] = 7;
        assert_eq!(decompress(&method, 1 << 20), Err(GzipError::Method(7)));
        let mut corrupt = gz;
        corrupt[10] = 0xff;
        assert!(decompress(&corrupt, 1 << 20).is_err());
        assert_eq!(decompress(b"hello", 10), Err(GzipError::NotGzip));
    }

    #[test]
    fn bomb_is_bounded() {
        let zeros = vec![0u8; 8 << 20];
        let gz = compress(&zeros);
        assert!(gz.len() < 64 * 1024);
        assert_eq!(
            decompress(&gz, 1 << 20),
            Err(GzipError::TooLarge { limit: 1 << 20 })
        );
    }
}
