//! `watchonly-sim`: a stand-in for lnd's watch-only node on the remote-signer
//! stream. See docs/watchonly-sim.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use lnd_web_signer_native::sim::{
    self, accounts::SimNetwork, parse_duration, report::Output, Scenario, SimConfig,
};

fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s)
}

/// Stand-in for lnd's watch-only node on `WatchOnly/SignCoordinatorStreams`.
///
/// Serves the stream over TLS (self-signed certificate written to
/// --tls-dir like lnd's tls.cert), checks the macaroon it writes to
/// --macaroon-out, follows lnd's protocol rules (one signer at a time,
/// handshake checks, request ids from 2 never reset, health pings,
/// per-request deadline whose miss ends the process like lnd's shutdown,
/// re-send of SignPsbt/SignMessage/Ping after a reconnect) and drives a
/// workload built from accounts.json, verifying every answer.
///
/// Output: one `ok`/`FAIL` line per verified answer on stdout, ending with
/// `N passed, M failed`. Exit code 0 all passed, 1 a check failed, 2 setup
/// error, 3 lnd would have shut down (missed deadline, failed health check,
/// no signer within the startup timeout).
#[derive(Debug, Parser)]
#[command(name = "watchonly-sim", version)]
struct Args {
    /// Listen address of the remote-signer listener (port 0 picks a free one;
    /// the chosen address is printed as `listening on ADDR ...`).
    #[arg(long, default_value = "127.0.0.1:10019")]
    listen: SocketAddr,
    /// Directory for tls.cert and tls.key (reused when present, like lnd).
    #[arg(long)]
    tls_dir: PathBuf,
    /// File for the macaroon the signer must present (random bytes, reused
    /// when present; the signer sends its hex in the `macaroon` metadata).
    #[arg(long, conflicts_with = "no_macaroons")]
    macaroon_out: Option<PathBuf>,
    /// Accept streams without checking a macaroon (lnd's --no-macaroons).
    #[arg(long)]
    no_macaroons: bool,
    /// The signer's accounts.json (`lnd-web-signer accounts` /
    /// `lncli wallet accounts list`); required unless --scenario idle.
    #[arg(long)]
    accounts: Option<PathBuf>,
    /// Network: mainnet, testnet, testnet4, signet, regtest, simnet.
    #[arg(long, default_value = "regtest")]
    network: SimNetwork,
    /// Workload: idle, wallet, channel, taproot-channel, gossip, mixed, burst
    /// (10-input SignPsbt burst with pings), errors (requests the signer cannot
    /// handle), sendcoins (a 250,000 sat payment, for signing policies; not in
    /// mixed).
    #[arg(long, default_value = "mixed")]
    scenario: Scenario,
    /// Rounds of the workload (0 = forever).
    #[arg(long, default_value_t = 1)]
    rounds: u32,
    /// Pause between rounds.
    #[arg(long, default_value = "0s", value_parser = duration_arg)]
    round_interval: Duration,
    /// Per-request deadline and handshake window
    /// (remotesigner.experimentalrequesttimeout). A missed deadline ends the
    /// process with exit code 3.
    #[arg(long, default_value = "5s", value_parser = duration_arg)]
    request_timeout: Duration,
    /// Health-check ping interval (healthcheck.remotesigner.interval; 0 disables).
    #[arg(long, default_value = "1m", value_parser = duration_arg)]
    ping_interval: Duration,
    /// Health-check ping timeout (healthcheck.remotesigner.timeout).
    #[arg(long, default_value = "1s", value_parser = duration_arg)]
    ping_timeout: Duration,
    /// Health-check attempts before lnd would shut down
    /// (healthcheck.remotesigner.attempts; 0 disables).
    #[arg(long, default_value_t = 1)]
    ping_attempts: u32,
    /// Pause between failed health-check attempts.
    #[arg(long, default_value = "30s", value_parser = duration_arg)]
    ping_backoff: Duration,
    /// Longest wait for the first signer (remotesigner.experimentalstartuptimeout; 0 = forever).
    #[arg(long, default_value = "5m", value_parser = duration_arg)]
    startup_timeout: Duration,
    /// Exit when the workload is done (default: keep serving until Ctrl-C).
    #[arg(long)]
    exit_when_done: bool,
    /// Re-runs of a step whose SharedKey/MuSig2 request failed because the
    /// signer disconnected.
    #[arg(long, default_value_t = 1)]
    step_retries: u32,
    /// HTTP/2 keepalive: ping the signer after this long without activity
    /// (grpc.server-ping-time; at least 1s, as in grpc-go).
    #[arg(long, default_value = "1m", value_parser = duration_arg)]
    server_ping_time: Duration,
    /// HTTP/2 keepalive: drop the connection when a ping is not answered
    /// within this (grpc.server-ping-timeout).
    #[arg(long, default_value = "20s", value_parser = duration_arg)]
    server_ping_timeout: Duration,
    /// Only list failed checks (and the summary).
    #[arg(long, short)]
    quiet: bool,
}

fn main() {
    let args = Args::parse();
    let mut cfg = SimConfig::new(args.listen, args.tls_dir);
    cfg.macaroon_out = if args.no_macaroons {
        None
    } else {
        Some(
            args.macaroon_out
                .unwrap_or_else(|| PathBuf::from("watchonly-sim.macaroon")),
        )
    };
    cfg.accounts = args.accounts;
    cfg.network = args.network;
    cfg.scenario = args.scenario;
    cfg.rounds = args.rounds;
    cfg.round_interval = args.round_interval;
    cfg.request_timeout = args.request_timeout;
    cfg.ping_interval = args.ping_interval;
    cfg.ping_timeout = args.ping_timeout;
    cfg.ping_attempts = args.ping_attempts;
    cfg.ping_backoff = args.ping_backoff;
    cfg.startup_timeout = args.startup_timeout;
    cfg.exit_when_done = args.exit_when_done;
    cfg.step_retries = args.step_retries;
    cfg.server_ping_time = args.server_ping_time;
    cfg.server_ping_timeout = args.server_ping_timeout;

    let out = Arc::new(Output::stdio(args.quiet));
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out.log(&format!("cannot start the async runtime: {e}"));
            std::process::exit(sim::EXIT_SETUP);
        }
    };
    let code = runtime.block_on(sim::run(cfg, out));
    runtime.shutdown_timeout(Duration::from_millis(200));
    std::process::exit(code);
}
