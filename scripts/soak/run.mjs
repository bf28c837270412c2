// Opens the soak page in headless Chromium (tests/stack's launcher:
// Debian's /usr/bin/chromium) and prints one JSON line per sample (every
// SOAK_SAMPLE_SECONDS, default 30) with the page's window.soakSample() until
// SIGTERM/SIGINT; then a last sample and exits. Usage: node run.mjs URL
import { runPageUntilSignalled } from "../../tests/stack/index.mjs";

const every = Number(process.env.SOAK_SAMPLE_SECONDS || 30) * 1000;
const t0 = Date.now();
const sample = async (page, last) => {
  try {
    const s = await page.evaluate(() => window.soakSample());
    console.log(JSON.stringify({ t: Math.round((Date.now() - t0) / 1000), last, ...s }));
  } catch (e) {
    console.log(JSON.stringify({ t: Math.round((Date.now() - t0) / 1000), last, error: String(e) }));
  }
};
const page = await runPageUntilSignalled({
  url: process.argv[2],
  ready: "soakSample",
  error: "soakError",
  tag: "soak",
  args: ["--enable-precise-memory-info"],
  onStop: (p) => sample(p, true),
});
process.stderr.write("[soak] wasm signer running\n");
await sample(page, false);
setInterval(() => sample(page, false), every);
