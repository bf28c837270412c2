// Drives the real signer tab in headless Chromium: restore a vault file,
// unlock, connect to signer-bridge, then keep signing until killed.
// Prints one line per handled request on stdout; status changes on stderr.
// See scripts/headless-tab.sh for the options.

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import {
  connect, launch, openPage, restoreVault, screenshot, setAutolock, unlock, waitStatus,
} from "./helpers.mjs";

const { values: opt } = parseArgs({
  options: {
    url: { type: "string" },
    bridge: { type: "string" },
    vault: { type: "string" },
    "passphrase-file": { type: "string" },
    macaroonpath: { type: "string" },
    "screenshot-prefix": { type: "string" },
    "register-timeout": { type: "string", default: "120" },
  },
  strict: true,
});

for (const k of ["url", "bridge", "vault", "passphrase-file"]) {
  if (!opt[k]) {
    process.stderr.write(`headless-tab: --${k} is required\n`);
    process.exit(2);
  }
}

const passphrase = (await readFile(opt["passphrase-file"], "utf8")).split(/\r?\n/)[0];
if (!passphrase) {
  process.stderr.write(`headless-tab: ${opt["passphrase-file"]} has an empty first line\n`);
  process.exit(2);
}

const tab = await launch();
let stopping = false;
async function stop(code) {
  if (stopping) return;
  stopping = true;
  await tab.close();
  process.exit(code);
}
process.on("SIGTERM", () => stop(0));
process.on("SIGINT", () => stop(0));

const shot = async (name) => {
  if (opt["screenshot-prefix"]) await screenshot(tab.page, `${opt["screenshot-prefix"]}${name}`);
};

tab.page.on("console", (m) => {
  const text = m.text();
  if (text.startsWith("[activity] ")) process.stdout.write(`${text.slice(11)}\n`);
  else if (text.startsWith("[status] ") || text.startsWith("[signer] ")) process.stderr.write(`headless-tab: ${text}\n`);
  else if (m.type() === "error") process.stderr.write(`headless-tab: page error: ${text}\n`);
});
tab.page.on("pageerror", (e) => process.stderr.write(`headless-tab: page exception: ${e}\n`));

try {
  await openPage(tab.page, opt.url);
  await restoreVault(tab.page, opt.vault);
  await unlock(tab.page, passphrase);
  await setAutolock(tab.page, 0);
  await connect(tab.page, { bridgeUrl: opt.bridge, macaroonPath: opt.macaroonpath, passphrase });
  await waitStatus(tab.page, "registered", Number(opt["register-timeout"]) * 1000);
  process.stderr.write("headless-tab: registered with the watch-only node; signing\n");
  await shot("connected");
} catch (e) {
  process.stderr.write(`headless-tab: ${e.message.split("\n")[0]}\n`);
  await shot("failed").catch(() => {});
  await stop(1);
}
// Keep running: the page signs until this process is killed.
await new Promise(() => {});
