// Unit tests of web/lib/activity-log.js: counting, keeping the latest
// entries, visible rows, the JSON export.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  addEntry, averageLatency, countEntry, exportDocument, exportFileName, isHidden, MAX_KEPT, MAX_ROWS, pingEntry, visibleRows,
} from "../../../web/lib/activity-log.js";
import { newCounters } from "../../../web/lib/state.js";

let n = 0;
function entry(over = {}) {
  n += 1;
  return { time: "2026-12-02T01:00:00.000Z", id: String(n), kind: "sign_psbt", keys: [], summary: "", psbt: null, signedInputs: null, error: null, latencyMs: 2, signMs: 1, ...over };
}

test("countEntry: requests by kind, PSBTs, errors, latency; pings apart", () => {
  let c = newCounters();
  c = countEntry(c, entry({ latencyMs: 3 }));
  c = countEntry(c, entry({ kind: "shared_key", error: "no key", latencyMs: 5 }));
  c = countEntry(c, entry({ kind: "ping", latencyMs: 100 }));
  assert.deepEqual(c, { requests: 2, psbt: 1, errors: 1, pings: 1, latencySum: 8, byKind: { sign_psbt: 1, shared_key: 1 }, dropped: 0 });
  assert.equal(averageLatency(c), "4");
  assert.equal(averageLatency(newCounters()), "—");
  const before = newCounters();
  countEntry(before, entry());
  assert.deepEqual(before, newCounters(), "the counters given are not changed");
});

test("addEntry: keeps the latest entries, counts the dropped ones", () => {
  let log = { activity: [], counters: newCounters() };
  const first = entry();
  for (let i = 0; i < 7; i++) log = addEntry(log, i === 0 ? first : entry({ kind: i % 2 ? "ping" : "sign_message" }), 5);
  assert.equal(log.activity.length, 5);
  assert.ok(!log.activity.includes(first), "the oldest entry was dropped");
  assert.equal(log.counters.requests + log.counters.pings, 7);
  assert.equal(log.counters.dropped, 2);
  const held = log.activity;
  const next = addEntry(log, entry(), 5);
  assert.equal(held.length, 5, "the given activity is not changed");
  assert.equal(next.activity.at(-1)?.id, String(n));
  assert.equal(next.counters.dropped, 3);
  assert.equal(MAX_KEPT, 1000);
});

test("addEntry: nothing dropped below the bound", () => {
  let log = { activity: [], counters: newCounters() };
  for (let i = 0; i < 10; i++) log = addEntry(log, entry());
  assert.equal(log.activity.length, 10);
  assert.equal(log.counters.dropped, 0);
});

test("visible rows: newest first, pings on demand, at most MAX_ROWS", () => {
  const a = [entry({ id: "1" }), entry({ id: "2", kind: "ping" }), entry({ id: "3" })];
  assert.deepEqual(visibleRows(a, false).map((e) => e.id), ["3", "1"]);
  assert.deepEqual(visibleRows(a, true).map((e) => e.id), ["3", "2", "1"]);
  assert.deepEqual(visibleRows(a, true, 2).map((e) => e.id), ["3", "2"]);
  assert.ok(isHidden(a[1], false));
  assert.ok(!isHidden(a[1], true));
  assert.ok(!isHidden(a[0], false));
  const many = Array.from({ length: MAX_ROWS + 50 }, () => entry());
  assert.equal(visibleRows(many, false).length, MAX_ROWS);
});

test("pingEntry: a health check row, latency to 0.1 ms", () => {
  const e = pingEntry({ id: "18446744073709551615", latencyMs: 1.2345 }, new Date("2026-12-02T01:02:03.000Z"));
  assert.deepEqual(e, {
    time: "2026-12-02T01:02:03.000Z", id: "18446744073709551615", kind: "ping", keys: [], summary: "health check",
    psbt: null, signedInputs: null, error: null, latencyMs: 1.2, signMs: 0,
  });
});

test("exportDocument: counters over everything, the kept entries, entriesDropped", () => {
  let log = { activity: [], counters: newCounters() };
  for (let i = 0; i < 4; i++) log = addEntry(log, entry({ kind: i === 3 ? "ping" : "sign_psbt", error: i === 1 ? "x" : null }), 3);
  const at = new Date("2026-12-02T01:02:03.456Z");
  const doc = exportDocument({ ...log, network: "regtest", fingerprint: "a2e4cfba" }, at);
  assert.equal(doc.exportedAt, "2026-12-02T01:02:03.456Z");
  assert.deepEqual(doc.counters, { requests: 3, errors: 1, pings: 1, byKind: { sign_psbt: 3 } });
  assert.equal(doc.entriesDropped, 1);
  assert.equal(doc.entries.length, 3);
  assert.equal(doc.network, "regtest");
  assert.equal(exportFileName(doc.exportedAt), "signer-activity-2026-12-02T01-02-03-456Z.json");
});
