// @ts-check
// The signer's worker: loads the wasm signer and runs everything that
// touches keys (aezeed scrypt, Argon2id, signing, the bridge connection)
// off the page's thread, so the page stays responsive while a KDF runs.
//
// Messages in:  { id, op, args }      ->  out: { id, ok: true, result } | { id, ok: false, error }
// Events out:   { event: "status", status }   (SignerStatus of the wasm API)
//               { event: "activity", entry }  (one answered request, public data only)
//               { event: "attachEnd", end }   (final grpc status of an Attach stream, StreamEnd with its errorCode)
//               { event: "inspector", ok, reason? }  (request details (un)available)
//               { event: "approval", request }  (ApprovalRequest: the policy asks the user)
//               { event: "approvalEnd", id, outcome }  ("approved" | "declined" | "expired")
//               { event: "audit", entries }  (the audit log grew: its entry count)
//
// Secrets: none as JS values. A pending new seed (between createSeed and
// seal) is a wasm PendingSeed: its words leave wasm once, for their one-time
// display, and are not kept here; its aezeed passphrase never leaves. Keys
// and the macaroon live in the UnlockedSigner's wasm memory; the macaroon
// arrives as bytes (transferred, wiped after use) and goes straight into the
// vault and the signer, never back to connect(). Nothing secret is posted
// back except the new seed's words for their one-time display.

import init, {
  checkPolicy,
  kindTable,
  PendingSeed,
  openVault,
  sha256Hex,
  sealVault,
  StreamInspector,
  vaultInfo,
  version,
} from "./pkg/lnd_web_signer.js";
import { appendUsedNonces, loadUsedNonces } from "./nonce-store.js";
import { appendAudit, clearAudit, loadAudit } from "./audit-store.js";

/** @typedef {import("./pkg/lnd_web_signer.js").UnlockedSigner} UnlockedSigner */
/** @typedef {import("./pkg/lnd_web_signer.js").SignerConnection} SignerConnection */
/** @typedef {import("./pkg/lnd_web_signer.js").SignerStatus} SignerStatus */
/** @typedef {import("./pkg/lnd_web_signer.js").StreamRequestInfo} StreamRequestInfo */
/** @typedef {import("./pkg/lnd_web_signer.js").StreamReplyInfo} StreamReplyInfo */
/** @typedef {import("./pkg/lnd_web_signer.js").ConnectOptions} ConnectOptions */

/** The worker's global scope (this file runs as a module worker). */
const scope = /** @type {DedicatedWorkerGlobalScope} */ (/** @type {unknown} */ (self));

/** SHA-256 of the running module: of exactly the bytes instantiated below. */
/** @type {string | null} */
let wasmSha256 = null;

const ready = (async () => {
  const response = await fetch(new URL("./pkg/lnd_web_signer_bg.wasm", import.meta.url));
  if (!response.ok) throw new Error(`loading the signer's WebAssembly failed: HTTP ${response.status}`);
  const bytes = new Uint8Array(await response.arrayBuffer());
  await init({ module_or_path: bytes });
  wasmSha256 = sha256Hex(bytes);
})();

/** A new seed waiting to be confirmed and sealed (a wasm PendingSeed). */
/** @type {PendingSeed | null} */
let pendingSeed = null;

function discardPending() {
  if (pendingSeed) {
    pendingSeed.free();
    pendingSeed = null;
  }
}
/** The UnlockedSigner (wasm) while unlocked. @type {UnlockedSigner | null} */
let signer = null;
/** The running SignerConnection. @type {SignerConnection | null} */
let connection = null;
/**
 * Public descriptions of requests in flight, by request id.
 * @type {Map<string, StreamRequestInfo & { receivedAt: number, reply?: StreamReplyInfo }>}
 */
const inFlight = new Map();

/** @param {string} event @param {object} payload */
function post(event, payload) {
  scope.postMessage({ event, ...payload });
}

/** @param {unknown} e */
function errorText(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

function requireSigner() {
  if (!signer) throw new Error("the signer is locked");
  return signer;
}

/** @param {UnlockedSigner} s */
function unlockedInfo(s) {
  return {
    network: s.network,
    birthday: s.birthday,
    fingerprint: s.fingerprint,
    hasMacaroon: s.hasMacaroon,
  };
}

// ---- request inspection for the activity log -------------------------------

/**
 * The inspection of the current Attach stream: { inspector, failed }.
 * Request ids are decimal strings (lnd's ids are 64-bit).
 * @type {{ inspector: StreamInspector | null, failed: boolean } | null}
 */
let attachInspection = null;
/** False from an inspection failure until a request is described again. */
let detailsShown = true;

/** @param {string | null} reason */
function stopInspection(reason) {
  const current = attachInspection;
  if (!current || !current.inspector) return;
  current.inspector.free();
  current.inspector = null;
  if (reason) {
    current.failed = true;
    detailsShown = false;
    // Visible in the Activity tab: the requests are still answered, but
    // their details (inputs, outputs, amounts, keys) cannot be shown.
    post("inspector", { ok: false, reason });
  }
}

/**
 * The Attach body as the signer reads it, inspected on the way through.
 * One reader only (no tee): nothing is buffered for the log, and when the
 * signer pauses reading (its replies are stuck) the body is not read ahead
 * for the log either. If inspection fails, it stops; the bytes still pass.
 * @param {ReadableStream<Uint8Array>} body
 * @param {string} network
 */
function inspectAttach(body, network) {
  stopInspection(null);
  /** @type {{ inspector: StreamInspector | null, failed: boolean }} */
  const inspection = { inspector: new StreamInspector(network), failed: false };
  attachInspection = inspection;
  /** @param {string | null} reason */
  const stop = (reason) => {
    if (attachInspection === inspection) stopInspection(reason);
  };
  /** @type {Transformer<Uint8Array, Uint8Array> & { cancel(): void }} */
  const transformer = {
    transform(chunk, controller) {
      controller.enqueue(chunk);
      if (!inspection.inspector) return;
      try {
        const infos = inspection.inspector.pushAttachChunk(chunk);
        for (const info of infos) noteRequest(info);
        const end = inspection.inspector.end;
        if (end) {
          // The bridge's own reason for ending the stream (e.g. lnd rejected
          // the macaroon); the loop may report a consequence of it instead.
          post("attachEnd", { end });
          stop(null);
        }
      } catch (e) {
        stop(`the stream inspector failed: ${errorText(e)}`);
      }
    },
    flush() {
      stop(null);
    },
    cancel() {
      stop(null);
    },
  };
  return body.pipeThrough(new TransformStream(transformer));
}

/** @param {StreamRequestInfo} info */
function noteRequest(info) {
  if (!detailsShown) {
    detailsShown = true;
    post("inspector", { ok: true });
  }
  inFlight.set(info.id, { ...info, receivedAt: Date.now() });
}

/** @param {StreamReplyInfo} reply */
function noteReply(reply) {
  const entry = inFlight.get(reply.id);
  if (entry) {
    entry.reply = reply;
  }
}

/**
 * fetch for UnlockedSigner.connect: passes everything through and reads a copy
 * (of Attach bodies, and of Reply and ReplyBatch bodies for the answers).
 * @param {string} network
 * @returns {(request: Request) => Promise<Response>}
 */
function inspectingFetch(network) {
  return async (request) => {
    const path = new URL(request.url).pathname;
    const batch = path.endsWith("/ReplyBatch");
    if (batch || path.endsWith("/Reply")) {
      try {
        const body = new Uint8Array(await request.clone().arrayBuffer());
        const inspector = new StreamInspector(network);
        try {
          if (batch) {
            for (const reply of inspector.describeReplyBatch(body)) noteReply(reply);
          } else {
            const reply = inspector.describeReply(body);
            if (reply) noteReply(reply);
          }
        } finally {
          inspector.free();
        }
      } catch {
        // Inspection is best effort; the reply itself goes out unchanged.
      }
      return fetch(request);
    }
    const response = await fetch(request);
    if (path.endsWith("/Attach") && response.body) {
      return new Response(inspectAttach(response.body, network), {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    return response;
  };
}

/** @param {SignerStatus} status */
function onStatus(status) {
  if (status.kind === "connecting") inFlight.clear();
  if (status.kind === "request") {
    // The signer's own description (WebSocket channel), else the
    // inspector's (grpc-web).
    const inspected = inFlight.get(status.id);
    inFlight.delete(status.id);
    const seen = status.request ?? inspected;
    const reply = status.reply ?? inspected?.reply;
    post("activity", {
      entry: {
        time: new Date().toISOString(),
        id: status.id,
        kind: status.requestKind,
        // false: the inspector could not describe this request.
        details: Boolean(seen),
        keys: seen?.keys ?? [],
        summary: seen?.summary ?? "",
        psbt: seen?.psbt ?? null,
        signedInputs: reply?.signedInputs ?? null,
        error: status.error ?? reply?.error ?? null,
        latencyMs: Math.round(status.latencyMs * 10) / 10,
        signMs: Math.round(status.signMs * 10) / 10,
      },
    });
  } else if (status.kind === "ping") {
    inFlight.delete(status.id);
  }
  post("status", { status });
}

async function stopConnection() {
  const c = connection;
  connection = null;
  dropApprovals();
  inFlight.clear();
  stopInspection(null);
  if (c) {
    try {
      await c.disconnect();
    } finally {
      c.free();
    }
  }
}

function lock() {
  discardPending();
  dropApprovals();
  inFlight.clear();
  stopInspection(null);
  if (signer) {
    signer.lock();
    signer.free();
    signer = null;
  }
  if (connection) {
    connection.free();
    connection = null;
  }
}

// ---- approvals and the audit log ---------------------------------------------

/**
 * Approvals waiting for the page, by request id.
 * @type {Map<string, { resolve: (yes: boolean) => void, timer: ReturnType<typeof setTimeout> }>}
 */
const approvals = new Map();
/** Entries of the audit log (stored), for the page's counter. */
let auditEntries = 0;

/**
 * The signer's approve hook: the page shows the card; no answer by the
 * deadline refuses (the wasm signer refuses at the deadline by itself too).
 * @param {import("./pkg/lnd_web_signer.js").ApprovalRequest} request
 * @returns {Promise<boolean>}
 */
function askApproval(request) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => settleApproval(request.id, false, "expired"), request.timeoutMs);
    approvals.set(request.id, { resolve, timer });
    post("approval", { request });
  });
}

/** @param {string} id @param {boolean} yes @param {string} outcome */
function settleApproval(id, yes, outcome) {
  const a = approvals.get(id);
  if (!a) return false;
  approvals.delete(id);
  clearTimeout(a.timer);
  // An expired one is left to the signer's own deadline: lnd gets "nobody
  // answered", not a decline the user never gave.
  if (outcome !== "expired") a.resolve(yes);
  post("approvalEnd", { id, outcome });
  return true;
}

function dropApprovals() {
  for (const id of [...approvals.keys()]) settleApproval(id, false, "expired");
}

/**
 * The storeAudit hook of a connection for `node`.
 * @param {string} node
 */
function auditStore(node) {
  return async (/** @type {string} */ lines) => {
    await appendAudit(node, lines);
    auditEntries += lines.split("\n").length - 1;
    post("audit", { entries: auditEntries });
  };
}

// ---- operations --------------------------------------------------------------

const ops = {
  async init() {
    await ready;
    // The request-kind table (names, labels) the page shows activity with.
    return { version: version(), wasmSha256, kinds: kindTable() };
  },

  /** @param {{ network: string, aezeedPassphrase?: string }} args */
  createSeed({ network, aezeedPassphrase }) {
    discardPending();
    pendingSeed = new PendingSeed(network, aezeedPassphrase || null);
    // The only time the words leave wasm: for the one-time display.
    return { words: pendingSeed.takeWords(), birthday: pendingSeed.birthday };
  },

  /**
   * Checks the user's copy of some words of the pending seed.
   * @param {{ answers: { position: number, word: unknown }[] }} args
   */
  checkWords({ answers }) {
    if (!pendingSeed) throw new Error("no new seed is waiting (start over)");
    const wrong = pendingSeed.checkWords(answers.map(({ position, word }) => ({ position, word: String(word) })));
    return { wrong };
  },

  discardSeed() {
    discardPending();
    return true;
  },

  /**
   * Seals a seed: { source: "pending" } (the created seed) or
   * { source: "aezeed", network, words, aezeedPassphrase } or
   * { source: "xprv", network, xprv }; plus { vaultPassphrase, kdf? }
   * (kdf at least the sealing floor, docs/vault-format.md).
   * @param {{ source: string, network: string, words?: string[], aezeedPassphrase?: string, xprv?: string,
   *   vaultPassphrase: string, kdf?: import("./pkg/lnd_web_signer.js").KdfParams }} args
   */
  seal(args) {
    if (args.source === "pending") {
      if (!pendingSeed) throw new Error("no new seed is waiting (start over)");
      const blob = pendingSeed.seal(args.vaultPassphrase, args.kdf);
      discardPending();
      return blob;
    }
    let input;
    if (args.source === "aezeed") {
      input = { network: args.network, mnemonic: args.words, aezeedPassphrase: args.aezeedPassphrase || "" };
    } else if (args.source === "xprv") {
      input = { network: args.network, xprv: args.xprv };
    } else {
      throw new Error(`unknown seed source ${args.source}`);
    }
    const blob = sealVault({
      ...input,
      vaultPassphrase: args.vaultPassphrase,
      ...(args.kdf ? { kdf: args.kdf } : {}),
    });
    return blob;
  },

  /** @param {{ blob: Uint8Array }} args */
  vaultInfo({ blob }) {
    return vaultInfo(blob);
  },

  /** @param {{ blob: Uint8Array, passphrase: string }} args */
  unlock({ blob, passphrase }) {
    auditEntries = 0;
    lock();
    signer = openVault(blob, passphrase);
    return unlockedInfo(signer);
  },

  info() {
    return signer ? unlockedInfo(signer) : null;
  },

  accounts() {
    return requireSigner().accountsJson();
  },

  /**
   * Seals a new macaroon (bytes, transferred) into the vault the signer was
   * opened from and keeps it in the signer for connect; returns the new
   * vault bytes. The bytes are wiped here.
   * @param {{ blob: Uint8Array, passphrase: string, macaroon?: Uint8Array }} args
   */
  sealMacaroon({ blob, passphrase, macaroon }) {
    try {
      return requireSigner().sealMacaroon(blob, passphrase, macaroon);
    } finally {
      macaroon?.fill(0);
    }
  },

  /** What the macaroon the signer holds grants (null: none). */
  macaroonInfo() {
    return requireSigner().macaroonInfo();
  },

  /** The wallet birthday for lncli createwatchonly. */
  walletBirthday() {
    return requireSigner().walletBirthday();
  },

  /** The watch-only credentials bundle (accounts.json + README.txt). */
  watchOnlyBundle() {
    return requireSigner().watchOnlyBundle();
  },

  /**
   * Imports a signer bundle (file bytes or its base64 text, transferred and
   * wiped here): its macaroon is sealed into the vault; returns the new
   * vault, the endpoint and what the macaroon grants.
   * @param {{ blob: Uint8Array, passphrase: string, bundle: Uint8Array }} args
   */
  importSignerBundle({ blob, passphrase, bundle }) {
    try {
      return requireSigner().importSignerBundle(blob, passphrase, bundle);
    } finally {
      bundle.fill(0);
    }
  },

  /**
   * Connects with the macaroon the signer holds (from the vault).
   * @param {{ bridgeUrl: string, options?: ConnectOptions }} args
   */
  async connect({ bridgeUrl, options }) {
    const s = requireSigner();
    await stopConnection();
    // What any signer of this origin signed with before (a reload, a lock,
    // another tab that signed until this one took over): refused in any
    // other context here too. New entries are stored before their
    // signature leaves.
    const node = s.fingerprint;
    try {
      s.importUsedNonces(await loadUsedNonces(node));
    } catch (e) {
      throw new Error(`reading the MuSig2 nonce record failed: ${errorText(e)}`);
    }
    // The audit log of this seed, continued (and its chain checked) at
    // every connect: another tab may have signed and written since.
    try {
      auditEntries = s.resumeAudit(await loadAudit(node));
    } catch (e) {
      throw new Error(`${errorText(e)}. Export it in the Policy tab and start a new one to sign again.`);
    }
    post("audit", { entries: auditEntries });
    const { approvalTimeoutMs, ...rest } = options || {};
    connection = s.connect(bridgeUrl, null, onStatus, {
      storeUsedNonces: (/** @type {Uint8Array} */ entries) => appendUsedNonces(node, entries),
      storeAudit: auditStore(node),
      approve: askApproval,
      ...(approvalTimeoutMs ? { approvalTimeoutMs } : {}),
      // The bridge's WebSocket channel (one message per answer); grpc-web
      // through the inspecting fetch when no socket opens.
      transport: "auto",
      // Over the WebSocket no fetch sees the traffic: the signer describes
      // each request in its status event instead.
      describeRequests: true,
      fetch: inspectingFetch(s.network),
      // The inspector reads ReplyBatch bodies too.
      batchReplies: true,
      ...rest,
    });
    return true;
  },

  // ---- signing policy, budget, approvals, audit log (docs/security.md) ----

  /** The policy in force (PolicyView). */
  policy() {
    return requireSigner().policy;
  },

  /**
   * Checks a policy text without applying it (PolicyView, or the error).
   * @param {{ text: string }} args
   */
  checkPolicy({ text }) {
    return checkPolicy(text, requireSigner().network);
  },

  /**
   * Seals a policy (JSON text; empty: the default) into the vault and
   * applies it; returns the new vault bytes. Needs the passphrase.
   * @param {{ blob: Uint8Array, passphrase: string, text: string }} args
   */
  sealPolicy({ blob, passphrase, text }) {
    const s = requireSigner();
    const sealed = s.sealPolicy(blob, passphrase, text || null);
    return { blob: sealed, policy: s.policy };
  },

  /** @param {{ sats: number, minutes: number }} args */
  setBudget({ sats, minutes }) {
    const s = requireSigner();
    s.setBudget(sats, minutes);
    return s.budget;
  },

  clearBudget() {
    requireSigner().clearBudget();
    return null;
  },

  budget() {
    return requireSigner().budget;
  },

  /**
   * The page's answer to an approval card.
   * @param {{ id: string, approve: boolean }} args
   */
  answerApproval({ id, approve }) {
    return settleApproval(String(id), approve === true, approve === true ? "approved" : "declined");
  },

  /**
   * The stored audit log of this seed and whether its chain is intact.
   * @returns {Promise<{ text: string, entries: number, error: string | null }>}
   */
  async auditLog() {
    const s = requireSigner();
    const text = await loadAudit(s.fingerprint);
    try {
      const { entries } = s.verifyAudit(text);
      return { text, entries, error: null };
    } catch (e) {
      return { text, entries: 0, error: errorText(e) };
    }
  },

  /**
   * Starts a new audit log (the page exported the old one first). Needs
   * the vault passphrase: the vault is sealed again with the same policy.
   * @param {{ blob: Uint8Array, passphrase: string }} args
   */
  async clearAudit({ blob, passphrase }) {
    const s = requireSigner();
    const sealed = s.sealPolicy(blob, passphrase, s.policy.sealed);
    await clearAudit(s.fingerprint);
    if (connection) s.resumeAudit("");
    auditEntries = 0;
    post("audit", { entries: 0 });
    return { blob: sealed };
  },

  async disconnect() {
    await stopConnection();
    return true;
  },

  lock() {
    lock();
    return true;
  },
};

/** @type {Record<string, (args: any) => unknown>} */
const opTable = ops;

scope.onmessage = async (ev) => {
  const { id, op, args } = ev.data || {};
  const fn = Object.hasOwn(opTable, op) ? opTable[op] : undefined;
  if (!fn) {
    scope.postMessage({ id, ok: false, error: `unknown operation ${op}` });
    return;
  }
  try {
    await ready;
    const result = await fn(args || {});
    scope.postMessage({ id, ok: true, result });
  } catch (e) {
    scope.postMessage({ id, ok: false, error: errorText(e) });
  }
};
