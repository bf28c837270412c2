//! Infrastructure of the interop suite with the real lnd
//! (`native/tests/itest_lnd.rs`, run by `scripts/itest-lnd.sh`): btcd as
//! regtest miner and chain backend, lnd nodes driven through `lncli`, the
//! signers (native, the signer tab in headless Chromium through
//! `signer-bridge`, the same behind `grpcwebproxy`), bounded polling waits
//! and processes that are killed when dropped. Loopback only; every port is
//! chosen free; nothing sleeps a fixed time where lnd's own state can be
//! polled.
#![allow(dead_code, clippy::print_stderr, clippy::print_stdout)]

pub mod bench;
pub mod btcd;
pub mod lnd;
pub mod signers;

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set when the run is being torn down (Ctrl-C or end): waits give up.
pub static STOPPING: AtomicBool = AtomicBool::new(false);

/// Paths of the real peers (built by `scripts/setup.sh` from the pinned Go
/// modules under `tests/go/`).
#[derive(Debug, Clone)]
pub struct Tools {
    /// `lnd`.
    pub lnd: PathBuf,
    /// `lncli`.
    pub lncli: PathBuf,
    /// `btcd`.
    pub btcd: PathBuf,
    /// `btcctl`.
    pub btcctl: PathBuf,
    /// improbable-eng's `grpcwebproxy` (the Envoy stand-in).
    pub grpcwebproxy: PathBuf,
}

impl Tools {
    /// Tools from the folders named by `LWS_ITEST_LND_BIN` (lnd, lncli),
    /// `LWS_ITEST_BTCD_BIN` (btcd, btcctl) and `LWS_ITEST_PROXY_BIN`
    /// (grpcwebproxy); `None` when `LWS_ITEST_LND_BIN` is unset.
    pub fn from_env() -> Result<Option<Tools>, String> {
        let Some(lnd_dir) = std::env::var_os("LWS_ITEST_LND_BIN") else {
            return Ok(None);
        };
        let lnd_dir = PathBuf::from(lnd_dir);
        let dir_of = |var: &str| -> PathBuf {
            std::env::var_os(var).map_or_else(|| lnd_dir.clone(), PathBuf::from)
        };
        let btcd_dir = dir_of("LWS_ITEST_BTCD_BIN");
        let proxy_dir = dir_of("LWS_ITEST_PROXY_BIN");
        let tools = Tools {
            lnd: lnd_dir.join("lnd"),
            lncli: lnd_dir.join("lncli"),
            btcd: btcd_dir.join("btcd"),
            btcctl: btcd_dir.join("btcctl"),
            grpcwebproxy: proxy_dir.join("grpcwebproxy"),
        };
        for p in [
            &tools.lnd,
            &tools.lncli,
            &tools.btcd,
            &tools.btcctl,
            &tools.grpcwebproxy,
        ] {
            if !p.is_file() {
                return Err(format!("{} not found", p.display()));
            }
        }
        Ok(Some(tools))
    }
}

/// Prefix of an error that ends a [`wait_for`] at once.
pub const FATAL: &str = "fatal: ";

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// `127.0.0.1:PORT` with a free port.
pub fn free_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// Polls `f` every 200 ms until it returns `Ok(Some(_))`, for at most
/// `timeout`. `Ok(None)` and `Err(reason)` mean "not yet"; the last reason
/// is part of the error when time runs out. An error starting with
/// [`FATAL`] ends the wait at once (a process that died).
pub fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let start = Instant::now();
    let mut last = String::from("condition not met");
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) if e.starts_with(FATAL) => return Err(format!("{what}: {e}")),
            Err(e) => last = e,
        }
        if start.elapsed() >= timeout {
            return Err(format!("{what}: not within {timeout:?} ({last})"));
        }
        if STOPPING.load(Ordering::Relaxed) {
            return Err(format!("{what}: run stopped ({last})"));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A long-running child process whose stdout and stderr go to a log file.
/// Killed (SIGKILL) when dropped.
#[derive(Debug)]
pub struct Daemon {
    /// Name used in messages.
    pub name: String,
    child: Child,
    /// Where its output goes.
    pub log: PathBuf,
    exit: Option<String>,
}

impl Daemon {
    /// Starts `cmd`, output appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Result<Daemon, String> {
        let out = File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("{name}: cannot open log {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("{name}: cannot open log: {e}"))?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name} ({:?}): {e}", cmd.get_program()))?;
        Ok(Daemon {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
            exit: None,
        })
    }

    /// Process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `None` while running, else how it ended.
    pub fn exited(&mut self) -> Option<String> {
        if self.exit.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exit = Some(status.to_string());
            }
        }
        self.exit.clone()
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        self.exited().is_none()
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        if let Ok(status) = self.child.wait() {
            self.exit = Some(status.to_string());
        }
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if self.exited().is_some() {
            return;
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = Instant::now();
        while start.elapsed() < grace {
            if self.exited().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }

    /// The last `n` lines of its log.
    pub fn tail(&self, n: usize) -> String {
        tail_file(&self.log, n)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last `n` lines of a text file (reads at most its last 256 KiB).
pub fn tail_file(path: &Path, n: usize) -> String {
    let Ok(mut f) = File::open(path) else {
        return format!("({} not readable)", path.display());
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let _ = f.seek(SeekFrom::Start(len.saturating_sub(256 * 1024)));
    let mut buf = Vec::new();
    let _ = f.read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Runs a command to completion with a time limit; returns stdout, or an
/// error with its exit status and stderr.
pub fn run(mut cmd: Command, what: &str, timeout: Duration) -> Result<String, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("{what}: cannot start: {e}"))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = stdout.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(p) = stderr.as_mut() {
            let _ = p.read_to_end(&mut s);
        }
        s
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what}: no answer within {timeout:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => return Err(format!("{what}: {e}")),
        }
    };
    let out = String::from_utf8_lossy(&out_reader.join().unwrap_or_default()).into_owned();
    let err = String::from_utf8_lossy(&err_reader.join().unwrap_or_default()).into_owned();
    if status.success() {
        Ok(out)
    } else {
        let text = if err.trim().is_empty() { out } else { err };
        Err(format!("{what}: {status}: {}", text.trim()))
    }
}

/// Writes `text` to `path`, with a readable error.
pub fn write(path: &Path, text: impl AsRef<[u8]>) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Creates a directory (and parents).
pub fn mkdir(path: &Path) -> Result<(), String> {
    std::fs::create_dir_all(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
}
