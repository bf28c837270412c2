//! `signer-bridge`: lnd's bidirectional `SignCoordinatorStreams` split into
//! a server stream (`Attach`) and unary calls (`Reply`) so that a grpc-web
//! client can be lnd's remote signer (see `docs/bridge.md`).
//!
//! * `Attach` dials lnd over TLS pinned to `--lnd-tlscertpath`, opens the
//!   stream with the caller's `macaroon` metadata, sends a random 32-byte
//!   session token as the first event and then every `SignCoordinatorRequest`
//!   unchanged. It ends with a status that says why (lnd unreachable, TLS
//!   mismatch, macaroon rejected, lnd ended the stream, bridge shutting down).
//! * `Reply` queues one `SignCoordinatorResponse` on the stream of its token;
//!   it may come before lnd has sent anything (the registration is
//!   signer-first).
//! * When the Attach caller goes away the lnd stream and connection are
//!   dropped at once; the token stops working.
//! * Each connection to lnd sends HTTP/2 keepalive pings within lnd's
//!   policy ([`crate::keepalive`]); a dead connection ends the Attach
//!   stream with `UNAVAILABLE`, so the signer attaches again.
//!
//! The bridge never decodes lnd's requests or the signer's responses (they
//! are relayed byte for byte, unknown fields included, see [`raw`]), never
//! logs macaroons, tokens or payloads, and bounds every message size.

pub mod limit;
pub mod raw;
mod service;
pub mod status;

use std::{future::Future, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use http::{header::HeaderName, HeaderValue, Method};
use tokio::{net::TcpListener, sync::watch};
use tonic::transport::{server::TcpIncoming, Server};
use tower_http::cors::{AllowOrigin, CorsLayer};
use tracing::{info, warn};

pub use limit::{
    AttachRate, DEFAULT_ATTACH_BURST, DEFAULT_ATTACH_PER_MINUTE, DEFAULT_MAX_PENDING_ATTACHES,
};
pub use raw::{BridgeServer, MAX_ATTACH_REQUEST_BYTES, MAX_UNVERIFIED_REPLY_BYTES};
pub use service::{
    AttachStream, ServiceSettings, SignerBridgeService, MAX_BATCH_RESPONSES, TOKEN_LEN,
};

use crate::keepalive::Keepalive;
use crate::tls::{self, DialError, PinnedConnector, TlsError};

/// lnd's own limit for one message on the signer stream (200 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 200 * 1024 * 1024;
/// Default limit on one Reply from the signer (4 MiB): far above any
/// answer lnd asks for (a signed PSBT echoes lnd's PSBT plus signatures;
/// `--max-reply-bytes` raises it for huge sweeps).
pub const DEFAULT_MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;
/// HTTP/2 streams one client connection may have open (Envoy multiplexes
/// every browser onto few connections and opens more when needed).
const MAX_CONCURRENT_STREAMS: u32 = 128;
/// Default limit on TCP connect plus TLS handshake to lnd.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of simultaneous Attach sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 8;
/// TCP keepalive on accepted connections.
const TCP_KEEPALIVE: Duration = Duration::from_secs(60);
/// How long open connections may take to finish after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// Room for the envelope around a relayed message (`AttachEvent`: tag and
/// length, <= 6 bytes; `ReplyRequest`: token field 34 bytes plus tag and
/// length, <= 40 bytes).
const ENVELOPE_OVERHEAD: usize = 64;

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

/// Everything `signer-bridge` needs to run.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// `HOST:PORT` of lnd's remote-signer listener (`remotesigner.experimentalrpclisten`).
    pub lnd_rpchost: String,
    /// lnd's `tls.cert` (PEM), pinned.
    pub lnd_tlscertpath: PathBuf,
    /// Limit on TCP connect plus TLS handshake to lnd.
    pub connect_timeout: Duration,
    /// HTTP/2 keepalive pings on each connection to lnd.
    pub lnd_keepalive: Keepalive,
    /// Largest request accepted from lnd (bytes).
    pub max_request_bytes: usize,
    /// Largest Reply accepted from the signer (bytes).
    pub max_reply_bytes: usize,
    /// Simultaneous Attach sessions.
    pub max_sessions: usize,
    /// Accept an Attach without a macaroon (lnd run with `--no-macaroons`).
    pub allow_no_macaroon: bool,
    /// Attach calls dialing lnd at once.
    pub max_pending_attaches: usize,
    /// Attach attempts per source address.
    pub attach_rate: AttachRate,
    /// Header with the caller's address, set by a trusted proxy (Envoy:
    /// `x-forwarded-for`); `None` = the TCP peer address.
    pub client_address_header: Option<String>,
    /// Serve grpc-web (HTTP/1.1 and HTTP/2) with CORS instead of plain gRPC.
    pub grpc_web: bool,
    /// Origins allowed by CORS in grpc-web mode (`scheme://host[:port]`).
    pub allow_origins: Vec<String>,
}

impl BridgeConfig {
    /// Defaults for everything but the lnd address and certificate.
    pub fn new(lnd_rpchost: impl Into<String>, lnd_tlscertpath: impl Into<PathBuf>) -> Self {
        Self {
            lnd_rpchost: lnd_rpchost.into(),
            lnd_tlscertpath: lnd_tlscertpath.into(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            lnd_keepalive: Keepalive::default(),
            max_request_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_reply_bytes: DEFAULT_MAX_REPLY_BYTES,
            max_sessions: DEFAULT_MAX_SESSIONS,
            allow_no_macaroon: false,
            max_pending_attaches: DEFAULT_MAX_PENDING_ATTACHES,
            attach_rate: AttachRate::default(),
            client_address_header: None,
            grpc_web: false,
            allow_origins: Vec::new(),
        }
    }
}

/// Errors starting or running the bridge.
#[derive(Debug, thiserror::Error)]
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
    let rest = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or(bad("must start with http:// or https://"))?;
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
        if config.grpc_web {
            let _checked = cors_layer(&config.allow_origins)?;
        }
        if let Some(h) = &config.client_address_header {
            let _checked = header_name(h)?;
        }
        Ok(Self { config, connector })
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
            ServiceSettings {
                lnd_rpchost: cfg.lnd_rpchost.clone(),
                cert_path: cfg.lnd_tlscertpath.display().to_string(),
                lnd_keepalive: cfg.lnd_keepalive,
                max_request_bytes: cfg.max_request_bytes,
                max_reply_bytes: cfg.max_reply_bytes,
                max_sessions: cfg.max_sessions,
                allow_no_macaroon: cfg.allow_no_macaroon,
                max_pending_attaches: cfg.max_pending_attaches,
                attach_rate: cfg.attach_rate,
                client_address_header: match &cfg.client_address_header {
                    Some(h) => Some(header_name(h)?),
                    None => None,
                },
            },
            stop_rx.clone(),
        );
        let server_svc = BridgeServer::new(
            svc,
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
        let incoming = TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(TCP_KEEPALIVE));
        let mut builder = Server::builder()
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)))
            .max_concurrent_streams(Some(MAX_CONCURRENT_STREAMS));

        let serve = async {
            if cfg.grpc_web {
                let cors = cors_layer(&cfg.allow_origins)?;
                info!(
                    "signer-bridge listening on {local} (grpc-web + gRPC, origins: {}), lnd at {}",
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
                    "signer-bridge listening on {local} (gRPC), lnd at {}",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        for ok in [
            "http://localhost:8080",
            "https://signer.example.com",
            "http://127.0.0.1:1",
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
        ] {
            assert!(check_origin(bad).is_err(), "{bad}");
        }
        assert!(matches!(cors_layer(&[]), Err(BridgeError::NoOrigins)));
    }
}
