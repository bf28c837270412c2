// Opens the bench-stream page in headless Chromium (Debian's
// /usr/bin/chromium, never a downloaded browser) and keeps the wasm signer
// running until this process gets SIGTERM/SIGINT; then prints the page's
// status counts as JSON on stdout. Usage: node run-signer.mjs URL
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.argv[2];
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "lws-bench-stream-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // This script decides when the browser closes (after reading the page).
  handleSIGTERM: false,
  handleSIGINT: false,
  handleSIGHUP: false,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-gpu",
    // The page sits in a background tab of a headless browser for minutes:
    // keep its timers and fetches at full speed.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows"],
});
const page = await ctx.newPage();
page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  try {
    const st = await page.evaluate(() => ({ status: window.streamStatus, error: window.streamError || null }));
    console.log(JSON.stringify(st));
  } catch (e) {
    process.stderr.write(`[run-signer] cannot read the page status: ${e}\n`);
  }
  await ctx.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await page.goto(url);
await page.waitForFunction(() => window.streamSigner || window.streamError, null, { timeout: 120_000 });
const err = await page.evaluate(() => window.streamError || null);
if (err) {
  process.stderr.write(`[run-signer] page error: ${err}\n`);
  await ctx.close();
  process.exit(1);
}
process.stderr.write("[run-signer] wasm signer running\n");
// Stay alive until signalled.
setInterval(() => {}, 1 << 30);
