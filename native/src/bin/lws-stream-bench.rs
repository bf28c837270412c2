//! Stream benchmark for `scripts/bench-stream.sh`: plays lnd's watch-only
//! node (the simulator's coordinator: TLS, macaroon, handshake, request ids)
//! for one signer — the native `lnd-web-signer connect` dialing it directly,
//! or the wasm signer in a browser behind `signer-bridge --grpc-web` — and
//! measures what lnd sees: request → response round trips on loopback.
//!
//! 1. sequential round trips (one request in flight) for `ping` and
//!    `SignPsbt` with one P2WKH input (`bench_requests` of the core);
//! 2. sustained load: `--window` requests kept in flight for
//!    `--sustain-secs`, for each kind: completed requests per second and the
//!    round-trip percentiles under that load.
//!
//! The signer uses the fixed regtest test seed (entropy
//! 4a7611b6979ba7c4bc5c5cd2239b2973, a public test key); the node builds its
//! PSBTs from it and writes its `tprv` to `bench-seed.txt` in `--tls-dir` for
//! the signer under test.
//! Prints `listening on ADDR` on stdout first, then, when done, one JSON
//! object (label, results) on stdout; a readable table goes to stderr.
//!
//! With `--bridge-signer URL` it is instead a minimal native signer behind
//! signer-bridge (plain gRPC `Attach`/`Reply`, the core's session and
//! `Signer`, seed and macaroon from `--tls-dir`): a baseline that shows the
//! bridge's own cost without a browser.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType as Req;
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType as Resp;
use lnd_web_signer_native::rpc::watchonlyrpc::watch_only_server::WatchOnlyServer;
use lnd_web_signer_native::sim::cert::{load_or_create_macaroon, load_or_create_tls};
use lnd_web_signer_native::sim::coordinator::{Coordinator, CoordinatorConfig, WatchOnlyService};
use lnd_web_signer_native::sim::report::Output;
use lnd_web_signer_native::sim::MAX_MESSAGE_SIZE;
use lnd_web_signer_testkit::fixtures::bench_requests;
use serde::Serialize;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::transport::{Identity, Server, ServerTlsConfig};

/// Entropy of the bench signer's seed (regtest).
const ENTROPY_HEX: &str = "4a7611b6979ba7c4bc5c5cd2239b2973";

/// Watch-only node for stream round-trip benchmarks (see scripts/bench-stream.sh).
#[derive(Debug, Parser)]
#[command(name = "lws-stream-bench")]
struct Args {
    /// Listen address (port 0: any free port; printed as `listening on ADDR`).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: std::net::SocketAddr,
    /// Directory for tls.cert/tls.key and the macaroon file `signer.macaroon`
    /// (reused when present).
    #[arg(long)]
    tls_dir: PathBuf,
    /// Label of this run in the JSON output (e.g. `native direct`).
    #[arg(long, default_value = "signer")]
    label: String,
    /// Sequential pings to time.
    #[arg(long, default_value_t = 2000)]
    pings: usize,
    /// Sequential 1-input SignPsbt requests to time.
    #[arg(long, default_value_t = 500)]
    psbts: usize,
    /// Requests in flight during the sustained runs.
    #[arg(long, default_value_t = 16)]
    window: usize,
    /// Seconds per sustained run (0: skip).
    #[arg(long, default_value_t = 5.0)]
    sustain_secs: f64,
    /// Longest wait for the signer to connect, in seconds.
    #[arg(long, default_value_t = 300)]
    startup_timeout: u64,
    /// Per-request deadline in seconds (a miss aborts the run).
    #[arg(long, default_value_t = 10)]
    request_timeout: u64,
    /// Instead of playing the node: be a native signer attached to the
    /// signer-bridge at this URL (gRPC), until killed.
    #[arg(long, value_name = "URL")]
    bridge_signer: Option<String>,
}

#[derive(Debug, Serialize)]
struct Measured {
    /// `ping` or `sign_psbt_p2wkh_1`.
    kind: String,
    /// `sequential` or `sustained`.
    mode: String,
    /// Requests in flight.
    window: usize,
    /// Completed requests.
    count: usize,
    /// Wall time of the run, seconds.
    secs: f64,
    /// Completed requests per second.
    per_sec: f64,
    p50_ms: f64,
    p90_ms: f64,
    p99_ms: f64,
    max_ms: f64,
}

#[derive(Debug, Serialize)]
struct Report {
    label: String,
    results: Vec<Measured>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn summarize(kind: &str, mode: &str, window: usize, mut rtts: Vec<f64>, secs: f64) -> Measured {
    rtts.sort_by(f64::total_cmp);
    Measured {
        kind: kind.to_string(),
        mode: mode.to_string(),
        window,
        count: rtts.len(),
        secs,
        per_sec: rtts.len() as f64 / secs.max(1e-9),
        p50_ms: percentile(&rtts, 50.0),
        p90_ms: percentile(&rtts, 90.0),
        p99_ms: percentile(&rtts, 99.0),
        max_ms: rtts.last().copied().unwrap_or(f64::NAN),
    }
}

/// Accepted connections with Nagle's algorithm off (tonic's `tcp_nodelay`
/// only applies to listeners it binds itself).
fn nodelay(
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

/// One request, timed; fails on a wrong answer.
async fn timed(coord: &Coordinator, req: &Req, timeout: Duration) -> Result<f64, String> {
    let t0 = Instant::now();
    let (id, resp) = coord
        .request(req.clone(), timeout)
        .await
        .map_err(|e| e.to_string())?;
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    match (req, &resp) {
        (Req::Ping(_), Resp::Pong(true)) => Ok(ms),
        (Req::SignPsbtRequest(_), Resp::SignPsbtResponse(r)) if r.signed_inputs == [0] => Ok(ms),
        _ => Err(format!("request {id}: unexpected answer")),
    }
}

async fn sequential(
    coord: &Coordinator,
    kind: &str,
    req: &Req,
    n: usize,
    timeout: Duration,
) -> Result<Measured, String> {
    let mut rtts = Vec::with_capacity(n);
    let t0 = Instant::now();
    for _ in 0..n {
        rtts.push(timed(coord, req, timeout).await?);
    }
    Ok(summarize(
        kind,
        "sequential",
        1,
        rtts,
        t0.elapsed().as_secs_f64(),
    ))
}

async fn sustained(
    coord: Arc<Coordinator>,
    kind: &str,
    req: &Req,
    window: usize,
    secs: f64,
    timeout: Duration,
) -> Result<Measured, String> {
    let t0 = Instant::now();
    let end = t0 + Duration::from_secs_f64(secs);
    let workers = (0..window.max(1)).map(|_| {
        let coord = coord.clone();
        let req = req.clone();
        tokio::spawn(async move {
            let mut rtts = Vec::new();
            while Instant::now() < end {
                rtts.push(timed(&coord, &req, timeout).await?);
            }
            Ok::<_, String>(rtts)
        })
    });
    let mut all = Vec::new();
    for r in futures_util::future::join_all(workers).await {
        all.extend(r.map_err(|e| format!("worker: {e}"))??);
    }
    Ok(summarize(
        kind,
        "sustained",
        window,
        all,
        t0.elapsed().as_secs_f64(),
    ))
}

async fn run(args: Args) -> Result<Report, String> {
    let entropy = hex::decode(ENTROPY_HEX).map_err(|e| e.to_string())?;
    let root = RootKey::from_seed_entropy(&entropy, Network::Regtest).map_err(|e| e.to_string())?;
    let psbt = bench_requests(&root)
        .into_iter()
        .find(|(name, _)| *name == "sign_psbt_p2wkh_1")
        .and_then(|(_, r)| r.sign_request_type)
        .ok_or("bench_requests has no sign_psbt_p2wkh_1")?;
    let ping = Req::Ping(true);

    let tls = load_or_create_tls(&args.tls_dir).map_err(|e| e.to_string())?;
    let tprv = bitcoin::bip32::Xpriv::new_master(bitcoin::NetworkKind::Test, &entropy)
        .map_err(|e| e.to_string())?;
    let seed_path = args.tls_dir.join("bench-seed.txt");
    std::fs::write(&seed_path, format!("{tprv}\n"))
        .map_err(|e| format!("cannot write {}: {e}", seed_path.display()))?;
    let macaroon_hex = load_or_create_macaroon(&args.tls_dir.join("signer.macaroon"))
        .map_err(|e| e.to_string())?;
    let listener = TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(args.request_timeout.max(1));
    let out = Arc::new(Output::new(
        Box::new(std::io::sink()),
        Box::new(std::io::stderr()),
        true,
    ));
    let coord = Coordinator::new(
        CoordinatorConfig {
            request_timeout: timeout,
            macaroon_hex: Some(macaroon_hex),
            connect_timeout: Some(Duration::from_secs(args.startup_timeout)),
        },
        out,
    );
    let identity = Identity::from_pem(tls.cert_pem.as_bytes(), tls.key_pem.as_bytes());
    let service = WatchOnlyServer::new(WatchOnlyService::new(coord.clone()))
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let server = Server::builder()
        .tls_config(ServerTlsConfig::new().identity(identity))
        .map_err(|e| format!("cannot configure TLS: {e}"))?
        .add_service(service)
        .serve_with_incoming(nodelay(listener));
    let server = tokio::spawn(server);
    #[allow(clippy::print_stdout)]
    {
        println!("listening on {addr}");
    }

    tokio::time::timeout(
        Duration::from_secs(args.startup_timeout),
        coord.wait_ready(),
    )
    .await
    .map_err(|_| "no signer connected within the startup timeout".to_string())?;

    // Warm-up (JIT/tiering in the browser, connection windows, caches).
    for _ in 0..50 {
        timed(&coord, &ping, timeout).await?;
    }
    for _ in 0..20 {
        timed(&coord, &psbt, timeout).await?;
    }

    let mut results = vec![
        sequential(&coord, "ping", &ping, args.pings, timeout).await?,
        sequential(&coord, "sign_psbt_p2wkh_1", &psbt, args.psbts, timeout).await?,
    ];
    if args.sustain_secs > 0.0 {
        for (kind, req) in [("ping", &ping), ("sign_psbt_p2wkh_1", &psbt)] {
            results.push(
                sustained(
                    coord.clone(),
                    kind,
                    req,
                    args.window,
                    args.sustain_secs,
                    timeout,
                )
                .await?,
            );
        }
    }
    server.abort();
    Ok(Report {
        label: args.label,
        results,
    })
}

/// A native signer behind signer-bridge: Attach, register, answer every
/// request on the blocking pool, one Reply call each (concurrently).
async fn bridge_signer(url: String, dir: PathBuf) -> Result<(), String> {
    use lnd_web_signer::entropy::OsEntropy;
    use lnd_web_signer::proto::signerbridge::attach_event::Event as AttachEventKind;
    use lnd_web_signer::proto::signerbridge::signer_bridge_client::SignerBridgeClient;
    use lnd_web_signer::proto::signerbridge::{AttachRequest, ReplyRequest};
    use lnd_web_signer::session::{self, Event, Session, SessionConfig};
    use lnd_web_signer::signer::Signer;

    let seed = std::fs::read_to_string(dir.join("bench-seed.txt")).map_err(|e| e.to_string())?;
    let root = RootKey::from_xprv(seed.trim(), Network::Regtest).map_err(|e| e.to_string())?;
    let signer = Arc::new(Signer::new(root, Box::new(OsEntropy)));
    let macaroon =
        hex::encode(std::fs::read(dir.join("signer.macaroon")).map_err(|e| e.to_string())?);
    let channel = tonic::transport::Endpoint::from_shared(url)
        .map_err(|e| e.to_string())?
        .tcp_nodelay(true)
        .connect()
        .await
        .map_err(|e| format!("cannot reach the bridge: {e}"))?;
    let mut client = SignerBridgeClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let mut attach = tonic::Request::new(AttachRequest {
        client_info: "lws-stream-bench".into(),
        ..Default::default()
    });
    attach.metadata_mut().insert(
        "macaroon",
        macaroon.parse().map_err(|_| "macaroon metadata")?,
    );
    let mut events = client
        .attach(attach)
        .await
        .map_err(|s| format!("attach: {s}"))?
        .into_inner();
    let token = match events.message().await.map_err(|s| s.to_string())? {
        Some(e) => match e.event {
            Some(AttachEventKind::SessionToken(t)) => t,
            _ => return Err("first event is not the session token".into()),
        },
        None => return Err("attach stream ended".into()),
    };
    let clock = Instant::now();
    let mut session = Session::new(SessionConfig::default()).map_err(|e| e.to_string())?;
    let registration = session.start(clock.elapsed()).map_err(|e| e.to_string())?;
    let reply = |client: &SignerBridgeClient<tonic::transport::Channel>, response| {
        let mut client = client.clone();
        let req = ReplyRequest {
            session_token: token.clone(),
            response: Some(response),
        };
        async move { client.reply(req).await.map(|_| ()) }
    };
    reply(&client, registration)
        .await
        .map_err(|s| format!("registration reply: {s}"))?;
    while let Some(ev) = events.message().await.map_err(|s| s.to_string())? {
        let Some(AttachEventKind::Request(req)) = ev.event else {
            continue;
        };
        match session
            .on_request(req, clock.elapsed())
            .map_err(|e| e.to_string())?
        {
            Event::Registered { .. } => {}
            Event::Reply(resp) => {
                let fut = reply(&client, resp);
                tokio::spawn(fut);
            }
            Event::Handle(work) => {
                let signer = signer.clone();
                let client = client.clone();
                let token = token.clone();
                tokio::spawn(async move {
                    let resp = tokio::task::spawn_blocking(move || {
                        session::answer(&work, |w| signer.handle(w))
                    })
                    .await;
                    if let Ok(resp) = resp {
                        let mut client = client;
                        let _ = client
                            .reply(ReplyRequest {
                                session_token: token,
                                response: Some(resp),
                            })
                            .await;
                    }
                });
            }
        }
    }
    Ok(())
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(url) = args.bridge_signer.clone() {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("lws-stream-bench: cannot start the async runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        return match runtime.block_on(bridge_signer(url, args.tls_dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("lws-stream-bench (bridge signer): {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lws-stream-bench: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(args));
    runtime.shutdown_timeout(Duration::from_millis(200));
    match result {
        Ok(report) => {
            eprintln!("{}", report.label);
            eprintln!(
                "  {:<18} {:<10} {:>6} {:>8} {:>9} {:>8} {:>8} {:>8}",
                "kind", "mode", "window", "count", "req/s", "p50 ms", "p99 ms", "max ms"
            );
            for m in &report.results {
                eprintln!(
                    "  {:<18} {:<10} {:>6} {:>8} {:>9.0} {:>8.3} {:>8.3} {:>8.3}",
                    m.kind, m.mode, m.window, m.count, m.per_sec, m.p50_ms, m.p99_ms, m.max_ms
                );
            }
            match serde_json::to_string(&report) {
                Ok(json) => {
                    println!("{json}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("lws-stream-bench: cannot encode results: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("lws-stream-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
