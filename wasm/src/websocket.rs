//! signer-bridge's WebSocket channel (`proto/bridge.proto`) as the signer
//! loop uses it: one `WebSocket` per attempt, lnd's requests arriving as
//! messages and every answer leaving as one `send` — no `fetch`, request
//! object or CORS check per answer, which is what a browser round trip
//! through grpc-web spends its milliseconds on (docs/performance.md).
//!
//! Memory stays bounded: a message over the connection's
//! `max_message_bytes` or more than [`MAX_QUEUED_MESSAGES`] unread ones end
//! the link (the browser buffers a socket's messages itself and offers no
//! back-pressure, so the loop must keep up or stop).

use core::cell::Cell;
use core::fmt;
use std::rc::Rc;

use futures_channel::mpsc;
use futures_util::StreamExt;
use js_sys::{ArrayBuffer, Uint8Array};
use prost::Message;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, MessageEvent, WebSocket};

use super::transport::js_error_text;
use lnd_web_signer::proto::signerbridge::{
    attach_event::Event as AttachEventKind, AttachEvent, StreamEnd, CAUSE_METADATA, WEBSOCKET_PATH,
};

/// Most messages received and not yet taken by the loop.
pub const MAX_QUEUED_MESSAGES: usize = 4096;

/// The channel's URL for a bridge base URL: `http(s)://…` becomes
/// `ws(s)://…` + [`WEBSOCKET_PATH`]; `None` for any other scheme.
pub fn websocket_url(bridge_url: &str) -> Option<String> {
    let base = bridge_url.trim_end_matches('/');
    let rest = if let Some(r) = base.strip_prefix("https://") {
        format!("wss://{r}")
    } else if let Some(r) = base.strip_prefix("http://") {
        format!("ws://{r}")
    } else {
        return None;
    };
    Some(format!("{rest}{WEBSOCKET_PATH}"))
}

/// What the socket reported, in order.
#[derive(Debug)]
enum Incoming {
    Open,
    Message(Vec<u8>),
    /// A message over the limit (its length), or one that was not binary.
    Refused(String),
    Closed {
        code: u16,
        reason: String,
    },
}

/// Why the link ended or could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// The socket closed (or failed) before it opened: the bridge is not
    /// reachable this way (down, no WebSocket channel, an origin it
    /// refuses, a proxy without WebSocket support; browsers do not say
    /// which).
    NotOpened(String),
    /// The socket closed without the bridge's final status.
    Closed(String),
    /// The bridge broke the channel's rules (too large, not protobuf,
    /// too many unread messages).
    Protocol(String),
}

impl fmt::Display for LinkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotOpened(s) | Self::Closed(s) | Self::Protocol(s) => f.write_str(s),
        }
    }
}

/// One WebSocket to signer-bridge. Closing it (drop) ends the session at
/// the bridge at once.
pub struct WsLink {
    socket: WebSocket,
    url: String,
    rx: mpsc::UnboundedReceiver<Incoming>,
    queued: Rc<Cell<usize>>,
    opened: bool,
    /// The JS copy of a sent message holding a secret, until wiped.
    sent_secret: Option<Uint8Array>,
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl fmt::Debug for WsLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsLink")
            .field("url", &self.url)
            .field("opened", &self.opened)
            .finish_non_exhaustive()
    }
}

impl WsLink {
    /// Starts opening `url`; messages over `max_message` bytes end the link.
    pub fn open(url: &str, max_message: usize) -> Result<Self, LinkError> {
        let socket = WebSocket::new(url).map_err(|e| {
            LinkError::NotOpened(format!("cannot open {url}: {}", js_error_text(&e)))
        })?;
        socket.set_binary_type(BinaryType::Arraybuffer);
        let (tx, rx) = mpsc::unbounded::<Incoming>();
        let queued = Rc::new(Cell::new(0usize));

        let t = tx.clone();
        let on_open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
            let _ = t.unbounded_send(Incoming::Open);
        });
        let (t, q) = (tx.clone(), Rc::clone(&queued));
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let item = match ev.data().dyn_into::<ArrayBuffer>() {
                Ok(buf) if buf.byte_length() as usize > max_message => Incoming::Refused(format!(
                    "the bridge sent a message of {} bytes, over the limit of {max_message}",
                    buf.byte_length()
                )),
                Ok(_) if q.get() >= MAX_QUEUED_MESSAGES => Incoming::Refused(format!(
                    "more than {MAX_QUEUED_MESSAGES} messages from the bridge wait unread"
                )),
                Ok(buf) => Incoming::Message(Uint8Array::new(&buf).to_vec()),
                Err(_) => Incoming::Refused(
                    "the bridge sent a text message on the WebSocket channel".to_owned(),
                ),
            };
            q.set(q.get().saturating_add(1));
            let _ = t.unbounded_send(item);
        });
        let t = tx.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| {
            let _ = t.unbounded_send(Incoming::Closed {
                code: ev.code(),
                reason: ev.reason(),
            });
        });
        // An error event is always followed by a close event, which says
        // all there is to say (browsers give errors no detail).
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {});
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        socket.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            socket,
            url: url.to_owned(),
            rx,
            queued,
            opened: false,
            sent_secret: None,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            _on_error: on_error,
        })
    }

    async fn next_incoming(&mut self) -> Option<Incoming> {
        let item = self.rx.next().await;
        if matches!(item, Some(Incoming::Message(_) | Incoming::Refused(_))) {
            self.queued.set(self.queued.get().saturating_sub(1));
        }
        item
    }

    /// Resolves when the socket is open.
    pub async fn opened(&mut self) -> Result<(), LinkError> {
        while !self.opened {
            match self.next_incoming().await {
                Some(Incoming::Open) => self.opened = true,
                Some(Incoming::Closed { code, reason }) => {
                    return Err(LinkError::NotOpened(self.closed_text(code, &reason)))
                }
                None => {
                    return Err(LinkError::NotOpened(
                        "the WebSocket's events ended".to_owned(),
                    ))
                }
                // Nothing arrives before the socket opens.
                Some(Incoming::Message(_) | Incoming::Refused(_)) => {}
            }
        }
        Ok(())
    }

    fn closed_text(&self, code: u16, reason: &str) -> String {
        if reason.is_empty() {
            format!("the WebSocket to {} closed (code {code})", self.url)
        } else {
            format!(
                "the WebSocket to {} closed (code {code}: {reason})",
                self.url
            )
        }
    }

    /// The next event from the bridge: `Ok(Some(event))` for a request or
    /// the token, `Ok(None)` when the bridge ended the session with status
    /// OK, [`LinkEnd::Status`] for its final status, [`LinkEnd::Link`] when
    /// the channel itself failed.
    pub async fn next_event(&mut self) -> Result<Option<AttachEvent>, LinkEnd> {
        loop {
            match self.next_incoming().await {
                Some(Incoming::Open) => self.opened = true,
                Some(Incoming::Message(bytes)) => {
                    // The bridge answered: the AttachRequest has left.
                    self.wipe_sent_secret();
                    let event = AttachEvent::decode(bytes.as_slice()).map_err(|e| {
                        LinkEnd::Link(LinkError::Protocol(format!(
                            "malformed message from the bridge: {e}"
                        )))
                    })?;
                    return match event.event {
                        Some(AttachEventKind::End(end)) => match status_of(end) {
                            None => Ok(None),
                            Some(s) => Err(LinkEnd::Status(s)),
                        },
                        _ => Ok(Some(event)),
                    };
                }
                Some(Incoming::Refused(reason)) => {
                    return Err(LinkEnd::Link(LinkError::Protocol(reason)))
                }
                Some(Incoming::Closed { code, reason }) => {
                    let text = self.closed_text(code, &reason);
                    return Err(LinkEnd::Link(if self.opened {
                        LinkError::Closed(text)
                    } else {
                        LinkError::NotOpened(text)
                    }));
                }
                None => {
                    return Err(LinkEnd::Link(LinkError::Closed(
                        "the WebSocket's events ended".to_owned(),
                    )))
                }
            }
        }
    }

    /// Sends one encoded message. The bytes are copied into a buffer of
    /// their own first: a view into wasm memory is not safe to hand over
    /// (workerd reads the data after `send` returns, by when the memory may
    /// hold something else).
    pub fn send(&self, bytes: &[u8]) -> Result<(), LinkError> {
        self.send_copy(bytes).map(drop)
    }

    fn send_copy(&self, bytes: &[u8]) -> Result<Uint8Array, LinkError> {
        let copy = Uint8Array::from(bytes);
        self.socket
            .send_with_array_buffer_view(&copy)
            .map_err(|e| {
                LinkError::Closed(format!(
                    "sending on the WebSocket failed: {}",
                    js_error_text(&e)
                ))
            })?;
        Ok(copy)
    }

    /// Sends a message holding a secret (the macaroon). Its JS copy is
    /// wiped by [`Self::wipe_sent_secret`] once the bridge has answered
    /// (the message has then surely left), or when the link is dropped.
    pub fn send_secret(&mut self, bytes: &[u8]) -> Result<(), LinkError> {
        self.wipe_sent_secret();
        self.sent_secret = Some(self.send_copy(bytes)?);
        Ok(())
    }

    /// Zeroes the JS copy of the last [`Self::send_secret`] message.
    pub fn wipe_sent_secret(&mut self) {
        if let Some(copy) = self.sent_secret.take() {
            copy.fill(0, 0, copy.length());
        }
    }

    /// Bytes given to [`Self::send`] that the browser has not sent yet.
    pub fn buffered(&self) -> u32 {
        self.socket.buffered_amount()
    }
}

impl Drop for WsLink {
    fn drop(&mut self) {
        self.wipe_sent_secret();
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        self.socket.set_onerror(None);
        let _ = self.socket.close_with_code(1000);
    }
}

/// How the link ended: the bridge's final status, or the channel's failure.
#[derive(Debug)]
pub enum LinkEnd {
    /// The bridge's final status (never OK).
    Status(tonic::Status),
    /// The channel failed.
    Link(LinkError),
}

/// The bridge's final status as the grpc-web path would see it (the cause
/// in its metadata); `None` for OK.
fn status_of(end: StreamEnd) -> Option<tonic::Status> {
    let code = tonic::Code::from_i32(end.code);
    if code == tonic::Code::Ok {
        return None;
    }
    let mut status = tonic::Status::new(code, end.message);
    if !end.cause.is_empty() {
        if let Ok(v) = tonic::metadata::MetadataValue::try_from(end.cause.as_str()) {
            status.metadata_mut().insert(CAUSE_METADATA, v);
        }
    }
    Some(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            websocket_url("http://127.0.0.1:8090").as_deref(),
            Some("ws://127.0.0.1:8090/signerbridge.SignerBridge/WebSocket")
        );
        assert_eq!(
            websocket_url("https://signer.example/bridge/").as_deref(),
            Some("wss://signer.example/bridge/signerbridge.SignerBridge/WebSocket")
        );
        assert_eq!(websocket_url("ftp://x"), None);
    }

    #[test]
    fn final_statuses() {
        assert!(status_of(StreamEnd::default()).is_none());
        let s = status_of(StreamEnd {
            code: tonic::Code::Unavailable as i32,
            message: "signer-bridge is shutting down".into(),
            cause: "bridge-shutdown".into(),
        })
        .expect("a status");
        assert_eq!(s.code(), tonic::Code::Unavailable);
        assert_eq!(
            s.metadata()
                .get(CAUSE_METADATA)
                .and_then(|v| v.to_str().ok()),
            Some("bridge-shutdown")
        );
    }
}
