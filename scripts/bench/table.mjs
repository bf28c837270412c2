// Prints the native vs wasm benchmark table (Markdown) from two JSON files.
import { readFileSync } from "node:fs";

const [nat, wasm] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, "utf8")));
const byName = (rows) => Object.fromEntries(rows.map((r) => [r.name, r]));
const n = byName(nat), w = byName(wasm);
const targets = {
  aezeed_decode: ["≤ 1.5 s in Chromium", (wasmUs) => wasmUs <= 1.5e6],
  vault_open: ["≤ 1 s in Chromium", (wasmUs) => wasmUs <= 1e6],
  sign_psbt_p2wkh_1in: ["≤ 1 ms in Chromium, ≤ 1.5× native", (wasmUs, r) => wasmUs <= 1000 && r <= 1.5],
  sign_psbt_p2tr_1in: ["≤ 1 ms in Chromium, ≤ 1.5× native", (wasmUs, r) => wasmUs <= 1000 && r <= 1.5],
  musig2_create_sign: ["≤ 2 ms in Chromium", (wasmUs) => wasmUs <= 2000],
};
const fmt = (us) => (us >= 1e6 ? `${(us / 1e6).toFixed(2)} s` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
console.log("| workload | native (median) | wasm in Chromium (median) | wasm / native | target |");
console.log("|---|---|---|---|---|");
for (const name of Object.keys(n)) {
  if (!w[name]) continue;
  const ratio = w[name].median_us / n[name].median_us;
  const [text, ok] = targets[name] || ["≤ 1.5× native", (_, r) => r <= 1.5];
  const verdict = ok(w[name].median_us, ratio) ? "met" : "**missed**";
  console.log(`| ${name} | ${fmt(n[name].median_us)} | ${fmt(w[name].median_us)} | ${ratio.toFixed(2)}× | ${text}: ${verdict} |`);
}
