#!/usr/bin/env bash
# Interop suite with the real lnd (native/tests/itest_lnd.rs; docs/testing.md).
#
#   scripts/itest-lnd.sh                     the whole suite
#   ITEST_PHASES="native" scripts/itest-lnd.sh   only some signers (native bridge proxy)
#   ITEST_RUNS=5 scripts/itest-lnd.sh        run it several times in a row
#   ITEST_KEEP=1 …                           keep the work dirs (kept anyway on failure)
#
# btcd, lnd (alice watch-only, bob) and grpcwebproxy come from tools/, built by
# scripts/setup.sh from the pinned Go modules in tests/go/. When the Go module
# registry does not serve the pinned lnd, tools/lnd/BLOCKED says what it
# answered and this stage prints BLOCKED and exits 0 (ITEST_REQUIRE=1: exit 1).
# LWS_ITEST_LND_BIN=DIR (with LWS_ITEST_BTCD_BIN, LWS_ITEST_PROXY_BIN) runs the
# suite with binaries you built yourself from the same pins instead.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log() { printf '[itest-lnd] %s\n' "$*" >&2; }
t_start=$(date +%s)

if [ -z "${LWS_ITEST_LND_BIN:-}" ]; then
  if [ -f tools/lnd/BLOCKED ]; then
    printf '\n!! itest-lnd BLOCKED: the real lnd could not be built\n' >&2
    sed 's/^/!!   /' tools/lnd/BLOCKED >&2
    printf '!! (pins: tests/go/lnd/go.mod; docs/testing.md "Interop with the real lnd")\n\n' >&2
    echo "itest-lnd: BLOCKED (0 passed, 0 failed)"
    [ "${ITEST_REQUIRE:-0}" = 1 ] && exit 1
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
export LWS_ITEST_PHASES=${ITEST_PHASES:-"native bridge proxy"}

# The browser phases need the release bridge, the wasm page and node_modules.
case " $LWS_ITEST_PHASES " in
  *" bridge "*|*" proxy "*)
    log "building signer-bridge (release) and the wasm page"
    cargo build -q --release -p lnd-web-signer-native --bin signer-bridge
    bash scripts/build-wasm.sh
    if [ ! -d node_modules/playwright-core ]; then
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
    fi
    ;;
esac
log "building the suite"
# Built once; every run executes the same binary.
bin=$(cargo test -p lnd-web-signer-native --test itest_lnd --no-run --message-format=json 2>/dev/null \
  | python3 -c 'import json,sys
for l in sys.stdin:
    m = json.loads(l)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "itest_lnd":
        print(m["executable"])')
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  cargo test -q -p lnd-web-signer-native --test itest_lnd --no-run   # shows the error
  log "could not build native/tests/itest_lnd.rs"
  exit 1
fi

runs=${ITEST_RUNS:-1}
passed_runs=0
for ((i = 1; i <= runs; i++)); do
  dir=$(mktemp -d "${TMPDIR:-/tmp}/lws-itest-XXXXXX")
  log "run $i/$runs in $dir"
  t0=$(date +%s)
  # Its own process group (job control), so that whatever it started is
  # killed with it even if it dies without cleaning up (or on Ctrl-C).
  set -m
  LWS_ITEST_DIR="$dir" "$bin" &
  pid=$!
  set +m
  trap 'kill -KILL -- -$pid 2>/dev/null || true' EXIT INT TERM
  rc=0
  wait "$pid" || rc=$?
  kill -KILL -- -"$pid" 2>/dev/null || true
  trap - EXIT INT TERM
  if [ "$rc" = 0 ]; then
    passed_runs=$((passed_runs + 1))
    log "run $i passed in $(( $(date +%s) - t0 ))s"
    [ "${ITEST_KEEP:-0}" = 1 ] || rm -rf "$dir"
  else
    log "run $i FAILED in $(( $(date +%s) - t0 ))s; logs kept in $dir"
  fi
done
log "$passed_runs of $runs runs passed; stage took $(( $(date +%s) - t_start ))s"
[ "$passed_runs" = "$runs" ]
