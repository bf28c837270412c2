// Shared pieces of the page tests, scripts/headless-tab.sh and the demo:
// launching Debian's Chromium through playwright-core (never a downloaded
// browser), serving web/, driving the signer tab's forms, screenshots,
// and starting/stopping the native binaries.

import { spawn } from "node:child_process";
import { mkdtemp, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WEB = join(ROOT, "web");
export const BIN = join(ROOT, "target/release");
export const SHOTS = process.env.SCREENSHOT_DIR || join(ROOT, "artifacts/screenshots");
export const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

export const CHROME_ARGS = [
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
  "--disable-gpu",
  "--disable-dev-shm-usage",
];

/** A fresh persistent browser profile (IndexedDB survives reloads within it). */
export async function launch({ viewport = { width: 1000, height: 820 }, colorScheme = "light" } = {}) {
  const profile = await mkdtemp(join(tmpdir(), "lws-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    // CHROME_EXTRA_ARGS: more switches, space-separated (the interop suite
    // passes --ignore-certificate-errors-spki-list for its TLS proxy).
    args: [...CHROME_ARGS, ...(process.env.CHROME_EXTRA_ARGS || "").split(" ").filter(Boolean)],
    viewport,
    colorScheme,
    acceptDownloads: true,
    reducedMotion: "reduce",
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const logs = [];
  const errors = [];
  const watch = (p) => {
    p.on("console", (m) => logs.push({ type: m.type(), text: m.text() }));
    p.on("pageerror", (e) => errors.push(String(e)));
  };
  watch(page);
  context.on("page", watch);
  return {
    context,
    page,
    logs,
    errors,
    async close() {
      await context.close().catch(() => {});
      await rm(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name, { fullPage = true } = {}) {
  await mkdir(SHOTS, { recursive: true });
  const path = join(SHOTS, `${name}.png`);
  // Transient toasts would float over random content (a shot shows its
  // screen, not the toast of an earlier step); a scrolled page would put
  // the sticky top bar in the middle of a full-page shot.
  await page.evaluate((top) => {
    const t = document.getElementById("toast");
    if (t) t.hidden = true;
    if (top) window.scrollTo(0, 0);
  }, fullPage);
  await page.screenshot({ path, fullPage, animations: "disabled", caret: "hide" });
  return path;
}

/** Opens the page and waits until it has booted (wasm loaded, screen chosen). */
export async function openPage(page, url) {
  let failure = null;
  const onError = (e) => { failure = failure ?? e; };
  page.on("pageerror", onError);
  try {
    await page.goto(url);
    // Ready, or a fatal error shown on the loading screen, or a script error.
    await page.waitForFunction(
      () => document.documentElement.dataset.ready === "true" ||
        document.querySelector("#screen-loading .spinner")?.hidden === true,
      null,
      { timeout: 60_000, polling: 100 },
    ).catch((e) => { throw failure ?? e; });
    if (failure) throw failure;
    const ready = await page.evaluate(() => document.documentElement.dataset.ready === "true");
    if (!ready) throw new Error(`the page did not start: ${await page.textContent("#loading-text")}`);
  } finally {
    page.off("pageerror", onError);
  }
}

export async function visibleScreen(page) {
  return page.evaluate(() => {
    const s = [...document.querySelectorAll("section.screen")].find((x) => !x.hidden);
    return s ? s.id.replace(/^screen-/, "") : null;
  });
}

export async function waitScreen(page, name, timeout = 60_000) {
  await page.waitForSelector(`#screen-${name}:not([hidden])`, { timeout });
}

/** Fills and submits the seal form, then waits for the dashboard. */
export async function sealWith(page, passphrase) {
  await waitScreen(page, "seal");
  await page.fill("#seal-pass", passphrase);
  await page.fill("#seal-pass2", passphrase);
  await page.click("#seal-btn");
  await waitScreen(page, "dashboard", 120_000);
}

export async function importTprv(page, { network = "regtest", xprv, passphrase }) {
  await waitScreen(page, "welcome");
  await page.click("#choose-import");
  await page.selectOption("#import-network", network);
  await page.check('input[name="import-kind"][value="xprv"]');
  await page.fill("#import-xprv", xprv);
  await page.click("#import-btn");
  await sealWith(page, passphrase);
}

export async function importAezeed(page, { network = "regtest", words, aezeedPassphrase = "", passphrase }) {
  await waitScreen(page, "welcome");
  await page.click("#choose-import");
  await page.selectOption("#import-network", network);
  await page.fill("#import-words", words.join(" "));
  await page.fill("#import-aezeed-pass", aezeedPassphrase);
  await page.click("#import-btn");
  await sealWith(page, passphrase);
}

export async function restoreVault(page, vaultPath) {
  await waitScreen(page, "welcome");
  await page.click("#choose-restore");
  await page.setInputFiles("#restore-file", vaultPath);
  await page.click("#restore-btn");
  await waitScreen(page, "unlock");
}

export async function unlock(page, passphrase) {
  await waitScreen(page, "unlock");
  await page.fill("#unlock-pass", passphrase);
  await page.click("#unlock-btn");
  await waitScreen(page, "dashboard", 120_000);
}

export async function setAutolock(page, minutes) {
  await page.click("#tab-settings");
  await page.selectOption("#autolock", String(minutes));
}

/** Connection tab: bridge URL, optional macaroon file (sealed into the vault with `passphrase`). */
export async function connect(page, { bridgeUrl, macaroonPath, passphrase }) {
  await page.click("#tab-connection");
  await page.fill("#bridge-url", bridgeUrl);
  if (macaroonPath) {
    await page.evaluate(() => { document.getElementById("mac-details").open = true; });
    await page.setInputFiles("#mac-file", macaroonPath);
    await page.fill("#mac-pass", passphrase);
  }
  await page.click("#connect-btn");
}

export async function statusState(page) {
  return page.getAttribute("#status-card", "data-state");
}

export async function waitStatus(page, state, timeout = 60_000) {
  await page.waitForSelector(`#status-card[data-state='${state}']`, { timeout });
}

/** Resolves the Download's bytes. */
export async function downloadBytes(page, click) {
  const [dl] = await Promise.all([page.waitForEvent("download"), click()]);
  const stream = await dl.createReadStream();
  const chunks = [];
  for await (const c of stream) chunks.push(c);
  return { name: dl.suggestedFilename(), bytes: Buffer.concat(chunks) };
}

/** Watch-only setup tab: downloads accounts.json; resolves { name, bytes }. */
export async function downloadAccounts(page) {
  await page.click("#tab-setup");
  return downloadBytes(page, () => page.click("#download-accounts"));
}

// ---- native processes -------------------------------------------------------------

/**
 * Starts a process; collects its output; `waitFor(re)` resolves with the
 * first match in stdout/stderr. `stop()` sends SIGTERM (then SIGKILL).
 */
export function startProcess(cmd, args, { name = cmd, env = {}, echo = false, cwd = ROOT } = {}) {
  const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const waiters = [];
  const onData = (chunk) => {
    const text = chunk.toString();
    out += text;
    if (echo) for (const line of text.split("\n")) if (line) process.stderr.write(`[${name}] ${line}\n`);
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
  let exitInfo = null;
  exited.then((x) => {
    exitInfo = x;
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${x.code ?? x.signal}) before printing ${w.re}:\n${out.slice(-3000)}`));
  });
  return {
    child,
    get output() { return out; },
    get exit() { return exitInfo; },
    exited,
    waitFor(re, timeout = 60_000) {
      const m = out.match(re);
      if (m) return Promise.resolve(m);
      if (exitInfo) return Promise.reject(new Error(`${name} already exited:\n${out.slice(-3000)}`));
      return new Promise((res, rej) => {
        const w = { re, resolve: res, reject: rej };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            rej(new Error(`timed out after ${timeout} ms waiting for ${re} from ${name}:\n${out.slice(-3000)}`));
          }
        }, timeout).unref();
      });
    },
    async stop() {
      if (exitInfo) return exitInfo;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      const x = await exited;
      clearTimeout(t);
      return x;
    },
  };
}

/** Runs a command to completion; resolves { code, stdout, stderr }. */
export function run(cmd, args, { input, cwd = ROOT } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => { stdout += c; });
    child.stderr.on("data", (c) => { stderr += c; });
    child.on("error", rej);
    child.on("exit", (code) => res({ code, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

const tempDirs = [];

/** A new temporary directory, removed by cleanupTempDirs(). */
export async function tempDir(prefix = "lws-page-") {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export async function cleanupTempDirs() {
  for (const d of tempDirs.splice(0)) await rm(d, { recursive: true, force: true });
}
