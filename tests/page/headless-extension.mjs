// Drives the browser extension in headless Chromium: a fresh profile with
// the extension loaded, the popup opened, a vault file restored, unlocked,
// connected to signer-bridge, the popup optionally closed, and signing until
// killed. One stdout line per handled request, status changes on stderr
// (as scripts/headless-tab.sh). See scripts/headless-extension.sh.

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { connect, restoreVault, screenshot, setAutolock, unlock, waitStatus } from "./helpers.mjs";
import { launchExtension } from "./extension.mjs";

const { values: opt } = parseArgs({
  options: {
    bridge: { type: "string" },
    vault: { type: "string" },
    "passphrase-file": { type: "string" },
    macaroonpath: { type: "string" },
    "close-popup-after-connect": { type: "boolean", default: false },
    "screenshot-prefix": { type: "string" },
    "register-timeout": { type: "string", default: "120" },
  },
  strict: true,
});
const TAG = "headless-extension";
for (const k of ["bridge", "vault", "passphrase-file"]) {
  if (!opt[k]) {
    process.stderr.write(`${TAG}: --${k} is required\n`);
    process.exit(2);
  }
}
const passphrase = (await readFile(opt["passphrase-file"], "utf8")).split(/\r?\n/)[0];
if (!passphrase) {
  process.stderr.write(`${TAG}: ${opt["passphrase-file"]} has an empty first line\n`);
  process.exit(2);
}

const ext = await launchExtension({ handleSignals: false });
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await ext.close();
  process.exit(code);
}
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));

// The activity lines come from the popup while it is open; once it is
// closed, a hidden page of the extension keeps listening to the signer's
// events (it only reads them: the signer is the offscreen document's).
const seen = new Set();
ext.context.on("console", (m) => {
  const text = m.text();
  if (text.startsWith("[activity] ")) {
    const line = text.slice(11);
    const id = line.split(" ")[0];
    if (seen.has(id)) return;
    seen.add(id);
    if (seen.size > 10_000) seen.clear();
    process.stdout.write(`${line}\n`);
  } else if (text.startsWith("[status] ") || text.startsWith("[signer] ")) {
    process.stderr.write(`${TAG}: ${text}\n`);
  } else if (m.type() === "error") {
    process.stderr.write(`${TAG}: error: ${text}\n`);
  }
});

let popup = null;
const shot = async (name) => {
  if (opt["screenshot-prefix"] && popup && !popup.isClosed()) await screenshot(popup, `${opt["screenshot-prefix"]}${name}`);
};
try {
  popup = await ext.openPopup();
  await restoreVault(popup, opt.vault);
  await unlock(popup, passphrase);
  await setAutolock(popup, 0);
  await connect(popup, { bridgeUrl: opt.bridge, macaroonPath: opt.macaroonpath, passphrase });
  await waitStatus(popup, "registered", Number(opt["register-timeout"]) * 1000);
  process.stderr.write(`${TAG}: registered with the watch-only node; signing\n`);
  await shot("connected");
  if (opt["close-popup-after-connect"]) {
    await popup.close();
    popup = null;
    process.stderr.write(`${TAG}: popup closed; the offscreen document keeps signing\n`);
    // A listener for the activity lines: the relay's events, no signer.
    const listener = await ext.context.newPage();
    await listener.goto(`chrome-extension://${ext.id}/events.html`);
  }
} catch (e) {
  process.stderr.write(`${TAG}: ${e.message.split("\n")[0]}\n`);
  await shot("failed").catch(() => {});
  await stop(1);
}
await new Promise(() => {});
