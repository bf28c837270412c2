// Unit tests of worker/src/util.js (pure helpers; run in node directly).

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  AUTH_FAILURE_BURST, AUTH_FAILURE_REFILL_MS, DEFAULT_KEEPALIVE_SECONDS, FailureThrottle, MAX_SESSION_SECONDS,
  StatusTally, bearerToken, checkBridgeUrl, constantTimeEqual, decodeBase64, idleOptions, isLoopbackHost,
  keepaliveSeconds, parseSeconds, redact, redactDeep, requestSource, sessionLimit, silenceText,
  AUDIT_CHUNK_CHARS, AuditAppender, auditChunkKey, auditLineCount, openVaultError, policySummary, policyText,
  splitAuditText,
} from "../../worker/src/util.js";

test("parseSeconds: whole numbers 1..limit, default 30", () => {
  assert.deepEqual(parseSeconds(null), { seconds: 30 });
  assert.deepEqual(parseSeconds(""), { seconds: 30 });
  assert.deepEqual(parseSeconds("1"), { seconds: 1 });
  assert.deepEqual(parseSeconds("900"), { seconds: 900 });
  assert.deepEqual(parseSeconds("10", 10), { seconds: 10 });
  assert.deepEqual(parseSeconds(null, 10), { seconds: 10 });
  for (const bad of ["0", "901", "-5", "1.5", "1e3", " 5", "5 ", "abc", "0x10", "9999999"]) {
    assert.ok(parseSeconds(bad).error, `accepted ${JSON.stringify(bad)}`);
  }
  assert.ok(parseSeconds("11", 10).error);
  // A limit above the hard maximum is ignored.
  assert.ok(parseSeconds("1000", 5000).error);
});

test("sessionLimit: MAX_SESSION_SECONDS can only lower the limit", () => {
  assert.equal(sessionLimit(undefined), MAX_SESSION_SECONDS);
  assert.equal(sessionLimit(null), MAX_SESSION_SECONDS);
  assert.equal(sessionLimit(""), MAX_SESSION_SECONDS);
  assert.equal(sessionLimit("60"), 60);
  assert.equal(sessionLimit(" 120 "), 120);
  assert.equal(sessionLimit("100000"), MAX_SESSION_SECONDS);
  assert.equal(sessionLimit("0"), MAX_SESSION_SECONDS);
  assert.equal(sessionLimit("ten"), MAX_SESSION_SECONDS);
});

test("keepaliveSeconds: 1..60, default 30", () => {
  assert.equal(DEFAULT_KEEPALIVE_SECONDS, 30);
  assert.equal(keepaliveSeconds(undefined), 30);
  assert.equal(keepaliveSeconds(""), 30);
  assert.equal(keepaliveSeconds("2"), 2);
  assert.equal(keepaliveSeconds("60"), 60);
  assert.equal(keepaliveSeconds("61"), 60);
  assert.equal(keepaliveSeconds("600"), 60);
  assert.equal(keepaliveSeconds("0"), 30);
  assert.equal(keepaliveSeconds("2.5"), 30);
  assert.equal(keepaliveSeconds("x"), 30);
});

test("bearerToken: only the Bearer scheme with one token", () => {
  assert.equal(bearerToken("Bearer abc"), "abc");
  assert.equal(bearerToken("bearer abc"), "abc");
  assert.equal(bearerToken("Bearer  abc "), "abc");
  assert.equal(bearerToken("Bearer"), null);
  assert.equal(bearerToken("Bearer "), null);
  assert.equal(bearerToken("Bearer a b"), null);
  assert.equal(bearerToken("Basic abc"), null);
  assert.equal(bearerToken("abc"), null);
  assert.equal(bearerToken(null), null);
  assert.equal(bearerToken(undefined), null);
});

test("constantTimeEqual: equal strings only", async () => {
  assert.equal(await constantTimeEqual("0123456789abcdef", "0123456789abcdef"), true);
  assert.equal(await constantTimeEqual("0123456789abcdef", "0123456789abcdeF"), false);
  assert.equal(await constantTimeEqual("0123456789abcdef", "0123456789abcde"), false);
  assert.equal(await constantTimeEqual("0123456789abcdef", "0123456789abcdef0"), false);
  assert.equal(await constantTimeEqual("", ""), true);
  assert.equal(await constantTimeEqual("a", null), false);
  assert.equal(await constantTimeEqual(undefined, undefined), false);
  assert.equal(await constantTimeEqual("é", "e\u0301"), false);
});

test("decodeBase64: standard and URL-safe, whitespace and padding optional; errors never echo input", () => {
  const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7 + 3) & 0xff);
  const std = Buffer.from(bytes).toString("base64");
  assert.deepEqual(decodeBase64(std), bytes);
  assert.deepEqual(decodeBase64(std.replace(/=+$/, "")), bytes);
  assert.deepEqual(decodeBase64(`${std.slice(0, 60)}\n${std.slice(60)}\n`), bytes);
  assert.deepEqual(decodeBase64(Buffer.from(bytes).toString("base64url")), bytes);
  for (const bad of ["", "   ", "ab$cd", "abcde", "a===", 42]) {
    assert.throws(() => decodeBase64(bad), (e) => {
      assert.ok(!String(e.message).includes("ab$cd"));
      return true;
    });
  }
});

test("redact: every occurrence of every secret of 4+ characters", () => {
  assert.equal(redact("pass=hunter22 again hunter22", ["hunter22"]), "pass=[redacted] again [redacted]");
  assert.equal(redact("a b c", ["a", "", null]), "a b c");
  const v = redactDeep({ a: "x s3cret y", b: ["s3cret", 3, null], c: { d: "ok" } }, ["s3cret"]);
  assert.deepEqual(v, { a: "x [redacted] y", b: ["[redacted]", 3, null], c: { d: "ok" } });
});

test("StatusTally: counts statuses, requests by kind, errors and keeps the last 20 non-ping statuses", () => {
  const t = new StatusTally();
  t.add({ kind: "connecting", attempt: 1, url: "u" });
  t.add({ kind: "registered", attempt: 1, nodeInfo: "n" });
  for (let i = 0; i < 30; i++) {
    t.add({ kind: "request", requestKind: i % 3 === 0 ? "sign_psbt" : "shared_key", id: i + 2, latencyMs: 1, signMs: 0, error: null });
    t.add({ kind: "ping", id: 100 + i, latencyMs: 1 });
  }
  t.add({ kind: "request", requestKind: "musig2_sign", id: 99, latencyMs: 1, signMs: 0, error: "session not found" });
  t.add({ kind: "error", attempt: 1, reason: "bridge gone" });
  t.add({ kind: "reconnecting", attempt: 1, delayMs: 1000, wasRegistered: true });
  t.add({ kind: "disconnected", reason: "disconnected by the user" });
  const s = t.toJSON();
  assert.equal(s.handled, 31);
  assert.equal(s.pings, 30);
  assert.equal(s.registrations, 1);
  assert.equal(s.requestErrors, 1);
  assert.equal(s.connectionErrors, 1);
  assert.equal(s.errors, 2);
  assert.deepEqual(s.requestsByKind, { sign_psbt: 10, shared_key: 20, musig2_sign: 1 });
  assert.deepEqual(s.statuses, { connecting: 1, registered: 1, request: 31, ping: 30, error: 1, reconnecting: 1, disconnected: 1 });
  assert.equal(s.lastError, "bridge gone");
  assert.equal(s.disconnectReason, "disconnected by the user");
  assert.equal(s.recent.length, 20);
  assert.ok(s.recent.every((x) => x.kind !== "ping"));
  assert.equal(s.recent[s.recent.length - 1].kind, "disconnected");
});

test("idleOptions: interval × multiple by default, an explicit timeout wins, 0 turns the watchdog off", () => {
  assert.deepEqual(idleOptions(undefined, undefined, undefined), {
    options: { healthCheckIntervalMs: 60_000, idleMultiple: 3 },
    idleTimeoutSeconds: 180,
  });
  assert.deepEqual(idleOptions("5", " 2 ", ""), {
    options: { healthCheckIntervalMs: 5000, idleMultiple: 2 },
    idleTimeoutSeconds: 10,
  });
  assert.deepEqual(idleOptions("60", "0", null), {
    options: { healthCheckIntervalMs: 60_000, idleMultiple: 0 },
    idleTimeoutSeconds: null,
  });
  assert.deepEqual(idleOptions("60", "3", "45"), { options: { idleTimeoutMs: 45_000 }, idleTimeoutSeconds: 45 });
  assert.deepEqual(idleOptions("60", "3", "0"), { options: { idleTimeoutMs: 0 }, idleTimeoutSeconds: null });
  // Nonsense falls back to the defaults.
  assert.deepEqual(idleOptions("soon", "2.5", "-1"), {
    options: { healthCheckIntervalMs: 60_000, idleMultiple: 3 },
    idleTimeoutSeconds: 180,
  });
});

test("StatusTally: an attempt ended for silence is counted and said so", () => {
  const t = new StatusTally();
  t.add({ kind: "registered", attempt: 1, nodeInfo: "n" });
  t.add({ kind: "error", attempt: 1, reason: "no message from the watch-only node for 180.2 s (idle timeout 180 s): the link is presumed dead", silentMs: 180_200 });
  t.add({ kind: "error", attempt: 2, reason: "bridge gone", silentMs: null });
  const s = t.toJSON();
  assert.equal(s.connectionErrors, 2);
  assert.equal(s.silenceDrops, 1);
  assert.equal(s.lastSilence.text, "no message from lnd for 180 s — reconnecting");
  assert.equal(silenceText(9_600), "no message from lnd for 10 s — reconnecting");
  assert.ok(!Number.isNaN(Date.parse(s.lastSilence.at)));
  assert.equal(s.lastError, "bridge gone");
});

test("checkBridgeUrl: https anywhere, plain http only to loopback, no credentials", () => {
  assert.deepEqual(checkBridgeUrl("https://bridge.example.com/"), { url: "https://bridge.example.com" });
  assert.deepEqual(checkBridgeUrl(" https://bridge.example.com:8443 "), { url: "https://bridge.example.com:8443" });
  for (const ok of ["http://127.0.0.1:8090", "http://localhost:8090", "http://[::1]:8090", "http://127.1.2.3",
    "http://2130706433:8090", "HTTP://LOCALHOST"]) {
    assert.ok(checkBridgeUrl(ok).url, `${ok}: ${JSON.stringify(checkBridgeUrl(ok))}`);
  }
  for (const bad of ["http://bridge.example.com", "http://10.0.0.5:8090", "http://192.168.1.2", "http://[::2]:1",
    "http://127.0.0.1.example.com", "http://localhost.example.com", "http://128.0.0.1", "http://0.0.0.0:8090"]) {
    assert.match(checkBridgeUrl(bad).error ?? "", /plain http: is refused except for loopback/, bad);
  }
  assert.match(checkBridgeUrl("ftp://x").error, /must be an https: URL/);
  assert.match(checkBridgeUrl("not a url").error, /is not a URL/);
  assert.match(checkBridgeUrl("").error, /not configured/);
  assert.match(checkBridgeUrl(undefined).error, /not configured/);
  assert.match(checkBridgeUrl("https://u:p@bridge.example.com").error, /user name or password/);
  assert.equal(isLoopbackHost("127.0.0.1"), true);
  assert.equal(isLoopbackHost("example.com"), false);
  assert.equal(isLoopbackHost(null), false);
});

test("FailureThrottle: a burst of failures per source, then one per refill period; the right token waits too", () => {
  let now = 1_000_000;
  const t = new FailureThrottle({ now: () => now });
  for (let i = 0; i < AUTH_FAILURE_BURST; i++) {
    assert.equal(t.retryAfterSeconds("a"), 0, `attempt ${i}`);
    t.failed("a");
  }
  const wait = t.retryAfterSeconds("a");
  assert.equal(wait, Math.ceil(AUTH_FAILURE_REFILL_MS / 1000));
  assert.equal(t.retryAfterSeconds("b"), 0, "another source is not throttled");
  now += AUTH_FAILURE_REFILL_MS - 1;
  assert.ok(t.retryAfterSeconds("a") >= 1);
  now += 1;
  assert.equal(t.retryAfterSeconds("a"), 0, "one attempt per refill period");
  t.failed("a");
  assert.ok(t.retryAfterSeconds("a") >= 1);
  now += AUTH_FAILURE_REFILL_MS * AUTH_FAILURE_BURST;
  assert.equal(t.retryAfterSeconds("a"), 0);
});

test("FailureThrottle: a shared bucket catches sources that change their address; memory is bounded", () => {
  let now = 0;
  const t = new FailureThrottle({ now: () => now, globalBurst: 5, globalRefillMs: 1000, maxSources: 3 });
  for (let i = 0; i < 5; i++) t.failed(`src-${i}`);
  assert.equal(t.retryAfterSeconds("fresh"), 1, "the shared bucket is empty");
  assert.ok(t.size <= 3, `remembers ${t.size} sources`);
  now += 1000;
  assert.equal(t.retryAfterSeconds("fresh"), 0);
  for (let i = 0; i < 1000; i++) {
    now += 1000;
    t.failed(`many-${i}`);
  }
  assert.ok(t.size <= 3, `remembers ${t.size} sources`);
});

test("requestSource: CF-Connecting-IP when it looks like an address, else one shared 'unknown'", () => {
  const h = (v) => new Headers(v === undefined ? {} : { "cf-connecting-ip": v });
  assert.equal(requestSource(h("203.0.113.9")), "203.0.113.9");
  assert.equal(requestSource(h(" 2001:db8::1 ")), "2001:db8::1");
  assert.equal(requestSource(h()), "unknown");
  assert.equal(requestSource(h("x".repeat(100))), "unknown");
  assert.equal(requestSource(h("<script>")), "unknown");
  assert.equal(requestSource(null), "unknown");
});

test("policyText, openVaultError, policySummary: the POLICY binding", () => {
  assert.equal(policyText(undefined), null);
  assert.equal(policyText(null), null);
  assert.equal(policyText("  \n"), null);
  assert.equal(policyText(' {"preset":"strict"}\n'), '{"preset":"strict"}');
  // The core's message for a policy that does not parse (wasm openVault).
  const core = "the signing policy (sealed in the vault, or given to openVault) is invalid: policy key onchain.max_fee: expected a whole number, 0 or more, found -1";
  assert.deepEqual(openVaultError(core, true), {
    status: 503,
    message: "POLICY is not a valid signing policy, so the signer does not start: policy key onchain.max_fee: expected a whole number, 0 or more, found -1",
  });
  const sealed = openVaultError(core, false);
  assert.equal(sealed.status, 500);
  assert.match(sealed.message, /^the signing policy sealed in the vault is invalid, so the signer does not start: policy key onchain\.max_fee:/);
  assert.deepEqual(openVaultError("wrong passphrase", true), { status: 500, message: "cannot open the vault: wrong passphrase" });
  const view = { sealed: '{"preset":"strict"}', maxExternalPerTx: 0, overLimit: "ask", headless: "deny" };
  assert.deepEqual(policySummary(view, true), { source: "binding", maxExternalPerTx: 0, overLimit: "ask", headless: "deny" });
  assert.equal(policySummary(view, false).source, "vault");
  assert.equal(policySummary({ ...view, sealed: null }, false).source, "default");
});

test("audit chunks: keys sort in order, text is cut below the value limit, lines counted", () => {
  assert.equal(auditChunkKey(1), "audit:000000001");
  assert.equal(auditChunkKey(123456789), "audit:123456789");
  assert.ok(auditChunkKey(9) < auditChunkKey(10));
  assert.throws(() => auditChunkKey(0));
  assert.throws(() => auditChunkKey(1.5));
  assert.deepEqual(splitAuditText("abc\n"), ["abc\n"]);
  assert.deepEqual(splitAuditText("abcdefg\n", 3), ["abc", "def", "g\n"]);
  const long = "x".repeat(AUDIT_CHUNK_CHARS * 2 + 5);
  const pieces = splitAuditText(long);
  assert.equal(pieces.length, 3);
  assert.equal(pieces.join(""), long);
  assert.ok(pieces.every((p) => new TextEncoder().encode(p).length <= 128 * 1024));
  assert.equal(auditLineCount(""), 0);
  assert.equal(auditLineCount("a\n"), 1);
  assert.equal(auditLineCount("a\nb\nc\n"), 3);
});

test("AuditAppender: one write at a time in order, positions chained, every write after a failure refused", async () => {
  const stored = [];
  let fail = false;
  let inFlight = 0;
  const append = async (position, lines) => {
    inFlight++;
    assert.equal(inFlight, 1, "two writes overlapped");
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    if (fail) throw new Error("disk full");
    assert.equal(position, stored.length, "position is the stored chunk count");
    stored.push(lines);
    return stored.length;
  };
  const failures = [];
  const a = new AuditAppender(0, append, (f) => failures.push(f));
  const store = a.hook;
  await Promise.all([store("1\n"), store("2\n3\n"), store("4\n")]);
  assert.deepEqual(stored, ["1\n", "2\n3\n", "4\n"]);
  assert.equal(a.position, 3);
  assert.equal(a.stored, 4);
  fail = true;
  await assert.rejects(store("5\n"), /disk full/);
  fail = false;
  await assert.rejects(store("6\n"), /an earlier write failed \(disk full\); the signer must restart/);
  assert.deepEqual(stored, ["1\n", "2\n3\n", "4\n"], "nothing is stored after a gap");
  assert.deepEqual(failures, ["disk full"]);
  assert.equal(a.failure, "disk full");
});
