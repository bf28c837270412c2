//! What the bridge is told: [`BridgeConfig`] (the command line of
//! `signer-bridge`) and its defaults. A leaf: the service reads its limits
//! and lnd settings from it, the server its listener and CORS settings.

use std::{path::PathBuf, time::Duration};

use super::limit::{AttachRate, DEFAULT_MAX_PENDING_ATTACHES};
use crate::keepalive::Keepalive;

/// lnd's own limit for one message on the signer stream (200 MiB).
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 200 * 1024 * 1024;
/// Default limit on one Reply from the signer (4 MiB): far above any
/// answer lnd asks for (a signed PSBT echoes lnd's PSBT plus signatures;
/// `--max-reply-bytes` raises it for huge sweeps).
pub const DEFAULT_MAX_REPLY_BYTES: usize = 4 * 1024 * 1024;
/// Default limit on TCP connect plus TLS handshake to lnd.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of simultaneous Attach sessions.
pub const DEFAULT_MAX_SESSIONS: usize = 8;

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
    /// Origins allowed by CORS in grpc-web mode, and on the WebSocket
    /// channel (`scheme://host[:port]`).
    pub allow_origins: Vec<String>,
    /// Serve the WebSocket channel (`proto/bridge.proto`) on the same
    /// listener. On by default with `grpc_web`; behind Envoy (plain gRPC)
    /// it needs `allow_origins` too.
    pub websocket: bool,
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
            websocket: false,
        }
    }
}
