// The wasm signer for scripts/bench-stream.sh: connects to signer-bridge
// (grpc-web) with the seed and macaroon from the query string and serves
// lws-stream-bench until the page is closed. Counts status events only (no
// per-request work on the page, so the numbers are the signer's).
import init, { UnlockedSigner } from "./pkg/lnd_web_signer.js";

const q = new URLSearchParams(location.search);
const out = document.getElementById("out");
window.streamStatus = { counts: {}, errors: [], registered: false };
try {
  await init();
  const signer = UnlockedSigner.fromSeed({ network: q.get("network") || "regtest", xprv: q.get("xprv") });
  const conn = signer.connect(q.get("bridge"), q.get("macaroon"), (s) => {
    const st = window.streamStatus;
    st.counts[s.kind] = (st.counts[s.kind] || 0) + 1;
    if (s.kind === "registered") st.registered = true;
    if (s.kind === "error" && st.errors.length < 20) {
      st.errors.push(s.reason);
      console.log(`signer error: ${s.reason}`);
    }
  });
  // Keep both alive: dropping the signer locks it and stops the connection.
  window.streamSigner = { signer, conn };
  out.textContent = "connected";
} catch (e) {
  window.streamError = String(e && e.stack ? e.stack : e);
  out.textContent = window.streamError;
}
