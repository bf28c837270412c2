// Opens the soak page in headless Chromium (Debian's /usr/bin/chromium)
// and prints one JSON line per sample (every SOAK_SAMPLE_SECONDS, default
// 30) with the page's window.soakSample() until SIGTERM/SIGINT; then a
// last sample and exits. Usage: node run.mjs URL
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.argv[2];
const every = Number(process.env.SOAK_SAMPLE_SECONDS || 30) * 1000;
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "lws-soak-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  handleSIGTERM: false,
  handleSIGINT: false,
  handleSIGHUP: false,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-gpu",
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows", "--enable-precise-memory-info"],
});
const page = await ctx.newPage();
page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
const t0 = Date.now();
const sample = async (last) => {
  try {
    const s = await page.evaluate(() => window.soakSample());
    console.log(JSON.stringify({ t: Math.round((Date.now() - t0) / 1000), last, ...s }));
  } catch (e) {
    console.log(JSON.stringify({ t: Math.round((Date.now() - t0) / 1000), last, error: String(e) }));
  }
};
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await sample(true);
  await ctx.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await page.goto(url);
await page.waitForFunction(() => window.soakSample || window.soakError, null, { timeout: 120_000 });
const err = await page.evaluate(() => window.soakError || null);
if (err) {
  process.stderr.write(`[soak] page error: ${err}\n`);
  await ctx.close();
  process.exit(1);
}
process.stderr.write("[soak] wasm signer running\n");
await sample(false);
setInterval(() => sample(false), every);
