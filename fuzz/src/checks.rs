//! The properties the fuzz targets check, one function per target. Each
//! takes the fuzzer's bytes and panics only when a property is broken (a
//! decoder that panics by itself is a finding too). Shared with the
//! regression test `native/tests/integration/fuzz_regressions.rs`, which feeds every
//! kept input of `fuzz/regressions/<target>/` through the same function,
//! so this file uses only crates the native crate has as well.

use lnd_web_signer::entropy::Entropy;
use lnd_web_signer::grpcweb::{self, DecodeError, Decoder, Frame, FRAME_HEADER_LEN};
use lnd_web_signer::keys::aezeed::{CipherSeed, Mnemonic, ScryptParams, ENCIPHERED_LEN};
use lnd_web_signer::keys::bitcoin::hashes::{sha256, Hash};
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::signerbridge::{ReplyBatchRequest, ReplyRequest};
use lnd_web_signer::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
use lnd_web_signer::session;
use lnd_web_signer::signer::Signer;
use lnd_web_signer_native::bridge::raw::{
    leading_token, split_batch, split_reply, BatchError, Leading,
};
use prost::Message;

/// Deterministic "randomness" (a counter through SHA-256), so that a crash
/// input reproduces exactly.
#[derive(Debug, Default)]
pub struct CountingEntropy(std::sync::atomic::AtomicU64);

impl Entropy for CountingEntropy {
    fn fill_bytes(&self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let n = self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let h = sha256::Hash::hash(&n.to_le_bytes());
            chunk.copy_from_slice(&h.as_byte_array()[..chunk.len()]);
        }
    }
}

/// The regtest test key the simulator's workloads are made for (the e2e
/// seed, entropy `4a7611b6979ba7c4bc5c5cd2239b2973`; public, never a wallet).
pub const TEST_SEED_ENTROPY: [u8; 16] = [
    0x4a, 0x76, 0x11, 0xb6, 0x97, 0x9b, 0xa7, 0xc4, 0xbc, 0x5c, 0x5c, 0xd2, 0x23, 0x9b, 0x29, 0x73,
];

/// A fresh signer for the test key with deterministic entropy.
pub fn test_signer() -> Signer {
    let root = RootKey::from_seed_entropy(&TEST_SEED_ENTROPY, Network::Regtest)
        .expect("the test seed gives a root key");
    Signer::new(root, Box::new(CountingEntropy::default()))
}

fn data_frames_are_well_formed(frames: &[Frame]) {
    for f in frames {
        if let Frame::Data(d) = f {
            assert!(d.len() >= FRAME_HEADER_LEN);
            let len = u32::from_be_bytes([d[1], d[2], d[3], d[4]]) as usize;
            assert_eq!(d.len(), FRAME_HEADER_LEN + len, "data frame length");
        }
    }
}

/// All frames of `body` pushed in the chunks `sizes` describes (cycled),
/// draining after each chunk, then `finish`.
fn decode_chunked(
    body: &[u8],
    sizes: &[usize],
    max: Option<usize>,
) -> (Vec<Frame>, Option<DecodeError>) {
    let mut d = max.map_or_else(Decoder::new, Decoder::with_max_frame_len);
    let mut frames = Vec::new();
    let mut rest = body;
    let mut i = 0;
    loop {
        let n = if sizes.is_empty() {
            rest.len()
        } else {
            sizes[i % sizes.len()].min(rest.len())
        };
        i += 1;
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        d.push(chunk);
        loop {
            match d.next_frame() {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
        if rest.is_empty() {
            break;
        }
    }
    (frames, d.finish().err())
}

fn same_error(a: &Option<DecodeError>, b: &Option<DecodeError>) -> bool {
    match (a, b) {
        // How many bytes follow the trailers depends on where the chunk
        // ended; the error itself must be the same.
        (Some(DecodeError::DataAfterTrailers(_)), Some(DecodeError::DataAfterTrailers(_))) => true,
        _ => a == b,
    }
}

/// `grpcweb_frames`: the grpc-web body decoder fed in random chunkings.
/// Byte 0: bits 0-3 the number of chunk sizes that follow (one byte each,
/// size = byte + 1), bit 4 a 1 KiB frame limit instead of the default. The
/// rest is the body. Whatever the chunking, the frames and the error must
/// be those of the whole body pushed at once; data frames carry their
/// length; the trailer parser never panics on any block.
pub fn grpcweb_frames(data: &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return;
    };
    let n = usize::from(ctl & 0x0f).min(rest.len());
    let (cuts, body) = rest.split_at(n);
    let sizes: Vec<usize> = cuts.iter().map(|&b| usize::from(b) + 1).collect();
    let max = (ctl & 0x10 != 0).then_some(1024);
    let (whole_frames, whole_err) = decode_chunked(body, &[], max);
    let (frames, err) = decode_chunked(body, &sizes, max);
    data_frames_are_well_formed(&whole_frames);
    assert_eq!(frames, whole_frames, "chunking changed the frames");
    assert!(
        same_error(&err, &whole_err),
        "chunking changed the error: {err:?} vs {whole_err:?}"
    );
    // A trailer block on its own (every error is a value, never a panic).
    if let Ok(map) = grpcweb::parse_trailers(body) {
        assert!(
            map.len() <= grpcweb::MAX_TRAILER_LINES,
            "{} trailer names",
            map.len()
        );
    }
}

/// `bridge_split`: signer-bridge's `ReplyRequest`/`ReplyBatchRequest`
/// splitting against prost. Whenever prost decodes the envelope, the
/// splitter must too, with the same token and responses that decode to
/// prost's; the token read from the first bytes is the message's first
/// field and consistent for every prefix.
pub fn bridge_split(data: &[u8]) {
    let split = split_reply(data);
    if let Ok(req) = ReplyRequest::decode(data) {
        let parts = split.as_ref().unwrap_or_else(|e| {
            panic!("prost decodes the ReplyRequest, the bridge refuses it: {e}")
        });
        assert_eq!(parts.token, &req.session_token[..], "reply token");
        match (&parts.response, &req.response) {
            (None, None) => {}
            (Some(bytes), Some(want)) => {
                let got = SignCoordinatorResponse::decode(bytes.bytes())
                    .expect("the split response decodes when the whole does");
                assert_eq!(&got, want, "reply response");
            }
            (a, b) => panic!("response presence differs: {a:?} vs {b:?}"),
        }
    }
    match (split_batch(data, 64), ReplyBatchRequest::decode(data)) {
        (Ok(parts), Ok(req)) => {
            assert_eq!(parts.token, &req.session_token[..], "batch token");
            assert_eq!(parts.responses.len(), req.responses.len());
            for (got, want) in parts.responses.iter().zip(&req.responses) {
                let got = SignCoordinatorResponse::decode(*got).expect("element decodes");
                assert_eq!(&got, want, "batch element");
            }
        }
        (Err(BatchError::TooMany(_)), Ok(req)) => assert!(req.responses.len() > 64),
        (Err(e), Ok(_)) => {
            panic!("prost decodes the ReplyBatchRequest, the bridge refuses it: {e}")
        }
        (_, Err(_)) => {}
    }
    let full = leading_token(data);
    if let Leading::Token(t) = full {
        assert_eq!(data[0], 0x0a);
        assert_eq!(usize::from(data[1]), t.len());
        assert_eq!(&data[2..2 + t.len()], t);
    }
    for cut in [0, 1, 2, 10, 33, 34, 40]
        .into_iter()
        .filter(|&c| c <= data.len())
    {
        match leading_token(&data[..cut]) {
            Leading::NeedMore => {}
            other => assert_eq!(other, full, "prefix of {cut} bytes decides differently"),
        }
    }
}

/// Splits `data` into requests: a 2-byte big-endian length, then that many
/// bytes, repeated (at most 16 requests).
pub fn requests_of(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 && out.len() < 16 {
        let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
        rest = &rest[2..];
        let n = len.min(rest.len());
        out.push(&rest[..n]);
        rest = &rest[n..];
    }
    out
}

/// Encodes requests the way [`requests_of`] reads them (for seeds).
pub fn encode_requests<'a>(reqs: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for r in reqs {
        let len = u16::try_from(r.len()).unwrap_or(u16::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&r[..usize::from(len)]);
    }
    out
}

/// `signer_handle`: `SignCoordinatorRequest` bytes (a short sequence, so
/// that MuSig2 sessions can be created and then used) → a fresh signer's
/// `Signer::handle`. Every request gets exactly one answer for its id, with
/// a member set; answers stay within a bound of the request's size.
pub fn signer_handle(data: &[u8]) {
    let signer = test_signer();
    for raw in requests_of(data) {
        let Ok(req) = SignCoordinatorRequest::decode(raw) else {
            continue;
        };
        let resp = session::respond(req.clone(), |work| signer.handle(work));
        assert_eq!(resp.ref_request_id, req.request_id, "answer for another id");
        assert!(resp.sign_response_type.is_some(), "answer without a member");
        let out = resp.encoded_len();
        assert!(
            out <= 4 * raw.len() + 4096,
            "answer of {out} bytes to a request of {} bytes",
            raw.len()
        );
    }
}

/// CRC-32C (Castagnoli), the aezeed checksum.
fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0x82f6_3b78 & mask);
        }
    }
    !crc
}

/// `aezeed_mnemonic`: aezeed decoding. Byte 0 even: the rest is text, the
/// words up to the first NUL, the passphrase after it, decoded with lnd's
/// production scrypt (only a valid checksum gets that far). Byte 0 odd: 33
/// bytes of enciphered seed with the checksum fixed up, then the
/// passphrase, decoded with lnd's test scrypt (N = 16) so that the AEZ
/// decipher and the plaintext parse are reached quickly. A decoded seed
/// encodes back to the same words.
pub fn aezeed_mnemonic(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let (words, pass) = match rest.iter().position(|&b| b == 0) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &b""[..]),
        };
        let Ok(words) = std::str::from_utf8(words) else {
            return;
        };
        if let Ok(seed) = CipherSeed::from_mnemonic(words, pass) {
            let again = seed.to_mnemonic(pass).expect("a decoded seed encodes");
            let parsed = Mnemonic::parse(words).expect("it parsed before");
            assert_eq!(again.phrase(), parsed.phrase(), "round trip");
        }
        return;
    }
    if rest.len() < ENCIPHERED_LEN {
        return;
    }
    let mut enc = [0u8; ENCIPHERED_LEN];
    enc.copy_from_slice(&rest[..ENCIPHERED_LEN]);
    let crc = crc32c(&enc[..ENCIPHERED_LEN - 4]);
    enc[ENCIPHERED_LEN - 4..].copy_from_slice(&crc.to_be_bytes());
    let pass = &rest[ENCIPHERED_LEN..];
    let phrase = Mnemonic::from_enciphered(&enc).phrase();
    let Ok(m) = Mnemonic::parse(&phrase) else {
        panic!("a mnemonic made from 33 bytes with a good checksum does not parse");
    };
    assert_eq!(&*m.to_enciphered(), &enc, "words round trip");
    if let Ok(seed) = CipherSeed::from_mnemonic_with(&phrase, pass, ScryptParams::LND_TEST) {
        let again = seed
            .to_mnemonic_with(pass, ScryptParams::LND_TEST)
            .expect("a decoded seed encodes");
        assert_eq!(again.phrase(), phrase, "round trip");
    }
}

/// Passphrase of the seed vaults (`fuzz/seeds/vault_open/`).
pub const VAULT_PASSPHRASE: &[u8] = b"fuzz passphrase";
/// Largest Argon2 memory the fix-up mode runs (KiB): keeps executions fast;
/// the bounds themselves are unit-tested in src/vault.rs.
const FIXUP_MAX_M_KIB: u32 = 256;

/// `vault_open`: `vault::open` on arbitrary bytes. Byte 0 even: the rest is
/// the blob as is. Byte 0 odd: the trailing SHA-256 checksum is fixed up
/// first (so that mutations get past it to the KDF bounds, the passphrase
/// verifier and the cipher), skipping KDF parameters above 256 KiB / 2
/// passes to keep executions fast. Never a panic; a blob that opens has
/// the test network and a usable root key.
pub fn vault_open(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut blob = rest.to_vec();
    if mode & 1 == 1 {
        const HEADER_LEN: usize = 70;
        if blob.len() < HEADER_LEN + 32 {
            return;
        }
        let be32 = |off: usize| {
            u32::from_be_bytes([blob[off], blob[off + 1], blob[off + 2], blob[off + 3]])
        };
        if be32(10) > FIXUP_MAX_M_KIB || be32(14) > 2 || be32(18) > 1 {
            return;
        }
        let n = blob.len() - 32;
        let sum = sha256::Hash::hash(&blob[..n]);
        blob[n..].copy_from_slice(sum.as_byte_array());
    } else if blob.len() >= 22 {
        // Raw mode: refuse to run the expensive KDF the fix-up mode skips
        // (a blob with a valid checksum and big parameters is a seed file
        // doing its job, not a finding).
        let be32 = |off: usize| {
            u32::from_be_bytes([blob[off], blob[off + 1], blob[off + 2], blob[off + 3]])
        };
        if be32(10) > FIXUP_MAX_M_KIB || be32(14) > 2 {
            return;
        }
    }
    if let Ok(v) = lnd_web_signer::vault::open(&blob, VAULT_PASSPHRASE) {
        let _ = v.root.master_fingerprint();
    }
}

/// `handle_line`: one line of `lnd-web-signer handle` input → at most one
/// response, whose protojson is valid JSON (a `signer_error` for anything
/// that is not a request).
pub fn handle_line(data: &[u8]) {
    let signer = test_signer();
    if let Some(resp) = lnd_web_signer_native::cli::handle::handle_line(&signer, 1, data) {
        let json = lnd_web_signer::json::response_to_json(&resp).expect("the response encodes");
        let v: serde_json::Value = serde_json::from_str(&json).expect("the response is JSON");
        assert!(v.is_object());
    }
}
