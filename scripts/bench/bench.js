// Browser half of scripts/bench.sh: loads the bench build of the wasm signer
// and publishes the results for the Playwright driver.
import init, { runBenchmarks } from "./pkg/lnd_web_signer.js";

const params = new URL(location.href).searchParams;
const budget = Number(params.get("budget") || 1000);
const only = params.get("only") || undefined;
try {
  await init();
  const json = runBenchmarks(budget, only);
  window.benchResults = JSON.parse(json);
  document.getElementById("out").textContent = json;
} catch (e) {
  window.benchError = String(e);
  document.getElementById("out").textContent = "error: " + e;
}
