//! The wasm signer loop: Attach to signer-bridge over grpc-web, register,
//! answer every request with the core [`Signer`], reconnect with the core's
//! [`Backoff`]. Protocol rules (handshake checks, ping replies, answer
//! hygiene) come from [`lnd_web_signer::session`]; this module only moves messages,
//! reads the clock and reports [`Status`] events.
//!
//! One attempt:
//! 1. `Attach` with the `macaroon` header (lower-case hex, set by the
//!    transport from a zeroizing buffer); the first event is the session
//!    token.
//! 2. `Reply` the registration from [`Session::start`]; the next event must
//!    be the node's registration answer, all within the session's handshake
//!    deadline.
//! 3. For every request: pings (and unusable requests) are answered by the
//!    session at once; the rest go through [`Signer::handle`] and
//!    [`session::finish`]. Replies are sent concurrently (each its own
//!    `Reply` call); a failed `Reply` ends the attempt.
//! 4. One watchdog timer per attempt (every 250 ms) checks the open Reply
//!    calls against their deadline and the session's idle watchdog: no
//!    message at all from lnd for longer than the idle timeout (3 × lnd's
//!    1 min health-check interval by default) ends the attempt with an
//!    `error` status carrying `silentMs`. A browser cannot send HTTP/2
//!    pings, so this is how the tab notices a dead link (a half-open
//!    connection, a hung bridge).
//!
//! Memory stays bounded whatever the bridge or lnd do: messages are limited
//! to [`ConnectOptions::max_message_bytes`] (refused before they are
//! buffered), the transport reads the Attach body only as fast as the loop
//! takes messages, and the loop stops taking them while
//! [`MAX_WAITING_ANSWERS`] answers or [`MAX_WAITING_BYTES`] bytes wait for a
//! Reply call (a stuck bridge): lnd then sees back-pressure, not a tab that
//! grows until it is killed.
//!
//! When an attempt ends, [`Backoff::after_attempt`] (reset after a completed
//! handshake) gives the delay, with jitter from the host's randomness.

use core::cell::{Cell, RefCell};
use core::task::{Poll, Waker};
use core::time::Duration;
use std::rc::Rc;

use futures_channel::mpsc;
use futures_util::future::{abortable, poll_fn, select, AbortHandle, Either};
use futures_util::{FutureExt, StreamExt};
use prost::Message;
use serde::Serialize;

use super::error_code::{ErrorCode, Phase};
use super::host;
use super::transport::FetchTransport;
use super::websocket::{websocket_url, LinkEnd, LinkError, WsLink};
use lnd_web_signer::activity::{
    describe_request, describe_response, ReplyInfo as ActivityReplyInfo, RequestInfo,
};
use lnd_web_signer::keys::Network;
use lnd_web_signer::policy::{Decision, Verdict};
use lnd_web_signer::proto::signerbridge::attach_event::Event as AttachEventKind;
use lnd_web_signer::proto::signerbridge::signer_bridge_client::SignerBridgeClient;
use lnd_web_signer::proto::signerbridge::{
    AttachEvent, AttachRequest, ReplyBatchRequest, ReplyRequest,
};
use lnd_web_signer::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
use lnd_web_signer::reply_queue::{QueueLimits, ReplyQueue};
use lnd_web_signer::request::Work;
use lnd_web_signer::secret::{SecretBytes, SecretString};
use lnd_web_signer::session::{self, Backoff, Event, RequestKind, Session, SessionConfig};
use lnd_web_signer::signer::Signer;

/// Largest message accepted or sent by default (lnd's watch-only node
/// accepts 200 MiB); [`ConnectOptions::max_message_bytes`] lowers it.
pub const MAX_MESSAGE_BYTES: usize = 200 * 1024 * 1024;
/// Smallest `max_message_bytes` the JS API accepts.
pub const MIN_MESSAGE_BYTES: usize = 4096;
/// Default bound for getting the `Attach` response and its token.
pub const DEFAULT_ATTACH_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound for one `Reply` call.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of `Reply`/`ReplyBatch` calls open at once. Answers that
/// become ready while this many are open leave together in one
/// `ReplyBatch` when one completes (see [`lnd_web_signer::reply_queue`]).
pub const DEFAULT_MAX_REPLIES_IN_FLIGHT: usize = 2;
/// Most answers in one `ReplyBatch` (signer-bridge accepts up to 64).
pub const MAX_BATCH_ANSWERS: usize = 64;
/// Most encoded answer bytes in one `ReplyBatch`; a larger answer travels
/// alone in a `Reply`. Far below the bridge's default `--max-reply-bytes`
/// (200 MiB), which bounds a whole batch like one Reply.
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Most answers waiting for a Reply call before the loop stops reading
/// requests (4 full batches).
pub const MAX_WAITING_ANSWERS: usize = 4 * MAX_BATCH_ANSWERS;
/// Most encoded answer bytes waiting for a Reply call before the loop stops
/// reading requests.
pub const MAX_WAITING_BYTES: usize = 4 * 1024 * 1024;
/// How long a failed registration Reply waits for the Attach stream's final
/// status (which names the cause).
const ATTACH_END_GRACE: Duration = Duration::from_millis(500);
/// How often open Reply calls are checked against `reply_timeout` and the
/// session against its idle deadline (one timer per attempt instead of one
/// per call).
const REPLY_WATCHDOG_TICK: Duration = Duration::from_millis(250);

/// The signer shared between the JS handle and its connections. `None`
/// once locked (the key was dropped and zeroized).
pub type SharedSigner = Rc<RefCell<Option<Signer>>>;

/// Status events reported to the host (`onStatus` in JS). Serialized with
/// `kind` as tag and camelCase fields; carries no secret and no payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "lowercase",
    rename_all_fields = "camelCase"
)]
pub enum Status {
    /// An attempt starts (`attempt` counts from 1).
    Connecting {
        /// Attempt number.
        attempt: u32,
        /// The bridge URL.
        url: String,
    },
    /// The handshake with the watch-only node completed.
    Registered {
        /// Attempt number.
        attempt: u32,
        /// The node's `registration_info`.
        node_info: String,
        /// How this attempt reaches the bridge: `"websocket"` or `"grpc-web"`.
        transport: &'static str,
    },
    /// A ping was answered.
    Ping {
        /// Request id (a decimal string in JS: lnd's ids are 64-bit).
        #[serde(serialize_with = "super::js_value::u64_string")]
        id: u64,
        /// Milliseconds from receiving the ping to the bridge's Reply ack.
        latency_ms: f64,
    },
    /// A signing request was answered.
    Request {
        /// Request member (e.g. `sign_psbt`, see `RequestKind::display_name`).
        request_kind: String,
        /// Request id (a decimal string in JS: lnd's ids are 64-bit).
        #[serde(serialize_with = "super::js_value::u64_string")]
        id: u64,
        /// Milliseconds from receiving the request to the bridge's Reply ack.
        latency_ms: f64,
        /// Milliseconds spent computing the answer.
        sign_ms: f64,
        /// The `signer_error` text when the answer is an error.
        error: Option<String>,
        /// The request's public description (`ConnectOptions::describe`).
        #[serde(skip_serializing_if = "Option::is_none")]
        request: Option<RequestInfo>,
        /// The answer's public description (`ConnectOptions::describe`).
        #[serde(skip_serializing_if = "Option::is_none")]
        reply: Option<ActivityReplyInfo>,
    },
    /// An attempt ended; the next starts after `delay_ms`.
    Reconnecting {
        /// Attempt number of the attempt that ended.
        attempt: u32,
        /// Delay before the next attempt.
        delay_ms: f64,
        /// Whether the ended attempt had completed its handshake.
        was_registered: bool,
    },
    /// Why an attempt ended.
    Error {
        /// Attempt number.
        attempt: u32,
        /// What happened.
        reason: String,
        /// Set when the attempt was ended for silence (the idle watchdog):
        /// milliseconds without any message from lnd. `null` otherwise.
        silent_ms: Option<f64>,
    },
    /// The loop stopped (disconnect, or the signer was locked).
    Disconnected {
        /// Why.
        reason: String,
    },
}

/// Settings of [`connect`].
pub struct ConnectOptions {
    /// Base URL of signer-bridge's grpc-web endpoint.
    pub bridge_url: String,
    /// The macaroon (binary); sent as lower-case hex `macaroon` metadata.
    /// Empty = no metadata (a node run with `--no-macaroons`).
    pub macaroon: SecretBytes,
    /// A fetch function to use instead of the global one.
    pub fetch: Option<js_sys::Function>,
    /// Reconnect schedule.
    pub backoff: Backoff,
    /// Registration settings, handshake timeout and idle watchdog
    /// (`session.idle_timeout`).
    pub session: SessionConfig,
    /// `client_info` of the Attach call (bridge log only).
    pub client_info: String,
    /// Bound for getting the Attach response and token.
    pub attach_timeout: Duration,
    /// Bound for one Reply call.
    pub reply_timeout: Duration,
    /// Reply calls open at once (at least 1); answers ready while this many
    /// are open are coalesced into one `ReplyBatch`.
    pub max_replies_in_flight: usize,
    /// Largest message received or sent, in bytes (default
    /// [`MAX_MESSAGE_BYTES`]): a larger request ends the attempt before it
    /// is buffered. Hosts with little memory lower it (a Worker has 128 MB;
    /// decoding and signing a message takes a few times its size).
    pub max_message_bytes: usize,
    /// Whether answers may be coalesced into `ReplyBatch` calls. A host
    /// that supplies its own `fetch` and inspects the calls must then read
    /// `ReplyBatch` bodies too (the signer tab's activity log does); the JS
    /// API turns this off when `fetch` is given unless `batchReplies` says
    /// otherwise.
    pub batch_replies: bool,
    /// How to reach the bridge (default [`TransportMode::Auto`]; the JS API
    /// makes it [`TransportMode::GrpcWeb`] when `fetch` is given unless
    /// `transport` says otherwise).
    pub transport: TransportMode,
    /// Describe every answered request for the activity log (the core's
    /// [`lnd_web_signer::activity`], addresses for this network) in its
    /// [`Status::Request`] event. Off by default.
    pub describe: Option<Network>,
    /// Stores the MuSig2 used-nonce entries a signature added
    /// (`(entries: Uint8Array) => Promise<void>`, [`lnd_web_signer::musig2::USED_NONCE_ENTRY_LEN`]
    /// bytes each) before the answer that carries the signature leaves; see
    /// [`record`]. `None`: the record lives in memory only.
    pub store_used_nonces: Option<js_sys::Function>,
    /// Stores the audit lines of the decisions an answer wrote
    /// (`(lines: string) => Promise<void>`, each line ending in `\n`)
    /// before the answer leaves; see [`record`]. `None`: the lines are
    /// dropped (the signer keeps no log unless the host resumed one).
    pub store_audit: Option<js_sys::Function>,
    /// Asks the user about a request the policy says "ask" for
    /// (`(request: ApprovalRequest) => Promise<boolean>`). The request
    /// waits in its own task, so pings and other requests are answered
    /// meanwhile; no answer within [`Self::approval_timeout`] refuses it.
    /// `None`: "ask" becomes what the policy's `approvals.headless` says.
    pub approve: Option<js_sys::Function>,
    /// How long an approval may take: within lnd's request deadline
    /// (`remotesigner.experimentalrequesttimeout`, 5 s by default, and lnd
    /// shuts down when a request misses it). Default
    /// [`DEFAULT_APPROVAL_TIMEOUT`].
    pub approval_timeout: Duration,
}

/// Default time an approval may take: lnd's 5 s request deadline less a
/// second for the answer's way back.
pub const DEFAULT_APPROVAL_TIMEOUT: Duration = Duration::from_secs(4);
/// Longest time an approval may take (for an lnd whose request timeout was
/// raised that far).
pub const MAX_APPROVAL_TIMEOUT: Duration = Duration::from_secs(600);

/// How a connection reaches signer-bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportMode {
    /// The WebSocket channel; when a socket cannot be opened at all (an
    /// older bridge, a proxy without WebSocket support), grpc-web in the
    /// same attempt, and grpc-web from then on once that works.
    Auto,
    /// The WebSocket channel only.
    WebSocket,
    /// grpc-web over `fetch` only (an `Attach` stream and a `Reply` call
    /// per answer or batch).
    GrpcWeb,
}

impl TransportMode {
    /// The JS name: `"auto"`, `"websocket"` or `"grpc-web"`.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "auto" => Some(Self::Auto),
            "websocket" => Some(Self::WebSocket),
            "grpc-web" => Some(Self::GrpcWeb),
            _ => None,
        }
    }
}

impl core::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("bridge_url", &self.bridge_url)
            .field("macaroon", &"[redacted]")
            .field("custom_fetch", &self.fetch.is_some())
            .field("backoff", &self.backoff)
            .field("transport", &self.transport)
            .finish_non_exhaustive()
    }
}

impl ConnectOptions {
    /// Defaults for `bridge_url` and `macaroon`.
    pub fn new(bridge_url: &str, macaroon: SecretBytes) -> Self {
        Self {
            bridge_url: bridge_url.to_owned(),
            macaroon,
            fetch: None,
            backoff: Backoff::new(),
            session: SessionConfig {
                registration_info: format!("lnd-web-signer-wasm/{}", env!("CARGO_PKG_VERSION")),
                ..SessionConfig::default()
            },
            client_info: format!("lnd-web-signer-wasm/{}", env!("CARGO_PKG_VERSION")),
            attach_timeout: DEFAULT_ATTACH_TIMEOUT,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            max_replies_in_flight: DEFAULT_MAX_REPLIES_IN_FLIGHT,
            max_message_bytes: MAX_MESSAGE_BYTES,
            batch_replies: true,
            transport: TransportMode::Auto,
            describe: None,
            store_used_nonces: None,
            store_audit: None,
            approve: None,
            approval_timeout: DEFAULT_APPROVAL_TIMEOUT,
        }
    }
}

/// Counters of a connection.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Attempts started.
    pub attempts: u32,
    /// Attempts that completed the handshake.
    pub registrations: u32,
    /// Pings answered.
    #[serde(serialize_with = "super::js_value::u64_number")]
    pub pings: u64,
    /// Signing requests answered (including `signer_error` answers).
    #[serde(serialize_with = "super::js_value::u64_number")]
    pub requests: u64,
    /// Whether the current attempt is registered.
    pub registered: bool,
    /// Whether the loop is still running.
    pub running: bool,
}

type StatusSink = Rc<dyn Fn(&Status)>;

/// A status sink that also gets the [`ErrorCode`] of `error` and
/// `disconnected` events (`None` for the others). The code travels beside
/// [`Status`], whose variants keep their fields.
pub type CodedStatusSink = Rc<dyn Fn(&Status, Option<ErrorCode>)>;

struct Inner {
    on_status: CodedStatusSink,
    stopped: Cell<bool>,
    finished: Cell<bool>,
    stats: Cell<Stats>,
    abort: RefCell<Option<AbortHandle>>,
    done_waiters: RefCell<Vec<futures_channel::oneshot::Sender<()>>>,
}

impl Inner {
    fn emit(&self, status: Status) {
        self.emit_coded(status, None);
    }

    fn emit_coded(&self, status: Status, code: Option<ErrorCode>) {
        if !self.stopped.get() {
            (self.on_status)(&status, code);
        }
    }

    fn update(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }
}

/// Handle of a running signer loop.
#[derive(Clone)]
pub struct Connection {
    inner: Rc<Inner>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("stats", &self.inner.stats.get())
            .finish()
    }
}

impl Connection {
    /// Counters so far.
    pub fn stats(&self) -> Stats {
        self.inner.stats.get()
    }

    /// Whether the loop is still running.
    pub fn is_running(&self) -> bool {
        self.inner.stats.get().running
    }

    /// Stops the loop (closing the Attach stream, which makes the bridge
    /// close lnd's stream) and reports `disconnected` with `reason`.
    /// Returns once the loop's future has been dropped (its fetches
    /// aborted); calling it again is harmless.
    pub async fn disconnect(&self, reason: &str) {
        stop(&self.inner, ErrorCode::Disconnected, reason);
        if self.inner.finished.get() {
            return;
        }
        let (tx, rx) = futures_channel::oneshot::channel();
        self.inner.done_waiters.borrow_mut().push(tx);
        let _ = rx.await;
    }
}

/// Stops `conn` without waiting (used by `lock()`: the code is
/// [`ErrorCode::Locked`]).
pub fn stop_now(conn: &Connection, reason: &str) {
    stop(&conn.inner, ErrorCode::Locked, reason);
}

fn stop(inner: &Rc<Inner>, code: ErrorCode, reason: &str) {
    if inner.stopped.replace(true) {
        return;
    }
    inner.update(|s| {
        s.running = false;
        s.registered = false;
    });
    let handle = inner.abort.borrow_mut().take();
    if let Some(h) = handle {
        h.abort();
    }
    (inner.on_status)(
        &Status::Disconnected {
            reason: reason.to_owned(),
        },
        Some(code),
    );
}

/// Starts the signer loop for `signer` in the background (spawned on the
/// JS event loop) and returns its handle.
pub fn connect(signer: SharedSigner, options: ConnectOptions, on_status: StatusSink) -> Connection {
    connect_coded(signer, options, Rc::new(move |s: &Status, _| on_status(s)))
}

/// [`connect`] with a sink that also gets each event's [`ErrorCode`].
pub fn connect_coded(
    signer: SharedSigner,
    options: ConnectOptions,
    on_status: CodedStatusSink,
) -> Connection {
    let inner = Rc::new(Inner {
        on_status,
        stopped: Cell::new(false),
        finished: Cell::new(false),
        stats: Cell::new(Stats {
            running: true,
            ..Stats::default()
        }),
        abort: RefCell::new(None),
        done_waiters: RefCell::new(Vec::new()),
    });
    let (task, handle) = abortable(run(Rc::clone(&inner), signer, options));
    *inner.abort.borrow_mut() = Some(handle);
    let loop_inner = Rc::clone(&inner);
    wasm_bindgen_futures::spawn_local(async move {
        // The loop future (with its Attach stream) is dropped once this
        // await completes, which aborts its fetches.
        let result = task.await;
        if let Ok(reason) = result {
            // The loop only ends by itself once the signer is locked.
            stop(&loop_inner, ErrorCode::Locked, &reason);
        }
        loop_inner.finished.set(true);
        let waiters: Vec<_> = loop_inner.done_waiters.borrow_mut().drain(..).collect();
        for w in waiters {
            let _ = w.send(());
        }
    });
    Connection { inner }
}

/// Lower-case hex of a secret, written into one zeroizing buffer of the
/// right size (no intermediate copies left behind by a growing string).
fn hex_secret(bytes: &SecretBytes) -> SecretString {
    let mut buf = vec![0u8; bytes.len() * 2];
    if hex::encode_to_slice(bytes.expose(), &mut buf).is_err() {
        buf.clear();
    }
    // Hex digits are ASCII: this takes the buffer as it is.
    SecretString::new(String::from_utf8(buf).unwrap_or_default())
}

/// Runs attempts until the signer is locked; returns the reason to report.
async fn run(inner: Rc<Inner>, signer: SharedSigner, mut options: ConnectOptions) -> String {
    // The macaroon's hex, made once and wiped with the loop; the transport
    // sets it on Attach calls (never in tonic's metadata).
    let macaroon_hex = Rc::new(hex_secret(&options.macaroon));
    let ws_url = websocket_url(&options.bridge_url);
    let mut prefer_ws = true;
    let transport = match options.fetch.take() {
        Some(f) => FetchTransport::with_fetch(&options.bridge_url, f),
        None => FetchTransport::new(&options.bridge_url),
    }
    .with_max_frame_len(options.max_message_bytes)
    .with_attach_macaroon(Rc::clone(&macaroon_hex));
    let client = SignerBridgeClient::new(transport)
        .max_decoding_message_size(options.max_message_bytes)
        .max_encoding_message_size(options.max_message_bytes);
    if let Some(s) = signer.borrow().as_ref() {
        s.journal_used_nonces(options.store_used_nonces.is_some());
    }
    let mut attempt: u32 = 0;
    loop {
        if signer.borrow().is_none() {
            return "signer locked".to_owned();
        }
        attempt = attempt.saturating_add(1);
        inner.update(|s| s.attempts = attempt);
        inner.emit(Status::Connecting {
            attempt,
            url: options.bridge_url.clone(),
        });
        let mut registered = false;
        let result = match (&ws_url, options.transport) {
            (Some(url), TransportMode::WebSocket) => {
                attempt_ws_session(
                    &inner,
                    &signer,
                    &options,
                    url,
                    &macaroon_hex,
                    attempt,
                    &mut registered,
                )
                .await
            }
            (None, TransportMode::WebSocket) => Err(fail(
                ErrorCode::Internal,
                format!("{} is not an http:// or https:// URL", options.bridge_url),
            )),
            (Some(url), TransportMode::Auto) if prefer_ws => {
                match attempt_ws_session(
                    &inner,
                    &signer,
                    &options,
                    url,
                    &macaroon_hex,
                    attempt,
                    &mut registered,
                )
                .await
                {
                    // An older bridge, a proxy without WebSocket support:
                    // grpc-web now, and from now on once it works.
                    Err(AttemptEnd::NotOpened { .. }) => {
                        let r = attempt_session(
                            &inner,
                            &signer,
                            &options,
                            client.clone(),
                            attempt,
                            &mut registered,
                        )
                        .await;
                        if registered {
                            prefer_ws = false;
                        }
                        r
                    }
                    other => other,
                }
            }
            _ => {
                attempt_session(
                    &inner,
                    &signer,
                    &options,
                    client.clone(),
                    attempt,
                    &mut registered,
                )
                .await
            }
        };
        inner.update(|s| s.registered = false);
        let (reason, code, silent) = match result {
            // The bridge ended the stream with status OK.
            Ok(reason) => (reason, ErrorCode::SessionEnded, None),
            Err(AttemptEnd::Retry { reason, code }) => (reason, code, None),
            Err(AttemptEnd::NotOpened { reason }) => (reason, ErrorCode::BridgeUnreachable, None),
            Err(AttemptEnd::Silent { reason, silent }) => {
                (reason, ErrorCode::LndSilent, Some(silent))
            }
            Err(AttemptEnd::Locked) => return "signer locked".to_owned(),
        };
        inner.emit_coded(
            Status::Error {
                attempt,
                reason,
                silent_ms: silent.map(|d| d.as_secs_f64() * 1000.0),
            },
            Some(code),
        );
        let delay = options
            .backoff
            .after_attempt(registered, host::random_u32());
        inner.emit(Status::Reconnecting {
            attempt,
            delay_ms: delay.as_secs_f64() * 1000.0,
            was_registered: registered,
        });
        host::sleep(delay).await;
    }
}

enum AttemptEnd {
    Retry {
        reason: String,
        code: ErrorCode,
    },
    /// The idle watchdog ended the attempt after `silent` without a message.
    Silent {
        reason: String,
        silent: Duration,
    },
    /// The WebSocket never opened (see [`TransportMode::Auto`]).
    NotOpened {
        reason: String,
    },
    Locked,
}

/// An attempt that failed with `code`.
fn fail(code: ErrorCode, reason: impl Into<String>) -> AttemptEnd {
    AttemptEnd::Retry {
        reason: reason.into(),
        code,
    }
}

/// An attempt that failed with the status `s` of a call, received in `phase`.
fn fail_status(phase: Phase, what: &str, s: &tonic::Status) -> AttemptEnd {
    fail(ErrorCode::of_status(phase, s), status_text(what, s))
}

/// An attempt ended by the session's verdict `e`.
fn fail_session(e: &session::SessionError) -> AttemptEnd {
    fail(ErrorCode::of_session(e), e.to_string())
}

fn status_text(what: &str, s: &tonic::Status) -> String {
    if s.message().is_empty() {
        format!("{what}: {:?}", s.code())
    } else {
        format!("{what}: {:?}: {}", s.code(), s.message())
    }
}

/// Waits for `fut` at most until `deadline` (host clock).
async fn until<F: core::future::Future + Unpin>(fut: F, deadline: Duration) -> Option<F::Output> {
    let wait = deadline.saturating_sub(host::now());
    match select(fut, Box::pin(host::sleep(wait))).await {
        Either::Left((out, _)) => Some(out),
        Either::Right(_) => None,
    }
}

type Client = SignerBridgeClient<FetchTransport>;

/// One attempt. `Ok(reason)` when the bridge ended the stream normally.
async fn attempt_session(
    inner: &Rc<Inner>,
    signer: &SharedSigner,
    options: &ConnectOptions,
    mut client: Client,
    attempt: u32,
    registered: &mut bool,
) -> Result<String, AttemptEnd> {
    let mut session = Session::new(options.session.clone()).map_err(|e| fail_session(&e))?;

    // 1. Attach; the first event is the token.
    // The transport adds the macaroon header (FetchTransport::with_attach_macaroon).
    let request = tonic::Request::new(AttachRequest {
        client_info: options.client_info.clone(),
        ..Default::default()
    });
    let attach_deadline = host::now().saturating_add(options.attach_timeout);
    let mut stream = {
        let mut c = client.clone();
        match until(Box::pin(c.attach(request)), attach_deadline).await {
            None => {
                return Err(fail(
                    ErrorCode::BridgeTimeout,
                    format!("attach timed out after {:?}", options.attach_timeout),
                ))
            }
            Some(Err(s)) => return Err(fail_status(Phase::Attach, "attach failed", &s)),
            Some(Ok(r)) => r.into_inner(),
        }
    };
    let token = match until(Box::pin(stream.message()), attach_deadline).await {
        None => {
            return Err(fail(
                ErrorCode::BridgeTimeout,
                "no session token from the bridge in time",
            ))
        }
        Some(Err(s)) => return Err(fail_status(Phase::Attach, "attach stream failed", &s)),
        Some(Ok(None)) => {
            return Err(fail(
                ErrorCode::Protocol,
                "bridge ended the attach stream before the session token",
            ))
        }
        Some(Ok(Some(ev))) => match ev.event {
            Some(AttachEventKind::SessionToken(t)) if !t.is_empty() => t,
            _ => {
                return Err(fail(
                    ErrorCode::Protocol,
                    "bridge's first attach event is not a session token",
                ))
            }
        },
    };

    // 2. Registration, within the session's handshake deadline.
    let registration = session.start(host::now()).map_err(|e| fail_session(&e))?;
    let deadline = session
        .poll_timeout()
        .unwrap_or_else(|| host::now().saturating_add(options.session.handshake_timeout));
    let reply = ReplyRequest {
        session_token: token.clone(),
        response: Some(registration),
    };
    match until(Box::pin(client.reply(reply)), deadline).await {
        None => {
            let _ = session.on_timeout(host::now().max(deadline));
            return Err(fail(
                ErrorCode::HandshakeTimeout,
                "registration reply timed out",
            ));
        }
        Some(Err(s)) => {
            // The usual cause is lnd refusing the stream (a rejected
            // macaroon): the bridge then drops the session, so the Reply
            // finds no token. The Attach stream's final status says why;
            // report that when it comes promptly.
            let wait = host::now().saturating_add(ATTACH_END_GRACE);
            if let Some(Err(end)) = until(Box::pin(stream.message()), wait).await {
                return Err(fail_status(
                    Phase::Stream { registered: false },
                    "attach stream failed during the handshake",
                    &end,
                ));
            }
            return Err(fail_status(Phase::Reply, "registration reply failed", &s));
        }
        Some(Ok(_)) => {}
    }
    let first = match until(Box::pin(stream.message()), deadline).await {
        None => {
            return Err(session
                .on_timeout(host::now().max(deadline))
                .err()
                .map(|e| fail_session(&e))
                .unwrap_or_else(|| fail(ErrorCode::HandshakeTimeout, "handshake timed out")));
        }
        Some(Err(s)) => {
            return Err(fail_status(
                Phase::Stream { registered: false },
                "attach stream failed during the handshake",
                &s,
            ))
        }
        Some(Ok(None)) => {
            return Err(fail(
                ErrorCode::SessionEnded,
                "bridge ended the attach stream during the handshake",
            ))
        }
        Some(Ok(Some(ev))) => request_of(ev, "bridge sent a second session token")?,
    };
    on_registration(inner, &mut session, first, attempt, registered, "grpc-web")?;

    // 3. Serve requests until the stream or a Reply fails.
    let (fail_tx, mut fail_rx) = mpsc::unbounded::<(ErrorCode, String)>();
    let replies = Rc::new(Replies {
        inner: Rc::clone(inner),
        client: client.clone(),
        token: token.clone(),
        fail: fail_tx,
        timeout: options.reply_timeout,
        queue: RefCell::new(ReplyQueue::new(QueueLimits {
            max_in_flight: options.max_replies_in_flight,
            max_batch: MAX_BATCH_ANSWERS,
            max_batch_bytes: MAX_BATCH_BYTES,
            max_waiting: MAX_WAITING_ANSWERS,
            max_waiting_bytes: MAX_WAITING_BYTES,
        })),
        open: RefCell::new(Vec::new()),
        next_call: Cell::new(0),
        ended: Cell::new(false),
        room: Wakeup::default(),
    });
    if !options.batch_replies {
        replies.queue.borrow_mut().disable_batching();
    }
    // Calls still open when the attempt ends start no further calls.
    let _end = EndAttempt(Rc::clone(&replies));
    let mut tick = Box::pin(host::sleep(REPLY_WATCHDOG_TICK));
    let (late_tx, mut late_rx) = mpsc::unbounded::<Answer>();
    loop {
        // A full reply queue (a stuck bridge) pauses reading: the next
        // message is taken once a call completes.
        let has_room = replies.queue.borrow().has_room();
        let wanted = if has_room {
            Either::Left(stream.message().map(Some))
        } else {
            Either::Right(replies.room.wait().map(|()| None))
        };
        let events = select(select(Box::pin(wanted), fail_rx.next()), late_rx.next());
        let next = match select(events, &mut tick).await {
            Either::Left((Either::Right((Some(late), _)), _)) => {
                // An answer that waited for an approval.
                send_reply(&replies, late).await;
                continue;
            }
            Either::Left((Either::Right((None, _)), _)) => {
                return Err(fail(ErrorCode::Internal, "approval channel closed"))
            }
            Either::Right(((), _)) => {
                let now = host::now();
                if let Some(reason) = replies.overdue(now) {
                    return Err(fail(ErrorCode::BridgeTimeout, reason));
                }
                watchdog(&mut session, now)?;
                tick = Box::pin(host::sleep(REPLY_WATCHDOG_TICK));
                continue;
            }
            Either::Left((Either::Left((Either::Right((Some((code, reason)), _)), _)), _)) => {
                return Err(fail(code, reason))
            }
            Either::Left((Either::Left((Either::Right((None, _)), _)), _)) => {
                return Err(fail(ErrorCode::Internal, "reply channel closed"))
            }
            Either::Left((Either::Left((Either::Left((None, _)), _)), _)) => continue,
            Either::Left((Either::Left((Either::Left((Some(msg), _)), _)), _)) => msg,
        };
        let req = match next {
            Err(s) => {
                return Err(fail_status(
                    Phase::Stream { registered: true },
                    "attach stream failed",
                    &s,
                ))
            }
            Ok(None) => return Ok("bridge ended the attach stream".to_owned()),
            Ok(Some(ev)) => request_of(ev, "bridge sent a session token mid-stream")?,
        };
        let Some(answer) = answer(&mut session, signer, req, options, &late_tx)? else {
            continue;
        };
        let answer = record(signer, options.hooks(), answer).await;
        send_reply(&replies, answer).await;
    }
}

/// Queues `answer` for a Reply call (or a batch).
async fn send_reply(replies: &Rc<Replies>, answer: Answer) {
    let len = answer.response.encoded_len();
    let start = replies.queue.borrow_mut().push(answer, len);
    if let Some(out) = start {
        start_call(replies, out.items);
        // Let the call's task issue its fetch now: while requests are
        // buffered, `stream.message()` is ready at once and the loop
        // would otherwise sign them all before the fetch goes out.
        yield_now().await;
    }
}

/// The request lnd sent in `ev`; any other event is `unexpected` (a
/// protocol error).
fn request_of(ev: AttachEvent, unexpected: &str) -> Result<SignCoordinatorRequest, AttemptEnd> {
    match ev.event {
        Some(AttachEventKind::Request(r)) => Ok(r),
        _ => Err(fail(ErrorCode::Protocol, unexpected)),
    }
}

/// The session's timers at `now` (handshake deadline, idle watchdog): an
/// expired one ends the attempt (silence as [`AttemptEnd::Silent`]).
fn watchdog(session: &mut Session, now: Duration) -> Result<(), AttemptEnd> {
    session.on_timeout(now).map_err(|e| match e {
        session::SessionError::IdleTimeout { silent, .. } => AttemptEnd::Silent {
            reason: e.to_string(),
            silent,
        },
        other => fail_session(&other),
    })
}

/// The node's registration answer `first` through the session: reports
/// the completed handshake (over `transport`) or ends the attempt.
fn on_registration(
    inner: &Rc<Inner>,
    session: &mut Session,
    first: SignCoordinatorRequest,
    attempt: u32,
    registered: &mut bool,
    transport: &'static str,
) -> Result<(), AttemptEnd> {
    match session.on_request(first, host::now()) {
        Ok(Event::Registered { node_info }) => {
            *registered = true;
            inner.update(|s| {
                s.registrations = s.registrations.saturating_add(1);
                s.registered = true;
            });
            inner.emit(Status::Registered {
                attempt,
                node_info,
                transport,
            });
            Ok(())
        }
        Ok(_) => Err(fail(
            ErrorCode::Protocol,
            "session did not complete the handshake",
        )),
        Err(e) => Err(fail_session(&e)),
    }
}

/// The answer to one request from lnd: the session's own (pings, unusable
/// requests) or the signer's, with what the activity report needs.
///
/// `None`: the policy asked, and the request waits for the user in a task
/// of its own ([`approval`]), which sends the answer on `late`.
fn answer(
    session: &mut Session,
    signer: &SharedSigner,
    req: SignCoordinatorRequest,
    options: &ConnectOptions,
    late: &mpsc::UnboundedSender<Answer>,
) -> Result<Option<Answer>, AttemptEnd> {
    let received = host::now_ms();
    let kind = RequestKind::of(&req);
    let id = req.request_id;
    let described = options
        .describe
        .filter(|_| kind != RequestKind::Ping)
        .map(|net| describe_request(&req, net));
    let (response, sign_ms, name) = match session.on_request(req, host::now()) {
        Err(e) => return Err(fail_session(&e)),
        Ok(Event::Registered { .. }) => {
            return Err(fail(ErrorCode::Protocol, "unexpected second registration"))
        }
        Ok(Event::Reply(resp)) => (resp, 0.0, kind.field()),
        Ok(Event::Handle(work)) => {
            let guard = signer.borrow();
            let Some(s) = guard.as_ref() else {
                return Err(AttemptEnd::Locked);
            };
            let name = kind.display_name();
            let t0 = host::now_ms();
            let resp = match &options.approve {
                None => s.handle(&work),
                Some(hook) => {
                    let verdict = s.check(&work);
                    if matches!(verdict.decision, Decision::Ask(_)) {
                        let task = Approval {
                            signer: Rc::clone(signer),
                            hook: hook.clone(),
                            timeout: options.approval_timeout,
                            hooks: options.hooks().cloned(),
                            late: late.clone(),
                            info: ReplyInfo {
                                kind,
                                name,
                                id,
                                received,
                                sign_ms: 0.0,
                                request: described,
                                reply: None,
                            },
                        };
                        wasm_bindgen_futures::spawn_local(approval(task, work, verdict));
                        return Ok(None);
                    }
                    s.answer(&work, &verdict, None)
                }
            };
            let resp = session::finish(&work, resp);
            (resp, host::now_ms() - t0, name)
        }
    };
    let reply = described.as_ref().map(|_| describe_response(&response));
    Ok(Some(Answer {
        error: error_text(&response),
        response,
        info: ReplyInfo {
            kind,
            name,
            id,
            received,
            sign_ms,
            request: described,
            reply,
        },
    }))
}

/// The host's storage hooks of [`record`].
#[derive(Clone, Copy)]
struct Hooks<'a> {
    used_nonces: Option<&'a js_sys::Function>,
    audit: Option<&'a js_sys::Function>,
}

/// [`Hooks`] owned by a task.
#[derive(Clone)]
struct OwnedHooks {
    used_nonces: Option<js_sys::Function>,
    audit: Option<js_sys::Function>,
}

impl Hooks<'_> {
    fn cloned(self) -> OwnedHooks {
        OwnedHooks {
            used_nonces: self.used_nonces.cloned(),
            audit: self.audit.cloned(),
        }
    }
}

impl OwnedHooks {
    fn borrowed(&self) -> Hooks<'_> {
        Hooks {
            used_nonces: self.used_nonces.as_ref(),
            audit: self.audit.as_ref(),
        }
    }
}

impl ConnectOptions {
    fn hooks(&self) -> Hooks<'_> {
        Hooks {
            used_nonces: self.store_used_nonces.as_ref(),
            audit: self.store_audit.as_ref(),
        }
    }
}

/// A request waiting for the user's approval.
struct Approval {
    signer: SharedSigner,
    hook: js_sys::Function,
    timeout: Duration,
    hooks: OwnedHooks,
    late: mpsc::UnboundedSender<Answer>,
    info: ReplyInfo,
}

/// Asks the host's `approve` hook about `work` and answers it as the user
/// says, or refuses it when nobody answers within the approval time.
async fn approval(task: Approval, work: Work, verdict: Verdict) {
    let deadline = host::now() + task.timeout;
    let request = approval_request(&work, &verdict, task.timeout);
    let asked = async {
        let request = request.map_err(|e| format!("{e:?}"))?;
        let returned = task
            .hook
            .call1(&wasm_bindgen::JsValue::NULL, &request)
            .map_err(|e| super::transport::js_error_text(&e))?;
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&returned))
            .await
            .map(|v| v.as_bool() == Some(true))
            .map_err(|e| super::transport::js_error_text(&e))
    };
    let approved = match until(Box::pin(asked), deadline).await {
        Some(Ok(yes)) => Some(yes),
        Some(Err(e)) => {
            web_sys::console::warn_1(&format!("[signer] the approval failed: {e}").into());
            None
        }
        None => None,
    };
    let response = {
        let guard = task.signer.borrow();
        let Some(s) = guard.as_ref() else {
            // Locked meanwhile: the attempt ends, nothing is signed.
            return;
        };
        session::finish(&work, s.answer(&work, &verdict, approved))
    };
    let mut info = task.info;
    info.reply = info.request.as_ref().map(|_| describe_response(&response));
    let answer = Answer {
        error: error_text(&response),
        response,
        info,
    };
    let answer = record(&task.signer, task.hooks.borrowed(), answer).await;
    // The attempt may have ended meanwhile: then lnd gets nothing, as for
    // any request in flight when a stream breaks.
    let _ = task.late.unbounded_send(answer);
}

/// What the `approve` hook gets.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ApprovalRequest<'a> {
    /// lnd's request id (decimal: 64-bit).
    id: String,
    kind: &'static str,
    /// Why the policy asks (the rules' texts).
    reason: String,
    tags: Vec<&'static str>,
    txid: Option<&'a str>,
    outputs: Vec<ApprovalOutput<'a>>,
    external: Option<u64>,
    fee: Option<u64>,
    paths: &'a [String],
    /// When the answer is due, milliseconds since 1970.
    deadline_ms: f64,
    timeout_ms: f64,
}

#[derive(Serialize)]
struct ApprovalOutput<'a> {
    to: &'a str,
    value: u64,
    whose: &'static str,
}

fn approval_request(
    work: &Work,
    verdict: &Verdict,
    timeout: Duration,
) -> Result<wasm_bindgen::JsValue, serde_wasm_bindgen::Error> {
    let (reason, tags) = match &verdict.decision {
        Decision::Ask(r) | Decision::Deny(r) => {
            (r.to_string(), r.tags().iter().map(|t| t.as_str()).collect())
        }
        Decision::Allow => (String::new(), Vec::new()),
    };
    let f = &verdict.facts;
    let timeout_ms = timeout.as_secs_f64() * 1000.0;
    let request = ApprovalRequest {
        id: work.id.to_string(),
        kind: work.kind().display_name(),
        reason,
        tags,
        txid: f.txid.as_deref(),
        outputs: f
            .outputs
            .iter()
            .map(|o| ApprovalOutput {
                to: &o.to,
                value: o.value,
                whose: o.whose,
            })
            .collect(),
        external: f.external,
        fee: f.fee,
        paths: &f.paths,
        deadline_ms: js_sys::Date::now() + timeout_ms,
        timeout_ms,
    };
    request.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
}

/// Most answer bytes the browser may hold unsent on the WebSocket before
/// the attempt ends (the bridge is not reading; as [`MAX_WAITING_BYTES`]
/// for grpc-web).
const MAX_WS_BUFFERED: u32 = MAX_WAITING_BYTES as u32;

/// The first message of the WebSocket channel: `AttachRequest` with
/// `client_info` and the macaroon's hex, encoded straight into one
/// zeroizing buffer of the right size.
fn ws_attach_message(
    client_info: &str,
    macaroon_hex: &SecretString,
) -> zeroize::Zeroizing<Vec<u8>> {
    let head = AttachRequest {
        client_info: client_info.to_owned(),
        ..Default::default()
    };
    let mac = macaroon_hex.expose().as_bytes();
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(head.encoded_len() + mac.len() + 11));
    // Encoding into a Vec with room cannot fail.
    let _ = head.encode(&mut *out);
    if !mac.is_empty() {
        // Field 2 (macaroon), wire type 2 (length-delimited).
        out.push(0x12);
        prost::encoding::encode_varint(mac.len() as u64, &mut *out);
        out.extend_from_slice(mac);
    }
    out
}

/// An attempt's failure on the WebSocket channel, in `phase`.
fn fail_link(phase: Phase, what: &str, end: LinkEnd) -> AttemptEnd {
    match end {
        LinkEnd::Status(s) => fail_status(phase, what, &s),
        LinkEnd::Link(LinkError::NotOpened(reason)) => AttemptEnd::NotOpened { reason },
        LinkEnd::Link(LinkError::Closed(reason)) => {
            fail(ErrorCode::BridgeUnreachable, format!("{what}: {reason}"))
        }
        LinkEnd::Link(LinkError::Protocol(reason)) => {
            fail(ErrorCode::Protocol, format!("{what}: {reason}"))
        }
    }
}

/// One attempt over the WebSocket channel at `url`: the same session as
/// [`attempt_session`], each answer one message. `Ok(reason)` when the
/// bridge ended the session normally; [`AttemptEnd::NotOpened`] when the
/// socket never opened.
async fn attempt_ws_session(
    inner: &Rc<Inner>,
    signer: &SharedSigner,
    options: &ConnectOptions,
    url: &str,
    macaroon_hex: &SecretString,
    attempt: u32,
    registered: &mut bool,
) -> Result<String, AttemptEnd> {
    let mut session = Session::new(options.session.clone()).map_err(|e| fail_session(&e))?;
    let attach_deadline = host::now().saturating_add(options.attach_timeout);
    let mut link = WsLink::open(url, options.max_message_bytes)
        .map_err(|e| fail_link(Phase::Attach, "attach failed", LinkEnd::Link(e)))?;
    match until(Box::pin(link.opened()), attach_deadline).await {
        None => {
            return Err(AttemptEnd::NotOpened {
                reason: format!(
                    "the WebSocket to {url} did not open within {:?}",
                    options.attach_timeout
                ),
            })
        }
        Some(Err(e)) => return Err(fail_link(Phase::Attach, "attach failed", LinkEnd::Link(e))),
        Some(Ok(())) => {}
    }
    link.send_secret(&ws_attach_message(&options.client_info, macaroon_hex))
        .map_err(|e| fail_link(Phase::Attach, "attach failed", LinkEnd::Link(e)))?;

    // 1. The token says the bridge reached lnd.
    match until(Box::pin(link.next_event()), attach_deadline).await {
        None => {
            return Err(fail(
                ErrorCode::BridgeTimeout,
                "no session token from the bridge in time",
            ))
        }
        Some(Err(e)) => return Err(fail_link(Phase::Attach, "attach failed", e)),
        Some(Ok(None)) => {
            return Err(fail(
                ErrorCode::Protocol,
                "bridge ended the session before the session token",
            ))
        }
        Some(Ok(Some(ev))) => match ev.event {
            Some(AttachEventKind::SessionToken(t)) if !t.is_empty() => {}
            _ => {
                return Err(fail(
                    ErrorCode::Protocol,
                    "bridge's first event is not a session token",
                ))
            }
        },
    }

    // 2. Registration, within the session's handshake deadline.
    let registration = session.start(host::now()).map_err(|e| fail_session(&e))?;
    let deadline = session
        .poll_timeout()
        .unwrap_or_else(|| host::now().saturating_add(options.session.handshake_timeout));
    let phase = Phase::Stream { registered: false };
    let what = "the session failed during the handshake";
    link.send(&registration.encode_to_vec())
        .map_err(|e| fail_link(phase, what, LinkEnd::Link(e)))?;
    let first = match until(Box::pin(link.next_event()), deadline).await {
        None => {
            return Err(session
                .on_timeout(host::now().max(deadline))
                .err()
                .map(|e| fail_session(&e))
                .unwrap_or_else(|| fail(ErrorCode::HandshakeTimeout, "handshake timed out")));
        }
        Some(Err(e)) => return Err(fail_link(phase, what, e)),
        Some(Ok(None)) => {
            return Err(fail(
                ErrorCode::SessionEnded,
                "bridge ended the session during the handshake",
            ))
        }
        Some(Ok(Some(ev))) => request_of(ev, "bridge sent a second session token")?,
    };
    on_registration(inner, &mut session, first, attempt, registered, "websocket")?;

    // 3. Serve requests; every answer leaves at once.
    let mut tick = Box::pin(host::sleep(REPLY_WATCHDOG_TICK));
    let (late_tx, mut late_rx) = mpsc::unbounded::<Answer>();
    loop {
        let events = select(Box::pin(link.next_event()), late_rx.next());
        let (next, late) = match select(events, &mut tick).await {
            Either::Left((Either::Left((next, _)), _)) => (Some(next), None),
            Either::Left((Either::Right((late, _)), _)) => (None, Some(late)),
            Either::Right(((), _)) => (None, None),
        };
        if let Some(late) = late {
            // An answer that waited for an approval.
            let late = late.ok_or_else(|| fail(ErrorCode::Internal, "approval channel closed"))?;
            ws_send(inner, &link, late)?;
            continue;
        }
        let next = match next {
            Some(next) => next,
            None => {
                let now = host::now();
                if link.buffered() > MAX_WS_BUFFERED {
                    return Err(fail(
                        ErrorCode::BridgeTimeout,
                        format!(
                            "the bridge is not reading answers ({} bytes wait to be sent)",
                            link.buffered()
                        ),
                    ));
                }
                watchdog(&mut session, now)?;
                tick = Box::pin(host::sleep(REPLY_WATCHDOG_TICK));
                continue;
            }
        };
        let req = match next {
            Err(e) => {
                return Err(fail_link(
                    Phase::Stream { registered: true },
                    "the session failed",
                    e,
                ))
            }
            Ok(None) => return Ok("bridge ended the session".to_owned()),
            Ok(Some(ev)) => request_of(ev, "bridge sent a session token mid-stream")?,
        };
        let Some(answer) = answer(&mut session, signer, req, options, &late_tx)? else {
            continue;
        };
        let answer = record(signer, options.hooks(), answer).await;
        ws_send(inner, &link, answer)?;
    }
}

/// Sends `answer` over the WebSocket channel.
fn ws_send(inner: &Inner, link: &WsLink, answer: Answer) -> Result<(), AttemptEnd> {
    link.send(&answer.response.encode_to_vec()).map_err(|e| {
        fail_link(
            Phase::Reply,
            &format!("reply to request {} failed", answer.info.id),
            LinkEnd::Link(e),
        )
    })?;
    answered(inner, answer, host::now_ms());
    Ok(())
}

/// How long the host may take to store used-nonce entries before the
/// signature they belong to is withheld (well inside lnd's 5 s deadline).
const STORE_USED_NONCES_DEADLINE: Duration = Duration::from_secs(2);

/// Write-ahead for the MuSig2 used-nonce record: with a `storeUsedNonces`
/// hook, the entries `answer` added (a MuSig2 Sign) go to the host, and the
/// answer, which carries the partial signature, leaves only once the host
/// has stored them. A signer that starts later for this node (a reload,
/// another tab taking over) imports them, so it too refuses that nonce in
/// any other context. If storing fails or takes longer than
/// [`STORE_USED_NONCES_DEADLINE`], the signature is withheld: lnd gets a
/// `SignerError` for that request instead.
///
/// The audit log likewise: with a `storeAudit` hook the lines of the
/// decisions since the last answer are stored before this answer leaves;
/// if that fails, lnd gets a `SignerError` naming the audit log (as the
/// native `--audit-log` does).
async fn record(signer: &SharedSigner, hooks: Hooks<'_>, mut answer: Answer) -> Answer {
    // Both taken before the first await: an answer computed meanwhile (the
    // loop, an approval) takes only its own.
    let (entries, lines) = match signer.borrow().as_ref() {
        Some(s) => (
            hooks
                .used_nonces
                .map(|_| s.take_used_nonces())
                .unwrap_or_default(),
            hooks
                .audit
                .map(|_| s.take_audit_lines())
                .unwrap_or_default(),
        ),
        None => return answer,
    };
    let mut failure = None;
    if let (Some(hook), false) = (hooks.used_nonces, entries.is_empty()) {
        let array = js_sys::Uint8Array::from(entries.as_slice());
        if let Err(reason) = store(hook, &array).await {
            failure = Some(format!(
                "the MuSig2 nonce this signature used could not be recorded, so the signature is withheld: {reason}"
            ));
        }
    }
    if let (Some(hook), false) = (hooks.audit, lines.is_empty()) {
        let mut text = lines.join("\n");
        text.push('\n');
        if let Err(reason) = store(hook, &wasm_bindgen::JsValue::from_str(&text)).await {
            failure.get_or_insert(format!("audit log: could not be stored: {reason}"));
        }
    }
    let Some(failure) = failure else {
        return answer;
    };
    answer.response = lnd_web_signer::request::signer_error(answer.info.id, failure);
    answer.error = error_text(&answer.response);
    if answer.info.reply.is_some() {
        answer.info.reply = Some(describe_response(&answer.response));
    }
    answer
}

/// Calls a storage hook and waits for its promise, at most
/// [`STORE_USED_NONCES_DEADLINE`].
async fn store(hook: &js_sys::Function, arg: &wasm_bindgen::JsValue) -> Result<(), String> {
    let stored = async {
        let returned = hook
            .call1(&wasm_bindgen::JsValue::NULL, arg)
            .map_err(|e| super::transport::js_error_text(&e))?;
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&returned))
            .await
            .map(|_| ())
            .map_err(|e| super::transport::js_error_text(&e))
    };
    match until(Box::pin(stored), host::now() + STORE_USED_NONCES_DEADLINE).await {
        Some(r) => r,
        None => Err(format!(
            "storing it took longer than {}",
            session::fmt_secs(STORE_USED_NONCES_DEADLINE)
        )),
    }
}

/// Lets other local tasks run (one microtask turn).
async fn yield_now() {
    let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(
        &wasm_bindgen::JsValue::UNDEFINED,
    ))
    .await;
}

struct ReplyInfo {
    kind: RequestKind,
    name: &'static str,
    id: u64,
    received: f64,
    sign_ms: f64,
    request: Option<RequestInfo>,
    reply: Option<ActivityReplyInfo>,
}

fn error_text(resp: &SignCoordinatorResponse) -> Option<String> {
    use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
    match &resp.sign_response_type {
        Some(SignResponseType::SignerError(e)) => Some(e.error.clone()),
        _ => None,
    }
}

/// One answer waiting for, or travelling in, a Reply call.
struct Answer {
    response: SignCoordinatorResponse,
    error: Option<String>,
    info: ReplyInfo,
}

/// Wakes the signer loop when the reply queue has room again.
#[derive(Default)]
struct Wakeup {
    woken: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Wakeup {
    fn wake(&self) {
        self.woken.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Resolves after the next [`Self::wake`] (at once if one came since
    /// the last wait).
    async fn wait(&self) {
        poll_fn(|cx| {
            if self.woken.replace(false) {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await;
    }
}

/// The reply side of one attempt: the queue deciding what leaves when
/// ([`ReplyQueue`]) and the calls open now (for the timeout watchdog).
struct Replies {
    inner: Rc<Inner>,
    client: Client,
    token: Vec<u8>,
    fail: mpsc::UnboundedSender<(ErrorCode, String)>,
    timeout: Duration,
    queue: RefCell<ReplyQueue<Answer>>,
    /// Open calls: (call number, deadline, first request id).
    open: RefCell<Vec<(u64, Duration, u64)>>,
    next_call: Cell<u64>,
    ended: Cell<bool>,
    /// Signalled whenever a call completes (the queue may have room).
    room: Wakeup,
}

impl Replies {
    /// The failure text if an open call is past its deadline.
    fn overdue(&self, now: Duration) -> Option<String> {
        self.open
            .borrow()
            .iter()
            .find(|(_, deadline, _)| now >= *deadline)
            .map(|(_, _, id)| format!("reply to request {id} timed out after {:?}", self.timeout))
    }

    fn close_call(&self, call: u64) {
        self.open.borrow_mut().retain(|(c, _, _)| *c != call);
    }

    fn answered(&self, answer: Answer, acked_ms: f64) {
        answered(&self.inner, answer, acked_ms);
    }
}

/// Reports one answer that left at `acked_ms` (the bridge's ack, or the
/// WebSocket send).
fn answered(inner: &Inner, answer: Answer, acked_ms: f64) {
    let info = answer.info;
    let latency_ms = acked_ms - info.received;
    if info.kind == RequestKind::Ping {
        inner.update(|s| s.pings = s.pings.saturating_add(1));
        inner.emit(Status::Ping {
            id: info.id,
            latency_ms,
        });
    } else {
        inner.update(|s| s.requests = s.requests.saturating_add(1));
        inner.emit(Status::Request {
            request_kind: info.name.to_owned(),
            id: info.id,
            latency_ms,
            sign_ms: info.sign_ms,
            error: answer.error,
            request: info.request,
            reply: info.reply,
        });
    }
}

struct EndAttempt(Rc<Replies>);

impl Drop for EndAttempt {
    fn drop(&mut self) {
        self.0.ended.set(true);
    }
}

/// Whether a refused `ReplyBatch` should be re-sent as single Replies: the
/// bridge does not know the method (an older bridge) or refused the batch
/// as too large for its `--max-reply-bytes`.
fn batch_fallback(code: tonic::Code) -> bool {
    matches!(code, tonic::Code::Unimplemented | tonic::Code::OutOfRange)
}

/// Starts one call carrying `answers` (`Reply` for one, `ReplyBatch` for
/// more); when it completes, reports the answers and starts the next call.
fn start_call(replies: &Rc<Replies>, answers: Vec<Answer>) {
    if replies.ended.get() {
        return;
    }
    let call = replies.next_call.get();
    replies.next_call.set(call.wrapping_add(1));
    let first_id = answers.first().map_or(0, |a| a.info.id);
    replies
        .open
        .borrow_mut()
        .push((call, host::now().saturating_add(replies.timeout), first_id));
    let replies = Rc::clone(replies);
    wasm_bindgen_futures::spawn_local(async move {
        let mut client = replies.client.clone();
        let batch = answers.len() > 1;
        let (responses, rest): (Vec<_>, Vec<_>) = answers
            .into_iter()
            .map(|a| {
                (
                    a.response,
                    Answer {
                        response: SignCoordinatorResponse::default(),
                        error: a.error,
                        info: a.info,
                    },
                )
            })
            .unzip();
        // A batch keeps its answers for a fallback to single Replies.
        let (outcome, kept) = if batch {
            let r = client
                .reply_batch(ReplyBatchRequest {
                    session_token: replies.token.clone(),
                    responses: responses.clone(),
                })
                .await
                .map(|_| ());
            (r, responses)
        } else {
            let r = client
                .reply(ReplyRequest {
                    session_token: replies.token.clone(),
                    response: responses.into_iter().next(),
                })
                .await
                .map(|_| ());
            (r, Vec::new())
        };
        replies.close_call(call);
        match outcome {
            Ok(()) => {
                let acked = host::now_ms();
                for a in rest {
                    replies.answered(a, acked);
                }
            }
            Err(s) if batch && batch_fallback(s.code()) && !replies.ended.get() => {
                // Send them again one by one, first in line.
                let mut q = replies.queue.borrow_mut();
                q.disable_batching();
                let back = kept
                    .into_iter()
                    .zip(rest)
                    .map(|(response, a)| {
                        let len = response.encoded_len();
                        (Answer { response, ..a }, len)
                    })
                    .collect();
                q.requeue_front(back);
            }
            Err(s) => {
                let _ = replies.fail.unbounded_send((
                    ErrorCode::of_status(Phase::Reply, &s),
                    status_text(&format!("reply to request {first_id} failed"), &s),
                ));
                return;
            }
        }
        let next = replies.queue.borrow_mut().done();
        if let Some(out) = next {
            start_call(&replies, out.items);
        }
        replies.room.wake();
    });
}
