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

/**
 * True for host names that can only mean this machine: `localhost`, an
 * IPv4 address in 127.0.0.0/8 or IPv6 `::1` (as `URL.hostname` spells them;
 * the URL parser already turned `2130706433` or `0x7f.1` into 127.0.0.1).
 */
export function isLoopbackHost(hostname) {
  if (typeof hostname !== "string") return false;
  const h = hostname.toLowerCase();
  if (h === "localhost" || h === "[::1]") return true;
  return /^127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$/.test(h);
}

/**
 * The BRIDGE_URL binding checked: an absolute https: URL, or http: only
 * towards loopback (a signer-bridge on the same machine, for development
 * and tests) — over plain http anyone on the path reads lnd's macaroon and
 * every request. No user name or password in it. Returns {url} (without
 * trailing slashes) or {error}.
 */
export function checkBridgeUrl(raw) {
  if (typeof raw !== "string" || raw.trim() === "") return { error: "BRIDGE_URL is not configured" };
  let url;
  try {
    url = new URL(raw.trim());
  } catch {
    return { error: "BRIDGE_URL is not a URL" };
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { error: "BRIDGE_URL must be an https: URL" };
  }
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    return {
      error: "BRIDGE_URL must be an https: URL: plain http: is refused except for loopback (localhost, 127.0.0.0/8, [::1])",
    };
  }
  if (url.username !== "" || url.password !== "") {
    return { error: "BRIDGE_URL must not carry a user name or password" };
  }
  return { url: url.href.replace(/\/+$/, "") };
}

/** Failed control-token attempts one source may make in a burst. */
export const AUTH_FAILURE_BURST = 10;
/** After the burst, one more failed attempt per source every this many ms. */
export const AUTH_FAILURE_REFILL_MS = 6_000;
/** Failed attempts of all sources together in a burst (per isolate). */
export const AUTH_FAILURE_GLOBAL_BURST = 30;
/** After that burst, one more failed attempt in all every this many ms. */
export const AUTH_FAILURE_GLOBAL_REFILL_MS = 2_000;
/** Sources remembered at once; the fullest buckets are forgotten first. */
export const AUTH_FAILURE_MAX_SOURCES = 1_024;

class Bucket {
  constructor(capacity, refillMs, now) {
    this.capacity = capacity;
    this.refillMs = refillMs;
    this.tokens = capacity;
    this.at = now;
  }

  refill(now) {
    if (now > this.at) {
      const gained = (now - this.at) / this.refillMs;
      this.tokens = Math.min(this.capacity, this.tokens + gained);
    }
    this.at = now;
  }

  /** Milliseconds until one token is there again (0: there is one now). */
  waitMs(now) {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil((1 - this.tokens) * this.refillMs);
  }

  take(now) {
    this.refill(now);
    this.tokens = Math.max(0, this.tokens - 1);
  }

  full(now) {
    this.refill(now);
    return this.tokens >= this.capacity;
  }
}

/**
 * Throttles failed control-token attempts: token buckets per source (the
 * caller's address) and one for all sources together. Only failures take
 * from the buckets; while a source's bucket (or the shared one) is empty,
 * every control request of it is refused before its token is looked at, so
 * guessing costs time whatever the guesses are. Memory is bounded
 * (AUTH_FAILURE_MAX_SOURCES). `now` is injected for tests.
 */
export class FailureThrottle {
  constructor({
    burst = AUTH_FAILURE_BURST,
    refillMs = AUTH_FAILURE_REFILL_MS,
    globalBurst = AUTH_FAILURE_GLOBAL_BURST,
    globalRefillMs = AUTH_FAILURE_GLOBAL_REFILL_MS,
    maxSources = AUTH_FAILURE_MAX_SOURCES,
    now = () => Date.now(),
  } = {}) {
    this.burst = burst;
    this.refillMs = refillMs;
    this.maxSources = maxSources;
    this.now = now;
    this.global = new Bucket(globalBurst, globalRefillMs, now());
    this.sources = new Map();
  }

  /** Seconds the source must wait before its next attempt (0: go ahead). */
  retryAfterSeconds(source) {
    const now = this.now();
    const own = this.sources.get(source);
    const ms = Math.max(this.global.waitMs(now), own ? own.waitMs(now) : 0);
    return ms === 0 ? 0 : Math.max(1, Math.ceil(ms / 1000));
  }

  /** Records a failed attempt of `source`. */
  failed(source) {
    const now = this.now();
    this.global.take(now);
    let own = this.sources.get(source);
    if (!own) {
      if (this.sources.size >= this.maxSources) this.forget(now);
      own = new Bucket(this.burst, this.refillMs, now);
      this.sources.set(source, own);
    }
    own.take(now);
  }

  /** Number of sources remembered (for tests). */
  get size() {
    return this.sources.size;
  }

  forget(now) {
    for (const [k, b] of this.sources) {
      if (b.full(now)) this.sources.delete(k);
    }
    // Still full of throttled sources: drop the oldest entries (a Map keeps
    // insertion order). They lose their penalty; the shared bucket remains.
    while (this.sources.size >= this.maxSources) {
      this.sources.delete(this.sources.keys().next().value);
    }
  }
}

/**
 * The source of a request for throttling: Cloudflare's `CF-Connecting-IP`
 * (set by Cloudflare's edge, which overwrites what a client sends) or
 * "unknown" (local workerd: every caller shares one bucket). A value that
 * is not a plausible address counts as "unknown".
 */
export function requestSource(headers) {
  const v = headers && typeof headers.get === "function" ? headers.get("cf-connecting-ip") : null;
  if (typeof v !== "string") return "unknown";
  const s = v.trim();
  return /^[0-9A-Fa-f:.]{2,45}$/.test(s) ? s : "unknown";
}

// --- Signing policy (the POLICY binding) -----------------------------------

/**
 * The POLICY binding's JSON text, or null when it is unset or blank (then
 * the policy sealed in the vault, or the default, applies).
 */
export function policyText(raw) {
  return typeof raw === "string" && raw.trim() !== "" ? raw.trim() : null;
}

/**
 * The setup error for openVault's failure `message`: a policy that does not
 * parse is named as the POLICY binding's (or the vault's sealed policy's)
 * fault with the core's one-line reason ("policy key onchain.max_fee: ...");
 * anything else is a vault error. Returns {status, message}.
 */
export function openVaultError(message, fromBinding) {
  const m = /signing policy\b.*?\bis invalid: (.*)$/s.exec(message);
  if (m) {
    return fromBinding
      ? { status: 503, message: `POLICY is not a valid signing policy, so the signer does not start: ${m[1]}` }
      : { status: 500, message: `the signing policy sealed in the vault is invalid, so the signer does not start: ${m[1]}` };
  }
  return { status: 500, message: `cannot open the vault: ${message}` };
}

/**
 * A short summary of the signer's PolicyView for status answers: where the
 * policy came from (`binding`, `vault`, `default`) instead of its text.
 */
export function policySummary(view, fromBinding) {
  const { sealed, ...settings } = view ?? {};
  const source = fromBinding ? "binding" : sealed ? "vault" : "default";
  return { source, ...settings };
}

// --- Audit log in Durable Object storage ------------------------------------

/** Storage key of the chunk counter (chunks are numbered from 1). */
export const AUDIT_CHUNKS_KEY = "auditChunks";
/** Storage key of the number of entries (lines) stored. */
export const AUDIT_ENTRIES_KEY = "auditEntries";
/** Longest chunk value (UTF-16 code units: at most 96 KiB of UTF-8, below the 128 KiB value limit). */
export const AUDIT_CHUNK_CHARS = 32 * 1024;
/** Keys read or written per storage call (the API's limit is 128). */
export const AUDIT_KEYS_PER_CALL = 128;

/** Storage key of chunk `n` (1, 2, ...): "audit:000000001", sorting in order. */
export function auditChunkKey(n) {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`bad audit chunk number ${n}`);
  return `audit:${String(n).padStart(9, "0")}`;
}

/** `text` cut into pieces of at most `max` code units (one piece for short text). */
export function splitAuditText(text, max = AUDIT_CHUNK_CHARS) {
  const out = [];
  for (let i = 0; i < text.length; i += max) out.push(text.slice(i, i + max));
  return out;
}

/** Number of lines (entries) in stored audit text: its newlines. */
export function auditLineCount(text) {
  let n = 0;
  for (let i = text.indexOf("\n"); i >= 0; i = text.indexOf("\n", i + 1)) n++;
  return n;
}

/**
 * The `storeAudit` hook of one signer: `append(position, lines)` stores
 * `lines` after chunk `position` and resolves the new position (or rejects
 * when the log moved on meanwhile). Calls go out one at a time, in the
 * order the signer made them. After a failure every later call fails too:
 * the signer's chain in memory is then ahead of what is stored, and lines
 * appended after the gap would break the log, so the signer must be
 * restarted (resuming from storage) to write again. `onFailure(text)` is
 * told once.
 */
export class AuditAppender {
  constructor(position, append, onFailure = () => {}) {
    this.position = position;
    this.append = append;
    this.onFailure = onFailure;
    this.failure = null;
    this.tail = Promise.resolve();
    this.stored = 0; // lines stored through this appender
  }

  /** The hook to pass as `storeAudit`. */
  get hook() {
    return (lines) => this.store(lines);
  }

  store(lines) {
    const next = this.tail.then(async () => {
      if (this.failure !== null) {
        throw new Error(`an earlier write failed (${this.failure}); the signer must restart to continue the log`);
      }
      try {
        this.position = await this.append(this.position, lines);
        this.stored += auditLineCount(lines);
      } catch (e) {
        this.failure = e instanceof Error ? e.message : String(e);
        this.onFailure(this.failure);
        throw e;
      }
    });
    this.tail = next.catch(() => {});
    return next;
  }
}
