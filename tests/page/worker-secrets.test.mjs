// Secrets on their way through the signer's worker:
// a new seed's words and aezeed passphrase are not kept as JavaScript
// strings in the worker (they stay in wasm), and the macaroon goes to the
// worker once, as transferred bytes, never again with connect. Needs only
// the wasm package: node --test tests/page/worker-secrets.test.mjs

import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  connect, importTprv, launch, openPage, screenshot, setAutolock, unlock, usePageServer, waitScreen, waitStatus,
} from "./helpers.mjs";
import { pb, startFakeBridge } from "./fake-bridge.mjs";
import { DEMO_TPRV as TEST_TPRV, tempDir, TEST_VAULT_PASSPHRASE as VAULT_PASS } from "../stack/index.mjs";

const server = usePageServer();

/**
 * A debugger session on the page's dedicated worker (the signer worker):
 * attach before the page loads, then `heapStrings()` runs a full GC and
 * returns every string of the worker's JavaScript heap.
 */
async function workerDebugger(page) {
  const cdp = await page.context().newCDPSession(page);
  const targets = [];
  cdp.on("Target.attachedToTarget", (e) => targets.push(e));
  let next = 1;
  const pending = new Map();
  let chunks = [];
  cdp.on("Target.receivedMessageFromTarget", (e) => {
    const m = JSON.parse(e.message);
    if (m.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(m.params.chunk);
    if (m.id && pending.has(m.id)) {
      pending.get(m.id)(m);
      pending.delete(m.id);
    }
  });
  await cdp.send("Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const send = (sessionId, method, params = {}) => new Promise((ok) => {
    const id = next++;
    pending.set(id, ok);
    cdp.send("Target.sendMessageToTarget", { sessionId, message: JSON.stringify({ id, method, params }) });
  });
  return {
    async heapStrings() {
      const w = targets.find((t) => t.targetInfo.type === "worker" && t.targetInfo.url.endsWith("/signer-worker.js"));
      assert.ok(w, `no signer worker among ${targets.map((t) => t.targetInfo.url)}`);
      chunks = [];
      await send(w.sessionId, "HeapProfiler.enable");
      await send(w.sessionId, "HeapProfiler.collectGarbage");
      await send(w.sessionId, "HeapProfiler.collectGarbage");
      await send(w.sessionId, "HeapProfiler.takeHeapSnapshot", { reportProgress: false });
      return new Set(JSON.parse(chunks.join("")).strings);
    },
  };
}

describe("secrets in the worker", () => {
  test("a new seed's words and aezeed passphrase are not JavaScript strings in the worker", { timeout: 180_000 }, async () => {
    const aezeedPass = `aezeed-${randomBytes(8).toString("hex")}`;
    const tab = await launch();
    try {
      const { page } = tab;
      const dbg = await workerDebugger(page);
      await openPage(page, server.url);
      const baseline = await dbg.heapStrings();
      await page.click("#choose-create");
      await page.selectOption("#create-network", "regtest");
      await page.fill("#create-aezeed-pass", aezeedPass);
      await page.click("#create-btn");
      await waitScreen(page, "words", 60_000);
      const words = await page.$$eval("#seed-words li", (lis) => lis.map((l) => l.textContent));
      assert.equal(words.length, 24);
      await page.check("#words-written");
      await page.click("#words-continue");
      await waitScreen(page, "confirm");
      // Between display and sealing: the seed waits in the worker.
      const heap = await dbg.heapStrings();
      assert.ok(!heap.has(aezeedPass), "the aezeed passphrase is a string in the worker's heap");
      const kept = words.filter((w) => heap.has(w) && !baseline.has(w));
      assert.deepEqual(kept, [], "seed words held as strings by the worker");
      assert.ok(![...heap].some((s) => s.includes(`${words[0]} ${words[1]} ${words[2]}`) || s.includes(`${words[0]},${words[1]}`)));
      // The seed still confirms and seals (it is held in wasm).
      const positions = await page.$$eval("#confirm-fields input", (ins) => ins.map((i) => Number(i.dataset.position)));
      for (const p of positions) await page.fill(`#confirm-word-${p}`, words[p - 1].toUpperCase());
      await page.click("#confirm-btn");
      await waitScreen(page, "seal");
      await page.fill("#seal-pass", VAULT_PASS);
      await page.fill("#seal-pass2", VAULT_PASS);
      await page.click("#seal-btn");
      await waitScreen(page, "dashboard", 120_000);
      assert.match(await page.textContent("#info-fingerprint"), /^[0-9a-f]{8}$/);
      assert.deepEqual(tab.errors, [], `page errors: ${tab.errors.join(" | ")}`);
    } finally {
      await tab.close();
    }
  });

  test("the macaroon goes to the worker once, as transferred bytes, and never with connect", { timeout: 180_000 }, async () => {
    const dir = await tempDir();
    const macaroon = randomBytes(64);
    const macPath = join(dir, "signer.macaroon");
    await writeFile(macPath, macaroon);
    const hex = macaroon.toString("hex");
    const bridge = await startFakeBridge({ origin: server.origin, script: () => ({ events: [pb.signMessage(2n)] }) });
    const tab = await launch();
    try {
      const { page } = tab;
      // Every message the page posts to its worker, with secrets as seen.
      await page.addInitScript(() => {
        const seen = [];
        window.__posted = seen;
        const post = Worker.prototype.postMessage;
        Worker.prototype.postMessage = function (msg, transfer) {
          const json = JSON.stringify(msg, (_k, v) => (v instanceof Uint8Array ? `bytes:${Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("")}` : v));
          seen.push({ op: msg?.op, json, transferred: Array.isArray(transfer) ? transfer.length : 0 });
          return post.call(this, msg, transfer);
        };
      });
      await openPage(page, server.url);
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      await setAutolock(page, 0);
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: macPath, passphrase: VAULT_PASS });
      await waitStatus(page, "registered");
      // Disconnect, connect again, lock and unlock (resume): always the
      // macaroon sealed in the vault, held by the signer.
      await page.click("#disconnect-btn");
      await waitStatus(page, "disconnected");
      await page.click("#connect-btn");
      await waitStatus(page, "registered");
      await page.click("#lock-btn");
      await unlock(page, VAULT_PASS);
      await waitStatus(page, "registered", 30_000);
      await screenshot(page, "33-connected-sealed-macaroon");

      const posted = await page.evaluate(() => window.__posted);
      const carrying = posted.filter((m) => m.json.toLowerCase().includes(hex));
      assert.deepEqual(carrying.map((m) => m.op), ["sealMacaroon"], "messages that carry the macaroon");
      assert.equal(carrying[0].transferred, 1, "the macaroon's buffer is transferred, not copied");
      const connects = posted.filter((m) => m.op === "connect");
      assert.equal(connects.length, 3);
      for (const c of connects) assert.doesNotMatch(c.json, /macaroon/i, c.json);
      // The bridge got it on every Attach, and on no Reply.
      assert.ok(bridge.attachHeaders.length >= 3);
      for (const h of bridge.attachHeaders) assert.equal(h.macaroon, hex);
      assert.ok(bridge.replyHeaders.length > 0);
      for (const h of bridge.replyHeaders) assert.equal(h.macaroon, undefined);
      // The form keeps nothing.
      assert.equal(await page.inputValue("#mac-hex"), "");
      assert.equal(await page.evaluate(() => document.getElementById("mac-file").files.length), 0);
    } finally {
      await tab.close();
      await bridge.close();
    }
  });
});
