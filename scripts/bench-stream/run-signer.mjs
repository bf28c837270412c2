// Opens the bench-stream page in headless Chromium (tests/stack's launcher:
// Debian's /usr/bin/chromium, never a downloaded browser) and keeps the wasm
// signer running until this process gets SIGTERM/SIGINT; then prints the
// page's status counts as JSON on stdout. Usage: node run-signer.mjs URL
import { runPageUntilSignalled } from "../../tests/stack/index.mjs";

await runPageUntilSignalled({
  url: process.argv[2],
  ready: "streamSigner",
  error: "streamError",
  tag: "run-signer",
  onStop: async (page) => {
    try {
      const st = await page.evaluate(() => {
        const status = window.streamStatus;
        const probe = status && status.probeSummary ? status.probeSummary() : undefined;
        return { status, probe, error: window.streamError || null };
      });
      console.log(JSON.stringify(st));
    } catch (e) {
      process.stderr.write(`[run-signer] cannot read the page status: ${e}\n`);
    }
  },
});
process.stderr.write("[run-signer] wasm signer running\n");
// Stay alive until signalled.
setInterval(() => {}, 1 << 30);
