// Runs the wasm benchmarks in headless Chromium (Debian's /usr/bin/chromium,
// never a downloaded browser) and prints the JSON results on stdout.
// Usage: node run-browser.mjs URL
import { chromium } from "playwright-core";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const url = process.argv[2];
const ctx = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "lws-bench-")), {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic", "--disable-gpu",
    // CHROMIUM_JS_FLAGS: V8 flags (scripts/bench.sh BENCH_WIDE=1).
    ...(process.env.CHROMIUM_JS_FLAGS ? [`--js-flags=${process.env.CHROMIUM_JS_FLAGS}`] : [])],
});
try {
  const page = await ctx.newPage();
  page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
  await page.goto(url);
  await page.waitForFunction(() => window.benchResults || window.benchError, null, { timeout: 600_000 });
  const err = await page.evaluate(() => window.benchError);
  if (err) throw new Error(err);
  console.log(JSON.stringify(await page.evaluate(() => window.benchResults)));
} finally {
  await ctx.close();
}
