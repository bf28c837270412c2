//! The WebSocket channel: one signer session on one long-lived connection
//! (`GET` [`WEBSOCKET_PATH`] with an Upgrade), for browsers, where every
//! grpc-web `Reply` would be its own `fetch` (a round trip through the
//! browser's network process, several milliseconds each; see
//! docs/performance.md, "The browser round trip").
//!
//! The session is the service's: this module only moves messages between
//! the socket and [`SignerBridgeService`], so every check and limit of an
//! Attach and of a Reply applies unchanged (macaroon, per-source rate,
//! dialing bound, session slots, sizes, the reply queue). Wire format
//! (`proto/bridge.proto`): every message is binary and one protobuf
//! message; the signer sends an `AttachRequest` (with `macaroon`, since a
//! browser cannot set headers on a WebSocket) and then one
//! `SignCoordinatorResponse` per message; the bridge sends `AttachEvent`s
//! as on the Attach stream and last one whose `end` carries the final
//! status, then closes.
//!
//! The handshake is refused (HTTP 403) for an `Origin` that is not one of
//! `--allow-origin` exactly; a client that sends no `Origin` is not a
//! browser and is not subject to it (as plain gRPC is not).

use std::{sync::Arc, time::Duration};

use futures_util::{SinkExt, StreamExt};
use http::{HeaderName, HeaderValue};
use lnd_web_signer::proto::signerbridge::{
    attach_event, AttachEvent, AttachRequest, StreamEnd, CAUSE_METADATA, WEBSOCKET_PATH,
};
use prost::{bytes::Bytes, Message as _};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::{
    handshake::server::{ErrorResponse, Request as WsRequest, Response as WsResponse},
    protocol::{frame::coding::CloseCode, CloseFrame, WebSocketConfig},
    Message,
};
use tonic::{metadata::MetadataValue, transport::server::TcpConnectInfo, Request, Status};
use tracing::debug;

use super::service::{SignerBridgeService, MAX_ATTACH_REQUEST_BYTES, TOKEN_READ_TIMEOUT};

/// How long the HTTP upgrade may take once the first bytes arrived.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A ping to the signer after this long without sending anything (keeps
/// proxies from closing an idle connection; browsers answer on their own).
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// Largest first message: a `client_info` text and a macaroon in hex.
pub const MAX_WS_ATTACH_BYTES: usize = MAX_ATTACH_REQUEST_BYTES + 16 * 1024;

/// What the WebSocket channel needs from the bridge's configuration.
#[derive(Debug, Clone)]
pub(crate) struct WsSettings {
    /// `--allow-origin`, checked.
    pub origins: Vec<HeaderValue>,
    /// `--client-address-header`, parsed.
    pub client_address_header: Option<HeaderName>,
    /// Largest message from the signer (`--max-reply-bytes`).
    pub max_reply_bytes: usize,
    /// Largest message to the signer (`--max-request-bytes` and envelope).
    pub max_event_bytes: usize,
}

/// What the handshake learnt about the caller.
#[derive(Default)]
struct Caller {
    /// The value of `--client-address-header`, when set and sent.
    address_header: Option<HeaderValue>,
}

fn refuse(status: http::StatusCode, text: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(text.to_owned()));
    *r.status_mut() = status;
    r
}

/// Serves one connection whose first bytes are an HTTP `GET`: the
/// WebSocket handshake, then one session until either side ends it.
pub(crate) async fn serve_connection(
    stream: TcpStream,
    svc: SignerBridgeService,
    settings: Arc<WsSettings>,
) {
    let info = TcpConnectInfo {
        local_addr: stream.local_addr().ok(),
        remote_addr: stream.peer_addr().ok(),
    };
    let mut caller = Caller::default();
    // tungstenite's callback type: the refusal is an HTTP response.
    #[allow(clippy::result_large_err)]
    let check = |req: &WsRequest, resp: WsResponse| -> Result<WsResponse, ErrorResponse> {
        if req.uri().path() != WEBSOCKET_PATH {
            return Err(refuse(
                http::StatusCode::NOT_FOUND,
                "no such path: signer-bridge's WebSocket channel is /signerbridge.SignerBridge/WebSocket",
            ));
        }
        if let Some(origin) = req.headers().get(http::header::ORIGIN) {
            if !settings.origins.iter().any(|o| o == origin) {
                return Err(refuse(
                    http::StatusCode::FORBIDDEN,
                    "origin not allowed (signer-bridge --allow-origin)",
                ));
            }
        }
        if let Some(name) = &settings.client_address_header {
            caller.address_header = req.headers().get(name).cloned();
        }
        Ok(resp)
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(
            settings.max_reply_bytes.max(MAX_WS_ATTACH_BYTES).max(1024),
        ))
        .max_frame_size(Some(
            settings.max_reply_bytes.max(MAX_WS_ATTACH_BYTES).max(1024),
        ));
    let ws = match tokio::time::timeout(
        HANDSHAKE_TIMEOUT,
        tokio_tungstenite::accept_hdr_async_with_config(stream, check, Some(config)),
    )
    .await
    {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            debug!(peer = ?info.remote_addr, "websocket handshake refused or failed: {e}");
            return;
        }
        Err(_) => {
            debug!(peer = ?info.remote_addr, "websocket handshake timed out");
            return;
        }
    };
    let (mut sink, mut source) = ws.split();
    let end = session(&mut sink, &mut source, svc, &settings, info, caller).await;
    if let Some(status) = end {
        let _ = sink.send(Message::Binary(end_event(&status))).await;
    }
    let _ = sink
        .send(Message::Close(Some(CloseFrame {
            code: CloseCode::Normal,
            reason: "".into(),
        })))
        .await;
    let _ = sink.close().await;
}

type Sink = futures_util::stream::SplitSink<tokio_tungstenite::WebSocketStream<TcpStream>, Message>;
type Source = futures_util::stream::SplitStream<tokio_tungstenite::WebSocketStream<TcpStream>>;

/// The first binary message, within [`TOKEN_READ_TIMEOUT`].
async fn first_message(source: &mut Source) -> Result<Bytes, Status> {
    let read = async {
        while let Some(msg) = source.next().await {
            match msg {
                Ok(Message::Binary(b)) => return Ok(b),
                Ok(Message::Ping(_) | Message::Pong(_)) => continue,
                Ok(Message::Text(_)) => {
                    return Err(Status::invalid_argument(
                        "the WebSocket channel carries binary messages only",
                    ))
                }
                Ok(_) | Err(_) => break,
            }
        }
        Err(Status::cancelled("the signer closed the WebSocket"))
    };
    tokio::time::timeout(TOKEN_READ_TIMEOUT, read)
        .await
        .map_err(|_| {
            Status::deadline_exceeded(format!(
                "no AttachRequest within {} s of the WebSocket's opening",
                TOKEN_READ_TIMEOUT.as_secs()
            ))
        })?
}

/// The Attach the first message asks for, as the service takes it.
fn attach_request(
    first: &[u8],
    info: TcpConnectInfo,
    caller: Caller,
    settings: &WsSettings,
) -> Result<Request<Bytes>, Status> {
    if first.len() > MAX_WS_ATTACH_BYTES {
        return Err(Status::out_of_range(format!(
            "the first WebSocket message has {} bytes; an AttachRequest may have at most {MAX_WS_ATTACH_BYTES}",
            first.len()
        )));
    }
    let mut attach = AttachRequest::decode(first)
        .map_err(|e| Status::invalid_argument(format!("malformed AttachRequest: {e}")))?;
    let macaroon = std::mem::take(&mut attach.macaroon);
    let mut request = Request::new(Bytes::from(attach.encode_to_vec()));
    if !macaroon.is_empty() {
        let value = MetadataValue::try_from(macaroon.as_str())
            .map_err(|_| Status::invalid_argument("AttachRequest.macaroon is not a hex text"))?;
        request.metadata_mut().insert("macaroon", value);
    }
    if let (Some(name), Some(value)) = (&settings.client_address_header, caller.address_header) {
        let key = tonic::metadata::AsciiMetadataKey::from_bytes(name.as_str().as_bytes());
        let value = value.to_str().ok().map(MetadataValue::try_from);
        if let (Ok(key), Some(Ok(value))) = (key, value) {
            request.metadata_mut().insert(key, value);
        }
    }
    request.extensions_mut().insert(info);
    Ok(request)
}

/// The session token of the Attach stream's first event.
fn token_of(event: &[u8]) -> Option<Vec<u8>> {
    match AttachEvent::decode(event).ok()?.event? {
        attach_event::Event::SessionToken(t) if !t.is_empty() => Some(t),
        _ => None,
    }
}

/// Runs the session; returns the status to send as the last event (`None`
/// when the signer went away: nobody to tell).
async fn session(
    sink: &mut Sink,
    source: &mut Source,
    svc: SignerBridgeService,
    settings: &WsSettings,
    info: TcpConnectInfo,
    caller: Caller,
) -> Option<Status> {
    let first = match first_message(source).await {
        Ok(b) => b,
        Err(s) => return Some(s),
    };
    let request = match attach_request(&first, info, caller, settings) {
        Ok(r) => r,
        Err(s) => return Some(s),
    };
    let mut events = match svc.clone().attach(request).await {
        Ok(r) => r.into_inner(),
        Err(s) => return Some(s),
    };
    let token = match events.next().await {
        Some(Ok(event)) => match token_of(&event) {
            Some(t) => {
                if sink.send(Message::Binary(event)).await.is_err() {
                    return None;
                }
                t
            }
            None => return Some(Status::internal("session opened without a token")),
        },
        Some(Err(s)) => return Some(s),
        None => return Some(Status::internal("session ended before its token")),
    };
    let mut ping =
        tokio::time::interval_at(tokio::time::Instant::now() + PING_INTERVAL, PING_INTERVAL);
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(bytes)) => {
                    if bytes.len() > settings.max_event_bytes {
                        return Some(Status::out_of_range("request over --max-request-bytes"));
                    }
                    if sink.send(Message::Binary(bytes)).await.is_err() {
                        return None;
                    }
                    ping.reset();
                }
                Some(Err(s)) => return Some(s),
                None => return Some(Status::ok("")),
            },
            msg = source.next() => match msg {
                Some(Ok(Message::Binary(response))) => {
                    if let Err(s) = svc.queue_reply(&token, response).await {
                        return Some(s);
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Ok(Message::Text(_))) => {
                    return Some(Status::invalid_argument(
                        "the WebSocket channel carries binary messages only",
                    ))
                }
                Some(Ok(Message::Close(_))) | None => return None,
                Some(Err(e)) => {
                    debug!("websocket read failed: {e}");
                    return None;
                }
            },
            _ = ping.tick() => {
                if sink.send(Message::Ping(Bytes::new())).await.is_err() {
                    return None;
                }
            }
        }
    }
}

/// `AttachEvent { end }` for `status` (its cause metadata included).
pub fn end_event(status: &Status) -> Bytes {
    let cause = status
        .metadata()
        .get(CAUSE_METADATA)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let event = AttachEvent {
        event: Some(attach_event::Event::End(StreamEnd {
            code: status.code() as i32,
            message: status.message().to_owned(),
            cause,
        })),
    };
    Bytes::from(event.encode_to_vec())
}

/// Whether a connection's first bytes start an HTTP `GET` (the WebSocket
/// upgrade; grpc-web calls are `POST` or `OPTIONS`, HTTP/2 starts `PRI `).
pub(crate) fn is_get(first: &[u8]) -> bool {
    first.starts_with(b"GET ")
}

/// Reads without consuming until `stream` has 4 bytes (or ends, or
/// `timeout` passes) and says whether they start a `GET`.
pub(crate) async fn peek_is_get(stream: &TcpStream, timeout: Duration) -> bool {
    let peek = async {
        let mut buf = [0u8; 4];
        loop {
            match stream.peek(&mut buf).await {
                Ok(n) if n >= 4 => return is_get(&buf),
                Ok(0) | Err(_) => return false,
                // Fewer than 4 bytes so far: wait for more.
                Ok(_) => tokio::time::sleep(Duration::from_millis(1)).await,
            }
        }
    };
    tokio::time::timeout(timeout, peek).await.unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_is_the_websocket_upgrade() {
        assert!(is_get(b"GET /signerbridge.SignerBridge/WebSocket HTTP/1.1"));
        for other in [&b"POST /x"[..], b"OPTIONS /", b"PRI * HTTP/2.0", b"GE", b""] {
            assert!(!is_get(other));
        }
    }

    #[test]
    fn end_event_carries_code_message_and_cause() {
        let s = crate::bridge::status::shutdown_status();
        let ev = AttachEvent::decode(end_event(&s)).expect("decodes");
        let Some(attach_event::Event::End(end)) = ev.event else {
            panic!("not an end event")
        };
        assert_eq!(end.code, tonic::Code::Unavailable as i32);
        assert_eq!(end.message, "signer-bridge is shutting down");
        assert_eq!(
            end.cause,
            lnd_web_signer::proto::signerbridge::CAUSE_BRIDGE_SHUTDOWN
        );
    }

    #[test]
    fn first_message_becomes_an_attach_with_macaroon_metadata() {
        let settings = WsSettings {
            origins: Vec::new(),
            client_address_header: Some(HeaderName::from_static("x-forwarded-for")),
            max_reply_bytes: 1024,
            max_event_bytes: 1024,
        };
        let first = AttachRequest {
            client_info: "test".into(),
            macaroon: "0201".into(),
        }
        .encode_to_vec();
        let caller = Caller {
            address_header: Some(HeaderValue::from_static("10.0.0.1, 192.0.2.7")),
        };
        let info = TcpConnectInfo {
            local_addr: None,
            remote_addr: Some("127.0.0.1:9".parse().expect("addr")),
        };
        let req = attach_request(&first, info, caller, &settings).expect("request");
        assert_eq!(
            req.metadata().get("macaroon").and_then(|v| v.to_str().ok()),
            Some("0201")
        );
        assert_eq!(
            req.metadata()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok()),
            Some("10.0.0.1, 192.0.2.7")
        );
        assert_eq!(req.remote_addr(), "127.0.0.1:9".parse().ok());
        // The macaroon does not travel on in the body.
        let body = AttachRequest::decode(req.get_ref().clone()).expect("body");
        assert_eq!(body.client_info, "test");
        assert!(body.macaroon.is_empty());

        let huge = vec![0u8; MAX_WS_ATTACH_BYTES + 1];
        let err = attach_request(
            &huge,
            TcpConnectInfo {
                local_addr: None,
                remote_addr: None,
            },
            Caller::default(),
            &settings,
        )
        .expect_err("too big");
        assert_eq!(err.code(), tonic::Code::OutOfRange);
        let err = attach_request(
            &[0xff, 0xff],
            TcpConnectInfo {
                local_addr: None,
                remote_addr: None,
            },
            Caller::default(),
            &settings,
        )
        .expect_err("garbage");
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
    }
}
