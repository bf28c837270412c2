// Prints the native vs wasm benchmark table (Markdown) from the JSON files of
// scripts/bench.sh: native.json wasm.json [--full wasm-full.json]
// [--wide wasm-wide.json]. --full adds a column for the wasm build with
// libsecp256k1's full 1 MiB table of generator multiples (the shipped one has
// 8 KiB, .cargo/config.toml); --wide one for the build whose libsecp256k1 uses
// WebAssembly wide arithmetic (V8 flag in Chromium 156).
import { readFileSync } from "node:fs";

const args = process.argv.slice(2);
const opt = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return undefined;
  const [, file] = args.splice(i, 2);
  return JSON.parse(readFileSync(file, "utf8"));
};
const full = opt("--full"), wide = opt("--wide");
const [nat, wasm] = args.map((f) => JSON.parse(readFileSync(f, "utf8")));
const byName = (rows) => Object.fromEntries((rows || []).map((r) => [r.name, r]));
const n = byName(nat), w = byName(wasm), f = byName(full), x = byName(wide);
const ratioTarget = ["≤ 1.5× native", (_, r) => r <= 1.5];
// Targets of the issues that asked for each workload; the rest are shown for
// context (accounts_export) or to trace a ratio to its parts (prim_*).
const targets = {
  aezeed_decode: ["≤ 1.5 s in Chromium", (wasmUs) => wasmUs <= 1.5e6],
  vault_open: ["≤ 1 s in Chromium", (wasmUs) => wasmUs <= 1e6],
  shared_key: ratioTarget,
  sign_message_der: ratioTarget,
  sign_message_schnorr: ratioTarget,
  sign_psbt_p2wkh_1: ["≤ 1 ms in Chromium, ≤ 1.5× native", (wasmUs, r) => wasmUs <= 1000 && r <= 1.5],
  sign_psbt_p2tr_1: ["≤ 1 ms in Chromium, ≤ 1.5× native", (wasmUs, r) => wasmUs <= 1000 && r <= 1.5],
  sign_psbt_mixed_10: ratioTarget,
  musig2_create_sign: ["≤ 2 ms in Chromium", (wasmUs) => wasmUs <= 2000],
};
const fmt = (us) => (us >= 1e6 ? `${(us / 1e6).toFixed(2)} s` : us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`);
const verdict = (name, r) => {
  const t = targets[name];
  if (!t) return "—";
  return `${t[0]}: ${t[1](r.median_us, r.median_us / n[name].median_us) ? "met" : "**missed**"}`;
};
const head = ["workload", "native (median)", "wasm in Chromium (median)", "wasm / native", "target"];
if (full) head.push("wasm, full 1 MiB secp256k1 table", "full / native");
if (wide) head.push("wasm, wide arithmetic (V8 flag)", "wide / native", "target (wide)");
console.log(`| ${head.join(" | ")} |`);
console.log(`|${head.map(() => "---").join("|")}|`);
for (const name of Object.keys(n)) {
  if (!w[name]) continue;
  const row = [name, fmt(n[name].median_us), fmt(w[name].median_us),
    `${(w[name].median_us / n[name].median_us).toFixed(2)}×`, verdict(name, w[name])];
  if (full) {
    row.push(...(f[name] ? [fmt(f[name].median_us), `${(f[name].median_us / n[name].median_us).toFixed(2)}×`] : ["—", "—"]));
  }
  if (wide) {
    row.push(...(x[name]
      ? [fmt(x[name].median_us), `${(x[name].median_us / n[name].median_us).toFixed(2)}×`, verdict(name, x[name])]
      : ["—", "—", "—"]));
  }
  console.log(`| ${row.join(" | ")} |`);
}
