// Page tests with a (simulated) node: the real tab connects through
// signer-bridge --grpc-web to watchonly-sim and signs every scenario; the
// bridge is killed and restarted; a silent lnd is dropped by the idle
// watchdog; a wrong macaroon, a dead bridge and a missing lnd each get
// their own clear message.

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import {
  connect, downloadBytes, readyTab as sharedReadyTab, screenshot, unlock, usePageServer, waitStatus,
} from "./helpers.mjs";
import { assertNoSecrets } from "./secrets.mjs";
import { demoVault, DEMO_TPRV, simSummary, startBridge, startSim, tempDir } from "../stack/index.mjs";

const SCENARIOS = ["wallet", "channel", "taproot-channel", "gossip", "mixed", "burst", "errors"];

const server = usePageServer();
let demo;

before(async () => {
  demo = await demoVault(await tempDir());
});

/** A tab with the demo vault restored and unlocked, auto-lock off. */
const readyTab = (opts) => sharedReadyTab(server.url, demo, opts);

async function statusText(page) {
  return {
    title: await page.textContent("#status-title"),
    detail: await page.textContent("#status-detail"),
    error: (await page.isVisible("#status-error")) ? await page.textContent("#status-error") : "",
  };
}

/** Waits until the status panel's error line matches `re`. */
async function waitStatusError(page, re, timeout = 30_000) {
  await page.waitForFunction(
    ([source, flags]) => {
      const e = document.getElementById("status-error");
      return !e.hidden && new RegExp(source, flags).test(e.textContent);
    },
    [re.source, re.flags],
    { timeout },
  ).catch(async (err) => {
    throw new Error(`${err.message}\nstatus error line: ${await page.textContent("#status-error")}`);
  });
}

describe("signing through signer-bridge", () => {
  test("every watchonly-sim scenario completes with the page as the signer", { timeout: 600_000 }, async () => {
    const dir = await tempDir();
    const procs = [];
    let tab = null;
    try {
      tab = await readyTab();
      const { page } = tab;
      let sim = await startSim(dir, { accounts: demo.accounts, scenario: SCENARIOS[0], extra: ["--exit-when-done", "--ping-interval", "2s"] });
      procs.push(sim.proc);
      const simListen = sim.addr;
      const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
      procs.push(bridge.proc);
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(page, "registered");
      // The bridge's WebSocket channel: one message per answer, no fetch.
      assert.equal(await page.getAttribute("#status-card", "data-transport"), "websocket");
      let sent = 0;
      for (let i = 0; i < SCENARIOS.length; i++) {
        if (i > 0) {
          // Same address, certificate and macaroon: the bridge and the page reconnect on their own.
          sim = await startSim(dir, { accounts: demo.accounts, scenario: SCENARIOS[i], listen: simListen, extra: ["--exit-when-done", "--ping-interval", "2s"] });
          procs.push(sim.proc);
        }
        const summary = await simSummary(sim);
        const exit = await sim.proc.exited;
        assert.equal(summary.failed, 0, `${SCENARIOS[i]}: ${summary.line}\n${sim.proc.output.split("\n").filter((l) => l.startsWith("FAIL")).join("\n")}`);
        assert.ok(summary.passed > 0, `${SCENARIOS[i]}: nothing checked`);
        assert.equal(exit.code, 0, `${SCENARIOS[i]}: watchonly-sim exit code`);
        const stats = sim.proc.output.match(/(\d+) requests sent/);
        sent += Number(stats[1]);
      }

      // The connected shot while connected: a simulator that stays up and
      // sends nothing (no workload, no pings), so the counts stay those of
      // the scenarios. The last one has exited; wait until the page has
      // seen that, then until it registers with the new one.
      await page.waitForSelector("#status-card:not([data-state='registered'])", { timeout: 30_000 });
      sim = await startSim(dir, { accounts: demo.accounts, scenario: "idle", listen: simListen, extra: ["--ping-interval", "0"] });
      procs.push(sim.proc);
      await waitStatus(page, "registered", 90_000);
      await page.click("#tab-connection");
      assert.match(await page.textContent("#status-title"), /^Connected/);
      assert.equal(await page.isVisible("#status-error"), false, "no error line while connected");
      await screenshot(page, "20-connected");

      // The activity log saw every request the simulator sent.
      await page.click("#tab-activity");
      const total = Number(await page.textContent("#c-total")) + Number(await page.textContent("#c-pings"));
      assert.equal(total, sent, "requests in the activity log vs requests sent by the simulator");
      assert.ok(Number(await page.textContent("#c-psbt")) > 10);
      assert.ok(Number(await page.textContent("#c-errors")) > 0, "the errors scenario shows failed requests");
      const firstPsbt = page.locator("#activity-log li:not(.err)", { hasText: "Sign PSBT" }).first();
      await firstPsbt.locator("details summary").click();
      await screenshot(page, "21-activity");

      const { name, bytes } = await downloadBytes(page, () => page.click("#export-activity"));
      assert.match(name, /^signer-activity-.*\.json$/);
      const doc = JSON.parse(bytes.toString("utf8"));
      assert.equal(doc.network, "regtest");
      // The counters cover every request; the entries are the latest 1000.
      assert.equal(doc.counters.requests + doc.counters.pings, sent);
      assert.equal(doc.entries.length, Math.min(sent, 1000));
      assert.equal(doc.entriesDropped, Math.max(0, sent - 1000));
      const psbts = doc.entries.filter((e) => e.kind === "sign_psbt" && !e.error);
      assert.ok(psbts.length > 10);
      for (const e of psbts) {
        assert.ok(e.psbt && !e.psbt.error, `PSBT #${e.id} described`);
        assert.ok(e.psbt.outputs.length > 0);
        for (const o of e.psbt.outputs) assert.equal(typeof o.amountSat, "number");
        assert.ok(Array.isArray(e.signedInputs), `PSBT #${e.id} lists its signed inputs`);
        for (const i of e.signedInputs) assert.ok(i < e.psbt.inputs.length);
        assert.equal(typeof e.latencyMs, "number");
      }
      assert.ok(psbts.some((e) => e.psbt.outputs.some((o) => /^bcrt1/.test(o.address ?? ""))), "regtest addresses shown");
      assert.ok(psbts.some((e) => e.signedInputs.length > 0));
      assert.ok(doc.entries.some((e) => e.kind === "shared_key" && e.keys.some((k) => k.family === 6)), "ECDH with the node key 6/x");
      assert.ok(psbts.some((e) => e.keys.length > 0), "lnd key family/index of PSBT inputs");
      assert.ok(doc.entries.some((e) => e.kind === "sign_message"), "gossip signatures");
      assert.ok(doc.entries.some((e) => e.kind.startsWith("musig2_")), "MuSig2 requests");
      assert.ok(doc.entries.some((e) => e.kind === "ping"), "health pings");
      assert.ok(Number(await page.textContent("#c-pings")) > 0);
      assert.equal(await page.locator("#activity-log li.ping").count(), 0, "pings hidden by default");
      await page.check("#show-pings");
      const shownPings = doc.entries.slice(-300).filter((e) => e.kind === "ping").length;
      assert.equal(await page.locator("#activity-log li.ping").count(), shownPings);

      // Still nothing secret anywhere, after hundreds of requests.
      await assertNoSecrets(page, tab.logs, { secrets: [DEMO_TPRV, demo.passphrase] });
      assert.deepEqual(tab.errors, [], `page errors: ${tab.errors.join(" | ")}`);
    } finally {
      await tab?.close();
      for (const p of procs.reverse()) await p.stop();
    }
  });

  test("a bridge without the WebSocket channel: grpc-web, and the activity log still describes every request", { timeout: 240_000 }, async () => {
    const dir = await tempDir();
    const procs = [];
    let tab = null;
    try {
      tab = await readyTab();
      const { page } = tab;
      const sim = await startSim(dir, { accounts: demo.accounts, scenario: "mixed", extra: ["--exit-when-done", "--ping-interval", "2s"] });
      procs.push(sim.proc);
      const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin, extra: ["--no-websocket"] });
      procs.push(bridge.proc);
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(page, "registered");
      assert.equal(await page.getAttribute("#status-card", "data-transport"), "grpc-web");
      assert.match(await page.textContent("#status-detail"), /grpc-web calls/);
      const summary = await simSummary(sim);
      assert.equal(summary.failed, 0, summary.line);
      assert.ok(summary.passed > 0, "nothing checked");
      await page.click("#tab-activity");
      const described = page.locator("#activity-log li:not(.err)", { hasText: "Sign PSBT" }).first();
      await described.waitFor({ timeout: 30_000 });
      const { bytes } = await downloadBytes(page, () => page.click("#export-activity"));
      const doc = JSON.parse(bytes.toString("utf8"));
      const psbts = doc.entries.filter((e) => e.kind === "sign_psbt" && !e.error);
      assert.ok(psbts.length > 0, "PSBTs in the log");
      for (const e of psbts) assert.ok(e.psbt && !e.psbt.error, `PSBT #${e.id} described over grpc-web`);
      assert.deepEqual(tab.errors, [], `page errors: ${tab.errors.join(" | ")}`);
    } finally {
      await tab?.close();
      for (const p of procs.reverse()) await p.stop();
    }
  });

  test("bridge killed and restarted: reconnecting, then registered again", { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, { scenario: "idle" });
    let bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
    let tab = null;
    try {
      tab = await readyTab();
      const { page } = tab;
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(page, "registered");
      assert.equal(await page.textContent("#st-attempt"), "1");
      await bridge.proc.stop();
      await waitStatus(page, "reconnecting", 30_000);
      const s = await statusText(page);
      assert.match(s.title, /^Reconnecting in \d+ s$/);
      assert.match(s.error, /Bridge unreachable|Bridge shutting down|lnd not ready/);
      await screenshot(page, "22-reconnecting");
      bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin, listen: bridge.listen });
      await waitStatus(page, "registered", 90_000);
      assert.ok(Number(await page.textContent("#st-attempt")) >= 2);
      // Locking disconnects; unlocking resumes the connection.
      await page.click("#lock-btn");
      await page.waitForSelector("#screen-unlock:not([hidden])");
      await unlock(page, demo.passphrase);
      await waitStatus(page, "registered", 30_000);
      await page.click("#disconnect-btn");
      await waitStatus(page, "disconnected");
      await page.click("#lock-btn");
      await unlock(page, demo.passphrase);
      assert.equal(await page.getAttribute("#status-card", "data-state"), "idle", "no resume after a manual disconnect");
    } finally {
      await tab?.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });

  test("lnd goes silent: the idle watchdog drops the link, says why and registers again", { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    // Handshake, then no message at all (no workload, no health pings);
    // the connection itself stays up.
    const sim = await startSim(dir, { scenario: "idle", extra: ["--ping-interval", "0"] });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
    let tab = null;
    try {
      tab = await readyTab();
      const { page } = tab;
      // Settings → Connection: lnd pings every 5 s, reconnect after 2 silent intervals.
      await page.click("#tab-settings");
      assert.equal(await page.inputValue("#health-interval"), "60");
      assert.equal(await page.inputValue("#idle-multiple"), "3");
      await page.selectOption("#health-interval", "5");
      await page.selectOption("#idle-multiple", "2");
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(page, "registered");
      const registered = Date.now();
      await waitStatusError(page, /^lnd went silent: no message from lnd for 1[01] s — reconnecting$/, 40_000);
      const waited = Date.now() - registered;
      assert.ok(waited >= 9_000, `dropped after ${waited} ms (limit 10 s)`);
      const s = await statusText(page);
      assert.match(s.title, /^Reconnecting in \d+ s$/);
      assert.match(s.detail, /presumed dead/);
      await screenshot(page, "26-lnd-silent");
      await waitStatus(page, "registered", 30_000);
      assert.ok(Number(await page.textContent("#st-attempt")) >= 2);
      await page.click("#disconnect-btn");
      await waitStatus(page, "disconnected");
      // The settings are kept across a reload.
      await page.reload();
      await page.waitForSelector("html[data-ready='true']");
      assert.equal(await page.inputValue("#health-interval"), "5");
      assert.equal(await page.inputValue("#idle-multiple"), "2");
    } finally {
      await tab?.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });

  test("wrong macaroon, unreachable bridge and lnd not running each get a clear message", { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, { scenario: "idle" });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
    const wrongMac = join(dir, "wrong.macaroon");
    await writeFile(wrongMac, randomBytes(40));
    let tab = null;
    try {
      tab = await readyTab();
      const { page } = tab;
      // A wrong vault passphrase does not store the macaroon.
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: wrongMac, passphrase: "not the passphrase" });
      await page.waitForSelector("#connect-error:not([hidden])", { timeout: 30_000 });
      assert.match(await page.textContent("#connect-error"), /Wrong vault passphrase/);

      await connect(page, { bridgeUrl: bridge.url, macaroonPath: wrongMac, passphrase: demo.passphrase });
      await waitStatusError(page, /^Macaroon rejected: /);
      let s = await statusText(page);
      assert.match(s.error, /^Macaroon rejected: .*macaroon/i);
      assert.match(s.detail, /did not accept the macaroon/);
      await screenshot(page, "23-macaroon-rejected");
      await page.click("#disconnect-btn");

      // Nothing listening at the bridge URL.
      await connect(page, { bridgeUrl: "http://127.0.0.1:9", macaroonPath: null });
      await waitStatusError(page, /^Bridge unreachable: /);
      s = await statusText(page);
      assert.match(s.error, /^Bridge unreachable: /);
      await screenshot(page, "24-bridge-unreachable");
      await page.click("#disconnect-btn");

      // Bridge up, lnd (the simulator) gone.
      await sim.proc.stop();
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: null });
      await waitStatusError(page, /^lnd not ready: /);
      s = await statusText(page);
      assert.match(s.error, /^lnd not ready: /);
      await screenshot(page, "25-lnd-not-ready");
      await page.click("#disconnect-btn");
    } finally {
      await tab?.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });
});

describe("connected at 360 px", () => {
  test("status and activity stay readable on a narrow screen", { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, { accounts: demo.accounts, scenario: "wallet" });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
    let tab = null;
    try {
      tab = await readyTab({ viewport: { width: 360, height: 740 } });
      const { page } = tab;
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      const summary = await simSummary(sim);
      assert.equal(summary.failed, 0);
      // The simulator keeps serving after its workload: still connected.
      await waitStatus(page, "registered");
      assert.equal(await page.isVisible("#status-error"), false, "no error line while connected");
      await screenshot(page, "m05-connected");
      await page.click("#tab-activity");
      await page.locator("#activity-log li", { hasText: "Sign PSBT" }).first().locator("details summary").click();
      const w = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(w <= 360, `activity is ${w}px wide`);
      await screenshot(page, "m06-activity");
    } finally {
      await tab?.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });
});
