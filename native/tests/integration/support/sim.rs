//! Shared helpers of the watchonly-sim tests: run the built binary, connect
//! a tiny signer client over pinned TLS, answer requests with a handler.
#![allow(clippy::print_stderr)]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lnd_web_signer::entropy::OsEntropy;
use lnd_web_signer::keys::{accounts_json, Network, RootKey};
use lnd_web_signer::proto::watchonlyrpc::{
    sign_coordinator_request::SignRequestType as Req,
    sign_coordinator_response::SignResponseType as Resp, SignCoordinatorRequest,
    SignCoordinatorResponse, SignerRegistration,
};
use lnd_web_signer::request::RequestKind;
use lnd_web_signer::session;
use lnd_web_signer::signer::Signer;
use lnd_web_signer_native::rpc::watchonlyrpc::watch_only_client::WatchOnlyClient;
use lnd_web_signer_native::tls::{pinned_client_config, PinnedConnector};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Endpoint;
use tonic::{Status, Streaming};

/// Entropy of the fixed test root key (regtest).
pub const ENTROPY_HEX: &str = "4a7611b6979ba7c4bc5c5cd2239b2973";

/// The test root key.
pub fn root() -> RootKey {
    let entropy = hex::decode(ENTROPY_HEX).expect("entropy hex");
    RootKey::from_seed_entropy(&entropy, Network::Regtest).expect("root key")
}

/// accounts.json of the test root key.
pub fn accounts() -> String {
    accounts_json(&root())
}

/// A real signer over the test root key.
pub fn signer() -> Signer {
    Signer::new(root(), Box::new(OsEntropy))
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("wosim-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// A running `watchonly-sim` process.
pub struct SimProcess {
    child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// PEM of its tls.cert.
    pub cert_pem: Vec<u8>,
    /// Hex of its macaroon.
    pub macaroon_hex: String,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    dir: PathBuf,
    exit: Option<i32>,
}

impl SimProcess {
    /// Starts the binary with `extra` arguments (accounts.json of the test
    /// root is passed when `with_accounts`).
    pub fn start(tag: &str, extra: &[&str], with_accounts: bool) -> SimProcess {
        let dir = temp_dir(tag);
        let tls_dir = dir.join("tls");
        let mac = dir.join("signer.macaroon");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_watchonly-sim"));
        cmd.arg("--listen")
            .arg("127.0.0.1:0")
            .arg("--tls-dir")
            .arg(&tls_dir)
            .arg("--macaroon-out")
            .arg(&mac);
        if with_accounts {
            let acc = dir.join("accounts.json");
            std::fs::write(&acc, accounts()).expect("write accounts.json");
            cmd.arg("--accounts").arg(&acc);
        }
        cmd.args(extra);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn watchonly-sim");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let out_pipe = child.stdout.take().expect("stdout pipe");
        let err_pipe = child.stderr.take().expect("stderr pipe");
        {
            let sink = stdout.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out_pipe).lines().map_while(Result::ok) {
                    sink.lock().expect("lock").push(line);
                }
            });
        }
        {
            let sink = stderr.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(err_pipe).lines().map_while(Result::ok) {
                    sink.lock().expect("lock").push(line);
                }
            });
        }
        let start = Instant::now();
        let addr = loop {
            let found = stdout
                .lock()
                .expect("lock")
                .iter()
                .find_map(|l| l.strip_prefix("listening on ").map(|r| r.to_string()));
            if let Some(rest) = found {
                break rest.split_whitespace().next().expect("address").to_string();
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "watchonly-sim exited early with {status}; stderr: {:?}",
                    stderr.lock().expect("lock")
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "watchonly-sim did not print its listen address"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let cert_pem = std::fs::read(tls_dir.join("tls.cert")).expect("tls.cert written");
        let macaroon_hex = hex::encode(std::fs::read(&mac).expect("macaroon written"));
        SimProcess {
            child,
            addr,
            cert_pem,
            macaroon_hex,
            stdout,
            stderr,
            dir,
            exit: None,
        }
    }

    /// Lines printed on stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout.lock().expect("lock").clone()
    }

    /// Lines printed on stderr so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr.lock().expect("lock").clone()
    }

    /// Waits for the process to exit; returns its exit code. Panics (after
    /// killing it) when it does not exit within `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        if let Some(c) = self.exit {
            return c;
        }
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                let code = status.code().unwrap_or(-1);
                self.exit = Some(code);
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return code;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "watchonly-sim did not exit within {timeout:?}\nstdout: {:#?}\nstderr: {:#?}",
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The closing `N passed, M failed` line, parsed.
    pub fn summary(&self) -> (u64, u64) {
        let lines = self.stdout();
        let last = lines.last().cloned().unwrap_or_default();
        let parts: Vec<&str> = last.split_whitespace().collect();
        assert!(
            parts.len() == 4 && parts[1] == "passed," && parts[3] == "failed",
            "last stdout line is not `N passed, M failed`: {last:?}\nstdout: {lines:#?}"
        );
        (
            parts[0].parse().expect("passed count"),
            parts[2].parse().expect("failed count"),
        )
    }

    /// Everything printed, for assertion messages.
    pub fn transcript(&self) -> String {
        format!(
            "stdout:\n{}\nstderr:\n{}",
            self.stdout().join("\n"),
            self.stderr().join("\n")
        )
    }
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A signer-side stream.
pub struct SignerStream {
    /// Responses to the node.
    pub tx: mpsc::Sender<SignCoordinatorResponse>,
    /// Requests from the node.
    pub rx: Streaming<SignCoordinatorRequest>,
}

/// Opens `SignCoordinatorStreams` with the given macaroon hex (None: no
/// metadata), sending `first` before waiting for the response headers. The
/// simulator, like lnd, sends headers only with its registration answer, so
/// without a `first` message this returns only when the node gives up (the
/// handshake window) or refuses at once (macaroon, second signer).
pub async fn open_stream(
    sim: &SimProcess,
    macaroon: Option<&str>,
    first: Option<SignCoordinatorResponse>,
) -> Result<SignerStream, Status> {
    let (tx, rx) = mpsc::channel(64);
    if let Some(m) = first {
        tx.send(m).await.expect("queue the first message");
    }
    let rx = open_call(sim, macaroon, rx).await?;
    Ok(SignerStream { tx, rx })
}

/// Opens `SignCoordinatorStreams` sending what arrives on `outbound`, and
/// resolves with the response stream once the node's headers arrived.
pub async fn open_call(
    sim: &SimProcess,
    macaroon: Option<&str>,
    outbound: mpsc::Receiver<SignCoordinatorResponse>,
) -> Result<Streaming<SignCoordinatorRequest>, Status> {
    let config = pinned_client_config(&sim.cert_pem).expect("pinned TLS config");
    let connector = PinnedConnector::new(Arc::new(config), &sim.addr, Duration::from_secs(5))
        .expect("connector");
    let channel = Endpoint::from_shared(format!("http://{}", sim.addr))
        .expect("endpoint")
        .connect_with_connector(connector)
        .await
        .map_err(|e| Status::unavailable(format!("connect: {e}")))?;
    let mut client = WatchOnlyClient::new(channel)
        .max_decoding_message_size(200 * 1024 * 1024)
        .max_encoding_message_size(200 * 1024 * 1024);
    let mut req = tonic::Request::new(ReceiverStream::new(outbound));
    if let Some(m) = macaroon {
        req.metadata_mut()
            .insert("macaroon", m.parse().expect("ascii metadata"));
    }
    Ok(client.sign_coordinator_streams(req).await?.into_inner())
}

/// The registration message lnd's signer sends.
pub fn registration(id: u64, info: &str) -> SignCoordinatorResponse {
    SignCoordinatorResponse {
        ref_request_id: id,
        sign_response_type: Some(Resp::SignerRegistration(SignerRegistration {
            registration_challenge: b"registrationChallenge".to_vec(),
            registration_info: info.to_string(),
        })),
    }
}

/// [`connect`] again after a dropped stream: the node may not have seen the
/// old one close yet and refuses with "only one remote signer can be
/// connected" meanwhile, so retry (as a signer's backoff does) for up to 10 s.
pub async fn reconnect(sim: &SimProcess) -> SignerStream {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let probe = open_stream(
            sim,
            Some(&sim.macaroon_hex),
            Some(registration(1, "outboundSigner")),
        )
        .await;
        match probe {
            Err(s)
                if s.message() == lnd_web_signer::proto::signerbridge::LND_ONE_SIGNER_MESSAGE
                    && tokio::time::Instant::now() < until =>
            {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("stream opens: {e:?}"),
            Ok(s) => return handshake(s).await,
        }
    }
}

/// Opens a stream and completes the handshake; checks the node's reply.
pub async fn connect(sim: &SimProcess) -> SignerStream {
    let s = open_stream(
        sim,
        Some(&sim.macaroon_hex),
        Some(registration(1, "outboundSigner")),
    )
    .await
    .expect("stream opens");
    handshake(s).await
}

/// Reads and checks the node's reply to the registration sent on `s`.
async fn handshake(mut s: SignerStream) -> SignerStream {
    let reply = tokio::time::timeout(Duration::from_secs(10), s.rx.message())
        .await
        .expect("handshake reply in time")
        .expect("no stream error")
        .expect("a message");
    assert_eq!(reply.request_id, 1, "handshake reply id");
    match reply.sign_request_type {
        Some(Req::RegistrationResponse(r)) => match r.registration_response_type {
            Some(
                lnd_web_signer::proto::watchonlyrpc::registration_response::RegistrationResponseType::RegistrationComplete(c),
            ) => {
                assert_eq!(c.signature, "");
                assert_eq!(c.registration_info, "watch-only registration info");
            }
            other => panic!("expected registration_complete, got {other:?}"),
        },
        other => panic!("expected registration_response, got {other:?}"),
    }
    s
}

/// Serves requests with `handler` concurrently until the stream ends or the
/// handler returns `Err(())` (then the stream is dropped at once). Returns
/// every request received, in order.
pub async fn serve<F>(mut s: SignerStream, handler: F) -> Vec<SignCoordinatorRequest>
where
    F: Fn(&SignCoordinatorRequest) -> Result<Option<SignCoordinatorResponse>, ()>
        + Send
        + Sync
        + 'static,
{
    let handler = Arc::new(handler);
    let mut seen = Vec::new();
    loop {
        let msg = match s.rx.message().await {
            Ok(Some(m)) => m,
            _ => break,
        };
        seen.push(msg.clone());
        let h = handler.clone();
        let tx = s.tx.clone();
        match h(&msg) {
            Ok(Some(resp)) => {
                tokio::spawn(async move {
                    let _ = tx.send(resp).await;
                });
            }
            Ok(None) => {}
            Err(()) => break,
        }
    }
    seen
}

/// Display name of a request's kind, for assertions.
pub fn kind(req: &SignCoordinatorRequest) -> &'static str {
    RequestKind::of(req).display_name()
}

/// The real signer's answer to `req`, routed as the session routes it
/// (pings and non-work members never reach the signer).
pub fn answer(signer: &Signer, req: &SignCoordinatorRequest) -> SignCoordinatorResponse {
    session::respond(req.clone(), |work| signer.handle(work))
}

/// Answers every request with the real signer, each request in its own
/// blocking task (requests are handled concurrently). Returns the number of
/// requests answered when the stream ends.
pub async fn serve_signer(mut s: SignerStream, signer: Arc<Signer>) -> usize {
    let mut n = 0;
    while let Ok(Some(msg)) = s.rx.message().await {
        n += 1;
        let tx = s.tx.clone();
        let signer = signer.clone();
        tokio::spawn(async move {
            let resp = tokio::task::spawn_blocking(move || answer(&signer, &msg)).await;
            if let Ok(resp) = resp {
                let _ = tx.send(resp).await;
            }
        });
    }
    n
}
