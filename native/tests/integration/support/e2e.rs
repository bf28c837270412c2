//! Shared helpers of the end-to-end tests: run the built binaries
//! (`watchonly-sim`, `lnd-web-signer connect`, `signer-bridge`) as child
//! processes on 127.0.0.1 with free ports and temp dirs, capture their
//! output line by line, wait with bounds, kill them on drop; a TCP proxy
//! that can cut connections mid-stream.
#![allow(clippy::print_stderr)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lnd_web_signer::keys::{accounts_json, Network, RootKey};

/// Entropy of the fixed regtest test seed (also lnd's signer test seed).
pub const ENTROPY_HEX: &str = "4a7611b6979ba7c4bc5c5cd2239b2973";

/// Passphrase of the test vault.
pub const VAULT_PASSPHRASE: &str = "e2e test vault passphrase";

/// The test root key (regtest).
pub fn root() -> RootKey {
    let entropy = hex::decode(ENTROPY_HEX).expect("entropy hex");
    RootKey::from_seed_entropy(&entropy, Network::Regtest).expect("root key")
}

/// The BIP-32 master key of the test seed as a `tprv` string.
pub fn tprv() -> String {
    let entropy = hex::decode(ENTROPY_HEX).expect("entropy hex");
    bitcoin::bip32::Xpriv::new_master(bitcoin::NetworkKind::Test, &entropy)
        .expect("master key")
        .to_string()
}

/// A port that was free a moment ago (for processes that must listen on a
/// known address before they start, e.g. a restarted simulator).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free port")
        .port()
}

// ------------------------------------------------------------------ processes

#[derive(Debug, Clone)]
struct Line {
    at: Instant,
    stderr: bool,
    text: String,
}

/// A child process whose stdout/stderr are collected line by line. Killed
/// (SIGKILL) when dropped.
pub struct Proc {
    name: String,
    child: Child,
    lines: Arc<Mutex<Vec<Line>>>,
    started: Instant,
    exit: Option<i32>,
}

fn pump(pipe: impl Read + Send + 'static, stderr: bool, sink: Arc<Mutex<Vec<Line>>>) {
    std::thread::spawn(move || {
        for text in BufReader::new(pipe).lines().map_while(Result::ok) {
            sink.lock().expect("lock").push(Line {
                at: Instant::now(),
                stderr,
                text,
            });
        }
    });
}

impl Proc {
    /// Starts `cmd` with piped output.
    pub fn spawn(name: &str, mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let lines = Arc::new(Mutex::new(Vec::new()));
        pump(
            child.stdout.take().expect("stdout piped"),
            false,
            lines.clone(),
        );
        pump(
            child.stderr.take().expect("stderr piped"),
            true,
            lines.clone(),
        );
        Proc {
            name: name.to_string(),
            child,
            lines,
            started: Instant::now(),
            exit: None,
        }
    }

    fn select(&self, stderr: bool) -> Vec<String> {
        self.lines
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.stderr == stderr)
            .map(|l| l.text.clone())
            .collect()
    }

    /// stdout lines so far.
    pub fn stdout(&self) -> Vec<String> {
        self.select(false)
    }

    /// stderr lines so far.
    pub fn stderr(&self) -> Vec<String> {
        self.select(true)
    }

    /// (seconds since start, line) of every stderr line matching `pred`.
    pub fn stderr_times(&self, pred: impl Fn(&str) -> bool) -> Vec<(f64, String)> {
        self.lines
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.stderr && pred(&l.text))
            .map(|l| {
                (
                    l.at.duration_since(self.started).as_secs_f64(),
                    l.text.clone(),
                )
            })
            .collect()
    }

    /// Everything printed, for failure messages (last 200 lines per stream).
    pub fn transcript(&self) -> String {
        let tail = |v: Vec<String>| {
            let skip = v.len().saturating_sub(200);
            v[skip..].join("\n")
        };
        format!(
            "---- {} stdout ----\n{}\n---- {} stderr ----\n{}",
            self.name,
            tail(self.stdout()),
            self.name,
            tail(self.stderr())
        )
    }

    /// Waits until some output line satisfies `pred`; returns it. Panics
    /// (process killed by drop) after `timeout` or if the process exits
    /// first.
    pub fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> String {
        let start = Instant::now();
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .expect("lock")
                .iter()
                .find(|l| pred(&l.text))
            {
                return l.text.clone();
            }
            if let Some(code) = self.try_exit() {
                std::thread::sleep(Duration::from_millis(100));
                if let Some(l) = self
                    .lines
                    .lock()
                    .expect("lock")
                    .iter()
                    .find(|l| pred(&l.text))
                {
                    return l.text.clone();
                }
                panic!(
                    "{} exited with {code} before the expected line\n{}",
                    self.name,
                    self.transcript()
                );
            }
            assert!(
                start.elapsed() < timeout,
                "{}: expected line not seen within {timeout:?}\n{}",
                self.name,
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Number of output lines satisfying `pred`.
    pub fn count(&self, pred: impl Fn(&str) -> bool) -> usize {
        self.lines
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| pred(&l.text))
            .count()
    }

    /// Waits until `count(pred) >= n`.
    pub fn wait_count(&mut self, n: usize, timeout: Duration, pred: impl Fn(&str) -> bool) {
        let start = Instant::now();
        while self.count(&pred) < n {
            if let Some(code) = self.try_exit() {
                panic!(
                    "{} exited with {code} while waiting for {n} matching lines\n{}",
                    self.name,
                    self.transcript()
                );
            }
            assert!(
                start.elapsed() < timeout,
                "{}: fewer than {n} matching lines within {timeout:?}\n{}",
                self.name,
                self.transcript()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The exit code if the process has ended (-1 for a signal).
    pub fn try_exit(&mut self) -> Option<i32> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status.code().unwrap_or(-1));
            }
        }
        self.exit
    }

    /// Waits for the exit code; kills the process and panics after `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(code) = self.try_exit() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(150));
                return code;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "{} did not exit within {timeout:?}\n{}",
                    self.name,
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, and wait for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        if let Ok(status) = self.child.wait() {
            self.exit = Some(status.code().unwrap_or(-1));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------ fixture

/// Temp dir with the signer's seed file, accounts.json (made by
/// `lnd-web-signer accounts`) and the simulator's TLS/macaroon paths.
pub struct Fixture {
    dir: tempfile::TempDir,
}

/// `lnd-web-signer` with `args`.
pub fn cli(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lnd-web-signer"));
    cmd.args(args);
    cmd
}

/// Runs a short CLI command to completion; returns stdout (panics on failure).
pub fn run_cli(mut cmd: Command, what: &str) -> String {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot start: {e}"));
    assert!(
        out.status.success(),
        "{what} failed with {}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

impl Fixture {
    /// A new fixture; accounts.json is produced by the CLI and checked
    /// against the library's `accounts_json` for the same root key.
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("lws-e2e-")
            .tempdir()
            .expect("temp dir");
        let fx = Fixture { dir };
        std::fs::write(fx.seed_file(), format!("{}\n", tprv())).expect("write seed file");
        let mut cmd = cli(&["accounts", "--network", "regtest", "--seed-file"]);
        cmd.arg(fx.seed_file());
        let accounts = run_cli(cmd, "lnd-web-signer accounts");
        let got: serde_json::Value = serde_json::from_str(&accounts).expect("accounts JSON");
        let want: serde_json::Value =
            serde_json::from_str(&accounts_json(&root())).expect("library accounts JSON");
        assert_eq!(got, want, "CLI accounts.json differs from the library's");
        std::fs::write(fx.accounts(), accounts).expect("write accounts.json");
        fx
    }

    /// The temp dir.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Seed file (tprv).
    pub fn seed_file(&self) -> PathBuf {
        self.dir().join("seed.txt")
    }

    /// accounts.json.
    pub fn accounts(&self) -> PathBuf {
        self.dir().join("accounts.json")
    }

    /// The simulator's TLS directory.
    pub fn tls_dir(&self) -> PathBuf {
        self.dir().join("tls")
    }

    /// The simulator's tls.cert.
    pub fn cert(&self) -> PathBuf {
        self.tls_dir().join("tls.cert")
    }

    /// The macaroon the simulator writes and checks.
    pub fn macaroon(&self) -> PathBuf {
        self.dir().join("signer.macaroon")
    }

    /// Hex of the simulator's macaroon.
    pub fn macaroon_hex(&self) -> String {
        hex::encode(std::fs::read(self.macaroon()).expect("macaroon written by the simulator"))
    }

    /// Seals the seed file into a vault with the CLI; returns (vault,
    /// passphrase file).
    pub fn vault(&self) -> (PathBuf, PathBuf) {
        let vault = self.dir().join("seed.vault");
        let pass = self.dir().join("vault.pass");
        std::fs::write(&pass, format!("{VAULT_PASSPHRASE}\n")).expect("write passphrase");
        if !vault.exists() {
            let mut cmd = cli(&["vault", "seal", "--network", "regtest", "--seed-file"]);
            cmd.arg(self.seed_file())
                .arg("--passphrase-file")
                .arg(&pass)
                .arg("--out")
                .arg(&vault);
            run_cli(cmd, "lnd-web-signer vault seal");
        }
        (vault, pass)
    }

    /// Writes the TLS certificate/key and macaroon the way the simulator
    /// does (by running it once, idle, until its startup timeout), so that a
    /// signer can be configured before the simulator listens.
    pub fn pre_create_sim_files(&self) {
        let mut cmd = sim_command(self, "127.0.0.1:0");
        cmd.args(["--scenario", "idle", "--startup-timeout", "200ms"]);
        let mut p = Proc::spawn("watchonly-sim (files)", cmd);
        let code = p.wait_exit(Duration::from_secs(30));
        assert_eq!(
            code,
            3,
            "idle sim without signer exits 3\n{}",
            p.transcript()
        );
        assert!(self.cert().exists() && self.macaroon().exists());
    }
}

// ------------------------------------------------------------------ simulator

fn sim_command(fx: &Fixture, listen: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_watchonly-sim"));
    cmd.arg("--listen")
        .arg(listen)
        .arg("--tls-dir")
        .arg(fx.tls_dir())
        .arg("--macaroon-out")
        .arg(fx.macaroon())
        .arg("--accounts")
        .arg(fx.accounts())
        .args(["--network", "regtest"]);
    cmd
}

/// A running `watchonly-sim`.
pub struct Sim {
    /// The process.
    pub proc: Proc,
    /// `127.0.0.1:PORT` it listens on.
    pub addr: String,
}

impl Sim {
    /// Starts the simulator on `listen` (port 0: any) with `extra` flags and
    /// waits for its `listening on` line.
    pub fn start(fx: &Fixture, listen: &str, extra: &[&str]) -> Sim {
        let mut cmd = sim_command(fx, listen);
        cmd.args(extra);
        let mut proc = Proc::spawn("watchonly-sim", cmd);
        let line = proc.wait_line(Duration::from_secs(30), |l| l.starts_with("listening on "));
        let addr = line
            .strip_prefix("listening on ")
            .and_then(|r| r.split_whitespace().next())
            .expect("address after `listening on`")
            .to_string();
        Sim { proc, addr }
    }

    /// Waits for the exit code.
    pub fn wait_exit(&mut self, timeout: Duration) -> i32 {
        self.proc.wait_exit(timeout)
    }

    /// The statistics line the simulator prints at exit, as (sent, re-sent,
    /// handshakes, refused).
    pub fn stats(&self) -> (u64, u64, u64, u64) {
        let line = self
            .proc
            .stderr()
            .into_iter()
            .rev()
            .find(|l| l.contains("stats: "))
            .unwrap_or_else(|| panic!("no stats line\n{}", self.proc.transcript()));
        let num_before = |word: &str| -> u64 {
            let words: Vec<&str> = line.split_whitespace().collect();
            let i = words
                .iter()
                .position(|w| w.trim_start_matches('(').starts_with(word))
                .unwrap_or_else(|| panic!("no {word:?} in {line:?}"));
            words[i - 1]
                .trim_start_matches('(')
                .parse()
                .unwrap_or_else(|_| panic!("no number before {word:?} in {line:?}"))
        };
        (
            num_before("requests"),
            num_before("re-sent"),
            num_before("signer"),
            num_before("streams"),
        )
    }

    /// Asserts exit 0, no failed check and at least `min` passed; returns
    /// the passed count.
    pub fn assert_passed(&mut self, what: &str, min: u64, timeout: Duration) -> u64 {
        let code = self.wait_exit(timeout);
        let summary = parse_summary(&self.proc.stdout());
        let (passed, failed) = summary.unwrap_or((0, u64::MAX));
        assert!(
            code == 0 && failed == 0 && passed >= min,
            "{what}: exit code {code}, summary {summary:?} (want 0 failed, >= {min} passed)\n{}",
            self.proc.transcript()
        );
        passed
    }
}

/// Parses the last line as `N passed, M failed`.
pub fn parse_summary(lines: &[String]) -> Option<(u64, u64)> {
    let last = lines.last()?;
    let parts: Vec<&str> = last.split_whitespace().collect();
    if parts.len() == 4 && parts[1] == "passed," && parts[3] == "failed" {
        Some((parts[0].parse().ok()?, parts[2].parse().ok()?))
    } else {
        None
    }
}

// ------------------------------------------------------------------ signer

/// How the native signer gets its seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedSource {
    /// `--network regtest --seed-file seed.txt` (tprv).
    SeedFile,
    /// `--vault seed.vault --passphrase-file vault.pass`.
    Vault,
}

/// Starts `lnd-web-signer connect` against `rpchost` with the fixture's
/// certificate and `macaroon` file.
pub fn start_signer(
    fx: &Fixture,
    rpchost: &str,
    macaroon: &Path,
    seed: SeedSource,
    extra: &[&str],
) -> Proc {
    let mut cmd = cli(&["connect", "--rpchost", rpchost]);
    cmd.arg("--tlscertpath")
        .arg(fx.cert())
        .arg("--macaroonpath")
        .arg(macaroon);
    match seed {
        SeedSource::SeedFile => {
            cmd.args(["--network", "regtest", "--seed-file"])
                .arg(fx.seed_file());
        }
        SeedSource::Vault => {
            let (vault, pass) = fx.vault();
            cmd.arg("--vault")
                .arg(vault)
                .arg("--passphrase-file")
                .arg(pass);
        }
    }
    cmd.args(extra).env("RUST_LOG", "info");
    Proc::spawn("lnd-web-signer connect", cmd)
}

/// Connection attempts in a `connect` log.
pub fn attempts(signer: &Proc) -> Vec<f64> {
    signer
        .stderr_times(|l| l.contains("connecting to the watch-only node"))
        .into_iter()
        .map(|(t, _)| t)
        .collect()
}

// ------------------------------------------------------------------ proxy

/// A TCP proxy on 127.0.0.1 in front of `upstream`. When armed with
/// [`CutProxy::cut_after`], it cuts every open connection right after it
/// forwarded the n-th large (≥ `min_len` bytes) chunk from upstream to the
/// client: that chunk carries a request the signer has received but can no
/// longer answer. [`CutProxy::blackhole`] makes the open connections
/// half-open instead: bytes in both directions are dropped, no FIN or RST
/// reaches either side. Later connections are forwarded normally.
pub struct CutProxy {
    /// Address clients connect to.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    state: Arc<CutState>,
}

struct CutState {
    armed: AtomicBool,
    remaining: AtomicUsize,
    min_len: AtomicUsize,
    cuts: AtomicUsize,
    open: Mutex<Vec<TcpStream>>,
    /// One flag per forwarded connection: set, its bytes are dropped.
    dead: Mutex<Vec<Arc<AtomicBool>>>,
    /// Chunks read from clients (forwarded or dropped).
    up_chunks: AtomicUsize,
    /// Connections accepted.
    accepted: AtomicUsize,
}

impl CutProxy {
    /// Starts forwarding to `upstream`.
    pub fn start(upstream: &str) -> CutProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("proxy address");
        let stop = Arc::new(AtomicBool::new(false));
        let state = Arc::new(CutState {
            armed: AtomicBool::new(false),
            remaining: AtomicUsize::new(0),
            min_len: AtomicUsize::new(usize::MAX),
            cuts: AtomicUsize::new(0),
            open: Mutex::new(Vec::new()),
            dead: Mutex::new(Vec::new()),
            up_chunks: AtomicUsize::new(0),
            accepted: AtomicUsize::new(0),
        });
        let upstream = upstream.to_string();
        {
            let stop = stop.clone();
            let state = state.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let _ = client.set_nonblocking(false);
                            let Ok(server) = TcpStream::connect(&upstream) else {
                                let _ = client.shutdown(Shutdown::Both);
                                continue;
                            };
                            let _ = client.set_nodelay(true);
                            let _ = server.set_nodelay(true);
                            forward(client, server, state.clone());
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            });
        }
        CutProxy { addr, stop, state }
    }

    /// Arms the cut: after `n` more upstream chunks of at least `min_len`
    /// bytes.
    pub fn cut_after(&self, n: usize, min_len: usize) {
        self.state.min_len.store(min_len, Ordering::SeqCst);
        self.state.remaining.store(n.max(1), Ordering::SeqCst);
        self.state.armed.store(true, Ordering::SeqCst);
    }

    /// How many cuts happened.
    pub fn cuts(&self) -> usize {
        self.state.cuts.load(Ordering::SeqCst)
    }

    /// Makes every open connection half-open: from now on their bytes are
    /// dropped in both directions and nothing closes them (the sockets stay
    /// open until the proxy is dropped), like a vanished peer or a NAT that
    /// forgot the mapping. Returns how many connections went dark.
    pub fn blackhole(&self) -> usize {
        let dead = self.state.dead.lock().expect("lock");
        for d in dead.iter() {
            d.store(true, Ordering::SeqCst);
        }
        dead.len()
    }

    /// Chunks read from clients so far.
    pub fn up_chunks(&self) -> usize {
        self.state.up_chunks.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }
}

impl Drop for CutProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        cut_all(&self.state);
    }
}

fn cut_all(state: &CutState) {
    if let Ok(mut open) = state.open.lock() {
        for s in open.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

fn forward(client: TcpStream, server: TcpStream, state: Arc<CutState>) {
    state.accepted.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut open) = state.open.lock() {
        for s in [&client, &server] {
            if let Ok(c) = s.try_clone() {
                open.push(c);
            }
        }
    }
    let dead = Arc::new(AtomicBool::new(false));
    if let Ok(mut d) = state.dead.lock() {
        d.push(dead.clone());
    }
    let (Ok(mut c_read), Ok(mut s_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    // client → server: plain copy (dropped once dark).
    let up_dead = dead.clone();
    let up_state = state.clone();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match c_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    up_state.up_chunks.fetch_add(1, Ordering::SeqCst);
                    if up_dead.load(Ordering::SeqCst) {
                        continue;
                    }
                    if s_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        // A dark connection passes no FIN either.
        if !up_dead.load(Ordering::SeqCst) {
            let _ = s_write.shutdown(Shutdown::Write);
        }
    });
    // server → client: copy, count large chunks, cut when armed.
    let (mut s_read, mut c_write) = (server, client);
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match s_read.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if dead.load(Ordering::SeqCst) {
                        continue;
                    }
                    if c_write.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if state.armed.load(Ordering::SeqCst)
                        && n >= state.min_len.load(Ordering::SeqCst)
                        && state.remaining.fetch_sub(1, Ordering::SeqCst) == 1
                    {
                        state.armed.store(false, Ordering::SeqCst);
                        state.cuts.fetch_add(1, Ordering::SeqCst);
                        cut_all(&state);
                        break;
                    }
                }
            }
        }
        if !dead.load(Ordering::SeqCst) {
            let _ = c_write.shutdown(Shutdown::Write);
        }
    });
}
