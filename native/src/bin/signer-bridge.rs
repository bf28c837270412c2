//! `signer-bridge`: Attach/Reply relay between a grpc-web remote signer and
//! lnd's `SignCoordinatorStreams` (see docs/bridge.md).

use std::{io::IsTerminal, net::SocketAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::Parser;
use lnd_web_signer_native::bridge::{
    AttachRate, Bridge, BridgeConfig, DEFAULT_ATTACH_BURST, DEFAULT_ATTACH_PER_MINUTE,
    DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_PENDING_ATTACHES,
    DEFAULT_MAX_REPLY_BYTES, DEFAULT_MAX_SESSIONS,
};
use lnd_web_signer_native::duration::parse_duration;
use lnd_web_signer_native::keepalive::{Keepalive, LND_CLIENT_PING_MIN_WAIT};
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

/// Relays lnd's remote-signer stream to a grpc-web signer: Attach (server
/// stream) plus Reply (unary).
#[derive(Debug, Parser)]
#[command(name = "signer-bridge", version)]
struct Cli {
    /// Address to listen on, e.g. 127.0.0.1:8090 (Envoy or browsers connect here).
    #[arg(long, value_name = "ADDR")]
    listen: SocketAddr,
    /// lnd's remote-signer listener (remotesigner.experimentalrpclisten), e.g. 127.0.0.1:10019.
    #[arg(long, value_name = "HOST:PORT")]
    lnd_rpchost: String,
    /// lnd's tls.cert; the bridge accepts exactly this certificate.
    #[arg(long, value_name = "CERT")]
    lnd_tlscertpath: PathBuf,
    /// Serve grpc-web (HTTP/1.1 and HTTP/2) with CORS directly to browsers
    /// (development and tests; production uses Envoy in front of plain gRPC).
    #[arg(long)]
    grpc_web: bool,
    /// Origin allowed by CORS in --grpc-web mode and on the WebSocket
    /// channel (scheme://host[:port], exactly; no wildcards); repeat for more.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origin: Vec<String>,
    /// Serve the WebSocket channel (GET /signerbridge.SignerBridge/WebSocket,
    /// one connection per signer session) on the same listener. On by
    /// default with --grpc-web; behind Envoy (plain gRPC) give it with
    /// --allow-origin.
    #[arg(long, conflicts_with = "no_websocket")]
    websocket: bool,
    /// With --grpc-web: do not serve the WebSocket channel.
    #[arg(long)]
    no_websocket: bool,
    /// Seconds allowed for TCP connect plus TLS handshake to lnd.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_CONNECT_TIMEOUT.as_secs())]
    connect_timeout: u64,
    /// HTTP/2 keepalive towards lnd: ping after this long without any frame
    /// from lnd, while a signer stream is open (0 = no pings). Stay at or
    /// above lnd's grpc.client-ping-min-wait (5s by default): lnd closes
    /// connections that ping more often with GOAWAY too_many_pings.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    lnd_keepalive_interval: Duration,
    /// HTTP/2 keepalive towards lnd: a ping unanswered for this long closes
    /// the connection and ends the Attach stream with UNAVAILABLE.
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    lnd_keepalive_timeout: Duration,
    /// Largest request accepted from lnd, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_MESSAGE_BYTES)]
    max_request_bytes: usize,
    /// Largest Reply accepted from the signer, in bytes (a Reply that does
    /// not start with its session token: at most 16384).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_REPLY_BYTES)]
    max_reply_bytes: usize,
    /// Simultaneous Attach sessions (each holds one connection to lnd).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_SESSIONS)]
    max_sessions: usize,
    /// Accept Attach calls without macaroon metadata (only for an lnd run
    /// with --no-macaroons); by default they are refused before lnd is dialed.
    #[arg(long)]
    allow_no_macaroon: bool,
    /// Attach calls dialing lnd (TCP + TLS) at the same time; more are refused
    /// with RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_PENDING_ATTACHES)]
    max_pending_attaches: usize,
    /// Attach attempts one source address (IPv6: one /64) may make at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ATTACH_BURST)]
    attach_burst: u32,
    /// Attach attempts per source and minute after the burst (0 = no limit).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ATTACH_PER_MINUTE)]
    attach_per_minute: u32,
    /// Take the caller's address for --attach-* from this header's last
    /// entry (set by a trusted proxy in front, e.g. Envoy's
    /// x-forwarded-for) instead of the TCP peer. Never use it without such
    /// a proxy: callers could pick their own address.
    #[arg(long, value_name = "NAME")]
    client_address_header: Option<String>,
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => info!("SIGINT received"),
                    _ = term.recv() => info!("SIGTERM received"),
                }
            }
            Err(e) => {
                error!("cannot watch SIGTERM ({e}); only SIGINT stops the bridge");
                let _ = tokio::signal::ctrl_c().await;
                info!("SIGINT received");
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        info!("interrupt received");
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();

    let keepalive =
        match Keepalive::from_flags(cli.lnd_keepalive_interval, cli.lnd_keepalive_timeout) {
            Ok(k) => k,
            Err(e) => {
                #[allow(clippy::print_stderr)]
                {
                    eprintln!("signer-bridge: --lnd-keepalive-timeout: {e}");
                }
                return ExitCode::FAILURE;
            }
        };
    if keepalive.below_lnd_default_minimum() {
        tracing::warn!(
            "--lnd-keepalive-interval is below lnd's default grpc.client-ping-min-wait of {} s: lnd closes such connections with GOAWAY too_many_pings unless it lowered that setting",
            LND_CLIENT_PING_MIN_WAIT.as_secs()
        );
    }
    let mut config = BridgeConfig::new(cli.lnd_rpchost, cli.lnd_tlscertpath);
    config.connect_timeout = Duration::from_secs(cli.connect_timeout.max(1));
    config.lnd_keepalive = keepalive;
    config.max_request_bytes = cli.max_request_bytes;
    config.max_reply_bytes = cli.max_reply_bytes;
    config.max_sessions = cli.max_sessions;
    config.allow_no_macaroon = cli.allow_no_macaroon;
    config.max_pending_attaches = cli.max_pending_attaches;
    config.attach_rate = AttachRate {
        burst: cli.attach_burst,
        per_minute: cli.attach_per_minute,
    };
    config.client_address_header = cli.client_address_header;
    config.grpc_web = cli.grpc_web;
    if !cli.allow_origin.is_empty() && !cli.grpc_web && !cli.websocket {
        error!("--allow-origin needs --grpc-web or --websocket");
        return ExitCode::from(2);
    }
    config.allow_origins = cli.allow_origin;
    config.websocket = cli.websocket || (cli.grpc_web && !cli.no_websocket);

    let result = match Bridge::new(config) {
        Ok(bridge) => bridge.serve_addr(cli.listen, shutdown_signal()).await,
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => {
            info!("signer-bridge stopped");
            ExitCode::SUCCESS
        }
        Err(e) => {
            // Not through tracing: the message must show even with RUST_LOG=off.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("signer-bridge: {e}");
            }
            ExitCode::FAILURE
        }
    }
}
