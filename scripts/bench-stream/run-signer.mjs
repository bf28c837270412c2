// Opens the bench-stream page in headless Chromium (tests/stack's launcher:
// Debian's /usr/bin/chromium, never a downloaded browser) and keeps the wasm signer
// running until this process gets SIGTERM/SIGINT; then prints the page's
// status counts as JSON on stdout. Usage: node run-signer.mjs URL
import { launchChromium } from "../../tests/stack/index.mjs";

const url = process.argv[2];
// This script decides when the browser closes (after reading the page);
// the page sits in a background tab of a headless browser for minutes:
// keep its timers and fetches at full speed.
const browser = await launchChromium({ keepAwake: true, handleSignals: false });
const ctx = browser.context;
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
  await browser.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
await page.goto(url);
await page.waitForFunction(() => window.streamSigner || window.streamError, null, { timeout: 120_000 });
const err = await page.evaluate(() => window.streamError || null);
if (err) {
  process.stderr.write(`[run-signer] page error: ${err}\n`);
  await browser.close();
  process.exit(1);
}
process.stderr.write("[run-signer] wasm signer running\n");
// Stay alive until signalled.
setInterval(() => {}, 1 << 30);
