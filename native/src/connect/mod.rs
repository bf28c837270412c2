//! `lnd-web-signer connect`: the native signer dials the watch-only node's
//! dedicated remote-signer listener and serves `SignCoordinatorStreams`.
//!
//! * Transport: tonic over TLS pinned to lnd's `tls.cert` ([`crate::tls`]),
//!   ALPN `h2`, macaroon as lower-case hex in the `macaroon` metadata,
//!   receive limit [`MAX_MESSAGE_SIZE`], HTTP/2 keepalive pings within lnd's
//!   ping policy ([`crate::keepalive`]: 30 s, 20 s timeout, only while the
//!   stream is open).
//! * Liveness: besides the keepalive (dead connection), the session's idle
//!   watchdog ends a registered stream on which nothing at all arrived for
//!   3 × lnd's health-check interval (silent node or bridge).
//! * Protocol: the sans-IO [`lnd_web_signer::session::Session`]; this module
//!   only moves messages and passes time in.
//! * Concurrency: every signing request runs on the blocking pool; pings and
//!   other immediate answers are sent from the receive loop, so they never wait
//!   behind signing work.
//! * Reconnects forever with [`lnd_web_signer::session::Backoff`] (1 s × 1.5
//!   up to 60 s, reset after a completed handshake, jittered), until shutdown.
//!
//! The signing core is any [`Handler`]; the CLI passes the real signer, tests
//! pass closures. The handler lives across reconnects, so its state (MuSig2
//! sessions) does too.

mod cli;
mod stream;

pub use cli::{
    init_logging, run_connect, run_connect_blocking, shutdown_signal, signer_handler, ConnectArgs,
    ConnectOpts,
};
pub use stream::{run_stream, Attempt, Clock, StreamEnd};

use std::{future::Future, path::Path, sync::Arc, time::Duration};

use lnd_web_signer::proto::watchonlyrpc::SignCoordinatorResponse;
use lnd_web_signer::request::Work;
use lnd_web_signer::session::{Backoff, SessionConfig, SessionError};
use tokio::sync::watch;
use zeroize::Zeroizing;

use crate::keepalive::{Keepalive, KeepaliveError};
use crate::tls::{self, DialError, PinnedConnector, TlsError};

/// Receive limit for messages from the watch-only node (its own server limit).
pub const MAX_MESSAGE_SIZE: usize = 200 * 1024 * 1024;

/// Limit for TCP connect plus TLS handshake (lnd's `watchonlynode.timeout` default).
pub const DEFAULT_DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The signing core: turns signing work into its response (pings and
/// members that are not work are answered by the session). Called on the
/// blocking thread pool, possibly for several requests at once.
pub type Handler = Arc<dyn Fn(&Work) -> SignCoordinatorResponse + Send + Sync>;

/// Everything needed to reach the watch-only node.
#[derive(Clone)]
pub struct ConnectConfig {
    /// `HOST:PORT` of the node's `remotesigner.experimentalrpclisten` listener.
    pub rpchost: String,
    /// PEM of the node's `tls.cert` (the pinned certificate).
    pub tls_cert_pem: Vec<u8>,
    /// Binary macaroon with `remotesigner:generate`.
    pub macaroon: Zeroizing<Vec<u8>>,
    /// Registration text, handshake timeout and idle watchdog.
    pub session: SessionConfig,
    /// Limit for TCP connect plus TLS handshake.
    pub dial_timeout: Duration,
    /// HTTP/2 keepalive pings towards the node.
    pub keepalive: Keepalive,
    /// Reconnect schedule.
    pub backoff: Backoff,
    /// Stop after the first stream attempt ends (tests).
    pub once: bool,
}

impl std::fmt::Debug for ConnectConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectConfig")
            .field("rpchost", &self.rpchost)
            .field("macaroon", &"[redacted]")
            .field("session", &self.session)
            .field("dial_timeout", &self.dial_timeout)
            .field("keepalive", &self.keepalive)
            .field("once", &self.once)
            .finish_non_exhaustive()
    }
}

impl ConnectConfig {
    /// Config with defaults for everything but the address and credentials.
    pub fn new(rpchost: impl Into<String>, tls_cert_pem: Vec<u8>, macaroon: Vec<u8>) -> Self {
        Self {
            rpchost: rpchost.into(),
            tls_cert_pem,
            macaroon: Zeroizing::new(macaroon),
            session: SessionConfig::default(),
            dial_timeout: DEFAULT_DIAL_TIMEOUT,
            keepalive: Keepalive::default(),
            backoff: Backoff::new(),
            once: false,
        }
    }

    /// Reads `tls.cert` (PEM) and the macaroon file (binary, or hex text).
    pub fn from_files(
        rpchost: impl Into<String>,
        tlscertpath: &Path,
        macaroonpath: &Path,
    ) -> Result<Self, ConnectError> {
        let read = |what: &'static str, path: &Path| {
            std::fs::read(path).map_err(|source| ConnectError::ReadFile {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        let pem = read("tls certificate", tlscertpath)?;
        let mac = Zeroizing::new(read("macaroon", macaroonpath)?);
        let macaroon = decode_macaroon(&mac).map_err(|reason| ConnectError::BadMacaroon {
            path: macaroonpath.display().to_string(),
            reason,
        })?;
        // Parse the certificate now so a bad file fails at startup, not per attempt.
        tls::pinned_client_config(&pem).map_err(|source| ConnectError::BadCertificate {
            path: tlscertpath.display().to_string(),
            source,
        })?;
        let mut cfg = Self::new(rpchost, pem, Vec::new());
        cfg.macaroon = macaroon;
        Ok(cfg)
    }

    /// The macaroon as sent in the `macaroon` metadata: lower-case hex.
    pub fn macaroon_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.macaroon.as_slice()))
    }
}

/// Accepts a binary macaroon (lnd's `*.macaroon` files) or its hex text.
fn decode_macaroon(raw: &[u8]) -> Result<Zeroizing<Vec<u8>>, &'static str> {
    let trimmed = raw.trim_ascii();
    if trimmed.is_empty() {
        return Err("file is empty");
    }
    // A binary v2 macaroon starts with 0x02, so it is never valid hex text.
    if trimmed.iter().all(u8::is_ascii_hexdigit) {
        return hex::decode(trimmed)
            .map(Zeroizing::new)
            .map_err(|_| "hex text has an odd number of digits");
    }
    Ok(Zeroizing::new(raw.to_vec()))
}

/// Errors of the connect loop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// A file could not be read.
    #[error("cannot read the {what} file {path}: {source}")]
    ReadFile {
        /// Which file (`tls certificate`, `macaroon`).
        what: &'static str,
        /// Its path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The certificate file is not a usable PEM certificate.
    #[error("tls certificate file {path}: {source}")]
    BadCertificate {
        /// Its path.
        path: String,
        /// What is wrong.
        source: TlsError,
    },
    /// The macaroon file is unusable.
    #[error("macaroon file {path}: {reason}")]
    BadMacaroon {
        /// Its path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The certificate in the config is not usable.
    #[error("tls certificate: {0}")]
    Tls(#[from] TlsError),
    /// Dialing the node failed (unreachable, timeout, certificate mismatch, TLS).
    #[error(transparent)]
    Dial(#[from] DialError),
    /// Another transport failure.
    #[error("connection to the watch-only node at {addr} failed: {detail}")]
    Transport {
        /// `HOST:PORT`.
        addr: String,
        /// Error chain.
        detail: String,
    },
    /// The HTTP/2 connection under the stream broke: closed by our
    /// keepalive after an unanswered ping (a dead, half-open link), reset,
    /// or closed without a gRPC status. hyper reports all of these alike
    /// (the keepalive cause does not reach the stream), so the time since
    /// the last message is given: with keepalive on, a break at least
    /// interval + timeout after it is the keepalive's.
    #[error(
        "connection to the watch-only node at {addr} lost {} after its last message: {cause}",
        lnd_web_signer::session::fmt_secs(*silent)
    )]
    ConnectionLost {
        /// `HOST:PORT`.
        addr: String,
        /// Time since the last message from the node.
        silent: Duration,
        /// The innermost transport error.
        cause: String,
    },
    /// Invalid keepalive settings.
    #[error(transparent)]
    Keepalive(#[from] KeepaliveError),
    /// The node ended the stream with a gRPC status.
    #[error("watch-only node ended the stream: {code:?}: {message}")]
    Status {
        /// gRPC status code.
        code: tonic::Code,
        /// Status message.
        message: String,
    },
    /// The protocol session failed (handshake rejected, timeout, ...).
    #[error(transparent)]
    Session(#[from] SessionError),
    /// The macaroon cannot be sent as metadata.
    #[error("macaroon cannot be sent as gRPC metadata")]
    MacaroonMetadata,
}

impl ConnectError {
    /// Classifies a tonic status returned while opening or reading the stream:
    /// transport failures (dial errors inside) keep their precise cause.
    pub(crate) fn from_status(status: tonic::Status) -> Self {
        if let Some(source) = std::error::Error::source(&status) {
            if let Some(dial) = tls::find_dial_error(source) {
                return Self::Dial(clone_dial_error(dial));
            }
        }
        Self::Status {
            code: status.code(),
            message: status.message().to_string(),
        }
    }

    /// Like [`ConnectError::from_status`], for an open stream to `addr`
    /// whose last message came `silent` ago: a status made locally from a
    /// transport error (it has a source; a status sent by the node has
    /// none) is a lost connection.
    pub(crate) fn from_stream_status(status: tonic::Status, addr: &str, silent: Duration) -> Self {
        let Some(source) = std::error::Error::source(&status) else {
            return Self::from_status(status);
        };
        if tls::find_dial_error(source).is_some() {
            return Self::from_status(status);
        }
        let mut cause = source;
        while let Some(next) = cause.source() {
            cause = next;
        }
        Self::ConnectionLost {
            addr: addr.to_string(),
            silent,
            cause: cause.to_string(),
        }
    }

    pub(crate) fn from_transport(addr: &str, err: tonic::transport::Error) -> Self {
        if let Some(dial) = tls::find_dial_error(&err) {
            return Self::Dial(clone_dial_error(dial));
        }
        Self::Transport {
            addr: addr.to_string(),
            detail: error_chain(&err),
        }
    }
}

/// A copy of a dial error found by reference in an error chain.
fn clone_dial_error(e: &DialError) -> DialError {
    match e {
        DialError::BadAddress { addr, reason } => DialError::BadAddress {
            addr: addr.clone(),
            reason,
        },
        DialError::Unreachable { addr, source } => DialError::Unreachable {
            addr: addr.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        DialError::Timeout { addr, after } => DialError::Timeout {
            addr: addr.clone(),
            after: *after,
        },
        DialError::CertMismatch { addr } => DialError::CertMismatch { addr: addr.clone() },
        DialError::Handshake { addr, source } => DialError::Handshake {
            addr: addr.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
    }
}

/// `a: b: c` for an error and its sources.
pub(crate) fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let s = e.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = e.source();
    }
    out
}

/// A uniformly random `u32` for backoff jitter (0 if the OS source fails:
/// jitter is a nicety, not a security property).
fn jitter() -> u32 {
    let mut b = [0u8; 4];
    match getrandom::getrandom(&mut b) {
        Ok(()) => u32::from_le_bytes(b),
        Err(_) => 0,
    }
}

/// Runs the signer until `shutdown` completes (then returns `Ok`), or, with
/// `config.once`, until the first stream attempt ends (then returns that
/// attempt's error, if any). Reconnects with backoff otherwise.
pub async fn run<S>(
    config: ConnectConfig,
    handler: Handler,
    shutdown: S,
) -> Result<(), ConnectError>
where
    S: Future<Output = ()> + Send + 'static,
{
    let tls_config = Arc::new(tls::pinned_client_config(&config.tls_cert_pem)?);
    let connector = PinnedConnector::new(tls_config, &config.rpchost, config.dial_timeout)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let watcher = tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let result = run_loop(&config, &connector, &handler, stop_rx).await;
    watcher.abort();
    result
}

async fn run_loop(
    config: &ConnectConfig,
    connector: &PinnedConnector,
    handler: &Handler,
    mut stop: watch::Receiver<bool>,
) -> Result<(), ConnectError> {
    let mut backoff = config.backoff.clone();
    let clock = stream::Clock::new();
    loop {
        let attempt = run_stream(config, connector, handler, &clock, stop.clone()).await;
        match &attempt.end {
            StreamEnd::Shutdown => {
                tracing::info!("shutting down");
                return Ok(());
            }
            StreamEnd::Closed => {
                tracing::warn!(rpchost = %config.rpchost, "watch-only node closed the stream");
            }
            StreamEnd::Failed(ConnectError::Session(SessionError::IdleTimeout {
                silent,
                limit,
            })) => {
                tracing::warn!(
                    rpchost = %config.rpchost,
                    silent_s = silent.as_secs_f64(),
                    idle_timeout_s = limit.as_secs_f64(),
                    "no message from lnd for {} (idle timeout {}): dropping the link, reconnecting",
                    lnd_web_signer::session::fmt_secs(*silent),
                    lnd_web_signer::session::fmt_secs(*limit),
                );
            }
            StreamEnd::Failed(e @ ConnectError::ConnectionLost { .. }) => {
                tracing::warn!(
                    rpchost = %config.rpchost,
                    error = %e,
                    keepalive_s = config.keepalive.interval.map(|i| i.as_secs_f64()),
                    keepalive_timeout_s = config.keepalive.timeout.as_secs_f64(),
                    "connection lost, reconnecting"
                );
            }
            StreamEnd::Failed(e) => {
                tracing::warn!(rpchost = %config.rpchost, error = %e, "stream attempt failed");
            }
        }
        if config.once {
            return match attempt.end {
                StreamEnd::Failed(e) => Err(e),
                _ => Ok(()),
            };
        }
        let delay = backoff.after_attempt(attempt.registered, jitter());
        tracing::info!(retry_in_ms = delay.as_millis() as u64, "reconnecting");
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stop.wait_for(|s| *s) => {
                tracing::info!("shutting down");
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macaroon_binary_and_hex() {
        let bin = [0x02u8, 0x01, 0x03, b'l', b'n', b'd'];
        assert_eq!(decode_macaroon(&bin).expect("binary").as_slice(), &bin);
        assert_eq!(
            decode_macaroon(b"0201036c6e64\n").expect("hex").as_slice(),
            &bin
        );
        assert_eq!(decode_macaroon(b"  \n"), Err("file is empty"));
        assert!(decode_macaroon(b"abc").is_err());
    }

    #[test]
    fn macaroon_hex_is_lower_case() {
        let cfg = ConnectConfig::new("localhost:10019", Vec::new(), vec![0xAB, 0xCD, 0x02]);
        assert_eq!(cfg.macaroon_hex().as_str(), "abcd02");
        let dbg = format!("{cfg:?}");
        assert!(dbg.contains("[redacted]") && !dbg.contains("171"), "{dbg}");
    }
}
