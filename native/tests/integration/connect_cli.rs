//! `lnd-web-signer connect` as a process against the in-process fake
//! watch-only node: the real signer answers, logs name kind/id/latency and
//! no secrets, SIGTERM exits 0, `--once` and error exits.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use bitcoin::bip32::Xpriv;
use bitcoin::NetworkKind;
use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::keys::{Network, RootKey};
use lnd_web_signer::proto::watchonlyrpc::sign_coordinator_response::SignResponseType;
use lnd_web_signer::session;
use lnd_web_signer::signer::Signer;
use tokio::io::AsyncReadExt;
use tokio::process::{Child, Command};

use crate::support::connect as connect_support;
use connect_support::*;

struct Files {
    dir: PathBuf,
    cert: PathBuf,
    macaroon: PathBuf,
    seed: PathBuf,
    tprv: String,
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn files(name: &str, cert_pem: &str) -> Files {
    let dir = std::env::temp_dir().join(format!("lws-connect-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    let tprv = Xpriv::new_master(NetworkKind::Test, &[0x5a; 32])
        .expect("master key")
        .to_string();
    let write = |file: &str, data: &[u8]| {
        let p = dir.join(file);
        std::fs::write(&p, data).expect("write test file");
        p
    };
    Files {
        cert: write("tls.cert", cert_pem.as_bytes()),
        macaroon: write("signer.macaroon", &MACAROON),
        seed: write("seed.txt", format!("{tprv}\n").as_bytes()),
        dir,
        tprv,
    }
}

fn spawn(f: &Files, rpchost: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_lnd-web-signer"))
        .arg("connect")
        .args(["--rpchost", rpchost])
        .arg("--tlscertpath")
        .arg(&f.cert)
        .arg("--macaroonpath")
        .arg(&f.macaroon)
        .args(["--network", "regtest", "--seed-file"])
        .arg(&f.seed)
        .args(extra)
        // Debug level everywhere (incl. tonic/h2): secrets must not show up even there.
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start lnd-web-signer")
}

/// Waits for the child and returns (exit code, stdout, stderr).
async fn wait(mut child: Child) -> (Option<i32>, String, String) {
    let mut out = String::new();
    let mut err = String::new();
    let mut so = child.stdout.take().expect("stdout piped");
    let mut se = child.stderr.take().expect("stderr piped");
    let status = tokio::time::timeout(STEP, async {
        let (a, b, status) = tokio::join!(
            so.read_to_string(&mut out),
            se.read_to_string(&mut err),
            child.wait()
        );
        a.expect("read stdout");
        b.expect("read stderr");
        status.expect("wait for child")
    })
    .await
    .expect("lnd-web-signer exited in time");
    (status.code(), out, err)
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("child still running");
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -TERM failed");
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test]
async fn serves_the_real_signer_logs_without_secrets_and_exits_on_sigterm() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let f = files("serve", &tls.cert_pem);
    let child = spawn(&f, &node.addr.to_string(), &[]);

    let mut conn = node.accept().await;
    assert_eq!(
        conn.macaroon.as_deref(),
        Some(hex::encode(MACAROON).as_str())
    );
    conn.handshake().await;

    conn.send(ping(2)).await;
    expect_pong(&conn.recv().await, 2);

    // The same request answered by an in-test signer for the same seed:
    // deterministic ECDSA gives the same bytes.
    let root = RootKey::from_xprv(&f.tprv, Network::Regtest).expect("tprv");
    let reference = Signer::new(root, Box::new(OsEntropy));
    let req = sign_message(3, b"connect cli test");
    let expected = session::respond(req.clone(), |w| reference.handle(w));
    assert!(matches!(
        expected.sign_response_type,
        Some(SignResponseType::SignMessageResp(_))
    ));
    conn.send(req).await;
    let got = conn.recv().await;
    assert_eq!(got, expected);
    let signature_hex = hex::encode(signature_of(&got));

    sigterm(&child);
    let (code, stdout, log) = wait(child).await;
    assert_eq!(code, Some(0), "exit code; log:\n{log}");
    assert!(
        stdout.is_empty(),
        "connect prints nothing on stdout: {stdout}"
    );
    for needle in [
        "SIGTERM received",
        "registered with the watch-only node",
        "sign_message_req",
        "id=3",
        "latency",
        "ping",
        "id=2",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    for secret in [
        f.tprv.as_str(),
        &hex::encode(MACAROON),
        &hex::encode(&MACAROON[1..]),
        &signature_hex,
        "connect cli test",
    ] {
        assert!(!log.contains(secret), "log leaks {secret:?}:\n{log}");
    }
    drop(conn);
}

#[tokio::test]
async fn once_exits_zero_when_the_node_ends_the_stream() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let f = files("once", &tls.cert_pem);
    let child = spawn(&f, &node.addr.to_string(), &["--once"]);
    let mut conn = node.accept().await;
    conn.handshake().await;
    conn.send(ping(2)).await;
    expect_pong(&conn.recv().await, 2);
    drop(conn);
    let (code, _, log) = wait(child).await;
    assert_eq!(code, Some(0), "log:\n{log}");
    assert!(log.contains("watch-only node closed the stream"), "{log}");
}

#[tokio::test]
async fn pin_mismatch_exits_with_a_clear_error() {
    let served = lnd_like_cert();
    let other = lnd_like_cert();
    let node = Node::start(&served).await;
    let f = files("pin", &other.cert_pem);
    let child = spawn(&f, &node.addr.to_string(), &["--once"]);
    let (code, _, log) = wait(child).await;
    assert_eq!(code, Some(1), "log:\n{log}");
    let expected = format!(
        "error: lnd's TLS certificate at {} does not match the pinned certificate",
        node.addr
    );
    assert!(log.contains(&expected), "log lacks {expected:?}:\n{log}");
}

#[tokio::test]
async fn unreadable_inputs_are_named() {
    let tls = lnd_like_cert();
    let f = files("inputs", &tls.cert_pem);
    std::fs::remove_file(&f.macaroon).expect("remove macaroon");
    let (code, _, log) = wait(spawn(&f, "127.0.0.1:1", &["--once"])).await;
    assert_eq!(code, Some(1), "log:\n{log}");
    let expected = format!(
        "error: cannot read the macaroon file {}",
        path_str(&f.macaroon)
    );
    assert!(log.contains(&expected), "log lacks {expected:?}:\n{log}");

    std::fs::write(&f.macaroon, MACAROON).expect("write macaroon");
    std::fs::write(&f.cert, "not a certificate").expect("write cert");
    let (code, _, log) = wait(spawn(&f, "127.0.0.1:1", &["--once"])).await;
    assert_eq!(code, Some(1), "log:\n{log}");
    let expected = format!(
        "error: tls certificate file {}: no certificate found",
        path_str(&f.cert)
    );
    assert!(log.contains(&expected), "log lacks {expected:?}:\n{log}");
}

#[tokio::test]
async fn liveness_flags_are_applied_logged_and_checked() {
    let tls = lnd_like_cert();
    let mut node = Node::start(&tls).await;
    let f = files("liveness", &tls.cert_pem);
    // Defaults: keepalive 30 s / 20 s, idle watchdog 3 × 1 min.
    let child = spawn(&f, &node.addr.to_string(), &["--once"]);
    let conn = node.accept().await;
    drop(conn);
    let (_, _, log) = wait(child).await;
    for needle in [
        "keepalive=30 s",
        "keepalive_timeout=20 s",
        "idle_timeout=180 s",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    assert!(!log.contains("below lnd's default"), "{log}");

    // Given values; an interval below lnd's 5 s minimum is warned about.
    let child = spawn(
        &f,
        &node.addr.to_string(),
        &[
            "--once",
            "--keepalive-interval",
            "2s",
            "--keepalive-timeout",
            "500ms",
            "--health-check-interval",
            "5s",
            "--idle-multiple",
            "4",
        ],
    );
    let conn = node.accept().await;
    drop(conn);
    let (_, _, log) = wait(child).await;
    for needle in [
        "keepalive=2 s",
        "keepalive_timeout=0.5 s",
        "idle_timeout=20 s",
        "below lnd's default grpc.client-ping-min-wait of 5 s",
    ] {
        assert!(log.contains(needle), "log lacks {needle:?}:\n{log}");
    }
    let child = spawn(
        &f,
        &node.addr.to_string(),
        &["--once", "--keepalive-interval", "0", "--idle-timeout", "0"],
    );
    let conn = node.accept().await;
    drop(conn);
    let (_, _, log) = wait(child).await;
    assert!(
        log.contains("keepalive=off") && log.contains("idle_timeout=off"),
        "{log}"
    );

    // Pings without time for their answer are refused before dialing.
    let (code, _, log) = wait(spawn(
        &f,
        "127.0.0.1:1",
        &["--once", "--keepalive-timeout", "0"],
    ))
    .await;
    assert_eq!(code, Some(1), "log:\n{log}");
    assert!(
        log.contains("error: the keepalive timeout must be greater than zero"),
        "{log}"
    );
}
