// One signer at a time: two tabs of one origin elect a leader with the
// Web Locks API (web/lib/leader.js), the other is a standby that takes over
// within 2 s when the leader closes, while watchonly-sim's workload passes
// throughout (no missed 5 s deadline); a tab of another origin finds lnd
// taken ("only one remote signer") and shows the cross-origin standby
// state, retrying with the normal backoff.

import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
  connect, launch, openPage, restoreVault, screenshot, setAutolock, unlock, usePageServer, waitStatus,
} from "./helpers.mjs";
import { demoVault, simSummary, startBridge, startSim, tempDir } from "../stack/index.mjs";

const server = usePageServer();
const other = usePageServer();
let demo;

before(async () => {
  demo = await demoVault(await tempDir());
});

/** A page of `context` on `url` with the stored (or restored) vault unlocked. */
async function unlockedPage(context, url, { restore }) {
  const page = await context.newPage();
  await openPage(page, url);
  if (restore) await restoreVault(page, demo.vault);
  await unlock(page, demo.passphrase);
  await setAutolock(page, 0);
  return page;
}

const requests = (page) => page.textContent("#st-requests").then(Number);

describe("one signer at a time", () => {
  test("two tabs: the second is standby and takes over within 2 s when the first closes; the workload passes", { timeout: 300_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, {
      accounts: demo.accounts,
      // Every kind of request, MuSig2 included: its taproot-channel step
      // checks that a nonce signed with once is refused for another digest,
      // also when the standby takes over between the two halves (the
      // origin's used-nonce record in IndexedDB, web/nonce-store.js).
      scenario: "mixed",
      rounds: 40,
      extra: ["--round-interval", "300ms", "--step-retries", "3", "--ping-interval", "2s", "--exit-when-done"],
    });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
    const browser = await launch();
    try {
      const a = await unlockedPage(browser.context, server.url, { restore: true });
      await connect(a, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(a, "registered");
      // The second tab of the same origin: the vault (with its macaroon) is
      // already stored; it connects and waits.
      const b = await unlockedPage(browser.context, server.url, { restore: false });
      await connect(b, { bridgeUrl: bridge.url });
      await waitStatus(b, "standby", 10_000);
      assert.equal(await b.textContent("#status-title"), "Standby — another tab is signing");
      assert.match(await b.textContent("#status-detail"), /stays unlocked/);
      await screenshot(b, "40-standby-tab");
      // The leader keeps signing meanwhile.
      const before = await requests(a);
      await a.waitForFunction((n) => Number(document.getElementById("st-requests").textContent) > n, before, { timeout: 30_000 });
      assert.equal(await a.getAttribute("#status-card", "data-state"), "registered");
      const t0 = Date.now();
      await a.close();
      await waitStatus(b, "registered", 5_000);
      const takeover = Date.now() - t0;
      assert.ok(takeover <= 2_000, `the standby took over in ${takeover} ms (at most 2000)`);
      await b.waitForFunction(() => Number(document.getElementById("st-requests").textContent) > 0, null, { timeout: 30_000 });
      await screenshot(b, "41-standby-took-over");
      // The leader's MuSig2 signatures left only after their nonces were
      // stored; the record is public hashes, 54 bytes an entry.
      const stored = await b.evaluate(() => new Promise((resolve, reject) => {
        const open = indexedDB.open("lnd-web-signer-musig2");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const all = open.result.transaction("used-nonces").objectStore("used-nonces").getAll();
          all.onerror = () => reject(all.error);
          all.onsuccess = () => resolve(all.result.map((r) => r.entries.length));
        };
      }));
      assert.ok(stored.length > 0 && stored.every((n) => n > 0 && n % 54 === 0), `stored rows: ${stored}`);
      const summary = await simSummary(sim);
      const exit = await sim.proc.exited;
      assert.equal(summary.failed, 0, `${summary.line}\n${sim.proc.output.split("\n").filter((l) => l.startsWith("FAIL")).join("\n")}`);
      assert.equal(exit.code, 0, "watchonly-sim exit code (3: a missed deadline)");
      console.log(`takeover in ${takeover} ms; ${summary.line}`);
    } finally {
      await browser.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });

  test("a locked standby does not take over; locking the leader hands over", { timeout: 240_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, { scenario: "idle" });
    const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
    const browser = await launch();
    try {
      const a = await unlockedPage(browser.context, server.url, { restore: true });
      await connect(a, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(a, "registered");
      const b = await unlockedPage(browser.context, server.url, { restore: false });
      await connect(b, { bridgeUrl: bridge.url });
      await waitStatus(b, "standby", 10_000);
      // A standby that locks leaves the queue (it has no keys to sign with):
      // locking the leader then hands lnd to nobody.
      await b.click("#lock-btn");
      await b.waitForSelector("#screen-unlock:not([hidden])");
      await a.click("#lock-btn");
      await a.waitForSelector("#screen-unlock:not([hidden])");
      await new Promise((r) => setTimeout(r, 1_500));
      assert.notEqual(await b.getAttribute("#status-card", "data-state"), "registered");
      // Unlocked again, B resumes and leads at once; A, unlocked, is the standby.
      await unlock(b, demo.passphrase);
      await waitStatus(b, "registered", 10_000);
      await unlock(a, demo.passphrase);
      await waitStatus(a, "standby", 10_000);
      const t0 = Date.now();
      await b.click("#lock-btn");
      await waitStatus(a, "registered", 5_000);
      const takeover = Date.now() - t0;
      assert.ok(takeover <= 2_000, `took over in ${takeover} ms after the leader locked`);
    } finally {
      await browser.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });

  test("a tab of another origin finds lnd taken: the cross-origin standby state, then it signs when the other leaves", { timeout: 240_000 }, async () => {
    const dir = await tempDir();
    const sim = await startSim(dir, { scenario: "idle" });
    const bridge = await startBridge({
      lnd: sim.addr, cert: sim.cert, origin: server.origin, extra: ["--allow-origin", other.origin],
    });
    const first = await launch();
    const second = await launch();
    try {
      const a = await unlockedPage(first.context, server.url, { restore: true });
      await connect(a, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(a, "registered");
      const b = await unlockedPage(second.context, other.url, { restore: true });
      await connect(b, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await waitStatus(b, "standby", 30_000);
      assert.equal(await b.textContent("#status-title"), "Standby — another signer is connected to this node");
      assert.match(await b.textContent("#status-detail"), /retries/);
      assert.equal(await b.isVisible("#status-error"), false, "a standby is not an error");
      await screenshot(b, "42-standby-other-signer");
      // Normal backoff, no storm: few attempts in 10 s.
      const attempts0 = Number(await b.textContent("#st-attempt"));
      await new Promise((r) => setTimeout(r, 10_000));
      const attempts1 = Number(await b.textContent("#st-attempt"));
      assert.ok(attempts1 - attempts0 <= 4, `attempts ${attempts0} → ${attempts1} in 10 s`);
      assert.equal(await a.getAttribute("#status-card", "data-state"), "registered", "the first signer is unaffected");
      assert.ok(sim.proc.output.includes("refused a second signer stream"), "the simulator refused the second signer");
      // The first leaves: the second signs after its next retry.
      await a.click("#disconnect-btn");
      await waitStatus(b, "registered", 90_000);
    } finally {
      await first.close();
      await second.close();
      await bridge.proc.stop();
      await sim.proc.stop();
    }
  });
});
