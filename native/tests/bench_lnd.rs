//! Benchmark with the real lnd, side by side with lnd's own signer
//! (`scripts/bench-lnd.sh`; docs/performance.md, "Side by side with lnd's
//! own signer"). Not a test.
//!
//! One regtest network — btcd, **alice** (watch-only, `deploy/lnd.conf`,
//! wallet from `lncli createwatchonly` with our accounts.json) and **bob**
//! (a normal lnd) — and three signers for alice, one after the other on the
//! same network:
//!
//! 1. lnd itself as outbound remote signer: **carol**, an lnd with
//!    `--watchonlynode.*` and `--bitcoin.node=nochainbackend` whose wallet
//!    `lncli create` restored from the same aezeed words as our vault;
//! 2. our native `lnd-web-signer connect` (release build);
//! 3. our wasm signer in headless Chromium (the signer tab) through
//!    `signer-bridge --grpc-web`.
//!
//! Only one signer can be connected to alice: the next one starts while
//! the current one is connected, is refused once (lnd: "only one remote
//! signer can be connected"), the current one stops and the next one
//! registers (alice logs `Remote signer connected and ready`).
//!
//! Per signer and channel type: channel opens (openchannel → funding in the
//! mempool → 1 block → active on both nodes), payments alice→bob one at a
//! time and several in flight (lnd's own payment record: created → settled;
//! the `lncli payinvoice` wall time as well), force closes (`closechannel
//! --force` until lncli prints the closing txid). Alice's debug log gives
//! every signer request's round trip as lnd sees it. Prints a Markdown
//! report and writes it (plus the raw samples) to `LWS_BENCH_OUT`.
//!
//! Runs only with `LWS_BENCH_LND=1` and `LWS_ITEST_LND_BIN` (set by the
//! script); otherwise it says so and exits 0.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod itest_support;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lnd_web_signer::keys::{Network, RootKey, SeedInput};
use serde_json::{json, Value};

use itest_support::bench::{
    alice_round_trips, by_kind, cpu, file_len, fmt_ms, loadavg, ms, native_latencies, os_name,
    poll, read_slice, tab_latencies, version_of, LoadSampler, RoundTrip, Stats,
};
use itest_support::btcd::Btcd;
use itest_support::lnd::{str_field, Lnd, NodeOptions, SignerNodeOptions, WALLET_PASSWORD};
use itest_support::signers::{
    count_in, root_dir, start_watch_only_alice, NativeSigner, TabPath, TabSigner, Target,
    VaultFiles, WatchOnlyAlice,
};
use itest_support::{mkdir, run, wait_for, write, Tools, FATAL};

const H: u32 = 0x8000_0000;
/// Bound of every wait on lnd's state.
const WAIT: Duration = Duration::from_secs(120);
/// Poll interval of the waits that are part of a measurement.
const FAST: Duration = Duration::from_millis(20);
/// Vault passphrase of the run.
const VAULT_PASSPHRASE: &str = "bench vault passphrase";
/// What alice logs when a signer completed the handshake.
const REGISTERED: &str = "Remote signer connected and ready";
/// lnd's answer to a second signer.
const REFUSED: &str = "only one remote signer";

fn main() {
    if std::env::var("LWS_BENCH_LND").ok().as_deref() != Some("1") {
        println!("bench_lnd: not run (a benchmark: scripts/bench-lnd.sh sets LWS_BENCH_LND=1)");
        return;
    }
    let tools = match Tools::from_env() {
        Ok(Some(t)) => t,
        Ok(None) => {
            println!("bench_lnd: not run (LWS_ITEST_LND_BIN is unset)");
            return;
        }
        Err(e) => {
            eprintln!("bench_lnd: {e}");
            std::process::exit(2);
        }
    };
    let cfg = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("bench_lnd: {e}");
            std::process::exit(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("bench_lnd: WARNING: a debug build (the native signer is unoptimised); scripts/bench-lnd.sh builds with --release");
    }
    let load_before = loadavg();
    let sampler = LoadSampler::start(Duration::from_secs(5));
    let started = Instant::now();
    let mut bench = Bench::default();
    let code = match Net::setup(&tools, &cfg) {
        Ok(mut net) => {
            for (i, kind) in cfg.order.iter().enumerate() {
                net.turn(&cfg, *kind, i, &mut bench, &sampler);
                if !net.alice.alive() {
                    bench.errors.push(format!(
                        "alice shut down during the {} turn; last lines:\n{}",
                        kind.key(),
                        net.alice.daemon.tail(30)
                    ));
                    break;
                }
            }
            let dir = net.dir.clone();
            net.teardown();
            bench.finish(&cfg, &tools, &dir, load_before, started.elapsed());
            i32::from(!bench.errors.is_empty())
        }
        Err(e) => {
            eprintln!("bench_lnd: setup failed: {e}");
            2
        }
    };
    drop(sampler);
    std::process::exit(code);
}

// ------------------------------------------------------------------ config

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Kind {
    Lnd,
    Native,
    Wasm,
}

impl Kind {
    fn parse(s: &str) -> Option<Kind> {
        match s {
            "lnd" => Some(Kind::Lnd),
            "native" => Some(Kind::Native),
            "wasm" => Some(Kind::Wasm),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Kind::Lnd => "lnd",
            Kind::Native => "native",
            Kind::Wasm => "wasm",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Kind::Lnd => "lnd's signer",
            Kind::Native => "ours, native",
            Kind::Wasm => "ours, wasm",
        }
    }
}

#[derive(Debug, Clone)]
struct Config {
    /// Signers in the order of their turns.
    order: Vec<Kind>,
    /// Channel types (`anchors`, `taproot`).
    types: Vec<&'static str>,
    /// Payments one at a time, per signer and type.
    seq: usize,
    /// Payments with `in_flight` at a time, per signer and type.
    conc_total: usize,
    /// Payments in flight.
    in_flight: usize,
    /// Channels opened (and force-closed) per signer and type.
    opens: usize,
    /// Amount of each payment (sat).
    amt: u64,
    /// Capacity of each channel (sat).
    capacity: u64,
    /// Where the report goes.
    out: PathBuf,
}

fn env_num(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v.trim().parse().map_err(|e| format!("{name}={v:?}: {e}")),
        _ => Ok(default),
    }
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let order_s =
            std::env::var("LWS_BENCH_SIGNERS").unwrap_or_else(|_| "lnd native wasm".into());
        let mut order = Vec::new();
        for w in order_s.split_whitespace() {
            order.push(Kind::parse(w).ok_or_else(|| {
                format!("LWS_BENCH_SIGNERS: unknown signer {w:?} (lnd native wasm)")
            })?);
        }
        if order.is_empty() {
            return Err("LWS_BENCH_SIGNERS is empty".into());
        }
        let types_s =
            std::env::var("LWS_BENCH_CHANNELS").unwrap_or_else(|_| "anchors taproot".into());
        let mut types = Vec::new();
        for w in types_s.split_whitespace() {
            types.push(match w {
                "anchors" => "anchors",
                "taproot" => "taproot",
                other => {
                    return Err(format!(
                        "LWS_BENCH_CHANNELS: unknown channel type {other:?} (anchors taproot)"
                    ))
                }
            });
        }
        let cfg = Config {
            order,
            types,
            seq: env_num("LWS_BENCH_PAYMENTS", 50)?,
            conc_total: env_num("LWS_BENCH_CONCURRENT_PAYMENTS", 48)?,
            in_flight: env_num("LWS_BENCH_IN_FLIGHT", 8)?.max(1),
            opens: env_num("LWS_BENCH_OPENS", 5)?.max(1),
            amt: env_num("LWS_BENCH_AMT", 5_000)? as u64,
            capacity: 1_000_000,
            out: std::env::var_os("LWS_BENCH_OUT")
                .map(PathBuf::from)
                .unwrap_or_else(|| root_dir().join("target/bench-lnd")),
        };
        let spent = (cfg.seq + cfg.conc_total + 3) as u64 * cfg.amt;
        if spent * 10 > cfg.capacity * 9 {
            return Err(format!(
                "{} payments of {} sat do not fit into a {} sat channel",
                cfg.seq + cfg.conc_total + 3,
                cfg.amt,
                cfg.capacity
            ));
        }
        Ok(cfg)
    }
}

// ------------------------------------------------------------------ results

/// One case of one signer.
#[derive(Debug, Default, Clone)]
struct CaseOut {
    /// The measured values (ms), one per operation.
    ms: Vec<f64>,
    /// `lncli` wall times (ms) where `ms` is lnd's own record.
    wall_ms: Vec<f64>,
    /// Operations per second (payments in flight).
    rate: Option<f64>,
    /// Operations that failed, and the first error.
    errors: usize,
    first_error: Option<String>,
    /// Signer requests alice sent during the case.
    rts: Vec<RoundTrip>,
    /// Operations in the case (for requests per operation).
    ops: usize,
}

/// One signer's turn.
#[derive(Debug, Default, Clone)]
struct TurnOut {
    /// Seconds from stopping the previous signer to alice's registration log.
    handover_s: f64,
    /// Load (min, mean, max of the 1-minute average) during the turn.
    load: (f64, f64, f64),
    /// Seconds the turn took.
    secs: f64,
    /// Every signer request of the turn (alice's view).
    rts: Vec<RoundTrip>,
    /// The signer's own per-request times (native log, tab activity).
    own: Vec<(String, f64)>,
    /// alice's `signmessage` answer with this signer.
    signature: String,
    /// Turns merged into this one.
    turns: usize,
}

#[derive(Debug, Default)]
struct Bench {
    cases: BTreeMap<(String, Kind), CaseOut>,
    turns: BTreeMap<Kind, TurnOut>,
    errors: Vec<String>,
}

impl CaseOut {
    /// Adds a later turn's samples of the same case (a signer named twice
    /// in `LWS_BENCH_SIGNERS`). A rate becomes completed payments over the
    /// summed wall time.
    fn merge(&mut self, o: CaseOut) {
        self.ms.extend(o.ms);
        self.wall_ms.extend(o.wall_ms);
        self.errors += o.errors;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
        self.rts.extend(o.rts);
        self.ops += o.ops;
        if self.rate.is_some() && o.rate.is_some() {
            let secs: f64 = self.ms.iter().sum::<f64>() / 1000.0;
            self.rate = Some(self.ops as f64 / secs);
        }
    }
}

impl TurnOut {
    /// Adds a later turn of the same signer.
    fn merge(&mut self, o: TurnOut) {
        let (a, b) = (self.secs, o.secs);
        self.load = (
            self.load.0.min(o.load.0),
            (self.load.1 * a + o.load.1 * b) / (a + b).max(1e-9),
            self.load.2.max(o.load.2),
        );
        self.secs += o.secs;
        self.handover_s = self.handover_s.max(o.handover_s);
        self.rts.extend(o.rts);
        self.own.extend(o.own);
        self.turns += o.turns;
        if self.signature != o.signature {
            self.signature = format!("{} | {}", self.signature, o.signature);
        }
    }
}

impl Bench {
    fn add_case(&mut self, id: &str, kind: Kind, c: CaseOut) {
        match self.cases.get_mut(&(id.to_string(), kind)) {
            Some(prev) => prev.merge(c),
            None => {
                self.cases.insert((id.to_string(), kind), c);
            }
        }
    }
}

/// Case ids per channel type, in table order.
fn case_ids(t: &str) -> [String; 5] {
    [
        format!("{t}/open"),
        format!("{t}/pay1"),
        format!("{t}/payn"),
        format!("{t}/rate"),
        format!("{t}/fclose"),
    ]
}

// ------------------------------------------------------------------ signers

enum Running {
    None,
    Lnd(Box<Lnd>),
    Native(NativeSigner),
    Tab(Box<TabSigner>),
}

impl Running {
    /// The log where the signer's refusals appear.
    fn log(&self) -> Option<PathBuf> {
        match self {
            Running::None => None,
            Running::Lnd(l) => Some(l.daemon.log.clone()),
            Running::Native(n) => Some(n.daemon.log.clone()),
            Running::Tab(t) => Some(t.tab.log.clone()),
        }
    }

    fn exited(&mut self) -> Option<String> {
        match self {
            Running::None => None,
            Running::Lnd(l) => l.daemon.exited(),
            Running::Native(n) => n.daemon.exited(),
            Running::Tab(t) => t.tab.exited(),
        }
    }

    fn stop(&mut self) {
        match self {
            Running::None => {}
            Running::Lnd(l) => l.daemon.stop(Duration::from_secs(30)),
            Running::Native(n) => n.daemon.stop(Duration::from_secs(5)),
            Running::Tab(t) => t.stop(),
        }
        *self = Running::None;
    }
}

// ------------------------------------------------------------------ network

/// A channel alice opened.
#[derive(Debug, Clone)]
struct Chan {
    point: String,
    scid: String,
}

struct Net {
    tools: Tools,
    dir: PathBuf,
    btcd: Btcd,
    alice: Lnd,
    bob: Lnd,
    target: Target,
    vault: VaultFiles,
    carol: SignerNodeOptions,
    signer: Running,
    bob_pubkey: String,
}

/// The P2WPKH regtest address of `m/84'/0'/0'/0/0`: btcd's mining address.
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

/// An integer field printed as a string or a number.
fn int(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

impl Net {
    fn setup(tools: &Tools, cfg: &Config) -> Result<Net, String> {
        let dir = match std::env::var_os("LWS_BENCH_DIR") {
            Some(d) => PathBuf::from(d),
            None => tempfile::Builder::new()
                .prefix("lws-bench-lnd-")
                .tempdir()
                .map_err(|e| e.to_string())?
                .keep(),
        };
        mkdir(&dir)?;
        println!("bench_lnd: work dir {}", dir.display());
        println!(
            "bench_lnd: signers {:?}, channels {:?}, {} payments one at a time, {} with {} in flight, {} opens/force closes, per signer and type",
            cfg.order.iter().map(|k| k.key()).collect::<Vec<_>>(),
            cfg.types,
            cfg.seq,
            cfg.conc_total,
            cfg.in_flight,
            cfg.opens
        );
        let t0 = Instant::now();

        // A fresh random aezeed seed: our vault and carol's wallet.
        let signer_dir = dir.join("signer");
        mkdir(&signer_dir)?;
        let seed_file = signer_dir.join("seed.txt");
        let mut c = cli_bin();
        c.args(["create-seed", "--network", "regtest"]);
        let words = run_ok(c, "lnd-web-signer create-seed")?;
        write(&seed_file, &words)?;
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

        let btcd = Btcd::start(tools, &dir.join("btcd"), &first_p2wkh(&root)?)?;
        btcd.generate(1)?;

        let WatchOnlyAlice {
            lnd: mut alice,
            target,
            mac_root_hex,
            ..
        } = start_watch_only_alice(tools, &btcd, &dir, &signer_dir, WAIT)?;

        // Our native signer serves the setup (as in the interop suite).
        let mut native = NativeSigner::start(&dir.join("setup-native"), &target, &vault)?;
        alice.create_watch_only(&accounts, &mac_root_hex, birthday)?;
        native.wait_registered(1, WAIT)?;
        alice.wait_state("SERVER_ACTIVE", WAIT)?;
        println!(
            "bench_lnd: alice (watch-only) active with our native signer ({:.1}s)",
            t0.elapsed().as_secs_f64()
        );

        // carol: lnd as the outbound signer, wallet restored from the same
        // words. Its first attempt is refused (our signer is connected);
        // it is stopped until its turn.
        let t1 = Instant::now();
        let carol_pw = dir.join("carol.password");
        write(&carol_pw, WALLET_PASSWORD)?;
        let mut carol_opts = SignerNodeOptions {
            rpchost: target.rpchost.clone(),
            macaroon: target.macaroon.clone(),
            tls_cert: target.tls_cert.clone(),
            unlock_password_file: None,
            rpc: None,
            debuglevel: "info".into(),
        };
        let mut carol = Lnd::start_signer_node(tools, "carol", &dir.join("carol"), &carol_opts)?;
        carol.wait_state("NON_EXISTING", WAIT)?;
        carol.create_from_mnemonic(&words)?;
        drop(words);
        carol.wait_state("SERVER_ACTIVE", WAIT)?;
        let carol_key = carol.pubkey()?;
        let ours = node_pubkey(&root)?;
        if carol_key != ours {
            return Err(format!(
                "carol's node key {carol_key} is not our signer's {ours}: not the same seed"
            ));
        }
        carol.daemon.stop(Duration::from_secs(30));
        carol_opts.unlock_password_file = Some(carol_pw);
        carol_opts.rpc = Some(carol.rpc.clone());
        println!(
            "bench_lnd: carol (lnd, nochainbackend) restored from the same aezeed: node key {carol_key} ({:.1}s)",
            t1.elapsed().as_secs_f64()
        );

        let mut bob = Lnd::start(
            tools,
            &btcd,
            "bob",
            &dir.join("bob"),
            &NodeOptions::default(),
        )?;
        bob.wait_state("SERVER_ACTIVE", WAIT)?;
        let bob_pubkey = bob.pubkey()?;
        let net = Net {
            tools: tools.clone(),
            dir,
            btcd,
            alice,
            bob,
            target,
            vault,
            carol: carol_opts,
            signer: Running::Native(native),
            bob_pubkey,
        };
        // Funds: coinbase outputs to alice's first address mature.
        net.mine(105)?;
        wait_for("alice sees mature coinbase outputs", WAIT, || {
            let (confirmed, _) = net.alice.balance()?;
            Ok((confirmed >= 100 * 100_000_000).then_some(()))
        })?;
        net.connect_peers()?;
        println!(
            "bench_lnd: network ready ({:.1}s)",
            t0.elapsed().as_secs_f64()
        );
        Ok(net)
    }

    fn teardown(&mut self) {
        self.signer.stop();
        self.alice.daemon.stop(Duration::from_secs(10));
        self.bob.daemon.stop(Duration::from_secs(10));
        self.btcd.daemon.stop(Duration::from_secs(5));
    }

    fn alice_log(&self) -> PathBuf {
        self.alice.daemon.log.clone()
    }

    fn mine(&self, n: u32) -> Result<u64, String> {
        self.btcd.generate(n)?;
        let h = self.btcd.height()?;
        self.alice.wait_synced(h, WAIT)?;
        self.bob.wait_synced(h, WAIT)?;
        Ok(h)
    }

    fn connect_peers(&self) -> Result<(), String> {
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

    // -------------------------------------------------------------- hand-over

    fn start_signer(&self, kind: Kind, turn: usize) -> Result<Running, String> {
        let sub = self.dir.join(format!("turn{turn}-{}", kind.key()));
        Ok(match kind {
            Kind::Lnd => Running::Lnd(Box::new(Lnd::start_signer_node(
                &self.tools,
                "carol",
                &self.dir.join("carol"),
                &self.carol,
            )?)),
            Kind::Native => Running::Native(NativeSigner::start(&sub, &self.target, &self.vault)?),
            Kind::Wasm => Running::Tab(Box::new(TabSigner::start(
                &sub,
                TabPath::BridgeGrpcWeb,
                &self.target,
                &self.vault,
            )?)),
        })
    }

    /// Starts `kind`, waits until lnd refused it once (the current signer
    /// is still connected), stops the current one and waits for alice's
    /// registration. Returns the seconds from the stop to the registration.
    fn hand_over(&mut self, kind: Kind, turn: usize) -> Result<f64, String> {
        let mut next = self.start_signer(kind, turn)?;
        let log = next.log().ok_or("no log")?;
        let from = file_len(&log);
        let alice_log = self.alice_log();
        if !matches!(self.signer, Running::None) {
            wait_for(
                &format!("{} refused while another signer is connected", kind.key()),
                Duration::from_secs(240),
                || {
                    if let Some(e) = next.exited() {
                        return Err(format!(
                            "{FATAL}{} exited ({e}): {}",
                            kind.key(),
                            itest_support::tail_file(&log, 30)
                        ));
                    }
                    Ok(read_slice(&log, from, None).contains(REFUSED).then_some(()))
                },
            )?;
        }
        let before = count_in(&alice_log, REGISTERED);
        let t0 = Instant::now();
        self.signer.stop();
        poll(
            &format!("alice registers {}", kind.key()),
            Duration::from_secs(120),
            FAST,
            || {
                if let Some(e) = next.exited() {
                    return Err(format!("{FATAL}{} exited ({e})", kind.key()));
                }
                if !self.alice.alive() {
                    return Err(format!("{FATAL}alice exited"));
                }
                Ok((count_in(&alice_log, REGISTERED) > before).then_some(()))
            },
        )?;
        let secs = t0.elapsed().as_secs_f64();
        self.signer = next;
        Ok(secs)
    }

    // -------------------------------------------------------------- a turn

    fn turn(
        &mut self,
        cfg: &Config,
        kind: Kind,
        turn: usize,
        bench: &mut Bench,
        sampler: &LoadSampler,
    ) {
        println!("\nbench_lnd: turn {} — {}", turn + 1, kind.label());
        let t0 = Instant::now();
        let mut out = TurnOut {
            turns: 1,
            ..TurnOut::default()
        };
        match self.hand_over(kind, turn) {
            Ok(s) => out.handover_s = s,
            Err(e) => {
                bench
                    .errors
                    .push(format!("{}: hand-over failed: {e}", kind.key()));
                return;
            }
        }
        println!(
            "  registered {:.1}s after the previous signer stopped",
            out.handover_s
        );
        let alice_log = self.alice_log();
        let own_from = self.signer.log().map(|l| (l.clone(), file_len(&l)));
        let turn_from = file_len(&alice_log);
        match self
            .alice
            .cli(&["signmessage", "--msg", "lnd-web-signer bench hand-over"])
            .and_then(|v| str_field(&v, "signature"))
        {
            Ok(sig) => out.signature = sig,
            Err(e) => bench
                .errors
                .push(format!("{}: signmessage: {e}", kind.key())),
        }
        for t in &cfg.types {
            if let Err(e) = self.cases(cfg, kind, t, bench) {
                bench.errors.push(format!("{} {t}: {e}", kind.key()));
            }
            if !self.alice.alive() {
                break;
            }
        }
        out.rts = alice_round_trips(&read_slice(&alice_log, turn_from, None));
        if let Some((log, from)) = own_from {
            let text = read_slice(&log, from, None);
            out.own = match kind {
                Kind::Lnd => Vec::new(),
                Kind::Native => native_latencies(&text),
                Kind::Wasm => tab_latencies(&text),
            };
        }
        out.secs = t0.elapsed().as_secs_f64();
        out.load = sampler.between(t0, Instant::now());
        println!(
            "  turn took {:.0}s; load (1-min average) {:.2}–{:.2}",
            out.secs, out.load.0, out.load.2
        );
        match bench.turns.get_mut(&kind) {
            Some(prev) => prev.merge(out),
            None => {
                bench.turns.insert(kind, out);
            }
        }
    }

    /// Runs one case, recording alice's signer requests during it.
    fn case(
        &mut self,
        bench: &mut Bench,
        id: &str,
        kind: Kind,
        f: impl FnOnce(&mut Net, &mut CaseOut) -> Result<(), String>,
    ) -> Result<(), String> {
        let log = self.alice_log();
        let from = file_len(&log);
        let mut c = CaseOut::default();
        let r = f(self, &mut c);
        c.rts = alice_round_trips(&read_slice(&log, from, None));
        if let Err(e) = &r {
            c.errors += 1;
            c.first_error.get_or_insert_with(|| e.clone());
        }
        let st = Stats::of(&c.ms);
        match c.rate {
            Some(rate) => println!("  {id}: {rate:.2}/s"),
            None => println!(
                "  {id}: n={} p50 {} ms, p99 {} ms{}",
                st.n,
                fmt_ms(st.p50),
                fmt_ms(st.p99),
                if c.errors > 0 {
                    format!(
                        " ({} failed: {})",
                        c.errors,
                        c.first_error.clone().unwrap_or_default()
                    )
                } else {
                    String::new()
                }
            ),
        }
        bench.add_case(id, kind, c);
        r
    }

    fn cases(
        &mut self,
        cfg: &Config,
        kind: Kind,
        t: &'static str,
        bench: &mut Bench,
    ) -> Result<(), String> {
        let [open_id, pay1_id, payn_id, rate_id, fclose_id] = case_ids(t);
        let mut chans: Vec<Chan> = Vec::new();
        self.case(bench, &open_id, kind, |n, c| {
            for _ in 0..cfg.opens {
                let t0 = Instant::now();
                let chan = n.open(t, cfg.capacity)?;
                c.ms.push(ms(t0.elapsed()));
                c.ops += 1;
                chans.push(chan);
            }
            Ok(())
        })?;
        let chan = chans.first().cloned().ok_or("no channel")?;
        // Warm-up, not measured.
        for req in self.invoices(3, cfg.amt)? {
            self.pay(&chan, &req.0)?;
        }
        self.case(bench, &pay1_id, kind, |n, c| {
            let invs = n.invoices(cfg.seq, cfg.amt)?;
            for (req, _) in &invs {
                match n.pay(&chan, req) {
                    Ok(wall) => c.wall_ms.push(wall),
                    Err(e) => {
                        c.errors += 1;
                        c.first_error.get_or_insert(e);
                    }
                }
            }
            c.ops = invs.len();
            c.ms = n.lnd_payment_ms(&invs)?;
            Ok(())
        })?;
        let mut rate_case = CaseOut::default();
        self.case(bench, &payn_id, kind, |n, c| {
            let invs = n.invoices(cfg.conc_total, cfg.amt)?;
            let next = AtomicUsize::new(0);
            let walls = Mutex::new(Vec::new());
            let errs = Mutex::new(Vec::new());
            let alice = &n.alice;
            let t0 = Instant::now();
            std::thread::scope(|scope| {
                for _ in 0..cfg.in_flight {
                    scope.spawn(|| loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((req, _)) = invs.get(i) else { break };
                        match pay_with(alice, &chan, req) {
                            Ok(w) => walls.lock().map(|mut v| v.push(w)).unwrap_or(()),
                            Err(e) => errs.lock().map(|mut v| v.push(e)).unwrap_or(()),
                        }
                    });
                }
            });
            let secs = t0.elapsed().as_secs_f64();
            c.wall_ms = walls.into_inner().unwrap_or_default();
            let errs = errs.into_inner().unwrap_or_default();
            c.errors = errs.len();
            c.first_error = errs.into_iter().next();
            c.ops = invs.len();
            c.ms = n.lnd_payment_ms(&invs)?;
            rate_case.rate = Some(c.ms.len() as f64 / secs);
            rate_case.ops = c.ms.len();
            rate_case.ms = vec![secs * 1000.0];
            Ok(())
        })?;
        if let Some(r) = rate_case.rate {
            println!("  {rate_id}: {r:.2} payments/s");
        }
        bench.add_case(&rate_id, kind, rate_case);
        self.case(bench, &fclose_id, kind, |n, c| {
            for ch in &chans {
                let t0 = Instant::now();
                let v = n
                    .alice
                    .cli(&["closechannel", "--force", "--chan_point", &ch.point])?;
                str_field(&v, "closing_txid")?;
                c.ms.push(ms(t0.elapsed()));
                c.ops += 1;
            }
            Ok(())
        })?;
        // Not measured: mine until every force close is resolved (its
        // sweeps are signed by the same signer), so that the next turn
        // starts clean.
        self.resolve(&chans)
    }

    // -------------------------------------------------------------- operations

    /// openchannel → funding transaction in the mempool → one block (the
    /// nodes run with `--bitcoin.defaultchanconfs=1`) → active on both and
    /// both directions' policies in both graphs (payable).
    fn open(&self, kind: &str, capacity: u64) -> Result<Chan, String> {
        let amt = capacity.to_string();
        let mut args = vec![
            "openchannel",
            "--node_key",
            &self.bob_pubkey,
            "--local_amt",
            &amt,
            "--channel_type",
            kind,
        ];
        if kind == "taproot" {
            args.push("--private");
        }
        let v = self.alice.cli(&args)?;
        let txid = str_field(&v, "funding_txid")?;
        poll("funding transaction in the mempool", WAIT, FAST, || {
            Ok(self.btcd.mempool()?.contains(&txid).then_some(()))
        })?;
        self.btcd.generate(1)?;
        let chan = poll(&format!("{kind} channel {txid} active"), WAIT, FAST, || {
            let a = self.alice.cli(&["listchannels", "--active_only"])?;
            Ok(arr(&a, "channels")
                .iter()
                .find(|c| s(c, "channel_point").starts_with(&txid))
                .map(|c| Chan {
                    point: s(c, "channel_point").to_string(),
                    scid: s(c, "scid").to_string(),
                }))
        })?;
        poll("bob sees the channel active", WAIT, FAST, || {
            let b = self.bob.cli(&["listchannels", "--active_only"])?;
            Ok(arr(&b, "channels")
                .iter()
                .any(|c| s(c, "channel_point") == chan.point)
                .then_some(()))
        })?;
        // Active is not enough for pathfinding: both nodes need both
        // directions' policies in their graph (lnd's itests wait for the
        // same before paying).
        for node in [&self.alice, &self.bob] {
            poll(
                &format!("{} has both policies of {}", node.name, chan.scid),
                WAIT,
                FAST,
                || {
                    let Ok(info) = node.cli(&["getchaninfo", "--chan_id", &chan.scid]) else {
                        return Ok(None);
                    };
                    let has = |k: &str| info.get(k).is_some_and(|p| !p.is_null());
                    Ok((has("node1_policy") && has("node2_policy")).then_some(()))
                },
            )?;
        }
        Ok(chan)
    }

    /// `n` invoices of bob: (payment request, payment hash).
    fn invoices(&self, n: usize, amt: u64) -> Result<Vec<(String, String)>, String> {
        (0..n)
            .map(|_| {
                let v =
                    self.bob
                        .cli(&["addinvoice", "--amt", &amt.to_string(), "--memo", "bench"])?;
                Ok((str_field(&v, "payment_request")?, str_field(&v, "r_hash")?))
            })
            .collect()
    }

    fn pay(&self, chan: &Chan, req: &str) -> Result<f64, String> {
        pay_with(&self.alice, chan, req)
    }

    /// lnd's own time of each payment (ms): from the payment's creation to
    /// the settled HTLC's resolution (the preimage back at alice).
    fn lnd_payment_ms(&self, invs: &[(String, String)]) -> Result<Vec<f64>, String> {
        let v = self.alice.cli(&[
            "listpayments",
            "--max_payments",
            &(invs.len() + 50).to_string(),
            "--omit_hops",
        ])?;
        let by_hash: HashMap<&str, &Value> = arr(&v, "payments")
            .iter()
            .map(|p| (s(p, "payment_hash"), p))
            .collect();
        let mut out = Vec::new();
        for (_, hash) in invs {
            let Some(p) = by_hash.get(hash.as_str()) else {
                continue;
            };
            if s(p, "status") != "SUCCEEDED" {
                continue;
            }
            let created = int(p, "creation_time_ns").unwrap_or(0);
            let settled = arr(p, "htlcs")
                .iter()
                .filter(|h| s(h, "status") == "SUCCEEDED")
                .filter_map(|h| int(h, "resolve_time_ns"))
                .max();
            if let Some(done) = settled {
                out.push((done - created) as f64 / 1e6);
            }
        }
        Ok(out)
    }

    /// Mines until every channel of `chans` is in `closedchannels` and no
    /// longer pending.
    fn resolve(&self, chans: &[Chan]) -> Result<(), String> {
        wait_for(
            "force closes fully resolved (mining)",
            Duration::from_secs(300),
            || {
                let closed = self.alice.cli(&["closedchannels"])?;
                let pending = self.alice.cli(&["pendingchannels"])?;
                let is_pending = |point: &str| {
                    arr(&pending, "pending_force_closing_channels")
                        .iter()
                        .chain(arr(&pending, "waiting_close_channels"))
                        .any(|p| p.get("channel").map(|c| s(c, "channel_point")) == Some(point))
                };
                let done = chans.iter().all(|c| {
                    arr(&closed, "channels")
                        .iter()
                        .any(|x| s(x, "channel_point") == c.point)
                        && !is_pending(&c.point)
                });
                if done {
                    return Ok(Some(()));
                }
                self.mine(1)?;
                Ok(None)
            },
        )
    }
}

/// `payinvoice` over `chan`; the call's wall time (ms).
fn pay_with(alice: &Lnd, chan: &Chan, req: &str) -> Result<f64, String> {
    let t0 = Instant::now();
    let out = alice.cli_text(&[
        "payinvoice",
        "--force",
        "--json",
        "--timeout",
        "60s",
        "--outgoing_chan_id",
        &chan.scid,
        "--pay_req",
        req,
    ])?;
    let wall = ms(t0.elapsed());
    let v = last_json(&out).ok_or_else(|| format!("payinvoice printed no JSON: {out}"))?;
    if s(&v, "status") != "SUCCEEDED" {
        return Err(format!(
            "payment status {} ({})",
            s(&v, "status"),
            s(&v, "failure_reason")
        ));
    }
    Ok(wall)
}

// ------------------------------------------------------------------ report

fn case_title(cfg: &Config, id: &str) -> String {
    let (t, what) = id.split_once('/').unwrap_or(("", id));
    let n = match what {
        "open" | "fclose" => cfg.opens,
        "pay1" => cfg.seq,
        _ => cfg.conc_total,
    };
    let what = match what {
        "open" => "channel open → usable, ms".to_string(),
        "pay1" => "payment alice→bob, one at a time, ms".to_string(),
        "payn" => format!("payment, {} in flight, ms", cfg.in_flight),
        "rate" => format!("payments/s, {} in flight", cfg.in_flight),
        "fclose" => "force close → closing txid, ms".to_string(),
        other => other.to_string(),
    };
    format!("{t}: {what} (n={n})")
}

impl Bench {
    fn stats(&self, id: &str, k: Kind) -> Option<(Stats, Option<f64>)> {
        self.cases
            .get(&(id.to_string(), k))
            .map(|c| (Stats::of(&c.ms), c.rate))
    }

    fn main_table(&self, cfg: &Config) -> String {
        let kinds: Vec<Kind> = {
            let mut k = cfg.order.clone();
            k.sort();
            k.dedup();
            k
        };
        let has_lnd = kinds.contains(&Kind::Lnd);
        let ours: Vec<Kind> = kinds.iter().copied().filter(|k| *k != Kind::Lnd).collect();
        let mut t = String::from("| case |");
        let mut sep = String::from("|---|");
        for k in &kinds {
            let _ = write!(t, " {} p50 / p99 |", k.label());
            sep.push_str("---:|");
            if *k != Kind::Lnd && has_lnd {
                let _ = write!(t, " {} / lnd |", k.key());
                sep.push_str("---|");
            }
        }
        t.push('\n');
        t.push_str(&sep);
        t.push('\n');
        for ty in &cfg.types {
            for id in case_ids(ty) {
                let _ = write!(t, "| {} |", case_title(cfg, &id));
                let lnd = self.stats(&id, Kind::Lnd);
                for k in &kinds {
                    let Some((st, rate)) = self.stats(&id, *k) else {
                        t.push_str(" — |");
                        if *k != Kind::Lnd && has_lnd {
                            t.push_str(" — |");
                        }
                        continue;
                    };
                    let failed = self.cases.get(&(id.clone(), *k)).map_or(0, |c| c.errors);
                    let fail_note = if failed > 0 {
                        format!(" ({failed} failed)")
                    } else {
                        String::new()
                    };
                    match rate {
                        Some(r) => {
                            let _ = write!(t, " {r:.1}{fail_note} |");
                        }
                        None => {
                            let _ =
                                write!(t, " {} / {}{fail_note} |", fmt_ms(st.p50), fmt_ms(st.p99));
                        }
                    }
                    if *k == Kind::Lnd || !has_lnd {
                        continue;
                    }
                    match (rate, lnd) {
                        (Some(r), Some((_, Some(lr)))) => {
                            let x = r / lr;
                            let mark = if x < 1.0 { " **slower**" } else { "" };
                            let _ = write!(t, " {x:.2}× (higher is better){mark} |");
                        }
                        (None, Some((ls, None))) => {
                            let (a, b) = (st.p50 / ls.p50, st.p99 / ls.p99);
                            let mark = if a > 1.0 {
                                " **slower**"
                            } else if b > 1.0 {
                                " (p99 slower)"
                            } else {
                                ""
                            };
                            let _ = write!(t, " {a:.2}× / {b:.2}×{mark} |");
                        }
                        _ => t.push_str(" — |"),
                    }
                }
                t.push('\n');
            }
        }
        let _ = ours;
        t
    }

    /// Signer round trips by request kind, as alice logged them.
    fn rtt_table(&self, cfg: &Config) -> String {
        let kinds: Vec<Kind> = self.turns.keys().copied().collect();
        let mut all: BTreeMap<String, BTreeMap<Kind, Vec<f64>>> = BTreeMap::new();
        for (k, turn) in &self.turns {
            for (kind, v) in by_kind(&turn.rts) {
                all.entry(kind).or_default().insert(*k, v);
            }
        }
        let mut t = String::from("| request (alice's log, 1 ms resolution) |");
        let mut sep = String::from("|---|");
        for k in &kinds {
            let _ = write!(t, " {} n | p50 | p99 |", k.label());
            sep.push_str("---:|---:|---:|");
        }
        t.push('\n');
        t.push_str(&sep);
        t.push('\n');
        for (req, per) in &all {
            let _ = write!(t, "| {req} |");
            for k in &kinds {
                match per.get(k) {
                    Some(v) => {
                        let st = Stats::of(v);
                        let _ = write!(t, " {} | {} | {} |", st.n, fmt_ms(st.p50), fmt_ms(st.p99));
                    }
                    None => t.push_str(" 0 | — | — |"),
                }
            }
            t.push('\n');
        }
        let _ = cfg;
        t
    }

    /// Requests per operation and alice's summed wait for the signer.
    fn per_op_table(&self, cfg: &Config) -> String {
        let kinds: Vec<Kind> = self.turns.keys().copied().collect();
        let mut t = String::from("| case |");
        let mut sep = String::from("|---|");
        for k in &kinds {
            let _ = write!(t, " {}: requests / op | signer ms / op |", k.label());
            sep.push_str("---:|---:|");
        }
        t.push_str(" requests by kind (first signer, all its turns) |");
        sep.push_str("---|");
        t.push('\n');
        t.push_str(&sep);
        t.push('\n');
        for ty in &cfg.types {
            for id in case_ids(ty) {
                if id.ends_with("/rate") {
                    continue;
                }
                let _ = write!(t, "| {} |", case_title(cfg, &id));
                for k in &kinds {
                    match self.cases.get(&(id.clone(), *k)) {
                        Some(c) if c.ops > 0 => {
                            let n = c.rts.iter().filter(|r| r.kind != "Ping").count();
                            let sum: f64 = c
                                .rts
                                .iter()
                                .filter(|r| r.kind != "Ping")
                                .map(|r| r.rtt_ms)
                                .sum();
                            let _ = write!(
                                t,
                                " {:.1} | {:.1} |",
                                n as f64 / c.ops as f64,
                                sum / c.ops as f64
                            );
                        }
                        _ => t.push_str(" — | — |"),
                    }
                }
                let mix = cfg
                    .order
                    .first()
                    .and_then(|k| self.cases.get(&(id.clone(), *k)))
                    .map(|c| {
                        let mut m: BTreeMap<&str, usize> = BTreeMap::new();
                        for r in c.rts.iter().filter(|r| r.kind != "Ping") {
                            *m.entry(r.kind.trim_end_matches("Request")).or_default() += 1;
                        }
                        m.iter()
                            .map(|(k, n)| format!("{k} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default();
                let _ = write!(t, " {mix} |");
                t.push('\n');
            }
        }
        t
    }

    /// The signer's own per-request time (native log, tab activity lines).
    fn own_table(&self) -> String {
        let mut t = String::from(
            "| signer | request | n | own p50 ms | own p99 ms |\n|---|---|---:|---:|---:|\n",
        );
        for (k, turn) in &self.turns {
            let mut m: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
            for (kind, v) in &turn.own {
                m.entry(kind.as_str()).or_default().push(*v);
            }
            for (kind, v) in m {
                let st = Stats::of(&v);
                let _ = writeln!(
                    t,
                    "| {} | {kind} | {} | {} | {} |",
                    k.label(),
                    st.n,
                    fmt_ms(st.p50),
                    fmt_ms(st.p99)
                );
            }
        }
        t
    }

    fn wall_table(&self, cfg: &Config) -> String {
        let kinds: Vec<Kind> = self.turns.keys().copied().collect();
        let mut t = String::from("| `lncli payinvoice` wall time, ms |");
        let mut sep = String::from("|---|");
        for k in &kinds {
            let _ = write!(t, " {} p50 / p99 |", k.label());
            sep.push_str("---:|");
        }
        t.push('\n');
        t.push_str(&sep);
        t.push('\n');
        for ty in &cfg.types {
            for id in [format!("{ty}/pay1"), format!("{ty}/payn")] {
                let _ = write!(t, "| {} |", case_title(cfg, &id));
                for k in &kinds {
                    match self.cases.get(&(id.clone(), *k)) {
                        Some(c) => {
                            let st = Stats::of(&c.wall_ms);
                            let _ = write!(t, " {} / {} |", fmt_ms(st.p50), fmt_ms(st.p99));
                        }
                        None => t.push_str(" — |"),
                    }
                }
                t.push('\n');
            }
        }
        t
    }

    fn finish(
        &mut self,
        cfg: &Config,
        tools: &Tools,
        dir: &Path,
        load_before: (f64, f64, f64),
        took: Duration,
    ) {
        let (model, ncpu) = cpu();
        let mut lnd_v = version_of(&tools.lnd, &["--version"]);
        let go = std::env::var_os("LWS_GO").map_or_else(|| PathBuf::from("go"), PathBuf::from);
        let mut gocmd = Command::new(&go);
        gocmd.arg("version").arg("-m").arg(&tools.lnd);
        if let Ok(info) = run(gocmd, "go version -m", Duration::from_secs(20)) {
            let modline = info.lines().find(|l| {
                l.trim_start()
                    .starts_with("mod\tgithub.com/lightningnetwork/lnd\t")
            });
            if let Some(m) = modline {
                let v = m.split('\t').nth(2).unwrap_or("").trim();
                let _ = write!(lnd_v, " (module {v}");
                if let Some(r) = info.lines().find(|l| l.trim_start().starts_with("=>")) {
                    let _ = write!(
                        lnd_v,
                        ", built from {}",
                        r.trim_start_matches(['\t', ' ', '=', '>']).trim()
                    );
                }
                lnd_v.push(')');
            }
        }
        let btcd_v = version_of(&tools.btcd, &["--version"]);
        let chromium_v = version_of(Path::new("chromium"), &["--version"]);
        let rustc_v = version_of(Path::new("rustc"), &["-V"]);
        let load_after = loadavg();

        let mut r = String::new();
        let _ = writeln!(r, "## Side by side with lnd's own signer\n");
        let _ = writeln!(r, "{}\n", self.main_table(cfg));
        let _ = writeln!(
            r,
            "Ratios are ours / lnd's (p50 / p99; for payments/s ours / lnd's, higher is better). **slower**: our p50 above lnd's (for payments/s: fewer per second)."
        );
        let _ = writeln!(r, "\n### Environment\n");
        let _ = writeln!(r, "* CPU: {model}, {ncpu} CPUs; {}", os_name());
        let _ = writeln!(
            r,
            "* load average (1/5/15 min) before the run {:.2} / {:.2} / {:.2}, after {:.2} / {:.2} / {:.2}",
            load_before.0, load_before.1, load_before.2, load_after.0, load_after.1, load_after.2
        );
        for (k, turn) in &self.turns {
            let _ = writeln!(
                r,
                "* {}: {} turn(s), {:.0} s, 1-min load {:.2}–{:.2} (mean {:.2}), registered at most {:.1} s after the previous signer stopped",
                k.label(),
                turn.turns,
                turn.secs,
                turn.load.0,
                turn.load.2,
                turn.load.1,
                turn.handover_s
            );
        }
        let _ = writeln!(r, "* lnd: {lnd_v}");
        let _ = writeln!(r, "* btcd: {btcd_v}; Chromium: {chromium_v}; {rustc_v}");
        let _ = writeln!(
            r,
            "* lnd-web-signer {} at {} ({} build); run took {:.0} s; work dir {}",
            env!("CARGO_PKG_VERSION"),
            std::env::var("LWS_BENCH_REVISION").unwrap_or_else(|_| "an unknown revision".into()),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            },
            took.as_secs_f64(),
            dir.display()
        );
        let sigs: Vec<&str> = self.turns.values().map(|t| t.signature.as_str()).collect();
        if sigs.len() > 1 {
            let same = sigs.iter().all(|s| !s.is_empty() && *s == sigs[0]);
            let _ = writeln!(
                r,
                "* same seed: alice's `signmessage` gave {} signature with every signer",
                if same { "the same" } else { "**different**" }
            );
        }
        let _ = writeln!(r, "\n### Signer requests as alice saw them (whole turns)\n");
        let _ = writeln!(r, "{}", self.rtt_table(cfg));
        let _ = writeln!(
            r,
            "### Requests per operation and alice's summed wait for the signer\n"
        );
        let _ = writeln!(r, "{}", self.per_op_table(cfg));
        let _ = writeln!(r, "### The signer's own time per request\n");
        let _ = writeln!(r, "Native: `answered … latency=` (request in → answer handed to the stream); wasm: the tab's activity lines (request in the page → Reply call acknowledged); lnd's signer logs none at info level.\n");
        let _ = writeln!(r, "{}", self.own_table());
        let _ = writeln!(
            r,
            "### `lncli payinvoice` wall time (process start to exit)\n"
        );
        let _ = writeln!(r, "{}", self.wall_table(cfg));
        if !self.errors.is_empty() {
            let _ = writeln!(r, "### Errors\n");
            for e in &self.errors {
                let _ = writeln!(r, "* {e}");
            }
        }
        println!("\n{r}");

        // Raw samples for a closer look.
        let mut raw = serde_json::Map::new();
        for ((id, k), c) in &self.cases {
            raw.insert(
                format!("{}:{id}", k.key()),
                json!({
                    "ms": c.ms, "wall_ms": c.wall_ms, "rate": c.rate, "ops": c.ops,
                    "errors": c.errors, "first_error": c.first_error,
                    "requests": c.rts.iter().map(|r| json!([r.kind, r.sent_ms, r.rtt_ms])).collect::<Vec<_>>(),
                }),
            );
        }
        for (k, t) in &self.turns {
            raw.insert(
                format!("{}:turn", k.key()),
                json!({
                    "secs": t.secs, "handover_s": t.handover_s, "load": [t.load.0, t.load.1, t.load.2],
                    "own": t.own.iter().map(|(a, b)| json!([a, b])).collect::<Vec<_>>(),
                }),
            );
        }
        if mkdir(&cfg.out).is_ok() {
            let _ = write(&cfg.out.join("report.md"), &r);
            let _ = write(
                &cfg.out.join("samples.json"),
                serde_json::to_string(&Value::Object(raw)).unwrap_or_default(),
            );
            println!(
                "bench_lnd: report in {}",
                cfg.out.join("report.md").display()
            );
        }
    }
}
