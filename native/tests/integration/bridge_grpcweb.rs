//! signer-bridge in `--grpc-web` mode, spoken to the way a browser does:
//! raw HTTP/1.1 requests with `application/grpc-web+proto` framing built by
//! hand, an `Origin` header and CORS preflights.

use crate::support::bridge as bridge_support;

use std::collections::HashMap;

use bridge_support::*;
use lnd_web_signer::proto::signerbridge::{
    attach_event::Event, AttachEvent, AttachRequest, ReplyAck, ReplyRequest,
};
use lnd_web_signer_native::bridge::{BridgeConfig, CORS_EXPOSE_HEADERS};
use prost::Message;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const ALLOWED: &str = "http://signer.test:8080";
const OTHER: &str = "http://evil.test";
const ATTACH: &str = "/signerbridge.SignerBridge/Attach";
const REPLY: &str = "/signerbridge.SignerBridge/Reply";

/// A grpc-web data frame: flag 0, big-endian length, message.
fn frame(msg: &impl Message) -> Vec<u8> {
    let body = msg.encode_to_vec();
    let mut out = vec![0u8];
    out.extend_from_slice(&u32::try_from(body.len()).expect("small").to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// One HTTP/1.1 response read incrementally from a socket.
struct HttpResponse {
    sock: TcpStream,
    status: u16,
    headers: HashMap<String, String>,
    /// Bytes read from the socket but not yet decoded.
    raw: Vec<u8>,
    /// Decoded body bytes not yet consumed.
    body: Vec<u8>,
    chunked: bool,
    done: bool,
}

impl HttpResponse {
    async fn read_head(mut sock: TcpStream) -> Self {
        let mut raw = Vec::new();
        let end = loop {
            if let Some(p) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
                break p;
            }
            let mut buf = [0u8; 4096];
            let n = within("response head", sock.read(&mut buf))
                .await
                .expect("read response head");
            assert!(n > 0, "connection closed before the response head");
            raw.extend_from_slice(&buf[..n]);
        };
        let head = String::from_utf8(raw[..end].to_vec()).expect("ASCII head");
        let rest = raw[end + 4..].to_vec();
        let mut lines = head.split("\r\n");
        let status_line = lines.next().expect("status line");
        let status = status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
        let mut headers = HashMap::new();
        for line in lines {
            let (k, v) = line.split_once(':').expect("header line");
            let k = k.trim().to_ascii_lowercase();
            let v = v.trim().to_string();
            headers
                .entry(k)
                .and_modify(|old: &mut String| {
                    old.push_str(", ");
                    old.push_str(&v);
                })
                .or_insert(v);
        }
        let chunked = headers
            .get("transfer-encoding")
            .is_some_and(|v| v.contains("chunked"));
        Self {
            sock,
            status,
            headers,
            raw: rest,
            body: Vec::new(),
            chunked,
            done: false,
        }
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }

    /// Moves complete chunks (or raw bytes) from `raw` into `body`.
    fn decode(&mut self) {
        if !self.chunked {
            self.body.append(&mut self.raw);
            return;
        }
        loop {
            let Some(eol) = self.raw.windows(2).position(|w| w == b"\r\n") else {
                return;
            };
            let size_text = std::str::from_utf8(&self.raw[..eol]).expect("chunk size");
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .expect("hex chunk size");
            if self.raw.len() < eol + 2 + size + 2 {
                return;
            }
            self.body
                .extend_from_slice(&self.raw[eol + 2..eol + 2 + size]);
            self.raw.drain(..eol + 2 + size + 2);
            if size == 0 {
                self.done = true;
                return;
            }
        }
    }

    /// Reads until at least `n` body bytes are available (or the body ends).
    async fn fill(&mut self, n: usize) {
        loop {
            self.decode();
            if self.body.len() >= n || self.done {
                return;
            }
            let mut buf = [0u8; 16384];
            let read = within("response body", self.sock.read(&mut buf))
                .await
                .expect("read body");
            if read == 0 {
                self.done = true;
                return;
            }
            self.raw.extend_from_slice(&buf[..read]);
        }
    }

    /// Next grpc-web frame: (flag, payload), or None at the end of the body.
    async fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        self.fill(5).await;
        if self.body.len() < 5 {
            assert!(self.body.is_empty(), "truncated frame header");
            return None;
        }
        let len = u32::from_be_bytes(self.body[1..5].try_into().expect("4 bytes")) as usize;
        self.fill(5 + len).await;
        assert!(self.body.len() >= 5 + len, "truncated frame");
        let flag = self.body[0];
        let payload = self.body[5..5 + len].to_vec();
        self.body.drain(..5 + len);
        Some((flag, payload))
    }
}

async fn send(addr: std::net::SocketAddr, request: Vec<u8>) -> HttpResponse {
    let mut sock = within("connect", TcpStream::connect(addr))
        .await
        .expect("connect to bridge");
    within("send request", sock.write_all(&request))
        .await
        .expect("write request");
    HttpResponse::read_head(sock).await
}

fn grpc_web_post(
    addr: std::net::SocketAddr,
    path: &str,
    origin: &str,
    macaroon: Option<&str>,
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n\
         Content-Type: application/grpc-web+proto\r\nX-Grpc-Web: 1\r\n\
         X-User-Agent: grpc-web-javascript/0.1\r\nAccept: application/grpc-web+proto\r\n\
         Content-Length: {}\r\n",
        body.len()
    );
    if let Some(m) = macaroon {
        head.push_str(&format!("macaroon: {m}\r\n"));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

fn preflight(addr: std::net::SocketAddr, path: &str, origin: &str) -> Vec<u8> {
    format!(
        "OPTIONS {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: {origin}\r\n\
         Access-Control-Request-Method: POST\r\n\
         Access-Control-Request-Headers: content-type,macaroon,x-grpc-web,x-user-agent\r\n\
         Content-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .into_bytes()
}

/// Parses a grpc-web trailer frame ("name:value\r\n" lines).
fn trailers(payload: &[u8]) -> HashMap<String, String> {
    String::from_utf8(payload.to_vec())
        .expect("ASCII trailers")
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':').expect("trailer line");
            (k.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect()
}

/// grpc-status of a finished unary grpc-web call (trailer frame or, for
/// trailers-only answers, the headers), plus the data frames seen.
async fn unary_result(mut resp: HttpResponse) -> (String, String, Vec<Vec<u8>>) {
    if let Some(s) = resp.header("grpc-status") {
        let msg = resp.header("grpc-message").unwrap_or("").to_string();
        return (s.to_string(), msg, Vec::new());
    }
    let mut data = Vec::new();
    while let Some((flag, payload)) = resp.next_frame().await {
        if flag & 0x80 != 0 {
            let t = trailers(&payload);
            return (
                t.get("grpc-status").cloned().expect("grpc-status trailer"),
                t.get("grpc-message").cloned().unwrap_or_default(),
                data,
            );
        }
        data.push(payload);
    }
    panic!("grpc-web response without grpc-status");
}

fn grpc_web_config(lnd: &FakeLnd) -> BridgeConfig {
    let mut config = BridgeConfig::new(lnd.addr.to_string(), &lnd.cert_path);
    config.grpc_web = true;
    config.allow_origins = vec![ALLOWED.to_string()];
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_style_attach_and_reply() {
    let mut lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(grpc_web_config(&lnd)).await;

    // CORS preflight from the allowed origin.
    let pre = send(bridge.addr, preflight(bridge.addr, ATTACH, ALLOWED)).await;
    assert!(
        (200..300).contains(&pre.status),
        "preflight status {}",
        pre.status
    );
    assert_eq!(pre.header("access-control-allow-origin"), Some(ALLOWED));
    let allowed = pre
        .header("access-control-allow-headers")
        .expect("allow-headers")
        .to_ascii_lowercase();
    for h in ["macaroon", "x-grpc-web", "content-type", "x-user-agent"] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }

    // Attach: the token is the first frame of a streaming HTTP/1.1 body.
    let attach_body = frame(&AttachRequest {
        client_info: "raw grpc-web test".into(),
        ..Default::default()
    });
    let mut attach = send(
        bridge.addr,
        grpc_web_post(
            bridge.addr,
            ATTACH,
            ALLOWED,
            Some(GOOD_MACAROON),
            &attach_body,
        ),
    )
    .await;
    assert_eq!(attach.status, 200);
    assert_eq!(attach.header("access-control-allow-origin"), Some(ALLOWED));
    assert!(attach
        .header("content-type")
        .expect("content-type")
        .starts_with("application/grpc-web"));
    let exposed = attach
        .header("access-control-expose-headers")
        .expect("expose-headers")
        .to_ascii_lowercase();
    for h in CORS_EXPOSE_HEADERS {
        assert!(exposed.contains(h), "{h} not exposed: {exposed}");
    }
    let (flag, payload) = attach.next_frame().await.expect("token frame");
    assert_eq!(flag, 0);
    let token = match AttachEvent::decode(payload.as_slice())
        .expect("AttachEvent")
        .event
    {
        Some(Event::SessionToken(t)) => t,
        other => panic!("first event is not the token: {other:?}"),
    };
    assert_eq!(token.len(), 32);

    // Reply (unary grpc-web) with the registration.
    let reply_body = frame(&ReplyRequest {
        session_token: token.clone(),
        response: Some(registration()),
    });
    let resp = send(
        bridge.addr,
        grpc_web_post(bridge.addr, REPLY, ALLOWED, None, &reply_body),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("access-control-allow-origin"), Some(ALLOWED));
    let (code, msg, data) = unary_result(resp).await;
    assert_eq!(code, "0", "Reply failed: {msg}");
    assert_eq!(data.len(), 1);
    ReplyAck::decode(data[0].as_slice()).expect("ReplyAck");

    // lnd got the registration; its answer arrives as the next frame.
    let lnd_side = lnd.next_stream().await;
    assert_eq!(lnd_side.registration, registration());
    assert_eq!(lnd_side.macaroon, GOOD_MACAROON);
    let (flag, payload) = attach.next_frame().await.expect("relayed frame");
    assert_eq!(flag, 0);
    let ev = AttachEvent::decode(payload.as_slice()).expect("AttachEvent");
    assert_eq!(ev.event, Some(Event::Request(registration_complete())));

    // A wrong token over grpc-web: NOT_FOUND (5) in the status.
    let mut wrong = token.clone();
    wrong[31] ^= 0xff;
    let resp = send(
        bridge.addr,
        grpc_web_post(
            bridge.addr,
            REPLY,
            ALLOWED,
            None,
            &frame(&ReplyRequest {
                session_token: wrong,
                response: Some(registration()),
            }),
        ),
    )
    .await;
    let (code, _msg, _) = unary_result(resp).await;
    assert_eq!(code, "5");

    // The browser goes away (socket closed): lnd's stream ends promptly.
    let mut lnd_side = lnd_side;
    drop(attach);
    let end = within("lnd to see the stream end", lnd_side.inbound.message()).await;
    assert!(!matches!(end, Ok(Some(_))), "{end:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_origins_get_no_cors_allowance() {
    let lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(grpc_web_config(&lnd)).await;

    let pre = send(bridge.addr, preflight(bridge.addr, ATTACH, OTHER)).await;
    assert_eq!(pre.header("access-control-allow-origin"), None);

    let body = frame(&ReplyRequest {
        session_token: vec![0; 32],
        response: Some(registration()),
    });
    let resp = send(
        bridge.addr,
        grpc_web_post(bridge.addr, REPLY, OTHER, None, &body),
    )
    .await;
    assert_eq!(resp.header("access-control-allow-origin"), None);
    // (tower-http still lists expose-headers; without allow-origin the
    // browser hides the whole response anyway.)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_web_mode_reports_lnd_errors_in_the_stream() {
    // lnd rejects the macaroon: the token frame, then a trailer frame with
    // UNAUTHENTICATED (16) and the reason.
    let lnd = FakeLnd::start().await;
    let bridge = RunningBridge::start(grpc_web_config(&lnd)).await;
    let body = frame(&AttachRequest::default());
    let mut attach = send(
        bridge.addr,
        grpc_web_post(bridge.addr, ATTACH, ALLOWED, Some("0201ff"), &body),
    )
    .await;
    assert_eq!(attach.status, 200);
    let (flag, _token) = attach.next_frame().await.expect("token frame");
    assert_eq!(flag, 0);
    let (flag, payload) = attach.next_frame().await.expect("trailer frame");
    assert_eq!(flag & 0x80, 0x80, "expected trailers");
    let t = trailers(&payload);
    assert_eq!(t.get("grpc-status").map(String::as_str), Some("16"));
    let msg = percent_decode(t.get("grpc-message").expect("grpc-message"));
    assert_eq!(
        msg,
        "lnd rejected the macaroon: verification failed: signature mismatch after caveat verification"
    );
}

/// grpc-message is percent-encoded (gRPC over HTTP/2 spec).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = std::str::from_utf8(&b[i + 1..i + 3]).expect("ascii");
            out.push(u8::from_str_radix(hex, 16).expect("percent escape"));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).expect("utf-8 message")
}
