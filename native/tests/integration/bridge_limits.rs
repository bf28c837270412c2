//! Anonymous callers cannot exhaust signer-bridge (docs/bridge.md, limits).
//!
//! * A Reply's session token is checked before its body is buffered: an
//!   unknown token is refused after the first few dozen bytes, a Reply that
//!   does not start with its token is read only up to 16 KiB.
//! * The default reply limit is 4 MiB (it was lnd's 200 MiB).
//! * Attach needs a macaroon unless `allow_no_macaroon`; Attach attempts
//!   are bounded per source address and while dialing lnd.
//!
//! Raw HTTP/1.1 grpc-web requests (the bridge's `--grpc-web` mode) let the
//! tests send a body's first bytes and hold back the rest, as an attacker
//! announcing a huge body would.

use crate::support::bridge as bridge_support;

use std::{net::SocketAddr, time::Duration};

use bridge_support::{
    attach_and_register, attach_request, read_token, reply, within, FakeLnd, RunningBridge,
    GOOD_MACAROON,
};
use lnd_web_signer::proto::{
    signerbridge::ReplyRequest,
    watchonlyrpc::{sign_coordinator_response::SignResponseType, SignCoordinatorResponse},
};
use lnd_web_signer_native::bridge::{AttachRate, BridgeConfig, DEFAULT_MAX_REPLY_BYTES};
use prost::Message;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tonic::Code;

const ORIGIN: &str = "http://signer.test:8080";
const REPLY: &str = "/signerbridge.SignerBridge/Reply";
const REPLY_BATCH: &str = "/signerbridge.SignerBridge/ReplyBatch";
/// How soon a refusal must come (the old bridge never answered: it waited
/// for the whole announced body).
const PROMPT: Duration = Duration::from_secs(3);

fn config_for(lnd: &FakeLnd) -> BridgeConfig {
    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.grpc_web = true;
    config.allow_origins = vec![ORIGIN.to_string()];
    config
}

/// A grpc-web POST head announcing `content_length` body bytes.
fn post_head(addr: SocketAddr, path: &str, content_length: usize) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {ORIGIN}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         Content-Length: {content_length}\r\n\r\n"
    )
    .into_bytes()
}

fn grpc_frame(message: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8];
    out.extend_from_slice(&u32::try_from(message.len()).expect("small").to_be_bytes());
    out.extend_from_slice(message);
    out
}

/// Sends `head` and `first` (the start of the body), keeps the socket open
/// and returns `(grpc-status, grpc-message)` of the answer if one comes
/// within [`PROMPT`].
async fn answer_to_partial(
    addr: SocketAddr,
    head: &[u8],
    first: &[u8],
) -> Option<(String, String)> {
    let mut sock = TcpStream::connect(addr).await.expect("connect");
    sock.write_all(head).await.expect("head");
    sock.write_all(first).await.expect("first bytes");
    let mut raw = Vec::new();
    let read = tokio::time::timeout(PROMPT, async {
        loop {
            let mut buf = [0u8; 4096];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            raw.extend_from_slice(&buf[..n]);
            if raw.windows(4).any(|w| w == b"\r\n\r\n") {
                return;
            }
        }
    })
    .await;
    read.ok()?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let header = |name: &str| {
        text.split("\r\n")
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    Some((
        header("grpc-status"),
        percent_decode(&header("grpc-message")),
    ))
}

/// Sends a whole grpc-web unary call and returns `(grpc-status, grpc-message)`.
async fn whole_call(addr: SocketAddr, path: &str, message: &[u8]) -> (String, String) {
    let body = grpc_frame(message);
    let sock = TcpStream::connect(addr).await.expect("connect");
    let mut req = post_head(addr, path, body.len());
    req.extend_from_slice(&body);
    // The bridge may answer (and close) before the whole body is written.
    let (mut rd, mut wr) = sock.into_split();
    let writer = tokio::spawn(async move {
        let _ = wr.write_all(&req).await;
        wr
    });
    let mut raw = Vec::new();
    within("the unary answer", async {
        loop {
            let mut buf = [0u8; 16384];
            let n = rd.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return;
            }
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw);
            // Trailers-only (status in the head) or a trailer frame in the body.
            if let Some(head_end) = text.find("\r\n\r\n") {
                let head = &text[..head_end].to_ascii_lowercase();
                if head.contains("grpc-status:") || text[head_end..].contains("grpc-status:") {
                    return;
                }
            }
        }
    })
    .await;
    writer.abort();
    let text = String::from_utf8_lossy(&raw).to_string();
    let find = |name: &str| {
        text.split(['\r', '\n'])
            .find_map(|l| {
                let i = l.to_ascii_lowercase().find(&format!("{name}:"))?;
                Some(l[i + name.len() + 1..].trim().to_string())
            })
            .unwrap_or_default()
    };
    (find("grpc-status"), percent_decode(&find("grpc-message")))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).to_string()
}

fn pong(id: u64) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: id,
        sign_response_type: Some(SignResponseType::Pong(true)),
    }
}

/// `ReplyRequest` with a `response` of about `size` bytes (a signer_error
/// text), token first as prost writes it.
fn big_reply(token: &[u8], size: usize) -> Vec<u8> {
    ReplyRequest {
        session_token: token.to_vec(),
        response: Some(SignCoordinatorResponse {
            ref_request_id: 7,
            sign_response_type: Some(SignResponseType::SignerError(
                lnd_web_signer::proto::watchonlyrpc::SignerError {
                    error: "x".repeat(size),
                },
            )),
        }),
    }
    .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_token_is_refused_before_the_body_is_read() {
    let lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(config_for(&lnd)).await;
    // A 3 MiB Reply (under the 4 MiB limit) with a token nobody holds: only
    // its first 64 bytes are sent.
    let message = big_reply(&[0x42; 32], 3 << 20);
    let body = grpc_frame(&message);
    for path in [REPLY, REPLY_BATCH] {
        let got = answer_to_partial(bridge.addr, &post_head(bridge.addr, path, body.len()), &body[..64])
            .await
            .unwrap_or_else(|| panic!("{path}: no answer within {PROMPT:?}: the body is buffered before the token is checked"));
        assert_eq!(got.0, "5", "{path}: {got:?}"); // NOT_FOUND
        assert_eq!(got.1, "unknown or expired session token; attach again");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_without_its_token_in_front_is_read_only_up_to_16_kib() {
    let lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(config_for(&lnd)).await;
    // Response field first, token last: legal protobuf, but nothing tells
    // the bridge who sends it until the end.
    let mut message = SignCoordinatorResponse {
        ref_request_id: 1,
        sign_response_type: Some(SignResponseType::SignerError(
            lnd_web_signer::proto::watchonlyrpc::SignerError {
                error: "y".repeat(1 << 20),
            },
        )),
    }
    .encode_to_vec();
    let mut env = vec![0x12];
    prost::encoding::encode_varint(message.len() as u64, &mut env);
    env.append(&mut message);
    env.extend_from_slice(&[0x0a, 32]);
    env.extend_from_slice(&[1; 32]);
    let body = grpc_frame(&env);
    let got = answer_to_partial(
        bridge.addr,
        &post_head(bridge.addr, REPLY, body.len()),
        &body[..64],
    )
    .await
    .expect("refused at once (the old bridge waited for the whole MiB)");
    assert_eq!(got.0, "11", "{got:?}"); // OUT_OF_RANGE
    assert!(
        got.1
            .contains("must start with its session token (field 1): at most 16384 bytes"),
        "{got:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_sessions_still_reply_with_the_token_anywhere_and_large_answers_token_first() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(config_for(&lnd)).await;
    let mut client = bridge.client().await;
    let (_attach, token, mut lnd_side) = attach_and_register(&mut client, &mut lnd).await;

    // Small reply, token after the response: still accepted (the message
    // field works as before, read up to 16 KiB).
    let mut env = Vec::new();
    let r = pong(5).encode_to_vec();
    env.push(0x12);
    env.push(r.len() as u8);
    env.extend_from_slice(&r);
    env.extend_from_slice(&[0x0a, 32]);
    env.extend_from_slice(&token);
    assert_eq!(whole_call(bridge.addr, REPLY, &env).await.0, "0");
    let got = within("lnd receives the pong", lnd_side.inbound.message())
        .await
        .expect("stream")
        .expect("message");
    assert_eq!(got, pong(5));

    // A 3 MiB answer with the token in front goes through.
    let message = big_reply(&token, 3 << 20);
    assert_eq!(
        whole_call(bridge.addr, REPLY, &message).await,
        ("0".into(), String::new())
    );
    let got = within("lnd receives the large answer", lnd_side.inbound.message())
        .await
        .expect("stream")
        .expect("message");
    assert_eq!(got.ref_request_id, 7);

    // A second, different token later in the same message is refused.
    let mut twice = big_reply(&token, 10);
    twice.extend_from_slice(&[0x0a, 32]);
    twice.extend_from_slice(&[0x43; 32]);
    let (code, msg) = whole_call(bridge.addr, REPLY, &twice).await;
    assert_eq!(
        (code.as_str(), msg.as_str()),
        ("3", "the session token appears twice with different values")
    );

    // The default limit is 4 MiB: 5 MiB is refused, the session lives on.
    assert_eq!(
        BridgeConfig::new("x:1", "/dev/null").max_reply_bytes,
        DEFAULT_MAX_REPLY_BYTES
    );
    assert_eq!(DEFAULT_MAX_REPLY_BYTES, 4 << 20);
    let (code, _) = whole_call(bridge.addr, REPLY, &big_reply(&token, 5 << 20)).await;
    assert_eq!(code, "11"); // OUT_OF_RANGE
    let ok = within(
        "Reply after the refusal",
        client.reply(reply(&token, pong(8))),
    )
    .await;
    assert!(ok.is_ok(), "{ok:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_without_a_macaroon_is_refused_unless_allowed() {
    let mut lnd = FakeLnd::start().await;
    let bridge =
        RunningBridge::start(BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path)).await;
    let mut client = bridge.client().await;
    let err = within("Attach", client.attach(attach_request(None)))
        .await
        .expect_err("refused before lnd is dialed (the old bridge sent a token and dialed lnd)");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(
        err.message()
            .starts_with("Attach carries no macaroon metadata"),
        "{err:?}"
    );
    assert!(lnd.streams.try_recv().is_err());

    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.allow_no_macaroon = true;
    let open = RunningBridge::start(config).await;
    let mut client = open.client().await;
    let mut attach = within("Attach", client.attach(attach_request(None)))
        .await
        .expect("allowed: goes to lnd")
        .into_inner();
    let _token = read_token(&mut attach).await;
    let s = bridge_support::end_status(&mut attach).await;
    assert_eq!(
        s.message(),
        "lnd rejected the macaroon: expected 1 macaroon, got 0"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_attempts_are_bounded_per_source() {
    let lnd = FakeLnd::start().await;
    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.attach_rate = AttachRate {
        burst: 3,
        per_minute: 1,
    };
    let bridge = RunningBridge::start(config).await;
    let mut client = bridge.client().await;
    for i in 0..3 {
        let mut attach = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
            .await
            .unwrap_or_else(|e| panic!("attempt {i} within the burst: {e:?}"))
            .into_inner();
        let _ = read_token(&mut attach).await;
    }
    let err = within("Attach", client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect_err("the fourth attempt in a row is refused");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert!(
        err.message()
            .starts_with("too many Attach attempts from this address (at most 3 at once, then 1 per minute); retry in"),
        "{err:?}"
    );

    // Behind a trusted proxy the header's last entry is the source.
    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.attach_rate = AttachRate {
        burst: 1,
        per_minute: 1,
    };
    config.client_address_header = Some("X-Forwarded-For".into());
    let proxied = RunningBridge::start(config).await;
    let mut client = proxied.client().await;
    let from = |xff: &str| {
        let mut r = attach_request(Some(GOOD_MACAROON));
        r.metadata_mut()
            .insert("x-forwarded-for", xff.parse().expect("ascii"));
        r
    };
    let first = within("Attach", client.attach(from("198.51.100.7, 203.0.113.1"))).await;
    assert!(first.is_ok(), "{first:?}");
    let again = within("Attach", client.attach(from("198.51.100.8, 203.0.113.1"))).await;
    assert_eq!(
        again.expect_err("same last hop").code(),
        Code::ResourceExhausted
    );
    let other = within("Attach", client.attach(from("203.0.113.1, 203.0.113.2"))).await;
    assert!(other.is_ok(), "another source: {other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_calls_dialing_lnd_at_once_are_bounded() {
    // An "lnd" that accepts TCP and never answers the TLS handshake.
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let mut socks = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            socks.push(s);
        }
    });
    let lnd = FakeLnd::start().await; // only for its certificate file
    let mut config = BridgeConfig::new(addr.to_string(), &lnd.cert_path);
    config.connect_timeout = Duration::from_secs(6);
    config.max_pending_attaches = 1;
    let bridge = RunningBridge::start(config).await;
    let mut first_client = bridge.client().await;
    let first = tokio::spawn(async move {
        first_client
            .attach(attach_request(Some(GOOD_MACAROON)))
            .await
            .map(|_| ())
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut client = bridge.client().await;
    let second = tokio::time::timeout(PROMPT, client.attach(attach_request(Some(GOOD_MACAROON))))
        .await
        .expect("refused at once (the old bridge dialed every Attach)");
    let err = second.expect_err("busy");
    assert_eq!(err.code(), Code::ResourceExhausted);
    assert_eq!(
        err.message(),
        "signer-bridge is busy: 1 Attach calls are already dialing lnd; retry shortly"
    );
    let first = within("the first dial to time out", first)
        .await
        .expect("join");
    assert_eq!(first.expect_err("no TLS").code(), Code::Unavailable);
    held.abort();
}
