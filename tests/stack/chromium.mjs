// The one Chromium launcher: Debian's /usr/bin/chromium (or $CHROMIUM)
// through playwright-core, headless, in a fresh persistent profile that is
// removed on close. Never a downloaded browser.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

/** Switches of every launch: no network chatter, no GPU, no QUIC. */
export const CHROME_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-gpu",
];

/** For a page that runs for minutes in a background tab: timers and fetches at full speed. */
export const KEEP_AWAKE_ARGS = [
  "--disable-background-timer-throttling",
  "--disable-renderer-backgrounding",
  "--disable-backgrounding-occluded-windows",
];

/**
 * Launches Chromium; resolves { context, profile, close() }.
 * `args`: more switches; `keepAwake`: KEEP_AWAKE_ARGS; `jsFlags`: V8 flags
 * (`--js-flags=`); `handleSignals: false` leaves SIGTERM/SIGINT/SIGHUP to
 * the caller (which then closes the browser itself). The environment's
 * CHROME_EXTRA_ARGS (space-separated; the interop suite passes
 * --ignore-certificate-errors-spki-list for its TLS proxy) come last. Any
 * other option goes to playwright's launchPersistentContext (viewport,
 * colorScheme, acceptDownloads, reducedMotion, ...).
 */
export async function launchChromium({ args = [], keepAwake = false, jsFlags, handleSignals = true, profileDir, ...options } = {}) {
  // `profileDir`: a profile of the caller's, kept on close (a browser restart).
  const profile = profileDir ?? (await mkdtemp(join(tmpdir(), "lws-chromium-")));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    handleSIGTERM: handleSignals,
    handleSIGINT: handleSignals,
    handleSIGHUP: handleSignals,
    args: [
      ...CHROME_ARGS,
      ...(keepAwake ? KEEP_AWAKE_ARGS : []),
      ...(jsFlags ? [`--js-flags=${jsFlags}`] : []),
      ...args,
      ...(process.env.CHROME_EXTRA_ARGS || "").split(" ").filter(Boolean),
    ],
    ...options,
  });
  return {
    context,
    profile,
    async close() {
      await context.close().catch(() => {});
      if (!profileDir) await rm(profile, { recursive: true, force: true });
    },
  };
}

/**
 * A page that runs until this process is signalled (the stream bench's and
 * the soak's runners): Chromium with KEEP_AWAKE_ARGS (+ `args`), `url` in a
 * new tab with its console copied to stderr, then a bounded wait until the
 * page sets `window[ready]` or `window[error]`; with the error it says so
 * (as `[tag] page error: …`) and exits 1. On SIGTERM/SIGINT: `onStop(page)`
 * (its last words), the browser closed, exit 0. Resolves the page.
 */
export async function runPageUntilSignalled({ url, ready, error, tag, args = [], onStop = async () => {}, timeout = 120_000 }) {
  const browser = await launchChromium({ keepAwake: true, handleSignals: false, args });
  const page = await browser.context.newPage();
  page.on("console", (m) => process.stderr.write(`[page] ${m.text()}\n`));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await onStop(page).catch((e) => process.stderr.write(`[${tag}] ${e}\n`));
    await browser.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  await page.goto(url);
  await page.waitForFunction(([r, e]) => window[r] || window[e], [ready, error], { timeout });
  const err = await page.evaluate((e) => window[e] || null, error);
  if (err) {
    process.stderr.write(`[${tag}] page error: ${err}\n`);
    await browser.close();
    process.exit(1);
  }
  return page;
}
