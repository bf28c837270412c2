// The MuSig2 used-nonce store's pure part: which entries a load keeps.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import { concatNewest, ENTRY_LEN } from "../../../web/nonce-store.js";

/** `n` entries whose first byte numbers them from `from`. */
function entries(from, n) {
  const out = new Uint8Array(n * ENTRY_LEN);
  for (let i = 0; i < n; i++) out[i * ENTRY_LEN] = from + i;
  return out;
}

/** The first byte of each entry of `record`. */
function numbers(record) {
  assert.equal(record.length % ENTRY_LEN, 0);
  const out = [];
  for (let at = 0; at < record.length; at += ENTRY_LEN) out.push(record[at]);
  return out;
}

test("rows concatenate oldest first when they fit", () => {
  const got = concatNewest([entries(1, 2), entries(3, 3)], 10);
  assert.deepEqual(numbers(got), [1, 2, 3, 4, 5]);
});

test("beyond the bound the oldest entries go, across row boundaries", () => {
  const got = concatNewest([entries(1, 2), entries(3, 3), entries(6, 1)], 3);
  assert.deepEqual(numbers(got), [4, 5, 6]);
  assert.deepEqual(numbers(concatNewest([entries(1, 4)], 0)), []);
});

test("a torn row keeps only its whole entries", () => {
  const torn = new Uint8Array(2 * ENTRY_LEN + 7);
  torn[0] = 9;
  torn[ENTRY_LEN] = 10;
  assert.deepEqual(numbers(concatNewest([torn, entries(11, 1)], 10)), [9, 10, 11]);
  assert.deepEqual(numbers(concatNewest([], 10)), []);
});
