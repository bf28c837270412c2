//! The server layer: tonic, tonic-web, CORS and the listener around the
//! service. [`BridgeServer`] routes the three `signerbridge.SignerBridge`
//! paths to the service's handlers, each through one generic [`Route`];
//! [`Bridge`] checks a [`BridgeConfig`] and serves it on a TCP listener
//! until shut down. Uses the codec (`raw`, for [`RawCodec`]) and the service
//! (`service`); neither knows this module.

use std::{
    future::Future,
    net::SocketAddr,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{header::HeaderName, HeaderValue, Method};
use prost::bytes::Bytes;
use tokio::{
    net::{TcpListener, TcpStream},
    sync::watch,
};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{
    codegen::{http, Body, BoxFuture, Service, StdError},
    server::{Grpc, NamedService},
    transport::{server::TcpIncoming, Server},
    Request, Response, Status,
};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::{info, warn};

use super::config::BridgeConfig;
use super::raw::RawCodec;
use super::service::{Admission, SignerBridgeService, MAX_ATTACH_REQUEST_BYTES};
use super::ws::{self, WsSettings};
use crate::tls::{self, DialError, PinnedConnector, TlsError};

/// HTTP/2 streams one client connection may have open (Envoy multiplexes
/// every browser onto few connections and opens more when needed).
const MAX_CONCURRENT_STREAMS: u32 = 128;
/// TCP keepalive on accepted connections.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Room for the envelope around a relayed message (`AttachEvent`: tag and
/// length, <= 6 bytes; `ReplyRequest`: token field 34 bytes plus tag and
/// length, <= 40 bytes).
const ENVELOPE_OVERHEAD: usize = 64;

/// Full method paths served.
pub const ATTACH_PATH: &str = "/signerbridge.SignerBridge/Attach";
/// See [`ATTACH_PATH`].
pub const REPLY_PATH: &str = "/signerbridge.SignerBridge/Reply";
/// See [`ATTACH_PATH`].
pub const REPLY_BATCH_PATH: &str = "/signerbridge.SignerBridge/ReplyBatch";

/// Request headers a grpc-web client may send (answered in CORS preflights).
pub const CORS_ALLOW_HEADERS: &[&str] = &[
    "content-type",
    "x-grpc-web",
    "x-user-agent",
    "grpc-timeout",
    "macaroon",
];
/// Response headers a grpc-web client must be able to read.
pub const CORS_EXPOSE_HEADERS: &[&str] =
    &["grpc-status", "grpc-message", "grpc-status-details-bin"];

/// Errors starting or running the bridge.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// The certificate file could not be read.
    #[error("cannot read --lnd-tlscertpath {path}: {source}")]
    ReadCert {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate file is not a usable PEM certificate.
    #[error("--lnd-tlscertpath {path}: {source}")]
    BadCert {
        /// The path given.
        path: String,
        /// What is wrong.
        source: TlsError,
    },
    /// `--lnd-rpchost` is malformed.
    #[error("--lnd-rpchost: {0}")]
    BadAddress(#[from] DialError),
    /// A size or count option is zero.
    #[error("{0} must be greater than zero")]
    ZeroLimit(&'static str),
    /// `--client-address-header` is not a header name.
    #[error("--client-address-header {0:?} is not a valid header name")]
    BadHeaderName(String),
    /// `--grpc-web` without any `--allow-origin`.
    #[error("--grpc-web needs at least one --allow-origin (for example http://localhost:8080)")]
    NoOrigins,
    /// An `--allow-origin` value is not `scheme://host[:port]`.
    #[error("--allow-origin {origin:?}: {reason}")]
    BadOrigin {
        /// The value given.
        origin: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The listening socket failed.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// Address requested.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The gRPC server failed.
    #[error("server error: {0}")]
    Serve(#[from] tonic::transport::Error),
}

/// Checks one CORS origin: `http://` or `https://`, a host, optional port,
/// nothing after it (browsers send exactly that in `Origin`).
pub fn check_origin(origin: &str) -> Result<HeaderValue, BridgeError> {
    let bad = |reason| BridgeError::BadOrigin {
        origin: origin.to_string(),
        reason,
    };
    if let Some(id) = origin.strip_prefix("chrome-extension://") {
        // A Chromium extension (the signer's own, scripts/build-extension.sh
        // --print-origin): its id is 32 letters a-p, nothing else.
        if id.len() != 32 || !id.bytes().all(|b| (b'a'..=b'p').contains(&b)) {
            return Err(bad(
                "a chrome-extension:// origin is followed by the 32-letter extension id (a-p) only",
            ));
        }
        return HeaderValue::from_str(origin).map_err(|_| bad("is not a valid header value"));
    }
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or(bad(
            "must start with http://, https:// or chrome-extension://",
        ))?;
    if rest.is_empty() {
        return Err(bad("has no host"));
    }
    if rest.contains(['/', '?', '#', '*', ' ']) {
        return Err(bad(
            "must be scheme://host[:port] without path, wildcard or trailing slash",
        ));
    }
    HeaderValue::from_str(origin).map_err(|_| bad("is not a valid header value"))
}

fn header_name(name: &str) -> Result<HeaderName, BridgeError> {
    HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes())
        .map_err(|_| BridgeError::BadHeaderName(name.to_string()))
}

/// The CORS layer of grpc-web mode.
pub fn cors_layer(origins: &[String]) -> Result<CorsLayer, BridgeError> {
    if origins.is_empty() {
        return Err(BridgeError::NoOrigins);
    }
    let origins = origins
        .iter()
        .map(|o| check_origin(o))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::POST, Method::OPTIONS])
        .allow_headers(
            CORS_ALLOW_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .expose_headers(
            CORS_EXPOSE_HEADERS
                .iter()
                .map(|h| HeaderName::from_static(h))
                .collect::<Vec<_>>(),
        )
        .max_age(Duration::from_secs(24 * 60 * 60)))
}

/// A configured bridge, ready to serve.
#[derive(Debug)]
pub struct Bridge {
    config: BridgeConfig,
    connector: PinnedConnector,
    /// `config.client_address_header`, parsed.
    client_address_header: Option<HeaderName>,
}

impl Bridge {
    /// Reads and checks the configuration (certificate, address, origins).
    pub fn new(config: BridgeConfig) -> Result<Self, BridgeError> {
        let path = config.lnd_tlscertpath.display().to_string();
        let pem =
            std::fs::read(&config.lnd_tlscertpath).map_err(|source| BridgeError::ReadCert {
                path: path.clone(),
                source,
            })?;
        let tls_config = tls::pinned_client_config(&pem)
            .map_err(|source| BridgeError::BadCert { path, source })?;
        let connector = PinnedConnector::new(
            Arc::new(tls_config),
            &config.lnd_rpchost,
            config.connect_timeout,
        )?;
        for (value, name) in [
            (config.max_request_bytes, "--max-request-bytes"),
            (config.max_reply_bytes, "--max-reply-bytes"),
            (config.max_sessions, "--max-sessions"),
            (config.max_pending_attaches, "--max-pending-attaches"),
            (config.attach_rate.burst as usize, "--attach-burst"),
        ] {
            if value == 0 {
                return Err(BridgeError::ZeroLimit(name));
            }
        }
        if config.grpc_web || config.websocket {
            let _checked = cors_layer(&config.allow_origins)?;
        }
        let client_address_header = config
            .client_address_header
            .as_deref()
            .map(header_name)
            .transpose()?;
        Ok(Self {
            config,
            connector,
            client_address_header,
        })
    }

    /// Binds `addr` and serves until `shutdown` resolves.
    pub async fn serve_addr(
        self,
        addr: SocketAddr,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), BridgeError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| BridgeError::Listen {
                addr: addr.to_string(),
                source,
            })?;
        self.serve(listener, shutdown).await
    }

    /// Serves on `listener` until `shutdown` resolves. Then every session
    /// ends with "signer-bridge is shutting down", and open connections get
    /// a short grace period.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), BridgeError> {
        let local = listener
            .local_addr()
            .map_or_else(|_| "?".to_string(), |a| a.to_string());
        let cfg = &self.config;
        let (stop_tx, stop_rx) = watch::channel(false);
        let svc = SignerBridgeService::new(
            self.connector.clone(),
            cfg.clone(),
            self.client_address_header.clone(),
            stop_rx.clone(),
        );
        let server_svc = BridgeServer::new(
            svc.clone(),
            cfg.max_reply_bytes.saturating_add(ENVELOPE_OVERHEAD),
            cfg.max_request_bytes.saturating_add(ENVELOPE_OVERHEAD),
        );

        let signal = async move {
            shutdown.await;
            info!("shutdown requested: ending sessions");
            let _ = stop_tx.send(true);
        };
        let mut stop_seen = stop_rx;
        // A custom incoming stream does not get the builder's TCP options:
        // set them here. Without TCP_NODELAY, small HTTP/2 and HTTP/1.1
        // writes (Attach events, Reply acks) meet delayed ACKs and stall for
        // ~40 ms.
        let incoming = if cfg.websocket {
            let settings = Arc::new(WsSettings {
                origins: cfg
                    .allow_origins
                    .iter()
                    .map(|o| check_origin(o))
                    .collect::<Result<_, _>>()?,
                client_address_header: self.client_address_header.clone(),
                max_reply_bytes: cfg.max_reply_bytes,
                max_event_bytes: cfg.max_request_bytes.saturating_add(ENVELOPE_OVERHEAD),
            });
            Incoming::Split(split_websockets(listener, svc.clone(), settings))
        } else {
            Incoming::Plain(
                TcpIncoming::from(listener)
                    .with_nodelay(Some(true))
                    .with_keepalive(Some(TCP_KEEPALIVE)),
            )
        };
        let mut builder = Server::builder()
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .max_concurrent_streams(Some(MAX_CONCURRENT_STREAMS));

        let serve = async {
            if cfg.grpc_web {
                let cors = cors_layer(&cfg.allow_origins)?;
                info!(
                    "signer-bridge listening on {local} (grpc-web + gRPC{}, origins: {}), lnd at {}",
                    if cfg.websocket { " + WebSocket" } else { "" },
                    cfg.allow_origins.join(" "),
                    cfg.lnd_rpchost
                );
                builder
                    .accept_http1(true)
                    .layer(cors)
                    .layer(tonic_web::GrpcWebLayer::new())
                    .add_service(server_svc)
                    .serve_with_incoming_shutdown(incoming, signal)
                    .await?;
            } else {
                info!(
                    "signer-bridge listening on {local} (gRPC{}), lnd at {}",
                    if cfg.websocket { " + WebSocket" } else { "" },
                    cfg.lnd_rpchost
                );
                builder
                    .add_service(server_svc)
                    .serve_with_incoming_shutdown(incoming, signal)
                    .await?;
            }
            Ok::<(), BridgeError>(())
        };
        let grace = async {
            let _ = stop_seen.wait_for(|s| *s).await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            r = serve => r,
            () = grace => {
                warn!("connections still open {} s after shutdown; exiting", SHUTDOWN_GRACE.as_secs());
                Ok(())
            }
        }
    }
}

/// How long a new connection may take to send its first 4 bytes (which
/// tell a WebSocket upgrade from a gRPC or grpc-web call).
const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// The connections tonic serves: all of them, or (with the WebSocket
/// channel) those that do not start with `GET`.
enum Incoming {
    Plain(TcpIncoming),
    Split(ReceiverStream<std::io::Result<TcpStream>>),
}

impl tokio_stream::Stream for Incoming {
    type Item = std::io::Result<TcpStream>;

    fn poll_next(self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.get_mut() {
            Incoming::Plain(i) => std::pin::Pin::new(i).poll_next(cx),
            Incoming::Split(r) => std::pin::Pin::new(r).poll_next(cx),
        }
    }
}

/// Accepts on `listener`; a connection whose first bytes are `GET ` goes to
/// the WebSocket channel, every other one to tonic (the returned stream).
/// The accept loop ends when tonic stops taking connections.
fn split_websockets(
    listener: TcpListener,
    svc: SignerBridgeService,
    settings: Arc<WsSettings>,
) -> ReceiverStream<std::io::Result<TcpStream>> {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    tokio::spawn(async move {
        loop {
            let stream = tokio::select! {
                () = tx.closed() => return,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a
                        // little instead of spinning.
                        warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let _ = socket2_keepalive(&stream);
            let (tx, svc, settings) = (tx.clone(), svc.clone(), Arc::clone(&settings));
            tokio::spawn(async move {
                if ws::peek_is_get(&stream, FIRST_BYTES_TIMEOUT).await {
                    ws::serve_connection(stream, svc, settings).await;
                } else {
                    let _ = tx.send(Ok(stream)).await;
                }
            });
        }
    });
    ReceiverStream::new(rx)
}

/// TCP keepalive on an accepted connection (as tonic sets it on its own).
fn socket2_keepalive(stream: &TcpStream) -> std::io::Result<()> {
    let sock = socket2::SockRef::from(stream);
    sock.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(TCP_KEEPALIVE))
}

/// One method of the service as tonic's [`Grpc`] calls it: a
/// `tower::Service` that hands every request to `handler` together with a
/// clone of `state`. The same type serves unary and server-streaming
/// methods (tonic implements `UnaryService` and `ServerStreamingService`
/// for every `Service` of the right shape: a `Response<R>` with `R` the
/// message or a stream of them). Always ready: what a call may cost is
/// decided before it gets here ([`BridgeServer`]) and by the handler.
#[derive(Debug, Clone)]
pub(crate) struct Route<S, F> {
    state: S,
    handler: F,
}

impl<S, F> Route<S, F> {
    /// `handler(state.clone(), request)` for every request.
    pub(crate) fn new(state: S, handler: F) -> Self {
        Self { state, handler }
    }
}

impl<S, F, T, Fut, R> Service<Request<T>> for Route<S, F>
where
    S: Clone,
    F: FnMut(S, Request<T>) -> Fut,
    Fut: Future<Output = Result<Response<R>, Status>>,
{
    type Response = Response<R>;
    type Error = Status;
    type Future = Fut;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Status>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<T>) -> Fut {
        (self.handler)(self.state.clone(), request)
    }
}

/// HTTP service for `signerbridge.SignerBridge` (same wire protocol as the
/// generated server, but messages stay bytes).
#[derive(Debug, Clone)]
pub struct BridgeServer {
    svc: SignerBridgeService,
    max_decoding: usize,
    max_encoding: usize,
}

impl BridgeServer {
    /// Serves `svc`, refusing incoming messages over `max_decoding` bytes and
    /// outgoing ones over `max_encoding` bytes.
    pub fn new(svc: SignerBridgeService, max_decoding: usize, max_encoding: usize) -> Self {
        Self {
            svc,
            max_decoding,
            max_encoding,
        }
    }

    /// The gRPC framing with incoming messages up to `max_decoding`.
    fn grpc(&self, max_decoding: usize) -> Grpc<RawCodec> {
        Grpc::new(RawCodec)
            .apply_max_message_size_config(Some(max_decoding), Some(self.max_encoding))
    }

    /// Attach, the server stream.
    async fn attach<B>(self, req: http::Request<B>) -> http::Response<tonic::body::Body>
    where
        B: Body + Send + 'static,
        B::Error: Into<StdError> + Send + 'static,
    {
        // Anonymous callers: no more than a client_info text.
        let mut grpc = self.grpc(MAX_ATTACH_REQUEST_BYTES.min(self.max_decoding));
        let route = Route::new(self.svc, SignerBridgeService::attach);
        grpc.server_streaming(route, req).await
    }

    /// Reply and ReplyBatch, unary calls admitted by the service from their
    /// first bytes (the token before the body is buffered) and handled by
    /// `handler`.
    async fn reply<B, F, Fut>(
        self,
        handler: F,
        req: http::Request<B>,
    ) -> http::Response<tonic::body::Body>
    where
        B: Body + Send + 'static,
        B::Error: Into<StdError> + Send + 'static,
        F: FnMut(SignerBridgeService, Request<Bytes>) -> Fut,
        Fut: Future<Output = Result<Response<Bytes>, Status>>,
    {
        let (parts, body) = req.into_parts();
        let (admission, body) = match self.svc.admit_reply(body, self.max_decoding).await {
            Ok(admitted) => admitted,
            Err(status) => return status.into_http(),
        };
        let mut req = http::Request::from_parts(parts, body);
        let mut grpc = match admission {
            Admission::Checked(token) => {
                req.extensions_mut().insert(token);
                self.grpc(self.max_decoding)
            }
            Admission::Unverified { max_message } => self.grpc(max_message),
        };
        grpc.unary(Route::new(self.svc, handler), req).await
    }
}

impl NamedService for BridgeServer {
    const NAME: &'static str = "signerbridge.SignerBridge";
}

impl<B> Service<http::Request<B>> for BridgeServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let server = self.clone();
        match req.uri().path() {
            ATTACH_PATH => Box::pin(async move { Ok(server.attach(req).await) }),
            REPLY_PATH => {
                Box::pin(async move { Ok(server.reply(SignerBridgeService::reply, req).await) })
            }
            REPLY_BATCH_PATH => {
                Box::pin(
                    async move { Ok(server.reply(SignerBridgeService::reply_batch, req).await) },
                )
            }
            _ => Box::pin(async move {
                Ok(
                    Status::unimplemented("no such method on signerbridge.SignerBridge")
                        .into_http(),
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for ok in [
            "http://localhost:8080",
            "https://signer.example.com",
            "http://127.0.0.1:1",
            "chrome-extension://npcbblohjhchbnnpfjdobnfmkmfagkip",
        ] {
            check_origin(ok).expect(ok);
        }
        for bad in [
            "localhost:8080",
            "http://",
            "https://example.com/",
            "https://example.com/path",
            "*",
            "https://*.example.com",
            "ftp://example.com",
            "chrome-extension://*",
            "chrome-extension://npcbblohjhchbnnpfjdobnfmkmfagki",
            "chrome-extension://npcbblohjhchbnnpfjdobnfmkmfagkip/",
            "chrome-extension://NPCBBLOHJHCHBNNPFJDOBNFMKMFAGKIP",
            "chrome-extension://zpcbblohjhchbnnpfjdobnfmkmfagkip",
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
        assert!(matches!(cors_layer(&[]), Err(BridgeError::NoOrigins)));
    }

    use crate::bridge::raw::tests::{drain, grpc_frame, Frames};
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn grpc_request(msg: &[u8]) -> http::Request<Frames> {
        http::Request::post("/signerbridge.SignerBridge/Test")
            .header("content-type", "application/grpc")
            .body(Frames::data([&grpc_frame(0, msg)[..]]))
            .expect("request")
    }

    fn grpc_status(headers: Option<&http::HeaderMap>) -> Option<&str> {
        headers?.get("grpc-status")?.to_str().ok()
    }

    #[tokio::test]
    async fn one_route_type_serves_unary_and_streaming_methods() {
        // Unary: the message reversed; every call gets the shared state.
        let calls = Arc::new(AtomicUsize::new(0));
        let reverse = |calls: Arc<AtomicUsize>, req: Request<Bytes>| async move {
            calls.fetch_add(1, Ordering::Relaxed);
            let msg = req.into_inner();
            if msg.is_empty() {
                return Err(Status::invalid_argument("empty"));
            }
            Ok(Response::new(msg.iter().rev().copied().collect::<Bytes>()))
        };
        let route = Route::new(Arc::clone(&calls), reverse);
        let answer = Grpc::new(RawCodec)
            .unary(route.clone(), grpc_request(b"abc"))
            .await;
        let (data, trailers) = drain(answer.into_body()).await;
        assert_eq!(data, grpc_frame(0, b"cba"));
        assert_eq!(grpc_status(trailers.as_ref()), Some("0"));
        // A handler's error is the call's status (trailers-only).
        let refused = Grpc::new(RawCodec).unary(route, grpc_request(b"")).await;
        assert_eq!(grpc_status(Some(refused.headers())), Some("3"));
        assert_eq!(calls.load(Ordering::Relaxed), 2);

        // Server stream: `n` messages, `n` from the state.
        let count = |n: u8, _req: Request<Bytes>| async move {
            let messages = (0..n).map(|i| Ok::<_, Status>(Bytes::from(vec![i])));
            Ok(Response::new(tokio_stream::iter(messages)))
        };
        let answer = Grpc::new(RawCodec)
            .server_streaming(Route::new(3u8, count), grpc_request(b""))
            .await;
        let (data, trailers) = drain(answer.into_body()).await;
        let want: Vec<u8> = (0..3).flat_map(|i| grpc_frame(0, &[i])).collect();
        assert_eq!(data, want);
        assert_eq!(grpc_status(trailers.as_ref()), Some("0"));
    }
}
