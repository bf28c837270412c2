//! `watchonly-sim`: a stand-in for lnd's watch-only node on the
//! `watchonlyrpc.WatchOnly/SignCoordinatorStreams` stream (protocol.md), so
//! that a signer can be exercised without lnd.
//!
//! It serves the stream over TLS with an lnd-like self-signed certificate,
//! checks a macaroon it wrote itself, follows lnd's lifecycle rules (one
//! signer at a time, handshake, request ids, health pings, per-request
//! deadline whose miss ends the process like lnd's shutdown, re-send of
//! retryable requests after a reconnect) and drives realistic workloads
//! built from the watch-only xpubs of `accounts.json`, verifying every
//! answer cryptographically. See docs/watchonly-sim.md.

pub mod accounts;
pub mod cert;
pub mod coordinator;
pub mod psbt;
pub mod report;
pub mod scenarios;
pub mod scripts;
pub mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use self::accounts::{SimNetwork, WatchKeys};
use self::coordinator::{fmt_duration, Coordinator, CoordinatorConfig, WatchOnlyService};
use self::report::{Output, Report};
use crate::rpc::watchonlyrpc::watch_only_server::WatchOnlyServer;

/// Exit code: every check passed.
pub const EXIT_OK: i32 = 0;
/// Exit code: at least one check failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: bad arguments or setup failure (files, port).
pub const EXIT_SETUP: i32 = 2;
/// Exit code: a condition under which lnd shuts itself down (missed request
/// deadline, failed health check, no signer within the startup timeout).
pub const EXIT_SHUTDOWN: i32 = 3;

/// lnd's `MaxRecvMsgSize` on the remote-signer listener (200 MiB).
pub const MAX_MESSAGE_SIZE: usize = 200 * 1024 * 1024;

/// The workload to drive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// No workload: handshake and health pings only.
    Idle,
    /// On-chain wallet spends (P2WKH, NP2WKH, P2TR).
    Wallet,
    /// Legacy (anchor) channel: open, updates, force close sweeps, justice,
    /// coop close.
    Channel,
    /// Simple taproot channel: MuSig2 sessions, taproot HTLC/sweep PSBTs.
    TaprootChannel,
    /// Gossip and invoice message signatures.
    Gossip,
    /// Everything at once, interleaved.
    Mixed,
    /// Concurrent 10-input SignPsbt requests with pings in between
    /// (end-to-end fault tests).
    Burst,
    /// Requests the signer cannot handle, each followed by valid ones on the
    /// same stream (end-to-end fault tests).
    Errors,
    /// `lncli sendcoins` of 250,000 sat to a foreign address from two wallet
    /// coins (P2WKH + P2TR), signed input by input: a payment for exercising
    /// signing policies and approvals. Not part of `mixed`.
    Sendcoins,
}

impl Scenario {
    /// Name as given on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::Idle => "idle",
            Scenario::Wallet => "wallet",
            Scenario::Channel => "channel",
            Scenario::TaprootChannel => "taproot-channel",
            Scenario::Gossip => "gossip",
            Scenario::Mixed => "mixed",
            Scenario::Burst => "burst",
            Scenario::Errors => "errors",
            Scenario::Sendcoins => "sendcoins",
        }
    }
}

impl FromStr for Scenario {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "idle" => Scenario::Idle,
            "wallet" => Scenario::Wallet,
            "channel" => Scenario::Channel,
            "taproot-channel" => Scenario::TaprootChannel,
            "gossip" => Scenario::Gossip,
            "mixed" => Scenario::Mixed,
            "burst" => Scenario::Burst,
            "errors" => Scenario::Errors,
            "sendcoins" => Scenario::Sendcoins,
            other => {
                return Err(format!(
                    "unknown scenario {other:?} (idle, wallet, channel, taproot-channel, gossip, mixed, burst, errors, sendcoins)"
                ))
            }
        })
    }
}

pub use crate::duration::parse_duration;

/// Everything the simulator needs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address of the remote-signer listener (port 0: any free port).
    pub listen: SocketAddr,
    /// Directory for `tls.cert` / `tls.key`.
    pub tls_dir: PathBuf,
    /// Where the macaroon is written (None: no macaroon check).
    pub macaroon_out: Option<PathBuf>,
    /// accounts.json of the signer (required unless the scenario is idle).
    pub accounts: Option<PathBuf>,
    /// Network.
    pub network: SimNetwork,
    /// Workload.
    pub scenario: Scenario,
    /// Rounds of the workload (0: forever).
    pub rounds: u32,
    /// Pause between rounds.
    pub round_interval: Duration,
    /// Per-request deadline and handshake window
    /// (`remotesigner.experimentalrequesttimeout`).
    pub request_timeout: Duration,
    /// Health-check interval (0: disabled).
    pub ping_interval: Duration,
    /// Health-check timeout.
    pub ping_timeout: Duration,
    /// Health-check attempts before lnd would shut down.
    pub ping_attempts: u32,
    /// Pause between failed health-check attempts.
    pub ping_backoff: Duration,
    /// Wait for the first signer (0: forever).
    pub startup_timeout: Duration,
    /// Exit once the workload is done (otherwise keep serving until
    /// interrupted).
    pub exit_when_done: bool,
    /// Re-runs of a workload step whose non-retryable request failed because
    /// the signer disconnected (lnd's subsystems redo such operations).
    pub step_retries: u32,
    /// HTTP/2 keepalive: ping the signer after this long without activity
    /// (lnd's `grpc.server-ping-time`; below 1 s means 1 s, as in grpc-go).
    pub server_ping_time: Duration,
    /// HTTP/2 keepalive: drop the connection when a ping is not answered
    /// within this (lnd's `grpc.server-ping-timeout`).
    pub server_ping_timeout: Duration,
}

/// grpc-go's lower bound for the server's keepalive time
/// (`internal.KeepaliveMinServerPingTime`, applied to lnd's
/// `grpc.server-ping-time`).
pub const MIN_SERVER_PING_TIME: Duration = Duration::from_secs(1);

impl SimConfig {
    /// Defaults of lnd (request timeout 5 s, ping every minute with 1 s
    /// timeout and 1 attempt, startup timeout 5 min).
    pub fn new(listen: SocketAddr, tls_dir: PathBuf) -> Self {
        SimConfig {
            listen,
            tls_dir,
            macaroon_out: None,
            accounts: None,
            network: SimNetwork::Regtest,
            scenario: Scenario::Idle,
            rounds: 1,
            round_interval: Duration::ZERO,
            request_timeout: Duration::from_secs(5),
            ping_interval: Duration::from_secs(60),
            ping_timeout: Duration::from_secs(1),
            ping_attempts: 1,
            ping_backoff: Duration::from_secs(30),
            startup_timeout: Duration::from_secs(300),
            exit_when_done: false,
            step_retries: 1,
            server_ping_time: Duration::from_secs(60),
            server_ping_timeout: Duration::from_secs(20),
        }
    }
}

/// Accepted connections with Nagle's algorithm off, as Go (lnd) does by
/// default: tonic ignores its own `tcp_nodelay` for a custom incoming
/// stream, and without it small frames on a one-way stream wait for the
/// peer's delayed ACK (about 40 ms per request).
fn nodelay_incoming(
    listener: TcpListener,
) -> impl futures_util::Stream<Item = std::io::Result<tokio::net::TcpStream>> {
    use futures_util::StreamExt;
    TcpListenerStream::new(listener).map(|conn| {
        if let Ok(c) = &conn {
            let _ = c.set_nodelay(true);
        }
        conn
    })
}

async fn health_check(coord: Arc<Coordinator>, cfg: SimConfig) {
    if cfg.ping_interval.is_zero() || cfg.ping_attempts == 0 {
        return;
    }
    let mut next = tokio::time::Instant::now() + cfg.ping_interval;
    loop {
        tokio::time::sleep_until(next).await;
        next += cfg.ping_interval;
        let mut last_err = String::new();
        let mut ok = false;
        for attempt in 1..=cfg.ping_attempts {
            match coord.request(Req::Ping(true), cfg.ping_timeout).await {
                Ok(_) => {
                    coord
                        .stats
                        .pongs
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    ok = true;
                    break;
                }
                Err(e) => {
                    last_err = e.to_string();
                    coord.out().log(&format!(
                        "health check attempt {attempt}/{} failed: {last_err}",
                        cfg.ping_attempts
                    ));
                    if attempt < cfg.ping_attempts {
                        tokio::time::sleep(cfg.ping_backoff).await;
                    }
                }
            }
        }
        if !ok {
            coord.set_fatal(format!(
                "health check: remote signer ping failed after {} attempt(s) ({last_err}): the real lnd would shut down",
                cfg.ping_attempts
            ));
            return;
        }
        let now = tokio::time::Instant::now();
        if next < now {
            next = now;
        }
    }
}

async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn finish(out: &Output, report: &Report, coord: Option<&Coordinator>, code: i32) -> i32 {
    if let Some(c) = coord {
        use std::sync::atomic::Ordering::Relaxed;
        out.log(&format!(
            "stats: {} requests sent ({} re-sent after reconnects), last request id {}, {} pongs, {} signer handshakes, {} streams refused, {} responses dropped",
            c.stats.sent.load(Relaxed),
            c.stats.resent.load(Relaxed),
            c.last_id(),
            c.stats.pongs.load(Relaxed),
            c.stats.handshakes.load(Relaxed),
            c.stats.refused.load(Relaxed),
            c.stats.dropped.load(Relaxed),
        ));
    }
    out.result(&report.summary_line());
    let (_, failed) = report.counts();
    if code != EXIT_OK {
        code
    } else if failed > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// Runs the simulator until the workload is done (with `exit_when_done`), a
/// fatal condition occurs, or the process is interrupted. Returns the exit
/// code (`EXIT_*`). The last line written to the result sink is always
/// `N passed, M failed`.
pub async fn run(cfg: SimConfig, out: Arc<Output>) -> i32 {
    let report = Arc::new(Report::new());
    let setup_fail = |msg: String| {
        out.log(&msg);
        finish(&out, &report, None, EXIT_SETUP)
    };

    let keys = match (&cfg.accounts, cfg.scenario) {
        (Some(path), _) => {
            let json = match std::fs::read_to_string(path) {
                Ok(j) => j,
                Err(e) => return setup_fail(format!("cannot read {}: {e}", path.display())),
            };
            match WatchKeys::from_json(&json, cfg.network) {
                Ok(k) => Some(k),
                Err(e) => return setup_fail(format!("{}: {e}", path.display())),
            }
        }
        (None, Scenario::Idle) => None,
        (None, s) => {
            return setup_fail(format!(
                "--accounts is required for the {} scenario",
                s.name()
            ))
        }
    };
    if let (Some(k), true) = (&keys, cfg.scenario != Scenario::Idle) {
        if let Err(e) = k.check_required() {
            return setup_fail(e.to_string());
        }
    }

    let tls = match cert::load_or_create_tls(&cfg.tls_dir) {
        Ok(t) => t,
        Err(e) => return setup_fail(e.to_string()),
    };
    let macaroon_hex = match &cfg.macaroon_out {
        Some(p) => match cert::load_or_create_macaroon(p) {
            Ok(m) => Some(m),
            Err(e) => return setup_fail(e.to_string()),
        },
        None => None,
    };
    let listener = match TcpListener::bind(cfg.listen).await {
        Ok(l) => l,
        Err(e) => return setup_fail(format!("cannot listen on {}: {e}", cfg.listen)),
    };
    let addr = match listener.local_addr() {
        Ok(a) => a,
        Err(e) => return setup_fail(format!("cannot read the listen address: {e}")),
    };

    let coord = Coordinator::new(
        CoordinatorConfig {
            request_timeout: cfg.request_timeout,
            macaroon_hex,
            connect_timeout: (!cfg.startup_timeout.is_zero()).then_some(cfg.startup_timeout),
        },
        out.clone(),
    );
    let identity = Identity::from_pem(tls.cert_pem.as_bytes(), tls.key_pem.as_bytes());
    let builder = match Server::builder().tls_config(ServerTlsConfig::new().identity(identity)) {
        Ok(b) => b,
        Err(e) => return setup_fail(format!("cannot configure TLS: {e}")),
    };
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let service = WatchOnlyServer::new(WatchOnlyService::new(coord.clone()))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    // lnd's keepalive.ServerParameters (grpc.server-ping-time 1 min,
    // grpc.server-ping-timeout 20 s). Its EnforcementPolicy (client pings
    // at least grpc.client-ping-min-wait = 5 s apart, none without a
    // stream, else GOAWAY too_many_pings) has no counterpart in tonic or
    // h2, which answer every ping: see docs/watchonly-sim.md.
    let server = builder
        .http2_keepalive_interval(Some(cfg.server_ping_time.max(MIN_SERVER_PING_TIME)))
        .http2_keepalive_timeout(Some(cfg.server_ping_timeout))
        .add_service(service)
        .serve_with_incoming_shutdown(nodelay_incoming(listener), async move {
            let _ = stop_rx.wait_for(|s| *s).await;
        });
    let server_task = tokio::spawn(server);

    out.result(&format!(
        "listening on {addr} (tls cert {}, macaroon {}, scenario {}, network {})",
        tls.cert_path.display(),
        cfg.macaroon_out
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "none (no check)".into()),
        cfg.scenario.name(),
        cfg.network.name()
    ));

    let code = drive(&cfg, coord.clone(), keys, report.clone()).await;
    let _ = stop_tx.send(true);
    // Give open streams a moment to see their end; do not hang on them.
    let _ = tokio::time::timeout(Duration::from_secs(2), server_task).await;
    finish(&out, &report, Some(&coord), code)
}

async fn wait_fatal(coord: &Coordinator) -> String {
    let mut rx = coord.fatal_watch();
    let msg = match rx.wait_for(|f| f.is_some()).await {
        Ok(v) => v.clone(),
        Err(_) => None,
    };
    match msg {
        Some(m) => m,
        None => std::future::pending().await,
    }
}

async fn drive(
    cfg: &SimConfig,
    coord: Arc<Coordinator>,
    keys: Option<WatchKeys>,
    report: Arc<Report>,
) -> i32 {
    let out = coord.out();
    let fatal_code = |msg: &str| {
        out.result(&format!("FATAL {msg}"));
        out.log(msg);
        EXIT_SHUTDOWN
    };

    // Startup: like lnd, block until a signer completed the handshake.
    let startup = async {
        if cfg.startup_timeout.is_zero() {
            coord.wait_ready().await;
            true
        } else {
            tokio::time::timeout(cfg.startup_timeout, coord.wait_ready())
                .await
                .is_ok()
        }
    };
    tokio::select! {
        ok = startup => {
            if !ok {
                return fatal_code(&format!(
                    "timed out when waiting for remote signer to connect (startup timeout {}): the real lnd would abort its start",
                    fmt_duration(cfg.startup_timeout)
                ));
            }
        }
        _ = interrupted() => {
            out.log("interrupted before a signer connected");
            return EXIT_OK;
        }
    }

    let pinger = tokio::spawn(health_check(coord.clone(), cfg.clone()));
    let sim = Arc::new(scenarios::Sim::new(
        coord.clone(),
        keys,
        report.clone(),
        cfg.step_retries,
    ));
    let workload = {
        let sim = sim.clone();
        let cfg = cfg.clone();
        async move {
            let mut round = 0u32;
            while cfg.rounds == 0 || round < cfg.rounds {
                if round > 0 && !cfg.round_interval.is_zero() {
                    tokio::time::sleep(cfg.round_interval).await;
                }
                scenarios::run_round(&sim, cfg.scenario, round).await;
                round += 1;
            }
        }
    };

    let code = tokio::select! {
        _ = workload => {
            if cfg.exit_when_done {
                None
            } else {
                out.result(&report.summary_line());
                out.log("workload done; still serving the stream (Ctrl-C to stop)");
                tokio::select! {
                    msg = wait_fatal(&coord) => Some(fatal_code(&msg)),
                    _ = interrupted() => None,
                }
            }
        }
        msg = wait_fatal(&coord) => Some(fatal_code(&msg)),
        _ = interrupted() => {
            out.log("interrupted");
            None
        }
    };
    pinger.abort();
    // A fatal condition may have been raised by the last request of the
    // workload itself.
    match code {
        Some(c) => c,
        None => match coord.fatal_watch().borrow().clone() {
            Some(msg) => fatal_code(&msg),
            None => EXIT_OK,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn scenarios_parse() {
        for s in [
            "idle",
            "wallet",
            "channel",
            "taproot-channel",
            "gossip",
            "mixed",
            "burst",
            "errors",
            "sendcoins",
        ] {
            let parsed: Scenario = s.parse().expect("known scenario");
            assert_eq!(parsed.name(), s);
        }
        assert!("htlc".parse::<Scenario>().is_err());
    }
}
