// The browser extension (dist/extension, scripts/build-extension.sh) in
// headless Chromium with --load-extension: the popup restores, unlocks and
// connects to watchonly-sim through signer-bridge --grpc-web; signing goes
// on with the popup closed (the offscreen document's worker); a reopened
// popup shows the live status and activity; lock ends the stream and closes
// the offscreen document; auto-lock; the vault survives a browser restart;
// no secret in the extension's storage, the popup's DOM or a console; and a
// tab of another origin beside it shows the cross-origin standby state.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import {
  connect, downloadBytes, readyTab, restoreVault, screenshot, sealPolicy, setAutolock, unlock, usePageServer, visibleScreen, waitScreen,
  waitStatus,
} from "./helpers.mjs";
import { extensionId, launchExtension } from "./extension.mjs";
import { assertNoSecrets } from "./secrets.mjs";
import {
  BIN, demoVault, DEMO_TPRV, ROOT, run, simSummary, startBridge, startProcess, startSim, tempDir,
} from "../stack/index.mjs";

const server = usePageServer();
let demo;
let origin;

before(async () => {
  demo = await demoVault(await tempDir());
  origin = `chrome-extension://${await extensionId()}`;
});

/** The popup with the demo vault restored and unlocked, auto-lock off. */
async function readyPopup(ext, { autolock = 0 } = {}) {
  const popup = await ext.openPopup();
  await restoreVault(popup, demo.vault);
  await unlock(popup, demo.passphrase);
  await setAutolock(popup, autolock);
  return popup;
}

describe("the browser extension", () => {
  test("popup: connect, close it, the workload passes; reopen shows status and activity; lock ends the stream", { timeout: 400_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, {
      accounts: demo.accounts, scenario: "mixed", rounds: 3,
      // No --exit-when-done: it prints its summary and keeps serving, to see the lock.
      extra: ["--round-interval", "2s", "--ping-interval", "30s"],
    });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin });
    const ext = await launchExtension();
    try {
      assert.equal(ext.origin, origin);
      let popup = await ext.openPopup();
      assert.ok((await popup.evaluate(() => document.documentElement.clientWidth)) <= 400, "popup at most 400 px wide");
      await screenshot(popup, "50-extension-welcome");
      await restoreVault(popup, demo.vault);
      await screenshot(popup, "51-extension-locked");
      await unlock(popup, demo.passphrase);
      await setAutolock(popup, 0);
      await connect(popup, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(popup, "registered");
      await screenshot(popup, "52-extension-signing");
      assert.equal(await ext.hasOffscreen(), true, "the offscreen document holds the signer");
      await popup.close();
      // Signing goes on with the popup closed.
      const summary = await simSummary(sim);
      assert.equal(summary.failed, 0, `${summary.line}\n${sim.proc.output.split("\n").filter((l) => l.startsWith("FAIL")).join("\n")}`);
      assert.ok(summary.passed > 0);
      // Reopened: the live status and what was signed meanwhile.
      popup = await ext.openPopup();
      await waitScreen(popup, "dashboard");
      await popup.click("#tab-connection");
      assert.equal(await popup.getAttribute("#status-card", "data-state"), "registered");
      const count = Number(await popup.textContent("#st-requests"));
      assert.ok(count >= summary.passed / 2, `activity after reopening: ${count} requests (sim passed ${summary.passed})`);
      await popup.click("#tab-activity");
      assert.ok(await popup.locator("#activity-log > *").count() > 0, "activity rows");
      await screenshot(popup, "53-extension-reopened-activity");
      await assertNoSecrets(popup, ext.logs, { secrets: [demo.passphrase, DEMO_TPRV] });
      // Lock: the stream ends, the offscreen document (and the keys) are gone.
      const ends = () => (sim.proc.output.match(/signer stream \d+ ended/g) || []).length;
      const ended = ends();
      await popup.click("#lock-btn");
      await waitScreen(popup, "unlock");
      await screenshot(popup, "56-extension-locked-again");
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && (await ext.hasOffscreen())) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await ext.hasOffscreen(), false, "the offscreen document is closed after lock");
      await sim.proc.waitFor(/signer stream \d+ ended/, 10_000).catch(() => {});
      assert.ok(ends() > ended, `the simulator saw the signer leave:\n${sim.proc.output.split("\n").slice(-5).join("\n")}`);
    } finally {
      await ext.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });

  test("approvals in the popup: a send over the sealed limit asks; approved it signs, declined lnd gets the tag", { timeout: 300_000 }, async () => {
    const dir = await tempDir();
    const fails = (sim) => sim.proc.output.split("\n").filter((l) => l.startsWith("FAIL"));
    let sim = await startSim(dir, { accounts: demo.accounts, scenario: "sendcoins", extra: ["--exit-when-done", "--ping-interval", "1s"] });
    const procs = [sim.proc];
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin });
    procs.push(bridge.proc);
    const ext = await launchExtension();
    try {
      const popup = await readyPopup(ext);
      await sealPolicy(popup, JSON.stringify({ onchain: { max_external_per_tx: 100000, over_limit: "ask" } }), demo.passphrase);
      await connect(popup, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await popup.waitForSelector("#approval-dialog[open]", { timeout: 60_000 });
      assert.match(await popup.textContent("#approval-dialog"), /250,000 sat/);
      await screenshot(popup, "59-extension-approval");
      await popup.click("#approval-approve");
      let summary = await simSummary(sim);
      assert.equal(summary.failed, 0, `${summary.line}\n${fails(sim).join("\n")}`);
      sim = await startSim(dir, { accounts: demo.accounts, scenario: "sendcoins", listen: sim.addr, extra: ["--exit-when-done", "--ping-interval", "1s"] });
      procs.push(sim.proc);
      // One card per input's request (the transaction was never allowed).
      let last = "";
      for (let i = 0; i < 2; i++) {
        await popup.waitForSelector(`#approval-dialog[open]:not([data-request="${last}"])`, { timeout: 90_000 });
        last = await popup.getAttribute("#approval-dialog", "data-request");
        await popup.click("#approval-deny");
      }
      summary = await simSummary(sim);
      assert.equal(summary.failed, 2, summary.line);
      for (const l of fails(sim)) assert.match(l, /policy-onchain-external-per-tx: .*declined/);
      // The audit log in the popup: the approved and the declined decisions.
      await popup.click("#tab-policy");
      await popup.click("#audit-refresh");
      await popup.waitForFunction(() => /entries, chain intact/.test(document.getElementById("audit-state").textContent));
      const rows = await popup.locator("#audit-list .audit-row").allTextContents();
      assert.ok(rows.some((r) => /declined · refused/.test(r)) && rows.some((r) => /approved · signed/.test(r)), rows.join("\n"));
      await popup.locator("#audit-card").scrollIntoViewIfNeeded();
      await screenshot(popup, "59-extension-approval-declined");
    } finally {
      await ext.close();
      for (const p of procs) await p.stop();
    }
  });

  test("auto-lock after the configured idle time; the vault survives a browser restart", { timeout: 300_000 }, async () => {
    const profileDir = await mkdtemp(join(tmpdir(), "lws-ext-profile-"));
    try {
      let ext = await launchExtension({ profileDir });
      try {
        const popup = await readyPopup(ext, { autolock: 1 });
        await popup.close();
        assert.equal(await ext.hasOffscreen(), true);
        // One minute without input in the popup: the offscreen document locks and closes.
        const deadline = Date.now() + 100_000;
        while (Date.now() < deadline && (await ext.hasOffscreen())) await new Promise((r) => setTimeout(r, 1000));
        assert.equal(await ext.hasOffscreen(), false, "auto-locked within 100 s");
        const again = await ext.openPopup();
        assert.equal(await visibleScreen(again), "unlock");
      } finally {
        await ext.close();
      }
      // The browser restarts with the same profile: the sealed vault is still there.
      ext = await launchExtension({ profileDir });
      try {
        const popup = await ext.openPopup();
        assert.equal(await visibleScreen(popup), "unlock");
        await unlock(popup, demo.passphrase);
        await screenshot(popup, "54-extension-after-restart");
        assert.equal(await ext.hasOffscreen(), true);
        await assertNoSecrets(popup, ext.logs, { secrets: [demo.passphrase, DEMO_TPRV] });
      } finally {
        await ext.close();
      }
    } finally {
      await rm(profileDir, { recursive: true, force: true });
    }
  });

  test("tab and extension on one node: one signs, the other shows the cross-origin standby", { timeout: 300_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, { scenario: "idle" });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin, extra: ["--allow-origin", server.origin] });
    const ext = await launchExtension();
    let tab = null;
    try {
      const popup = await readyPopup(ext);
      await connect(popup, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(popup, "registered");
      tab = await readyTab(server.url, demo);
      await connect(tab.page, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(tab.page, "standby", 30_000);
      assert.equal(await tab.page.textContent("#status-title"), "Standby — another signer is connected to this node");
      assert.equal(await popup.getAttribute("#status-card", "data-state"), "registered");
      // The other way round: the extension lets go, the tab signs.
      await popup.click("#disconnect-btn");
      await waitStatus(tab.page, "registered", 90_000);
      await connect(popup, { bridgeUrl: bridge.url });
      await waitStatus(popup, "standby", 30_000);
      await screenshot(popup, "55-extension-standby");
    } finally {
      await tab?.close();
      await ext.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });

  test("scripts/headless-extension.sh: restore, unlock, connect, close the popup, sign until SIGTERM", { timeout: 300_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, { accounts: demo.accounts, scenario: "mixed", rounds: 2, extra: ["--round-interval", "3s", "--exit-when-done"] });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin });
    const driver = startProcess("bash", [
      "scripts/headless-extension.sh", "--bridge", bridge.url, "--vault", demo.vault,
      "--passphrase-file", demo.passFile, "--macaroonpath", sim.macaroon, "--close-popup-after-connect",
    ], { name: "headless-extension" });
    try {
      await driver.waitFor(/popup closed; the offscreen document keeps signing/, 120_000);
      const summary = await simSummary(sim);
      assert.equal(summary.failed, 0, summary.line);
      const exit = await driver.stop();
      assert.equal(exit.code, 0, `exit on SIGTERM:\n${driver.output.slice(-2000)}`);
      const lines = driver.output.split("\n").filter((l) => /^#\d+ [a-z_]+ .*\d+(\.\d+)?ms/.test(l));
      assert.ok(lines.length >= summary.passed / 2, `${lines.length} request lines for ${summary.passed} checks`);
      assert.ok(lines.some((l) => / sign_psbt /.test(l)), "SignPsbt lines");
    } finally {
      await driver.stop();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });

  test("credentials bundles in the popup: a signer bundle in one paste, the admin-like warning, the watch-only bundle", { timeout: 240_000 }, async () => {
    const dir = await tempDir();
    const macaroons = join(ROOT, "tests/fixtures/macaroons");
    await copyFile(join(macaroons, "signer.macaroon"), join(dir, "sim.macaroon"));
    const sim = await startSim(dir, { accounts: demo.accounts, scenario: "wallet", rounds: 0, extra: ["--ping-interval", "2s"] });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin });
    const bundle = async (macaroon, endpoint) => {
      const r = await run(join(BIN, "lnd-web-signer"), ["bundle", "signer", "--tlscertpath", sim.cert, "--macaroonpath", macaroon, ...endpoint, "--b64"]);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const paste = async (popup, b64) => {
      await popup.click("#tab-connection");
      await popup.evaluate(() => { document.getElementById("mac-details").open = true; });
      await popup.fill("#bundle-b64", b64);
      await popup.fill("#mac-pass", demo.passphrase);
      await popup.click("#connect-btn");
    };
    const ext = await launchExtension();
    try {
      const popup = await readyPopup(ext);
      // An admin-like macaroon: its permissions and the warning with the bake command.
      await paste(popup, await bundle(join(macaroons, "admin-like.macaroon"), ["--rpchost", "127.0.0.1:10019"]));
      await popup.waitForSelector("#mac-warning:not([hidden])");
      assert.match(await popup.textContent("#mac-warning"), /lncli bakemacaroon .*remotesigner:generate/);
      await screenshot(popup, "57-extension-bundle-warning");
      // The right one, with the bridge URL: imported and connected in one paste.
      await popup.fill("#bridge-url", "");
      await paste(popup, await bundle(sim.macaroon, ["--bridge-url", bridge.url]));
      await waitStatus(popup, "registered");
      assert.equal(await popup.inputValue("#bridge-url"), bridge.url);
      assert.match(await popup.textContent("#mac-state"), /Grants remotesigner:generate\./);
      assert.equal(await popup.isVisible("#mac-warning"), false);
      // The watch-only bundle from the popup unpacks into the CLI's accounts.json.
      await popup.click("#tab-setup");
      const b64 = await downloadBytes(popup, () => popup.click("#download-bundle-b64"));
      assert.equal(b64.name, "credentials-bundle.tar.gz.b64");
      await writeFile(join(dir, b64.name), b64.bytes);
      execFileSync("sh", ["-c", "base64 -d credentials-bundle.tar.gz.b64 | tar xz"], { cwd: dir });
      const accounts = await readFile(join(dir, "credentials-bundle/accounts.json"), "utf8");
      assert.deepEqual(JSON.parse(accounts), JSON.parse(await readFile(demo.accounts, "utf8")));
      await screenshot(popup, "58-extension-watch-only-bundle");
      await assertNoSecrets(popup, ext.logs, { secrets: [demo.passphrase, DEMO_TPRV, (await readFile(sim.macaroon)).toString("hex")] });
    } finally {
      await ext.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });
});
