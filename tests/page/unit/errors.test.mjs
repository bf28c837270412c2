// Unit tests of web/lib/errors.js: the error categories the page guesses
// from the reasons it is given today. The messages are the ones the wasm
// connection loop (src/wasm/connection.rs: status_text "attach failed:
// {Code:?}: {message}", its own timeouts; src/wasm/transport.rs: fetch and
// content-type errors, HTTP statuses without a gRPC answer), signer-bridge
// (native/src/bridge/status.rs, service.rs) and the vault (src/vault.rs)
// produce, as they reach the page.
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { test } from "node:test";
import { attachEndReason, classifyReason, errorMessage, GRPC_CODES, isWrongPassphrase, silentError } from "../../../web/lib/errors.js";

const ATTACH_URL = "http://127.0.0.1:9/signerbridge.SignerBridge/Attach";

/** [reason, expected category, expected title] */
const CASES = [
  // The bridge cannot be reached (transport.rs: "fetch {url} failed: {reason}", per browser).
  [`fetch ${ATTACH_URL} failed: TypeError: Failed to fetch`, "bridge", "Bridge unreachable"],
  [`fetch ${ATTACH_URL} failed: TypeError: NetworkError when attempting to fetch resource.`, "bridge", "Bridge unreachable"],
  [`fetch ${ATTACH_URL} failed: TypeError: Load failed`, "bridge", "Bridge unreachable"],
  ["unexpected response content-type \"text/html\" (expected application/grpc-web+proto)", "bridge", "Bridge unreachable"],
  ["reading the grpc-web response body failed: TypeError: network error", "bridge", "Bridge unreachable"],
  ["attach timed out after 10s", "bridge", "Bridge unreachable"],
  ["attach failed: Unavailable: bridge answered HTTP 502", "bridge", "Bridge unreachable"],
  ["attach failed: Unavailable: signer-bridge is shutting down", "bridge", "Bridge unreachable"],
  // A lost lnd connection is reported as Unavailable by the bridge; today's
  // regular expressions call it "Bridge unreachable" (no "lnd …" phrase they
  // know). Kept as is: the error code from wasm will tell them apart.
  [
    "attach stream ended: Unavailable: connection to lnd at 127.0.0.1:39973 lost 2.014 s after its last message (peer closed connection without sending TLS close_notify); attach again",
    "bridge", "Bridge unreachable",
  ],

  // lnd rejected the macaroon (bridge status.rs open_status, service.rs caller_macaroon).
  ["attach stream ended: Unauthenticated: lnd rejected the macaroon: verification failed: signature mismatch after caveat verification", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: lnd rejected the macaroon: cannot get macaroon: root key with id 1 doesn't exist", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: the macaroon metadata is not hex", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: Attach carries no macaroon metadata; send lnd's signer macaroon (for an lnd run with --no-macaroons start signer-bridge with --allow-no-macaroon)", "macaroon", "Macaroon rejected"],
  ["attach failed: PermissionDenied", "macaroon", "Macaroon rejected"],
  ["attach stream ended: Unknown: lnd refused the signer stream: permission denied", "macaroon", "Macaroon rejected"],
  ["attach failed: Unauthenticated: bridge answered HTTP 401", "macaroon", "Macaroon rejected"],

  // The bridge answered but lnd's signer listener did not take the stream.
  ["attach failed: Unavailable: lnd unreachable at 127.0.0.1:10019: Connection refused (os error 111)", "lnd", "lnd not ready"],
  ["attach failed: Unavailable: lnd unreachable at 127.0.0.1:10019: no TLS connection within 5000 ms", "lnd", "lnd not ready"],
  ["attach failed: FailedPrecondition: lnd's TLS certificate does not match --lnd-tlscertpath /x/tls.cert (lnd at 127.0.0.1:10009 presented a different certificate)", "lnd", "lnd not ready"],
  ["attach failed: Unavailable: TLS handshake with lnd at 127.0.0.1:10009 failed: received corrupt message", "lnd", "lnd not ready"],
  ["attach stream ended: Unknown: lnd refused the signer stream: only one remote signer can be connected", "lnd", "lnd not ready"],
  ["attach stream ended: DeadlineExceeded: lnd ended the signer stream: DeadlineExceeded", "lnd", "lnd not ready"],
  ["attach stream ended: Unavailable: lnd closed the signer stream (status OK); attach again", "lnd", "lnd not ready"],
  ["registration reply timed out", "lnd", "lnd not ready"],
  ["attach stream failed during the handshake: Unavailable: lnd ended the signer stream: EOF", "lnd", "lnd not ready"],
  ["bridge ended the attach stream during the handshake", "lnd", "lnd not ready"],

  // No category.
  ["no session token from the bridge in time", "other", "Connection error"],
  ["reply to request 5 failed: NotFound: unknown or expired session token; attach again", "other", "Connection error"],
  ["attach failed: ResourceExhausted: too many Attach attempts from this address (at most 4 at once, then 30 per minute); retry in 2 s", "other", "Connection error"],
  ["attach failed: Unimplemented: bridge answered HTTP 404", "other", "Connection error"],
  ["", "other", "Connection error"],
];

for (const [reason, category, title] of CASES) {
  test(`classifyReason: ${category}: ${reason.slice(0, 90)}`, () => {
    const c = classifyReason(reason);
    assert.equal(c.category, category);
    assert.equal(c.title, title);
    if (category === "other") assert.equal(c.help, "");
    else assert.ok(c.help.length > 20, "a help text");
  });
}

test("classifyReason: null and undefined are no category", () => {
  assert.equal(classifyReason(null).category, "other");
  assert.equal(classifyReason(undefined).category, "other");
});

test("classifyReason: help texts name what to check", () => {
  assert.match(classifyReason("lnd rejected the macaroon").help, /remotesigner:generate/);
  assert.match(classifyReason("lnd unreachable at x").help, /--lnd-rpchost or tls\.cert/);
  assert.match(classifyReason("Failed to fetch").help, /--grpc-web or behind Envoy/);
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
  // The reason a rejected macaroon produces is classified as one.
  assert.equal(classifyReason(attachEndReason({ code: 16, message: "lnd rejected the macaroon: verification failed" })).category, "macaroon");
});

test("silentError: the idle watchdog's reason, rounded to seconds", () => {
  const e = silentError(10_400);
  assert.equal(e.reason, "no message from lnd for 10 s — reconnecting");
  assert.equal(e.title, "lnd went silent");
  assert.ok(e.silent);
  assert.match(e.help, /presumed dead/);
  assert.equal(silentError(10_600).reason, "no message from lnd for 11 s — reconnecting");
});

test("errorMessage: Errors and anything thrown", () => {
  assert.equal(errorMessage(new Error("boom")), "boom");
  assert.equal(errorMessage("text"), "text");
  assert.equal(errorMessage(42), "42");
});
