// @ts-check
// Error categories of the signer tab, by the stable error code the wasm
// signer gives every `error` and `disconnected` status and every Attach
// stream's end (ErrorCode in pkg/lnd_web_signer.d.ts; set in
// wasm/src/error_code.rs from gRPC codes, transport failures and the signer
// loop's own checks — docs/wasm-transport.md, "Error codes"). No English
// text is read here.
//
// No connection error originates in JS: a fetch that fails before any
// response is caught by the wasm transport (code bridge_unreachable), the
// idle watchdog runs in wasm (lnd_silent). The only fallback is for an event
// without a known code (a wasm package older or newer than this page): it is
// shown as a plain "Connection error". Unit-tested in
// tests/page/unit/errors.test.mjs.

/**
 * @typedef {import("../pkg/lnd_web_signer.js").ErrorCode} ErrorCode
 * @typedef {"macaroon" | "lnd" | "bridge" | "standby" | "other"} ErrorCategory
 * @typedef {{ category: ErrorCategory, title: string, help: string }} Classified
 */

const BRIDGE_HELP = "Could not reach signer-bridge. Check the URL, that the bridge runs (with --grpc-web or behind Envoy) and that it allows this page's origin.";
const LND_HELP = "signer-bridge answered, but lnd's signer listener did not accept the stream (lnd starting, wrong --lnd-rpchost or tls.cert).";

/** What the status panel shows for each code. */
/** @type {Readonly<Record<ErrorCode, Classified>>} */
export const ERROR_CLASSES = Object.freeze({
  bridge_unreachable: { category: "bridge", title: "Bridge unreachable", help: BRIDGE_HELP },
  bridge_timeout: {
    category: "bridge",
    title: "Bridge not answering",
    help: "signer-bridge did not answer in time (the Attach call, its session token or a Reply). Check that it is not overloaded and that no proxy in front of it holds back the stream.",
  },
  bridge_busy: {
    category: "bridge",
    title: "Bridge busy",
    help: "signer-bridge refused the attempt for now (too many Attach attempts from this address, or too many sessions at once). The signer retries with backoff.",
  },
  bridge_shutdown: {
    category: "bridge",
    title: "Bridge shutting down",
    help: "signer-bridge is stopping (a restart or a deploy). The signer attaches again once it is back.",
  },
  lnd_unreachable: {
    category: "lnd",
    title: "lnd not ready",
    help: "signer-bridge answered, but could not reach lnd (lnd not running or still starting, wrong --lnd-rpchost, or the TLS handshake with lnd failed).",
  },
  tls_mismatch: {
    category: "lnd",
    title: "lnd's TLS certificate changed",
    help: "lnd presented another TLS certificate than the one signer-bridge pins: give the bridge this node's current tls.cert (--lnd-tlscertpath).",
  },
  macaroon_rejected: {
    category: "macaroon",
    title: "Macaroon rejected",
    help: "lnd did not accept the macaroon. Use the one baked for this node with lncli bakemacaroon … remotesigner:generate.",
  },
  lnd_refused: { category: "lnd", title: "lnd not ready", help: LND_HELP },
  another_signer: {
    category: "standby",
    title: "Another signer is connected to this node",
    help: "lnd accepts one signer at a time. The signer retries with its usual backoff and signs once the other one leaves.",
  },
  handshake_timeout: {
    category: "lnd",
    title: "lnd not ready",
    help: "lnd did not answer the signer's registration in time (lnd still starting, or busy).",
  },
  lnd_lost: {
    category: "lnd",
    title: "Connection to lnd lost",
    help: "signer-bridge lost its connection to lnd, or lnd closed the signer stream (lnd restarting, a network drop between the bridge and lnd). The signer attaches again.",
  },
  lnd_silent: {
    category: "lnd",
    title: "lnd went silent",
    help: "No message (not even lnd's health-check ping) arrived for longer than the limit in Settings → Connection, so the link is presumed dead and the signer reconnects.",
  },
  session_ended: {
    category: "other",
    title: "Session ended",
    help: "signer-bridge ended the session (its stream to lnd closed, or the session token expired). The signer attaches again.",
  },
  protocol: {
    category: "other",
    title: "Protocol error",
    help: "signer-bridge or lnd sent something the signer does not accept (an unexpected or malformed message). Check that the bridge and the signer are of matching versions.",
  },
  internal: { category: "other", title: "Internal error", help: "A failure inside the signer or signer-bridge; its log has the details." },
  locked: { category: "other", title: "Signer locked", help: "" },
  disconnected: { category: "other", title: "Disconnected", help: "" },
});

/** @type {Classified} */
const UNKNOWN = Object.freeze({ category: "other", title: "Connection error", help: "" });

/**
 * The category of an error code, with the status panel's title and help
 * text; an unknown or missing code is a plain "Connection error".
 * @param {string | null | undefined} code
 * @returns {Classified}
 */
export function classifyCode(code) {
  return code && Object.hasOwn(ERROR_CLASSES, code) ? ERROR_CLASSES[/** @type {ErrorCode} */ (code)] : UNKNOWN;
}

/**
 * True for the vault's "wrong passphrase" (openVault, sealMacaroon): the
 * vault's own fixed error text (src/vault.rs), not a connection error.
 * @param {string} message
 */
export function isWrongPassphrase(message) {
  return /wrong passphrase/i.test(message);
}

/** gRPC status code names, as tonic's Debug spells them (for the reason text only). */
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
    ...ERROR_CLASSES.lnd_silent,
  };
}

/**
 * The text of a thrown value (the worker's errors arrive as Error).
 * @param {unknown} e
 */
export function errorMessage(e) {
  return e instanceof Error ? e.message : String(e);
}
