//! Command-line glue for `lnd-web-signer connect`: the connection flags (or
//! `--bundle`, a signer credentials bundle), the least-privilege macaroon
//! warning, the real signer as handler, logging and SIGINT/SIGTERM handling.
//! The seed flags come from the shared seed-argument struct of the binary.

use std::{io::Write, path::PathBuf, sync::Arc, time::Duration};

use lnd_web_signer::bundle::Endpoint;
use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::macaroon;
use lnd_web_signer::musig2::{self, Limits};
use lnd_web_signer::session::{fmt_secs, idle_timeout_for};
use lnd_web_signer::signer::Signer;

use super::{run, ConnectConfig, ConnectError, Handler};
use crate::cli::bundle::read_signer_bundle_file;
use crate::cli::policy::{handle_audited, AuditWriter, PolicyArgs};
use crate::cli::seed_args::SeedArgs;
use crate::cli::CliError;
use crate::duration::parse_duration;
use crate::keepalive::{Keepalive, LND_CLIENT_PING_MIN_WAIT};

/// `lnd-web-signer connect`: connection flags plus the shared seed flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectArgs {
    /// Where and how to reach the watch-only node.
    #[command(flatten)]
    pub conn: ConnectOpts,
    /// Where the seed comes from.
    #[command(flatten)]
    pub seed: SeedArgs,
    /// Signing policy and audit log.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

impl ConnectArgs {
    /// Loads the seed and the connection settings (files or `--bundle`),
    /// then serves the watch-only node until SIGINT/SIGTERM (exit 0) or,
    /// with `--once`, until the first stream ends. Writes nothing to `out`;
    /// logs go to stderr.
    pub fn run(self, _out: &mut dyn Write) -> Result<(), CliError> {
        let loaded = self.seed.load()?;
        init_logging();
        // The policy first: a mistake in it stops the signer before it dials.
        let signer = Signer::new(loaded.root, Box::new(OsEntropy));
        let audit = self.policy.apply(&signer, loaded.policy.as_deref())?;
        let config = self.conn.config()?;
        let limits = self.conn.musig2_limits();
        run_connect_blocking(config, signer, audit, limits)
            .map_err(|e| CliError::new(e.to_string()))
    }
}

/// Connection flags of `lnd-web-signer connect` (the seed flags are separate).
#[derive(Debug, Clone, clap::Args)]
pub struct ConnectOpts {
    /// HOST:PORT of the watch-only node's remote-signer listener
    /// (`remotesigner.experimentalrpclisten`, default port 10019).
    #[arg(long, value_name = "HOST:PORT", required_unless_present = "bundle")]
    pub rpchost: Option<String>,
    /// The watch-only node's `tls.cert` (PEM); the connection is pinned to it.
    #[arg(long, value_name = "CERT", required_unless_present = "bundle")]
    pub tlscertpath: Option<PathBuf>,
    /// Macaroon with the `remotesigner:generate` permission (binary file, or hex text).
    #[arg(long, value_name = "MAC", required_unless_present = "bundle")]
    pub macaroonpath: Option<PathBuf>,
    /// A signer bundle made by `lnd-web-signer bundle signer --rpchost …`
    /// (credentials-bundle.tar.gz or its .b64 text): gives the address,
    /// tls.cert and macaroon instead of the three flags above.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["rpchost", "tlscertpath", "macaroonpath"])]
    pub bundle: Option<PathBuf>,
    /// HTTP/2 keepalive: ping lnd after this long without any frame from
    /// it, while the stream is open (0 = no pings). Stay at or above lnd's
    /// `grpc.client-ping-min-wait` (5s by default): lnd closes connections
    /// that ping more often with GOAWAY `too_many_pings`.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub keepalive_interval: Duration,
    /// HTTP/2 keepalive: a ping unanswered for this long closes the
    /// connection (then the signer reconnects).
    #[arg(long, value_name = "DURATION", default_value = "20s", value_parser = parse_duration)]
    pub keepalive_timeout: Duration,
    /// lnd's `healthcheck.remotesigner.interval`: how often lnd pings its
    /// signer. The idle watchdog counts in these intervals.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = parse_duration)]
    pub health_check_interval: Duration,
    /// Idle watchdog: reconnect when no message at all came from lnd for
    /// this many health-check intervals (0 = no watchdog; use that when
    /// lnd's health check is off, `healthcheck.remotesigner.attempts=0`).
    #[arg(long, value_name = "N", default_value_t = lnd_web_signer::session::DEFAULT_IDLE_MULTIPLE)]
    pub idle_multiple: u32,
    /// Idle watchdog limit given directly, instead of
    /// --health-check-interval × --idle-multiple (0 = no watchdog).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub idle_timeout: Option<Duration>,
    /// Exit after the first stream ends instead of reconnecting (for tests).
    #[arg(long)]
    pub once: bool,
    /// Keep at most N never-signed and N signed-but-unfinished MuSig2
    /// sessions (each about 0.9 KiB), evicting the oldest beyond; lnd
    /// leaves one of each per taproot-channel state update open.
    #[arg(long, value_name = "N", default_value_t = musig2::DEFAULT_MAX_SESSIONS as u32,
          value_parser = clap::value_parser!(u32).range(1..=musig2::MAX_MAX_SESSIONS as i64))]
    pub musig2_max_sessions: u32,
}

impl ConnectOpts {
    /// The MuSig2 session bounds `--musig2-max-sessions` asks for.
    pub fn musig2_limits(&self) -> Limits {
        Limits::for_sessions(self.musig2_max_sessions as usize)
    }
}

impl ConnectOpts {
    /// The connection settings: from `--bundle`, or from --rpchost,
    /// --tlscertpath and --macaroonpath; with the liveness flags applied.
    /// Logs a warning when the macaroon grants more than (or not)
    /// `remotesigner:generate`.
    pub fn config(&self) -> Result<ConnectConfig, CliError> {
        let err = |e: ConnectError| CliError::new(e.to_string());
        let mut config = match (
            &self.bundle,
            &self.rpchost,
            &self.tlscertpath,
            &self.macaroonpath,
        ) {
            (Some(path), ..) => {
                let b = read_signer_bundle_file(path)?;
                let rpchost = match b.endpoint() {
                    Endpoint::RpcHost(h) => h.clone(),
                    Endpoint::BridgeUrl(u) => {
                        return Err(CliError::new(format!(
                            "bundle {} is for browser signers (bridge_url {u}): the native signer dials lnd's signer listener directly; make a bundle with --rpchost HOST:PORT (lnd-web-signer bundle signer)",
                            path.display()
                        )))
                    }
                };
                if let Some(w) = b.macaroon_info().warning() {
                    tracing::warn!("macaroon in bundle {}: {w}", path.display());
                }
                ConnectConfig::new(
                    rpchost,
                    b.tls_cert_pem().as_bytes().to_vec(),
                    b.macaroon().expose().to_vec(),
                )
            }
            (None, Some(rpchost), Some(cert), Some(mac)) => {
                let config = ConnectConfig::from_files(rpchost.clone(), cert, mac).map_err(err)?;
                match macaroon::decode(&config.macaroon) {
                    Ok(info) => {
                        if let Some(w) = info.warning() {
                            tracing::warn!("macaroon file {}: {w}", mac.display());
                        }
                    }
                    Err(e) => tracing::warn!(
                        "macaroon file {} does not decode as lnd's macaroon ({e}); lnd refuses anything else",
                        mac.display()
                    ),
                }
                config
            }
            _ => {
                return Err(CliError::new(
                    "give --bundle FILE, or --rpchost, --tlscertpath and --macaroonpath",
                ))
            }
        };
        self.apply(&mut config).map_err(err)?;
        Ok(config)
    }

    /// The idle watchdog limit the flags ask for (`None`: off).
    pub fn idle_limit(&self) -> Option<Duration> {
        match self.idle_timeout {
            Some(d) if d.is_zero() => None,
            Some(d) => Some(d),
            None => idle_timeout_for(self.health_check_interval, self.idle_multiple),
        }
    }

    /// Applies the liveness flags (keepalive, idle watchdog) and `--once`
    /// to `config`.
    pub fn apply(&self, config: &mut ConnectConfig) -> Result<(), ConnectError> {
        config.keepalive = Keepalive::from_flags(self.keepalive_interval, self.keepalive_timeout)?;
        config.session.idle_timeout = self.idle_limit();
        config.once = self.once;
        Ok(())
    }
}

/// The signing core as a connect [`Handler`]. The signer (and its MuSig2
/// sessions) is shared by all streams of this process.
pub fn signer_handler(signer: Signer) -> Handler {
    audited_handler(signer, None)
}

/// [`signer_handler`] that writes each decision to `audit` before the
/// answer leaves.
pub fn audited_handler(signer: Signer, audit: Option<AuditWriter>) -> Handler {
    let signer = Arc::new(signer);
    Arc::new(move |work| handle_audited(&signer, audit.as_ref(), work))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => tracing::info!("SIGINT received"),
        _ = term => tracing::info!("SIGTERM received"),
    }
}

/// Logs to stderr (`RUST_LOG` overrides the default `info`). Does nothing if
/// a subscriber is already installed.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// Runs `connect` with `signer` (its policy set, its decisions written to
/// `audit`) until SIGINT/SIGTERM (or, with `--once`, until the first
/// stream ends); `config` comes from [`ConnectOpts::config`].
/// `limits` bound its MuSig2 session table.
pub async fn run_connect(
    config: ConnectConfig,
    signer: Signer,
    audit: Option<AuditWriter>,
    limits: Limits,
) -> Result<(), ConnectError> {
    signer.set_musig2_limits(limits);
    // Evictions are how the MuSig2 session table stays bounded (lnd never
    // cleans up the sessions of the remote commitments it signs): one info
    // line each, like the per-request lines.
    signer.set_musig2_logger(Box::new(|line: &str| tracing::info!("{line}")));
    let off = || "off".to_string();
    tracing::info!(
        network = %signer.network(),
        rpchost = %config.rpchost,
        registration_info = %config.session.registration_info,
        keepalive = %config.keepalive.interval.map(fmt_secs).unwrap_or_else(off),
        keepalive_timeout = %fmt_secs(config.keepalive.timeout),
        idle_timeout = %config.session.idle_timeout.map(fmt_secs).unwrap_or_else(off),
        musig2_max_sessions = limits.max_unsigned_sessions,
        policy = %policy_summary(&signer.policy_config()),
        audit_log = %audit.as_ref().map(|a| a.path().display().to_string()).unwrap_or_else(off),
        "starting remote signer"
    );
    if config.keepalive.below_lnd_default_minimum() {
        tracing::warn!(
            "--keepalive-interval is below lnd's default grpc.client-ping-min-wait of {}: lnd closes such connections with GOAWAY too_many_pings unless it lowered that setting",
            fmt_secs(LND_CLIENT_PING_MIN_WAIT)
        );
    }
    run(config, audited_handler(signer, audit), shutdown_signal()).await
}

/// One-line summary of the policy in force, for the start-up log.
pub fn policy_summary(c: &lnd_web_signer::policy::PolicyConfig) -> String {
    let sat = |v: Option<u64>| v.map_or_else(|| "none".to_owned(), |v| v.to_string());
    format!(
        "external per tx {}, per day {}, fee {}, feerate {}, allowlist {}, over limit {:?}, sweeps to own wallet {}, pre-generated nonces {}",
        sat(c.max_external_per_tx),
        sat(c.max_external_per_day),
        sat(c.max_fee),
        sat(c.max_feerate),
        c.allowlist.len(),
        c.over_limit,
        c.sweeps_require_own_wallet,
        c.pregenerated_nonce.name()
    )
}

/// [`run_connect`] on a new multi-threaded tokio runtime, with logging set up.
pub fn run_connect_blocking(
    config: ConnectConfig,
    signer: Signer,
    audit: Option<AuditWriter>,
    limits: Limits,
) -> Result<(), ConnectError> {
    init_logging();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| ConnectError::Transport {
            addr: config.rpchost.clone(),
            detail: format!("cannot start the async runtime: {e}"),
        })?;
    runtime.block_on(run_connect(config, signer, audit, limits))
}
