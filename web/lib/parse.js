// @ts-check
// Pure parsing of what the user types: seed words, macaroon hex, the
// bridge URL; and the choice of the seed words to type back. No DOM.
// Unit-tested in tests/page/unit/parse.test.mjs.

/**
 * The words of a pasted mnemonic: lower case, split on spaces/commas/new
 * lines, list numbers ("1." "2)") removed.
 * @param {string} text
 * @returns {string[]}
 */
export function wordsOf(text) {
  return text.trim().toLowerCase().split(/[\s,]+/).filter(Boolean).map((w) => w.replace(/^\d+[.)]/, "")).filter(Boolean);
}

/**
 * Macaroon bytes from hex (white space ignored); null when empty.
 * @param {string} text
 * @returns {Uint8Array | null}
 */
export function macaroonHexBytes(text) {
  const hex = text.replace(/\s+/g, "");
  if (!hex) return null;
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2) throw new Error("The macaroon hex is not valid hex.");
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

/**
 * The bridge URL as typed, without trailing slashes; null when it is not
 * an http(s) URL with a host.
 * @param {string} text
 * @returns {string | null}
 */
export function normalizeBridgeUrl(text) {
  const url = text.trim();
  if (!/^https?:\/\/[^/]+/i.test(url)) return null;
  return url.replace(/\/+$/, "");
}

/**
 * `n` distinct positions in 1..max, ascending, drawn with `random` (fills a
 * Uint32Array; crypto.getRandomValues by default).
 * @param {number} n
 * @param {number} max
 * @param {(buf: Uint32Array<ArrayBuffer>) => unknown} [random]
 * @returns {number[]}
 */
export function pickPositions(n, max, random = (buf) => crypto.getRandomValues(buf)) {
  if (n > max) throw new RangeError(`cannot pick ${n} of ${max}`);
  const picked = new Set();
  const buf = new Uint32Array(1);
  while (picked.size < n) {
    random(buf);
    picked.add((buf[0] % max) + 1);
  }
  return [...picked].sort((a, b) => a - b);
}
