//! One stream attempt: dial, open `SignCoordinatorStreams`, handshake, serve
//! requests concurrently until the stream ends or shutdown is requested.

use std::{sync::Arc, time::Duration};

use futures_util::StreamExt;
use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorResponse;
use lnd_web_signer::request::Work;
use lnd_web_signer::session::{self, Event, RequestKind, Session};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_stream::wrappers::UnboundedReceiverStream;
use tonic::metadata::MetadataValue;
use tonic::transport::Endpoint;

use super::{ConnectConfig, ConnectError, Handler, MAX_MESSAGE_SIZE};
use crate::rpc::watchonlyrpc::watch_only_client::WatchOnlyClient;
use crate::tls::PinnedConnector;

/// How long to wait for the node to end the stream after we closed our side
/// on shutdown.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// The host clock handed to the sans-IO session: time since a fixed epoch.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Self {
        Self {
            epoch: Instant::now(),
        }
    }

    /// Time since the epoch.
    pub fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// The instant `since_epoch` after the epoch.
    pub fn at(&self, since_epoch: Duration) -> Instant {
        self.epoch + since_epoch
    }
}

/// How a stream attempt ended.
#[derive(Debug)]
pub enum StreamEnd {
    /// Shutdown was requested; the stream was closed by us.
    Shutdown,
    /// The node ended the stream without an error status.
    Closed,
    /// Dialing, the handshake or the stream failed.
    Failed(ConnectError),
}

/// Result of one stream attempt.
#[derive(Debug)]
pub struct Attempt {
    /// Whether the handshake had completed (the backoff is reset then).
    pub registered: bool,
    /// How it ended.
    pub end: StreamEnd,
}

/// Runs one stream attempt. `stop` turning `true` ends it with
/// [`StreamEnd::Shutdown`].
pub async fn run_stream(
    config: &ConnectConfig,
    connector: &PinnedConnector,
    handler: &Handler,
    clock: &Clock,
    stop: watch::Receiver<bool>,
) -> Attempt {
    let mut registered = false;
    let end = serve(config, connector, handler, clock, stop, &mut registered).await;
    Attempt { registered, end }
}

/// Resolves once shutdown is requested (never, if the sender is gone without
/// requesting it).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    if stop.wait_for(|s| *s).await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// The session's timeout error for `now`: the handshake deadline or the
/// idle watchdog's has passed.
fn timed_out(session: &mut Session, now: Duration) -> StreamEnd {
    let deadline = session.poll_timeout().unwrap_or(now);
    match session.on_timeout(now.max(deadline)) {
        Err(e) => StreamEnd::Failed(e.into()),
        // Not reachable: a pending deadline at or before `now` always fails.
        Ok(()) => StreamEnd::Failed(ConnectError::Transport {
            addr: String::new(),
            detail: "session timer fired without a pending deadline".into(),
        }),
    }
}

async fn serve(
    config: &ConnectConfig,
    connector: &PinnedConnector,
    handler: &Handler,
    clock: &Clock,
    mut stop: watch::Receiver<bool>,
    registered: &mut bool,
) -> StreamEnd {
    let addr = config.rpchost.as_str();
    let mut session = match Session::new(config.session.clone()) {
        Ok(s) => s,
        Err(e) => return StreamEnd::Failed(e.into()),
    };
    let endpoint = match Endpoint::from_shared(format!("http://{addr}")) {
        Ok(e) => e,
        Err(e) => return StreamEnd::Failed(ConnectError::from_transport(addr, e)),
    };
    // HTTP/2 keepalive pings (30 s, 20 s timeout by default), only while the
    // stream is open: lnd's grpc-go server closes the connection with
    // GOAWAY `too_many_pings` for pings closer than
    // `grpc.client-ping-min-wait` (5 s) and, by default, for any ping
    // without an open stream (see `crate::keepalive`). An unanswered ping
    // closes the connection, which fails the stream below. The URI scheme
    // is `http` because the connector brings its own pinned TLS.
    let endpoint = config.keepalive.apply(endpoint);
    tracing::info!(rpchost = %addr, "connecting to the watch-only node");
    let channel = tokio::select! {
        biased;
        _ = stopped(&mut stop) => return StreamEnd::Shutdown,
        c = endpoint.connect_with_connector(connector.clone()) => c,
    };
    let channel = match channel {
        Ok(c) => c,
        Err(e) => return StreamEnd::Failed(ConnectError::from_transport(addr, e)),
    };
    let mut client = WatchOnlyClient::new(channel).max_decoding_message_size(MAX_MESSAGE_SIZE);

    // Outbound half: the registration first, then answers from any task.
    // Dropping `close_tx` (when this function returns) ends it.
    let (out_tx, out_rx) = mpsc::unbounded_channel::<SignCoordinatorResponse>();
    let (close_tx, close_rx) = oneshot::channel::<()>();
    let registration = match session.start(clock.now()) {
        Ok(r) => r,
        Err(e) => return StreamEnd::Failed(e.into()),
    };
    // The receiver is alive here, so this cannot fail.
    let _ = out_tx.send(registration);
    let outbound = UnboundedReceiverStream::new(out_rx).take_until(close_rx);

    let mut request = tonic::Request::new(outbound);
    let mut macaroon = match MetadataValue::try_from(config.macaroon_hex().as_str()) {
        Ok(v) => v,
        Err(_) => return StreamEnd::Failed(ConnectError::MacaroonMetadata),
    };
    macaroon.set_sensitive(true);
    request.metadata_mut().insert("macaroon", macaroon);

    // The node answers the registration before it sends response headers, so
    // opening the call is part of the handshake window.
    let deadline = session.poll_timeout().map(|d| clock.at(d));
    let opening = Instant::now();
    let opened = tokio::select! {
        biased;
        _ = stopped(&mut stop) => return StreamEnd::Shutdown,
        _ = sleep_until_opt(deadline) => return timed_out(&mut session, clock.now()),
        r = client.sign_coordinator_streams(request) => r,
    };
    let mut inbound = match opened {
        Ok(resp) => resp.into_inner(),
        Err(status) => {
            return StreamEnd::Failed(ConnectError::from_stream_status(
                status,
                addr,
                opening.elapsed(),
            ))
        }
    };
    let mut last_message = Instant::now();

    loop {
        let deadline = session.poll_timeout().map(|d| clock.at(d));
        let msg = tokio::select! {
            biased;
            _ = stopped(&mut stop) => {
                drop(close_tx);
                // Give the node a moment to see our end of the stream.
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    while let Ok(Some(_)) = inbound.message().await {}
                })
                .await;
                return StreamEnd::Shutdown;
            }
            // The handshake deadline, then the idle watchdog's: every
            // message moves it, so it is read again for each wait.
            _ = sleep_until_opt(deadline) => return timed_out(&mut session, clock.now()),
            m = inbound.message() => m,
        };
        let req = match msg {
            Ok(Some(req)) => req,
            Ok(None) => return StreamEnd::Closed,
            Err(status) => {
                return StreamEnd::Failed(ConnectError::from_stream_status(
                    status,
                    addr,
                    last_message.elapsed(),
                ))
            }
        };
        let received = Instant::now();
        last_message = received;
        let id = req.request_id;
        let kind = RequestKind::of(&req);
        match session.on_request(req, clock.now()) {
            Ok(Event::Registered { .. }) => {
                *registered = true;
                tracing::info!(rpchost = %addr, "registered with the watch-only node");
            }
            Ok(Event::Reply(resp)) => {
                let result = outcome(&resp);
                let sent = out_tx.send(resp).is_ok();
                log_answer(kind, id, received, result, sent);
            }
            Ok(Event::Handle(work)) => {
                spawn_request(handler, work, out_tx.clone(), received);
            }
            Err(e) => return StreamEnd::Failed(e.into()),
        }
    }
}

/// Runs the handler for `work` on the blocking pool and queues its answer.
fn spawn_request(
    handler: &Handler,
    work: Work,
    tx: mpsc::UnboundedSender<SignCoordinatorResponse>,
    received: Instant,
) {
    let handler = Arc::clone(handler);
    let id = work.id;
    let kind = work.kind();
    tokio::spawn(async move {
        let task = tokio::task::spawn_blocking(move || session::answer(&work, |w| handler(w)));
        let resp = match task.await {
            Ok(resp) => resp,
            Err(_) => {
                tracing::error!(
                    kind = kind.field(),
                    id,
                    "signer failed while handling the request"
                );
                session::signer_error(id, "internal error while handling the request")
            }
        };
        let result = outcome(&resp);
        let sent = tx.send(resp).is_ok();
        log_answer(kind, id, received, result, sent);
    });
}

/// `ok` or `signer_error` (the error text is not logged).
fn outcome(resp: &SignCoordinatorResponse) -> &'static str {
    match session::response_member_name(resp) {
        "signer_error" => "signer_error",
        _ => "ok",
    }
}

/// One log line per request: kind, id, latency and outcome (never payloads).
fn log_answer(kind: RequestKind, id: u64, received: Instant, result: &str, sent: bool) {
    let latency = received.elapsed();
    if sent {
        tracing::info!(kind = kind.field(), id, ?latency, result, "answered");
    } else {
        tracing::warn!(
            kind = kind.field(),
            id,
            ?latency,
            result,
            "stream closed before the answer could be sent"
        );
    }
}
