//! The signers under test: the native `lnd-web-signer connect`, and the
//! signer tab (wasm in headless Chromium, driven like a user by
//! `scripts/headless-tab.sh`) through `signer-bridge --grpc-web` or through
//! `signer-bridge` (plain gRPC) behind improbable-eng's `grpcwebproxy` with
//! TLS, standing in for Envoy.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use bitcoin::hashes::Hash as _;

use super::btcd::Btcd;
use super::lnd::{Lnd, NodeOptions};
use super::{free_addr, free_port, mkdir, tail_file, wait_for, write, Daemon, Tools, FATAL};

/// The workspace root (for scripts, web/ and built binaries).
pub fn root_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".."))
}

/// What the signer needs to reach alice.
#[derive(Debug, Clone)]
pub struct Target {
    /// alice's remote-signer listener.
    pub rpchost: String,
    /// alice's `tls.cert`.
    pub tls_cert: PathBuf,
    /// The macaroon baked with `remotesigner:generate`.
    pub macaroon: PathBuf,
}

/// The sealed seed and its passphrase file.
#[derive(Debug, Clone)]
pub struct VaultFiles {
    /// `lnd-web-signer vault seal` output.
    pub vault: PathBuf,
    /// First line: the passphrase.
    pub passphrase_file: PathBuf,
}

/// Counts the lines of `path` that contain `needle`.
pub fn count_in(path: &Path, needle: &str) -> usize {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter(|l| l.contains(needle)).count())
        .unwrap_or(0)
}

/// `lnd-web-signer connect` (this build's binary).
#[derive(Debug)]
pub struct NativeSigner {
    /// The process.
    pub daemon: Daemon,
}

impl NativeSigner {
    /// Starts it against `target` with the vault.
    pub fn start(dir: &Path, target: &Target, vault: &VaultFiles) -> Result<Self, String> {
        mkdir(dir)?;
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lnd-web-signer"));
        cmd.arg("connect")
            .arg("--rpchost")
            .arg(&target.rpchost)
            .arg("--tlscertpath")
            .arg(&target.tls_cert)
            .arg("--macaroonpath")
            .arg(&target.macaroon)
            .arg("--vault")
            .arg(&vault.vault)
            .arg("--passphrase-file")
            .arg(&vault.passphrase_file)
            .env("RUST_LOG", "info");
        // A restarted signer appends to the same log.
        let daemon = Daemon::spawn("lnd-web-signer connect", cmd, &dir.join("signer.log"))?;
        Ok(NativeSigner { daemon })
    }

    /// Registrations so far (this log, all runs).
    pub fn registrations(&self) -> usize {
        count_in(&self.daemon.log, "registered with the watch-only node")
    }

    /// Answered requests so far.
    pub fn answers(&self) -> usize {
        count_in(&self.daemon.log, "answered")
    }

    /// Waits for the `n`th registration.
    pub fn wait_registered(&mut self, n: usize, timeout: Duration) -> Result<(), String> {
        let log = self.daemon.log.clone();
        let daemon = &mut self.daemon;
        wait_for("native signer registered", timeout, || {
            if let Some(e) = daemon.exited() {
                return Err(format!("{FATAL}signer exited ({e}): {}", daemon.tail(20)));
            }
            Ok((count_in(&log, "registered with the watch-only node") >= n).then_some(()))
        })
    }
}

/// How the tab reaches the bridge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TabPath {
    /// `signer-bridge --grpc-web` (CORS) straight from the page.
    BridgeGrpcWeb,
    /// `signer-bridge` plain gRPC behind `grpcwebproxy` over TLS.
    GrpcWebProxy,
}

/// The signer tab in headless Chromium with its bridge (and proxy).
#[derive(Debug)]
pub struct TabSigner {
    /// Which path.
    pub path: TabPath,
    /// `signer-bridge`.
    pub bridge: Daemon,
    bridge_cmd: BridgeCmd,
    /// `grpcwebproxy` on the proxy path.
    pub proxy: Option<Daemon>,
    /// The static server for web/.
    pub server: Daemon,
    /// `scripts/headless-tab.sh`.
    pub tab: Daemon,
    /// The URL the page was given.
    pub bridge_url: String,
    dir: PathBuf,
}

#[derive(Debug, Clone)]
struct BridgeCmd {
    listen: String,
    grpc_web: bool,
    origin: String,
    target: Target,
}

impl BridgeCmd {
    fn spawn(&self, log: &Path) -> Result<Daemon, String> {
        let bin = root_dir().join("target/release/signer-bridge");
        let mut cmd = Command::new(&bin);
        cmd.arg("--listen")
            .arg(&self.listen)
            .arg("--lnd-rpchost")
            .arg(&self.target.rpchost)
            .arg("--lnd-tlscertpath")
            .arg(&self.target.tls_cert)
            .env("RUST_LOG", "info");
        if self.grpc_web {
            cmd.arg("--grpc-web")
                .arg("--allow-origin")
                .arg(&self.origin);
        }
        Daemon::spawn("signer-bridge", cmd, log)
    }
}

/// Waits until `addr` accepts TCP connections.
pub fn wait_listening(addr: &str, what: &str, timeout: Duration) -> Result<(), String> {
    wait_for(&format!("{what} listening on {addr}"), timeout, || {
        Ok(std::net::TcpStream::connect(addr).ok().map(|_| ()))
    })
}

impl TabSigner {
    /// Starts the bridge (and proxy), the static server and the tab; the
    /// tab restores `vault`, unlocks, seals the macaroon in and connects.
    pub fn start(
        dir: &Path,
        path: TabPath,
        target: &Target,
        vault: &VaultFiles,
    ) -> Result<Self, String> {
        mkdir(dir)?;
        let page_port = free_port();
        let origin = format!("http://127.0.0.1:{page_port}");
        let bridge_listen = free_addr();
        let bridge_cmd = BridgeCmd {
            listen: bridge_listen.clone(),
            grpc_web: path == TabPath::BridgeGrpcWeb,
            origin: origin.clone(),
            target: target.clone(),
        };
        let bridge = bridge_cmd.spawn(&dir.join("bridge.log"))?;
        wait_listening(&bridge_listen, "signer-bridge", Duration::from_secs(20))?;

        let mut chrome_args = String::new();
        let (proxy, bridge_url) = match path {
            TabPath::BridgeGrpcWeb => (None, format!("http://{bridge_listen}")),
            TabPath::GrpcWebProxy => {
                let (proxy, url, spki) = start_proxy(dir, &bridge_listen, &origin)?;
                chrome_args = format!("--ignore-certificate-errors-spki-list={spki}");
                (Some(proxy), url)
            }
        };

        let mut server_cmd = Command::new("node");
        server_cmd
            .arg(root_dir().join("tests/page/server.mjs"))
            .args(["--host", "127.0.0.1", "--port", &page_port.to_string()]);
        let server = Daemon::spawn("page server", server_cmd, &dir.join("server.log"))?;
        wait_listening(
            &format!("127.0.0.1:{page_port}"),
            "page server",
            Duration::from_secs(20),
        )?;

        let mut tab_cmd = Command::new("bash");
        tab_cmd
            .arg(root_dir().join("scripts/headless-tab.sh"))
            .arg("--url")
            .arg(format!("{origin}/"))
            .arg("--bridge")
            .arg(&bridge_url)
            .arg("--vault")
            .arg(&vault.vault)
            .arg("--passphrase-file")
            .arg(&vault.passphrase_file)
            .arg("--macaroonpath")
            .arg(&target.macaroon)
            .arg("--register-timeout")
            .arg("300");
        if let Ok(shots) = std::env::var("LWS_ITEST_SCREENSHOTS") {
            tab_cmd
                .env("SCREENSHOT_DIR", shots)
                .arg("--screenshot-prefix")
                .arg(match path {
                    TabPath::BridgeGrpcWeb => "itest-bridge-",
                    TabPath::GrpcWebProxy => "itest-proxy-",
                });
        }
        if !chrome_args.is_empty() {
            tab_cmd.env("CHROME_EXTRA_ARGS", &chrome_args);
        }
        let tab = Daemon::spawn("signer tab", tab_cmd, &dir.join("tab.log"))?;
        Ok(TabSigner {
            path,
            bridge,
            bridge_cmd,
            proxy,
            server,
            tab,
            bridge_url,
            dir: dir.to_path_buf(),
        })
    }

    /// Registrations the tab reported so far.
    pub fn registrations(&self) -> usize {
        count_in(&self.tab.log, "[status] registered")
    }

    /// Requests the tab answered so far (its activity lines).
    pub fn answers(&self) -> usize {
        std::fs::read_to_string(&self.tab.log)
            .map(|t| t.lines().filter(|l| l.starts_with('#')).count())
            .unwrap_or(0)
    }

    /// Waits for the `n`th registration reported by the tab.
    pub fn wait_registered(&mut self, n: usize, timeout: Duration) -> Result<(), String> {
        let log = self.tab.log.clone();
        let tab = &mut self.tab;
        wait_for("signer tab registered", timeout, || {
            if let Some(e) = tab.exited() {
                return Err(format!(
                    "{FATAL}headless tab exited ({e}): {}",
                    tail_file(&log, 30)
                ));
            }
            Ok((count_in(&log, "[status] registered") >= n).then_some(()))
        })
    }

    /// SIGKILLs the bridge and starts it again on the same address.
    pub fn restart_bridge(&mut self) -> Result<(), String> {
        self.bridge.kill();
        self.bridge = self.bridge_cmd.spawn(&self.dir.join("bridge.log"))?;
        wait_listening(
            &self.bridge_cmd.listen,
            "signer-bridge",
            Duration::from_secs(20),
        )
    }

    /// Stops everything (the tab first: lnd then sees the signer go).
    pub fn stop(&mut self) {
        self.tab.stop(Duration::from_secs(5));
        if let Some(p) = self.proxy.as_mut() {
            p.kill();
        }
        self.bridge.stop(Duration::from_secs(3));
        self.server.kill();
    }
}

/// Starts `grpcwebproxy` with a fresh self-signed certificate for
/// 127.0.0.1 in front of the plain-gRPC bridge at `backend`. Returns the
/// process, the URL for the page and the certificate's SPKI hash (base64 of
/// SHA-256) that Chromium is told to trust.
fn start_proxy(
    dir: &Path,
    backend: &str,
    origin: &str,
) -> Result<(Daemon, String, String), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| format!("proxy key: {e}"))?;
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".into()])
        .map_err(|e| format!("proxy certificate parameters: {e}"))?;
    let cert = params
        .self_signed(&key)
        .map_err(|e| format!("proxy certificate: {e}"))?;
    let cert_path = dir.join("proxy.cert");
    let key_path = dir.join("proxy.key");
    write(&cert_path, cert.pem())?;
    write(&key_path, key.serialize_pem())?;
    let spki = base64::engine::general_purpose::STANDARD.encode(
        bitcoin::hashes::sha256::Hash::hash(&rcgen::PublicKeyData::subject_public_key_info(&key))
            .as_byte_array(),
    );
    let port = free_port();
    let tools_proxy = Tools::from_env()?
        .ok_or_else(|| "LWS_ITEST_LND_BIN is not set".to_string())?
        .grpcwebproxy;
    let mut cmd = Command::new(tools_proxy);
    cmd.arg(format!("--backend_addr={backend}"))
        .arg("--backend_tls=false")
        .arg("--run_http_server=false")
        .arg("--run_tls_server=true")
        .arg("--server_bind_address=127.0.0.1")
        .arg(format!("--server_http_tls_port={port}"))
        .arg(format!("--server_tls_cert_file={}", cert_path.display()))
        .arg(format!("--server_tls_key_file={}", key_path.display()))
        .arg(format!("--allowed_origins={origin}"))
        .arg("--allowed_headers=content-type,x-grpc-web,x-user-agent,grpc-timeout,macaroon")
        // Attach is a long-lived server stream: no whole-response timeout.
        .arg("--server_http_max_write_timeout=0")
        .arg("--server_http_max_read_timeout=0")
        .arg("--backend_max_call_recv_msg_size=209715200");
    let proxy = Daemon::spawn("grpcwebproxy", cmd, &dir.join("proxy.log"))?;
    wait_listening(
        &format!("127.0.0.1:{port}"),
        "grpcwebproxy",
        Duration::from_secs(20),
    )?;
    Ok((proxy, format!("https://127.0.0.1:{port}"), spki))
}

/// alice, the watch-only node of both the interop suite and the benchmark:
/// lnd with `deploy/lnd.conf` in `DIR/alice`, waiting for its wallet, and
/// the signer macaroon baked offline (`bakemacaroon --root_key …
/// remotesigner:generate`, saved in `signer_dir`); with what a signer needs
/// to reach it.
pub struct WatchOnlyAlice {
    /// The node.
    pub lnd: Lnd,
    /// What the signer needs to reach it.
    pub target: Target,
    /// Root key of its macaroons (hex), for `createwatchonly`.
    pub mac_root_hex: String,
    /// The options it was started with (for restarts).
    pub opts: NodeOptions,
}

/// Starts [`WatchOnlyAlice`].
pub fn start_watch_only_alice(
    tools: &Tools,
    btcd: &Btcd,
    dir: &Path,
    signer_dir: &Path,
    wait: std::time::Duration,
) -> Result<WatchOnlyAlice, String> {
    let alice_opts = NodeOptions {
        watch_only_conf: Some(root_dir().join("deploy/lnd.conf")),
        extra: Vec::new(),
        addrs: None,
    };
    let mut alice = Lnd::start(tools, btcd, "alice", &dir.join("alice"), &alice_opts)?;
    alice.wait_state("NON_EXISTING", wait)?;
    let mut mac_root = [0u8; 32];
    getrandom::getrandom(&mut mac_root).map_err(|e| e.to_string())?;
    let mac_root_hex = hex::encode(mac_root);
    let macaroon = signer_dir.join("signer.macaroon");
    alice.cli_text(&[
        "bakemacaroon",
        &format!("--root_key={mac_root_hex}"),
        &format!("--save_to={}", macaroon.display()),
        "remotesigner:generate",
    ])?;
    let target = Target {
        rpchost: alice
            .signer_listen
            .clone()
            .ok_or("alice has no signer listener")?,
        tls_cert: alice.dir.join("tls.cert"),
        macaroon,
    };
    Ok(WatchOnlyAlice {
        lnd: alice,
        target,
        mac_root_hex,
        opts: alice_opts,
    })
}
