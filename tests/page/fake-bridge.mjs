// A scripted signer-bridge for page tests that need what neither lnd nor
// watchonly-sim would send: request ids above 2^53, absurd PSBT amounts,
// undecodable frames, thousands of requests at once. Speaks grpc-web over
// HTTP/1.1 with CORS like `signer-bridge --grpc-web`; never talks to lnd.
//
//   const bridge = await startFakeBridge({ origin, script });
//   script(attachNumber) -> { events: [Uint8Array frame payloads...], raw?: Uint8Array } | { status: 503 }
//
// Each Attach gets a session token, waits for the signer's registration
// Reply, answers it with RegistrationComplete, then writes the script's
// frames (AttachEvent messages) and keeps the stream open. Every Reply and
// ReplyBatch is acknowledged; `replies` counts them; the headers of each call
// are kept.

import { createServer } from "node:http";

// ---- protobuf, just enough -------------------------------------------------------

function varint(n) {
  let v = BigInt(n);
  const out = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Uint8Array.from(out);
}

function concat(parts) {
  const len = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(len);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const utf8 = (s) => new TextEncoder().encode(s);
const bytesField = (no, b) => concat([varint((no << 3) | 2), varint(b.length), b]);
const varintField = (no, n) => concat([varint(no << 3), varint(n)]);

/** SignCoordinatorRequest { request_id, one member }. */
function coordinatorRequest(id, member) {
  return concat([varintField(1, id), member]);
}

export const pb = {
  token: (t) => bytesField(1, utf8(t)),
  request: (req) => bytesField(2, req),
  registrationComplete: () =>
    coordinatorRequest(1, bytesField(2, bytesField(1, concat([bytesField(1, utf8("")), bytesField(2, utf8("fake bridge node"))])))),
  ping: (id) => coordinatorRequest(id, varintField(3, 1)),
  signMessage: (id, text = "hello") =>
    coordinatorRequest(id, bytesField(5, concat([bytesField(1, utf8(text)), bytesField(2, concat([varintField(1, 6), varintField(2, 0)])), varintField(4, 1)]))),
  signPsbt: (id, psbt) => coordinatorRequest(id, bytesField(13, bytesField(1, psbt))),
};

// ---- PSBT (BIP-174 v0), one input with a witness UTXO, one output ---------------

const le = (n, bytes) => {
  const out = new Uint8Array(bytes);
  let v = BigInt(n);
  for (let i = 0; i < bytes; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
};

/** A P2WPKH script of a 20-byte hash filled with `byte`. */
export const p2wpkh = (byte) => concat([Uint8Array.of(0x00, 0x14), new Uint8Array(20).fill(byte)]);

export function psbt({ inputSat, outputSat }) {
  const script = p2wpkh(1);
  const out = p2wpkh(3);
  const tx = concat([
    le(2, 4), varint(1), new Uint8Array(32).fill(7), le(1, 4), varint(0), le(0xffffffff, 4),
    varint(1), le(outputSat, 8), varint(out.length), out, le(0, 4),
  ]);
  const utxo = concat([le(inputSat, 8), varint(script.length), script]);
  return concat([
    utf8("psbt"), Uint8Array.of(0xff),
    varint(1), Uint8Array.of(0x00), varint(tx.length), tx, Uint8Array.of(0x00),
    varint(1), Uint8Array.of(0x01), varint(utxo.length), utxo, Uint8Array.of(0x00),
    Uint8Array.of(0x00),
  ]);
}

// ---- grpc-web ----------------------------------------------------------------------

export function frame(payload, flag = 0) {
  const head = new Uint8Array(5);
  head[0] = flag;
  new DataView(head.buffer).setUint32(1, payload.length);
  return concat([head, payload]);
}

const trailer = (text) => frame(utf8(text), 0x80);

/** Starts the fake; resolves { url, attaches, replies, close() }. */
export function startFakeBridge({ origin, script }) {
  const state = { attaches: 0, replies: 0, waiting: [], attachHeaders: [], replyHeaders: [] };
  const cors = {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Expose-Headers": "grpc-status, grpc-message",
    Vary: "Origin",
  };
  const server = createServer((req, res) => {
    if (req.method === "OPTIONS") {
      res.writeHead(204, {
        ...cors,
        "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "content-type, x-grpc-web, x-user-agent, grpc-timeout, macaroon, x-session-token",
        "Access-Control-Max-Age": "600",
      }).end();
      return;
    }
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const grpc = { ...cors, "Content-Type": "application/grpc-web+proto" };
      // A ReplyBatch is acknowledged like a Reply (an empty ack message).
      if (req.url.endsWith("/Reply") || req.url.endsWith("/ReplyBatch")) {
        state.replies += 1;
        state.replyHeaders.push(req.headers);
        const wake = state.waiting.splice(0);
        for (const w of wake) w();
        res.writeHead(200, grpc);
        res.end(concat([frame(new Uint8Array(0)), trailer("grpc-status: 0\r\n")]));
        return;
      }
      if (!req.url.endsWith("/Attach")) {
        res.writeHead(404, { ...cors, "Content-Type": "text/plain" }).end("not found\n");
        return;
      }
      state.attaches += 1;
      state.attachHeaders.push(req.headers);
      const plan = script(state.attaches);
      if (plan.status) {
        res.writeHead(plan.status, { ...cors, "Content-Type": "text/plain" }).end("unavailable\n");
        return;
      }
      res.writeHead(200, grpc);
      res.write(frame(pb.token(`token-${state.attaches}`)));
      const before = state.replies;
      const afterRegistration = () => {
        if (state.replies === before) {
          state.waiting.push(afterRegistration);
          return;
        }
        res.write(frame(pb.request(pb.registrationComplete())));
        const parts = (plan.events || []).map((e) => frame(pb.request(e)));
        if (plan.raw) parts.push(plan.raw);
        // In pieces of a few frames, as a proxy would forward them.
        for (let i = 0; i < parts.length; i += 16) res.write(concat(parts.slice(i, i + 16)));
      };
      // The stream stays open until the page drops it (or close()).
      afterRegistration();
    });
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      ok({
        url: `http://127.0.0.1:${port}`,
        get attaches() { return state.attaches; },
        get replies() { return state.replies; },
        /** Request headers (lower-case names) of every Attach / Reply so far. */
        get attachHeaders() { return state.attachHeaders; },
        get replyHeaders() { return state.replyHeaders; },
        close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }),
      });
    });
  });
}
