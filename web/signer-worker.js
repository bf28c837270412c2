// The signer's worker: loads the wasm signer and runs everything that
// touches keys (aezeed scrypt, Argon2id, signing, the bridge connection)
// off the page's thread, so the page stays responsive while a KDF runs.
//
// Messages in:  { id, op, args }      ->  out: { id, ok: true, result } | { id, ok: false, error }
// Events out:   { event: "status", status }   (SignerStatus of the wasm API)
//               { event: "activity", entry }  (one answered request, public data only)
//               { event: "attachEnd", end }   (final grpc status of an Attach stream)
//
// Secrets kept here: the pending new seed (between createSeed and sealVault)
// and the UnlockedSigner handle (keys live in wasm memory). Nothing secret is
// posted back except the new seed's words for their one-time display.

import init, {
  createSeed,
  openVault,
  sealVault,
  StreamInspector,
  vaultInfo,
  vaultWithMacaroon,
  version,
} from "./pkg/lnd_web_signer.js";

const ready = init({ module_or_path: new URL("./pkg/lnd_web_signer_bg.wasm", import.meta.url) });

/** A new seed waiting to be confirmed and sealed: { network, words, aezeedPassphrase, birthday }. */
let pendingSeed = null;
/** The UnlockedSigner (wasm) while unlocked. */
let signer = null;
/** The running SignerConnection. */
let connection = null;
/** Public descriptions of requests in flight, by request id. */
const inFlight = new Map();

function post(event, payload) {
  self.postMessage({ event, ...payload });
}

function errorText(e) {
  if (e instanceof Error) return e.message;
  return String(e);
}

function requireSigner() {
  if (!signer) throw new Error("the signer is locked");
  return signer;
}

function unlockedInfo(s) {
  return {
    network: s.network,
    birthday: s.birthday,
    fingerprint: s.fingerprint,
    hasMacaroon: s.hasMacaroon,
  };
}

// ---- request inspection for the activity log -------------------------------

function noteRequest(info) {
  inFlight.set(info.id, { ...info, receivedAt: Date.now() });
}

function noteReply(reply) {
  const entry = inFlight.get(reply.id);
  if (entry) {
    entry.reply = reply;
  }
}

async function pumpAttach(stream, inspector) {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const info of inspector.pushAttachChunk(value)) noteRequest(info);
      const end = inspector.end;
      if (end) {
        // The bridge's own reason for ending the stream (e.g. lnd rejected
        // the macaroon); the loop may report a consequence of it instead.
        post("attachEnd", { end });
        break;
      }
    }
  } catch {
    // The stream was aborted or broke; the signer loop reports why.
  } finally {
    inspector.free();
  }
}

/** fetch for UnlockedSigner.connect: passes everything through and reads a copy. */
function inspectingFetch(network) {
  return async (request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/Reply")) {
      try {
        const body = new Uint8Array(await request.clone().arrayBuffer());
        const inspector = new StreamInspector(network);
        try {
          const reply = inspector.describeReply(body);
          if (reply) noteReply(reply);
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
      const [forSigner, forLog] = response.body.tee();
      pumpAttach(forLog, new StreamInspector(network));
      return new Response(forSigner, {
        status: response.status,
        statusText: response.statusText,
        headers: response.headers,
      });
    }
    return response;
  };
}

function onStatus(status) {
  if (status.kind === "connecting") inFlight.clear();
  if (status.kind === "request") {
    const seen = inFlight.get(status.id);
    inFlight.delete(status.id);
    const reply = seen?.reply;
    post("activity", {
      entry: {
        time: new Date().toISOString(),
        id: status.id,
        kind: status.requestKind,
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
  inFlight.clear();
  if (c) {
    try {
      await c.disconnect();
    } finally {
      c.free();
    }
  }
}

function lock() {
  pendingSeed = null;
  inFlight.clear();
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

// ---- operations --------------------------------------------------------------

const ops = {
  async init() {
    await ready;
    return { version: version() };
  },

  createSeed({ network, aezeedPassphrase }) {
    const seed = createSeed(network, aezeedPassphrase || null);
    pendingSeed = {
      network,
      words: seed.mnemonic,
      aezeedPassphrase: aezeedPassphrase || "",
      birthday: seed.birthday,
    };
    return { words: seed.mnemonic, birthday: seed.birthday };
  },

  /** Checks the user's copy of some words of the pending seed. */
  checkWords({ answers }) {
    if (!pendingSeed) throw new Error("no new seed is waiting (start over)");
    const wrong = [];
    for (const { position, word } of answers) {
      const want = pendingSeed.words[position - 1];
      if (!want || String(word).trim().toLowerCase() !== want) wrong.push(position);
    }
    return { wrong };
  },

  discardSeed() {
    pendingSeed = null;
    return true;
  },

  /**
   * Seals a seed: { source: "pending" } (the created seed) or
   * { source: "aezeed", network, words, aezeedPassphrase } or
   * { source: "xprv", network, xprv }; plus { vaultPassphrase, kdf? }.
   */
  seal(args) {
    let input;
    if (args.source === "pending") {
      if (!pendingSeed) throw new Error("no new seed is waiting (start over)");
      input = {
        network: pendingSeed.network,
        mnemonic: pendingSeed.words,
        aezeedPassphrase: pendingSeed.aezeedPassphrase,
      };
    } else if (args.source === "aezeed") {
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
    if (args.source === "pending") pendingSeed = null;
    return blob;
  },

  vaultInfo({ blob }) {
    return vaultInfo(blob);
  },

  unlock({ blob, passphrase }) {
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

  /** Seals a new macaroon into the vault; returns the new vault bytes. */
  vaultWithMacaroon({ blob, passphrase, macaroonHex }) {
    return vaultWithMacaroon(blob, passphrase, macaroonHex);
  },

  async connect({ bridgeUrl, macaroonHex, options }) {
    const s = requireSigner();
    await stopConnection();
    connection = s.connect(bridgeUrl, macaroonHex || null, onStatus, {
      fetch: inspectingFetch(s.network),
      ...(options || {}),
    });
    return true;
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

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data || {};
  const fn = ops[op];
  if (!fn) {
    self.postMessage({ id, ok: false, error: `unknown operation ${op}` });
    return;
  }
  try {
    await ready;
    const result = await fn(args || {});
    self.postMessage({ id, ok: true, result });
  } catch (e) {
    self.postMessage({ id, ok: false, error: errorText(e) });
  }
};
