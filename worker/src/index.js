// lnd-web-signer as a Cloudflare-style worker (workerd): the same wasm
// signer as the tab, with the sealed vault and its passphrase from secret
// bindings. Deployment model, limits and configuration: docs/worker.md.
//
// Bindings (text unless noted):
//   VAULT             base64 of the sealed vault file (secret)
//   VAULT_PASSPHRASE  the vault passphrase (secret)
//   CONTROL_TOKEN     bearer token for every control route, >= 16 characters (secret)
//   BRIDGE_URL        signer-bridge grpc-web URL, e.g. https://bridge.example.com
//   MACAROON_HEX      optional lnd macaroon (hex); else the vault's sealed macaroon (secret)
//   MAX_SESSION_SECONDS  optional, lowers the 900 s session limit
//   SIGNER            optional Durable Object namespace of class SignerHost (always-on mode)
//   KEEPALIVE_SECONDS optional alarm period of the always-on object (1..60, default 30)
//   HEALTH_CHECK_INTERVAL_SECONDS  optional, lnd's healthcheck.remotesigner.interval (default 60)
//   IDLE_MULTIPLE     optional, reconnect after this many silent intervals (default 3, 0 = never)
//   IDLE_TIMEOUT_SECONDS  optional, that limit directly (0 = never); overrides the two above
//   POLICY            optional signing policy (JSON, the keys of the native --policy TOML);
//                     else the vault's sealed policy or the default. A bad one stops every start.
//
// HTTP API (all but /health need Authorization: Bearer CONTROL_TOKEN; failed
// token attempts are throttled per source and per isolate, 429 + Retry-After):
//   GET  /health                     {ok}: liveness only, reveals nothing else
//   GET  /status                     {ok, version, configured{...}, sessionActive}
//   POST /sign-session?seconds=N     opens the vault, serves lnd's requests for N
//        seconds, locks, and answers with a JSON summary; &stream=1 streams NDJSON
//        events (started, each status, summary) while the session runs.
//   POST /signer/start, POST /signer/stop, GET /signer/status
//        the always-on signer in the SignerHost Durable Object.
//   GET  /audit                      the audit log (application/x-ndjson) kept in the
//        SignerHost object's storage: every decision of the always-on signer and of
//        sessions (when SIGNER is bound), hash-chained with the seed's key.

import { DurableObject } from "cloudflare:workers";
import { initSync, openVault, version } from "../pkg/lnd_web_signer.js";
import wasmModule from "../pkg/lnd_web_signer_bg.wasm";
import {
  MIN_TOKEN_LENGTH,
  AUDIT_CHUNKS_KEY,
  AUDIT_ENTRIES_KEY,
  AUDIT_KEYS_PER_CALL,
  AuditAppender,
  auditChunkKey,
  auditLineCount,
  splitAuditText,
  idleOptions,
  openVaultError,
  policySummary,
  policyText,
  keepaliveSeconds,
  FailureThrottle,
  StatusTally,
  bearerToken,
  checkBridgeUrl,
  constantTimeEqual,
  decodeBase64,
  parseSeconds,
  redact,
  redactDeep,
  requestSource,
  sessionLimit,
} from "./util.js";

// Instantiated on the first request, never at global scope: workerd allows
// no randomness there, and the signer's code paths may ask for it.
let initialised = false;
function ensureWasm() {
  if (!initialised) {
    initSync({ module: wasmModule });
    initialised = true;
  }
}

// One signing session per isolate at a time (lnd accepts one signer).
let activeSession = false;

const CLIENT_INFO = "lnd-web-signer worker";
const DISCONNECT_WAIT_MS = 5_000;
// Largest message from or to lnd (the tab keeps lnd's 200 MiB): an isolate
// has 128 MB, and decoding and signing a request takes a few times its size
// on top of Argon2id's 64 MiB. A larger request ends the attempt before it
// is buffered (docs/wasm-transport.md, message limit).
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

function present(v) {
  return typeof v === "string" && v.trim() !== "";
}

/**
 * The CONTROL_TOKEN binding without surrounding whitespace (`echo ... |
 * wrangler secret put` stores a trailing newline), or null.
 */
function controlToken(env) {
  return present(env.CONTROL_TOKEN) ? env.CONTROL_TOKEN.trim() : null;
}

/** The vault passphrase: the binding's first line, like the CLI's --passphrase-file. */
function vaultPassphrase(env) {
  return present(env.VAULT_PASSPHRASE) ? env.VAULT_PASSPHRASE.split(/\r?\n/)[0] : null;
}

function secretsOf(env) {
  const out = [];
  for (const name of ["VAULT_PASSPHRASE", "CONTROL_TOKEN", "MACAROON_HEX", "VAULT"]) {
    const v = env[name];
    if (present(v)) {
      out.push(v, v.trim());
      if (name === "MACAROON_HEX") out.push(v.trim().toLowerCase(), v.trim().toUpperCase());
    }
  }
  const first = vaultPassphrase(env);
  if (first) out.push(first);
  return out;
}

function jsonResponse(status, body, env, headers = {}) {
  return new Response(`${JSON.stringify(redactDeep(body, secretsOf(env)))}\n`, {
    status,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      ...headers,
    },
  });
}

function errorMessage(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * GET /health: liveness only. It says whether the worker (and its wasm
 * signer) answers, nothing about its configuration, version or sessions:
 * those are in the authenticated GET /status.
 */
function health(env) {
  try {
    ensureWasm();
  } catch (e) {
    console.log(`[worker] wasm signer failed to load: ${errorMessage(e)}`);
    return jsonResponse(500, { ok: false }, env);
  }
  return jsonResponse(200, { ok: true }, env);
}

/** GET /status (authenticated): version, what is configured (booleans), session flag. */
function configStatus(env) {
  ensureWasm();
  return jsonResponse(200, {
    ok: true,
    version: version(),
    configured: {
      vault: present(env.VAULT),
      vaultPassphrase: present(env.VAULT_PASSPHRASE),
      bridgeUrl: present(env.BRIDGE_URL),
      controlToken: (controlToken(env) ?? "").length >= MIN_TOKEN_LENGTH,
      macaroonBinding: present(env.MACAROON_HEX),
      policy: policyText(env.POLICY) !== null,
      alwaysOn: Boolean(env.SIGNER),
    },
    sessionActive: activeSession,
  }, env);
}

// Failed control-token attempts of this isolate (per source and overall).
const throttle = new FailureThrottle();

/** Checks the bearer token; returns a Response to send when refused. */
async function authorise(request, env) {
  const expected = controlToken(env);
  if (expected === null || expected.length < MIN_TOKEN_LENGTH) {
    return jsonResponse(503, {
      ok: false,
      error: `CONTROL_TOKEN is not configured (a secret of at least ${MIN_TOKEN_LENGTH} characters); sessions are disabled`,
    }, env);
  }
  // Throttled sources are refused before their token is even compared, so
  // guessing costs time whether the guesses are right or wrong.
  const source = requestSource(request.headers);
  const wait = throttle.retryAfterSeconds(source);
  if (wait > 0) {
    return jsonResponse(429, {
      ok: false,
      error: `too many failed control-token attempts; retry in ${wait} s`,
    }, env, { "retry-after": String(wait) });
  }
  const given = bearerToken(request.headers.get("authorization"));
  if (given === null || !(await constantTimeEqual(given, expected))) {
    throttle.failed(source);
    return jsonResponse(401, { ok: false, error: "unauthorised: send Authorization: Bearer <CONTROL_TOKEN>" }, env, {
      "www-authenticate": 'Bearer realm="lnd-web-signer"',
    });
  }
  return null;
}

function bridgeUrlOf(env) {
  // https: only, plain http: just for loopback (util.js checkBridgeUrl).
  return checkBridgeUrl(env.BRIDGE_URL);
}

/** A refusal with its HTTP status (configuration problems, vault errors). */
class SetupError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** The one SignerHost object (also the keeper of the audit log). */
function signerHost(env) {
  return env.SIGNER.get(env.SIGNER.idFromName("signer"));
}

/**
 * The audit log for a signer that is about to start: the stored text and
 * an appender that continues it (`append(position, lines)` → new position).
 */
function auditFor(log, append, who) {
  return {
    text: log.text,
    appender: new AuditAppender(log.chunks, append, (failure) => {
      console.log(`[worker] ${who}: audit log write failed, answers are refused until the signer restarts: ${failure}`);
    }),
  };
}

/**
 * The bindings a start needs, checked before anything is read or dialed:
 * returns {url} of the bridge or throws SetupError (503).
 */
function checkConfig(env) {
  for (const name of ["VAULT", "VAULT_PASSPHRASE"]) {
    if (!present(env[name])) throw new SetupError(503, `${name} is not configured`);
  }
  const bridge = bridgeUrlOf(env);
  if (bridge.error) throw new SetupError(503, bridge.error);
  return bridge;
}

/**
 * Opens the vault from the bindings (with the POLICY binding's signing
 * policy), continues the audit log `audit` ({text, appender} from
 * auditFor, or null: no log) and starts the signer loop towards
 * BRIDGE_URL. Returns {signer, conn, info}; the caller must disconnect,
 * lock and free them. Throws SetupError.
 */
function startSigner(env, onStatus, audit) {
  const bridge = checkConfig(env);
  let blob;
  try {
    blob = decodeBase64(env.VAULT);
  } catch (e) {
    throw new SetupError(503, `VAULT ${errorMessage(e)}`);
  }
  ensureWasm();
  // A POLICY that does not parse stops the start (openVault throws): the
  // signer never signs under the default instead of the policy configured.
  const policy = policyText(env.POLICY);
  let signer;
  try {
    signer = openVault(blob, vaultPassphrase(env), policy);
  } catch (e) {
    const err = openVaultError(errorMessage(e), policy !== null);
    throw new SetupError(err.status, err.message);
  } finally {
    blob.fill(0);
  }
  // The stored log is continued (its chain checked with the seed's key, the
  // 24 h spending window restored); a broken one stops the start rather than
  // a new chain being begun over it.
  let auditEntries = null;
  if (audit) {
    try {
      auditEntries = signer.resumeAudit(audit.text);
    } catch (e) {
      signer.lock();
      signer.free();
      throw new SetupError(500, `${errorMessage(e)}; the signer does not start over a broken audit log (GET /audit exports it, docs/worker.md)`);
    }
  }
  const policyView = policySummary(signer.policy, policy !== null);
  const macaroon = present(env.MACAROON_HEX) ? "binding" : signer.hasMacaroon ? "vault" : "none";
  // The idle watchdog: a link on which lnd stays silent for this long is
  // presumed dead and reconnected (workerd's fetch cannot send HTTP/2 pings).
  const idle = idleOptions(env.HEALTH_CHECK_INTERVAL_SECONDS, env.IDLE_MULTIPLE, env.IDLE_TIMEOUT_SECONDS);
  let conn;
  try {
    conn = signer.connect(
      bridge.url,
      present(env.MACAROON_HEX) ? env.MACAROON_HEX.trim() : undefined,
      onStatus,
      {
        clientInfo: CLIENT_INFO,
        maxMessageBytes: MAX_MESSAGE_BYTES,
        ...idle.options,
        ...(audit ? { storeAudit: audit.appender.hook } : {}),
      },
    );
  } catch (e) {
    signer.lock();
    signer.free();
    throw new SetupError(500, `cannot start the connection: ${errorMessage(e)}`);
  }
  const info = {
    network: signer.network,
    fingerprint: signer.fingerprint,
    macaroon,
    bridgeUrl: bridge.url,
    idleTimeoutSeconds: idle.idleTimeoutSeconds,
    policy: policyView,
  };
  return { signer, conn, info, auditEntries };
}

/** The `audit` member of a status: entries in the log, the write failure if any; null without a log. */
function auditStatus(entries, appender) {
  if (!appender) return null;
  return { entries, writeError: appender.failure };
}

/** Disconnects (bounded wait) and wipes the keys; returns the last stats. */
async function stopSigner(signer, conn) {
  await Promise.race([conn.disconnect(), sleep(DISCONNECT_WAIT_MS)]).catch(() => {});
  let stats = null;
  try {
    stats = conn.stats;
  } catch {
    stats = null;
  }
  signer.lock();
  signer.free();
  conn.free();
  return stats;
}

async function signSession(request, env, ctx) {
  const refused = await authorise(request, env);
  if (refused) return refused;

  const url = new URL(request.url);
  const limit = sessionLimit(env.MAX_SESSION_SECONDS);
  const parsed = parseSeconds(url.searchParams.get("seconds"), limit);
  if (parsed.error) return jsonResponse(400, { ok: false, error: parsed.error }, env);
  const seconds = parsed.seconds;
  const stream = ["1", "true", "yes"].includes(url.searchParams.get("stream") ?? "");

  if (activeSession) {
    return jsonResponse(409, { ok: false, error: "a signing session is already running in this worker" }, env);
  }
  activeSession = true;
  let handedOver = false;
  try {
    const tally = new StatusTally();
    let onEvent = null;
    const started = Date.now();
    let live;
    let audit = null;
    try {
      // With the SIGNER binding the session continues the deployment's one
      // audit log, kept by the SignerHost object (its RPC methods).
      checkConfig(env);
      if (env.SIGNER) {
        const host = signerHost(env);
        let log;
        try {
          log = await host.readAudit();
        } catch (e) {
          throw new SetupError(500, `cannot read the audit log of the SignerHost object: ${errorMessage(e)}`);
        }
        audit = auditFor(log, (position, lines) => host.appendAudit(position, lines), "sign-session");
      }
      live = startSigner(env, (status) => {
        tally.add(status);
        if (onEvent) onEvent(status);
      }, audit);
    } catch (e) {
      if (e instanceof SetupError) return jsonResponse(e.status, { ok: false, error: e.message }, env);
      throw e;
    }
    const info = { seconds, ...live.info };
    const auditNow = () => auditStatus(audit ? live.auditEntries + audit.appender.stored : null, audit?.appender);
    console.log(`[worker] sign-session started: ${seconds} s, network ${info.network}, macaroon from ${info.macaroon}`);

    const session = (async () => {
      try {
        await sleep(seconds * 1000);
      } finally {
        live.stats = await stopSigner(live.signer, live.conn);
      }
      const summary = {
        ok: tally.registrations > 0,
        version: version(),
        ...info,
        elapsedMs: Date.now() - started,
        ...tally.toJSON(),
        attempts: live.stats ? live.stats.attempts : null,
        audit: auditNow(),
      };
      console.log(
        `[worker] sign-session ended: handled ${summary.handled}, errors ${summary.errors}, registrations ${summary.registrations}`,
      );
      return summary;
    })();
    handedOver = true;

    const secrets = secretsOf(env);
    const { readable, writable } = new TransformStream();
    const writer = writable.getWriter();
    const encoder = new TextEncoder();
    let clientGone = false;
    const writeLine = (obj) => {
      if (clientGone) return;
      writer.write(encoder.encode(`${JSON.stringify(redactDeep(obj, secrets))}\n`)).catch(() => {
        // The caller went away; the session still runs to its end.
        clientGone = true;
      });
    };
    if (stream) {
      writeLine({ event: "started", ...info, audit: auditNow() });
      onEvent = (status) => writeLine({ event: "status", status });
    }
    const done = session
      .then(
        (summary) => writeLine(stream ? { event: "summary", summary } : summary),
        (e) => {
          const failed = { ok: false, error: `session failed: ${errorMessage(e)}` };
          writeLine(stream ? { event: "summary", summary: failed } : failed);
        },
      )
      .finally(() => {
        activeSession = false;
        onEvent = null;
        writer.close().catch(() => {});
      });
    ctx.waitUntil(done);
    return new Response(readable, {
      status: 200,
      headers: {
        "content-type": stream ? "application/x-ndjson; charset=utf-8" : "application/json; charset=utf-8",
        "cache-control": "no-store",
        "x-content-type-options": "nosniff",
      },
    });
  } finally {
    if (!handedOver) activeSession = false;
  }
}

/**
 * Always-on mode: one Durable Object holds the unlocked signer and its
 * connection for as long as it is wanted. An alarm every KEEPALIVE_SECONDS
 * (default 30) keeps the object from being evicted as idle and restarts
 * the signer (re-opening the vault) whenever the object was evicted or
 * restarted in between. `wanted` and the counters live in storage; the
 * keys only in memory.
 *
 * The object also keeps the deployment's audit log: chunks "audit:000000001",
 * ... (the text of one storeAudit call each, cut at AUDIT_CHUNK_CHARS), the
 * chunk count under AUDIT_CHUNKS_KEY and the entry count under
 * AUDIT_ENTRIES_KEY. Its own signer appends directly; sessions through the
 * RPC methods readAudit/appendAudit. An append names the position it
 * continues, so two signers can never interleave their chains: the one
 * behind is refused (and with it the answer that needed the line).
 */
export class SignerHost extends DurableObject {
  constructor(ctx, env) {
    super(ctx, env);
    this.live = null; // {signer, conn, tally, info, since, audit, auditEntries}
    this.lastStartError = null;
    this.lastStopped = null;
    this.auditChunks = 0;
    this.auditEntries = 0;
    ctx.blockConcurrencyWhile(async () => {
      const got = await ctx.storage.get([AUDIT_CHUNKS_KEY, AUDIT_ENTRIES_KEY]);
      this.auditChunks = got.get(AUDIT_CHUNKS_KEY) ?? 0;
      this.auditEntries = got.get(AUDIT_ENTRIES_KEY) ?? 0;
    });
  }

  /** RPC: the whole stored audit log, {text, chunks, entries}. Throws when a chunk is missing. */
  async readAudit() {
    const chunks = this.auditChunks;
    const entries = this.auditEntries;
    const parts = [];
    for (let first = 1; first <= chunks; first += AUDIT_KEYS_PER_CALL) {
      const keys = [];
      for (let n = first; n < first + AUDIT_KEYS_PER_CALL && n <= chunks; n++) keys.push(auditChunkKey(n));
      const got = await this.ctx.storage.get(keys);
      for (const key of keys) {
        const v = got.get(key);
        if (typeof v !== "string") throw new Error(`the stored audit log lacks ${key} (of ${chunks} chunks)`);
        parts.push(v);
      }
    }
    return { text: parts.join(""), chunks, entries };
  }

  /**
   * RPC: appends audit `lines` (one storeAudit call's text) after chunk
   * `position`; resolves the new position. Refused when the log is no
   * longer at `position` (another signer wrote meanwhile).
   */
  async appendAudit(position, lines) {
    if (typeof lines !== "string" || lines === "" || !lines.endsWith("\n")) {
      throw new Error("audit lines must be non-empty text ending in a newline");
    }
    // Checked and reserved synchronously: no other call runs in between.
    if (position !== this.auditChunks) {
      throw new Error(
        `the audit log moved on (${this.auditChunks} chunks stored, this signer continues chunk ${position}): another signer of this deployment wrote to it`,
      );
    }
    const pieces = splitAuditText(lines);
    const start = this.auditChunks;
    this.auditChunks = start + pieces.length;
    this.auditEntries += auditLineCount(lines);
    const values = pieces.map((p, i) => [auditChunkKey(start + i + 1), p]);
    values.push([AUDIT_CHUNKS_KEY, this.auditChunks], [AUDIT_ENTRIES_KEY, this.auditEntries]);
    // Puts issued without an await in between are committed together.
    const writes = [];
    for (let i = 0; i < values.length; i += AUDIT_KEYS_PER_CALL) {
      writes.push(this.ctx.storage.put(Object.fromEntries(values.slice(i, i + AUDIT_KEYS_PER_CALL))));
    }
    try {
      await Promise.all(writes);
    } catch (e) {
      const got = await this.ctx.storage.get([AUDIT_CHUNKS_KEY, AUDIT_ENTRIES_KEY]).catch(() => null);
      if (got) {
        this.auditChunks = got.get(AUDIT_CHUNKS_KEY) ?? 0;
        this.auditEntries = got.get(AUDIT_ENTRIES_KEY) ?? 0;
      }
      throw new Error(`storage refused the audit lines: ${errorMessage(e)}`);
    }
    return this.auditChunks;
  }

  async fetch(request) {
    // On Cloudflare the object may live in an isolate of its own, where no
    // worker request has loaded the wasm signer yet (status() needs it).
    ensureWasm();
    const { pathname } = new URL(request.url);
    switch (pathname) {
      case "/signer/start":
        return this.start();
      case "/signer/stop":
        return this.stop();
      case "/signer/status":
        return jsonResponse(200, await this.status(), this.env);
      default:
        return jsonResponse(404, { ok: false, error: "not found" }, this.env);
    }
  }

  async start() {
    await this.ctx.storage.put("wanted", true);
    const error = await this.ensureRunning();
    await this.armAlarm();
    const body = await this.status();
    return jsonResponse(error ? error.status : 200, error ? { ...body, ok: false, error: error.message } : body, this.env);
  }

  async stop() {
    await this.ctx.storage.put("wanted", false);
    await this.ctx.storage.deleteAlarm();
    await this.teardown("stopped");
    return jsonResponse(200, await this.status(), this.env);
  }

  async alarm() {
    if (!(await this.ctx.storage.get("wanted"))) {
      await this.teardown("not wanted");
      return;
    }
    await this.ctx.storage.put("alarms", ((await this.ctx.storage.get("alarms")) ?? 0) + 1);
    await this.ensureRunning();
    await this.armAlarm();
  }

  async armAlarm() {
    await this.ctx.storage.setAlarm(Date.now() + keepaliveSeconds(this.env.KEEPALIVE_SECONDS) * 1000);
  }

  /** Starts the signer unless it is already running; returns a SetupError or null. */
  async ensureRunning() {
    if (this.live && this.live.conn.running && this.live.audit.appender.failure === null) return null;
    if (this.live) {
      // After a failed audit write the signer's chain is ahead of the stored
      // log: only a restart (resuming from storage) lets it write again.
      await this.teardown(this.live.audit.appender.failure === null ? "connection loop ended" : "audit log write failed");
    }
    const tally = new StatusTally();
    try {
      checkConfig(this.env);
      let log;
      try {
        log = await this.readAudit();
      } catch (e) {
        throw new SetupError(500, `cannot read the audit log: ${errorMessage(e)}`);
      }
      const audit = auditFor(log, (position, lines) => this.appendAudit(position, lines), "always-on signer");
      const { signer, conn, info } = startSigner(this.env, (status) => tally.add(status), audit);
      this.live = { signer, conn, tally, info, audit, since: Date.now() };
    } catch (e) {
      const err = e instanceof SetupError ? e : new SetupError(500, errorMessage(e));
      this.lastStartError = err.message;
      console.log(`[worker] always-on signer could not start: ${err.message}`);
      return err;
    }
    this.lastStartError = null;
    await this.ctx.storage.put("starts", ((await this.ctx.storage.get("starts")) ?? 0) + 1);
    console.log(`[worker] always-on signer started (network ${this.live.info.network}, macaroon from ${this.live.info.macaroon})`);
    return null;
  }

  async teardown(reason) {
    const live = this.live;
    if (!live) return;
    this.live = null;
    await stopSigner(live.signer, live.conn);
    this.lastStopped = { reason, at: new Date().toISOString(), ...live.tally.toJSON() };
    console.log(`[worker] always-on signer stopped (${reason}): handled ${live.tally.handled}`);
  }

  async status() {
    const [wanted, starts, alarms, alarmAt] = await Promise.all([
      this.ctx.storage.get("wanted"),
      this.ctx.storage.get("starts"),
      this.ctx.storage.get("alarms"),
      this.ctx.storage.getAlarm(),
    ]);
    const live = this.live;
    let stats = null;
    if (live) {
      try {
        stats = live.conn.stats;
      } catch {
        stats = null;
      }
    }
    return {
      ok: true,
      version: version(),
      wanted: wanted === true,
      running: Boolean(live && stats && stats.running),
      registered: Boolean(stats && stats.registered),
      keepaliveSeconds: keepaliveSeconds(this.env.KEEPALIVE_SECONDS),
      nextAlarm: alarmAt ? new Date(alarmAt).toISOString() : null,
      starts: starts ?? 0,
      alarms: alarms ?? 0,
      lastStartError: this.lastStartError,
      audit: { entries: this.auditEntries, writeError: live ? live.audit.appender.failure : null },
      since: live ? new Date(live.since).toISOString() : null,
      ...(live ? { ...live.info, ...live.tally.toJSON(), attempts: stats ? stats.attempts : null } : {}),
      lastStopped: this.lastStopped,
    };
  }
}

/** GET /audit: the stored audit log as NDJSON (redacted like every answer). */
async function auditExport(request, env) {
  if (request.method !== "GET" && request.method !== "HEAD") {
    return jsonResponse(405, { ok: false, error: "use GET /audit" }, env, { allow: "GET, HEAD" });
  }
  const refused = await authorise(request, env);
  if (refused) return refused;
  if (!env.SIGNER) {
    return jsonResponse(503, {
      ok: false,
      error: "the audit log is kept by the SIGNER Durable Object (class SignerHost); without the binding there is none",
    }, env);
  }
  let log;
  try {
    log = await signerHost(env).readAudit();
  } catch (e) {
    return jsonResponse(500, { ok: false, error: `cannot read the audit log: ${errorMessage(e)}` }, env);
  }
  return new Response(request.method === "HEAD" ? null : redact(log.text, secretsOf(env)), {
    status: 200,
    headers: {
      "content-type": "application/x-ndjson; charset=utf-8",
      "cache-control": "no-store",
      "x-content-type-options": "nosniff",
      "x-audit-entries": String(log.entries),
    },
  });
}

/** Routes /signer/{start,stop,status} to the one SignerHost object. */
async function alwaysOn(request, env, pathname) {
  const refused = await authorise(request, env);
  if (refused) return refused;
  const expected = pathname === "/signer/status" ? "GET" : "POST";
  if (request.method !== expected) {
    return jsonResponse(405, { ok: false, error: `use ${expected} ${pathname}` }, env, { allow: expected });
  }
  if (!env.SIGNER) {
    return jsonResponse(503, {
      ok: false,
      error: "always-on mode needs the SIGNER Durable Object binding (class SignerHost); see docs/worker.md",
    }, env);
  }
  const stub = signerHost(env);
  // The object gets neither the token nor the caller's headers.
  return stub.fetch(new Request(`https://signer-host${pathname}`, { method: expected }));
}

export default {
  async fetch(request, env, ctx) {
    const { pathname } = new URL(request.url);
    try {
      if (pathname === "/health") {
        if (request.method !== "GET" && request.method !== "HEAD") {
          return jsonResponse(405, { ok: false, error: "use GET /health" }, env, { allow: "GET, HEAD" });
        }
        return health(env);
      }
      if (pathname === "/status") {
        if (request.method !== "GET") {
          return jsonResponse(405, { ok: false, error: "use GET /status" }, env, { allow: "GET" });
        }
        const refused = await authorise(request, env);
        if (refused) return refused;
        return configStatus(env);
      }
      if (pathname === "/sign-session") {
        if (request.method !== "POST") {
          return jsonResponse(405, { ok: false, error: "use POST /sign-session?seconds=N" }, env, { allow: "POST" });
        }
        return await signSession(request, env, ctx);
      }
      if (pathname === "/signer/start" || pathname === "/signer/stop" || pathname === "/signer/status") {
        return await alwaysOn(request, env, pathname);
      }
      if (pathname === "/audit") {
        return await auditExport(request, env);
      }
      return jsonResponse(404, {
        ok: false,
        error: "not found (GET /health, GET /status, POST /sign-session?seconds=N, POST /signer/start, POST /signer/stop, GET /signer/status, GET /audit)",
      }, env);
    } catch (e) {
      return jsonResponse(500, { ok: false, error: `internal error: ${errorMessage(e)}` }, env);
    }
  },
};
