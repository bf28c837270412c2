//! btcd in regtest mode: the miner and every lnd's chain backend.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;

use super::{free_addr, mkdir, run, wait_for, Daemon, Tools};

/// RPC user of the test btcd.
pub const RPC_USER: &str = "lws";
/// RPC password of the test btcd.
pub const RPC_PASS: &str = "lws-itest-rpc";

/// A running btcd.
#[derive(Debug)]
pub struct Btcd {
    /// The process.
    pub daemon: Daemon,
    /// Its data directory.
    pub dir: PathBuf,
    /// `127.0.0.1:PORT` of its RPC server.
    pub rpc: String,
    /// `127.0.0.1:PORT` of its P2P listener.
    pub p2p: String,
    /// Its RPC certificate (lnd's `btcd.rpccert`).
    pub cert: PathBuf,
    btcctl: PathBuf,
}

impl Btcd {
    /// Starts btcd under `dir`, mining to `mining_addr`, and waits until
    /// its RPC answers.
    pub fn start(tools: &Tools, dir: &Path, mining_addr: &str) -> Result<Btcd, String> {
        mkdir(dir)?;
        let rpc = free_addr();
        let p2p = free_addr();
        let cert = dir.join("rpc.cert");
        let mut cmd = Command::new(&tools.btcd);
        cmd.arg("--regtest")
            .arg(format!("--datadir={}", dir.join("data").display()))
            .arg(format!("--logdir={}", dir.join("logs").display()))
            .arg(format!("--rpccert={}", cert.display()))
            .arg(format!("--rpckey={}", dir.join("rpc.key").display()))
            .arg(format!("--rpcuser={RPC_USER}"))
            .arg(format!("--rpcpass={RPC_PASS}"))
            .arg(format!("--rpclisten={rpc}"))
            .arg(format!("--listen={p2p}"))
            .arg(format!("--miningaddr={mining_addr}"))
            .arg("--txindex")
            .arg("--nobanning")
            .arg("--debuglevel=info");
        let daemon = Daemon::spawn("btcd", cmd, &dir.join("btcd.out"))?;
        let btcd = Btcd {
            daemon,
            dir: dir.to_path_buf(),
            rpc,
            p2p,
            cert,
            btcctl: tools.btcctl.clone(),
        };
        wait_for("btcd RPC", Duration::from_secs(30), || {
            Ok(btcd.ctl(&["getblockcount"]).ok().map(|_| ()))
        })?;
        Ok(btcd)
    }

    /// `btcctl ARGS` against this btcd; its stdout.
    pub fn ctl(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new(&self.btcctl);
        cmd.arg("--regtest")
            .arg(format!("--rpcuser={RPC_USER}"))
            .arg(format!("--rpcpass={RPC_PASS}"))
            .arg(format!("--rpcserver={}", self.rpc))
            .arg(format!("--rpccert={}", self.cert.display()))
            .args(args);
        run(
            cmd,
            &format!("btcctl {}", args.join(" ")),
            Duration::from_secs(30),
        )
    }

    /// Mines `n` blocks; their hashes.
    pub fn generate(&self, n: u32) -> Result<Vec<String>, String> {
        let out = self.ctl(&["generate", &n.to_string()])?;
        let v: Value =
            serde_json::from_str(&out).map_err(|e| format!("btcctl generate: {e}: {out}"))?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// The chain height.
    pub fn height(&self) -> Result<u64, String> {
        let out = self.ctl(&["getblockcount"])?;
        out.trim()
            .parse()
            .map_err(|e| format!("getblockcount: {e}: {out}"))
    }

    /// Transaction ids in the mempool.
    pub fn mempool(&self) -> Result<Vec<String>, String> {
        let out = self.ctl(&["getrawmempool"])?;
        let v: Value =
            serde_json::from_str(&out).map_err(|e| format!("getrawmempool: {e}: {out}"))?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|h| h.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Waits until `txid` is in the mempool.
    pub fn wait_in_mempool(&self, txid: &str, timeout: Duration) -> Result<(), String> {
        wait_for(&format!("{txid} in the mempool"), timeout, || {
            Ok(self.mempool()?.iter().any(|t| t == txid).then_some(()))
        })
    }

    /// Waits until the mempool holds at least `n` transactions; returns them.
    pub fn wait_mempool_len(&self, n: usize, timeout: Duration) -> Result<Vec<String>, String> {
        wait_for(
            &format!("{n} transaction(s) in the mempool"),
            timeout,
            || {
                let m = self.mempool()?;
                Ok((m.len() >= n).then_some(m))
            },
        )
    }

    /// The decoded transaction `txid` (`getrawtransaction TXID 1`).
    pub fn tx(&self, txid: &str) -> Result<Value, String> {
        let out = self.ctl(&["getrawtransaction", txid, "1"])?;
        serde_json::from_str(&out).map_err(|e| format!("getrawtransaction: {e}"))
    }

    /// Confirmations of `txid` (0 while in the mempool).
    pub fn confirmations(&self, txid: &str) -> Result<u64, String> {
        Ok(self
            .tx(txid)?
            .get("confirmations")
            .and_then(Value::as_u64)
            .unwrap_or(0))
    }
}
