// The page tests' driving of the signer tab (also scripts/headless-tab.sh
// and the demo): a tab in Chromium with its console collected, the
// tab's forms, screenshots. Starting processes, servers and the browser
// itself is tests/stack/ (index.mjs).

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before } from "node:test";
import { cleanupTempDirs, launchChromium, SHOTS, startStatic } from "../stack/index.mjs";

/** A fresh persistent browser profile (IndexedDB survives reloads within it). */
export async function launch({ viewport = { width: 1000, height: 820 }, colorScheme = "light" } = {}) {
  const browser = await launchChromium({
    args: ["--disable-dev-shm-usage"],
    viewport,
    colorScheme,
    acceptDownloads: true,
    reducedMotion: "reduce",
  });
  const { context } = browser;
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
    close: () => browser.close(),
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

/**
 * A launched tab on `url` with the vault file restored and unlocked and
 * auto-lock off; `opts` go to launch(). The tab is closed if that fails.
 */
export async function readyTab(url, { vault, passphrase }, opts) {
  const tab = await launch(opts);
  try {
    await openPage(tab.page, url);
    await restoreVault(tab.page, vault);
    await unlock(tab.page, passphrase);
    await setAutolock(tab.page, 0);
    return tab;
  } catch (e) {
    await tab.close();
    throw e;
  }
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

/**
 * The page tests' web/ server: started before the file's tests, closed
 * (and the temporary directories removed) after them. Its `url` and
 * `origin` are set once the `before` hook ran.
 */
export function usePageServer(options = {}) {
  const served = { url: null, origin: null, server: null };
  before(async () => {
    served.server = await startStatic(options);
    served.url = served.server.url;
    served.origin = new URL(served.url).origin;
  });
  after(async () => {
    await served.server?.close();
    await cleanupTempDirs();
  });
  return served;
}

/** Policy tab: seals the policy `text` (JSON) with `passphrase`; waits until it is in force. */
export async function sealPolicy(page, text, passphrase) {
  await page.click("#tab-policy");
  await page.evaluate(() => { document.getElementById("policy-edit").open = true; });
  await page.fill("#policy-text", text);
  await page.fill("#policy-pass", passphrase);
  await page.click("#policy-seal");
  await page.waitForFunction(() => /sealed in the vault/.test(document.getElementById("policy-summary").textContent), null, { timeout: 60_000 });
}
