// Page tests against a scripted bridge (tests/page/fake-bridge.mjs) that
// sends what a hostile or broken node or bridge could: request ids above
// 2^53, absurd PSBT amounts, an undecodable frame, a flood of requests.
// Needs only the wasm package (no native
// binaries): node --test tests/page/hostile.test.mjs

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  connect, downloadBytes, importTprv, launch, openPage, screenshot, setAutolock, usePageServer, waitStatus,
} from "./helpers.mjs";
import { frame, pb, psbt, startFakeBridge } from "./fake-bridge.mjs";
import { DEMO_TPRV as TEST_TPRV, startStatic, TEST_VAULT_PASSPHRASE as VAULT_PASS } from "../stack/index.mjs";

const server = usePageServer();

async function unlockedTab(opts) {
  const tab = await launch(opts);
  try {
    await openPage(tab.page, server.url);
    await importTprv(tab.page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
    await setAutolock(tab.page, 0);
    return tab;
  } catch (e) {
    await tab.close();
    throw e;
  }
}

async function waitText(page, selector, text, timeout = 30_000) {
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel)?.textContent === want,
    [selector, text],
    { timeout },
  ).catch(async (e) => {
    throw new Error(`${selector} is ${JSON.stringify(await page.textContent(selector))}, not ${JSON.stringify(text)}: ${e.message}`);
  });
}

describe("hostile bridge", () => {
  test("request ids above 2^53 and out-of-range amounts are shown exactly", { timeout: 180_000 }, async () => {
    const BIG = 2n ** 53n + 1n;
    const MAX = 2n ** 64n - 1n;
    const bridge = await startFakeBridge({
      origin: server.origin,
      script: (n) => (n === 1
        ? { events: [pb.signPsbt(BIG, psbt({ inputSat: 2n ** 60n, outputSat: 50_000 })), pb.signMessage(MAX), pb.ping(BIG + 1n)] }
        : { status: 503 }),
    });
    let tab = null;
    try {
      tab = await unlockedTab();
      const { page } = tab;
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: null });
      await waitStatus(page, "registered");
      await page.click("#tab-activity");
      await waitText(page, "#c-total", "2");
      await waitText(page, "#c-pings", "1");
      const psbtRow = page.locator("#activity-log li", { hasText: "#9007199254740993" });
      assert.match(await psbtRow.textContent(), /Sign PSBT/);
      assert.match(await psbtRow.locator(".summary").textContent(), /^1 input, 1 output/);
      await psbtRow.locator("details summary").click();
      const table = await psbtRow.locator("table.io").first().textContent();
      assert.match(table, /1,152,921,504,606,846,976 sat/, "the absurd input amount, exactly");
      const outputs = await psbtRow.locator("table.io").nth(1).textContent();
      assert.match(outputs, /50,000 sat/);
      const msgRow = page.locator("#activity-log li", { hasText: "#18446744073709551615" });
      assert.match(await msgRow.textContent(), /Sign message/);
      assert.match(await msgRow.locator(".summary").textContent(), /byte message/);
      assert.equal(await page.isVisible("#activity-details-off"), false);
      await screenshot(page, "30-activity-big-ids");

      const { bytes } = await downloadBytes(page, () => page.click("#export-activity"));
      const doc = JSON.parse(bytes.toString("utf8"));
      assert.deepEqual(doc.entries.map((e) => e.id).sort(), ["18446744073709551615", "9007199254740993", "9007199254740994"]);
      assert.equal(doc.entries.find((e) => e.id === "9007199254740993").psbt.inputs[0].amountSat, "1152921504606846976");
      assert.deepEqual(tab.errors, [], `page errors: ${tab.errors.join(" | ")}`);
    } finally {
      await tab?.close();
      await bridge.close();
    }
  });

  test("an undecodable frame: activity details unavailable, shown, and back once a stream is readable", { timeout: 180_000 }, async () => {
    let recovered = false;
    // An AttachEvent whose `request` field claims more bytes than follow.
    const garbage = frame(Uint8Array.of(0x12, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x08));
    const bridge = await startFakeBridge({
      origin: server.origin,
      script: (n) => {
        if (n === 1) return { events: [pb.signMessage(2n)], raw: garbage };
        return recovered ? { events: [pb.signMessage(BigInt(10 + n))] } : { status: 503 };
      },
    });
    let tab = null;
    try {
      tab = await unlockedTab();
      const { page } = tab;
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: null });
      await page.click("#tab-activity");
      await page.waitForSelector("#activity-details-off:not([hidden])", { timeout: 30_000 });
      assert.match(await page.textContent("#activity-details-off"), /Activity details unavailable\..*still answers and counts every request/s);
      assert.match(await page.textContent("#activity-details-reason"), /^the stream inspector failed: undecodable attach event/);
      await waitText(page, "#c-total", "1");
      await screenshot(page, "31-activity-details-unavailable");
      // The signer ended that stream too (same bytes, a clear error) and
      // retries; the bridge refuses it for now.
      await page.click("#tab-connection");
      await waitStatus(page, "reconnecting", 30_000);
      const errors = tab.logs.filter((l) => l.text.startsWith("[status] error: "));
      assert.match(errors[0]?.text ?? "", /^\[status\] error: attach stream failed: .*decod/i, JSON.stringify(errors));
      recovered = true;
      await waitStatus(page, "registered", 60_000);
      await page.click("#tab-activity");
      await waitText(page, "#c-total", "2", 30_000);
      await page.waitForSelector("#activity-details-off[hidden]", { state: "attached", timeout: 10_000 });
      const latest = page.locator("#activity-log li").first();
      assert.match(await latest.locator(".summary").textContent(), /byte message/, "described again");
    } finally {
      await tab?.close();
      await bridge.close();
    }
  });

  test("the activity list keeps the latest 1000 entries; the counters keep counting", { timeout: 240_000 }, async () => {
    const PINGS = 1100;
    const events = [];
    for (let i = 0; i < PINGS; i++) events.push(pb.ping(BigInt(i + 2)));
    for (let i = 0; i < 5; i++) events.push(pb.signMessage(BigInt(PINGS + 2 + i)));
    const bridge = await startFakeBridge({ origin: server.origin, script: (n) => (n === 1 ? { events } : { status: 503 }) });
    let tab = null;
    try {
      tab = await unlockedTab();
      const { page } = tab;
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: null });
      await page.click("#tab-activity");
      await waitText(page, "#c-pings", String(PINGS), 120_000);
      await waitText(page, "#c-total", "5", 30_000);
      assert.equal(await page.textContent("#tab-activity-count"), "5");
      await page.waitForSelector("#activity-kept:not([hidden])");
      assert.equal(
        await page.textContent("#activity-kept"),
        "Showing the latest 1,000 entries; 105 older ones were dropped. The counters include them.",
      );
      await page.check("#show-pings");
      assert.equal(await page.locator("#activity-log li").count(), 300, "rows in the page");
      await page.uncheck("#show-pings");
      assert.equal(await page.locator("#activity-log li").count(), 5);
      await screenshot(page, "32-activity-bounded");
      const { bytes } = await downloadBytes(page, () => page.click("#export-activity"));
      const doc = JSON.parse(bytes.toString("utf8"));
      assert.equal(doc.entries.length, 1000);
      assert.equal(doc.entriesDropped, 105);
      assert.deepEqual(doc.counters, { requests: 5, errors: 0, pings: PINGS, byKind: { sign_message: 5 } });
      const ids = new Set(doc.entries.map((e) => e.id));
      assert.ok(ids.has(String(PINGS + 6)), "the newest entry is kept");
      assert.ok(!ids.has("2") && !ids.has("50"), "the oldest ones were dropped");
    } finally {
      await tab?.close();
      await bridge.close();
    }
  });
});

describe("hosting", () => {
  test("connect-src narrowed to the bridge's origin: that bridge works, any other is blocked", { timeout: 180_000 }, async () => {
    const script = () => ({ events: [pb.signMessage(2n)] });
    const allowed = await startFakeBridge({ origin: "*", script });
    const other = await startFakeBridge({ origin: "*", script });
    // The recipe of docs/web.md: the header's connect-src names the bridge.
    const narrow = await startStatic({ connectSrc: `'self' ${allowed.url}` });
    let tab = null;
    try {
      assert.match(narrow.headers["Content-Security-Policy"], new RegExp(`; connect-src 'self' ${allowed.url};`));
      tab = await launch();
      const { page } = tab;
      await openPage(page, narrow.url);
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      await setAutolock(page, 0);
      await connect(page, { bridgeUrl: other.url, macaroonPath: null });
      await page.waitForSelector("#status-error:not([hidden])", { timeout: 30_000 });
      assert.match(await page.textContent("#status-error"), /^Bridge unreachable: .*Failed to fetch/);
      assert.equal(other.attaches, 0, "the other bridge never saw a request");
      await page.click("#disconnect-btn");
      await connect(page, { bridgeUrl: allowed.url, macaroonPath: null });
      await waitStatus(page, "registered");
      assert.equal(allowed.attaches, 1);
    } finally {
      await tab?.close();
      await narrow.close();
      await allowed.close();
      await other.close();
    }
  });
});
