//! `runBenchmarks(budgetMs, filter?)` for `scripts/bench.sh` (feature `bench` only:
//! the shipped signer does not export it). Same workloads as the native
//! `lws-bench`, timed with `performance.now()`.
use wasm_bindgen::prelude::*;

/// Runs the core benchmark workloads (those whose name contains `filter`,
/// all when it is absent) and returns the results as a JSON
/// string (array of `{name, iterations, median_us, min_us, mean_us}`).
#[wasm_bindgen(js_name = runBenchmarks)]
pub fn run_benchmarks(budget_ms: f64, filter: Option<String>) -> Result<String, JsError> {
    let filter = filter.unwrap_or_default();
    let results =
        lnd_web_signer_testkit::bench::run_matching(&super::host::now_ms, budget_ms, &filter)
            .map_err(|e| JsError::new(&e.to_string()))?;
    serde_json::to_string(&results).map_err(|e| JsError::new(&e.to_string()))
}
