// Prints the stream benchmark results (lws-stream-bench JSON, one file per
// signer) as a Markdown table and checks the stream targets for the bridge (docs/performance.md).
// Usage: node table.mjs native.json [bridge-native.json] wasm.json [wasm-grpcweb.json]
import { readFileSync } from "node:fs";

const runs = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, "utf8")));
const ms = (v) => (Number.isFinite(v) ? v.toFixed(2) : "—");
console.log("| signer | request | load | requests | req/s | p50 ms | p99 ms | max ms |");
console.log("|---|---|---|---:|---:|---:|---:|---:|");
for (const run of runs) {
  for (const r of run.results) {
    const load = r.mode === "sequential" ? "1 in flight" : `${r.window} in flight, ${r.secs.toFixed(1)} s`;
    const kind = r.kind === "ping" ? "ping" : "SignPsbt, 1 P2WKH input";
    console.log(`| ${run.label} | ${kind} | ${load} | ${r.count} | ${Math.round(r.per_sec)} | ${ms(r.p50_ms)} | ${ms(r.p99_ms)} | ${ms(r.max_ms)} |`);
  }
}
// The targets are about the shipped path: the wasm signer behind the bridge
// over its WebSocket channel (the first wasm run).
const bridge = runs.find((r) => r.label.startsWith("wasm") && r.label.includes("bridge"));
if (bridge) {
  console.log("");
  console.log(`targets for: ${bridge.label}`);
  for (const r of bridge.results) {
    const kind = r.kind === "ping" ? "ping" : "SignPsbt 1-input";
    if (r.mode === "sequential") {
      const ok = r.p50_ms <= 2 && r.p99_ms <= 5;
      console.log(`target p50 <= 2 ms and p99 <= 5 ms, ${kind}: p50 ${ms(r.p50_ms)} ms, p99 ${ms(r.p99_ms)} ms ${ok ? "met" : "NOT met"}`);
    } else if (r.kind !== "ping") {
      const ok = r.per_sec >= 2000 && r.p99_ms <= 20;
      console.log(`target >= 2000 req/s with p99 <= 20 ms, ${r.window} in flight, ${kind}: ${Math.round(r.per_sec)} req/s, p99 ${ms(r.p99_ms)} ms ${ok ? "met" : "NOT met"}`);
    }
  }
}
