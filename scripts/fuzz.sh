#!/usr/bin/env bash
# Coverage-guided fuzzing of the decoders (cargo-fuzz / libFuzzer on a
# nightly toolchain; the fuzz crate is fuzz/, its own workspace, so normal
# builds never compile it). See docs/testing.md, "Fuzzing".
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]   run each target for SECONDS (default 60)
#   FUZZ_RUNS=N scripts/fuzz.sh 0 TARGET    stop after N executions instead of a time
#   scripts/fuzz.sh --seeds                 rewrite fuzz/seeds/ (simulator workloads,
#                                           ../shared/vectors, small vaults)
#   scripts/fuzz.sh --build                 build the targets only
#
# Targets: grpcweb_frames bridge_split signer_handle aezeed_mnemonic vault_open handle_line
# Each run starts from fuzz/seeds/TARGET (committed) plus fuzz/corpus/TARGET
# (what earlier runs found, git-ignored). A crash stops the run: libFuzzer
# writes the input to fuzz/artifacts/TARGET/; fix the bug, then keep the
# input in fuzz/regressions/TARGET/ (native/tests/integration/fuzz_regressions.rs runs
# every kept input through the same check in the normal test suite).
# Prints one line per target: executions, time, corpus size, crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
TARGETS_ALL="grpcweb_frames bridge_split signer_handle aezeed_mnemonic vault_open handle_line"
CARGO_FUZZ_VERSION=0.13.2
log() { printf '[fuzz] %s\n' "$*" >&2; }

ensure_tools() {
  if ! rustup run nightly rustc --version >/dev/null 2>&1; then
    log "installing the nightly toolchain (libFuzzer's sanitizer-coverage flags need it)"
    rustup toolchain install nightly --profile minimal
  fi
  if ! cargo fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
    log "installing cargo-fuzz $CARGO_FUZZ_VERSION"
    cargo install cargo-fuzz --locked --version "$CARGO_FUZZ_VERSION"
  fi
}

# Release with debug assertions (integer overflow panics, as in tests) and
# without a sanitizer: the code under test is safe Rust (plus
# libsecp256k1), so AddressSanitizer would mostly halve the executions.
FUZZ_FLAGS=(--fuzz-dir fuzz -O -a -s none)

# Every target in one cargo run (links in parallel); one target when only
# that one is asked for.
build() {
  if [ "$#" = 1 ]; then
    cargo +nightly fuzz build "${FUZZ_FLAGS[@]}" "$1"
  else
    cargo +nightly fuzz build "${FUZZ_FLAGS[@]}"
  fi
}

bin_dir() { echo "$root/fuzz/target/x86_64-unknown-linux-gnu/release"; }

if [ "${1:-}" = "--seeds" ]; then
  ensure_tools
  # seedgen is a plain program: built without the fuzzer's instrumentation
  # (which needs libFuzzer's runtime) in a target dir of its own.
  log "building seedgen"
  cargo +nightly build -q --release --manifest-path fuzz/Cargo.toml --example seedgen --target-dir fuzz/target/seedgen
  log "building watchonly-sim"
  cargo build -q --release -p lnd-web-signer-native --bin watchonly-sim
  rm -rf fuzz/seeds.new
  fuzz/target/seedgen/release/examples/seedgen "$root/target/release/watchonly-sim" "$root/../shared/vectors" "$root/fuzz/seeds.new"
  rm -rf fuzz/seeds && mv fuzz/seeds.new fuzz/seeds
  for t in $TARGETS_ALL; do log "seeds/$t: $(ls fuzz/seeds/$t 2>/dev/null | wc -l) files"; done
  exit 0
fi

if [ "${1:-}" = "--build" ]; then
  ensure_tools
  build $TARGETS_ALL
  exit 0
fi

secs=${1:-60}
shift || true
targets=${*:-$TARGETS_ALL}
ensure_tools
log "building: $targets"
t_build=$(date +%s)
build $targets
log "built in $(( $(date +%s) - t_build ))s"

# run_one TARGET: one run; its summary line goes to fuzz/artifacts/TARGET/summary.
run_one() {
  local t=$1 out rc t0 dt execs corpus crashes
  mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
  local args=(-rss_limit_mb=2048 -timeout=20 -print_final_stats=1 -artifact_prefix="fuzz/artifacts/$t/")
  if [ -n "${FUZZ_RUNS:-}" ]; then args+=(-runs="$FUZZ_RUNS"); fi
  if [ "$secs" != 0 ]; then args+=(-max_total_time="$secs"); fi
  out="fuzz/artifacts/$t/last-run.log"
  touch "fuzz/artifacts/$t/.started"
  t0=$(date +%s)
  set +e
  "$(bin_dir)/$t" "${args[@]}" "fuzz/corpus/$t" "fuzz/seeds/$t" >"$out" 2>&1
  rc=$?
  set -e
  dt=$(( $(date +%s) - t0 ))
  execs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$out" | grep -Eo '[0-9]+$' | tail -n 1 || true)
  corpus=$(ls "fuzz/corpus/$t" | wc -l)
  crashes=$(find "fuzz/artifacts/$t" -maxdepth 1 -newer "fuzz/artifacts/$t/.started" \
    \( -name 'crash-*' -o -name 'oom-*' -o -name 'timeout-*' -o -name 'leak-*' \) | wc -l)
  if [ "$rc" != 0 ]; then
    log "$t FAILED (exit $rc); its log: $out"
    grep -E 'ERROR|panicked|SUMMARY|Test unit written' "$out" | head -n 20 >&2 || true
  fi
  echo "fuzz $t: ${execs:-?} executions in ${dt}s, corpus $corpus, findings $crashes, exit $rc" \
    >"fuzz/artifacts/$t/summary"
}

# FUZZ_JOBS targets at a time (default: one per core; each libFuzzer run is
# single-threaded).
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
running=0
for t in $targets; do
  rm -f "fuzz/artifacts/$t/summary"
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait || true
summary=()
failed=0
for t in $targets; do
  if [ -f "fuzz/artifacts/$t/summary" ]; then
    summary+=("$(cat "fuzz/artifacts/$t/summary")")
  else
    summary+=("fuzz $t: no result, exit ?")
  fi
  case "${summary[-1]}" in *"exit 0") ;; *) failed=1 ;; esac
done
printf '%s\n' "${summary[@]}"
passed=0
for s in "${summary[@]}"; do case "$s" in *"exit 0") passed=$((passed + 1)) ;; esac; done
printf 'fuzz: %s passed, %s failed\n' "$passed" "$(( ${#summary[@]} - passed ))"
exit "$failed"
