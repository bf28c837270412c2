// Unit tests of web/lib/format.js (pure display formatting).
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  activityLogLine, ago, droppedText, entrySummary, formatDate, formatSat, idleLimitText, inputWhere, keyText,
  kindName, NETWORKS, outputWhere, psbtDisclosureText, setKindTable, statusLogLine, wrongWordsText,
} from "../../../web/lib/format.js";
import { kindTable } from "./pkg.mjs";

/** An activity entry with defaults. */
function entry(over = {}) {
  return {
    time: "2026-12-02T01:02:03.456Z", id: "7", kind: "sign_psbt", keys: [], summary: "", psbt: null,
    signedInputs: null, error: null, latencyMs: 1.5, signMs: 0.5, ...over,
  };
}

test("formatSat: grouping, unknown, beyond 2^53 exactly", () => {
  assert.equal(formatSat(0), "0 sat");
  assert.equal(formatSat(1234567), "1,234,567 sat");
  assert.equal(formatSat(null), "?");
  assert.equal(formatSat(undefined), "?");
  // A hostile node's amount above 2^53 - 1 arrives as a string and is shown exactly.
  assert.equal(formatSat("18446744073709551615"), "18,446,744,073,709,551,615 sat");
  assert.equal(formatSat("9007199254740993"), "9,007,199,254,740,993 sat");
});

test("formatDate: Unix seconds to a UTC day", () => {
  assert.equal(formatDate(0), "1970-01-01");
  assert.equal(formatDate(1714521600), "2024-05-01");
  assert.equal(formatDate(1714521599), "2024-04-30");
});

test("ago: seconds, minutes, hours; never negative", () => {
  const now = 1_000_000_000;
  assert.equal(ago(now, now), "just now");
  assert.equal(ago(now - 1400, now), "just now");
  assert.equal(ago(now + 5000, now), "just now");
  assert.equal(ago(now - 2000, now), "2 s ago");
  assert.equal(ago(now - 59_000, now), "59 s ago");
  assert.equal(ago(now - 60_000, now), "1 min ago");
  assert.equal(ago(now - 59 * 60_000, now), "59 min ago");
  assert.equal(ago(now - 2 * 3600_000 - 1000, now), "2 h ago");
});

/** The labels the activity log showed from its hand copy before the table was exported: they must not change. */
const TODAYS_LABELS = {
  sign_psbt: "Sign PSBT",
  sign_message: "Sign message",
  shared_key: "Shared key (ECDH)",
  musig2_create_session: "MuSig2 session",
  musig2_register_nonces: "MuSig2 register nonces",
  musig2_register_combined_nonce: "MuSig2 combined nonce",
  musig2_get_combined_nonce: "MuSig2 get combined nonce",
  musig2_sign: "MuSig2 sign",
  musig2_combine_sig: "MuSig2 combine signatures",
  musig2_cleanup: "MuSig2 cleanup",
  ping: "Ping",
};

test("kind names: from the wasm signer's kind table, unknown ones as given", () => {
  // Before the table arrives, the raw kind.
  assert.equal(kindName("sign_psbt"), "sign_psbt");
  const table = kindTable();
  setKindTable(table);
  for (const [kind, label] of Object.entries(TODAYS_LABELS)) assert.equal(kindName(kind), label, kind);
  // Every row of the table is shown by its label.
  for (const row of table) assert.equal(kindName(row.name), row.label);
  assert.equal(table.length, 13);
  assert.deepEqual(Object.keys(table[0]).sort(), ["answeredBy", "field", "label", "name", "response", "retryable"]);
  assert.equal(kindName("derive_shared_secret_v9"), "derive_shared_secret_v9");
  // A session-answered member's field (SignerStatus.requestKind of an unset request) stays as given.
  assert.equal(kindName("unset"), "unset");
  // Not fooled by Object.prototype.
  assert.equal(kindName("toString"), "toString");
});

test("keyText: lnd's family names", () => {
  assert.equal(keyText({ family: 6, index: 0 }), "node key 6/0");
  assert.equal(keyText({ family: 0, index: 12 }), "multisig 0/12");
  assert.equal(keyText({ family: 9, index: 1 }), "tower id 9/1");
  assert.equal(keyText({ family: 42, index: 3 }), "family 42/3");
});

test("entrySummary: signed inputs of a PSBT, nothing for pings", () => {
  const psbt = { inputs: [], outputs: [], feeSat: null, error: null };
  assert.equal(entrySummary(entry({ summary: "2 in, 1 out", psbt, signedInputs: [0, 1] })), "2 in, 1 out · signed inputs 0, 1");
  assert.equal(entrySummary(entry({ summary: "2 in, 1 out", psbt, signedInputs: [1] })), "2 in, 1 out · signed input 1");
  assert.equal(entrySummary(entry({ summary: "1 in", psbt, signedInputs: [] })), "1 in · signed no inputs");
  assert.equal(entrySummary(entry({ summary: "1 in", psbt, signedInputs: null })), "1 in");
  assert.equal(entrySummary(entry({ kind: "sign_message", summary: "64 bytes" })), "64 bytes");
  assert.equal(entrySummary(entry({ kind: "ping", summary: "health check" })), "");
  assert.equal(entrySummary(entry({ summary: "" })), "");
});

test("PSBT texts: fee, input and output places", () => {
  assert.equal(psbtDisclosureText({ inputs: [], outputs: [], feeSat: 250, error: null }), "Inputs and outputs · fee 250 sat");
  assert.equal(psbtDisclosureText({ inputs: [], outputs: [], feeSat: 0, error: null }), "Inputs and outputs · fee 0 sat");
  assert.equal(psbtDisclosureText({ inputs: [], outputs: [], feeSat: null, error: null }), "Inputs and outputs");
  const input = { index: 0, outpoint: "ab:1", amountSat: 5, address: null, paths: [] };
  assert.equal(inputWhere(input), "ab:1");
  assert.equal(inputWhere({ ...input, address: "bcrt1qxyz" }), "bcrt1qxyz");
  const output = { index: 0, amountSat: 5, address: null, scriptHex: "6a00" };
  assert.equal(outputWhere(output), "script 6a00");
  assert.equal(outputWhere({ ...output, address: "bcrt1qabc" }), "bcrt1qabc");
});

test("activityLogLine: the line scripts/headless-tab.sh prints", () => {
  assert.equal(
    activityLogLine(entry({ id: "18446744073709551615", keys: [{ family: 0, index: 3 }, { family: 6, index: 0 }], signedInputs: [0, 2], latencyMs: 4.2 })),
    "[activity] #18446744073709551615 sign_psbt key=0/3,6/0 signed=[0,2] 4.2ms",
  );
  assert.equal(activityLogLine(entry({ kind: "shared_key", error: "no such key" })), "[activity] #7 shared_key 1.5ms error: no such key");
});

test("statusLogLine: status changes, not pings or requests", () => {
  assert.equal(statusLogLine({ kind: "registered", attempt: 1, nodeInfo: "node 02ab" }), "[status] registered (node 02ab)");
  assert.equal(statusLogLine({ kind: "registered", attempt: 1, nodeInfo: "node 02ab", transport: "websocket" }), "[status] registered (node 02ab) over websocket");
  assert.equal(statusLogLine({ kind: "reconnecting", attempt: 2, delayMs: 1600, wasRegistered: true }), "[status] reconnecting in 2 s");
  assert.equal(statusLogLine({ kind: "error", attempt: 1, reason: "boom", silentMs: null }), "[status] error: boom");
  assert.equal(statusLogLine({ kind: "connecting", attempt: 1, url: "http://x" }), "[status] connecting");
  assert.equal(statusLogLine({ kind: "ping", id: "1", latencyMs: 1 }), null);
  assert.equal(statusLogLine({ kind: "request", requestKind: "sign_psbt", id: "1", latencyMs: 1, signMs: 1, error: null }), null);
});

test("idleLimitText: seconds, whole minutes from 2 min", () => {
  assert.equal(idleLimitText(5, 2), "10 s");
  assert.equal(idleLimitText(30, 3), "90 s");
  assert.equal(idleLimitText(60, 2), "2 min");
  assert.equal(idleLimitText(60, 3), "3 min");
  assert.equal(idleLimitText(45, 3), "135 s");
});

test("wrongWordsText and droppedText", () => {
  assert.equal(wrongWordsText([7]), "Word #7 does not match. Check your copy; the words cannot be shown again.");
  assert.equal(wrongWordsText([3, 19]), "Words #3, #19 do not match. Check your copy; the words cannot be shown again.");
  assert.equal(droppedText(0, 1000), "");
  assert.equal(droppedText(1234, 1000), "Showing the latest 1,000 entries; 1,234 older ones were dropped. The counters include them.");
});

test("NETWORKS: lnd's names", () => {
  assert.deepEqual(NETWORKS.map(([v]) => v), ["mainnet", "testnet", "testnet4", "signet", "regtest", "simnet"]);
});
