// Browser half of scripts/bench.sh: loads the bench build of the wasm signer
// and publishes the results for the Playwright driver.
import init, { runBenchmarks } from "./pkg/lnd_web_signer.js";

const budget = Number(new URL(location.href).searchParams.get("budget") || 1000);
try {
  await init();
  const json = runBenchmarks(budget);
  window.benchResults = JSON.parse(json);
  document.getElementById("out").textContent = json;
} catch (e) {
  window.benchError = String(e);
  document.getElementById("out").textContent = "error: " + e;
}
