//! The watch-only side of `SignCoordinatorStreams`, following protocol.md §1
//! and §3 (lnd's `lnwallet/rpcwallet/sign_coordinator.go`):
//!
//! * one signer stream at a time; a second one gets "only one remote signer
//!   can be connected" while the first stays up;
//! * handshake: the first message within the request timeout, with
//!   `ref_request_id == 1`, member `signer_registration` and non-empty
//!   `registration_info`; reply `request_id 1 / registration_complete`;
//! * response headers only together with that reply, as grpc-go sends them
//!   for lnd (whose handler `Recv`s the registration before its first
//!   `Send`): a signer that waits for headers before registering gets
//!   nothing until the handshake window ends; a failed handshake, the
//!   macaroon check and the one-signer rule answer trailers-only;
//! * request ids from one process-wide counter (first request = 2), never
//!   reset across reconnects; several requests in flight; responses matched
//!   by `ref_request_id`, unknown or late ones dropped;
//! * every request has a deadline that starts before waiting for a signer;
//!   `Ping`, `SignMessage` and `SignPsbt` are re-sent with a new id after a
//!   disconnect, all other kinds fail with "the remote signer is no longer
//!   connected".

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::Stream;
use lnd_web_signer::proto::watchonlyrpc::{
    registration_response::RegistrationResponseType,
    sign_coordinator_request::SignRequestType as Req,
    sign_coordinator_response::SignResponseType as Resp, RegistrationComplete,
    RegistrationResponse, SignCoordinatorRequest, SignCoordinatorResponse,
};
use lnd_web_signer::request::{response_field, response_member_name, RequestKind};
use lnd_web_signer::session::HANDSHAKE_REQUEST_ID as HANDSHAKE_ID;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::report::Output;
use crate::rpc::watchonlyrpc::watch_only_server::WatchOnly;

/// lnd's error for a second concurrent signer stream.
pub const ERR_MULTIPLE_CONNECTIONS: &str =
    lnd_web_signer::proto::signerbridge::LND_ONE_SIGNER_MESSAGE;

/// lnd's error for requests in flight when the stream ends.
pub const ERR_NOT_CONNECTED: &str = "the remote signer is no longer connected";

/// Go's `%T` of a response member, as lnd prints it in handshake errors:
/// the oneof wrapper type protoc-gen-go names after the field.
fn go_type_name(resp: &Option<Resp>) -> String {
    match resp {
        None => "<nil>".to_owned(),
        Some(member) => format!(
            "*watchonlyrpc.SignCoordinatorResponse_{}",
            go_camel_case(response_field(member))
        ),
    }
}

/// protoc-gen-go's `GoCamelCase` for a snake_case field name: every
/// lower-case letter that starts a word (at the start, after `_`, after a
/// digit) is upper-cased, `_` before a lower-case letter is dropped.
fn go_camel_case(field: &str) -> String {
    let b = field.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'_' && b.get(i + 1).is_some_and(u8::is_ascii_lowercase) {
            // Skip over '_' in "_{lowercase}".
        } else if c.is_ascii_digit() {
            out.push(char::from(c));
        } else {
            out.push(char::from(c.to_ascii_uppercase()));
            while b.get(i + 1).is_some_and(u8::is_ascii_lowercase) {
                i += 1;
                out.push(char::from(b[i]));
            }
        }
        i += 1;
    }
    out
}

/// Why a request produced no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The signer answered request `.0` with `signer_error` (text verbatim).
    #[error("request {0}: signer error: {1}")]
    Signer(u64, String),
    /// The signer answered request `.0` with another member (or `pong=false`).
    #[error("request {0}: unexpected response type (got {1})")]
    Unexpected(u64, &'static str),
    /// No signer (re)connected within the connection (startup) timeout, which
    /// was shorter than the request's deadline. Not a shutdown condition.
    #[error("timed out when waiting for remote signer to connect")]
    ConnectTimeout,
    /// The stream ended while a non-retryable request was in flight.
    #[error("the remote signer is no longer connected")]
    NotConnected,
    /// No answer within the deadline. For anything but a ping, lnd shuts
    /// itself down.
    #[error("{}", deadline_text(*.id, *.kind, *.timeout))]
    Deadline {
        /// Id of the last attempt (None: no signer connected in time).
        id: Option<u64>,
        /// Request kind.
        kind: RequestKind,
        /// The deadline.
        timeout: Duration,
    },
}

fn deadline_text(id: Option<u64>, kind: RequestKind, timeout: Duration) -> String {
    let kind = kind.display_name();
    match id {
        Some(id) => format!(
            "request {id} ({kind}) missed its {} deadline",
            fmt_duration(timeout)
        ),
        None => format!(
            "request ({kind}) found no connected signer within its {} deadline",
            fmt_duration(timeout)
        ),
    }
}

/// `5s`, `1.5s`, `250ms`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else if ms > 1000 {
        format!("{}s", d.as_secs_f64())
    } else {
        format!("{ms}ms")
    }
}

/// Settings of the coordinator.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    /// `remotesigner.experimentalrequesttimeout`: per-request deadline and
    /// handshake window.
    pub request_timeout: Duration,
    /// Lower-case hex the `macaroon` metadata must equal (None: no check,
    /// like `--no-macaroons`).
    pub macaroon_hex: Option<String>,
    /// `remotesigner.experimentalstartuptimeout`: also caps how long one
    /// request waits for a (re)connected signer (None: unlimited).
    pub connect_timeout: Option<Duration>,
}

/// One accepted signer stream.
#[derive(Debug)]
pub struct Conn {
    /// Connection number (1, 2, …).
    pub number: u64,
    tx: Mutex<Option<mpsc::Sender<Result<SignCoordinatorRequest, Status>>>>,
    closed: watch::Sender<bool>,
}

impl Conn {
    async fn send(&self, msg: Result<SignCoordinatorRequest, Status>) -> Result<(), ()> {
        let tx = match self.tx.lock() {
            Ok(g) => g.clone(),
            Err(_) => None,
        };
        match tx {
            Some(tx) => tx.send(msg).await.map_err(|_| ()),
            None => Err(()),
        }
    }

    /// Queues a final status without waiting (the client may not read).
    fn end_with(&self, status: Status) {
        let tx = match self.tx.lock() {
            Ok(g) => g.clone(),
            Err(_) => None,
        };
        if let Some(tx) = tx {
            let _ = tx.try_send(Err(status));
        }
    }

    fn close(&self) {
        if let Ok(mut g) = self.tx.lock() {
            g.take();
        }
        self.closed.send_replace(true);
    }

    fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    async fn wait_closed(&self) {
        let mut rx = self.closed.subscribe();
        let _ = rx.wait_for(|c| *c).await;
    }
}

#[derive(Debug, Default)]
struct ConnState {
    connected: bool,
    count: u64,
}

/// Counters shown in the final statistics.
#[derive(Debug, Default)]
pub struct Stats {
    /// Streams that completed the handshake.
    pub handshakes: AtomicU64,
    /// Streams refused (macaroon, second signer) or failed in the handshake.
    pub refused: AtomicU64,
    /// Requests sent (incl. re-sends and pings).
    pub sent: AtomicU64,
    /// Re-sends after a disconnect.
    pub resent: AtomicU64,
    /// Pings answered with pong.
    pub pongs: AtomicU64,
    /// Responses dropped (unknown/late/duplicate id).
    pub dropped: AtomicU64,
}

/// The watch-only node's sign coordinator.
pub struct Coordinator {
    cfg: CoordinatorConfig,
    next_id: AtomicU64,
    state: Mutex<ConnState>,
    ready: watch::Sender<Option<Arc<Conn>>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<SignCoordinatorResponse>>>,
    fatal: watch::Sender<Option<String>>,
    out: Arc<Output>,
    /// Counters.
    pub stats: Stats,
}

impl fmt::Debug for Coordinator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Coordinator")
            .field("request_timeout", &self.cfg.request_timeout)
            .field("next_id", &self.next_id)
            .finish()
    }
}

struct PendingGuard<'a> {
    coord: &'a Coordinator,
    id: u64,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut p) = self.coord.pending.lock() {
            p.remove(&self.id);
        }
    }
}

impl Coordinator {
    /// New coordinator; the id counter starts at 1 (the handshake id).
    pub fn new(cfg: CoordinatorConfig, out: Arc<Output>) -> Arc<Self> {
        let (ready, _) = watch::channel(None);
        let (fatal, _) = watch::channel(None);
        Arc::new(Coordinator {
            cfg,
            next_id: AtomicU64::new(HANDSHAKE_ID),
            state: Mutex::new(ConnState::default()),
            ready,
            pending: Mutex::new(HashMap::new()),
            fatal,
            out,
            stats: Stats::default(),
        })
    }

    /// The per-request deadline.
    pub fn request_timeout(&self) -> Duration {
        self.cfg.request_timeout
    }

    /// Output sinks.
    pub fn out(&self) -> &Output {
        &self.out
    }

    /// Records a condition under which lnd would shut itself down. The first
    /// one wins; the runner exits on it.
    pub fn set_fatal(&self, msg: String) {
        self.fatal.send_if_modified(|f| {
            if f.is_none() {
                *f = Some(msg);
                true
            } else {
                false
            }
        });
    }

    /// Subscribes to the fatal condition.
    pub fn fatal_watch(&self) -> watch::Receiver<Option<String>> {
        self.fatal.subscribe()
    }

    /// The last request id handed out.
    pub fn last_id(&self) -> u64 {
        self.next_id.load(Ordering::SeqCst)
    }

    /// Whether a signer has completed the handshake and is connected.
    pub fn is_ready(&self) -> bool {
        self.ready.borrow().as_ref().is_some_and(|c| !c.is_closed())
    }

    /// Waits until a signer is connected (handshake done).
    pub async fn wait_ready(&self) -> Arc<Conn> {
        let mut rx = self.ready.subscribe();
        loop {
            if let Some(c) = rx.borrow_and_update().clone() {
                if !c.is_closed() {
                    return c;
                }
            }
            if rx.changed().await.is_err() {
                // The sender lives in self; this cannot happen while self
                // is alive. Park forever rather than spin.
                std::future::pending::<()>().await;
            }
        }
    }

    /// Sends one request the way lnd's `processRequest` does and waits for
    /// its answer: deadline `timeout` (starting now, i.e. before waiting for
    /// a signer), re-send with a new id after a disconnect for retryable
    /// kinds.
    /// Returns the id of the answered attempt with the answer.
    pub async fn request(
        &self,
        payload: Req,
        timeout: Duration,
    ) -> Result<(u64, Resp), RequestError> {
        let kind = RequestKind::of_member(&payload);
        let deadline = Instant::now() + timeout;
        let mut last_id = None;
        let mut attempt = 0u32;
        loop {
            // lnd's WaitUntilConnected: bounded by the request's deadline and
            // by the connection (startup) timeout, whichever ends first.
            let connect_limit = async {
                match self.cfg.connect_timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending::<()>().await,
                }
            };
            let conn = tokio::select! {
                biased;
                c = self.wait_ready() => c,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(RequestError::Deadline { id: last_id, kind, timeout });
                }
                _ = connect_limit => return Err(RequestError::ConnectTimeout),
            };
            if conn.is_closed() {
                if kind.retryable() {
                    continue;
                }
                return Err(RequestError::NotConnected);
            }
            let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
            last_id = Some(id);
            let (otx, orx) = oneshot::channel();
            if let Ok(mut p) = self.pending.lock() {
                p.insert(id, otx);
            }
            let _guard = PendingGuard { coord: self, id };
            attempt += 1;
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
            if attempt > 1 {
                self.stats.resent.fetch_add(1, Ordering::Relaxed);
                self.out.log(&format!(
                    "re-sending {} as request {id} after the signer reconnected",
                    kind.display_name()
                ));
            }
            let msg = SignCoordinatorRequest {
                request_id: id,
                sign_request_type: Some(payload.clone()),
            };
            let sent = tokio::select! {
                r = conn.send(Ok(msg)) => r,
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(RequestError::Deadline { id: last_id, kind, timeout });
                }
            };
            if sent.is_err() {
                if kind.retryable() {
                    continue;
                }
                return Err(RequestError::NotConnected);
            }
            tokio::select! {
                r = orx => {
                    let Ok(resp) = r else {
                        return Err(RequestError::NotConnected);
                    };
                    return classify(id, kind, resp).map(|r| (id, r));
                }
                _ = conn.wait_closed() => {
                    if kind.retryable() {
                        continue;
                    }
                    return Err(RequestError::NotConnected);
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(RequestError::Deadline { id: last_id, kind, timeout });
                }
            }
        }
    }

    fn deliver(&self, resp: SignCoordinatorResponse) {
        let id = resp.ref_request_id;
        let waiter = match self.pending.lock() {
            Ok(mut p) => p.remove(&id),
            Err(_) => None,
        };
        match waiter {
            Some(tx) => {
                if tx.send(resp).is_err() {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            None => {
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                self.out.log(&format!(
                    "dropping a response for unknown, answered or timed-out request {id}"
                ));
            }
        }
    }

    fn check_macaroon<T>(&self, req: &Request<T>) -> Result<(), Status> {
        let Some(expected) = &self.cfg.macaroon_hex else {
            return Ok(());
        };
        let values: Vec<_> = req.metadata().get_all("macaroon").iter().collect();
        if values.len() != 1 {
            return Err(Status::unknown(format!(
                "expected 1 macaroon, got {}",
                values.len()
            )));
        }
        let given = values[0].to_str().unwrap_or("");
        if given != expected {
            return Err(Status::unknown(
                "verification failed: signature mismatch after caveat verification",
            ));
        }
        Ok(())
    }

    /// Serves one stream: the handshake, whose outcome goes to `opened`
    /// (the handler answers the call's headers only then), then the
    /// responses until the stream ends.
    async fn run_stream(
        self: Arc<Self>,
        mut inbound: Streaming<SignCoordinatorResponse>,
        conn: Arc<Conn>,
        opened: oneshot::Sender<Result<(), Status>>,
    ) {
        let handshake = self.handshake(&mut inbound, &conn).await;
        // The handler waits for this before it lets tonic send headers; if
        // it is gone (the signer cancelled the call), so is the stream.
        let _ = opened.send(handshake.clone());
        match handshake {
            Ok(()) => {
                self.stats.handshakes.fetch_add(1, Ordering::Relaxed);
                self.out.log(&format!(
                    "signer connected and ready (connection {})",
                    conn.number
                ));
                self.ready.send_replace(Some(conn.clone()));
                let end = loop {
                    match inbound.message().await {
                        Ok(Some(resp)) => self.deliver(resp),
                        Ok(None) => break Status::unknown("EOF"),
                        Err(status) => break status,
                    }
                };
                self.out.log(&format!(
                    "signer stream {} ended: {}",
                    conn.number,
                    status_text(&end)
                ));
                // Like lnd's Run: clear readiness, signal the disconnect,
                // then allow a new stream.
                self.ready.send_if_modified(|r| {
                    if r.as_ref().is_some_and(|c| c.number == conn.number) {
                        *r = None;
                        true
                    } else {
                        false
                    }
                });
                conn.end_with(end);
            }
            Err(status) => {
                // The status went to the handler, which returns it as the
                // call's only answer (trailers-only, like grpc-go).
                self.stats.refused.fetch_add(1, Ordering::Relaxed);
                self.out.log(&format!(
                    "signer stream {} failed the handshake: {}",
                    conn.number,
                    status_text(&status)
                ));
            }
        }
        conn.close();
        if let Ok(mut st) = self.state.lock() {
            st.connected = false;
        }
    }

    async fn handshake(
        &self,
        inbound: &mut Streaming<SignCoordinatorResponse>,
        conn: &Conn,
    ) -> Result<(), Status> {
        let window = self.cfg.request_timeout;
        let deadline = Instant::now() + window;
        let prefix = "error receiving initial remote signer registration message";
        let first = match tokio::time::timeout_at(deadline, inbound.message()).await {
            Err(_) => {
                return Err(Status::deadline_exceeded("context deadline exceeded"));
            }
            Ok(Err(status)) => {
                return Err(Status::unknown(format!(
                    "{prefix}: {}",
                    status_text(&status)
                )))
            }
            Ok(Ok(None)) => return Err(Status::unknown(format!("{prefix}: EOF"))),
            Ok(Ok(Some(m))) => m,
        };
        if first.ref_request_id != HANDSHAKE_ID {
            return Err(Status::unknown(format!(
                "{prefix}: initial request ID must be {HANDSHAKE_ID}, but is: {}",
                first.ref_request_id
            )));
        }
        let reg = match &first.sign_response_type {
            Some(Resp::SignerRegistration(r)) => r,
            other => {
                return Err(Status::unknown(format!(
                    "{prefix}: expected registration message, but got: {}",
                    go_type_name(other)
                )))
            }
        };
        if reg.registration_info.is_empty() {
            return Err(Status::unknown("invalid remote signer registration info"));
        }
        let reply = SignCoordinatorRequest {
            request_id: HANDSHAKE_ID,
            sign_request_type: Some(Req::RegistrationResponse(RegistrationResponse {
                registration_response_type: Some(RegistrationResponseType::RegistrationComplete(
                    RegistrationComplete {
                        signature: String::new(),
                        registration_info: "watch-only registration info".into(),
                    },
                )),
            })),
        };
        match tokio::time::timeout_at(deadline, conn.send(Ok(reply))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(())) => Err(Status::unknown(
                "error sending registration complete  message to remote signer: stream closed",
            )),
            Err(_) => Err(Status::deadline_exceeded("context deadline exceeded")),
        }
    }
}

fn classify(
    id: u64,
    kind: RequestKind,
    resp: SignCoordinatorResponse,
) -> Result<Resp, RequestError> {
    let member = response_member_name(&resp);
    match resp.sign_response_type {
        Some(Resp::SignerError(e)) => Err(RequestError::Signer(id, e.error)),
        Some(r) if kind.is_answered_by(&r) => Ok(r),
        _ => Err(RequestError::Unexpected(id, member)),
    }
}

fn status_text(s: &Status) -> String {
    if s.message().is_empty() {
        format!("{:?}", s.code())
    } else {
        format!("{:?}: {}", s.code(), s.message())
    }
}

/// The tonic service wrapping the coordinator.
#[derive(Debug, Clone)]
pub struct WatchOnlyService {
    coord: Arc<Coordinator>,
}

impl WatchOnlyService {
    /// Serves `coord`.
    pub fn new(coord: Arc<Coordinator>) -> Self {
        WatchOnlyService { coord }
    }
}

type RequestStream = Pin<Box<dyn Stream<Item = Result<SignCoordinatorRequest, Status>> + Send>>;

#[tonic::async_trait]
impl WatchOnly for WatchOnlyService {
    type SignCoordinatorStreamsStream = RequestStream;

    async fn sign_coordinator_streams(
        &self,
        request: Request<Streaming<SignCoordinatorResponse>>,
    ) -> Result<Response<Self::SignCoordinatorStreamsStream>, Status> {
        let coord = self.coord.clone();
        if let Err(status) = coord.check_macaroon(&request) {
            coord.stats.refused.fetch_add(1, Ordering::Relaxed);
            coord
                .out
                .log(&format!("refused a signer stream: {}", status.message()));
            return Err(status);
        }
        let number = {
            let mut st = match coord.state.lock() {
                Ok(s) => s,
                Err(p) => p.into_inner(),
            };
            if st.connected {
                drop(st);
                coord.stats.refused.fetch_add(1, Ordering::Relaxed);
                coord
                    .out
                    .log("refused a second signer stream while one is connected");
                return Err(Status::unknown(ERR_MULTIPLE_CONNECTIONS));
            }
            st.connected = true;
            st.count += 1;
            st.count
        };
        let (tx, rx) = mpsc::channel(256);
        let (closed, _) = watch::channel(false);
        let conn = Arc::new(Conn {
            number,
            tx: Mutex::new(Some(tx)),
            closed,
        });
        coord.out.log(&format!("signer stream {number} opened"));
        let inbound = request.into_inner();
        let (opened_tx, opened_rx) = oneshot::channel();
        tokio::spawn(coord.clone().run_stream(inbound, conn, opened_tx));
        // Like lnd behind grpc-go: no response headers until the handshake
        // is done. Returning the response lets tonic send them; the
        // registration reply is already first in the stream, so headers and
        // reply leave together. A failed handshake is the call's status.
        match opened_rx.await {
            Ok(Ok(())) => Ok(Response::new(Box::pin(ReceiverStream::new(rx)))),
            Ok(Err(status)) => Err(status),
            Err(_) => Err(Status::internal(
                "the signer stream ended during the handshake",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_matches_lnd() {
        use RequestKind as K;
        let retried: Vec<_> = RequestKind::ALL
            .into_iter()
            .filter(|k| k.retryable())
            .collect();
        assert_eq!(retried, [K::Ping, K::SignMessage, K::SignPsbt]);
    }

    #[test]
    fn go_type_names_are_protoc_gen_go_s() {
        use lnd_web_signer::proto::signrpc::MuSig2RegisterCombinedNonceResponse;
        use lnd_web_signer::proto::watchonlyrpc::SignerRegistration;
        assert_eq!(go_type_name(&None), "<nil>");
        assert_eq!(
            go_type_name(&Some(Resp::SignerRegistration(
                SignerRegistration::default()
            ))),
            "*watchonlyrpc.SignCoordinatorResponse_SignerRegistration"
        );
        assert_eq!(
            go_type_name(&Some(Resp::MuSig2CombNoncesResp(
                MuSig2RegisterCombinedNonceResponse::default()
            ))),
            "*watchonlyrpc.SignCoordinatorResponse_MuSig2CombNoncesResp"
        );
        assert_eq!(
            go_camel_case("mu_sig2_session_response"),
            "MuSig2SessionResponse"
        );
        assert_eq!(go_camel_case("pong"), "Pong");
    }

    #[test]
    fn pong_false_is_unexpected() {
        let r = SignCoordinatorResponse {
            ref_request_id: 2,
            sign_response_type: Some(Resp::Pong(false)),
        };
        assert_eq!(
            classify(2, RequestKind::Ping, r),
            Err(RequestError::Unexpected(2, "pong=false"))
        );
        let ok = SignCoordinatorResponse {
            ref_request_id: 2,
            sign_response_type: Some(Resp::Pong(true)),
        };
        assert_eq!(classify(2, RequestKind::Ping, ok), Ok(Resp::Pong(true)));
    }

    #[test]
    fn durations_format() {
        assert_eq!(fmt_duration(Duration::from_secs(5)), "5s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
    }
}
