// Driving the browser extension (dist/extension, scripts/build-extension.sh)
// in headless Chromium: the browser with the unpacked extension loaded, its
// id, the popup as a page (chrome-extension://ID/popup.html: the same
// document Chromium shows in the toolbar popup), the service worker (to
// ask chrome.offscreen), and the consoles of the browser context.

import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { EXTENSION, launchChromium } from "../stack/index.mjs";
import { openPage } from "./helpers.mjs";

/** The extension id Chromium derives from the manifest's public key. */
export async function extensionId(dir = EXTENSION) {
  const { key } = JSON.parse(await readFile(join(dir, "manifest.json"), "utf8"));
  const hex = createHash("sha256").update(Buffer.from(key, "base64")).digest("hex").slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join("");
}

/**
 * Chromium with the extension loaded; `profileDir` keeps the profile (a
 * browser restart). Resolves { context, id, origin, logs, close, … }.
 */
export async function launchExtension({ profileDir, handleSignals = true } = {}) {
  const browser = await launchChromium({
    args: [`--disable-extensions-except=${EXTENSION}`, `--load-extension=${EXTENSION}`, "--disable-dev-shm-usage"],
    ignoreDefaultArgs: ["--disable-extensions"],
    keepAwake: true,
    handleSignals,
    profileDir,
    viewport: { width: 400, height: 600 },
    acceptDownloads: true,
    reducedMotion: "reduce",
  });
  const { context } = browser;
  const id = await extensionId();
  const logs = [];
  // Every console of the browser context: its pages (popup, tabs) and, as
  // Playwright reports them, its workers.
  context.on("console", (m) => logs.push({ type: m.type(), text: m.text(), url: m.page()?.url() ?? "" }));
  context.on("weberror", (e) => logs.push({ type: "pageerror", text: String(e.error()), url: e.page()?.url() ?? "" }));
  return {
    context,
    id,
    origin: `chrome-extension://${id}`,
    logs,
    /** The popup, opened and booted. */
    async openPopup() {
      const page = await context.newPage();
      await openPage(page, `chrome-extension://${id}/popup.html`);
      return page;
    },
    /** The extension's service worker (to ask chrome.* APIs). */
    async serviceWorker() {
      const sws = context.serviceWorkers().filter((w) => w.url().startsWith(`chrome-extension://${id}/`));
      return sws[0] ?? (await context.waitForEvent("serviceworker", { timeout: 30_000 }));
    },
    /** Whether the offscreen document (where the keys live) is open. */
    async hasOffscreen() {
      const sw = await this.serviceWorker();
      return sw.evaluate(() => chrome.offscreen.hasDocument());
    },
    close: () => browser.close(),
  };
}
