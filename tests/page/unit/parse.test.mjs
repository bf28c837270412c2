// Unit tests of web/lib/parse.js: seed words, macaroon hex, bridge URL,
// the positions of the words typed back.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import { macaroonHexBytes, normalizeBridgeUrl, pickPositions, wordsOf } from "../../../web/lib/parse.js";

test("wordsOf: spaces, commas, new lines, numbered lists, case", () => {
  assert.deepEqual(wordsOf("  Abandon  ability,able\nabout "), ["abandon", "ability", "able", "about"]);
  assert.deepEqual(wordsOf("1. abandon 2. ability 3) able"), ["abandon", "ability", "able"]);
  assert.deepEqual(wordsOf("1.abandon 2)ability"), ["abandon", "ability"]);
  assert.deepEqual(wordsOf(""), []);
  assert.equal(wordsOf(Array.from({ length: 24 }, (_, i) => `${i + 1}. word`).join("\n")).length, 24);
});

test("macaroonHexBytes: hex to bytes, white space ignored, bad hex refused", () => {
  assert.deepEqual([...(macaroonHexBytes("0201 03\nff") ?? [])], [2, 1, 3, 255]);
  assert.deepEqual([...(macaroonHexBytes("AbCd") ?? [])], [0xab, 0xcd]);
  assert.equal(macaroonHexBytes("  "), null);
  assert.throws(() => macaroonHexBytes("abc"), /not valid hex/);
  assert.throws(() => macaroonHexBytes("zz"), /not valid hex/);
});

test("normalizeBridgeUrl: http(s) with a host, trailing slashes dropped", () => {
  assert.equal(normalizeBridgeUrl(" https://signer.example.com/ "), "https://signer.example.com");
  assert.equal(normalizeBridgeUrl("http://127.0.0.1:8481///"), "http://127.0.0.1:8481");
  assert.equal(normalizeBridgeUrl("HTTPS://x/base/"), "HTTPS://x/base");
  assert.equal(normalizeBridgeUrl("signer.example.com"), null);
  assert.equal(normalizeBridgeUrl("ftp://x"), null);
  assert.equal(normalizeBridgeUrl("https://"), null);
  assert.equal(normalizeBridgeUrl(""), null);
});

test("pickPositions: distinct, ascending, in 1..max", () => {
  for (let k = 0; k < 200; k++) {
    const p = pickPositions(3, 24);
    assert.equal(p.length, 3);
    assert.equal(new Set(p).size, 3);
    assert.deepEqual([...p].sort((a, b) => a - b), p);
    for (const x of p) assert.ok(x >= 1 && x <= 24);
  }
  // A scripted source: repeats are skipped.
  const values = [23, 23, 0, 47, 5];
  const p = pickPositions(3, 24, (buf) => { buf[0] = /** @type {number} */ (values.shift()); });
  assert.deepEqual(p, [1, 6, 24]);
  assert.throws(() => pickPositions(25, 24), RangeError);
});
