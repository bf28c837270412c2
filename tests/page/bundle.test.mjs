// Credentials bundles in the tab: a signer bundle made by the CLI on the lnd
// machine is imported in one paste (its macaroon sealed into the vault, its
// bridge URL filled in) and the tab connects with it; an admin-like macaroon
// is shown with its permissions and a warning naming the lncli command that
// bakes the right one; a malformed bundle changes nothing; the watch-only
// bundle the tab downloads unpacks with base64 + tar into the accounts.json
// the CLI makes, with a README for lnd.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import {
  downloadBytes, openPage, readyTab as sharedReadyTab, screenshot, unlock, usePageServer, waitStatus,
} from "./helpers.mjs";
import { BIN, ROOT, demoVault, run, startBridge, startSim, tempDir } from "../stack/index.mjs";

const server = usePageServer();
const MACAROONS = join(ROOT, "tests/fixtures/macaroons");
let demo;

before(async () => {
  demo = await demoVault(await tempDir());
});

/** A tab with the demo vault restored and unlocked, auto-lock off. */
const readyTab = (opts) => sharedReadyTab(server.url, demo, opts);

/** `lnd-web-signer bundle signer … --b64`: the bundle's base64 text. */
async function signerBundle({ cert, macaroon, endpoint }) {
  const r = await run(join(BIN, "lnd-web-signer"), [
    "bundle", "signer", "--tlscertpath", cert, "--macaroonpath", macaroon, ...endpoint, "--b64",
  ]);
  if (r.code !== 0) throw new Error(`bundle signer failed: ${r.stderr}`);
  return { b64: r.stdout, stderr: r.stderr };
}

/** Pastes a bundle into the connection form with the vault passphrase and submits. */
async function pasteBundle(page, b64) {
  await page.click("#tab-connection");
  await page.evaluate(() => { document.getElementById("mac-details").open = true; });
  await page.fill("#bundle-b64", b64);
  await page.fill("#mac-pass", demo.passphrase);
  await page.click("#connect-btn");
}

describe("credentials bundles", () => {
  test("a signer bundle from the CLI is imported in one paste and the tab connects with it", { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    // The simulator accepts exactly the macaroon file it finds at its path:
    // give it a real least-privilege lnd macaroon.
    await copyFile(join(MACAROONS, "signer.macaroon"), join(dir, "sim.macaroon"));
    const sim = await startSim(dir, { accounts: demo.accounts, scenario: "wallet", rounds: 0, extra: ["--ping-interval", "2s"] });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
    const tab = await readyTab();
    try {
      const { page } = tab;
      const { b64, stderr } = await signerBundle({ cert: sim.cert, macaroon: sim.macaroon, endpoint: ["--bridge-url", bridge.url] });
      assert.doesNotMatch(stderr, /warning/i, "a remotesigner:generate macaroon gets no warning");
      assert.equal(await page.inputValue("#bridge-url"), "", "the URL field starts empty");
      await pasteBundle(page, b64);
      await waitStatus(page, "registered");
      assert.equal(await page.inputValue("#bridge-url"), bridge.url, "the bundle's bridge URL filled the field");
      const mac = await page.textContent("#mac-state");
      assert.match(mac, /Stored sealed in the vault/);
      assert.match(mac, /Grants remotesigner:generate\./);
      assert.equal(await page.isVisible("#mac-warning"), false, "no warning for a least-privilege macaroon");
      assert.equal(await page.inputValue("#bundle-b64"), "", "the pasted bundle is cleared");
      await screenshot(page, "70-bundle-imported");
      // Sealed: after a reload and unlock the macaroon is still there.
      await openPage(page, server.url);
      await unlock(page, demo.passphrase);
      await page.click("#tab-connection");
      await page.waitForFunction(() => /Grants remotesigner:generate/.test(document.getElementById("mac-state").textContent));
    } finally {
      await tab.close();
      bridge.proc.kill();
      sim.proc.kill();
    }
  });

  test("an admin-like macaroon is imported with its permissions and a warning with the bake command", { timeout: 120_000 }, async () => {
    const dir = await tempDir();
    const cert = join(dir, "tls.cert");
    // Any PEM certificate lnd could have written: the simulator's.
    const sim = await startSim(dir, { accounts: demo.accounts, scenario: "wallet", rounds: 0 });
    sim.proc.kill();
    await copyFile(sim.cert, cert);
    const { b64, stderr } = await signerBundle({
      cert, macaroon: join(MACAROONS, "admin-like.macaroon"), endpoint: ["--rpchost", "127.0.0.1:10019"],
    });
    assert.match(stderr, /grants more than remotesigner:generate/, "the CLI warns on the lnd machine too");
    const tab = await readyTab();
    try {
      const { page } = tab;
      await pasteBundle(page, b64);
      await page.waitForSelector("#mac-warning:not([hidden])");
      const warning = await page.textContent("#mac-warning");
      assert.match(warning, /not least-privilege/);
      assert.match(warning, /lncli bakemacaroon .*remotesigner:generate/);
      const mac = await page.textContent("#mac-state");
      assert.match(mac, /Grants .*onchain:read/);
      assert.doesNotMatch(mac, /0201036c6e64/i, "never the macaroon's bytes");
      // An rpchost bundle: the macaroon is stored, the tab still needs a bridge URL.
      assert.match(await page.textContent("#connect-note"), /for the native signer \(lnd at 127\.0\.0\.1:10019\)/);
      assert.match(await page.textContent("#connect-error"), /Enter the bridge URL/);
      await screenshot(page, "71-bundle-admin-macaroon-warning");
    } finally {
      await tab.close();
    }
  });

  test("a malformed bundle is refused with a clear error and changes nothing", { timeout: 120_000 }, async () => {
    const tab = await readyTab();
    try {
      const { page } = tab;
      const vaultBefore = await page.evaluate(async () => (await (await import("./store.js")).loadVault())?.blob?.length);
      for (const [input, want] of [
        ["this is not a bundle!", /cannot import the bundle: .*base64/i],
        [Buffer.from("plain text, not gzip").toString("base64"), /cannot import the bundle: .*gzip/i],
      ]) {
        await pasteBundle(page, input);
        await page.waitForSelector("#connect-error:not([hidden])");
        assert.match(await page.textContent("#connect-error"), want);
        assert.match(await page.textContent("#mac-state"), /None stored yet/);
      }
      const vaultAfter = await page.evaluate(async () => (await (await import("./store.js")).loadVault())?.blob?.length);
      assert.equal(vaultAfter, vaultBefore, "the stored vault is unchanged");
    } finally {
      await tab.close();
    }
  });

  test("the watch-only bundle unpacks with base64 and tar into the CLI's accounts.json", { timeout: 120_000 }, async () => {
    const dir = await tempDir();
    const tab = await readyTab();
    try {
      const { page } = tab;
      await page.click("#tab-setup");
      await page.waitForFunction(() => document.getElementById("accounts-birthday").textContent.length > 0);
      // The demo key is an xprv: no birthday exists, and the tab says so.
      assert.match(await page.textContent("#accounts-birthday"), /none|no birthday/i);
      await screenshot(page, "72-watch-only-bundle");
      const b64 = await downloadBytes(page, () => page.click("#download-bundle-b64"));
      assert.equal(b64.name, "credentials-bundle.tar.gz.b64");
      await writeFile(join(dir, b64.name), b64.bytes);
      execFileSync("sh", ["-c", "base64 -d credentials-bundle.tar.gz.b64 | tar xz"], { cwd: dir });
      const accounts = await readFile(join(dir, "credentials-bundle/accounts.json"), "utf8");
      assert.deepEqual(JSON.parse(accounts), JSON.parse(await readFile(demo.accounts, "utf8")));
      const readme = await readFile(join(dir, "credentials-bundle/README.txt"), "utf8");
      assert.match(readme, /lncli createwatchonly/);
      const gz = await downloadBytes(page, () => page.click("#download-bundle"));
      assert.equal(gz.name, "credentials-bundle.tar.gz");
      assert.equal(gz.bytes[0], 0x1f, "gzip");
      assert.equal(gz.bytes[1], 0x8b, "gzip");
    } finally {
      await tab.close();
    }
  });
});
