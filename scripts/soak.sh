#!/usr/bin/env bash
# Soak benchmark (not a test): the wasm signer in headless Chromium (through
# signer-bridge --grpc-web) and the native signer (`lnd-web-signer connect`)
# each serve their own watchonly-sim running the mixed workload without end,
# for MINUTES (default 60). Every SOAK_SAMPLE_SECONDS (30) it records the wasm
# linear memory and JS heap of the page, the RSS of every process, and the
# requests answered; at the end the simulators report what they verified.
#
#   scripts/soak.sh [MINUTES]
#   SOAK_ROUND_INTERVAL=200ms   pause between rounds of the workload (default 200ms)
#   SOAK_OUT=target/soak        where the logs and summary.json go
#   SOAK_MUSIG2_SESSIONS=N      MuSig2 session bound of both signers (default
#                               the signers' own, 10000): a lower one fills the
#                               tables early, so the run shows the steady state
#   SKIP_BUILD=1                reuse the release binaries and $SOAK_OUT/web/pkg
#
# Target: zero failed checks, no error statuses, no memory growth after the
# warm-up (the first sample after 2 minutes is the baseline). Prints a
# Markdown table; docs/performance.md has the latest figures. Everything runs
# on 127.0.0.1 and stops by itself after MINUTES.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
LOG_TAG=soak
. scripts/lib.sh
minutes=${1:-60}
interval=${SOAK_ROUND_INTERVAL:-200ms}
every=${SOAK_SAMPLE_SECONDS:-30}
out=${SOAK_OUT:-target/soak}
musig2_sessions=${SOAK_MUSIG2_SESSIONS:-}
rel=target/release
rm -rf "$out/run" && mkdir -p "$out/run"
run="$out/run"

if [ "${SKIP_BUILD:-}" != 1 ]; then
  build_release
  log "building the wasm signer (wasm-release)"
  rm -rf "$out/web" && mkdir -p "$out/web"
  WASM_OPT=0 WASM_OUT="$out/web/pkg" bash scripts/build-wasm.sh
fi
mkdir -p "$out/web"
cp scripts/soak/index.html scripts/soak/soak.js "$out/web/"
npm_deps

lws_traps

# RSS in KiB of PID, and of PID with all its descendants.
rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
tree_pids() {
  local p=$1 c
  echo "$p"
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do tree_pids "$c"; done
}
tree_rss() {
  local sum=0 p
  for p in $(tree_pids "$1"); do sum=$(( sum + $(rss "$p") )); done
  echo "$sum"
}
renderer_rss() {
  local p
  for p in $(tree_pids "$1"); do
    if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -q -- '--type=renderer'; then rss "$p"; return; fi
  done
  echo 0
}

# Test key: lnd's docs/remote-signing.md example tprv (public, never a wallet).
lws_const DEMO_TPRV >"$run/seed"
"$rel/lnd-web-signer" accounts --network regtest --seed-file "$run/seed" >"$run/accounts.json"
tprv=$(head -1 "$run/seed")

start_sim() { # NAME
  "$rel/watchonly-sim" --listen 127.0.0.1:0 --tls-dir "$run/$1-tls" --macaroon-out "$run/$1.macaroon" \
    --accounts "$run/accounts.json" --network regtest --scenario mixed --rounds 0 \
    --round-interval "$interval" --ping-interval 10s --startup-timeout 300s --quiet \
    >"$run/$1-sim.out" 2>"$run/$1-sim.err" &
  track "$!"
}

log "starting the native side: watchonly-sim + lnd-web-signer connect"
start_sim native
sim_native=${pids[-1]}
native_addr=$(wait_line "$run/native-sim.out" 'listening on [0-9.]+:[0-9]+' 30 | awk '{print $3}')
"$rel/lnd-web-signer" connect --rpchost "$native_addr" --tlscertpath "$run/native-tls/tls.cert" \
  --macaroonpath "$run/native.macaroon" --network regtest --seed-file "$run/seed" \
  ${musig2_sessions:+--musig2-max-sessions "$musig2_sessions"} 2>"$run/native-signer.err" &
native_signer=$!; track "$native_signer"

log "starting the wasm side: watchonly-sim + signer-bridge --grpc-web + Chromium"
start_sim wasm
sim_wasm=${pids[-1]}
wasm_addr=$(wait_line "$run/wasm-sim.out" 'listening on [0-9.]+:[0-9]+' 30 | awk '{print $3}')
node tests/stack/cli.mjs serve --root "$out/web" --bench-csp >"$run/serve.out" 2>&1 &
track "$!"
page=$(wait_line "$run/serve.out" 'http://127\.0\.0\.1:[0-9]+' 30)
"$rel/signer-bridge" --listen 127.0.0.1:0 --lnd-rpchost "$wasm_addr" --lnd-tlscertpath "$run/wasm-tls/tls.cert" \
  --grpc-web --allow-origin "$page" 2>"$run/bridge.err" &
bridge=$!; track "$bridge"
bridge_addr=$(wait_line "$run/bridge.err" 'listening on 127\.0\.0\.1:[0-9]+' 30 | awk '{print $3}')
mac=$(od -An -v -tx1 "$run/wasm.macaroon" | tr -d ' \n')
SOAK_SAMPLE_SECONDS=$every node scripts/soak/run.mjs \
  "$page/?bridge=http://$bridge_addr&macaroon=$mac&xprv=$tprv&network=regtest${musig2_sessions:+&musig2MaxSessions=$musig2_sessions}" \
  >"$run/page.jsonl" 2>"$run/page.err" &
runner=$!; track "$runner"
wait_line "$run/page.err" 'wasm signer running' 120 >/dev/null

log "running for $minutes min (samples every ${every}s in $run/)"
t0=$(date +%s)
end=$(( t0 + minutes * 60 ))
printf 't native_rss_kib bridge_rss_kib browser_tree_rss_kib renderer_rss_kib sim_native_rss_kib sim_wasm_rss_kib native_evictions\n' >"$run/rss.txt"
evictions() { grep -c 'musig2: evicted' "$run/native-signer.err" 2>/dev/null || true; }
early_exit=""
while [ "$(date +%s)" -lt "$end" ]; do
  printf '%s %s %s %s %s %s %s %s\n' "$(( $(date +%s) - t0 ))" "$(rss "$native_signer")" "$(rss "$bridge")" \
    "$(tree_rss "$runner")" "$(renderer_rss "$runner")" "$(rss "$sim_native")" "$(rss "$sim_wasm")" "$(evictions)" >>"$run/rss.txt"
  for p in "$sim_native:native simulator" "$sim_wasm:wasm simulator" "$native_signer:native signer" \
    "$bridge:signer-bridge" "$runner:the browser"; do
    if ! kill -0 "${p%%:*}" 2>/dev/null; then early_exit="${p#*:} exited early"; break 2; fi
  done
  sleep "$every"
done
printf '%s %s %s %s %s %s %s %s\n' "$(( $(date +%s) - t0 ))" "$(rss "$native_signer")" "$(rss "$bridge")" \
  "$(tree_rss "$runner")" "$(renderer_rss "$runner")" "$(rss "$sim_native")" "$(rss "$sim_wasm")" "$(evictions)" >>"$run/rss.txt"
[ -z "$early_exit" ] || log "$early_exit"

# Stop: the page's last sample, then the simulators' verdicts.
kill -TERM "$runner" 2>/dev/null || true
wait "$runner" 2>/dev/null || true
for s in "$sim_native" "$sim_wasm"; do kill -TERM "$s" 2>/dev/null || true; done
set +e
wait "$sim_native"; rc_native=$?
wait "$sim_wasm"; rc_wasm=$?
set -e
elapsed=$(( $(date +%s) - t0 ))

SOAK_RUN="$run" SOAK_ELAPSED="$elapsed" SOAK_RC_NATIVE="$rc_native" SOAK_RC_WASM="$rc_wasm" \
SOAK_EARLY="$early_exit" SOAK_WARMUP=120 node - <<'EOF' | tee "$out/summary.md"
const fs = require("node:fs");
const run = process.env.SOAK_RUN;
const lines = (f) => fs.readFileSync(`${run}/${f}`, "utf8").split("\n").filter(Boolean);
const verdict = (f) => {
  const text = fs.readFileSync(`${run}/${f}`, "utf8") + fs.readFileSync(`${run}/${f.replace(".out", ".err")}`, "utf8");
  const m = [...text.matchAll(/^(\d+) passed, (\d+) failed$/gm)].pop();
  const s = [...text.matchAll(/stats: (\d+) requests sent \((\d+) re-sent/g)].pop();
  return { passed: m ? Number(m[1]) : null, failed: m ? Number(m[2]) : null, sent: s ? Number(s[1]) : null, resent: s ? Number(s[2]) : null };
};
const rss = lines("rss.txt").slice(1).map((l) => l.split(" ").map(Number));
const page = lines("page.jsonl").map((l) => JSON.parse(l)).filter((s) => !s.error);
const warm = Number(process.env.SOAK_WARMUP);
const base = (rows, t) => rows.find((r) => t(r) >= warm) || rows[rows.length - 1];
const r0 = rss[0], rw = base(rss, (r) => r[0]), r1 = rss[rss.length - 1];
const p0 = page[0], pw = base(page, (p) => p.t), p1 = page[page.length - 1];
const nat = verdict("native-sim.out"), was = verdict("wasm-sim.out");
const mib = (kib) => `${(kib / 1024).toFixed(1)} MiB`;
const mb = (b) => (b === null || b === undefined ? "—" : `${(b / 1048576).toFixed(1)} MiB`);
const out = [];
out.push(`Soak: ${(Number(process.env.SOAK_ELAPSED) / 60).toFixed(1)} min, mixed workload, ${rss.length} samples${process.env.SOAK_EARLY ? `; ${process.env.SOAK_EARLY}` : ""}`);
out.push("");
out.push("| signer | checks passed | failed | requests sent by the sim (re-sent) | signer errors | sim exit |");
out.push("|---|---:|---:|---:|---|---:|");
out.push(`| native (\`lnd-web-signer connect\`) | ${nat.passed} | ${nat.failed} | ${nat.sent} (${nat.resent}) | — | ${process.env.SOAK_RC_NATIVE} |`);
out.push(`| wasm (Chromium, via signer-bridge) | ${was.passed} | ${was.failed} | ${was.sent} (${was.resent}) | page: ${p1.requests} answered, ${p1.requestErrors} signer_error, ${p1.connectionErrors} connection errors, ${p1.registrations} registrations | ${process.env.SOAK_RC_WASM} |`);
out.push("");
out.push(`| memory | start (t=${r0[0]} s) | after warm-up (t=${rw[0]} s) | end (t=${r1[0]} s) | end − warm-up |`);
out.push("|---|---:|---:|---:|---:|");
const row = (name, i) => out.push(`| ${name} | ${mib(r0[i])} | ${mib(rw[i])} | ${mib(r1[i])} | ${((r1[i] - rw[i]) / 1024).toFixed(1)} MiB |`);
// Steady state: from the first sample at which the signer's MuSig2 tables
// were full (it had evicted) and the warm-up was over, to the end.
const fullN = rss.find((r) => r[0] >= warm && r[7] > 0);
const fullW = page.find((p) => p.t >= warm && p.evictions > 0);
const fmtT = (t) => (t === undefined ? "never" : `t=${t} s`);
const half = Number(process.env.SOAK_ELAPSED) / 2;
const rh = rss.find((r) => r[0] >= half) || r1, ph = page.find((p) => p.t >= half) || p1;
const steady = (a, b) => (a === undefined ? "—" : `${(b / 1048576 - a / 1048576).toFixed(1)} MiB`);
out.push(`| wasm linear memory | ${mb(p0.wasmBytes)} | ${mb(pw.wasmBytes)} | ${mb(p1.wasmBytes)} | ${((p1.wasmBytes - pw.wasmBytes) / 1048576).toFixed(1)} MiB |`);
out.push(`| page JS heap (used) | ${mb(p0.jsHeapBytes)} | ${mb(pw.jsHeapBytes)} | ${mb(p1.jsHeapBytes)} | ${((p1.jsHeapBytes - pw.jsHeapBytes) / 1048576).toFixed(1)} MiB |`);
row("native signer RSS", 1);
out.push("");
out.push("| signer memory | sessions first evicted (after warm-up) | memory then | half-time | end | growth in the second half |");
out.push("|---|---:|---:|---:|---:|---:|");
out.push(`| native signer RSS | ${fmtT(fullN && fullN[0])} | ${fullN ? mib(fullN[1]) : "—"} | ${mib(rh[1])} (t=${rh[0]} s) | ${mib(r1[1])} | ${steady(rh[1] * 1024, r1[1] * 1024)} |`);
out.push(`| wasm linear memory | ${fmtT(fullW && fullW.t)} | ${fullW ? mb(fullW.wasmBytes) : "—"} | ${mb(ph.wasmBytes)} (t=${ph.t} s) | ${mb(p1.wasmBytes)} | ${steady(ph.wasmBytes, p1.wasmBytes)} |`);
out.push("");
out.push("| other processes | start | after warm-up | end | end − warm-up |");
out.push("|---|---:|---:|---:|---:|");
row("signer-bridge RSS", 2);
row("Chromium renderer RSS", 4);
row("Chromium, all processes (sum of RSS)", 3);
row("watchonly-sim (native side) RSS", 5);
row("watchonly-sim (wasm side) RSS", 6);
console.log(out.join("\n"));
fs.writeFileSync(`${run}/../summary.json`, JSON.stringify({ native: nat, wasm: was, page: { first: p0, warm: pw, full: fullW || null, half: ph, last: p1 }, rss: { first: r0, warm: rw, full: fullN || null, half: rh, last: r1 } }, null, 1));
EOF
ok=1
[ "$rc_native" = 0 ] && [ "$rc_wasm" = 0 ] && [ -z "$early_exit" ] || ok=0
if [ "$ok" = 1 ]; then log "done: every check passed"; else log "done with failures (sim exits $rc_native/$rc_wasm${early_exit:+, $early_exit}); logs in $run/"; exit 1; fi
