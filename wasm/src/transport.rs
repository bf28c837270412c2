//! grpc-web over `fetch`: the tonic transport of the wasm signer.
//!
//! [`FetchTransport`] is a `tower` service that tonic's generated clients
//! (here `SignerBridgeClient`) run on. It sends each call as one `fetch`
//! POST (`application/grpc-web+proto`), reads the response body stream chunk
//! by chunk and feeds it through the target-independent
//! [`lnd_web_signer::grpcweb::Decoder`], which only yields complete frames: a trailer
//! frame split across chunks (the tonic-web-wasm-client 0.9.2 bug, see
//! docs/wasm-transport.md) is reassembled before tonic sees it.
//!
//! The macaroon (when the host has one) is set as the `macaroon` header of
//! `Attach` calls only, by the transport itself, straight from its
//! zeroizing buffer ([`FetchTransport::with_attach_macaroon`]): it is never
//! copied into tonic's metadata (plain `Bytes`, rebuilt every attempt), and
//! the only copy outside wasm is the one `fetch` needs, in the JS `Headers`.
//!
//! `fetch` is looked up on the global object at call time, so the same code
//! runs in a window, a dedicated/shared/service worker and workerd. Tests can
//! inject their own fetch function.
//!
//! The response body handed to tonic must be `Send`; JS objects are not. The
//! body is therefore only a channel receiver: a local task owns the stream
//! reader and the `AbortController`, decodes and sends frames. Dropping the
//! body (tonic finished, or the caller dropped the stream) drops a oneshot
//! sender, which makes the task abort the fetch.
//!
//! Memory is bounded: the channel holds at most [`BODY_CHANNEL_FRAMES`]
//! frames, and the task reads the next chunk of the body only when its
//! frames have been taken. A consumer that stops reading (the signer loop
//! waiting for its Replies) therefore stops the reading of the body, and the
//! browser's own flow control pushes back to the bridge. Frames are bounded
//! by the transport's frame limit ([`FetchTransport::with_max_frame_len`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_channel::{mpsc, oneshot};
use futures_util::future::{poll_fn, select, Either};
use futures_util::StreamExt;
use http_body_util::BodyExt;
use js_sys::{Function, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, ReadableStreamDefaultReader, ReadableStreamReadResult};

use lnd_web_signer::grpcweb::{DecodeError, Decoder, Frame, DEFAULT_MAX_FRAME_LEN};
use lnd_web_signer::secret::SecretString;

/// Content type of binary grpc-web requests and responses.
pub const GRPC_WEB_PROTO: &str = "application/grpc-web+proto";

/// Frames the body channel holds besides the one the reader task is
/// sending: with the frame limit, this bounds what a call buffers.
pub const BODY_CHANNEL_FRAMES: usize = 1;

/// Path of the call that carries the macaroon.
pub const ATTACH_PATH: &str = "/signerbridge.SignerBridge/Attach";

/// Request headers never copied from tonic's request into `fetch` (the
/// browser owns them, or they are set here).
const SKIPPED_HEADERS: &[&str] = &[
    "macaroon",
    "content-type",
    "te",
    "user-agent",
    "host",
    "content-length",
    "connection",
];

/// Transport failures (tonic turns them into a `Status`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransportError {
    /// No usable `fetch` on the global object.
    #[error("no fetch function in this javascript global scope")]
    NoFetch,
    /// The request could not be built.
    #[error("building the grpc-web request for {url} failed: {reason}")]
    Request {
        /// Target URL.
        url: String,
        /// What went wrong.
        reason: String,
    },
    /// `fetch` rejected (network error, CORS, abort).
    #[error("fetch {url} failed: {reason}")]
    Fetch {
        /// Target URL.
        url: String,
        /// The JavaScript error text.
        reason: String,
    },
    /// A 200 response that is not binary grpc-web.
    #[error("unexpected response content-type {0:?} (expected application/grpc-web+proto)")]
    ContentType(String),
    /// Reading the response body failed.
    #[error("reading the grpc-web response body failed: {0}")]
    Read(String),
    /// The body is not valid grpc-web.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// Text of a JavaScript exception or rejection value.
pub fn js_error_text(value: &JsValue) -> String {
    if let Some(err) = value.dyn_ref::<js_sys::Error>() {
        let name = String::from(err.name());
        let msg = String::from(err.message());
        return if name.is_empty() || name == "Error" {
            msg
        } else {
            format!("{name}: {msg}")
        };
    }
    if let Some(s) = value.as_string() {
        return s;
    }
    format!("{value:?}")
}

/// The grpc-web transport (a `tower` service over `fetch`).
#[derive(Clone)]
pub struct FetchTransport {
    base_url: String,
    fetch: Option<Function>,
    max_frame_len: usize,
    /// Lower-case hex of the macaroon, for `Attach` calls.
    attach_macaroon: Option<Rc<SecretString>>,
}

impl fmt::Debug for FetchTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FetchTransport")
            .field("base_url", &self.base_url)
            .field("custom_fetch", &self.fetch.is_some())
            .field("max_frame_len", &self.max_frame_len)
            .field(
                "attach_macaroon",
                &self.attach_macaroon.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

impl FetchTransport {
    /// Calls go to `base_url` + the gRPC method path, with the global `fetch`.
    pub fn new(base_url: &str) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            fetch: None,
            max_frame_len: DEFAULT_MAX_FRAME_LEN,
            attach_macaroon: None,
        }
    }

    /// Sends `macaroon_hex` (lower-case hex of the macaroon) as the
    /// `macaroon` header of every `Attach` call, and on no other call. An
    /// empty value sends none. A `macaroon` entry in a call's metadata is
    /// never copied (only this one is sent).
    pub fn with_attach_macaroon(mut self, macaroon_hex: Rc<SecretString>) -> Self {
        self.attach_macaroon = (!macaroon_hex.expose().is_empty()).then_some(macaroon_hex);
        self
    }

    /// Refuses response frames with a payload above `max` bytes (before
    /// buffering them); the default is lnd's 200 MiB. Set it to the
    /// client's `max_decoding_message_size`.
    pub fn with_max_frame_len(mut self, max: usize) -> Self {
        self.max_frame_len = max;
        self
    }

    /// Uses `fetch` (a function `(Request) -> Promise<Response>`) instead of
    /// the global one (tests, or hosts that wrap fetch).
    pub fn with_fetch(base_url: &str, fetch: Function) -> Self {
        Self {
            fetch: Some(fetch),
            ..Self::new(base_url)
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for FetchTransport {
    type Response = http::Response<GrpcWebBody>;
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move { this.send(req).await })
    }
}

/// gRPC code for an HTTP status without `grpc-status` (gRPC's
/// http-grpc-status-mapping).
pub fn http_to_grpc_code(status: u16) -> i32 {
    match status {
        400 => 13,             // internal
        401 => 16,             // unauthenticated
        403 => 7,              // permission denied
        404 => 12,             // unimplemented
        429 | 502..=504 => 14, // unavailable
        _ => 2,                // unknown
    }
}

/// Aborts the fetch when dropped, unless disarmed.
struct AbortOnDrop(Option<AbortController>);

impl AbortOnDrop {
    fn disarm(mut self) -> Option<AbortController> {
        self.0.take()
    }
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.abort();
        }
    }
}

impl FetchTransport {
    async fn send(
        &self,
        req: http::Request<tonic::body::Body>,
    ) -> Result<http::Response<GrpcWebBody>, TransportError> {
        let (parts, body) = req.into_parts();
        let path = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let url = format!("{}{}", self.base_url, path);
        let req_err = |reason: String| TransportError::Request {
            url: url.clone(),
            reason,
        };

        let headers = Headers::new().map_err(|e| req_err(js_error_text(&e)))?;
        let set = |name: &str, value: &str| {
            headers
                .set(name, value)
                .map_err(|e| req_err(format!("header {name}: {}", js_error_text(&e))))
        };
        set("content-type", GRPC_WEB_PROTO)?;
        set("accept", GRPC_WEB_PROTO)?;
        set("x-grpc-web", "1")?;
        for (name, value) in &parts.headers {
            if SKIPPED_HEADERS.contains(&name.as_str()) {
                continue;
            }
            let value = value
                .to_str()
                .map_err(|_| req_err(format!("header {name} is not visible ascii")))?;
            set(name.as_str(), value)?;
        }
        if path == ATTACH_PATH {
            if let Some(mac) = &self.attach_macaroon {
                set("macaroon", mac.expose())?;
            }
        }

        let body = body
            .collect()
            .await
            .map_err(|s| req_err(format!("request body: {}", s.message())))?
            .to_bytes();

        let controller = AbortController::new().map_err(|e| req_err(js_error_text(&e)))?;
        let guard = AbortOnDrop(Some(controller.clone()));
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&Uint8Array::from(body.as_ref()));
        init.set_signal(Some(&controller.signal()));
        let request = web_sys::Request::new_with_str_and_init(&url, &init)
            .map_err(|e| req_err(js_error_text(&e)))?;

        let fetch_err = |reason: String| TransportError::Fetch {
            url: url.clone(),
            reason,
        };
        let global = js_sys::global();
        let fetch = match &self.fetch {
            Some(f) => f.clone(),
            None => Reflect::get(&global, &JsValue::from_str("fetch"))
                .ok()
                .and_then(|f| f.dyn_into::<Function>().ok())
                .ok_or(TransportError::NoFetch)?,
        };
        let promise = fetch
            .call1(&global, &request)
            .map_err(|e| fetch_err(js_error_text(&e)))?;
        let promise: js_sys::Promise = promise
            .dyn_into()
            .map_err(|_| fetch_err("fetch did not return a promise".into()))?;
        let response: web_sys::Response = JsFuture::from(promise)
            .await
            .map_err(|e| fetch_err(js_error_text(&e)))?
            .dyn_into()
            .map_err(|_| fetch_err("fetch did not resolve to a Response".into()))?;

        let status = response.status();
        let mut builder = http::Response::builder().status(status);
        if status != 200 && !response.headers().has("grpc-status").unwrap_or(false) {
            // No gRPC answer at all (wrong URL, proxy error): turn the HTTP
            // status into a gRPC status now, with a message naming it
            // (tonic would only report it when the body is read).
            // The HTTP status is recorded for the error code
            // (crate::error_code), which must not read the message.
            builder = builder
                .header("grpc-status", http_to_grpc_code(status).to_string())
                .header("grpc-message", format!("bridge answered HTTP {status}"))
                .header(super::error_code::HTTP_STATUS_METADATA, status.to_string());
        }
        let mut content_type = String::new();
        if let Ok(Some(iter)) = js_sys::try_iter(&response.headers()) {
            for pair in iter.flatten() {
                let pair: js_sys::Array = pair.unchecked_into();
                if let (Some(name), Some(value)) =
                    (pair.get(0).as_string(), pair.get(1).as_string())
                {
                    if name.eq_ignore_ascii_case("content-type") {
                        content_type.clone_from(&value);
                    }
                    builder = builder.header(name, value);
                }
            }
        }

        // tonic maps non-200 statuses and a trailers-only response (status
        // in the headers) by itself: hand it the headers only.
        let ct = content_type.to_ascii_lowercase();
        let media = ct.split(';').next().unwrap_or("").trim();
        let is_grpc_web = media == GRPC_WEB_PROTO || media == "application/grpc-web";
        let trailers_only = response.headers().has("grpc-status").unwrap_or(false);
        let body = if status != 200 {
            GrpcWebBody::empty()
        } else if !is_grpc_web && !trailers_only {
            return Err(TransportError::ContentType(content_type));
        } else {
            match response.body() {
                Some(stream) if is_grpc_web => {
                    let reader = ReadableStreamDefaultReader::new(&stream)
                        .map_err(|e| TransportError::Read(js_error_text(&e)))?;
                    let controller = guard.disarm();
                    GrpcWebBody::spawn(reader, controller, self.max_frame_len)
                }
                _ => GrpcWebBody::empty(),
            }
        };
        builder
            .body(body)
            .map_err(|e| req_err(format!("response headers: {e}")))
    }
}

type FrameResult = Result<http_body::Frame<Bytes>, TransportError>;

/// The response body given to tonic: complete grpc-web frames from the
/// reader task (data frames as gRPC length-prefixed messages, then the
/// trailers).
pub struct GrpcWebBody {
    rx: Option<mpsc::Receiver<FrameResult>>,
    /// Dropped with the body: tells the reader task to abort the fetch.
    _cancel: Option<oneshot::Sender<()>>,
}

impl fmt::Debug for GrpcWebBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrpcWebBody")
            .field("streaming", &self.rx.is_some())
            .finish()
    }
}

impl GrpcWebBody {
    fn empty() -> Self {
        Self {
            rx: None,
            _cancel: None,
        }
    }

    fn spawn(
        reader: ReadableStreamDefaultReader,
        controller: Option<AbortController>,
        max_frame_len: usize,
    ) -> Self {
        let (tx, rx) = mpsc::channel(BODY_CHANNEL_FRAMES);
        let (cancel_tx, cancel_rx) = oneshot::channel();
        wasm_bindgen_futures::spawn_local(pump(reader, controller, tx, cancel_rx, max_frame_len));
        Self {
            rx: Some(rx),
            _cancel: Some(cancel_tx),
        }
    }
}

impl http_body::Body for GrpcWebBody {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<FrameResult>> {
        match self.rx.as_mut() {
            None => Poll::Ready(None),
            Some(rx) => rx.poll_next_unpin(cx),
        }
    }
}

/// Cancels the body stream; a rejection (stream already errored) is
/// consumed here instead of surfacing as an unhandled rejection.
fn cancel_reader(reader: &ReadableStreamDefaultReader) {
    let done = JsFuture::from(reader.cancel());
    wasm_bindgen_futures::spawn_local(async move {
        let _ = done.await;
    });
}

/// Waits until the channel has room for one more frame (the body's reader
/// took one). `false` when the body was dropped.
async fn room(tx: &mut mpsc::Sender<FrameResult>, cancel: &mut oneshot::Receiver<()>) -> bool {
    let ready = poll_fn(|cx| tx.poll_ready(cx));
    match select(ready, cancel).await {
        Either::Left((Ok(()), _)) => true,
        Either::Left((Err(_), _)) | Either::Right(_) => false,
    }
}

/// Reads the fetch body, decodes frames and sends them to the body, one
/// chunk at a time and only as fast as the body is read.
async fn pump(
    reader: ReadableStreamDefaultReader,
    controller: Option<AbortController>,
    mut tx: mpsc::Sender<FrameResult>,
    mut cancel: oneshot::Receiver<()>,
    max_frame_len: usize,
) {
    let abort = || {
        if let Some(c) = &controller {
            c.abort();
        }
    };
    // Nobody wants the rest: cancel the stream (the server sees the call
    // end) and the fetch.
    let give_up = || {
        cancel_reader(&reader);
        abort();
    };
    let mut decoder = Decoder::with_max_frame_len(max_frame_len);
    loop {
        let read = JsFuture::from(reader.read());
        let result = match select(read, &mut cancel).await {
            Either::Left((r, _)) => r,
            Either::Right(_) => return give_up(),
        };
        let item = match result {
            Ok(v) => {
                let chunk = v.unchecked_into::<ReadableStreamReadResult>();
                if chunk.get_done().unwrap_or(false) {
                    match decoder.finish() {
                        Ok(()) => return,
                        Err(e) => Some(Err(e.into())),
                    }
                } else {
                    decoder.push(&Uint8Array::new(&chunk.get_value()).to_vec());
                    None
                }
            }
            Err(e) => Some(Err(TransportError::Read(js_error_text(&e)))),
        };
        if let Some(last) = item {
            // The body ended badly: report it, nothing follows.
            if room(&mut tx, &mut cancel).await {
                let _ = tx.start_send(last);
            }
            return;
        }
        loop {
            let item = match decoder.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Data(b))) => Ok(http_body::Frame::data(b)),
                Ok(Some(Frame::Trailers(t))) => Ok(http_body::Frame::trailers(t)),
                Err(e) => Err(TransportError::from(e)),
            };
            let failed = item.is_err();
            if !room(&mut tx, &mut cancel).await || tx.start_send(item).is_err() || failed {
                return give_up();
            }
        }
    }
}
