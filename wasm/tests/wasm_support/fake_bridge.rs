#![allow(dead_code)]
//! In-page stand-ins for `fetch` and signer-bridge, for the wasm tests: no
//! network, real `Response` objects whose bodies are `ReadableStream`s fed
//! chunk by chunk (chunk boundaries chosen by the test).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise, Uint8Array};
use lnd_web_signer::grpcweb::{encode_data_frame, encode_trailer_frame};
use lnd_web_signer::proto::signerbridge::attach_event::Event as AttachEventKind;
use lnd_web_signer::proto::signerbridge::{AttachEvent, AttachRequest, ReplyAck, ReplyRequest};
use lnd_web_signer::proto::watchonlyrpc::registration_response::RegistrationResponseType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::proto::watchonlyrpc::{
    RegistrationComplete, RegistrationResponse, SignCoordinatorRequest, SignCoordinatorResponse,
};
use lnd_web_signer_wasm::host;
use prost::Message;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

#[wasm_bindgen(inline_js = r#"
export function streamResponse(status, headers) {
  const handle = { cancelled: false };
  let ctrl;
  const body = new ReadableStream({
    start(c) { ctrl = c; },
    cancel() { handle.cancelled = true; },
  });
  handle.response = new Response(body, { status, headers: new Headers(headers) });
  handle.push = (chunk) => { try { ctrl.enqueue(chunk); } catch (e) { /* cancelled */ } };
  handle.close = () => { try { ctrl.close(); } catch (e) { /* cancelled */ } };
  return handle;
}
export function headersOnlyResponse(status, headers) {
  return new Response(null, { status, headers: new Headers(headers) });
}
export function rejectingFetch(message) {
  return () => Promise.reject(new TypeError(message));
}
export function pullResponse(chunks) {
  // A body that hands out one prepared chunk per read and counts them: what
  // the consumer actually pulled (no read-ahead: highWaterMark 0).
  const handle = { pulled: 0, cancelled: false };
  let i = 0;
  const body = new ReadableStream({
    pull(c) {
      if (i < chunks.length) { handle.pulled += 1; c.enqueue(chunks[i++]); }
    },
    cancel() { handle.cancelled = true; },
  }, { highWaterMark: 0 });
  handle.response = new Response(body, { status: 200, headers: { "content-type": "application/grpc-web+proto" } });
  return handle;
}
export function gate() {
  const g = { opened: false };
  g.promise = new Promise((resolve) => { g.open = () => { g.opened = true; resolve(); }; });
  return g;
}
"#)]
extern "C" {
    /// A streaming response under test control.
    pub type StreamHandle;
    #[wasm_bindgen(js_name = streamResponse)]
    fn stream_response(status: u16, headers: &JsValue) -> StreamHandle;
    #[wasm_bindgen(js_name = headersOnlyResponse)]
    fn headers_only_response(status: u16, headers: &JsValue) -> web_sys::Response;
    /// A fetch function whose promise rejects with a TypeError.
    #[wasm_bindgen(js_name = rejectingFetch)]
    pub fn rejecting_fetch(message: &str) -> Function;
    #[wasm_bindgen(method, getter)]
    fn response(this: &StreamHandle) -> web_sys::Response;
    /// Whether the consumer cancelled the body stream.
    #[wasm_bindgen(method, getter)]
    pub fn cancelled(this: &StreamHandle) -> bool;
    #[wasm_bindgen(method)]
    fn push(this: &StreamHandle, chunk: &Uint8Array);
    #[wasm_bindgen(method)]
    fn close(this: &StreamHandle);

    /// A response whose body hands out prepared chunks on demand.
    pub type PullHandle;
    #[wasm_bindgen(js_name = pullResponse)]
    fn pull_response(chunks: &js_sys::Array) -> PullHandle;
    /// Chunks the consumer has read so far.
    #[wasm_bindgen(method, getter)]
    pub fn pulled(this: &PullHandle) -> u32;
    #[wasm_bindgen(method, getter, js_name = response)]
    fn pull_response_object(this: &PullHandle) -> web_sys::Response;

    /// A promise that resolves once `open()` is called.
    pub type Gate;
    #[wasm_bindgen(js_name = gate)]
    pub fn new_gate() -> Gate;
    #[wasm_bindgen(method, getter)]
    pub fn promise(this: &Gate) -> Promise;
    #[wasm_bindgen(method)]
    pub fn open(this: &Gate);
}

impl PullHandle {
    /// A 200 grpc-web response whose body is `chunks`, one per read.
    pub fn new(chunks: &[Vec<u8>]) -> PullHandle {
        let arr = js_sys::Array::new();
        for c in chunks {
            arr.push(&Uint8Array::from(&c[..]));
        }
        pull_response(&arr)
    }

    /// The `Response` (call once).
    pub fn response_object(&self) -> web_sys::Response {
        self.pull_response_object()
    }
}

/// Response headers as a JS object.
fn headers_object(pairs: &[(&str, &str)]) -> JsValue {
    let obj = js_sys::Object::new();
    for (k, v) in pairs {
        js_sys::Reflect::set(&obj, &JsValue::from_str(k), &JsValue::from_str(v))
            .expect("set header");
    }
    obj.into()
}

const GRPC_WEB: &str = "application/grpc-web+proto";

impl StreamHandle {
    /// A 200 grpc-web response, body to be pushed.
    pub fn grpc_web() -> StreamHandle {
        stream_response(200, &headers_object(&[("content-type", GRPC_WEB)]))
    }

    /// A 200 response announcing grpc-web-text (base64), which the
    /// transport does not accept.
    pub fn grpc_web_text() -> StreamHandle {
        stream_response(
            200,
            &headers_object(&[("content-type", "application/grpc-web-text+proto")]),
        )
    }

    /// The `Response` to resolve the fetch with.
    pub fn response_object(&self) -> web_sys::Response {
        self.response()
    }

    /// Pushes `bytes` split into chunks of `chunk` bytes (0 = one chunk).
    pub fn push_chunked(&self, bytes: &[u8], chunk: usize) {
        if chunk == 0 {
            self.push(&Uint8Array::from(bytes));
        } else {
            for c in bytes.chunks(chunk) {
                self.push(&Uint8Array::from(c));
            }
        }
    }

    /// Pushes each slice as one chunk (empty slices included).
    pub fn push_each(&self, chunks: &[&[u8]]) {
        for c in chunks {
            self.push(&Uint8Array::from(*c));
        }
    }

    /// Ends the body.
    pub fn end(&self) {
        self.close();
    }
}

/// A trailers-only style response: status and headers, no body.
pub fn headers_only(status: u16, headers: &[(&str, &str)]) -> web_sys::Response {
    headers_only_response(status, &headers_object(headers))
}

/// One request as seen by a fake fetch.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub url: String,
    pub method: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn path(&self) -> &str {
        let after_scheme = self.url.split_once("://").map_or(&self.url[..], |(_, r)| r);
        after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
    }

    /// The gRPC message of a unary/server-streaming request body.
    pub fn message<M: Message + Default>(&self) -> M {
        assert!(
            self.body.len() >= 5,
            "request body shorter than a frame header"
        );
        assert_eq!(self.body[0], 0, "request frame must be uncompressed data");
        let len = u32::from_be_bytes([self.body[1], self.body[2], self.body[3], self.body[4]]);
        assert_eq!(len as usize, self.body.len() - 5, "request frame length");
        M::decode(&self.body[5..]).expect("request message decodes")
    }
}

pub async fn record(req: &web_sys::Request) -> Result<Recorded, JsValue> {
    let mut headers = Vec::new();
    if let Some(iter) = js_sys::try_iter(&req.headers())? {
        for pair in iter {
            let pair: js_sys::Array = pair?.unchecked_into();
            headers.push((
                pair.get(0).as_string().unwrap_or_default(),
                pair.get(1).as_string().unwrap_or_default(),
            ));
        }
    }
    let buf = JsFuture::from(req.array_buffer()?).await?;
    Ok(Recorded {
        url: req.url(),
        method: req.method(),
        headers,
        body: Uint8Array::new(&buf).to_vec(),
    })
}

/// A fetch function: records each request, then asks `respond` for the
/// response (which may push body chunks later).
pub fn fetch_fn<F>(log: Rc<RefCell<Vec<Recorded>>>, respond: F) -> Function
where
    F: Fn(&Recorded) -> web_sys::Response + 'static,
{
    let respond = Rc::new(respond);
    let closure =
        Closure::<dyn FnMut(web_sys::Request) -> Promise>::new(move |req: web_sys::Request| {
            let log = Rc::clone(&log);
            let respond = Rc::clone(&respond);
            wasm_bindgen_futures::future_to_promise(async move {
                let rec = record(&req).await?;
                log.borrow_mut().push(rec.clone());
                Ok(respond(&rec).into())
            })
        });
    closure.into_js_value().unchecked_into()
}

/// A fetch function whose answer may come later: records each request, then
/// resolves with the `Response` that `respond`'s promise resolves to.
pub fn async_fetch_fn<F>(log: Rc<RefCell<Vec<Recorded>>>, respond: F) -> Function
where
    F: Fn(&Recorded) -> Promise + 'static,
{
    let respond = Rc::new(respond);
    let closure =
        Closure::<dyn FnMut(web_sys::Request) -> Promise>::new(move |req: web_sys::Request| {
            let log = Rc::clone(&log);
            let respond = Rc::clone(&respond);
            wasm_bindgen_futures::future_to_promise(async move {
                let rec = record(&req).await?;
                log.borrow_mut().push(rec.clone());
                JsFuture::from(respond(&rec)).await
            })
        });
    closure.into_js_value().unchecked_into()
}

/// A successful Reply answer (`ReplyAck`, grpc-status 0).
pub fn reply_ack() -> web_sys::Response {
    let r = StreamHandle::grpc_web();
    r.push_chunked(
        &grpc_web_body(&[ReplyAck {}.encode_to_vec()], &[("grpc-status", "0")]),
        0,
    );
    r.end();
    r.response_object()
}

/// A grpc-web body: data frames of `events`, then the trailer frame.
pub fn grpc_web_body(events: &[Vec<u8>], trailers: &[(&str, &str)]) -> Vec<u8> {
    let mut body = Vec::new();
    for e in events {
        body.extend(encode_data_frame(e).expect("small frame"));
    }
    body.extend(encode_trailer_frame(trailers).expect("small trailer"));
    body
}

pub fn token_event(token: &[u8]) -> Vec<u8> {
    AttachEvent {
        event: Some(AttachEventKind::SessionToken(token.to_vec())),
    }
    .encode_to_vec()
}

pub fn request_event(req: SignCoordinatorRequest) -> Vec<u8> {
    AttachEvent {
        event: Some(AttachEventKind::Request(req)),
    }
    .encode_to_vec()
}

pub fn registration_complete() -> SignCoordinatorRequest {
    SignCoordinatorRequest {
        request_id: 1,
        sign_request_type: Some(SignRequestType::RegistrationResponse(
            RegistrationResponse {
                registration_response_type: Some(RegistrationResponseType::RegistrationComplete(
                    RegistrationComplete {
                        signature: String::new(),
                        registration_info: "watch-only registration info".into(),
                    },
                )),
            },
        )),
    }
}

/// How the fake answers the signer's registration.
#[derive(Debug, Clone)]
pub enum Registration {
    Complete,
    Reject(&'static str),
    Silent,
}

/// Behaviour of [`FakeBridge`].
#[derive(Debug, Clone)]
pub struct Script {
    /// Chunk size for every response body (0 = whole frames).
    pub chunk: usize,
    pub registration: Registration,
    /// Requests sent after the registration, one after each reply; served
    /// once over all sessions.
    pub requests: Vec<SignCoordinatorRequest>,
    /// End the Attach stream (grpc-status 0) once all requests were answered
    /// (once).
    pub close_after_requests: bool,
    /// Answer the Reply to this request id with grpc-status 14.
    pub fail_reply_for: Option<u64>,
}

impl Default for Script {
    fn default() -> Self {
        Script {
            chunk: 1,
            registration: Registration::Complete,
            requests: Vec::new(),
            close_after_requests: false,
            fail_reply_for: None,
        }
    }
}

/// What the fake saw.
#[derive(Debug, Default)]
pub struct BridgeState {
    pub script: Option<Script>,
    pub attaches: Vec<Recorded>,
    pub replies: Vec<(Vec<u8>, SignCoordinatorResponse)>,
    pub streams: Vec<StreamHandleBox>,
    token: Vec<u8>,
    next: usize,
}

/// `StreamHandle` with Debug.
pub struct StreamHandleBox(pub StreamHandle);

impl std::fmt::Debug for StreamHandleBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StreamHandle")
    }
}

/// signer-bridge as the signer sees it: Attach streams the token, then the
/// node's messages; Reply records the answer and lets the script advance.
#[derive(Clone)]
pub struct FakeBridge {
    pub state: Rc<RefCell<BridgeState>>,
    pub log: Rc<RefCell<Vec<Recorded>>>,
}

const ATTACH: &str = "/signerbridge.SignerBridge/Attach";
const REPLY: &str = "/signerbridge.SignerBridge/Reply";

impl FakeBridge {
    pub fn new(script: Script) -> Self {
        FakeBridge {
            state: Rc::new(RefCell::new(BridgeState {
                script: Some(script),
                ..BridgeState::default()
            })),
            log: Rc::new(RefCell::new(Vec::new())),
        }
    }

    /// The fetch function serving this bridge.
    pub fn fetch(&self) -> Function {
        let state = Rc::clone(&self.state);
        fetch_fn(Rc::clone(&self.log), move |rec| handle(&state, rec))
    }

    pub fn replies(&self) -> Vec<SignCoordinatorResponse> {
        self.state
            .borrow()
            .replies
            .iter()
            .map(|(_, r)| r.clone())
            .collect()
    }
}

fn chunk_of(state: &BridgeState) -> usize {
    state.script.as_ref().map_or(0, |s| s.chunk)
}

fn handle(state: &Rc<RefCell<BridgeState>>, rec: &Recorded) -> web_sys::Response {
    match rec.path() {
        ATTACH => {
            let _: AttachRequest = rec.message();
            let mut st = state.borrow_mut();
            st.attaches.push(rec.clone());
            let token = format!("token-{}", st.attaches.len()).into_bytes();
            st.token.clone_from(&token);
            let stream = StreamHandle::grpc_web();
            stream.push_chunked(
                &encode_data_frame(&token_event(&token)).expect("frame"),
                chunk_of(&st),
            );
            let response = stream.response_object();
            st.streams.push(StreamHandleBox(stream));
            response
        }
        REPLY => {
            let req: ReplyRequest = rec.message();
            let mut st = state.borrow_mut();
            let resp = req.response.clone().expect("reply carries a response");
            st.replies.push((req.session_token.clone(), resp.clone()));
            let chunk = chunk_of(&st);
            if req.session_token != st.token {
                return headers_only(
                    200,
                    &[
                        ("content-type", GRPC_WEB),
                        ("grpc-status", "5"),
                        ("grpc-message", "unknown session token"),
                    ],
                );
            }
            let script = st.script.clone().expect("script");
            if script.fail_reply_for == Some(resp.ref_request_id) {
                let r = StreamHandle::grpc_web();
                r.push_chunked(
                    &encode_trailer_frame(&[
                        ("grpc-status", "14"),
                        ("grpc-message", "lnd stream gone"),
                    ])
                    .expect("trailer"),
                    chunk,
                );
                r.end();
                return r.response_object();
            }
            let is_registration = matches!(
                resp.sign_response_type,
                Some(SignResponseType::SignerRegistration(_))
            );
            if is_registration {
                match script.registration {
                    Registration::Complete => {
                        push_event(&st, request_event(registration_complete()));
                        push_next(&mut st, &script);
                    }
                    Registration::Reject(text) => {
                        let mut r = registration_complete();
                        r.sign_request_type = Some(SignRequestType::RegistrationResponse(
                            RegistrationResponse {
                                registration_response_type: Some(
                                    RegistrationResponseType::RegistrationError(text.into()),
                                ),
                            },
                        ));
                        push_event(&st, request_event(r));
                    }
                    Registration::Silent => {}
                }
            } else {
                push_next(&mut st, &script);
            }
            let r = StreamHandle::grpc_web();
            r.push_chunked(
                &grpc_web_body(&[ReplyAck {}.encode_to_vec()], &[("grpc-status", "0")]),
                chunk,
            );
            r.end();
            r.response_object()
        }
        other => headers_only(404, &[("content-type", "text/plain"), ("x-path", other)]),
    }
}

fn push_event(st: &BridgeState, event: Vec<u8>) {
    if let Some(s) = st.streams.last() {
        s.0.push_chunked(&encode_data_frame(&event).expect("frame"), chunk_of(st));
    }
}

fn push_next(st: &mut BridgeState, script: &Script) {
    if st.next < script.requests.len() {
        let req = script.requests[st.next].clone();
        st.next += 1;
        push_event(st, request_event(req));
    } else if script.close_after_requests && !script.requests.is_empty() {
        if let Some(s) = st.streams.last() {
            s.0.push_chunked(
                &encode_trailer_frame(&[("grpc-status", "0")]).expect("trailer"),
                chunk_of(st),
            );
            s.0.end();
        }
        if let Some(sc) = st.script.as_mut() {
            sc.close_after_requests = false;
        }
    }
}

/// Polls `cond` every 5 ms until it holds or `timeout_ms` passed.
pub async fn wait_for(what: &str, timeout_ms: f64, mut cond: impl FnMut() -> bool) {
    let start = host::now_ms();
    while !cond() {
        assert!(
            host::now_ms() - start < timeout_ms,
            "timed out after {timeout_ms} ms waiting for {what}"
        );
        host::sleep(core::time::Duration::from_millis(5)).await;
    }
}
