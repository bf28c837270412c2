// @ts-check
// Error categories of the signer tab, guessed from the English text of the
// reasons the wasm connection loop, the bridge and the vault give. This is
// the one place that does it; a later change carries a stable error code
// from wasm into JS and replaces these regular expressions. Unit-tested with
// the messages the page sees today (tests/page/unit/errors.test.mjs).

/**
 * @typedef {"macaroon" | "lnd" | "bridge" | "other"} ErrorCategory
 * @typedef {{ category: ErrorCategory, title: string, help: string }} Classified
 */

const MACAROON = /macaroon|unauthenticated|permissiondenied|permission denied/i;
const LND_NOT_READY = /lnd unreachable|lnd refused|lnd ended|lnd closed|lnd's tls|certificate|only one remote signer|handshake|registration|failedprecondition|deadlineexceeded/i;
const BRIDGE_UNREACHABLE = /fetch|network|failed to fetch|load failed|content-type|timed out|transport|connection refused|unavailable|cors/i;
const WRONG_PASSPHRASE = /wrong passphrase/i;

/**
 * The category of a connection error's reason, with the status panel's
 * title and help text. The checks run in this order: the first match wins.
 * @param {string | null | undefined} reason
 * @returns {Classified}
 */
export function classifyReason(reason) {
  const r = reason || "";
  if (MACAROON.test(r)) {
    return {
      category: "macaroon",
      title: "Macaroon rejected",
      help: "lnd did not accept the macaroon. Use the one baked for this node with lncli bakemacaroon … remotesigner:generate.",
    };
  }
  if (LND_NOT_READY.test(r)) {
    return {
      category: "lnd",
      title: "lnd not ready",
      help: "signer-bridge answered, but lnd's signer listener did not accept the stream (lnd starting, wrong --lnd-rpchost or tls.cert, or another signer connected).",
    };
  }
  if (BRIDGE_UNREACHABLE.test(r)) {
    return {
      category: "bridge",
      title: "Bridge unreachable",
      help: "Could not reach signer-bridge. Check the URL, that the bridge runs (with --grpc-web or behind Envoy) and that it allows this page's origin.",
    };
  }
  return { category: "other", title: "Connection error", help: "" };
}

/**
 * True for the vault's "wrong passphrase" (openVault, sealMacaroon).
 * @param {string} message
 */
export function isWrongPassphrase(message) {
  return WRONG_PASSPHRASE.test(message);
}

/** gRPC status code names, as tonic's Debug spells them. */
export const GRPC_CODES = Object.freeze({
  1: "Cancelled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded", 5: "NotFound",
  7: "PermissionDenied", 8: "ResourceExhausted", 9: "FailedPrecondition", 13: "Internal",
  14: "Unavailable", 16: "Unauthenticated",
});

/**
 * The reason text of an Attach stream's final grpc status, or null for OK
 * (or no status).
 * @param {{ code: number, message: string } | null | undefined} end
 */
export function attachEndReason(end) {
  if (!end || end.code === 0) return null;
  const name = Object.hasOwn(GRPC_CODES, end.code) ? GRPC_CODES[/** @type {keyof typeof GRPC_CODES} */ (end.code)] : end.code;
  return `attach stream ended: ${name}: ${end.message}`;
}

/**
 * The error shown when the idle watchdog dropped a silent link.
 * @param {number} silentMs
 */
export function silentError(silentMs) {
  const secs = Math.round(silentMs / 1000);
  return {
    reason: `no message from lnd for ${secs} s — reconnecting`,
    silent: true,
    title: "lnd went silent",
    help: "No message (not even lnd's health-check ping) arrived for longer than the limit in Settings → Connection, so the link is presumed dead and the signer reconnects.",
  };
}

/**
 * The text of a thrown value (the worker's errors arrive as Error).
 * @param {unknown} e
 */
export function errorMessage(e) {
  return e instanceof Error ? e.message : String(e);
}
