//! Liveness of the links to lnd (docs/testing.md, "Differences from the
//! real lnd" and stall detection): dead connections are found by HTTP/2 keepalive within lnd's ping
//! policy, silent streams by the session's idle watchdog, and lnd's lazy
//! response headers are reproduced.
//!
//! * A TCP proxy that black-holes its open connections (no FIN, no RST)
//!   after the registration: the native signer (`lnd-web-signer connect`)
//!   and signer-bridge's leg to lnd notice it within keepalive interval +
//!   timeout and reconnect.
//! * A simulator that stops sending after the registration but keeps the
//!   connection (scenario `idle`, no health pings): the signer's idle
//!   watchdog drops the stream and registers anew; health pings keep it.
//! * grpc-go itself (`tests/grpcgo_node/`, built with the local Go
//!   toolchain at lnd's grpc-go version; skipped without `go`, required with
//!   `LWS_REQUIRE_GO=1`): our keepalive pings at or above the server's
//!   `MinTime` survive its enforcement policy, pings below it get GOAWAY
//!   `too_many_pings` (so the policy really is enforced there), and a
//!   stream's headers come only with the registration answer.
//!
//! Every wait is bounded; child processes are killed on drop.
#![allow(clippy::print_stderr)]

use crate::support::bridge as bridge_support;
use crate::support::e2e as e2e_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use e2e_support::{start_signer, CutProxy, Fixture, Proc, SeedSource, Sim};
use lnd_web_signer::proto::signerbridge::{attach_event::Event, AttachRequest, ReplyRequest};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_request::SignRequestType;
use lnd_web_signer::proto::watchonlyrpc::{SignCoordinatorRequest, SignCoordinatorResponse};
use lnd_web_signer::session::{Session, SessionConfig, SessionError};
use lnd_web_signer_native::bridge::BridgeConfig;
use lnd_web_signer_native::connect::{self, ConnectConfig, ConnectError, Handler};
use lnd_web_signer_native::keepalive::Keepalive;
use lnd_web_signer_native::rpc::watchonlyrpc::watch_only_client::WatchOnlyClient;
use lnd_web_signer_native::tls::{pinned_client_config, PinnedConnector};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;
use tonic::{Code, Streaming};

/// Keepalive of the black-hole tests: 1 s interval, 1 s timeout.
const FAST: &[&str] = &["--keepalive-interval", "1s", "--keepalive-timeout", "1s"];

/// Generous bound for things that take a second when they work.
const BOUND: Duration = Duration::from_secs(20);

/// Blocking waits inside a tokio test (the bridge runs on the other worker).
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// A simulator that sends nothing after the registration (scenario `idle`,
/// no health pings) and drops a connection whose keepalive ping goes
/// unanswered for a second.
fn silent_sim(fx: &Fixture, extra: &[&str]) -> Sim {
    let mut args = vec![
        "--scenario",
        "idle",
        "--startup-timeout",
        "60s",
        "--server-ping-time",
        "1s",
        "--server-ping-timeout",
        "1s",
    ];
    if !extra.contains(&"--ping-interval") {
        args.extend_from_slice(&["--ping-interval", "0"]);
    }
    args.extend_from_slice(extra);
    Sim::start(fx, "127.0.0.1:0", &args)
}

/// The seconds in `... lost 2.003 s <after>` of a log line or status.
fn silent_secs(text: &str, after: &str) -> f64 {
    let head = text
        .split(&format!(" s {after}"))
        .next()
        .unwrap_or_else(|| panic!("no {after:?} in {text}"));
    head.rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no seconds before {after:?} in {text}"))
}

fn handshakes(sim: &Sim) -> usize {
    sim.proc.count(|l| l.contains("signer connected and ready"))
}

fn registered(signer: &Proc) -> usize {
    signer.count(|l| l.contains("registered with the watch-only node"))
}

// ------------------------------------------------------------------ black hole

#[test]
fn a_blackholed_link_is_noticed_by_the_signers_keepalive_and_it_reconnects() {
    let fx = Fixture::new();
    let mut sim = silent_sim(&fx, &[]);
    let proxy = CutProxy::start(&sim.addr);
    let mut args = FAST.to_vec();
    // Only the keepalive may notice (no idle watchdog).
    args.extend_from_slice(&["--idle-timeout", "0"]);
    let mut signer = start_signer(
        &fx,
        &proxy.addr.to_string(),
        &fx.macaroon(),
        SeedSource::SeedFile,
        &args,
    );
    signer.wait_line(BOUND, |l| l.contains("registered with the watch-only node"));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(proxy.blackhole(), 1, "one connection goes dark");
    let dark = Instant::now();
    let line = signer.wait_line(BOUND, |l| l.contains("connection lost, reconnecting"));
    let noticed = dark.elapsed();
    // Interval + timeout = 2 s after the last frame; a little slack for a
    // loaded machine, but far below anything else that could end it.
    assert!(
        noticed < Duration::from_secs(5),
        "the dead link was noticed only after {noticed:?}: {line}\n{}",
        signer.transcript()
    );
    // The connection broke interval + timeout after the registration (the
    // last message): the keepalive's doing.
    let silent = silent_secs(&line, "after its last message");
    assert!((1.8..5.0).contains(&silent), "{line}");
    assert!(
        line.contains(&format!(
            "connection to the watch-only node at {} lost",
            proxy.addr
        )),
        "{line}"
    );
    // The simulator drops its side by its own keepalive; then the signer's
    // retry registers on a fresh connection through the proxy.
    signer.wait_count(2, BOUND, |l| {
        l.contains("registered with the watch-only node")
    });
    assert!(proxy.accepted() >= 2);
    sim.proc
        .wait_count(2, BOUND, |l| l.contains("signer connected and ready"));
    eprintln!(
        "signer noticed the black hole after {noticed:?}; {} registrations",
        registered(&signer)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blackholed_link_is_noticed_by_the_bridges_keepalive() {
    let fx = Fixture::new();
    let sim = silent_sim(&fx, &[]);
    let proxy = CutProxy::start(&sim.addr);
    let mut config = BridgeConfig::new(proxy.addr.to_string(), fx.cert());
    config.lnd_keepalive =
        Keepalive::from_flags(Duration::from_secs(1), Duration::from_secs(1)).expect("keepalive");
    let bridge = bridge_support::RunningBridge::start(config).await;
    let mut client = bridge.client().await;
    let macaroon = fx.macaroon_hex();

    let (mut attach, _token) = attach_and_register(&mut client, &macaroon).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(proxy.blackhole(), 1, "one lnd connection goes dark");
    let dark = Instant::now();
    let end = match tokio::time::timeout(BOUND, attach.message()).await {
        Err(_) => panic!("the bridge did not notice the dead lnd connection"),
        Ok(Err(status)) => status,
        Ok(Ok(Some(ev))) => panic!("unexpected event from a dark link: {ev:?}"),
        Ok(Ok(None)) => panic!("Attach ended with OK"),
    };
    let noticed = dark.elapsed();
    assert_eq!(end.code(), Code::Unavailable, "{end:?}");
    assert!(
        end.message()
            .starts_with(&format!("connection to lnd at {} lost ", proxy.addr))
            && end.message().ends_with("; attach again"),
        "{end:?}"
    );
    let silent = silent_secs(end.message(), "after its last message");
    assert!((1.8..5.0).contains(&silent), "{end:?}");
    assert!(
        noticed < Duration::from_secs(5),
        "noticed after {noticed:?}"
    );
    // Attaching again works once the simulator dropped its dead stream
    // (its own 1 s keepalive); before that it refuses a second signer.
    let start = Instant::now();
    loop {
        match try_attach_and_register(&mut client, &macaroon).await {
            Ok(_) => break,
            Err(e) => {
                assert!(
                    start.elapsed() < BOUND,
                    "no new session within {BOUND:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
        }
    }
    assert!(proxy.accepted() >= 2);
    eprintln!("bridge noticed the black hole after {noticed:?}");
    drop(sim);
}

fn registration() -> SignCoordinatorResponse {
    let mut s = Session::new(SessionConfig::default()).expect("session");
    s.start(Duration::ZERO).expect("registration")
}

type BridgeClient =
    lnd_web_signer_native::rpc::signerbridge::signer_bridge_client::SignerBridgeClient<
        tonic::transport::Channel,
    >;

async fn try_attach_and_register(
    client: &mut BridgeClient,
    macaroon: &str,
) -> Result<
    (
        Streaming<lnd_web_signer::proto::signerbridge::AttachEvent>,
        Vec<u8>,
    ),
    String,
> {
    let mut req = tonic::Request::new(AttachRequest {
        client_info: "liveness test".into(),
        ..Default::default()
    });
    req.metadata_mut()
        .insert("macaroon", macaroon.parse().expect("ascii"));
    let mut attach = client
        .attach(req)
        .await
        .map_err(|s| format!("attach: {s:?}"))?
        .into_inner();
    let token = match attach.message().await {
        Ok(Some(ev)) => match ev.event {
            Some(Event::SessionToken(t)) => t,
            other => return Err(format!("first event {other:?}")),
        },
        other => return Err(format!("no token: {other:?}")),
    };
    client
        .reply(ReplyRequest {
            session_token: token.clone(),
            response: Some(registration()),
        })
        .await
        .map_err(|s| format!("reply: {s:?}"))?;
    match tokio::time::timeout(BOUND, attach.message()).await {
        Ok(Ok(Some(ev))) => match ev.event {
            Some(Event::Request(r)) if r.request_id == 1 => Ok((attach, token)),
            other => Err(format!("not the registration answer: {other:?}")),
        },
        other => Err(format!("no registration answer: {other:?}")),
    }
}

async fn attach_and_register(
    client: &mut BridgeClient,
    macaroon: &str,
) -> (
    Streaming<lnd_web_signer::proto::signerbridge::AttachEvent>,
    Vec<u8>,
) {
    try_attach_and_register(client, macaroon)
        .await
        .unwrap_or_else(|e| panic!("attach and register: {e}"))
}

// ------------------------------------------------------------------ idle watchdog

#[test]
fn a_silent_node_is_dropped_by_the_idle_watchdog_and_health_pings_keep_the_link() {
    let fx = Fixture::new();
    // The simulator answers HTTP/2 pings (the link is alive) but sends no
    // message after the registration.
    let mut sim = silent_sim(&fx, &[]);
    let signer = start_signer(
        &fx,
        &sim.addr,
        &fx.macaroon(),
        SeedSource::SeedFile,
        &["--health-check-interval", "500ms", "--idle-multiple", "2"],
    );
    sim.proc
        .wait_count(2, BOUND, |l| l.contains("signer connected and ready"));
    let idle = signer.count(|l| l.contains("no message from lnd for 1"));
    assert!(
        idle >= 1 && signer.count(|l| l.contains("idle timeout 1 s")) >= 1,
        "the signer did not say why it dropped the link\n{}",
        signer.transcript()
    );
    let starts = signer.stderr_times(|l| l.contains("registered with the watch-only node"));
    let drops = signer.stderr_times(|l| l.contains("no message from lnd for"));
    let silent = drops[0].0 - starts[0].0;
    assert!(
        (0.9..4.0).contains(&silent),
        "dropped {silent:.2} s after the registration (limit 1 s)\n{}",
        signer.transcript()
    );
    drop(signer);
    drop(sim);

    // lnd's health pings (every 300 ms here) are messages: no drop.
    let mut sim = silent_sim(&fx, &["--ping-interval", "300ms"]);
    let signer = start_signer(
        &fx,
        &sim.addr,
        &fx.macaroon(),
        SeedSource::SeedFile,
        &["--idle-timeout", "1s"],
    );
    sim.proc
        .wait_line(BOUND, |l| l.contains("signer connected and ready"));
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(handshakes(&sim), 1, "{}", signer.transcript());
    assert_eq!(
        signer.count(|l| l.contains("no message from lnd")),
        0,
        "{}",
        signer.transcript()
    );
    assert!(signer.count(|l| l.contains("kind=\"ping\"") || l.contains("kind=ping")) >= 5);
}

// ------------------------------------------------------------------ grpc-go

/// The grpc-go watch-only node, built once per test process; `None` (with a
/// message) when no Go toolchain is available.
fn grpcgo_node_binary() -> Option<PathBuf> {
    static BIN: OnceLock<Option<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/grpcgo_node");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("grpcgo-node");
        let go = std::env::var_os("LWS_GO").map(PathBuf::from).or_else(|| {
            ["go", "/usr/local/go/bin/go"]
                .into_iter()
                .map(PathBuf::from)
                .find(|g| Command::new(g).arg("version").output().is_ok())
        });
        let Some(go) = go else {
            return skip("no Go toolchain (go) found");
        };
        let built = Command::new(&go)
            .args(["build", "-mod=readonly", "-o"])
            .arg(&out)
            .arg(".")
            .current_dir(&src)
            .output();
        match built {
            Ok(o) if o.status.success() => Some(out),
            Ok(o) => skip(&format!(
                "go build of tests/grpcgo_node failed: {}",
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => skip(&format!("cannot run {}: {e}", go.display())),
        }
    })
    .clone()
}

fn skip(why: &str) -> Option<PathBuf> {
    assert!(
        std::env::var_os("LWS_REQUIRE_GO").is_none(),
        "LWS_REQUIRE_GO is set but {why}"
    );
    eprintln!("WARNING: skipping the grpc-go checks: {why}");
    None
}

struct GoNode {
    proc: Proc,
    addr: String,
    cert_pem: Vec<u8>,
    _dir: tempfile::TempDir,
}

impl GoNode {
    fn start(extra: &[&str]) -> Option<GoNode> {
        let bin = grpcgo_node_binary()?;
        let dir = tempfile::tempdir().expect("temp dir");
        let tls = lnd_web_signer_native::sim::cert::load_or_create_tls(dir.path())
            .expect("lnd-like tls.cert");
        let mut cmd = Command::new(bin);
        cmd.arg("-cert")
            .arg(&tls.cert_path)
            .arg("-key")
            .arg(&tls.key_path)
            .args(extra);
        // grpc-go logs its GOAWAY `too_many_pings` at info level ("got too
        // many pings from the client"); hyper does not pass the GOAWAY's
        // debug data on to the stream, so this log is where it shows.
        cmd.env("GRPC_GO_LOG_SEVERITY_LEVEL", "info")
            .env("GRPC_GO_LOG_VERBOSITY_LEVEL", "2");
        let mut proc = Proc::spawn("grpcgo-node", cmd);
        let line = proc.wait_line(BOUND, |l| l.starts_with("listening on "));
        let addr = line.trim_start_matches("listening on ").trim().to_string();
        Some(GoNode {
            proc,
            addr,
            cert_pem: tls.cert_pem.into_bytes(),
            _dir: dir,
        })
    }

    fn target(&self) -> (String, Vec<u8>) {
        (self.addr.clone(), self.cert_pem.clone())
    }

    fn config(&self) -> ConnectConfig {
        let mut cfg = ConnectConfig::new(self.addr.clone(), self.cert_pem.clone(), vec![0x02]);
        cfg.once = true;
        cfg.session.idle_timeout = None;
        cfg
    }
}

fn pong_handler() -> Handler {
    Arc::new(|work: &lnd_web_signer::request::Work| lnd_web_signer::session::pong(work.id))
}

/// Runs the native signer (in process, one attempt) against `cfg.rpchost`
/// for at most `time`; `None` if it was still serving then.
async fn serve_for(cfg: ConnectConfig, time: Duration) -> Option<Result<(), ConnectError>> {
    let run = tokio::spawn(connect::run(cfg, pong_handler(), std::future::pending()));
    match tokio::time::timeout(time, run).await {
        Ok(r) => Some(r.expect("no panic")),
        Err(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_pings_at_or_above_grpc_gos_min_time_are_accepted() {
    // lnd's policy scaled down: MinTime 1 s (lnd: 5 s), no pings without a
    // stream. Our pings every 1.5 s (lnd default: 30 s against 5 s).
    let Some(node) = GoNode::start(&["-client-ping-min-wait", "1s"]) else {
        return;
    };
    let proxy = CutProxy::start(&node.addr);
    let mut cfg = node.config();
    cfg.rpchost = proxy.addr.to_string();
    cfg.keepalive = Keepalive::from_flags(Duration::from_millis(1500), Duration::from_secs(1))
        .expect("keepalive");
    let run = tokio::spawn(connect::run(cfg, pong_handler(), std::future::pending()));
    let mut node = node;
    blocking(|| {
        node.proc
            .wait_line(BOUND, |l| l.contains("stream 1 registered"))
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = proxy.up_chunks();
    // 8 s of silence from the node: five pings, far more than the two
    // strikes grpc-go forgives.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let pings = proxy.up_chunks() - before;
    assert!(
        !run.is_finished(),
        "the stream ended: {:?}\n{}",
        run.await,
        node.proc.transcript()
    );
    assert!(
        (4..=7).contains(&pings),
        "{pings} keepalive frames in 8 s at a 1.5 s interval"
    );
    assert_eq!(
        node.proc
            .count(|l| l.contains("ended") || l.contains("too many pings")),
        0,
        "{}",
        node.proc.transcript()
    );
    run.abort();
    eprintln!("{pings} keepalive pings in 8 s accepted by grpc-go (MinTime 1 s)");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keepalive_pings_below_grpc_gos_min_time_get_goaway_too_many_pings() {
    // The control: the same server with pings every 300 ms must close the
    // connection, or the test above proves nothing.
    let Some(mut node) = GoNode::start(&["-client-ping-min-wait", "1s"]) else {
        return;
    };
    let mut cfg = node.config();
    cfg.keepalive = Keepalive::from_flags(Duration::from_millis(300), Duration::from_secs(1))
        .expect("keepalive");
    let start = Instant::now();
    let end = serve_for(cfg, BOUND)
        .await
        .expect("grpc-go closed the connection");
    let err = end.expect_err("the stream failed");
    eprintln!("after {:?}: {err}", start.elapsed());
    assert!(
        matches!(err, ConnectError::ConnectionLost { .. }),
        "{err:?}"
    );
    blocking(|| {
        node.proc
            .wait_line(BOUND, |l| l.contains("got too many pings from the client"));
        node.proc.wait_line(BOUND, |l| l.contains("stream 1 ended"))
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_go_sends_headers_only_with_the_registration_answer() {
    let Some(node) = GoNode::start(&["-handshake-timeout", "2s"]) else {
        return;
    };
    // A client that waits for the headers before it sends its registration
    // gets nothing until lnd's handshake window ends, then the bare status.
    let start = Instant::now();
    let (_tx, rx) = mpsc::channel(4);
    let call = open_call(node.target(), rx);
    tokio::pin!(call);
    assert!(
        tokio::time::timeout(Duration::from_millis(1500), &mut call)
            .await
            .is_err(),
        "grpc-go sent headers before the registration"
    );
    let status = match tokio::time::timeout(BOUND, call)
        .await
        .expect("grpc-go ended the call")
    {
        Err(status) => status,
        Ok(_) => panic!("headers arrived although no registration was sent"),
    };
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert!(start.elapsed() >= Duration::from_millis(1900));

    // Registration first: headers and the answer follow it.
    let (tx, rx) = mpsc::channel(4);
    let call = open_call(node.target(), rx);
    tokio::pin!(call);
    assert!(tokio::time::timeout(Duration::from_millis(700), &mut call)
        .await
        .is_err());
    tx.send(registration()).await.expect("send registration");
    let mut inbound = tokio::time::timeout(BOUND, call)
        .await
        .expect("headers after the registration")
        .expect("stream accepted");
    let first = tokio::time::timeout(BOUND, inbound.message())
        .await
        .expect("answer in time")
        .expect("no error")
        .expect("a message");
    assert_eq!(first.request_id, 1);
    assert!(matches!(
        first.sign_request_type,
        Some(SignRequestType::RegistrationResponse(_))
    ));

    // Our native signer registers with it (the answer comes with the
    // headers), and so does the session's idle watchdog's host loop.
    let mut cfg = node.config();
    cfg.session.idle_timeout = Some(Duration::from_millis(800));
    let end = serve_for(cfg, BOUND).await.expect("the watchdog ended it");
    assert!(
        matches!(
            end,
            Err(ConnectError::Session(SessionError::IdleTimeout { .. }))
        ),
        "{end:?}"
    );
    let mut node = node;
    blocking(|| {
        node.proc
            .wait_line(BOUND, |l| l.contains("stream 3 registered"))
    });
}

async fn open_call(
    (addr, cert_pem): (String, Vec<u8>),
    outbound: mpsc::Receiver<SignCoordinatorResponse>,
) -> Result<Streaming<SignCoordinatorRequest>, tonic::Status> {
    let tls = pinned_client_config(&cert_pem).expect("pinned TLS");
    let connector =
        PinnedConnector::new(Arc::new(tls), &addr, Duration::from_secs(5)).expect("connector");
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_with_connector(connector)
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let mut client = WatchOnlyClient::new(channel);
    Ok(client
        .sign_coordinator_streams(ReceiverStream::new(outbound))
        .await?
        .into_inner())
}
