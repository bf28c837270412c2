// The wasm signer for scripts/soak.sh: connects to signer-bridge (grpc-web)
// with the seed and macaroon from the query string and serves the
// simulator until the page is closed. Counts status events and exposes
// window.soakSample() (wasm linear memory, JS heap, counts, MuSig2 session
// evictions: the signer reports each on console.info) for the runner.
import init, { UnlockedSigner } from "./pkg/lnd_web_signer.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
const st = { counts: {}, requests: 0, requestErrors: 0, connectionErrors: 0, errors: [], registrations: 0, evictions: 0 };
window.soakStatus = st;
const info = console.info.bind(console);
console.info = (...args) => {
  if (String(args[0]).startsWith("musig2: evicted")) st.evictions += 1;
  else info(...args);
};
try {
  const wasm = await init();
  const signer = UnlockedSigner.fromSeed({ network: q.get("network") || "regtest", xprv: q.get("xprv") });
  if (q.get("musig2MaxSessions")) signer.setMusig2MaxSessions(Number(q.get("musig2MaxSessions")));
  const conn = signer.connect(q.get("bridge"), q.get("macaroon"), (s) => {
    st.counts[s.kind] = (st.counts[s.kind] || 0) + 1;
    if (s.kind === "registered") st.registrations += 1;
    if (s.kind === "request") {
      st.requests += 1;
      if (s.error !== null && s.error !== undefined) st.requestErrors += 1;
    }
    if (s.kind === "error") {
      st.connectionErrors += 1;
      if (st.errors.length < 20) st.errors.push(String(s.reason));
    }
  });
  window.soakSigner = { signer, conn };
  window.soakSample = () => ({
    wasmBytes: wasm.memory.buffer.byteLength,
    jsHeapBytes: performance.memory ? performance.memory.usedJSHeapSize : null,
    ...JSON.parse(JSON.stringify(st)),
  });
  out.textContent = "connected";
} catch (e) {
  window.soakError = String(e && e.stack ? e.stack : e);
  out.textContent = window.soakError;
}
