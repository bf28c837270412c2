//! Interop suite with the real lnd (`scripts/itest-lnd.sh`).
//!
//! btcd (regtest, loopback) mines and backs two lnd nodes: **alice**, a
//! watch-only lnd with the options of `deploy/lnd.conf` whose wallet is made
//! by `lncli createwatchonly` from the accounts.json our signer exports, and
//! **bob**, a normal lnd. Our signers answer alice's signing requests in
//! turn: the native `lnd-web-signer connect` through the whole scenario,
//! then the signer tab (wasm in headless Chromium, driven as a user would)
//! through `signer-bridge --grpc-web`, then the same page through the plain
//! gRPC bridge behind improbable-eng's `grpcwebproxy` with TLS (the Envoy
//! stand-in). Every step asserts lnd's own view, and alice must never shut
//! down. Prints `ok …`/`FAIL …` per check and `N passed, M failed`.
//!
//! Not a libtest harness (`harness = false`): without `LWS_ITEST_LND_BIN`
//! (set by scripts/itest-lnd.sh) it says so and exits 0, so that
//! `cargo test --workspace` builds it without needing the real peers.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod itest_support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lnd_web_signer::keys::{Network, RootKey, SeedInput};
use serde_json::Value;

use itest_support::btcd::Btcd;
use itest_support::lnd::{str_field, Lnd, NodeOptions, WALLET_PASSWORD};
use itest_support::signers::{
    count_in, start_watch_only_alice, NativeSigner, TabPath, TabSigner, Target, VaultFiles,
    WatchOnlyAlice,
};
use itest_support::{mkdir, run, tail_file, wait_for, write, Tools, FATAL};

const H: u32 = 0x8000_0000;
/// Bound of every wait on lnd's state.
const WAIT: Duration = Duration::from_secs(120);
/// Vault passphrase of the run.
const VAULT_PASSPHRASE: &str = "itest vault passphrase";
/// The message alice signs.
const MESSAGE: &str = "lnd-web-signer interop";

fn main() {
    let tools = match Tools::from_env() {
        Ok(Some(t)) => t,
        Ok(None) => {
            println!(
                "itest_lnd: not run (LWS_ITEST_LND_BIN is unset; scripts/itest-lnd.sh builds the real peers and sets it)"
            );
            return;
        }
        Err(e) => {
            eprintln!("itest_lnd: {e}");
            std::process::exit(2);
        }
    };
    let phases = std::env::var("LWS_ITEST_PHASES").unwrap_or_else(|_| "native bridge proxy".into());
    let want = |p: &str| phases.split_whitespace().any(|s| s == p);
    let mut run = Runner::new();
    let code = match Net::setup(&tools, &mut run) {
        Ok(mut net) => {
            net.common_start(&mut run);
            if want("native") {
                net.native_phase(&mut run);
            }
            if want("bridge") {
                net.tab_phase(&mut run, TabPath::BridgeGrpcWeb);
            }
            if want("proxy") {
                net.tab_phase(&mut run, TabPath::GrpcWebProxy);
            }
            net.final_checks(&mut run);
            let dir = net.dir.clone();
            net.teardown();
            run.finish(&dir)
        }
        Err(e) => {
            run.fail("setup", &e);
            run.finish(Path::new("(setup failed)"))
        }
    };
    std::process::exit(code);
}

// ------------------------------------------------------------------ runner

struct Runner {
    passed: u32,
    failed: u32,
    start: Instant,
}

impl Runner {
    fn new() -> Self {
        Runner {
            passed: 0,
            failed: 0,
            start: Instant::now(),
        }
    }

    fn ok(&mut self, name: &str, t0: Instant) {
        self.passed += 1;
        println!("ok   {name} ({:.1}s)", t0.elapsed().as_secs_f64());
    }

    fn fail(&mut self, name: &str, why: &str) {
        self.failed += 1;
        println!("FAIL {name}: {why}");
    }

    fn finish(&self, dir: &Path) -> i32 {
        println!(
            "itest_lnd: {} passed, {} failed in {:.0}s (logs: {})",
            self.passed,
            self.failed,
            self.start.elapsed().as_secs_f64(),
            dir.display()
        );
        i32::from(self.failed > 0)
    }
}

// ------------------------------------------------------------------ network

/// A channel alice opened.
#[derive(Debug, Clone)]
struct Chan {
    /// `txid:index`.
    point: String,
    /// Short channel id (decimal string, as lncli prints `chan_id`).
    scid: String,
    /// What kind, for messages.
    kind: &'static str,
}

enum Signer {
    None,
    Native(NativeSigner),
    Tab(Box<TabSigner>),
}

impl Signer {
    fn name(&self) -> &'static str {
        match self {
            Signer::None => "no signer",
            Signer::Native(_) => "native signer",
            Signer::Tab(t) => match t.path {
                TabPath::BridgeGrpcWeb => "signer tab via signer-bridge --grpc-web",
                TabPath::GrpcWebProxy => "signer tab via grpcwebproxy + signer-bridge",
            },
        }
    }

    fn stop(&mut self) {
        match self {
            Signer::None => {}
            Signer::Native(n) => n.daemon.stop(Duration::from_secs(5)),
            Signer::Tab(t) => t.stop(),
        }
        *self = Signer::None;
    }
}

struct Net {
    tools: Tools,
    dir: PathBuf,
    btcd: Btcd,
    alice: Lnd,
    bob: Lnd,
    alice_opts: NodeOptions,
    root: RootKey,
    target: Target,
    vault: VaultFiles,
    signer: Signer,
    bob_pubkey: String,
    /// Answers counted from the signers that have stopped.
    answered_before: usize,
}

/// The P2WPKH regtest address of `m/84'/0'/0'/0/0` (btcwallet's BIP-84
/// scope has coin type 0 on every network): btcd's mining address, so alice
/// is funded by coinbase outputs, spent through our signer.
fn first_p2wkh(root: &RootKey) -> Result<String, String> {
    let pk = root
        .derive_pub(&[84 | H, H, H, 0, 0])
        .map_err(|e| e.to_string())?;
    let cpk = bitcoin::CompressedPublicKey(pk);
    Ok(bitcoin::Address::p2wpkh(&cpk, bitcoin::Network::Regtest).to_string())
}

/// alice's node key as our signer derives it (family 6, index 0).
fn node_pubkey(root: &RootKey) -> Result<String, String> {
    let sk = root.lnd_key(6, 0).map_err(|e| e.to_string())?;
    let secp = bitcoin::secp256k1::Secp256k1::new();
    Ok(hex::encode(sk.public_key(&secp).serialize()))
}

/// `m/84'/1'/0'/0/5` → child numbers.
fn parse_path(p: &str) -> Result<Vec<u32>, String> {
    let rest = p
        .strip_prefix("m/")
        .ok_or_else(|| format!("derivation path {p:?}"))?;
    rest.split('/')
        .map(|c| {
            let (n, hard) = match c.strip_suffix('\'') {
                Some(n) => (n, H),
                None => (c, 0),
            };
            n.parse::<u32>()
                .map(|n| n | hard)
                .map_err(|e| format!("derivation path {p:?}: {e}"))
        })
        .collect()
}

fn cli_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_lnd-web-signer"))
}

fn run_ok(cmd: Command, what: &str) -> Result<String, String> {
    run(cmd, what, Duration::from_secs(120))
}

/// The last JSON object in `text` (lncli prints some results after other lines).
fn last_json(text: &str) -> Option<Value> {
    let start = text.rfind("\n{").map_or(0, |i| i + 1);
    serde_json::from_str(&text[start..]).ok()
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

impl Net {
    fn setup(tools: &Tools, run: &mut Runner) -> Result<Net, String> {
        let dir = match std::env::var_os("LWS_ITEST_DIR") {
            Some(d) => PathBuf::from(d),
            None => tempfile::Builder::new()
                .prefix("lws-itest-")
                .tempdir()
                .map_err(|e| e.to_string())?
                .keep(),
        };
        mkdir(&dir)?;
        println!("itest_lnd: work dir {}", dir.display());

        // A fresh random aezeed seed, as lnd's remote-signer itest uses.
        let t0 = Instant::now();
        let signer_dir = dir.join("signer");
        mkdir(&signer_dir)?;
        let seed_file = signer_dir.join("seed.txt");
        let mut c = cli_bin();
        c.args(["create-seed", "--network", "regtest"]);
        write(&seed_file, run_ok(c, "lnd-web-signer create-seed")?)?;
        let words = std::fs::read_to_string(&seed_file).map_err(|e| e.to_string())?;
        let seed = SeedInput::parse_seed_file(&words, None).map_err(|e| e.to_string())?;
        let (root, birthday) = seed.to_root(Network::Regtest).map_err(|e| e.to_string())?;
        let accounts = signer_dir.join("accounts.json");
        let mut c = cli_bin();
        c.args(["accounts", "--network", "regtest", "--seed-file"])
            .arg(&seed_file);
        write(&accounts, run_ok(c, "lnd-web-signer accounts")?)?;
        let pass = signer_dir.join("vault.pass");
        write(&pass, format!("{VAULT_PASSPHRASE}\n"))?;
        let vault = signer_dir.join("signer.vault");
        let mut c = cli_bin();
        c.args(["vault", "seal", "--network", "regtest", "--seed-file"])
            .arg(&seed_file)
            .arg("--passphrase-file")
            .arg(&pass)
            .arg("--out")
            .arg(&vault);
        run_ok(c, "lnd-web-signer vault seal")?;
        std::fs::remove_file(&seed_file).map_err(|e| e.to_string())?;
        let vault = VaultFiles {
            vault,
            passphrase_file: pass,
        };

        let mining = first_p2wkh(&root)?;
        let btcd = Btcd::start(tools, &dir.join("btcd"), &mining)?;
        btcd.generate(1)?;
        run.ok(
            "random aezeed seed sealed into a vault; btcd regtest mines to its first p2wkh address",
            t0,
        );

        // alice first (its tls.cert is written at start-up; the signer
        // listener opens only once the wallet exists).
        let t0 = Instant::now();
        let WatchOnlyAlice {
            lnd: mut alice,
            target,
            mac_root_hex,
            opts: alice_opts,
        } = start_watch_only_alice(tools, &btcd, &dir, &signer_dir, WAIT)?;
        run.ok(
            "alice (deploy/lnd.conf) waits for its wallet; signer macaroon baked offline (bakemacaroon --root_key … remotesigner:generate)",
            t0,
        );

        // The signer starts before alice's listener exists.
        let t0 = Instant::now();
        let mut native = NativeSigner::start(&dir.join("native"), &target, &vault)?;
        wait_for("the native signer's first refused dial", WAIT, || {
            if let Some(e) = native.daemon.exited() {
                return Err(format!(
                    "{FATAL}signer exited ({e}): {}",
                    native.daemon.tail(20)
                ));
            }
            Ok(
                (count_in(&native.daemon.log, "connecting to the watch-only node") >= 2)
                    .then_some(()),
            )
        })?;
        if native.registrations() != 0 {
            return Err("the signer registered before alice had a wallet".into());
        }
        run.ok(
            "native signer started before alice's signer listener exists: retries with backoff",
            t0,
        );

        let t0 = Instant::now();
        alice.create_watch_only(&accounts, &mac_root_hex, birthday)?;
        native.wait_registered(1, WAIT)?;
        alice.wait_state("SERVER_ACTIVE", WAIT)?;
        run.ok(
            &format!("lncli createwatchonly (accounts.json from our signer, birthday {birthday}); alice active once the signer registered"),
            t0,
        );

        let t0 = Instant::now();
        let mut bob = Lnd::start(
            tools,
            &btcd,
            "bob",
            &dir.join("bob"),
            &NodeOptions::default(),
        )?;
        bob.wait_state("SERVER_ACTIVE", WAIT)?;
        let bob_pubkey = bob.pubkey()?;
        run.ok("bob (a normal lnd) active", t0);

        Ok(Net {
            tools: tools.clone(),
            dir,
            btcd,
            alice,
            bob,
            alice_opts,
            root,
            target,
            vault,
            signer: Signer::Native(native),
            bob_pubkey,
            answered_before: 0,
        })
    }

    /// Runs one check and then insists that alice is still running.
    fn step(
        &mut self,
        run: &mut Runner,
        name: &str,
        f: impl FnOnce(&mut Net) -> Result<(), String>,
    ) {
        let t0 = Instant::now();
        let before = self.signer.name();
        let mut result = f(self);
        let after = self.signer.name();
        let name = if before == after {
            format!("[{after}] {name}")
        } else {
            format!("[{before} → {after}] {name}")
        };
        if let Some(exit) = self.alice.daemon.exited() {
            let why = format!(
                "alice shut down ({exit}); last log lines:\n{}",
                self.alice.daemon.tail(30)
            );
            result = Err(match result {
                Ok(()) => why,
                Err(e) => format!("{e}; {why}"),
            });
        }
        match result {
            Ok(()) => run.ok(&name, t0),
            Err(e) => run.fail(&name, &e),
        }
    }

    // -------------------------------------------------------------- chain

    fn mine(&self, n: u32) -> Result<u64, String> {
        self.btcd.generate(n)?;
        let h = self.btcd.height()?;
        self.alice.wait_synced(h, WAIT)?;
        self.bob.wait_synced(h, WAIT)?;
        Ok(h)
    }

    /// Mines one block once `txid` is in the mempool; waits for alice to
    /// see it confirmed.
    fn confirm(&self, txid: &str) -> Result<(), String> {
        self.btcd.wait_in_mempool(txid, WAIT)?;
        self.mine(1)?;
        let c = self.btcd.confirmations(txid)?;
        if c == 0 {
            return Err(format!("{txid} still unconfirmed after a block"));
        }
        Ok(())
    }

    fn utxo_of(&self, node: &Lnd, address: &str) -> Result<String, String> {
        let v = node.cli(&["listunspent", "--min_confs=1"])?;
        arr(&v, "utxos")
            .iter()
            .find(|u| s(u, "address") == address)
            .map(|u| s(u, "outpoint").to_string())
            .ok_or_else(|| format!("no confirmed utxo of {} at {address}", node.name))
    }

    fn send(&self, to: &str, amt: u64, extra: &[&str]) -> Result<String, String> {
        let amt = amt.to_string();
        let mut args = vec!["sendcoins", "--force", "--addr", to, "--amt", &amt];
        args.extend_from_slice(extra);
        str_field(&self.alice.cli(&args)?, "txid")
    }

    /// `lnd-web-signer macaroon inspect` on lnd's own macaroons: the baked
    /// `remotesigner:generate` one is least privilege, alice's
    /// `admin.macaroon` is not and gets the warning.
    fn check_macaroons(&mut self) -> Result<(), String> {
        let admin = self
            .alice
            .dir
            .join("data/chain/bitcoin/regtest/admin.macaroon");
        for (path, least) in [(&self.target.macaroon, true), (&admin, false)] {
            let out = cli_bin()
                .args(["macaroon", "inspect", "--macaroonpath"])
                .arg(path)
                .output()
                .map_err(|e| format!("macaroon inspect: {e}"))?;
            if !out.status.success() {
                return Err(format!(
                    "macaroon inspect {}: {}",
                    path.display(),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let v: Value = serde_json::from_slice(&out.stdout)
                .map_err(|e| format!("macaroon inspect output: {e}"))?;
            let got = v.get("least_privilege").and_then(Value::as_bool);
            let warned = String::from_utf8_lossy(&out.stderr).contains("remotesigner:generate");
            if got != Some(least) || warned == least {
                return Err(format!(
                    "{}: least_privilege {got:?}, warning {warned} (want {least}): {v}",
                    path.display()
                ));
            }
            if least && arr(&v, "permissions") != [Value::from("remotesigner:generate")] {
                return Err(format!("baked macaroon permissions: {v}"));
            }
        }
        Ok(())
    }

    // -------------------------------------------------------------- wallet

    fn check_node_key(&mut self) -> Result<(), String> {
        let got = self.alice.pubkey()?;
        let want = node_pubkey(&self.root)?;
        if got != want {
            return Err(format!(
                "alice's identity_pubkey {got} is not our node key {want}"
            ));
        }
        Ok(())
    }

    /// Checks that `addr`, as lnd lists it, is the address our signer
    /// derives at the path lnd lists for it.
    fn check_address(&self, addr: &str) -> Result<(), String> {
        let v = self.alice.cli(&["wallet", "addresses", "list"])?;
        let entry = arr(&v, "account_with_addresses")
            .iter()
            .flat_map(|a| arr(a, "addresses").iter().map(move |x| (a, x)))
            .find(|(_, x)| s(x, "address") == addr)
            .ok_or_else(|| format!("{addr} is not in `wallet addresses list`"))?;
        let (account, x) = entry;
        let path = parse_path(s(x, "derivation_path"))?;
        let pk = self.root.derive_pub(&path).map_err(|e| e.to_string())?;
        let cpk = bitcoin::CompressedPublicKey(pk);
        let net = bitcoin::Network::Regtest;
        let ours = match s(account, "address_type") {
            "WITNESS_PUBKEY_HASH" => bitcoin::Address::p2wpkh(&cpk, net),
            "HYBRID_NESTED_WITNESS_PUBKEY_HASH" | "NESTED_WITNESS_PUBKEY_HASH" => {
                bitcoin::Address::p2shwpkh(&cpk, net)
            }
            "TAPROOT_PUBKEY" => bitcoin::Address::p2tr(
                bitcoin::secp256k1::SECP256K1,
                pk.x_only_public_key().0,
                None,
                net,
            ),
            other => return Err(format!("unexpected account type {other}")),
        };
        if ours.to_string() != addr {
            return Err(format!(
                "lnd's {addr} at {} is {ours} by our derivation",
                s(x, "derivation_path")
            ));
        }
        Ok(())
    }

    fn fund_from_coinbase(&mut self) -> Result<(), String> {
        self.mine(105)?;
        wait_for("alice sees mature coinbase outputs", WAIT, || {
            let (confirmed, _) = self.alice.balance()?;
            Ok((confirmed >= 100 * 100_000_000).then_some(()))
        })?;
        // The coinbase address was found by createwatchonly's look-ahead scan.
        let first = first_p2wkh(&self.root)?;
        self.check_address(&first)?;
        for kind in ["p2wkh", "np2wkh", "p2tr"] {
            let a = self.alice.new_address(kind)?;
            self.check_address(&a)?;
        }
        Ok(())
    }

    /// sendcoins to alice's own address of each type, then spends each of
    /// those outputs to bob with `--utxo`.
    fn every_address_type(&mut self) -> Result<(), String> {
        let bob_before = self.bob.balance()?.0;
        for kind in ["p2wkh", "np2wkh", "p2tr"] {
            let addr = self.alice.new_address(kind)?;
            let txid = self.send(&addr, 2_000_000, &[])?;
            self.confirm(&txid)?;
            let utxo = self.utxo_of(&self.alice, &addr)?;
            let bob_addr = self.bob.new_address("p2wkh")?;
            let spend = self.send(&bob_addr, 1_000_000, &["--utxo", &utxo])?;
            self.confirm(&spend)?;
            let tx = self.btcd.tx(&spend)?;
            let spent = arr(&tx, "vin").iter().any(|i| {
                format!(
                    "{}:{}",
                    s(i, "txid"),
                    i.get("vout").and_then(Value::as_u64).unwrap_or(99)
                ) == utxo
            });
            if !spent {
                return Err(format!("{kind}: {spend} does not spend {utxo}"));
            }
        }
        let bob_after = wait_for("bob's balance grows by 3 BTC×0.01", WAIT, || {
            let b = self.bob.balance()?.0;
            Ok((b >= bob_before + 3_000_000).then_some(b))
        })?;
        let _ = bob_after;
        Ok(())
    }

    fn psbt_fund_finalize(&mut self) -> Result<(), String> {
        let bob_addr = self.bob.new_address("p2tr")?;
        let outputs = format!("{{\"{bob_addr}\": 300000}}");
        let funded = self
            .alice
            .cli(&["wallet", "psbt", "fund", "--outputs", &outputs])?;
        let psbt = str_field(&funded, "psbt")?;
        let fin = self
            .alice
            .cli(&["wallet", "psbt", "finalize", "--funded_psbt", &psbt])?;
        let raw = str_field(&fin, "final_tx")?;
        self.alice.cli_text(&["wallet", "publishtx", &raw])?;
        let tx: bitcoin::Transaction = bitcoin::consensus::encode::deserialize_hex(&raw)
            .map_err(|e| format!("final_tx: {e}"))?;
        self.confirm(&tx.compute_txid().to_string())
    }

    fn sign_and_verify_message(&mut self) -> Result<(), String> {
        let sig = str_field(
            &self.alice.cli(&["signmessage", "--msg", MESSAGE])?,
            "signature",
        )?;
        let alice_pub = self.alice.pubkey()?;
        // `valid` needs alice in bob's graph (after the announcement).
        wait_for("bob verifies alice's signmessage", WAIT, || {
            let v = self
                .bob
                .cli(&["verifymessage", "--msg", MESSAGE, "--sig", &sig])?;
            if s(&v, "pubkey") != alice_pub {
                return Err(format!(
                    "recovered {} instead of alice's key",
                    s(&v, "pubkey")
                ));
            }
            Ok(v.get("valid")
                .and_then(Value::as_bool)
                .unwrap_or(false)
                .then_some(()))
        })?;
        // (`lncli wallet addresses signmessage` cannot be tested: a
        // watch-only lnd answers "address manager is watching-only" without
        // asking the signer.)
        Ok(())
    }

    fn bump_fee(&mut self) -> Result<(), String> {
        let bob_addr = self.bob.new_address("p2wkh")?;
        let txid = self.send(&bob_addr, 500_000, &["--sat_per_vbyte", "2"])?;
        self.btcd.wait_in_mempool(&txid, WAIT)?;
        let v = self
            .alice
            .cli(&["listunspent", "--min_confs=0", "--max_confs=0"])?;
        let change = arr(&v, "utxos")
            .iter()
            .find(|u| s(u, "outpoint").starts_with(&txid))
            .map(|u| s(u, "outpoint").to_string())
            .ok_or_else(|| format!("no unconfirmed change output of {txid}"))?;
        self.alice.cli_text(&[
            "wallet",
            "bumpfee",
            "--immediate",
            "--sat_per_vbyte",
            "25",
            &change,
        ])?;
        let child = wait_for("a CPFP child of the spend in the mempool", WAIT, || {
            for t in self.btcd.mempool()? {
                if t == txid {
                    continue;
                }
                let tx = self.btcd.tx(&t)?;
                if arr(&tx, "vin").iter().any(|i| {
                    format!(
                        "{}:{}",
                        s(i, "txid"),
                        i.get("vout").and_then(Value::as_u64).unwrap_or(99)
                    ) == change
                }) {
                    return Ok(Some(t));
                }
            }
            Ok(None)
        })?;
        self.mine(1)?;
        for t in [&txid, &child] {
            if self.btcd.confirmations(t)? == 0 {
                return Err(format!("{t} not confirmed"));
            }
        }
        Ok(())
    }

    fn sweep_all_to_self(&mut self) -> Result<(), String> {
        let addr = self.alice.new_address("p2tr")?;
        let txid = str_field(
            &self
                .alice
                .cli(&["sendcoins", "--force", "--sweepall", "--addr", &addr])?,
            "txid",
        )?;
        self.confirm(&txid)?;
        let tx = self.btcd.tx(&txid)?;
        let outs = arr(&tx, "vout").len();
        if outs != 1 {
            return Err(format!("sweepall tx has {outs} outputs"));
        }
        wait_for("alice's swept balance confirmed", WAIT, || {
            let (c, u) = self.alice.balance()?;
            Ok((u == 0 && c > 0).then_some(()))
        })
    }

    // -------------------------------------------------------------- channels

    fn connect_peers(&mut self) -> Result<(), String> {
        let peers = self.alice.cli(&["listpeers"])?;
        if arr(&peers, "peers")
            .iter()
            .any(|p| s(p, "pub_key") == self.bob_pubkey)
        {
            return Ok(());
        }
        let target = format!("{}@{}", self.bob_pubkey, self.bob.p2p);
        self.alice.cli_text(&["connect", &target])?;
        wait_for("alice and bob connected", WAIT, || {
            let peers = self.bob.cli(&["listpeers"])?;
            Ok((!arr(&peers, "peers").is_empty()).then_some(()))
        })
    }

    /// Opens a channel to bob, mines it and waits until both see it active.
    fn open(&mut self, kind: &'static str, private: bool, amt: u64) -> Result<Chan, String> {
        self.connect_peers()?;
        let amt_s = amt.to_string();
        let push = (amt / 4).to_string();
        let pk = self.bob_pubkey.clone();
        let mut args = vec![
            "openchannel",
            "--node_key",
            &pk,
            "--local_amt",
            &amt_s,
            "--push_amt",
            &push,
            "--channel_type",
            kind,
        ];
        if private {
            args.push("--private");
        }
        let v = self.alice.cli(&args)?;
        let txid = str_field(&v, "funding_txid")?;
        self.btcd.wait_in_mempool(&txid, WAIT)?;
        self.mine(6)?;
        let chan = wait_for(
            &format!("{kind} channel {txid} active on both"),
            WAIT,
            || {
                let a = self.alice.cli(&["listchannels"])?;
                let Some(c) = arr(&a, "channels")
                    .iter()
                    .find(|c| s(c, "channel_point").starts_with(&txid))
                else {
                    return Ok(None);
                };
                if !c.get("active").and_then(Value::as_bool).unwrap_or(false) {
                    return Ok(None);
                }
                let point = s(c, "channel_point").to_string();
                let b = self.bob.cli(&["listchannels"])?;
                let bob_active = arr(&b, "channels").iter().any(|c| {
                    s(c, "channel_point") == point
                        && c.get("active").and_then(Value::as_bool).unwrap_or(false)
                });
                Ok(bob_active.then(|| Chan {
                    point,
                    scid: s(c, "scid").to_string(),
                    kind,
                }))
            },
        )?;
        // Active is not enough for pathfinding: both nodes need both
        // directions' policies in their graph (lnd's itests wait for the
        // same before paying).
        for node in [&self.alice, &self.bob] {
            wait_for(
                &format!("{} has both policies of {}", node.name, chan.scid),
                WAIT,
                || {
                    let Ok(info) = node.cli(&["getchaninfo", "--chan_id", &chan.scid]) else {
                        return Ok(None);
                    };
                    let has = |k: &str| info.get(k).is_some_and(|p| !p.is_null());
                    Ok((has("node1_policy") && has("node2_policy")).then_some(()))
                },
            )?;
        }
        let a = self.alice.cli(&["listchannels"])?;
        let ctype = arr(&a, "channels")
            .iter()
            .find(|c| s(c, "channel_point") == chan.point)
            .map(|c| s(c, "commitment_type").to_string())
            .unwrap_or_default();
        let expect = match kind {
            "anchors" => "ANCHORS",
            "taproot" => "TAPROOT",
            _ => "SIMPLE_TAPROOT",
        };
        if ctype != expect {
            return Err(format!(
                "channel {} has commitment type {ctype}, not {expect}",
                chan.point
            ));
        }
        Ok(chan)
    }

    /// `payer` pays an invoice of `payee` over `chan`.
    fn pay(&self, payer: &Lnd, payee: &Lnd, chan: &Chan, amt: u64) -> Result<(), String> {
        let inv = payee.cli(&["addinvoice", "--amt", &amt.to_string(), "--memo", "itest"])?;
        let req = str_field(&inv, "payment_request")?;
        let out = payer.cli_text(&[
            "payinvoice",
            "--force",
            "--json",
            "--timeout",
            "60s",
            "--outgoing_chan_id",
            &chan.scid,
            "--pay_req",
            &req,
        ])?;
        let v = last_json(&out).ok_or_else(|| format!("payinvoice printed no JSON: {out}"))?;
        if s(&v, "status") != "SUCCEEDED" {
            return Err(format!(
                "{} → {} over {} channel: status {} ({})",
                payer.name,
                payee.name,
                chan.kind,
                s(&v, "status"),
                s(&v, "failure_reason")
            ));
        }
        let hash = str_field(&inv, "r_hash")?;
        wait_for("invoice settled", WAIT, || {
            let i = payee.cli(&["lookupinvoice", &hash])?;
            Ok((s(&i, "state") == "SETTLED").then_some(()))
        })
    }

    fn pay_both_ways(&mut self, chan: &Chan) -> Result<(), String> {
        self.pay(&self.alice, &self.bob, chan, 20_000)?;
        self.pay(&self.bob, &self.alice, chan, 10_000)?;
        self.pay(&self.alice, &self.bob, chan, 5_000)
    }

    fn closed(&self, node: &Lnd, point: &str) -> Result<Option<Value>, String> {
        let v = node.cli(&["closedchannels"])?;
        Ok(arr(&v, "channels")
            .iter()
            .find(|c| s(c, "channel_point") == point)
            .cloned())
    }

    fn coop_close(&mut self, chan: &Chan) -> Result<(), String> {
        // btcd's relay floor counts whole bytes; lnd's 1 sat/vB default for
        // a taproot close falls below it.
        let v = self.alice.cli(&[
            "closechannel",
            "--sat_per_vbyte",
            "5",
            "--chan_point",
            &chan.point,
        ])?;
        str_field(&v, "closing_txid")?;
        // With the RBF cooperative close both sides may publish a closing
        // transaction (one replaces the other): wait for lnd's verdict.
        let summary = wait_for("cooperative close in closedchannels (mining)", WAIT, || {
            if let Some(c) = self.closed(&self.alice, &chan.point)? {
                return Ok(Some(c));
            }
            self.btcd.generate(1)?;
            std::thread::sleep(Duration::from_millis(300));
            Ok(None)
        })?;
        if s(&summary, "close_type") != "COOPERATIVE_CLOSE" {
            return Err(format!("close type {}", s(&summary, "close_type")));
        }
        let closing = s(&summary, "closing_tx_hash");
        if self.btcd.confirmations(closing)? == 0 {
            return Err(format!("closing transaction {closing} is not confirmed"));
        }
        Ok(())
    }

    /// Force-closes `chan` from alice and mines until lnd has swept every
    /// time-locked output it claims and the channel is fully resolved.
    fn force_close(&mut self, chan: &Chan) -> Result<(), String> {
        let v = self
            .alice
            .cli(&["closechannel", "--force", "--chan_point", &chan.point])?;
        let txid = str_field(&v, "closing_txid")?;
        self.confirm(&txid)?;
        let summary = wait_for(
            "force close fully resolved (mining)",
            Duration::from_secs(300),
            || {
                if let Some(c) = self.closed(&self.alice, &chan.point)? {
                    let pending = self.alice.cli(&["pendingchannels"])?;
                    let still = arr(&pending, "pending_force_closing_channels")
                        .iter()
                        .chain(arr(&pending, "waiting_close_channels"))
                        .any(|p| {
                            p.get("channel").map(|c| s(c, "channel_point"))
                                == Some(chan.point.as_str())
                        });
                    if !still {
                        return Ok(Some(c));
                    }
                }
                self.btcd.generate(1)?;
                std::thread::sleep(Duration::from_millis(300));
                Ok(None)
            },
        )?;
        if s(&summary, "close_type") != "LOCAL_FORCE_CLOSE" {
            return Err(format!("close type {}", s(&summary, "close_type")));
        }
        let mut claimed = 0;
        for r in arr(&summary, "resolutions") {
            if s(r, "outcome") == "CLAIMED" {
                let sweep = s(r, "sweep_txid");
                if sweep.is_empty() || self.btcd.confirmations(sweep)? == 0 {
                    return Err(format!("resolution {r} has no confirmed sweep"));
                }
                claimed += 1;
            }
        }
        let commit_claimed = arr(&summary, "resolutions")
            .iter()
            .any(|r| s(r, "resolution_type") == "COMMIT" && s(r, "outcome") == "CLAIMED");
        if !commit_claimed {
            return Err(format!(
                "our time-locked to_local output was not claimed: {}",
                summary.get("resolutions").cloned().unwrap_or(Value::Null)
            ));
        }
        let _ = claimed;
        Ok(())
    }

    // -------------------------------------------------------------- signers

    fn answered(&self) -> usize {
        self.answered_before
            + match &self.signer {
                Signer::None => 0,
                Signer::Native(n) => n.answers(),
                Signer::Tab(t) => t.answers(),
            }
    }

    /// Waits until the signer has answered nothing new for a second: no
    /// request is in flight when a fault is injected. (lnd does not retry
    /// MuSig2 requests across a reconnect: one cut mid-request fails that
    /// channel's link until lnd re-establishes it.)
    fn wait_quiet(&self) -> Result<(), String> {
        let mut last = (self.answered(), Instant::now());
        wait_for("no signing request in flight", WAIT, || {
            let now = self.answered();
            if now != last.0 {
                last = (now, Instant::now());
                return Ok(None);
            }
            Ok((last.1.elapsed() >= Duration::from_secs(1)).then_some(()))
        })
    }

    /// Requests alice gave up on because the signer went away.
    fn lost_requests(&self) -> usize {
        count_in(
            &self.alice.dir.join("logs/bitcoin/regtest/lnd.log"),
            "the remote signer is no longer connected",
        )
    }

    /// After a fault: nothing was lost, and `chans` are usable again.
    fn check_recovered(&self, lost_before: usize, chans: &[&Chan]) -> Result<(), String> {
        let lost = self.lost_requests() - lost_before;
        if lost > 0 {
            return Err(format!(
                "alice failed {lost} request(s) with \"the remote signer is no longer connected\""
            ));
        }
        for c in chans {
            wait_for(&format!("{} channel active again", c.kind), WAIT, || {
                let a = self.alice.cli(&["listchannels", "--active_only"])?;
                Ok(arr(&a, "channels")
                    .iter()
                    .any(|x| s(x, "channel_point") == c.point)
                    .then_some(()))
            })?;
        }
        Ok(())
    }

    fn restart_native(&mut self) -> Result<(), String> {
        self.wait_quiet()?;
        let lost = self.lost_requests();
        let Signer::Native(n) = &mut self.signer else {
            return Err("the native signer is not running".into());
        };
        let before = n.registrations();
        n.daemon.kill();
        let mut fresh = NativeSigner::start(&self.dir.join("native"), &self.target, &self.vault)?;
        fresh.wait_registered(before + 1, Duration::from_secs(30))?;
        self.signer = Signer::Native(fresh);
        // The next request after the gap: a new address needs no signature,
        // a signmessage does.
        self.alice
            .cli(&["signmessage", "--msg", "after the restart"])?;
        self.check_recovered(lost, &[])?;
        Ok(())
    }

    /// What every run needs, signed by the native signer of the setup.
    fn common_start(&mut self, run: &mut Runner) {
        self.step(
            run,
            "getinfo shows our node key (family 6, index 0)",
            Net::check_node_key,
        );
        self.step(
            run,
            "macaroon inspect: the baked remotesigner:generate macaroon is least privilege; alice's admin.macaroon warns",
            Net::check_macaroons,
        );
        self.step(run, "coinbase outputs to m/84'/0'/0'/0/0 mature in alice's wallet; new p2wkh, np2wkh, p2tr addresses match our derivation", Net::fund_from_coinbase);
    }

    /// The whole scenario with the native signer.
    fn native_phase(&mut self, run: &mut Runner) {
        self.step(
            run,
            "sendcoins to own p2wkh, np2wkh and p2tr addresses, each spent with --utxo",
            Net::every_address_type,
        );
        self.step(
            run,
            "wallet psbt fund / finalize / publishtx",
            Net::psbt_fund_finalize,
        );
        let mut chans: Vec<Option<Chan>> = Vec::new();
        for (kind, private) in [
            ("anchors", false),
            ("anchors", false),
            ("taproot", true),
            ("taproot", true),
            // The development commitment type lnd still offers.
            ("taproot-staging", true),
        ] {
            let mut got = None;
            self.step(run, &format!("open a {kind} channel alice→bob"), |n| {
                got = Some(n.open(kind, private, 2_000_000)?);
                Ok(())
            });
            chans.push(got);
        }
        self.step(
            run,
            "signmessage; bob's verifymessage recovers alice's key",
            Net::sign_and_verify_message,
        );
        for chan in chans.iter().flatten().cloned().collect::<Vec<_>>() {
            self.step(
                run,
                &format!("payments both ways over the {} channel", chan.kind),
                |n| n.pay_both_ways(&chan),
            );
        }
        self.step(
            run,
            "signer killed and restarted: re-registers, alice keeps running",
            Net::restart_native,
        );
        if let Some(Some(c)) = chans.first() {
            let c = c.clone();
            self.step(run, "cooperative close of an anchor channel", |n| {
                n.coop_close(&c)
            });
        }
        if let Some(Some(c)) = chans.get(3) {
            let c = c.clone();
            self.step(
                run,
                "cooperative close of a taproot channel (MuSig2)",
                |n| n.coop_close(&c),
            );
        }
        if let Some(Some(c)) = chans.get(1) {
            let c = c.clone();
            self.step(
                run,
                "force close of an anchor channel; every time-locked sweep confirmed",
                |n| n.force_close(&c),
            );
        }
        if let Some(Some(c)) = chans.get(2) {
            let c = c.clone();
            self.step(
                run,
                "force close of a taproot channel; every time-locked sweep confirmed",
                |n| n.force_close(&c),
            );
        }
        if let Some(Some(c)) = chans.get(4) {
            let c = c.clone();
            self.step(
                run,
                "force close of a taproot-staging channel; every time-locked sweep confirmed",
                |n| n.force_close(&c),
            );
        }
        self.step(
            run,
            "wallet bumpfee (CPFP) of an unconfirmed spend",
            Net::bump_fee,
        );
        self.step(run, "sendcoins --sweepall", Net::sweep_all_to_self);
    }

    /// Hands alice over to the tab on `path` and runs the browser part of
    /// the scenario.
    fn tab_phase(&mut self, run: &mut Runner, path: TabPath) {
        let label = match path {
            TabPath::BridgeGrpcWeb => "signer-bridge --grpc-web",
            TabPath::GrpcWebProxy => "grpcwebproxy (TLS) + signer-bridge",
        };
        let mut ok = true;
        match path {
            TabPath::BridgeGrpcWeb => {
                // alice restarts without a signer; the tab starts after it
                // (within experimentalstartuptimeout).
                self.step(
                    run,
                    &format!(
                        "alice restarted; the tab starts after it and registers through {label}"
                    ),
                    |n| n.restart_alice_then_tab(path),
                );
            }
            TabPath::GrpcWebProxy => {
                self.step(run, &format!("the tab via {label} is refused while another signer is connected, takes over when it stops"), |n| n.take_over_with_tab(path));
            }
        }
        if !matches!(self.signer, Signer::Tab(_)) {
            ok = false;
        }
        if !ok {
            return;
        }
        self.step(run, "sendcoins", |n| {
            let addr = n.bob.new_address("p2tr")?;
            let txid = n.send(&addr, 250_000, &[])?;
            n.confirm(&txid)
        });
        let mut anchor = None;
        self.step(run, "open an anchor channel", |n| {
            anchor = Some(n.open("anchors", false, 1_500_000)?);
            Ok(())
        });
        let mut taproot = None;
        self.step(run, "open a taproot channel", |n| {
            taproot = Some(n.open("taproot", true, 1_500_000)?);
            Ok(())
        });
        for c in [anchor.clone(), taproot.clone()].into_iter().flatten() {
            self.step(
                run,
                &format!("payments both ways over the {} channel", c.kind),
                |n| n.pay_both_ways(&c),
            );
        }
        if path == TabPath::BridgeGrpcWeb {
            self.step(
                run,
                "signer-bridge restarted while the tab is connected: the tab re-registers",
                |n| {
                    n.wait_quiet()?;
                    let lost = n.lost_requests();
                    let Signer::Tab(t) = &mut n.signer else {
                        return Err("no tab".into());
                    };
                    let before = t.registrations();
                    t.restart_bridge()?;
                    t.wait_registered(before + 1, Duration::from_secs(60))?;
                    let chans: Vec<&Chan> = anchor.iter().chain(taproot.iter()).collect();
                    n.check_recovered(lost, &chans)?;
                    if let Some(c) = &taproot {
                        n.pay_both_ways(c)?;
                    }
                    Ok(())
                },
            );
        }
        if let Some(c) = taproot {
            self.step(
                run,
                "force close of the taproot channel; every time-locked sweep confirmed",
                |n| n.force_close(&c),
            );
        }
        if let Some(c) = anchor {
            self.step(run, "cooperative close of the anchor channel", |n| {
                n.coop_close(&c)
            });
        }
    }

    fn tab_start(&mut self, path: TabPath) -> Result<TabSigner, String> {
        let name = match path {
            TabPath::BridgeGrpcWeb => "tab-bridge",
            TabPath::GrpcWebProxy => "tab-proxy",
        };
        TabSigner::start(&self.dir.join(name), path, &self.target, &self.vault)
    }

    fn retire_signer(&mut self) {
        self.answered_before = self.answered();
        self.signer.stop();
    }

    fn restart_alice_then_tab(&mut self, path: TabPath) -> Result<(), String> {
        self.wait_quiet()?;
        // lnd first, so no request of it is cut off by the signer leaving.
        self.alice.daemon.stop(Duration::from_secs(30));
        self.retire_signer();
        let dir = self.alice.dir.clone();
        // Same addresses as before: bob and the signers know them. The
        // wallet exists now, so lnd can unlock it by itself.
        let pw_file = self.dir.join("alice.password");
        write(&pw_file, WALLET_PASSWORD)?;
        let mut opts = self.alice.restart_options(&self.alice_opts);
        opts.extra.push(format!(
            "--wallet-unlock-password-file={}",
            pw_file.display()
        ));
        self.alice = Lnd::start(&self.tools, &self.btcd, "alice", &dir, &opts)?;
        // It unlocks itself (wallet-unlock-password-file) and then waits
        // for a signer.
        self.alice.wait_states(&["UNLOCKED", "RPC_ACTIVE"], WAIT)?;
        let mut tab = self.tab_start(path)?;
        tab.wait_registered(1, Duration::from_secs(240))?;
        self.signer = Signer::Tab(Box::new(tab));
        self.alice.wait_state("SERVER_ACTIVE", WAIT)?;
        self.connect_peers()
    }

    fn take_over_with_tab(&mut self, path: TabPath) -> Result<(), String> {
        let mut tab = self.tab_start(path)?;
        wait_for(
            "the tab refused while another signer is connected",
            Duration::from_secs(240),
            || {
                if let Some(e) = tab.tab.exited() {
                    return Err(format!(
                        "{FATAL}tab exited ({e}): {}",
                        tail_file(&tab.tab.log, 30)
                    ));
                }
                Ok((count_in(&tab.tab.log, "only one remote signer") > 0).then_some(()))
            },
        )?;
        if tab.registrations() != 0 {
            return Err("the second signer registered while the first was connected".into());
        }
        self.wait_quiet()?;
        let lost = self.lost_requests();
        self.retire_signer();
        tab.wait_registered(1, Duration::from_secs(30))?;
        self.signer = Signer::Tab(Box::new(tab));
        self.alice
            .cli(&["signmessage", "--msg", "after the hand-over"])?;
        self.check_recovered(lost, &[])
    }

    fn final_checks(&mut self, run: &mut Runner) {
        self.step(run, "alice never shut down; every request answered", |n| {
            let log = n.alice.dir.join("logs/bitcoin/regtest/lnd.log");
            let critical = std::fs::read_to_string(&log)
                .map(|t| {
                    t.lines()
                        .filter(|l| l.contains("[CRT]"))
                        .map(str::to_string)
                        .collect::<BTreeSet<_>>()
                })
                .unwrap_or_default();
            if !critical.is_empty() {
                return Err(format!(
                    "alice logged critical errors:\n{}",
                    critical.into_iter().take(10).collect::<Vec<_>>().join("\n")
                ));
            }
            let lost = n.lost_requests();
            if lost > 0 {
                return Err(format!(
                    "alice failed {lost} request(s) with \"the remote signer is no longer connected\""
                ));
            }
            println!("     requests answered by our signers: {}", n.answered());
            Ok(())
        });
    }

    fn teardown(&mut self) {
        self.signer.stop();
        self.alice.daemon.stop(Duration::from_secs(10));
        self.bob.daemon.stop(Duration::from_secs(10));
        self.btcd.daemon.stop(Duration::from_secs(5));
    }
}
