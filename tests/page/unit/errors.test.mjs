// Unit tests of web/lib/errors.js: the status panel's category, title and
// help for each error code of the wasm signer. The codes are set in wasm
// (wasm/src/error_code.rs, with its own Rust tests of which gRPC code,
// phase and transport failure gets which code); the messages below are the
// real reasons the page sees with them (wasm/src/connection.rs status_text
// "attach failed: {Code:?}: {message}", its own timeouts;
// wasm/src/transport.rs fetch and content-type errors, HTTP statuses without
// a gRPC answer; signer-bridge's native/src/bridge/status.rs, service.rs),
// kept to show that the text plays no part.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import { attachEndReason, classifyCode, ERROR_CLASSES, errorMessage, GRPC_CODES, isWrongPassphrase, silentError } from "../../../web/lib/errors.js";
import { declarations, errorCodes } from "./pkg.mjs";

const ATTACH_URL = "http://127.0.0.1:9/signerbridge.SignerBridge/Attach";

/** [reason, code the wasm signer gives it, expected category, expected title] */
const CASES = [
  // No gRPC answer from the bridge (transport.rs: fetch rejected, not grpc-web, body broke off, HTTP without grpc-status).
  [`fetch ${ATTACH_URL} failed: TypeError: Failed to fetch`, "bridge_unreachable", "bridge", "Bridge unreachable"],
  [`fetch ${ATTACH_URL} failed: TypeError: NetworkError when attempting to fetch resource.`, "bridge_unreachable", "bridge", "Bridge unreachable"],
  [`fetch ${ATTACH_URL} failed: TypeError: Load failed`, "bridge_unreachable", "bridge", "Bridge unreachable"],
  ["unexpected response content-type \"text/html\" (expected application/grpc-web+proto)", "bridge_unreachable", "bridge", "Bridge unreachable"],
  ["reading the grpc-web response body failed: TypeError: network error", "bridge_unreachable", "bridge", "Bridge unreachable"],
  ["attach failed: Unavailable: bridge answered HTTP 502", "bridge_unreachable", "bridge", "Bridge unreachable"],
  ["attach failed: Unimplemented: bridge answered HTTP 404", "bridge_unreachable", "bridge", "Bridge unreachable"],
  // The signer loop's own deadlines.
  ["attach timed out after 10s", "bridge_timeout", "bridge", "Bridge not answering"],
  ["no session token from the bridge in time", "bridge_timeout", "bridge", "Bridge not answering"],
  ["reply to request 5 timed out after 10s", "bridge_timeout", "bridge", "Bridge not answering"],
  // The bridge's ResourceExhausted and its shutdown.
  ["attach failed: ResourceExhausted: too many Attach attempts from this address (at most 4 at once, then 30 per minute); retry in 2 s", "bridge_busy", "bridge", "Bridge busy"],
  ["attach failed: Unavailable: signer-bridge is shutting down", "bridge_shutdown", "bridge", "Bridge shutting down"],
  ["attach stream failed: Unavailable: signer-bridge is shutting down", "bridge_shutdown", "bridge", "Bridge shutting down"],

  // A lost lnd connection, reported as Unavailable by the bridge on an
  // open stream: "Bridge unreachable" while the page guessed from the text,
  // lnd's now.
  [
    "attach stream ended: Unavailable: connection to lnd at 127.0.0.1:39973 lost 2.014 s after its last message (peer closed connection without sending TLS close_notify); attach again",
    "lnd_lost", "lnd", "Connection to lnd lost",
  ],
  ["attach stream ended: DeadlineExceeded: lnd ended the signer stream: DeadlineExceeded", "lnd_lost", "lnd", "Connection to lnd lost"],
  ["attach stream ended: Unavailable: lnd closed the signer stream (status OK); attach again", "lnd_lost", "lnd", "Connection to lnd lost"],
  ["attach stream failed during the handshake: Unavailable: lnd ended the signer stream: EOF", "lnd_lost", "lnd", "Connection to lnd lost"],

  // Macaroon rejected (bridge status.rs open_status, service.rs caller_macaroon, HTTP 401).
  ["attach stream ended: Unauthenticated: lnd rejected the macaroon: verification failed: signature mismatch after caveat verification", "macaroon_rejected", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: lnd rejected the macaroon: cannot get macaroon: root key with id 1 doesn't exist", "macaroon_rejected", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: the macaroon metadata is not hex", "macaroon_rejected", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: Attach carries no macaroon metadata; send lnd's signer macaroon (for an lnd run with --no-macaroons start signer-bridge with --allow-no-macaroon)", "macaroon_rejected", "macaroon", "Macaroon rejected"],
  ["attach failed: PermissionDenied", "macaroon_rejected", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: bridge answered HTTP 401", "macaroon_rejected", "macaroon", "Macaroon rejected"],

  // The bridge answered, lnd did not take the stream.
  ["attach failed: Unavailable: lnd unreachable at 127.0.0.1:10019: Connection refused (os error 111)", "lnd_unreachable", "lnd", "lnd not ready"],
  ["attach failed: Unavailable: lnd unreachable at 127.0.0.1:10019: no TLS connection within 5000 ms", "lnd_unreachable", "lnd", "lnd not ready"],
  ["attach failed: Unavailable: TLS handshake with lnd at 127.0.0.1:10009 failed: received corrupt message", "lnd_unreachable", "lnd", "lnd not ready"],
  ["attach failed: FailedPrecondition: lnd's TLS certificate does not match --lnd-tlscertpath /x/tls.cert (lnd at 127.0.0.1:10009 presented a different certificate)", "tls_mismatch", "lnd", "lnd's TLS certificate changed"],
  ["attach stream ended: Unknown: lnd refused the signer stream: only one remote signer can be connected", "another_signer", "standby", "Another signer is connected to this node"],
  ["watch-only node rejected the registration: not a watch-only node", "lnd_refused", "lnd", "lnd not ready"],
  ["registration reply timed out", "handshake_timeout", "lnd", "lnd not ready"],
  ["no registration response from the watch-only node within 5s", "handshake_timeout", "lnd", "lnd not ready"],

  // The rest.
  ["reply to request 5 failed: NotFound: unknown or expired session token; attach again", "session_ended", "other", "Session ended"],
  ["bridge ended the attach stream during the handshake", "session_ended", "other", "Session ended"],
  ["bridge sent a second session token", "protocol", "other", "Protocol error"],
  ["grpc-web frame of 300000000 bytes exceeds the limit of 209715200 bytes", "protocol", "other", "Protocol error"],
  ["attach failed: Internal: invalid --lnd-rpchost x: invalid authority", "internal", "other", "Internal error"],
];

for (const [reason, code, category, title] of CASES) {
  test(`classifyCode: ${code}: ${reason.slice(0, 80)}`, () => {
    const c = classifyCode(code);
    assert.equal(c.category, category);
    assert.equal(c.title, title);
    assert.ok(c.help.length > 20, "a help text");
  });
}

test("every code the wasm signer exports is classified, and no other", () => {
  const codes = errorCodes();
  assert.ok(codes.length >= 16, `codes: ${codes}`);
  assert.deepEqual([...codes].sort(), Object.keys(ERROR_CLASSES).sort());
  for (const code of codes) {
    const c = classifyCode(code);
    assert.notEqual(c.title, "Connection error", code);
    assert.match(code, /^[a-z_]+$/);
  }
  // The covered causes above use only exported codes.
  for (const [, code] of CASES) assert.ok(codes.includes(code), code);
});

test("the .d.ts ErrorCode union lists exactly the exported codes", () => {
  const dts = declarations();
  const m = dts.match(/export type ErrorCode =([^;]+);/);
  assert.ok(m, "ErrorCode in the .d.ts");
  const listed = [...m[1].matchAll(/"([a-z_]+)"/g)].map((x) => x[1]);
  assert.deepEqual(listed, errorCodes());
});

test("classifyCode: unknown, missing and inherited names are a plain connection error", () => {
  for (const code of [null, undefined, "", "some_future_code", "toString", "__proto__"]) {
    const c = classifyCode(code);
    assert.equal(c.category, "other", String(code));
    assert.equal(c.title, "Connection error");
    assert.equal(c.help, "");
  }
});

test("classifyCode: help texts name what to check", () => {
  assert.match(classifyCode("macaroon_rejected").help, /remotesigner:generate/);
  assert.match(classifyCode("lnd_refused").help, /--lnd-rpchost or tls\.cert/);
  assert.match(classifyCode("lnd_unreachable").help, /--lnd-rpchost/);
  assert.match(classifyCode("bridge_unreachable").help, /--grpc-web or behind Envoy/);
  assert.match(classifyCode("tls_mismatch").help, /--lnd-tlscertpath/);
});

test("isWrongPassphrase: the vault's error, in any case", () => {
  assert.ok(isWrongPassphrase("wrong passphrase"));
  assert.ok(isWrongPassphrase("Wrong passphrase"));
  assert.ok(!isWrongPassphrase("the signer is locked"));
  assert.ok(!isWrongPassphrase("vaultPassphrase must not be empty"));
});

test("attachEndReason: the stream's final status, by code name", () => {
  assert.equal(attachEndReason({ code: 16, message: "lnd rejected the macaroon: x" }), "attach stream ended: Unauthenticated: lnd rejected the macaroon: x");
  assert.equal(attachEndReason({ code: 14, message: "lnd closed" }), "attach stream ended: Unavailable: lnd closed");
  assert.equal(attachEndReason({ code: 12, message: "nope" }), "attach stream ended: 12: nope");
  assert.equal(attachEndReason({ code: 0, message: "" }), null);
  assert.equal(attachEndReason(null), null);
  assert.equal(attachEndReason(undefined), null);
  assert.equal(GRPC_CODES[4], "DeadlineExceeded");
});

test("silentError: the idle watchdog's reason, rounded to seconds", () => {
  const e = silentError(10_400);
  assert.equal(e.reason, "no message from lnd for 10 s — reconnecting");
  assert.equal(e.title, "lnd went silent");
  assert.equal(e.category, "lnd");
  assert.ok(e.silent);
  assert.match(e.help, /presumed dead/);
  assert.equal(e.help, classifyCode("lnd_silent").help);
  assert.equal(silentError(10_600).reason, "no message from lnd for 11 s — reconnecting");
});

test("errorMessage: Errors and anything thrown", () => {
  assert.equal(errorMessage(new Error("boom")), "boom");
  assert.equal(errorMessage("text"), "text");
  assert.equal(errorMessage(42), "42");
});
