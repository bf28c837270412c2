#!/usr/bin/env bash
# Stream benchmarks: request round trips on loopback as lnd's
# watch-only node sees them (request sent -> response received), measured by
# lws-stream-bench playing the node, for
#   1. the native signer (`lnd-web-signer connect`, release) dialing it directly;
#   2. the wasm signer (wasm-release build, headless Chromium) behind
#      `signer-bridge --grpc-web`, over its WebSocket channel and over
#      grpc-web calls;
#   (baseline) a minimal native signer (lws-stream-bench --bridge-signer)
#      behind signer-bridge over plain gRPC: the bridge's cost without a browser;
# each: sequential ping and SignPsbt (1 P2WKH input) round trips (p50/p99),
# then sustained load (WINDOW requests in flight for SUSTAIN_SECS) per kind.
#   scripts/bench-stream.sh            full run (builds what it needs)
# Env: PINGS (2000) PSBTS (500) WINDOW (16) SUSTAIN_SECS (5) SKIP_BUILD=1
#      BENCH_STREAM_OUT (target/bench-stream)
#      BENCH_PROBE=1: the page also splits the wasm round trip (Chromium's
#      bare fetch round trip, wasm host time, Reply call time; printed as
#      `probe` in the "page status" line, see scripts/bench-stream/signer.js)
# Targets (wasm over the WebSocket channel): p50 <= 2 ms and p99 <= 5 ms one at
# a time; >= 2000 SignPsbt/s with p99 <= 20 ms, 16 in flight.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
LOG_TAG=bench-stream
. scripts/lib.sh
out=${BENCH_STREAM_OUT:-target/bench-stream}
mkdir -p "$out"
pings=${PINGS:-2000}
psbts=${PSBTS:-500}
window=${WINDOW:-16}
sustain=${SUSTAIN_SECS:-5}
rel=target/release

if [ "${SKIP_BUILD:-}" != 1 ]; then
  build_release
  log "building the wasm signer (wasm-release)"
  rm -rf "$out/web" && mkdir -p "$out/web"
  # WASM_OPT=0: binaryen's wasm-opt currently yields a module that fails to
  # load (WebAssembly.Table.set on the externref table, see scripts/demo.sh).
  WASM_OPT=0 WASM_OUT="$out/web/pkg" bash scripts/build-wasm.sh
fi
cp scripts/bench-stream/index.html scripts/bench-stream/signer.js "$out/web/"

lws_traps

# wait_bench BENCH_PID HELPER_PID NAME: waits for the bench; fails at once if
# the helper process (signer or browser) dies first.
wait_bench() {
  while kill -0 "$1" 2>/dev/null; do
    if ! kill -0 "$2" 2>/dev/null; then
      log "$3 exited before the benchmark finished"
      return 1
    fi
    sleep 0.2
  done
  wait "$1"
}

bench_args=(--pings "$pings" --psbts "$psbts" --window "$window" --sustain-secs "$sustain")

# ---- 1. native signer, direct
log "native signer -> node (direct, TLS)"
d="$out/native"; rm -rf "$d"; mkdir -p "$d"
"$rel/lws-stream-bench" --tls-dir "$d" --label "native, direct" "${bench_args[@]}" >"$d/bench.out" 2>"$d/bench.err" &
bench=$!; track "$bench"
addr=$(wait_line "$d/bench.out" 'listening on [0-9.:]+' 30 | awk '{print $3}')
"$rel/lnd-web-signer" connect --rpchost "$addr" --tlscertpath "$d/tls.cert" \
  --macaroonpath "$d/signer.macaroon" --network regtest --seed-file "$d/bench-seed.txt" \
  2>"$d/signer.err" &
signer=$!; track "$signer"
wait_bench "$bench" "$signer" "lnd-web-signer connect" || { tail -20 "$d/signer.err" >&2; exit 1; }
kill "$signer" 2>/dev/null || true
tail -1 "$d/bench.out" >"$out/native.json"
grep -v '^watchonly-sim:' "$d/bench.err" >&2 || true

# ---- baseline: native signer behind signer-bridge (gRPC, no browser)
log "native signer -> signer-bridge (gRPC) -> node"
d="$out/bridge-native"; rm -rf "$d"; mkdir -p "$d"
"$rel/lws-stream-bench" --tls-dir "$d" --label "native, via signer-bridge gRPC" "${bench_args[@]}" >"$d/bench.out" 2>"$d/bench.err" &
bench=$!; track "$bench"
addr=$(wait_line "$d/bench.out" 'listening on [0-9.:]+' 30 | awk '{print $3}')
"$rel/signer-bridge" --listen 127.0.0.1:0 --lnd-rpchost "$addr" --lnd-tlscertpath "$d/tls.cert" \
  2>"$d/bridge.err" &
bridge=$!; track "$bridge"
bridge_addr=$(wait_line "$d/bridge.err" 'listening on 127\.0\.0\.1:[0-9]+' 30 | awk '{print $3}')
"$rel/lws-stream-bench" --tls-dir "$d" --bridge-signer "http://$bridge_addr" 2>"$d/signer.err" &
signer=$!; track "$signer"
wait_bench "$bench" "$signer" "the native bridge signer" || { tail -20 "$d/signer.err" >&2; exit 1; }
kill "$signer" "$bridge" 2>/dev/null || true
tail -1 "$d/bench.out" >"$out/bridge-native.json"
grep -v '^watchonly-sim:' "$d/bench.err" >&2 || true

# ---- 2. wasm signer in Chromium, via signer-bridge --grpc-web: over its
# WebSocket channel (what the tab uses), then over grpc-web calls (the
# fallback for bridges and proxies without WebSocket support)
# run_wasm TRANSPORT NAME LABEL
run_wasm() {
  local transport=$1 name=$2 label=$3 d page addr bridge_addr mac tprv bench runner
  log "wasm signer (Chromium) -> signer-bridge ($transport) -> node"
  d="$out/$name"; rm -rf "$d"; mkdir -p "$d"
  node tests/stack/cli.mjs serve --root "$out/web" --bench-csp >"$d/serve.out" &
  track "$!"
  page=$(wait_line "$d/serve.out" 'http://127\.0\.0\.1:[0-9]+' 30)
  "$rel/lws-stream-bench" --tls-dir "$d" --label "$label" "${bench_args[@]}" >"$d/bench.out" 2>"$d/bench.err" &
  bench=$!; track "$bench"
  addr=$(wait_line "$d/bench.out" 'listening on [0-9.:]+' 30 | awk '{print $3}')
  "$rel/signer-bridge" --listen 127.0.0.1:0 --lnd-rpchost "$addr" --lnd-tlscertpath "$d/tls.cert" \
    --grpc-web --allow-origin "$page" 2>"$d/bridge.err" &
  track "$!"
  bridge_addr=$(wait_line "$d/bridge.err" 'listening on 127\.0\.0\.1:[0-9]+' 30 | awk '{print $3}')
  mac=$(od -An -v -tx1 "$d/signer.macaroon" | tr -d ' \n')
  tprv=$(head -1 "$d/bench-seed.txt")
  node scripts/bench-stream/run-signer.mjs \
    "$page/?bridge=http://$bridge_addr&macaroon=$mac&xprv=$tprv&network=regtest&transport=$transport${BENCH_PROBE:+&probe=1}" \
    >"$d/page.json" 2>"$d/page.err" &
  runner=$!; track "$runner"
  wait_bench "$bench" "$runner" "the browser runner" || { tail -20 "$d/page.err" >&2; exit 1; }
  kill -TERM "$runner" 2>/dev/null || true
  wait "$runner" 2>/dev/null || true
  tail -1 "$d/bench.out" >"$out/$name.json"
  grep -v '^watchonly-sim:' "$d/bench.err" >&2 || true
  log "page status ($transport): $(cat "$d/page.json")"
  if ! grep -q "\"transport\":\"$transport\"" "$d/page.json"; then
    log "the wasm signer did not register over $transport"
    exit 1
  fi
}
run_wasm websocket wasm "wasm (Chromium), via signer-bridge WebSocket"
run_wasm grpc-web wasm-grpcweb "wasm (Chromium), via signer-bridge grpc-web"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
chromium_version=$(chromium --version 2>/dev/null | head -1 || true)
printf '\nMachine: %s cores, %s; %s; rustc %s\n\n' "$(nproc)" "$cpu" "$chromium_version" "$(rustc --version | awk '{print $2}')"
node scripts/bench-stream/table.mjs "$out/native.json" "$out/bridge-native.json" "$out/wasm.json" "$out/wasm-grpcweb.json"
cd "$root"
