// Unit tests of web/lib/leader.js (one signing tab per node) against a
// fake of the Web Locks API with the browser's semantics: one holder per
// name, a FIFO queue, `ifAvailable` answers null at once when held, an
// aborted waiter rejects with AbortError, a callback's promise holds the lock.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import { createLeadership, lockName } from "../../../web/lib/leader.js";

function fakeLocks() {
  /** @type {Map<string, { held: boolean, queue: { cb: Function, resolve: Function, reject: Function }[] }>} */
  const names = new Map();
  const entry = (n) => names.get(n) ?? names.set(n, { held: false, queue: [] }).get(n);
  function grant(name, cb, resolve, reject) {
    const e = entry(name);
    e.held = true;
    Promise.resolve()
      .then(() => cb({ name }))
      .then(resolve, reject)
      .finally(() => {
        e.held = false;
        const next = e.queue.shift();
        if (next) grant(name, next.cb, next.resolve, next.reject);
      });
  }
  return {
    held: (name) => entry(name).held,
    waiting: (name) => entry(name).queue.length,
    request(name, options, cb) {
      return new Promise((resolve, reject) => {
        const e = entry(name);
        if (!e.held) return grant(name, cb, resolve, reject);
        if (options.ifAvailable) return Promise.resolve().then(() => cb(null)).then(resolve, reject);
        const waiter = { cb, resolve, reject };
        e.queue.push(waiter);
        options.signal?.addEventListener("abort", () => {
          const i = e.queue.indexOf(waiter);
          if (i >= 0) e.queue.splice(i, 1);
          const err = new Error("aborted");
          err.name = "AbortError";
          reject(err);
        });
      });
    },
  };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

test("lockName: one lock per node (the vault's fingerprint)", () => {
  assert.equal(lockName("a2e4cfba"), "lnd-web-signer/node/a2e4cfba");
  assert.notEqual(lockName("a2e4cfba"), lockName("0badc0de"));
});

test("the first tab leads, the second is standby and takes over when the first lets go", async () => {
  const locks = fakeLocks();
  const events = [];
  const a = createLeadership(locks);
  const b = createLeadership(locks);
  const name = lockName("a2e4cfba");
  a.acquire(name, { onLead: () => events.push("a lead"), onStandby: () => events.push("a standby") });
  await tick();
  b.acquire(name, { onLead: () => events.push("b lead"), onStandby: () => events.push("b standby") });
  await tick();
  assert.deepEqual(events, ["a lead", "b standby"]);
  assert.equal(a.role(), "leading");
  assert.equal(b.role(), "waiting");
  assert.equal(locks.waiting(name), 1);
  a.release();
  await tick(); await tick();
  assert.deepEqual(events, ["a lead", "b standby", "b lead"]);
  assert.equal(b.role(), "leading");
  assert.equal(a.role(), "none");
});

test("a standby that stops asking leaves the queue; the lock stays free for the next", async () => {
  const locks = fakeLocks();
  const name = lockName("x");
  const a = createLeadership(locks);
  const b = createLeadership(locks);
  let bLed = false;
  a.acquire(name, { onLead() {}, onStandby() {} });
  await tick();
  b.acquire(name, { onLead: () => { bLed = true; }, onStandby() {} });
  await tick();
  b.release();
  await tick();
  assert.equal(locks.waiting(name), 0);
  a.release();
  await tick(); await tick();
  assert.equal(bLed, false);
  assert.equal(locks.held(name), false);
});

test("other nodes do not wait for each other", async () => {
  const locks = fakeLocks();
  const led = [];
  createLeadership(locks).acquire(lockName("one"), { onLead: () => led.push("one"), onStandby() {} });
  createLeadership(locks).acquire(lockName("two"), { onLead: () => led.push("two"), onStandby() {} });
  await tick();
  assert.deepEqual(led.sort(), ["one", "two"]);
});

test("acquiring the held lock again keeps it (a reconnect); without Web Locks every tab leads", async () => {
  const locks = fakeLocks();
  const a = createLeadership(locks);
  a.acquire(lockName("n"), { onLead() {}, onStandby() {} });
  await tick();
  let again = 0;
  a.acquire(lockName("n"), { onLead: () => { again += 1; }, onStandby: () => assert.fail("its own lock") });
  await tick(); await tick();
  assert.equal(again, 1);
  assert.equal(a.role(), "leading");
  assert.equal(locks.held(lockName("n")), true);
  const none = createLeadership(null);
  let led = false;
  none.acquire(lockName("n"), { onLead: () => { led = true; }, onStandby() {} });
  assert.equal(led, true);
  assert.equal(none.role(), "leading");
});
