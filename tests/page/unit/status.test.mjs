// Unit tests of web/lib/status.js: worker status events → store → the
// status panel, and the Attach stream's own final status.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import { initialState } from "../../../web/lib/state.js";
import { attachEndPatch, statusPatch, statusView } from "../../../web/lib/status.js";

const NOW = 1_700_000_000_000;

/** A store after `events` ([status, at] pairs), like the page applies them. */
function after(events, base = {}) {
  const s = { ...initialState(), unlocked: { network: "regtest", birthday: 0, fingerprint: "a2e4cfba", hasMacaroon: true }, ...base };
  for (const [ev, at] of events) Object.assign(s, statusPatch(s, ev, at));
  return s;
}

test("idle: not connected; unlock first when locked", () => {
  const s = { ...initialState() };
  let v = statusView(s, NOW);
  assert.equal(v.state, "idle");
  assert.equal(v.title, "Not connected");
  assert.equal(v.detail, "Unlock the signer to connect.");
  assert.equal(v.canConnect, false);
  assert.equal(v.connectLabel, "Connect");
  v = statusView(after([]), NOW);
  assert.match(v.detail, /^Connect to signer-bridge/);
  assert.equal(v.canConnect, true);
  assert.equal(v.error, null);
});

test("connecting → registered: connected, node, since, attempt", () => {
  const s = after([
    [{ kind: "connecting", attempt: 1, url: "http://b" }, NOW],
    [{ kind: "registered", attempt: 1, nodeInfo: "watch-only node 02ab" }, NOW + 500],
  ], { connected: true, bridgeUrl: "http://b" });
  const v = statusView(s, NOW + 5_500);
  assert.equal(v.state, "registered");
  assert.equal(v.title, "Connected · signing for lnd");
  assert.equal(v.node, "watch-only node 02ab");
  assert.equal(v.since, "5 s ago");
  assert.equal(v.attempt, "1");
  assert.equal(v.bridge, "http://b");
  assert.equal(v.connectLabel, "Reconnect");
  assert.equal(v.canDisconnect, true);
  assert.equal(v.error, null);
  assert.equal(statusView({ ...s, status: { kind: "connecting", attempt: 2, url: "http://b" } }, NOW).detail, "Attaching to signer-bridge (attempt 2).");
});

test("pings and requests keep the panel registered; a ping sets the last ping time", () => {
  const s = after([
    [{ kind: "registered", attempt: 1, nodeInfo: "n" }, NOW],
    [{ kind: "ping", id: "3", latencyMs: 0.4 }, NOW + 1000],
    [{ kind: "request", requestKind: "sign_psbt", id: "4", latencyMs: 2, signMs: 1, error: null }, NOW + 2000],
  ], { connected: true });
  assert.equal(s.lastPingAt, NOW + 1000);
  const v = statusView(s, NOW + 3000);
  assert.equal(v.state, "registered");
  assert.equal(v.ping, "2 s ago");
  // The node info stays the registered one.
  assert.equal(v.node, "n");
});

test("error then reconnecting: countdown, classified title and red line", () => {
  const reason = "attach failed: Unavailable: lnd unreachable at 127.0.0.1:10019: Connection refused (os error 111)";
  const s = after([
    [{ kind: "registered", attempt: 1, nodeInfo: "n" }, NOW],
    [{ kind: "error", attempt: 1, reason, silentMs: null, code: "lnd_unreachable" }, NOW + 1000],
    [{ kind: "reconnecting", attempt: 1, delayMs: 4000, wasRegistered: true }, NOW + 1000],
  ], { connected: true });
  assert.equal(s.registeredAt, null);
  const v = statusView(s, NOW + 1100);
  assert.equal(v.state, "reconnecting");
  assert.equal(v.title, "Reconnecting in 4 s");
  assert.match(v.detail, /^lnd not ready\. signer-bridge answered/);
  assert.equal(s.lastError?.code, "lnd_unreachable");
  assert.equal(v.error, `lnd not ready: ${reason}`);
  assert.equal(v.since, "—");
  assert.equal(statusView(s, NOW + 9000).title, "Reconnecting in 0 s");
});

test("an error without a reconnect: the code's title", () => {
  const s = after([[{ kind: "error", attempt: 1, reason: "fetch http://x/Attach failed: TypeError: Failed to fetch", silentMs: null, code: "bridge_unreachable" }, NOW]], { connected: true });
  const v = statusView(s, NOW);
  assert.equal(v.state, "error");
  assert.equal(v.title, "Bridge unreachable");
  assert.match(v.error ?? "", /^Bridge unreachable: fetch /);
});

test("the code decides, not the text: a lost lnd connection is lnd's", () => {
  const reason = "attach stream failed: Unavailable: connection to lnd at 127.0.0.1:1 lost 2 s after its last message (broken pipe); attach again";
  const s = after([[{ kind: "error", attempt: 1, reason, silentMs: null, code: "lnd_lost" }, NOW]], { connected: true });
  assert.equal(s.lastError?.category, "lnd");
  assert.equal(statusView(s, NOW).error, `Connection to lnd lost: ${reason}`);
  // An event without a (known) code: a plain connection error.
  const old = after([[{ kind: "error", attempt: 1, reason: "lnd rejected the macaroon", silentMs: null }, NOW]]);
  assert.equal(old.lastError?.title, "Connection error");
});

test("the idle watchdog: 'lnd went silent', kept when the stream's end follows", () => {
  let s = after([[{ kind: "error", attempt: 1, reason: "idle", silentMs: 10_200, code: "lnd_silent" }, NOW]], { connected: true });
  assert.equal(statusView(s, NOW).error, "lnd went silent: no message from lnd for 10 s — reconnecting");
  const change = attachEndPatch(s, { code: 14, message: "connection to lnd lost: broken pipe", errorCode: "lnd_lost" }, NOW + 100);
  assert.ok(change);
  assert.equal(change.render, false);
  assert.equal(change.patch.lastError, undefined, "the silent reason stays");
  s = { ...s, ...change.patch };
  assert.equal(s.attachEnd?.reason, "attach stream ended: Unavailable: connection to lnd lost: broken pipe");
});

test("the stream's own end replaces a consequence reported just before", () => {
  let s = after([[{ kind: "error", attempt: 1, reason: "reply to request 1 failed: NotFound: unknown or expired session token; attach again", silentMs: null, code: "session_ended" }, NOW]]);
  assert.equal(s.lastError?.title, "Session ended");
  const end = { code: 16, message: "lnd rejected the macaroon: verification failed", errorCode: "macaroon_rejected" };
  const change = attachEndPatch(s, end, NOW + 2000);
  assert.ok(change?.render);
  s = { ...s, ...change.patch };
  assert.equal(s.lastError?.title, "Macaroon rejected");
  assert.equal(s.lastError?.code, "macaroon_rejected");
  assert.equal(s.lastError?.at, NOW, "keeps the time of the error");
  // Too late (3 s or more): the earlier reason stays.
  const late = after([[{ kind: "error", attempt: 1, reason: "x", silentMs: null, code: "internal" }, NOW]]);
  assert.equal(attachEndPatch(late, end, NOW + 3000)?.render, false);
  // OK ends change nothing.
  assert.equal(attachEndPatch(late, { code: 0, message: "", errorCode: null }, NOW), null);
});

test("an error right after the stream's end takes the stream's reason", () => {
  const base = after([]);
  const { patch } = /** @type {{ patch: object }} */ (attachEndPatch(base, { code: 16, message: "lnd rejected the macaroon: x", errorCode: "macaroon_rejected" }, NOW));
  const s = after([[{ kind: "error", attempt: 1, reason: "registration reply failed: NotFound: gone", silentMs: null, code: "session_ended" }, NOW + 1000]], patch);
  assert.equal(s.lastError?.reason, "attach stream ended: Unauthenticated: lnd rejected the macaroon: x");
  assert.equal(s.lastError?.title, "Macaroon rejected");
  // A new attempt forgets the stream's end.
  const again = after([[{ kind: "connecting", attempt: 2, url: "u" }, NOW + 1500], [{ kind: "error", attempt: 2, reason: "Failed to fetch", silentMs: null, code: "bridge_unreachable" }, NOW + 1600]], patch);
  assert.equal(again.lastError?.title, "Bridge unreachable");
});

test("disconnected: stopped, with the reason", () => {
  const s = after([[{ kind: "registered", attempt: 1, nodeInfo: "n" }, NOW], [{ kind: "disconnected", reason: "disconnect() called", code: "disconnected" }, NOW + 1]], { connected: true });
  assert.equal(s.connected, false);
  const v = statusView(s, NOW + 2);
  assert.equal(v.state, "disconnected");
  assert.equal(v.detail, "Stopped: disconnect() called.");
  assert.equal(v.bridge, "—");
  assert.equal(v.attempt, "—");
  assert.equal(v.canDisconnect, false);
});

test("standby: another tab of this origin signs; no attempt, no error line", () => {
  const s = after([], { connected: true, bridgeUrl: "http://b", standby: "tab", attempt: 3 });
  const v = statusView(s, NOW);
  assert.equal(v.state, "standby");
  assert.equal(v.title, "Standby — another tab is signing");
  assert.match(v.detail, /takes over by itself/);
  assert.match(v.detail, /stays unlocked/);
  assert.equal(v.attempt, "—");
  assert.equal(v.error, null);
  assert.equal(v.canDisconnect, true);
});

test("standby: another signer holds the node (lnd refused a second one), retrying with the backoff", () => {
  const s = after([
    [{ kind: "connecting", attempt: 2, url: "http://b" }, NOW],
    [{ kind: "error", attempt: 2, reason: "attach stream ended: Unknown: lnd refused the signer stream: only one remote signer can be connected", silentMs: null, code: "another_signer" }, NOW + 100],
    [{ kind: "reconnecting", attempt: 2, delayMs: 4000, wasRegistered: false }, NOW + 200],
  ], { connected: true, bridgeUrl: "http://b" });
  const v = statusView(s, NOW + 1_200);
  assert.equal(v.state, "standby");
  assert.equal(v.title, "Standby — another signer is connected to this node");
  assert.match(v.detail, /retries in 3 s/);
  assert.equal(v.error, null);
  // Any other refusal is still an error with its red line.
  const t = after([
    [{ kind: "error", attempt: 2, reason: "attach failed: Unavailable: lnd unreachable", silentMs: null, code: "lnd_unreachable" }, NOW + 100],
    [{ kind: "reconnecting", attempt: 2, delayMs: 4000, wasRegistered: false }, NOW + 200],
  ], { connected: true, bridgeUrl: "http://b" });
  assert.equal(statusView(t, NOW + 1_200).state, "reconnecting");
  assert.notEqual(statusView(t, NOW + 1_200).error, null);
});
