//! lnd nodes driven through `lncli`: alice (watch-only, signed for by our
//! signer) and bob (a normal lnd).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::btcd::{Btcd, RPC_PASS, RPC_USER};
use super::{free_addr, mkdir, run, wait_for, Daemon, Tools, FATAL};

/// Password of alice's watch-only wallet (lnd wants at least 8 characters).
pub const WALLET_PASSWORD: &str = "lws-itest-wallet";

/// How long one `lncli` call may take.
const CLI_TIMEOUT: Duration = Duration::from_secs(60);

/// A running lnd.
#[derive(Debug)]
pub struct Lnd {
    /// `alice`, `bob`, …
    pub name: String,
    /// The process.
    pub daemon: Daemon,
    /// `--lnddir`.
    pub dir: PathBuf,
    /// `127.0.0.1:PORT` of its gRPC server (lncli).
    pub rpc: String,
    /// `127.0.0.1:PORT` of its P2P listener.
    pub p2p: String,
    /// The remote-signer listener (watch-only nodes only).
    pub signer_listen: Option<String>,
    lncli: PathBuf,
}

/// How to start a node.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    /// Watch-only node in outbound remote-signer mode, with this config file
    /// (deploy/lnd.conf) and its remote-signer listener on a free port.
    pub watch_only_conf: Option<PathBuf>,
    /// More flags.
    pub extra: Vec<String>,
    /// Fixed `(rpc, p2p, signer listener)` addresses (a restart keeps its
    /// addresses); free ports when `None`.
    pub addrs: Option<(String, String, String)>,
}

impl Lnd {
    /// Starts lnd `name` under `dir` on `btcd`. Returns once the process
    /// runs; use [`Lnd::wait_state`] for readiness.
    pub fn start(
        tools: &Tools,
        btcd: &Btcd,
        name: &str,
        dir: &Path,
        opts: &NodeOptions,
    ) -> Result<Lnd, String> {
        mkdir(dir)?;
        let (rpc, p2p, listen) = opts
            .addrs
            .clone()
            .unwrap_or_else(|| (free_addr(), free_addr(), free_addr()));
        let mut cmd = Command::new(&tools.lnd);
        let mut signer_listen = None;
        if let Some(conf) = &opts.watch_only_conf {
            cmd.arg(format!("--configfile={}", conf.display()))
                .arg(format!("--remotesigner.experimentalrpclisten={listen}"));
            signer_listen = Some(listen);
        } else {
            cmd.arg("--noseedbackup");
        }
        cmd.arg(format!("--lnddir={}", dir.display()))
            .arg("--bitcoin.regtest")
            .arg("--bitcoin.node=btcd")
            .arg(format!("--btcd.rpchost={}", btcd.rpc))
            .arg(format!("--btcd.rpcuser={RPC_USER}"))
            .arg(format!("--btcd.rpcpass={RPC_PASS}"))
            .arg(format!("--btcd.rpccert={}", btcd.cert.display()))
            .arg(format!("--rpclisten={rpc}"))
            .arg(format!("--listen={p2p}"))
            .arg(format!("--externalip={p2p}"))
            .arg(format!("--alias={name}"))
            .args([
                "--norest",
                "--nobootstrap",
                "--debuglevel=debug",
                "--trickledelay=50",
                "--bitcoin.defaultchanconfs=1",
                "--bitcoin.defaultremotedelay=4",
                "--maxpendingchannels=10",
                "--db.batch-commit-interval=10ms",
                "--gossip.sub-batch-delay=5ms",
                "--accept-keysend",
                "--protocol.simple-taproot-chans",
            ])
            .args(&opts.extra);
        let daemon = Daemon::spawn(&format!("lnd {name}"), cmd, &dir.join("lnd.out"))?;
        Ok(Lnd {
            name: name.to_string(),
            daemon,
            dir: dir.to_path_buf(),
            rpc,
            p2p,
            signer_listen,
            lncli: tools.lncli.clone(),
        })
    }

    /// `lncli` for this node.
    pub fn lncli(&self) -> Command {
        let mut cmd = Command::new(&self.lncli);
        cmd.arg(format!("--lnddir={}", self.dir.display()))
            .arg("--network=regtest")
            .arg(format!("--rpcserver={}", self.rpc));
        cmd
    }

    /// `lncli ARGS`, stdout as text.
    pub fn cli_text(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = self.lncli();
        cmd.args(args);
        run(
            cmd,
            &format!("{}: lncli {}", self.name, args.join(" ")),
            CLI_TIMEOUT,
        )
    }

    /// `lncli ARGS`, stdout parsed as JSON.
    pub fn cli(&self, args: &[&str]) -> Result<Value, String> {
        let out = self.cli_text(args)?;
        serde_json::from_str(&out).map_err(|e| {
            format!(
                "{}: lncli {}: not JSON ({e}): {}",
                self.name,
                args.join(" "),
                out.trim()
            )
        })
    }

    /// `lncli state` (`NON_EXISTING`, `LOCKED`, `UNLOCKED`, `RPC_ACTIVE`,
    /// `SERVER_ACTIVE`, …), or an error while the RPC is not up.
    pub fn state(&self) -> Result<String, String> {
        let v = self.cli(&["state"])?;
        Ok(v.get("state")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string())
    }

    /// The options to start this node again at the same addresses.
    pub fn restart_options(&self, base: &NodeOptions) -> NodeOptions {
        let mut o = base.clone();
        o.addrs = Some((
            self.rpc.clone(),
            self.p2p.clone(),
            self.signer_listen.clone().unwrap_or_default(),
        ));
        o
    }

    /// Waits until `lncli state` says `want`; fails early if lnd exits.
    pub fn wait_state(&mut self, want: &str, timeout: Duration) -> Result<(), String> {
        self.wait_states(&[want], timeout).map(|_| ())
    }

    /// Waits until `lncli state` says one of `wants`; returns it.
    pub fn wait_states(&mut self, wants: &[&str], timeout: Duration) -> Result<String, String> {
        let want = wants.join(" or ");
        let name = self.name.clone();
        let daemon = &mut self.daemon;
        let lncli = self.lncli.clone();
        let (dir, rpc) = (self.dir.clone(), self.rpc.clone());
        wait_for(&format!("{name} state {want}"), timeout, || {
            if let Some(exit) = daemon.exited() {
                return Err(format!(
                    "{FATAL}lnd {name} exited ({exit}):\n{}",
                    daemon.tail(15)
                ));
            }
            let mut cmd = Command::new(&lncli);
            cmd.arg(format!("--lnddir={}", dir.display()))
                .arg("--network=regtest")
                .arg(format!("--rpcserver={rpc}"))
                .arg("state");
            let out = run(cmd, "lncli state", Duration::from_secs(10))?;
            let v: Value = serde_json::from_str(&out).map_err(|e| e.to_string())?;
            let got = v.get("state").and_then(Value::as_str).unwrap_or("");
            Ok(wants.contains(&got).then(|| got.to_string()))
        })
    }

    /// Whether the process still runs.
    pub fn alive(&mut self) -> bool {
        self.daemon.alive()
    }

    /// `getinfo`.
    pub fn getinfo(&self) -> Result<Value, String> {
        self.cli(&["getinfo"])
    }

    /// Its node public key (hex).
    pub fn pubkey(&self) -> Result<String, String> {
        str_field(&self.getinfo()?, "identity_pubkey")
    }

    /// Waits until `getinfo` says `synced_to_chain` at `height` or above.
    pub fn wait_synced(&self, height: u64, timeout: Duration) -> Result<(), String> {
        wait_for(
            &format!("{} synced to height {height}", self.name),
            timeout,
            || {
                let info = self.getinfo()?;
                let synced = info
                    .get("synced_to_chain")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let h = info
                    .get("block_height")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                Ok((synced && h >= height).then_some(()))
            },
        )
    }

    /// A new address of `kind` (`p2wkh`, `np2wkh`, `p2tr`).
    pub fn new_address(&self, kind: &str) -> Result<String, String> {
        str_field(&self.cli(&["newaddress", kind])?, "address")
    }

    /// `walletbalance` (confirmed, unconfirmed) in sat.
    pub fn balance(&self) -> Result<(u64, u64), String> {
        let v = self.cli(&["walletbalance"])?;
        Ok((
            num_field(&v, "confirmed_balance")?,
            num_field(&v, "unconfirmed_balance")?,
        ))
    }

    /// Writes the answers of `lncli createwatchonly` at its prompts
    /// (password twice, the birthday, the default look-ahead) through a
    /// pseudo terminal (lncli reads the password from a terminal only).
    pub fn create_watch_only(
        &self,
        accounts: &Path,
        mac_root_key_hex: &str,
        birthday: u64,
    ) -> Result<String, String> {
        let lncli = format!(
            "{} --lnddir={} --network=regtest --rpcserver={} createwatchonly --mac_root_key={} {}",
            shell_quote(&self.lncli.display().to_string()),
            shell_quote(&self.dir.display().to_string()),
            self.rpc,
            mac_root_key_hex,
            shell_quote(&accounts.display().to_string()),
        );
        let answers = [
            ("Input wallet password", format!("{WALLET_PASSWORD}\n")),
            ("Confirm password", format!("{WALLET_PASSWORD}\n")),
            ("wallet birthday", format!("{birthday}\n")),
            ("look-ahead", "\n".to_string()),
        ];
        pty_dialog(&lncli, &answers, Duration::from_secs(90))
    }
}

/// A string field of a JSON object.
pub fn str_field(v: &Value, key: &str) -> Result<String, String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("no string `{key}` in {v}"))
}

/// A number field that lncli prints as a string or a number.
pub fn num_field(v: &Value, key: &str) -> Result<u64, String> {
    match v.get(key) {
        Some(Value::String(s)) => s.parse().map_err(|e| format!("`{key}` = {s:?}: {e}")),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| format!("`{key}` = {n}")),
        None => Ok(0),
        Some(other) => Err(format!("`{key}` = {other}")),
    }
}

/// Single-quotes `s` for `sh -c`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Runs `shell_cmd` under `script` (a pseudo terminal) and answers each
/// prompt in order when its text appears. Returns everything printed.
pub fn pty_dialog(
    shell_cmd: &str,
    answers: &[(&str, String)],
    timeout: Duration,
) -> Result<String, String> {
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", shell_cmd, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start script(1) for a pseudo terminal: {e}"))?;
    let output = Arc::new(Mutex::new(String::new()));
    let mut stdout = child
        .stdout
        .take()
        .ok_or_else(|| "script: no stdout".to_string())?;
    let sink = Arc::clone(&output);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            if let Ok(mut o) = sink.lock() {
                o.push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        }
    });
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| "script: no stdin".to_string())?;
    let start = Instant::now();
    let text = |o: &Arc<Mutex<String>>| o.lock().map(|s| s.clone()).unwrap_or_default();
    let mut from = 0usize;
    for (prompt, answer) in answers {
        loop {
            let seen = text(&output);
            if let Some(pos) = seen[from.min(seen.len())..].find(prompt) {
                from += pos + prompt.len();
                break;
            }
            if let Ok(Some(status)) = child.try_wait() {
                let _ = reader.join();
                return Err(format!(
                    "`{shell_cmd}` ended ({status}) before asking {prompt:?}: {}",
                    text(&output).trim()
                ));
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                return Err(format!(
                    "`{shell_cmd}`: no {prompt:?} prompt within {timeout:?}: {}",
                    text(&output).trim()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Let the program switch the terminal mode before typing.
        std::thread::sleep(Duration::from_millis(100));
        stdin
            .write_all(answer.as_bytes())
            .map_err(|e| format!("cannot answer {prompt:?}: {e}"))?;
        let _ = stdin.flush();
    }
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if start.elapsed() > timeout {
            let _ = child.kill();
            return Err(format!(
                "`{shell_cmd}` did not finish within {timeout:?}: {}",
                text(&output).trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let _ = reader.join();
    let out = text(&output);
    if status.success() {
        Ok(out)
    } else {
        Err(format!("`{shell_cmd}` failed ({status}): {}", out.trim()))
    }
}

/// An lnd that acts as an outbound remote signer (`watchonlynode.*`,
/// spec/protocol.md §3.8) for a watch-only node: no chain backend
/// (`--bitcoin.node=nochainbackend`), no P2P listener, its own gRPC port
/// for `lncli`.
#[derive(Debug, Clone)]
pub struct SignerNodeOptions {
    /// The watch-only node's remote-signer listener.
    pub rpchost: String,
    /// The macaroon baked with `remotesigner:generate`.
    pub macaroon: PathBuf,
    /// The watch-only node's `tls.cert`.
    pub tls_cert: PathBuf,
    /// A file holding the wallet password (`--wallet-unlock-password-file`)
    /// once the wallet exists; `None` for the first start.
    pub unlock_password_file: Option<PathBuf>,
    /// `127.0.0.1:PORT` for its gRPC server (a restart keeps it); a free
    /// port when `None`.
    pub rpc: Option<String>,
    /// `--debuglevel`.
    pub debuglevel: String,
}

impl Lnd {
    /// Starts lnd `name` under `dir` as an outbound remote signer (see
    /// [`SignerNodeOptions`]). Returns once the process runs.
    pub fn start_signer_node(
        tools: &Tools,
        name: &str,
        dir: &Path,
        opts: &SignerNodeOptions,
    ) -> Result<Lnd, String> {
        mkdir(dir)?;
        let rpc = opts.rpc.clone().unwrap_or_else(free_addr);
        let mut cmd = Command::new(&tools.lnd);
        cmd.arg(format!("--lnddir={}", dir.display()))
            .arg("--bitcoin.regtest")
            .arg("--bitcoin.node=nochainbackend")
            .arg(format!("--rpclisten={rpc}"))
            .arg(format!("--alias={name}"))
            .arg(format!("--debuglevel={}", opts.debuglevel))
            .args(["--norest", "--nolisten", "--nobootstrap"])
            .arg("--watchonlynode.experimentalenable")
            .arg(format!("--watchonlynode.rpchost={}", opts.rpchost))
            .arg(format!(
                "--watchonlynode.macaroonpath={}",
                opts.macaroon.display()
            ))
            .arg(format!(
                "--watchonlynode.tlscertpath={}",
                opts.tls_cert.display()
            ));
        if let Some(pw) = &opts.unlock_password_file {
            cmd.arg(format!("--wallet-unlock-password-file={}", pw.display()));
        }
        let daemon = Daemon::spawn(&format!("lnd {name}"), cmd, &dir.join("lnd.out"))?;
        Ok(Lnd {
            name: name.to_string(),
            daemon,
            dir: dir.to_path_buf(),
            rpc,
            p2p: String::new(),
            signer_listen: None,
            lncli: tools.lncli.clone(),
        })
    }

    /// `lncli create` restoring the wallet from an existing aezeed mnemonic
    /// (no aezeed passphrase, the default look-ahead), answered through a
    /// pseudo terminal; the wallet password is [`WALLET_PASSWORD`].
    pub fn create_from_mnemonic(&self, mnemonic: &str) -> Result<String, String> {
        let words: Vec<&str> = mnemonic.split_whitespace().collect();
        if words.len() != 24 {
            return Err(format!("a mnemonic of {} words, not 24", words.len()));
        }
        let lncli = format!(
            "{} --lnddir={} --network=regtest --rpcserver={} create",
            shell_quote(&self.lncli.display().to_string()),
            shell_quote(&self.dir.display().to_string()),
            self.rpc,
        );
        let answers = [
            ("Input wallet password", format!("{WALLET_PASSWORD}\n")),
            ("Confirm password", format!("{WALLET_PASSWORD}\n")),
            ("(Enter y/x/n)", "y\n".to_string()),
            ("24-word mnemonic", format!("{}\n", words.join(" "))),
            ("cipher seed passphrase", "\n".to_string()),
            ("look-ahead", "\n".to_string()),
        ];
        pty_dialog(&lncli, &answers, Duration::from_secs(120))
    }
}
