#!/usr/bin/env bash
# Benchmark with the real lnd, side by side with lnd's own signer
# (native/tests/bench_lnd.rs; docs/performance.md "Side by side with lnd's
# own signer"). A benchmark, not part of scripts/test.sh.
#
#   scripts/bench-lnd.sh                          all three signers, both channel types
#   BENCH_SIGNERS="native lnd" scripts/bench-lnd.sh   some signers, in this order (lnd native wasm)
#   BENCH_CHANNELS=anchors …                      channel types (anchors taproot)
#   BENCH_PAYMENTS=50 BENCH_CONCURRENT_PAYMENTS=48 BENCH_IN_FLIGHT=8 BENCH_OPENS=5 BENCH_AMT=5000
#   BENCH_OUT=DIR                                 report.md + samples.json (target/bench-lnd)
#   BENCH_KEEP=1                                  keep the work dir (kept anyway on failure)
#   BENCH_PART=tab-profile                        instead: where the signer tab's time goes (below)
#
# One regtest network (btcd, alice watch-only with deploy/lnd.conf, bob) and
# three signers for alice in turn: lnd itself ("carol", watchonlynode.*,
# nochainbackend, wallet restored from the same aezeed), our native
# `lnd-web-signer connect` (release) and our wasm signer in headless
# Chromium through `signer-bridge --grpc-web`.
#
# btcd, lnd and grpcwebproxy come from tools/, built by scripts/setup.sh from
# the pinned Go modules in tests/go/. When the Go module registry does not
# serve the pinned lnd, tools/lnd/BLOCKED says what it answered and this
# script prints BLOCKED and exits 0 (BENCH_REQUIRE=1: exit 1).
# LWS_ITEST_LND_BIN=DIR (with LWS_ITEST_BTCD_BIN, LWS_ITEST_PROXY_BIN) uses
# binaries you built yourself from the same pins instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log() { printf '[bench-lnd] %s\n' "$*" >&2; }

# BENCH_PART=tab-profile: no lnd. lws-stream-bench plays the node (as in
# scripts/bench-stream.sh) and the same wasm build signs through the same
# `signer-bridge --grpc-web`, hosted (1) by the bare JS API page of
# bench-stream, (2) by the signer tab as shipped (scripts/headless-tab.sh),
# (3) by the tab without its activity fetch hook (a copy of web/ whose
# worker passes no `fetch` to connect), (4) by the tab without its
# activity view (a copy whose onActivity returns at once) and (5) by the tab
# with its hook but without ReplyBatch (a copy passing batchReplies: false,
# every answer in its own Reply call, as the tab did before its inspector
# read ReplyBatch bodies). The differences are the tab's own costs;
# docs/performance.md has a run.
if [ "${BENCH_PART:-}" = tab-profile ]; then
  out=${BENCH_OUT:-"$root/target/bench-lnd/tab-profile"}
  rel=target/release
  rm -rf "$out"; mkdir -p "$out"
  log "building (release) lws-stream-bench, lnd-web-signer, signer-bridge and the wasm page"
  cargo build -q --release -p lnd-web-signer-native --bin lws-stream-bench --bin lnd-web-signer --bin signer-bridge
  WASM_OPT=0 bash scripts/build-wasm.sh
  [ -d node_modules/playwright-core ] || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  mkdir -p "$out/api-web"
  cp -r web/pkg "$out/api-web/"
  cp scripts/bench-stream/index.html scripts/bench-stream/signer.js "$out/api-web/"
  for v in shipped no-fetch-hook no-activity-view unbatched; do cp -r web "$out/web-$v"; done
  python3 - "$out" <<'PY'
import sys
out = sys.argv[1]
def patch(path, old, new):
    s = open(path).read()
    if s.count(old) != 1:
        sys.exit(f"bench-lnd tab-profile: {path}: the page changed, cannot find {old.strip()!r}")
    open(path, "w").write(s.replace(old, new))
patch(f"{out}/web-no-fetch-hook/signer-worker.js", "      fetch: inspectingFetch(s.network),\n", "")
patch(f"{out}/web-no-activity-view/lib/view-activity.js", "export function onActivity(entry) {\n", "export function onActivity(entry) {\n  return;\n")
patch(f"{out}/web-unbatched/signer-worker.js", "      batchReplies: true,\n", "      batchReplies: false,\n")
PY
  pids=()
  trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
  wait_for() { # FILE REGEX SECONDS: prints the first match
    local i
    for i in $(seq $(( $3 * 10 ))); do
      if grep -qE "$2" "$1" 2>/dev/null; then grep -m1 -oE "$2" "$1"; return 0; fi
      sleep 0.1
    done
    log "timed out waiting for /$2/ in $1"; tail -5 "$1" >&2; return 1
  }
  bench_args=(--pings "${PINGS:-500}" --psbts "${PSBTS:-300}" --window "${WINDOW:-16}" --sustain-secs "${SUSTAIN_SECS:-5}")
  log "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
  jsons=()
  for host in ${TAB_HOSTS:-api shipped no-fetch-hook no-activity-view unbatched}; do
    d="$out/$host"; mkdir -p "$d"
    "$rel/lws-stream-bench" --tls-dir "$d" --label "wasm, $host" "${bench_args[@]}" >"$d/bench.out" 2>"$d/bench.err" &
    bench=$!; pids+=("$bench")
    addr=$(wait_for "$d/bench.out" 'listening on [0-9.:]+' 30 | awk '{print $3}')
    if [ "$host" = api ]; then
      node scripts/bench/serve.mjs "$out/api-web" 0 >"$d/serve.out" &
      pids+=("$!")
      page=$(wait_for "$d/serve.out" 'http://127\.0\.0\.1:[0-9]+' 30)
    else
      port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      node tests/page/server.mjs --root "$out/web-$host" --host 127.0.0.1 --port "$port" >"$d/serve.out" 2>&1 &
      pids+=("$!")
      page="http://127.0.0.1:$port"
      wait_for "$d/serve.out" . 10 >/dev/null || sleep 1
    fi
    "$rel/signer-bridge" --listen 127.0.0.1:0 --lnd-rpchost "$addr" --lnd-tlscertpath "$d/tls.cert" \
      --grpc-web --allow-origin "$page" 2>"$d/bridge.err" &
    pids+=("$!")
    bridge=$(wait_for "$d/bridge.err" 'listening on 127\.0\.0\.1:[0-9]+' 30 | awk '{print $3}')
    if [ "$host" = api ]; then
      mac=$(od -An -v -tx1 "$d/signer.macaroon" | tr -d ' \n')
      node scripts/bench-stream/run-signer.mjs \
        "$page/?bridge=http://$bridge&macaroon=$mac&xprv=$(head -1 "$d/bench-seed.txt")&network=regtest" \
        >"$d/page.json" 2>"$d/page.err" &
    else
      echo "tab-profile passphrase" >"$d/pass"
      "$rel/lnd-web-signer" vault seal --network regtest --seed-file "$d/bench-seed.txt" \
        --passphrase-file "$d/pass" --out "$d/signer.vault" 2>/dev/null
      bash scripts/headless-tab.sh --url "$page/" --bridge "http://$bridge" --vault "$d/signer.vault" \
        --passphrase-file "$d/pass" --macaroonpath "$d/signer.macaroon" >"$d/tab.out" 2>"$d/tab.err" &
    fi
    signer=$!; pids+=("$signer")
    log "wasm signer hosted by: $host"
    if ! wait "$bench"; then
      log "$host: the benchmark failed"; tail -20 "$d/bench.err" >&2; exit 1
    fi
    kill -TERM "$signer" 2>/dev/null || true
    wait "$signer" 2>/dev/null || true
    tail -1 "$d/bench.out" >"$out/$host.json"
    jsons+=("$out/$host.json")
    grep -v '^watchonly-sim:' "$d/bench.err" >&2 || true
  done
  log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
  node scripts/bench-stream/table.mjs "${jsons[@]}"
  exit 0
fi

if [ -z "${LWS_ITEST_LND_BIN:-}" ]; then
  if [ -f tools/lnd/BLOCKED ]; then
    printf '\n!! bench-lnd BLOCKED: the real lnd could not be built\n' >&2
    sed 's/^/!!   /' tools/lnd/BLOCKED >&2
    printf '!! (pins: tests/go/lnd/go.mod; docs/testing.md "Interop with the real lnd")\n\n' >&2
    echo "bench-lnd: BLOCKED"
    [ "${BENCH_REQUIRE:-0}" = 1 ] && exit 1
    exit 0
  fi
  for t in lnd/lnd lnd/lncli btcd/btcd btcd/btcctl grpcwebproxy/grpcwebproxy; do
    if [ ! -x "tools/$t" ]; then
      log "tools/$t is missing: run scripts/setup.sh first"
      exit 1
    fi
  done
  export LWS_ITEST_LND_BIN="$root/tools/lnd"
  export LWS_ITEST_BTCD_BIN="$root/tools/btcd"
  export LWS_ITEST_PROXY_BIN="$root/tools/grpcwebproxy"
fi

export LWS_BENCH_LND=1
export LWS_BENCH_SIGNERS=${BENCH_SIGNERS:-"lnd native wasm"}
export LWS_BENCH_CHANNELS=${BENCH_CHANNELS:-"anchors taproot"}
export LWS_BENCH_PAYMENTS=${BENCH_PAYMENTS:-50}
export LWS_BENCH_CONCURRENT_PAYMENTS=${BENCH_CONCURRENT_PAYMENTS:-48}
export LWS_BENCH_IN_FLIGHT=${BENCH_IN_FLIGHT:-8}
export LWS_BENCH_OPENS=${BENCH_OPENS:-5}
export LWS_BENCH_AMT=${BENCH_AMT:-5000}
export LWS_BENCH_OUT=${BENCH_OUT:-"$root/target/bench-lnd"}
if [ -z "${LWS_BENCH_REVISION:-}" ] && git rev-parse --git-dir >/dev/null 2>&1; then
  LWS_BENCH_REVISION="commit $(git rev-parse --short=12 HEAD)"
  [ -z "$(git status --porcelain --untracked-files=no)" ] || LWS_BENCH_REVISION+=" with uncommitted changes"
  export LWS_BENCH_REVISION
fi

case " $LWS_BENCH_SIGNERS " in
  *" wasm "*)
    log "building signer-bridge (release) and the wasm page"
    cargo build -q --release -p lnd-web-signer-native --bin signer-bridge
    bash scripts/build-wasm.sh
    if [ ! -d node_modules/playwright-core ]; then
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
    fi
    ;;
esac
# Release: the native signer under test is target/release/lnd-web-signer.
log "building the benchmark (release)"
cargo test -q --release -p lnd-web-signer-native --test bench_lnd --no-run

dir=$(mktemp -d "${TMPDIR:-/tmp}/lws-bench-lnd-XXXXXX")
log "work dir $dir; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
t0=$(date +%s)
if LWS_BENCH_DIR="$dir" cargo test -q --release -p lnd-web-signer-native --test bench_lnd; then
  log "done in $(( $(date +%s) - t0 ))s; report: $LWS_BENCH_OUT/report.md"
  [ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$dir"
else
  log "FAILED after $(( $(date +%s) - t0 ))s; logs kept in $dir"
  exit 1
fi
