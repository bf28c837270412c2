// The wasm signer for scripts/bench-stream.sh: connects to signer-bridge
// (grpc-web) with the seed and macaroon from the query string and serves
// lws-stream-bench until the page is closed. Counts status events only (no
// per-request work on the page, so the numbers are the signer's).
//
// ?probe=1 (BENCH_PROBE=1): also splits the round trip, page side. Before
// connecting, 300 sequential bare fetch POSTs to the bridge (an empty Reply,
// refused at once) time the browser's own fetch round trip; while serving,
// a wrapper around the global fetch (the signer keeps ReplyBatch: it does
// not get a fetch of its own) timestamps each Attach chunk and each Reply
// call. The summary goes into the page status as `probe` (medians and
// p99s, ms; performance.now() is coarsened to 0.1 ms here).
import init, { UnlockedSigner } from "./pkg/lnd_web_signer.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
window.streamStatus = { counts: {}, errors: [], registered: false };

/** @param {number[]} a */
function quantiles(a) {
  const b = [...a].sort((x, y) => x - y);
  return { p50: b[Math.floor(b.length / 2)], p99: b[Math.floor(b.length * 0.99)], n: b.length };
}

const probe = q.get("probe") ? { chunks: [], calls: [], callMs: [] } : null;
const realFetch = globalThis.fetch.bind(globalThis);

async function fetchFloor() {
  const url = `${q.get("bridge")}/signerbridge.SignerBridge/Reply`;
  // One grpc-web frame: a ReplyRequest with an empty session token.
  const body = new Uint8Array([0, 0, 0, 0, 2, 10, 0]);
  const headers = { "content-type": "application/grpc-web+proto", accept: "application/grpc-web+proto", "x-grpc-web": "1" };
  const ms = [];
  for (let i = 0; i < 300; i++) {
    const t0 = performance.now();
    const r = await realFetch(new Request(url, { method: "POST", body, headers }));
    await r.arrayBuffer();
    ms.push(performance.now() - t0);
  }
  return quantiles(ms.slice(20));
}

if (probe) {
  globalThis.fetch = async (req) => {
    if (!(req instanceof Request)) return realFetch(req);
    const path = new URL(req.url).pathname;
    if (path.endsWith("/Attach")) {
      const r = await realFetch(req);
      const stamp = new TransformStream({
        transform(chunk, ctl) {
          probe.chunks.push(performance.now());
          ctl.enqueue(chunk);
        },
      });
      return new Response(r.body.pipeThrough(stamp), { status: r.status, headers: r.headers });
    }
    const t0 = performance.now();
    probe.calls.push(t0);
    const r = await realFetch(req);
    probe.callMs.push(performance.now() - t0);
    return r;
  };
  // The sequential ping phase comes first: take its first 1000 requests.
  window.streamStatus.probeSummary = () => {
    const { chunks, calls } = probe;
    const gaps = [];
    const toCall = [];
    let j = 0;
    for (let i = 5; i < Math.min(1000, chunks.length - 1); i++) {
      gaps.push(chunks[i + 1] - chunks[i]);
      while (j < calls.length && calls[j] < chunks[i]) j++;
      if (j < calls.length && calls[j] < chunks[i + 1]) toCall.push(calls[j] - chunks[i]);
    }
    return {
      fetchFloor: probe.floor,
      // Attach chunk to the next one: the whole round trip seen by the page.
      chunkToChunk: quantiles(gaps),
      // Attach chunk in the page to its Reply fetch called: the wasm host.
      chunkToReplyFetch: quantiles(toCall),
      // Reply fetch called to its response: one grpc-web call.
      replyCall: quantiles(probe.callMs.slice(5, 1000)),
    };
  };
}

try {
  await init();
  if (probe) probe.floor = await fetchFloor();
  const signer = UnlockedSigner.fromSeed({ network: q.get("network") || "regtest", xprv: q.get("xprv") });
  const transport = q.get("transport") || "auto";
  const conn = signer.connect(q.get("bridge"), q.get("macaroon"), (s) => {
    const st = window.streamStatus;
    st.counts[s.kind] = (st.counts[s.kind] || 0) + 1;
    if (s.kind === "registered") {
      st.registered = true;
      st.transport = s.transport;
    }
    if (s.kind === "error" && st.errors.length < 20) {
      st.errors.push(s.reason);
      console.log(`signer error: ${s.reason}`);
    }
  }, { transport });
  // Keep both alive: dropping the signer locks it and stops the connection.
  window.streamSigner = { signer, conn };
  out.textContent = "connected";
} catch (e) {
  window.streamError = String(e && e.stack ? e.stack : e);
  out.textContent = window.streamError;
}
