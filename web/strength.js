// @ts-check
// A small passphrase strength estimate for the hint under the vault
// passphrase field. It is a guide, not a guarantee: it estimates guessing
// entropy from length, character classes and obvious patterns.

const COMMON = [
  "password", "passwort", "letmein", "qwerty", "azerty", "123456", "111111", "abc123",
  "iloveyou", "admin", "welcome", "monkey", "dragon", "bitcoin", "satoshi", "lightning",
  "wallet", "secret", "lnd", "seed",
];

const LABELS = ["Very weak", "Weak", "Fair", "Strong", "Very strong"];

/** @param {string} p */
function classBits(p) {
  let pool = 0;
  if (/[a-z]/.test(p)) pool += 26;
  if (/[A-Z]/.test(p)) pool += 26;
  if (/[0-9]/.test(p)) pool += 10;
  if (/[^a-zA-Z0-9\s]/.test(p)) pool += 33;
  if (/\s/.test(p)) pool += 1;
  if (/[^\x00-\x7f]/.test(p)) pool += 60;
  return Math.log2(Math.max(pool, 2));
}

/** Length after collapsing runs ("aaaa") and straight sequences ("1234", "abcd"). */
/** @param {string} p */
function effectiveLength(p) {
  let n = 0;
  for (let i = 0; i < p.length; i++) {
    const c = p.charCodeAt(i);
    const prev = i > 0 ? p.charCodeAt(i - 1) : NaN;
    const prev2 = i > 1 ? p.charCodeAt(i - 2) : NaN;
    const run = c === prev && c === prev2;
    const seq = c - prev === prev - prev2 && Math.abs(c - prev) === 1;
    n += run || seq ? 0.25 : 1;
  }
  return n;
}

/**
 * Estimates the strength of `p`.
 * @param {string} p
 * @returns {{score: 0|1|2|3|4, label: string, bits: number, hint: string}}
 */
export function passphraseStrength(p) {
  if (!p) return { score: 0, label: LABELS[0], bits: 0, hint: "At least 8 characters." };
  let bits = effectiveLength(p) * classBits(p);
  const lower = p.toLowerCase();
  const common = COMMON.filter((w) => lower.includes(w));
  for (const w of common) bits -= w.length * classBits(w) * 0.8;
  const words = p.trim().split(/\s+/).filter((w) => w.length >= 3);
  if (words.length >= 4) bits = Math.max(bits, words.length * 11);
  bits = Math.max(0, Math.round(bits));
  /** @type {0 | 1 | 2 | 3 | 4} */
  let score;
  if (p.length < 8 || bits < 30) score = 0;
  else if (bits < 45) score = 1;
  else if (bits < 60) score = 2;
  else if (bits < 80) score = 3;
  else score = 4;
  let hint;
  if (p.length < 8) hint = "At least 8 characters.";
  else if (common.length) hint = `Avoid common words like "${common[0]}".`;
  else if (score < 3) hint = "Longer is better: add a few unrelated words.";
  else hint = "Good. Keep it somewhere safe: it cannot be recovered.";
  return { score, label: LABELS[score], bits, hint };
}
