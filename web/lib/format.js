// @ts-check
// Pure display formatting for the signer tab: amounts, dates, ages, request
// kinds, lnd key families, PSBT summaries, activity log lines. No DOM, no
// globals besides Date (a `now` can be passed) and the request-kind labels,
// which come from the wasm signer's kindTable() (setKindTable, once at
// start); unit-tested with node --test (tests/page/unit/format.test.mjs).

/** @typedef {import("../pkg/lnd_web_signer.js").KeyRef} KeyRef */
/** @typedef {import("./state.js").ActivityEntry} ActivityEntry */
/** @typedef {import("../pkg/lnd_web_signer.js").KindInfo} KindInfo */

/** The networks offered by the create and import forms: [value, label]. */
export const NETWORKS = /** @type {const} */ ([
  ["mainnet", "Bitcoin mainnet"],
  ["testnet", "testnet3"],
  ["testnet4", "testnet4"],
  ["signet", "signet"],
  ["regtest", "regtest"],
  ["simnet", "simnet"],
]);

/**
 * Labels of the request kinds by short name (SignerStatus.requestKind), from
 * the core's one table (src/request.rs KINDS, exported as kindTable()).
 * @type {Map<string, string>}
 */
let kindLabels = new Map();

/**
 * Takes the request kinds' labels from `table` (the wasm signer's
 * kindTable(), which the worker's init returns).
 * @param {readonly KindInfo[]} table
 */
export function setKindTable(table) {
  kindLabels = new Map(table.map((k) => [k.name, k.label]));
}

/** lnd's key families (keychain/derivation.go). */
export const FAMILY_NAMES = Object.freeze({
  0: "multisig",
  1: "revocation base",
  2: "HTLC base",
  3: "payment base",
  4: "delay base",
  5: "revocation root",
  6: "node key",
  7: "backup key",
  8: "tower session",
  9: "tower id",
});

/**
 * An amount in satoshis; "?" when unknown. Amounts above 2^53 - 1 come as
 * decimal strings (never valid; shown exactly).
 * @param {number | string | null | undefined} n
 */
export function formatSat(n) {
  if (n === null || n === undefined) return "?";
  const v = typeof n === "string" ? BigInt(n) : n;
  return `${v.toLocaleString("en-US")} sat`;
}

/**
 * A Unix time in seconds as an ISO date (UTC), e.g. "2024-05-01".
 * @param {number} unixSeconds
 */
export function formatDate(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

/**
 * How long ago `ms` (a Date.now() value) was: "just now", "12 s ago", "3 min ago", "2 h ago".
 * @param {number} ms
 * @param {number} [now]
 */
export function ago(ms, now = Date.now()) {
  const s = Math.max(0, Math.round((now - ms) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.floor(m / 60)} h ago`;
}

/**
 * The display name of a request kind (the raw kind when unknown, or before
 * setKindTable).
 * @param {string} kind
 */
export function kindName(kind) {
  return kindLabels.get(kind) ?? kind;
}

/**
 * A key locator with lnd's family name: "node key 6/0", "family 42/3".
 * @param {KeyRef} k
 */
export function keyText(k) {
  const name = Object.hasOwn(FAMILY_NAMES, k.family) ? FAMILY_NAMES[/** @type {keyof typeof FAMILY_NAMES} */ (k.family)] : undefined;
  return `${name ? `${name} ` : "family "}${k.family}/${k.index}`;
}

/**
 * The summary line of an activity row: the request's summary, plus for a
 * PSBT the inputs this signer signed. Empty for pings and undescribed requests.
 * @param {ActivityEntry} entry
 */
export function entrySummary(entry) {
  if (entry.kind === "ping" || !entry.summary) return "";
  let summary = entry.summary;
  const signed = entry.signedInputs;
  if (entry.psbt && signed) {
    summary += ` · signed ${signed.length ? `input${signed.length > 1 ? "s" : ""} ${signed.join(", ")}` : "no inputs"}`;
  }
  return summary;
}

/**
 * The text of a PSBT's "Inputs and outputs" disclosure, with the fee when known.
 * @param {import("../pkg/lnd_web_signer.js").PsbtInfo} psbt
 */
export function psbtDisclosureText(psbt) {
  return `Inputs and outputs${psbt.feeSat != null ? ` · fee ${formatSat(psbt.feeSat)}` : ""}`;
}

/**
 * Where an input comes from: its address, else its outpoint.
 * @param {import("../pkg/lnd_web_signer.js").PsbtInputInfo} input
 */
export function inputWhere(input) {
  return input.address || input.outpoint;
}

/**
 * Where an output goes: its address, else its script.
 * @param {import("../pkg/lnd_web_signer.js").PsbtOutputInfo} output
 */
export function outputWhere(output) {
  return output.address || `script ${output.scriptHex}`;
}

/**
 * The console line of an answered request (read by scripts/headless-tab.sh):
 * "[activity] #ID KIND [key=F/I,...] [signed=[..]] Nms[ error: ...]".
 * @param {ActivityEntry} entry
 */
export function activityLogLine(entry) {
  const keys = entry.keys.map((k) => `${k.family}/${k.index}`).join(",");
  const signed = entry.signedInputs ? ` signed=[${entry.signedInputs.join(",")}]` : "";
  return `[activity] #${entry.id} ${entry.kind}${keys ? ` key=${keys}` : ""}${signed} ${entry.latencyMs}ms${entry.error ? ` error: ${entry.error}` : ""}`;
}

/**
 * The console line of a status change ("[status] registered (node …)"), or
 * null for pings and requests (those are activity).
 * @param {import("../pkg/lnd_web_signer.js").SignerStatus} s
 */
export function statusLogLine(s) {
  if (s.kind === "ping" || s.kind === "request") return null;
  const extra = s.kind === "error" ? `: ${s.reason}` : s.kind === "reconnecting" ? ` in ${Math.round(s.delayMs / 1000)} s` : s.kind === "registered" ? ` (${s.nodeInfo})${s.transport ? ` over ${s.transport}` : ""}` : "";
  return `[status] ${s.kind}${extra}`;
}

/**
 * The idle watchdog's limit as text: "10 s", "90 s", "3 min".
 * @param {number} healthIntervalSecs
 * @param {number} idleMultiple
 */
export function idleLimitText(healthIntervalSecs, idleMultiple) {
  const secs = healthIntervalSecs * idleMultiple;
  return secs >= 120 && secs % 60 === 0 ? `${secs / 60} min` : `${secs} s`;
}

/**
 * The message for wrongly copied seed words (positions 1-based).
 * @param {number[]} wrong
 */
export function wrongWordsText(wrong) {
  const many = wrong.length > 1;
  return `Word${many ? "s" : ""} #${wrong.join(", #")} ${many ? "do" : "does"} not match. Check your copy; the words cannot be shown again.`;
}

/**
 * The "entries dropped" note of the activity tab, or "" when none were.
 * @param {number} dropped
 * @param {number} kept
 */
export function droppedText(dropped, kept) {
  return dropped
    ? `Showing the latest ${kept.toLocaleString("en-US")} entries; ${dropped.toLocaleString("en-US")} older ones were dropped. The counters include them.`
    : "";
}
