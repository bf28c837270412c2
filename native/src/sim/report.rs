//! Output of the simulator: one line per verified answer on the result sink
//! (stdout for the binary), diagnostics on the log sink (stderr), and the
//! closing `N passed, M failed` line.

use std::io::Write;
use std::sync::Mutex;

/// Where the simulator writes. The binary passes stdout/stderr; tests may
/// pass buffers.
pub struct Output {
    out: Mutex<Box<dyn Write + Send>>,
    log: Mutex<Box<dyn Write + Send>>,
    quiet: bool,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Output")
            .field("quiet", &self.quiet)
            .finish()
    }
}

impl Output {
    /// Results to `out`, diagnostics to `log`. With `quiet`, passed checks
    /// are not listed (failures and the summary still are).
    pub fn new(out: Box<dyn Write + Send>, log: Box<dyn Write + Send>, quiet: bool) -> Self {
        Output {
            out: Mutex::new(out),
            log: Mutex::new(log),
            quiet,
        }
    }

    /// Process stdout and stderr.
    pub fn stdio(quiet: bool) -> Self {
        Output::new(
            Box::new(std::io::stdout()),
            Box::new(std::io::stderr()),
            quiet,
        )
    }

    /// Writes one line to the result sink (flushed at once: tests and the
    /// demo read it live).
    pub fn result(&self, line: &str) {
        if let Ok(mut w) = self.out.lock() {
            // A closed stdout must not crash the simulator.
            let _ = writeln!(w, "{line}");
            let _ = w.flush();
        }
    }

    /// Writes one diagnostic line to the log sink.
    pub fn log(&self, line: &str) {
        if let Ok(mut w) = self.log.lock() {
            let _ = writeln!(w, "watchonly-sim: {line}");
            let _ = w.flush();
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    passed: u64,
    failed: u64,
}

/// Pass/fail bookkeeping of the verified answers.
#[derive(Debug)]
pub struct Report {
    counts: Mutex<Counts>,
}

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

impl Report {
    /// Empty report.
    pub fn new() -> Self {
        Report {
            counts: Mutex::new(Counts::default()),
        }
    }

    /// Records one check; prints `ok   label` or `FAIL label: reason`.
    pub fn record(&self, out: &Output, label: &str, result: Result<(), String>) {
        let mut c = match self.counts.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        match result {
            Ok(()) => {
                c.passed += 1;
                if !out.quiet {
                    out.result(&format!("ok   {label}"));
                }
            }
            Err(reason) => {
                c.failed += 1;
                out.result(&format!("FAIL {label}: {reason}"));
            }
        }
    }

    /// (passed, failed) so far.
    pub fn counts(&self) -> (u64, u64) {
        let c = match self.counts.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        (c.passed, c.failed)
    }

    /// The closing line, exactly `N passed, M failed`.
    pub fn summary_line(&self) -> String {
        let (p, f) = self.counts();
        format!("{p} passed, {f} failed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_passes_and_failures() {
        let out = Output::new(Box::new(std::io::sink()), Box::new(std::io::sink()), true);
        let r = Report::new();
        r.record(&out, "a", Ok(()));
        r.record(&out, "b", Err("bad".into()));
        r.record(&out, "c", Ok(()));
        assert_eq!(r.summary_line(), "2 passed, 1 failed");
    }
}
