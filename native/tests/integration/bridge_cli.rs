//! The `signer-bridge` binary as a process: command line, a relayed session
//! against the in-process fake lnd, logs free of macaroons, tokens and
//! payloads (even at debug level), and a clean exit on SIGTERM.

use crate::support::bridge as bridge_support;

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use bridge_support::*;
use lnd_web_signer::proto::{
    walletrpc::SignPsbtRequest,
    watchonlyrpc::{sign_coordinator_request::SignRequestType, SignCoordinatorRequest},
};
use lnd_web_signer_native::rpc::signerbridge::signer_bridge_client::SignerBridgeClient;
use tonic::transport::Endpoint;

const MARKER: &[u8] = b"PAYLOAD-MARKER-7f3a";

struct BridgeProcess {
    child: Child,
    log: Arc<Mutex<String>>,
}

impl BridgeProcess {
    fn spawn(args: &[String]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_signer-bridge"))
            .args(args)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start signer-bridge");
        let stderr = child.stderr.take().expect("stderr pipe");
        let log = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut l = sink.lock().expect("log lock");
                l.push_str(&line);
                l.push('\n');
            }
        });
        Self { child, log }
    }

    fn log(&self) -> String {
        self.log.lock().expect("log lock").clone()
    }

    /// Waits for the "listening on ADDR" line and returns ADDR.
    async fn listening_addr(&self) -> SocketAddr {
        let start = Instant::now();
        loop {
            let log = self.log();
            if let Some(rest) = log.split("signer-bridge listening on ").nth(1) {
                let addr = rest.split_whitespace().next().expect("address");
                return addr.parse().expect("socket address in the log");
            }
            assert!(
                start.elapsed() < STEP,
                "signer-bridge did not report its address; log:\n{log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    async fn wait_exit(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                start.elapsed() < STEP,
                "signer-bridge did not exit; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for BridgeProcess {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_relays_keeps_secrets_out_of_logs_and_stops_on_sigterm() {
    let mut lnd = FakeLnd::start().await;
    let mut bridge = BridgeProcess::spawn(&[
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--lnd-rpchost".into(),
        lnd.addr.to_string(),
        "--lnd-tlscertpath".into(),
        lnd.cert_path.display().to_string(),
    ]);
    let addr = bridge.listening_addr().await;
    let channel = within(
        "connecting to the bridge process",
        Endpoint::from_shared(format!("http://{addr}"))
            .expect("URI")
            .connect(),
    )
    .await
    .expect("connect");
    let mut client = SignerBridgeClient::new(channel);

    let (mut attach, token, lnd_side) = attach_and_register(&mut client, &mut lnd).await;
    let mut psbt = b"psbt\xff".to_vec();
    psbt.extend_from_slice(MARKER);
    let request = SignCoordinatorRequest {
        request_id: 2,
        sign_request_type: Some(SignRequestType::SignPsbtRequest(SignPsbtRequest {
            funded_psbt: psbt,
        })),
    };
    lnd_side
        .outbound
        .send(Ok(request.clone()))
        .await
        .expect("queue");
    assert_eq!(next_request(&mut attach).await, request);

    bridge.terminate();
    let s = end_status(&mut attach).await;
    assert_eq!(s.message(), "signer-bridge is shutting down");
    // The cause, machine readable, crossed the wire as a trailer.
    assert_eq!(
        s.metadata()
            .get(lnd_web_signer::proto::signerbridge::CAUSE_METADATA)
            .and_then(|v| v.to_str().ok()),
        Some(lnd_web_signer::proto::signerbridge::CAUSE_BRIDGE_SHUTDOWN)
    );
    drop(attach);
    drop(client);
    let status = bridge.wait_exit().await;
    let log = bridge.log();
    assert!(status.success(), "exit status {status}; log:\n{log}");
    assert!(log.contains("SIGTERM received"), "log:\n{log}");
    assert!(log.contains("signer-bridge stopped"), "log:\n{log}");
    assert!(
        log.contains("attach: dialing lnd"),
        "sessions are logged:\n{log}"
    );

    // Secrets and payloads never reach the log.
    let token_hex = hex::encode(&token);
    for (what, needle) in [
        ("the macaroon", GOOD_MACAROON.to_string()),
        (
            "the macaroon's tail",
            GOOD_MACAROON[GOOD_MACAROON.len() - 24..].to_string(),
        ),
        ("the session token", token_hex.clone()),
        ("the session token's head", token_hex[..16].to_string()),
        (
            "the payload",
            String::from_utf8(MARKER.to_vec()).expect("ascii"),
        ),
    ] {
        assert!(!log.contains(&needle), "{what} appears in the log:\n{log}");
    }
}

#[test]
fn bad_command_lines_fail_with_a_message() {
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_signer-bridge"))
            .args(args)
            .env("RUST_LOG", "off")
            .output()
            .expect("run signer-bridge");
        assert!(!out.status.success(), "{args:?} should fail");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let cert = lnd_like_cert();
    let cert_path = temp_file("tls.cert", cert.cert_pem.as_bytes());
    let cert_arg = cert_path.display().to_string();
    let base = [
        "--listen",
        "127.0.0.1:0",
        "--lnd-rpchost",
        "127.0.0.1:10019",
        "--lnd-tlscertpath",
    ];

    let err = run(&["--listen", "127.0.0.1:0"]);
    assert!(err.contains("--lnd-rpchost"), "{err}");

    let mut args = base.to_vec();
    args.extend([cert_arg.as_str(), "--grpc-web"]);
    let err = run(&args);
    assert!(
        err.contains("--grpc-web needs at least one --allow-origin"),
        "{err}"
    );

    let mut args = base.to_vec();
    args.extend([
        cert_arg.as_str(),
        "--grpc-web",
        "--allow-origin",
        "https://example.com/",
    ]);
    let err = run(&args);
    assert!(
        err.contains("--allow-origin \"https://example.com/\""),
        "{err}"
    );

    let not_pem = temp_file("key.txt", b"not a certificate");
    let mut args = base.to_vec();
    let not_pem_arg = not_pem.display().to_string();
    args.push(not_pem_arg.as_str());
    let err = run(&args);
    assert!(err.contains("no certificate found"), "{err}");

    let err = run(&[
        "--listen",
        "127.0.0.1:0",
        "--lnd-rpchost",
        "::1:10019",
        "--lnd-tlscertpath",
        cert_arg.as_str(),
    ]);
    assert!(err.contains("--lnd-rpchost"), "{err}");

    let mut args = base.to_vec();
    args.extend([cert_arg.as_str(), "--lnd-keepalive-timeout", "0"]);
    let err = run(&args);
    assert!(
        err.contains("--lnd-keepalive-timeout: the keepalive timeout must be greater than zero"),
        "{err}"
    );
    let mut args = base.to_vec();
    args.extend([cert_arg.as_str(), "--lnd-keepalive-interval", "soon"]);
    let err = run(&args);
    assert!(err.contains("invalid duration"), "{err}");
}
