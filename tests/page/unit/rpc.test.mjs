// Unit tests of web/lib/rpc.js with a scripted worker.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";

/** A worker double: records posts; `answer`/`emit` play the worker's side. */
function fakeWorker() {
  const w = {
    posted: [],
    onmessage: null,
    onerror: null,
    postMessage(message, transfer) { w.posted.push({ message, transfer }); },
    answer(data) { w.onmessage({ data }); },
  };
  return w;
}

test("createRpc: ids, answers, errors, transfer lists, events", async () => {
  const { createRpc } = await import("../../../web/lib/rpc.js");
  const w = fakeWorker();
  const events = [];
  const failures = [];
  const call = createRpc(w, { onEvent: (e) => events.push(e), onError: (m) => failures.push(m) });
  const buf = new Uint8Array(4);
  const a = call("unlock", { passphrase: "p" });
  const b = call("sealMacaroon", { macaroon: buf }, [buf.buffer]);
  const c = call("lock");
  assert.deepEqual(w.posted.map((p) => p.message), [
    { id: 1, op: "unlock", args: { passphrase: "p" } },
    { id: 2, op: "sealMacaroon", args: { macaroon: buf } },
    { id: 3, op: "lock", args: undefined },
  ]);
  assert.deepEqual(w.posted[1].transfer, [buf.buffer]);
  assert.deepEqual(w.posted[0].transfer, []);
  // Answers in any order; an unknown id is ignored.
  w.answer({ id: 2, ok: false, error: "wrong passphrase" });
  w.answer({ id: 99, ok: true, result: "stray" });
  w.answer({ id: 1, ok: true, result: { network: "regtest" } });
  w.answer({ event: "status", status: { kind: "connecting", attempt: 1, url: "u" } });
  w.answer({ event: "inspector", ok: false, reason: "r" });
  assert.deepEqual(await a, { network: "regtest" });
  await assert.rejects(b, (e) => e instanceof Error && e.message === "wrong passphrase");
  assert.deepEqual(events, [
    { event: "status", status: { kind: "connecting", attempt: 1, url: "u" } },
    { event: "inspector", ok: false, reason: "r" },
  ]);
  // A second answer for an id is ignored; c is still pending until answered.
  w.answer({ id: 1, ok: true, result: "again" });
  w.answer({ id: 3, ok: true, result: true });
  assert.equal(await c, true);
  w.onerror({ message: "SyntaxError in signer-worker.js" });
  assert.deepEqual(failures, ["The signer worker failed to start: SyntaxError in signer-worker.js"]);
});

test("call: rejects until a worker is attached, then goes to it", async () => {
  const rpc = await import("../../../web/lib/rpc.js");
  await assert.rejects(rpc.call("init"), /no signer worker attached/);
  const w = fakeWorker();
  rpc.attach(w, { onEvent() {} });
  const p = rpc.call("init");
  assert.equal(w.posted[0].message.op, "init");
  w.answer({ id: w.posted[0].message.id, ok: true, result: { version: "1" } });
  assert.deepEqual(await p, { version: "1" });
});
