// Pure helpers of the worker (no wasm, no bindings): request parsing, the
// bearer-token check, redaction and the session summary. Unit-tested in
// node (tests/worker/util.test.mjs); index.js wires them to the signer.

/** Longest session one request may ask for (seconds). */
export const MAX_SESSION_SECONDS = 900;
/** Session length when `seconds` is absent. */
export const DEFAULT_SESSION_SECONDS = 30;
/** Shortest accepted CONTROL_TOKEN (characters). */
export const MIN_TOKEN_LENGTH = 16;
/** Non-ping statuses kept in a summary's `recent` list. */
export const RECENT_STATUSES = 20;

/**
 * The session length from the `seconds` query parameter: a whole number
 * 1..max. Returns {seconds} or {error}.
 */
export function parseSeconds(raw, max = MAX_SESSION_SECONDS) {
  const limit = Math.min(max, MAX_SESSION_SECONDS);
  if (raw === null || raw === undefined || raw === "") {
    return { seconds: Math.min(DEFAULT_SESSION_SECONDS, limit) };
  }
  if (!/^[0-9]{1,6}$/.test(raw)) {
    return { error: `seconds must be a whole number from 1 to ${limit}` };
  }
  const n = Number(raw);
  if (n < 1 || n > limit) {
    return { error: `seconds must be a whole number from 1 to ${limit}` };
  }
  return { seconds: n };
}

/** The optional MAX_SESSION_SECONDS binding (lowers the limit, never raises it). */
export function sessionLimit(raw) {
  if (raw === null || raw === undefined || String(raw).trim() === "") return MAX_SESSION_SECONDS;
  const n = Number(String(raw).trim());
  if (!Number.isInteger(n) || n < 1) return MAX_SESSION_SECONDS;
  return Math.min(n, MAX_SESSION_SECONDS);
}

/** Default alarm period of the always-on Durable Object (seconds). */
export const DEFAULT_KEEPALIVE_SECONDS = 30;

/**
 * The KEEPALIVE_SECONDS binding: 1..60 (Cloudflare evicts an idle Durable
 * Object after roughly 70-140 s), default 30.
 */
export function keepaliveSeconds(raw) {
  if (raw === null || raw === undefined || String(raw).trim() === "") return DEFAULT_KEEPALIVE_SECONDS;
  const n = Number(String(raw).trim());
  if (!Number.isInteger(n) || n < 1) return DEFAULT_KEEPALIVE_SECONDS;
  return Math.min(n, 60);
}

/** lnd's default healthcheck.remotesigner.interval (seconds). */
export const DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS = 60;
/** Default idle watchdog: reconnect after this many silent health-check intervals. */
export const DEFAULT_IDLE_MULTIPLE = 3;

function nonNegative(raw) {
  if (raw === null || raw === undefined || String(raw).trim() === "") return null;
  const n = Number(String(raw).trim());
  return Number.isFinite(n) && n >= 0 ? n : null;
}

/**
 * The idle watchdog options of UnlockedSigner.connect from the
 * HEALTH_CHECK_INTERVAL_SECONDS, IDLE_MULTIPLE and IDLE_TIMEOUT_SECONDS
 * bindings: the signer reconnects when no message at all came from lnd for
 * interval × multiple (default 60 s × 3), or for IDLE_TIMEOUT_SECONDS when
 * that is set; a multiple or timeout of 0 turns the watchdog off. Values
 * that are not numbers ≥ 0 (or, for the multiple, not whole) fall back to
 * the defaults. Returns {options, idleTimeoutSeconds} (null seconds: off).
 */
export function idleOptions(intervalRaw, multipleRaw, timeoutRaw) {
  const timeout = nonNegative(timeoutRaw);
  if (timeout !== null) {
    return { options: { idleTimeoutMs: Math.round(timeout * 1000) }, idleTimeoutSeconds: timeout || null };
  }
  const interval = nonNegative(intervalRaw) ?? DEFAULT_HEALTH_CHECK_INTERVAL_SECONDS;
  let multiple = nonNegative(multipleRaw);
  if (multiple === null || !Number.isInteger(multiple)) multiple = DEFAULT_IDLE_MULTIPLE;
  return {
    options: { healthCheckIntervalMs: Math.round(interval * 1000), idleMultiple: multiple },
    idleTimeoutSeconds: interval * multiple || null,
  };
}

/** The text for an attempt the idle watchdog ended (an `error` status with silentMs). */
export function silenceText(silentMs) {
  return `no message from lnd for ${Math.round(silentMs / 1000)} s — reconnecting`;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header) {
  if (typeof header !== "string") return null;
  const m = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(header);
  return m ? m[1] : null;
}

async function sha256(text) {
  const bytes = new TextEncoder().encode(text);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/**
 * Compares two strings in time independent of where they differ and of
 * their lengths: both are hashed (SHA-256) and the digests compared with
 * an XOR accumulator over all 32 bytes.
 */
export async function constantTimeEqual(a, b) {
  if (typeof a !== "string" || typeof b !== "string") return false;
  const [x, y] = await Promise.all([sha256(a), sha256(b)]);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}

/**
 * Decodes the VAULT binding (standard or URL-safe base64, whitespace and
 * padding optional). Throws an Error that never contains the input.
 */
export function decodeBase64(text) {
  if (typeof text !== "string") throw new Error("is not text");
  let s = text.replace(/\s+/g, "").replace(/-/g, "+").replace(/_/g, "/");
  if (s.length === 0) throw new Error("is empty");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) throw new Error("is not base64");
  s = s.replace(/=+$/, "");
  if (s.length % 4 === 1) throw new Error("is not base64 (bad length)");
  s += "=".repeat((4 - (s.length % 4)) % 4);
  let bin;
  try {
    bin = atob(s);
  } catch {
    throw new Error("is not base64");
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * Replaces every occurrence of a secret value in `text` by `[redacted]`.
 * Values shorter than 4 characters are ignored (they would mangle
 * ordinary words and cannot be meaningful secrets).
 */
export function redact(text, secrets) {
  let out = String(text);
  for (const s of secrets) {
    if (typeof s !== "string" || s.length < 4) continue;
    out = out.split(s).join("[redacted]");
  }
  return out;
}

/** Redacts every string inside a JSON-like value. */
export function redactDeep(value, secrets) {
  if (typeof value === "string") return redact(value, secrets);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, secrets));
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactDeep(v, secrets);
    return out;
  }
  return value;
}

/**
 * Collects the signer's status events (docs/wasm-transport.md) into the
 * session summary: counts per kind, answered requests per request kind,
 * errors, and the last few non-ping statuses.
 */
export class StatusTally {
  constructor() {
    this.statuses = {};
    this.handled = 0;
    this.requestErrors = 0;
    this.connectionErrors = 0;
    this.pings = 0;
    this.registrations = 0;
    this.requestsByKind = {};
    this.recent = [];
    this.lastError = null;
    this.disconnectReason = null;
    this.silenceDrops = 0;
    this.lastSilence = null;
  }

  /** Records one status object. */
  add(status) {
    const kind = status && typeof status.kind === "string" ? status.kind : "unknown";
    this.statuses[kind] = (this.statuses[kind] ?? 0) + 1;
    switch (kind) {
      case "request": {
        this.handled += 1;
        const rk = typeof status.requestKind === "string" ? status.requestKind : "unknown";
        this.requestsByKind[rk] = (this.requestsByKind[rk] ?? 0) + 1;
        if (status.error !== null && status.error !== undefined) {
          this.requestErrors += 1;
          this.lastError = `${rk} request ${status.id}: ${status.error}`;
        }
        break;
      }
      case "ping":
        this.pings += 1;
        break;
      case "registered":
        this.registrations += 1;
        break;
      case "error":
        this.connectionErrors += 1;
        if (typeof status.silentMs === "number") {
          // The idle watchdog dropped a link on which lnd had gone silent.
          this.silenceDrops += 1;
          this.lastSilence = { text: silenceText(status.silentMs), at: new Date().toISOString() };
          this.lastError = this.lastSilence.text;
        } else {
          this.lastError = String(status.reason ?? "");
        }
        break;
      case "disconnected":
        this.disconnectReason = String(status.reason ?? "");
        break;
      default:
        break;
    }
    if (kind !== "ping") {
      this.recent.push(status);
      if (this.recent.length > RECENT_STATUSES) this.recent.shift();
    }
  }

  /** The counters as a plain object (merged into the summary). */
  toJSON() {
    return {
      handled: this.handled,
      errors: this.requestErrors + this.connectionErrors,
      requestErrors: this.requestErrors,
      connectionErrors: this.connectionErrors,
      pings: this.pings,
      registrations: this.registrations,
      requestsByKind: this.requestsByKind,
      statuses: this.statuses,
      lastError: this.lastError,
      silenceDrops: this.silenceDrops,
      lastSilence: this.lastSilence,
      disconnectReason: this.disconnectReason,
      recent: this.recent,
    };
  }
}
