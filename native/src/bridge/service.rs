//! The service layer: the `signerbridge.SignerBridge` logic. One lnd stream
//! per Attach call, Replies bound to it by a random session token, and
//! every check and limit on the way (macaroon, per-source and dialing
//! bounds, sessions, the token before a Reply's body is buffered, sizes,
//! the reply queue). Messages from and to lnd stay encoded bytes: built and
//! split by the codec ([`super::raw`]). Nothing here knows HTTP routing,
//! tonic-web or listeners ([`super::server`] calls in here).

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex, MutexGuard,
    },
    time::Duration,
};

use http_body::Body;
use lnd_web_signer::proto::signerbridge::AttachRequest;
use prost::{bytes::Bytes, Message};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{
    client::Grpc,
    codegen::{http::uri::PathAndQuery, StdError},
    metadata::{Ascii, MetadataMap, MetadataValue},
    transport::{Channel, Endpoint},
    Request, Response, Status,
};
use tracing::{debug, info, warn};

use super::{
    config::BridgeConfig,
    limit::{AttachLimiter, SourceKey},
    raw::{
        read_start, request_event, split_batch, split_reply, token_event, BatchError, Prefixed,
        RawCodec, ReplyResponse, Start,
    },
    status,
};
use crate::tls::{find_dial_error, PinnedConnector};

/// Length of a session token in bytes.
pub const TOKEN_LEN: usize = 32;
/// Largest `Reply`/`ReplyBatch` message read before its session token has
/// been checked: a message that does not start with its token (field 1, as
/// every protobuf encoder writes it) may be at most this long. Pings and
/// small answers fit; anything larger must put the token first.
pub const MAX_UNVERIFIED_REPLY_BYTES: usize = 16 * 1024;
/// Largest `AttachRequest` (a `client_info` text) accepted.
pub const MAX_ATTACH_REQUEST_BYTES: usize = 4 * 1024;
/// How long a Reply may take to deliver the bytes up to its token.
pub const TOKEN_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// lnd's signer stream.
const LND_STREAM_PATH: &str = "/watchonlyrpc.WatchOnly/SignCoordinatorStreams";
/// Replies queued towards lnd per session before Reply waits.
const UP_QUEUE: usize = 64;
/// Requests queued towards the signer per session before the bridge stops
/// reading from lnd (HTTP/2 flow control then pushes back on lnd).
const DOWN_QUEUE: usize = 64;
/// Most responses in one `ReplyBatch` (the whole reply queue: a batch is
/// queued all at once).
pub const MAX_BATCH_RESPONSES: usize = UP_QUEUE;
/// How long a Reply may wait for room in a full queue.
const REPLY_QUEUE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the final status may wait for a slow Attach reader.
const FINAL_STATUS_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest `client_info` text written to the log.
const CLIENT_INFO_LOG_MAX: usize = 80;

type Token = [u8; TOKEN_LEN];
type DownSender = mpsc::Sender<Result<Bytes, Status>>;

/// Encoded `AttachEvent`s (or the final status) of one Attach call.
pub type AttachStream = ReceiverStream<Result<Bytes, Status>>;

/// The session token a Reply or ReplyBatch started with, checked against
/// the live sessions before the rest of its body was read (an extension of
/// the request; the handler insists the message carries no other token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedToken(pub Vec<u8>);

/// How a Reply or ReplyBatch goes on once its first bytes were read
/// ([`SignerBridgeService::admit_reply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Admission {
    /// It starts with the token of a live session: read it up to the
    /// method's limit, with this token as an extension of the request.
    Checked(CheckedToken),
    /// It does not start with a token: read at most `max_message` bytes.
    Unverified {
        /// The limit on the message.
        max_message: usize,
    },
}

struct Session {
    id: u64,
    /// Encoded `SignCoordinatorResponse`s for lnd.
    up: mpsc::Sender<Bytes>,
}

struct Inner {
    connector: PinnedConnector,
    config: BridgeConfig,
    /// The parsed `config.client_address_header`.
    client_address_header: Option<http::HeaderName>,
    sessions: Mutex<HashMap<Token, Session>>,
    next_id: AtomicU64,
    slots: Arc<Semaphore>,
    dialing: Arc<Semaphore>,
    limiter: AttachLimiter,
    shutdown: watch::Receiver<bool>,
}

impl Inner {
    fn sessions(&self) -> MutexGuard<'_, HashMap<Token, Session>> {
        // A panic while holding the lock cannot leave the map inconsistent
        // (single inserts/removes), so a poisoned lock is still usable.
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The bridge service. Cheap to clone (shared state).
#[derive(Clone)]
pub struct SignerBridgeService {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for SignerBridgeService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignerBridgeService")
            .field("lnd_rpchost", &self.inner.config.lnd_rpchost)
            .field("sessions", &self.inner.sessions().len())
            .finish_non_exhaustive()
    }
}

/// Validates the caller's `macaroon` metadata: absent (lnd run with
/// `--no-macaroons`) or exactly one hex value, forwarded unchanged.
fn caller_macaroon(metadata: &MetadataMap) -> Result<Option<MetadataValue<Ascii>>, Status> {
    let mut values = metadata.get_all("macaroon").iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Status::unauthenticated(
            "more than one macaroon metadata value; send exactly one",
        ));
    }
    let text = first
        .to_str()
        .map_err(|_| Status::unauthenticated("the macaroon metadata is not hex"))?;
    if text.is_empty() || text.len() % 2 != 0 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Status::unauthenticated("the macaroon metadata is not hex"));
    }
    Ok(Some(first.clone()))
}

fn log_text(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .take(CLIENT_INFO_LOG_MAX)
        .collect()
}

impl SignerBridgeService {
    /// A service dialing lnd with `connector`, within the limits of
    /// `config`; the source address of an Attach is the last entry of
    /// `client_address_header` (`config.client_address_header`, parsed)
    /// when given, else the TCP peer. Sessions end with "signer-bridge is
    /// shutting down" once `shutdown` turns true.
    pub fn new(
        connector: PinnedConnector,
        config: BridgeConfig,
        client_address_header: Option<http::HeaderName>,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        let slots = Arc::new(Semaphore::new(config.max_sessions));
        let dialing = Arc::new(Semaphore::new(config.max_pending_attaches.max(1)));
        let limiter = AttachLimiter::new(config.attach_rate);
        Self {
            inner: Arc::new(Inner {
                connector,
                config,
                client_address_header,
                sessions: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                slots,
                dialing,
                limiter,
                shutdown,
            }),
        }
    }

    /// Number of live sessions (Attach calls with an lnd stream).
    pub fn session_count(&self) -> usize {
        self.inner.sessions().len()
    }

    async fn open_channel(&self) -> Result<Channel, Status> {
        let s = &self.inner.config;
        // The URI only fills in :authority; the connector dials the
        // configured address with pinned TLS itself.
        let endpoint = Endpoint::from_shared(format!("http://{}", s.lnd_rpchost)).map_err(|e| {
            Status::internal(format!("invalid --lnd-rpchost {}: {e}", s.lnd_rpchost))
        })?;
        // Pings only while the signer stream is open, never closer than
        // lnd's `grpc.client-ping-min-wait` by default (crate::keepalive).
        s.lnd_keepalive
            .apply(endpoint)
            .connect_with_connector(self.inner.connector.clone())
            .await
            .map_err(|e| match find_dial_error(&e) {
                Some(d) => status::dial_status(d, &s.lnd_tlscertpath.display().to_string()),
                None => status::connect_status(&s.lnd_rpchost, &e),
            })
    }

    /// `Attach`: `request` holds an encoded `AttachRequest`; the stream yields
    /// encoded `AttachEvent`s (the token first, then lnd's requests exactly
    /// as lnd encoded them) and ends with a status that says why.
    pub async fn attach(self, request: Request<Bytes>) -> Result<Response<AttachStream>, Status> {
        if *self.inner.shutdown.borrow() {
            return Err(status::shutdown_status());
        }
        let macaroon = caller_macaroon(request.metadata())?;
        if macaroon.is_none() && !self.inner.config.allow_no_macaroon {
            return Err(Status::unauthenticated(
                "Attach carries no macaroon metadata; send lnd's signer macaroon \
                 (for an lnd run with --no-macaroons start signer-bridge with --allow-no-macaroon)",
            ));
        }
        let attach = AttachRequest::decode(request.get_ref().clone())
            .map_err(|e| Status::invalid_argument(format!("malformed AttachRequest: {e}")))?;
        if !attach.macaroon.is_empty() {
            return Err(Status::invalid_argument(
                "AttachRequest.macaroon is for the WebSocket channel; an Attach call sends the macaroon as metadata",
            ));
        }
        let source = self.source_of(&request);
        if let Err(wait) = self
            .inner
            .limiter
            .take(SourceKey::of_opt(source), std::time::Instant::now())
        {
            let rate = self.inner.config.attach_rate;
            return Err(Status::resource_exhausted(format!(
                "too many Attach attempts from this address (at most {} at once, then {} per minute); retry in {} s",
                rate.burst,
                rate.per_minute,
                wait.as_secs_f64().ceil().max(1.0)
            )));
        }
        let _dialing = Arc::clone(&self.inner.dialing)
            .try_acquire_owned()
            .map_err(|_| {
                Status::resource_exhausted(format!(
                    "signer-bridge is busy: {} Attach calls are already dialing lnd; retry shortly",
                    self.inner.config.max_pending_attaches.max(1)
                ))
            })?;
        let permit = Arc::clone(&self.inner.slots)
            .try_acquire_owned()
            .map_err(|_| {
                Status::resource_exhausted(format!(
                    "signer-bridge already has {} sessions open",
                    self.inner.config.max_sessions
                ))
            })?;
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        let peer = request
            .remote_addr()
            .map_or_else(|| "unknown".to_string(), |a| a.to_string());
        info!(
            session = id,
            %peer,
            client = %log_text(&attach.client_info),
            "attach: dialing lnd at {}",
            self.inner.config.lnd_rpchost
        );

        let channel = match self.open_channel().await {
            Ok(c) => c,
            Err(s) => {
                warn!(session = id, "attach failed: {}", s.message());
                return Err(s);
            }
        };
        let client = Grpc::new(channel)
            .max_decoding_message_size(self.inner.config.max_request_bytes)
            .max_encoding_message_size(self.inner.config.max_reply_bytes);

        let mut token: Token = [0; TOKEN_LEN];
        getrandom::getrandom(&mut token)
            .map_err(|e| Status::internal(format!("no randomness for the session token: {e}")))?;
        let (up_tx, up_rx) = mpsc::channel(UP_QUEUE);
        let (down_tx, down_rx) = mpsc::channel(DOWN_QUEUE);
        down_tx
            .try_send(Ok(token_event(&token)))
            .map_err(|_| Status::internal("session queue unexpectedly full"))?;
        self.inner
            .sessions()
            .insert(token, Session { id, up: up_tx });

        let guard = SessionGuard {
            inner: Arc::clone(&self.inner),
            token,
            id,
            _permit: permit,
        };
        let lost = LinkLoss {
            addr: self.inner.config.lnd_rpchost.clone(),
        };
        tokio::spawn(relay(guard, client, macaroon, up_rx, down_tx, lost));
        Ok(Response::new(ReceiverStream::new(down_rx)))
    }

    /// The caller's address: the last entry of the configured proxy header
    /// when there is one, else the TCP peer.
    fn source_of(&self, request: &Request<Bytes>) -> Option<std::net::IpAddr> {
        if let Some(name) = &self.inner.client_address_header {
            return request
                .metadata()
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok());
        }
        request.remote_addr().map(|a| a.ip())
    }

    /// Checks that `token` names a live session (before a Reply's body is
    /// read): the same refusal as the Reply itself would get.
    pub fn check_token(&self, token: &[u8]) -> Result<(), Status> {
        self.session_for(token).map(|_| ())
    }

    /// Reply and ReplyBatch, before their handler: the session token is
    /// checked before the body is buffered. Reads the first bytes of `body`
    /// (within [`TOKEN_READ_TIMEOUT`]); a message that starts with its token
    /// (every protobuf encoder puts field 1 first) is admitted up to
    /// `max_message` bytes only if the token belongs to a live session, and
    /// refused at once otherwise; one that does not is admitted only up to
    /// [`MAX_UNVERIFIED_REPLY_BYTES`], and refused at once when it announces
    /// more. Returns the admission and the whole body again.
    pub(crate) async fn admit_reply<B>(
        &self,
        body: B,
        max_message: usize,
    ) -> Result<(Admission, Prefixed<B>), Status>
    where
        B: Body,
        B::Error: Into<StdError>,
    {
        let (start, body) = tokio::time::timeout(TOKEN_READ_TIMEOUT, read_start(body))
            .await
            .map_err(|_| {
                Status::deadline_exceeded(format!(
                    "no session token within {} s of the call's start",
                    TOKEN_READ_TIMEOUT.as_secs()
                ))
            })??;
        let admission = match start {
            Start::Token(token) => {
                // Refused before a byte more is read.
                self.check_token(&token)?;
                Admission::Checked(CheckedToken(token))
            }
            Start::NoToken { len } => {
                let limit = MAX_UNVERIFIED_REPLY_BYTES.min(max_message);
                if let Some(len) = len.filter(|&l| l > limit) {
                    return Err(Status::out_of_range(format!(
                        "a reply of {len} bytes must start with its session token \
                         (field 1): at most {limit} bytes are read before the token is checked"
                    )));
                }
                Admission::Unverified { max_message: limit }
            }
        };
        Ok((admission, body))
    }

    /// The reply queue of the session bound to `token`.
    fn session_for(&self, token: &[u8]) -> Result<(u64, mpsc::Sender<Bytes>), Status> {
        let token: Token = token.try_into().map_err(|_| {
            Status::not_found(format!(
                "unknown or expired session token (a token has {TOKEN_LEN} bytes); attach again"
            ))
        })?;
        self.inner
            .sessions()
            .get(&token)
            .map(|s| (s.id, s.up.clone()))
            .ok_or_else(|| Status::not_found("unknown or expired session token; attach again"))
    }

    fn check_size(&self, len: usize, which: &str) -> Result<(), Status> {
        let max = self.inner.config.max_reply_bytes;
        if len > max {
            // Checked here: sending it would fail inside the lnd stream and
            // end the session.
            return Err(Status::out_of_range(format!(
                "{which} of {len} bytes is over --max-reply-bytes {max}"
            )));
        }
        Ok(())
    }

    /// `Reply`: `request` holds an encoded `ReplyRequest`; the bytes of its
    /// `response` are queued for lnd unchanged. Answers an empty `ReplyAck`.
    pub async fn reply(self, request: Request<Bytes>) -> Result<Response<Bytes>, Status> {
        let body = request.get_ref();
        let parts = split_reply(body)
            .map_err(|e| Status::invalid_argument(format!("malformed ReplyRequest: {e}")))?;
        same_as_checked(&request, parts.token)?;
        self.check_token(parts.token)?;
        let response = parts
            .response
            .ok_or_else(|| Status::invalid_argument("reply carries no SignCoordinatorResponse"))?;
        let response = match response {
            // Zero-copy: a view into the request's buffer.
            ReplyResponse::Slice(s) => body.slice_ref(s),
            ReplyResponse::Merged(v) => Bytes::from(v),
        };
        self.queue_reply(parts.token, response).await?;
        // ReplyAck has no fields: its encoding is empty.
        Ok(Response::new(Bytes::new()))
    }

    /// Queues one encoded `SignCoordinatorResponse` for lnd on the session
    /// bound to `token` (a Reply's, or a message of the WebSocket channel).
    pub(crate) async fn queue_reply(&self, token: &[u8], response: Bytes) -> Result<(), Status> {
        let (id, up) = self.session_for(token)?;
        self.check_size(response.len(), "response")?;
        match tokio::time::timeout(REPLY_QUEUE_TIMEOUT, up.send(response)).await {
            Ok(Ok(())) => {
                debug!(session = id, "reply queued");
                Ok(())
            }
            Ok(Err(_)) => Err(session_ended()),
            Err(_) => Err(queue_full()),
        }
    }

    /// `ReplyBatch`: `request` holds an encoded `ReplyBatchRequest`; the
    /// bytes of each of its `responses` are queued for lnd unchanged and in
    /// order. All of them or none: the batch is checked whole (token, count
    /// 1..=[`MAX_BATCH_RESPONSES`], every response within
    /// `max_reply_bytes`) and queued only once the queue has room for all.
    pub async fn reply_batch(self, request: Request<Bytes>) -> Result<Response<Bytes>, Status> {
        let body = request.get_ref();
        let parts = split_batch(body, MAX_BATCH_RESPONSES).map_err(|e| match e {
            BatchError::TooMany(_) => Status::out_of_range(format!(
                "{e}; send at most {MAX_BATCH_RESPONSES} per ReplyBatch"
            )),
            BatchError::Wire(e) => {
                Status::invalid_argument(format!("malformed ReplyBatchRequest: {e}"))
            }
        })?;
        same_as_checked(&request, parts.token)?;
        let (id, up) = self.session_for(parts.token)?;
        if parts.responses.is_empty() {
            return Err(Status::invalid_argument(
                "batch carries no SignCoordinatorResponse",
            ));
        }
        for (i, r) in parts.responses.iter().enumerate() {
            self.check_size(r.len(), &format!("response {i} of the batch"))?;
        }
        let n = parts.responses.len();
        let permits = match tokio::time::timeout(REPLY_QUEUE_TIMEOUT, up.reserve_many(n)).await {
            Ok(Ok(permits)) => permits,
            Ok(Err(_)) => return Err(session_ended()),
            Err(_) => return Err(queue_full()),
        };
        for (permit, r) in permits.zip(&parts.responses) {
            // Zero-copy: a view into the request's buffer.
            permit.send(body.slice_ref(r));
        }
        debug!(session = id, count = n, "reply batch queued");
        Ok(Response::new(Bytes::new()))
    }
}

/// A message that started with a checked token must not name another
/// session further on (protobuf's "last occurrence wins").
fn same_as_checked(request: &Request<Bytes>, token: &[u8]) -> Result<(), Status> {
    match request.extensions().get::<CheckedToken>() {
        Some(CheckedToken(checked)) if checked.as_slice() != token => Err(
            Status::invalid_argument("the session token appears twice with different values"),
        ),
        _ => Ok(()),
    }
}

fn session_ended() -> Status {
    Status::not_found("the session has ended (its lnd stream is closed); attach again")
}

fn queue_full() -> Status {
    Status::resource_exhausted(format!(
        "lnd is not taking replies: queue full for {} s",
        REPLY_QUEUE_TIMEOUT.as_secs()
    ))
}

/// Removes the session (its token stops working, its reply queue closes)
/// and frees its slot when the relay ends, however it ends.
struct SessionGuard {
    inner: Arc<Inner>,
    token: Token,
    id: u64,
    _permit: OwnedSemaphorePermit,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        self.inner.sessions().remove(&self.token);
    }
}

enum Outcome {
    /// The Attach caller went away: nothing left to tell it.
    Detached,
    /// End the Attach stream with this status.
    End(Status),
}

/// Tells a broken connection to lnd (closed by the keepalive after an
/// unanswered ping, reset, closed without a status) from lnd ending the
/// stream: a status made locally from a transport error has a source, one
/// sent by lnd has none.
struct LinkLoss {
    addr: String,
}

impl LinkLoss {
    /// `lnd`'s failure, `silent` after its last message, as the Attach
    /// caller should see it.
    fn status(
        &self,
        lnd: &Status,
        silent: Duration,
        otherwise: impl FnOnce(&Status) -> Status,
    ) -> Status {
        let Some(source) = std::error::Error::source(lnd) else {
            return otherwise(lnd);
        };
        let mut cause = source;
        while let Some(next) = cause.source() {
            cause = next;
        }
        status::connection_lost_status(&self.addr, silent, &cause.to_string())
    }
}

async fn relay(
    guard: SessionGuard,
    client: Grpc<Channel>,
    macaroon: Option<MetadataValue<Ascii>>,
    up_rx: mpsc::Receiver<Bytes>,
    down_tx: DownSender,
    lost: LinkLoss,
) {
    let id = guard.id;
    let mut shutdown = guard.inner.shutdown.clone();
    let outcome = tokio::select! {
        biased;
        () = down_tx.closed() => Outcome::Detached,
        () = wait_shutdown(&mut shutdown) => Outcome::End(status::shutdown_status()),
        s = pump(id, client, macaroon, up_rx, &down_tx, &lost) => Outcome::End(s),
    };
    // Leaving the select dropped the lnd call and its connection: lnd sees
    // the stream and the TCP/TLS connection close now. Invalidate the token.
    drop(guard);
    match outcome {
        Outcome::Detached => info!(session = id, "signer detached; lnd stream closed"),
        Outcome::End(s) => {
            info!(session = id, code = ?s.code(), "session ended: {}", s.message());
            let _ = tokio::time::timeout(FINAL_STATUS_TIMEOUT, down_tx.send(Err(s))).await;
        }
    }
}

async fn wait_shutdown(rx: &mut watch::Receiver<bool>) {
    // An error means the sender is gone: treat it as "never shutting down".
    if rx.wait_for(|stop| *stop).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Runs the lnd stream; returns the status that ends the Attach stream.
async fn pump(
    id: u64,
    mut client: Grpc<Channel>,
    macaroon: Option<MetadataValue<Ascii>>,
    up_rx: mpsc::Receiver<Bytes>,
    down_tx: &DownSender,
    lost: &LinkLoss,
) -> Status {
    let mut request = Request::new(ReceiverStream::new(up_rx));
    if let Some(m) = macaroon {
        request.metadata_mut().insert("macaroon", m);
    }
    if let Err(e) = client.ready().await {
        return Status::unavailable(format!("connection to lnd lost: {e}"));
    }
    // lnd answers the stream's headers only after the signer's registration
    // (sent with Reply) or with an immediate refusal.
    let path = PathAndQuery::from_static(LND_STREAM_PATH);
    let opening = Instant::now();
    let mut inbound = match client.streaming(request, path, RawCodec).await {
        Ok(r) => r.into_inner(),
        Err(s) => return lost.status(&s, opening.elapsed(), status::open_status),
    };
    debug!(session = id, "lnd accepted the signer stream");
    let mut relayed: u64 = 0;
    let mut last_message = Instant::now();
    loop {
        match inbound.message().await {
            Ok(Some(raw)) => {
                relayed += 1;
                last_message = Instant::now();
                if down_tx.send(Ok(request_event(&raw))).await.is_err() {
                    return Status::cancelled("the signer detached");
                }
            }
            Ok(None) => {
                debug!(session = id, relayed, "lnd closed the stream");
                return status::closed_status();
            }
            Err(s) => {
                debug!(session = id, relayed, "lnd stream failed");
                return lost.status(&s, last_message.elapsed(), status::ended_status);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata_with(values: &[&str]) -> MetadataMap {
        let mut m = MetadataMap::new();
        for v in values {
            m.append(
                "macaroon",
                MetadataValue::try_from(*v).expect("ascii metadata"),
            );
        }
        m
    }

    #[test]
    fn macaroon_metadata_rules() {
        assert!(caller_macaroon(&metadata_with(&[]))
            .expect("absent is fine")
            .is_none());
        let ok = caller_macaroon(&metadata_with(&["0201abcd"]))
            .expect("hex accepted")
            .expect("present");
        assert_eq!(ok.to_str().expect("ascii"), "0201abcd");
        for bad in [&["xyz0"][..], &["abc"], &[""], &["0201", "0201"]] {
            let e = caller_macaroon(&metadata_with(bad)).expect_err("rejected");
            assert_eq!(e.code(), tonic::Code::Unauthenticated, "{bad:?}");
        }
    }

    #[test]
    fn client_info_is_cleaned_for_the_log() {
        assert_eq!(log_text("tab\n\x1b[31mred"), "tab[31mred");
        assert_eq!(log_text(&"x".repeat(500)).len(), CLIENT_INFO_LOG_MAX);
    }
}
