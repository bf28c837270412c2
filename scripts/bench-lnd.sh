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
