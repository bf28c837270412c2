//! Native half of `scripts/bench.sh`: runs the core's benchmark workloads
//! (`lnd_web_signer_testkit::bench`) and prints the results as one JSON array.
//! Usage: `lws-bench [BUDGET_MS [FILTER]]` (time per workload, default 1000;
//! only the workloads whose name contains FILTER).
use std::process::ExitCode;
use std::time::Instant;

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let budget = match std::env::args().nth(1).map(|s| s.parse::<f64>()) {
        None => 1000.0,
        Some(Ok(ms)) if ms >= 0.0 => ms,
        Some(_) => {
            eprintln!(
                "usage: lws-bench [BUDGET_MS [FILTER]] (a non-negative number of milliseconds)"
            );
            return ExitCode::from(2);
        }
    };
    let t0 = Instant::now();
    let now = move || t0.elapsed().as_secs_f64() * 1000.0;
    let filter = std::env::args().nth(2).unwrap_or_default();
    match lnd_web_signer_testkit::bench::run_matching(&now, budget, &filter) {
        Ok(results) => match serde_json::to_string(&results) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot encode results: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
