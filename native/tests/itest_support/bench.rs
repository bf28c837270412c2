//! Measuring helpers of the benchmark with the real lnd
//! (`native/tests/bench_lnd.rs`, `scripts/bench-lnd.sh`): percentiles, a
//! fine-grained poll, the machine's load, and the per-request times that
//! alice (lnd's `RPWL` log), the native signer and the signer tab log.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{run, STOPPING};

/// Summary of a sample of durations (milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// Sample size.
    pub n: usize,
    /// Median (nearest rank).
    pub p50: f64,
    /// 99th percentile (nearest rank: the maximum below 100 samples).
    pub p99: f64,
    /// Mean.
    pub mean: f64,
    /// Largest value.
    pub max: f64,
}

/// The nearest-rank percentile `p` (0..=1) of sorted `v`.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

impl Stats {
    /// Stats of `values` (ms); NaN fields for an empty sample.
    pub fn of(values: &[f64]) -> Stats {
        let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return Stats {
                n: 0,
                p50: f64::NAN,
                p99: f64::NAN,
                mean: f64::NAN,
                max: f64::NAN,
            };
        }
        Stats {
            n: v.len(),
            p50: percentile(&v, 0.5),
            p99: percentile(&v, 0.99),
            mean: v.iter().sum::<f64>() / v.len() as f64,
            max: v[v.len() - 1],
        }
    }
}

/// Milliseconds of a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A time in ms for a table: 3 significant digits or so.
pub fn fmt_ms(v: f64) -> String {
    if !v.is_finite() {
        "—".to_string()
    } else if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// Polls `f` every `every` until it returns `Ok(Some(_))`, for at most
/// `timeout` (like [`super::wait_for`], with a finer interval for waits
/// that are part of a measurement).
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Result<Option<T>, String>,
) -> Result<T, String> {
    let start = Instant::now();
    let mut last = String::from("condition not met");
    loop {
        match f() {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) if e.starts_with(super::FATAL) => return Err(format!("{what}: {e}")),
            Err(e) => last = e,
        }
        if start.elapsed() >= timeout {
            return Err(format!("{what}: not within {timeout:?} ({last})"));
        }
        if STOPPING.load(Ordering::Relaxed) {
            return Err(format!("{what}: run stopped ({last})"));
        }
        std::thread::sleep(every);
    }
}

// ------------------------------------------------------------------ machine

/// The 1-, 5- and 15-minute load averages.
pub fn loadavg() -> (f64, f64, f64) {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut it = text
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap_or(f64::NAN));
    (
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
        it.next().unwrap_or(f64::NAN),
    )
}

/// Samples the 1-minute load average every few seconds in a thread.
#[derive(Debug)]
pub struct LoadSampler {
    samples: Arc<Mutex<Vec<(Instant, f64)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LoadSampler {
    /// Starts sampling every `every`.
    pub fn start(every: Duration) -> LoadSampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (Arc::clone(&samples), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut next = Instant::now();
            while !st.load(Ordering::Relaxed) {
                if Instant::now() >= next {
                    if let Ok(mut v) = s.lock() {
                        v.push((Instant::now(), loadavg().0));
                    }
                    next += every;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        LoadSampler {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// (min, mean, max) of the samples taken between `from` and `to`.
    pub fn between(&self, from: Instant, to: Instant) -> (f64, f64, f64) {
        let v: Vec<f64> = self
            .samples
            .lock()
            .map(|s| {
                s.iter()
                    .filter(|(t, _)| *t >= from && *t <= to)
                    .map(|(_, l)| *l)
                    .collect()
            })
            .unwrap_or_default();
        if v.is_empty() {
            let l = loadavg().0;
            return (l, l, l);
        }
        let min = v.iter().copied().fold(f64::INFINITY, f64::min);
        let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (min, v.iter().sum::<f64>() / v.len() as f64, max)
    }
}

impl Drop for LoadSampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `model name` of the first CPU in /proc/cpuinfo and the number of CPUs.
pub fn cpu() -> (String, usize) {
    let text = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = text
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    (model, n)
}

/// `PRETTY_NAME` of /etc/os-release.
pub fn os_name() -> String {
    std::fs::read_to_string("/etc/os-release")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))
        .map(|s| s.trim_matches('"').to_string())
        .unwrap_or_else(|| "unknown OS".into())
}

/// The first line printed by `prog ARGS` (stdout, else the error text).
pub fn version_of(prog: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(prog);
    cmd.args(args);
    match run(cmd, &prog.display().to_string(), Duration::from_secs(20)) {
        Ok(out) => out.lines().next().unwrap_or("").trim().to_string(),
        Err(e) => format!("({e})"),
    }
}

// ------------------------------------------------------------------ logs

/// Milliseconds since 2000-01-01 of an lnd log line's time stamp
/// (`2026-12-01 21:09:45.305 [DBG] …`).
pub fn lnd_log_ms(line: &str) -> Option<f64> {
    let ts = line.get(..23)?;
    let num = |r: std::ops::Range<usize>| ts.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s, milli) = (num(11..13)?, num(14..16)?, num(17..19)?, num(20..23)?);
    // Days from civil (Howard Hinnant), relative to 2000-03-01.
    let (y, mo) = if mo <= 2 {
        (y - 1, mo + 9)
    } else {
        (y, mo - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe;
    Some((((days * 24 + h) * 60 + mi) * 60 + s) as f64 * 1000.0 + milli as f64)
}

/// One signer request as alice's log shows it: kind (the request's
/// `SignCoordinatorRequest_` member), sent and answered (ms, lnd's clock).
#[derive(Debug, Clone)]
pub struct RoundTrip {
    /// `SignPsbtRequest`, `SharedKeyRequest`, `Ping`, ….
    pub kind: String,
    /// When alice sent it.
    pub sent_ms: f64,
    /// How long until alice had the answer (ms; lnd logs whole ms).
    pub rtt_ms: f64,
}

/// The signer requests in a slice of alice's `lnd.log` (`--debuglevel=debug`:
/// `RPWL: Sending a *watchonlyrpc.SignCoordinatorRequest_X to the remote
/// signer with request ID N` … `RPWL: Received remote signer … response for
/// request ID N`). Unanswered requests are left out.
pub fn alice_round_trips(log: &str) -> Vec<RoundTrip> {
    const SEND: &str = "Sending a *watchonlyrpc.SignCoordinatorRequest_";
    const RECV: &str = "Received remote signer ";
    const ID: &str = "request ID ";
    let mut open: HashMap<u64, (String, f64)> = HashMap::new();
    let mut out = Vec::new();
    for line in log.lines() {
        if !line.contains("RPWL:") {
            continue;
        }
        let Some(t) = lnd_log_ms(line) else { continue };
        let id = line
            .rfind(ID)
            .and_then(|i| line[i + ID.len()..].trim().parse::<u64>().ok());
        let Some(id) = id else { continue };
        if let Some(i) = line.find(SEND) {
            let kind = line[i + SEND.len()..]
                .split_whitespace()
                .next()
                .unwrap_or("?")
                .to_string();
            open.insert(id, (kind, t));
        } else if line.contains(RECV) {
            if let Some((kind, sent)) = open.remove(&id) {
                out.push(RoundTrip {
                    kind,
                    sent_ms: sent,
                    rtt_ms: t - sent,
                });
            }
        }
    }
    out
}

/// Round trips grouped by kind.
pub fn by_kind(rts: &[RoundTrip]) -> BTreeMap<String, Vec<f64>> {
    let mut m: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for r in rts {
        m.entry(r.kind.clone()).or_default().push(r.rtt_ms);
    }
    m
}

/// Parses a `Debug`-printed Duration (`673.177µs`, `1.016427ms`, `2.5s`,
/// `900ns`) as ms.
pub fn debug_duration_ms(s: &str) -> Option<f64> {
    let s = s.trim().trim_matches('"');
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix("µs").or_else(|| s.strip_suffix("us")) {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix("ns") {
        (n, 1e-6)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1e3)
    } else {
        return None;
    };
    num.parse::<f64>().ok().map(|v| v * scale)
}

/// `(kind, latency ms)` of the native signer's `answered kind=… latency=…`
/// lines (the time from receiving a request to handing its answer to the
/// stream).
pub fn native_latencies(log: &str) -> Vec<(String, f64)> {
    log.lines()
        .filter(|l| l.contains(" answered "))
        .filter_map(|l| {
            let field = |k: &str| {
                l.split_whitespace()
                    .find_map(|w| w.strip_prefix(k))
                    .map(|v| v.trim_matches('"').to_string())
            };
            Some((field("kind=")?, debug_duration_ms(&field("latency=")?)?))
        })
        .collect()
}

/// `(kind, latency ms)` of the signer tab's activity lines
/// (`#ID KIND [key=…] [signed=[…]] LATENCYms`: from the request's arrival
/// in the page to the acknowledged Reply call).
pub fn tab_latencies(log: &str) -> Vec<(String, f64)> {
    log.lines()
        .filter(|l| l.starts_with('#'))
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            words.next()?;
            let kind = words.next()?.to_string();
            let lat = l
                .split_whitespace()
                .rev()
                .find_map(|w| w.strip_suffix("ms"))?
                .parse::<f64>()
                .ok()?;
            Some((kind, lat))
        })
        .collect()
}

/// The text of `path` from byte `from` to byte `to` (to the end if `None`).
pub fn read_slice(path: &Path, from: u64, to: Option<u64>) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let len = bytes.len() as u64;
    let a = from.min(len) as usize;
    let b = to.unwrap_or(len).min(len) as usize;
    String::from_utf8_lossy(&bytes[a..b.max(a)]).into_owned()
}

/// The current size of `path` (0 if missing).
pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
