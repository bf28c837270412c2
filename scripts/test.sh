#!/usr/bin/env bash
# Runs every test of lnd-web-signer. Installs what is missing first (idempotent).
#   scripts/test.sh            all stages
#   STAGES="fmt clippy native" scripts/test.sh   a subset (names below)
# Stages: setup fmt clippy native wasm repro e2e page worker fuzz itest
# Needs ../shared/vectors (the external test vectors). When it is absent the
# conformance tests are skipped with a loud warning; under CI=true that fails.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-300}
STAGES=${STAGES:-"setup fmt clippy native wasm repro e2e page worker fuzz itest"}
timings=()
t_all=$(date +%s)

want() { case " $STAGES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
stage() {
  local name=$1; shift
  want "$name" || return 0
  local t0; t0=$(date +%s)
  printf '\n==== stage %s ====\n' "$name"
  "$@"
  local dt=$(( $(date +%s) - t0 ))
  timings+=("$name ${dt}s")
  printf '==== stage %s done in %ss ====\n' "$name" "$dt"
}

vectors="$root/../shared/vectors"
have_vectors=1
if [ ! -d "$vectors/bip" ] || [ ! -d "$vectors/lnd" ]; then
  have_vectors=0
  printf '\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n' >&2
  printf '!! test vectors not found at %s\n' "$vectors" >&2
  printf '!! the conformance suite (lnd + BIP vectors) CANNOT run without them.\n' >&2
  printf '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n' >&2
  if [ "${CI:-}" = true ]; then
    echo "CI=true: failing because the vectors are missing" >&2
    exit 1
  fi
fi

do_setup() { bash scripts/setup.sh; }

# The browser suites run the native binaries (simulator, bridge, CLI signer)
# of target/debug when the native stage runs: its cargo test builds them,
# and a second (release) build of the workspace would be the longest wait
# of the run. LWS_BIN_DIR=target/release runs them on release binaries.
if want native && [ -z "${LWS_BIN_DIR:-}" ]; then LWS_BIN_DIR=target/debug; fi
export LWS_BIN_DIR=${LWS_BIN_DIR:-target/release}

# ---- Builds no stage's cargo waits for (the release binaries, the fuzz
# targets, the repro stage's clean wasm build) start right after setup at idle CPU priority (SCHED_IDLE:
# they only get a core that no stage wants, e.g. while a browser suite waits
# on the network), and their stage waits for them. Each logs to
# target/ci-background/NAME.log, printed by its stage.
bg_dir="$root/target/ci-background"
declare -A bg_pid=()
if command -v chrt >/dev/null 2>&1; then idle=(chrt --idle 0); else idle=(nice -n 19); fi
# Each job in a process group of its own (job control on while it starts),
# so that a failed run stops it whole. Not a session of its own (setsid):
# with the kernel's autogroup scheduling a new session gets a CPU share
# equal to this one's, whatever its policy, and the "idle" job would take
# half of the machine from the stages.
background() {
  local name=$1; shift
  set -m
  "${idle[@]}" "$@" >"$bg_dir/$name.log" 2>&1 &
  bg_pid[$name]=$!
  set +m
}
# await NAME: the background job's log and exit status (1 if it never started).
await() {
  local name=$1 rc=0
  [ -n "${bg_pid[$name]:-}" ] || return 1
  local t0; t0=$(date +%s)
  wait "${bg_pid[$name]}" || rc=$?
  unset "bg_pid[$name]"
  echo "(background $name: waited $(( $(date +%s) - t0 ))s; its log follows)"
  sed "s/^/  [$name] /" "$bg_dir/$name.log"
  return "$rc"
}
stop_background() {
  local p
  for p in "${bg_pid[@]}"; do kill -- "-$p" 2>/dev/null || kill -- "$p" 2>/dev/null || true; done
}
trap stop_background EXIT
start_background() {
  [ "${CI_BACKGROUND:-1}" = 1 ] || return 0
  mkdir -p "$bg_dir"
  # Fetch every crate first, in the foreground: a starved idle job must never
  # hold the package cache's download lock that a stage's cargo waits for.
  if want repro || want fuzz; then cargo fetch -q; fi
  # The release binaries of the browser suites (target/release: cargo locks
  # each profile's directory on its own, so the stages' debug and wasm
  # builds go on beside it).
  # Only the three binaries the browser suites run (the bench binaries are
  # scripts/bench*.sh's).
  if { want e2e || want page || want worker; } && [ "$LWS_BIN_DIR" != target/debug ]; then
    background release cargo build --release -q -p lnd-web-signer-native \
      --bin lnd-web-signer --bin watchonly-sim --bin signer-bridge
  fi
  if want fuzz; then (cd fuzz && cargo fetch -q); fi
  # The clean wasm build (repro) and the fuzz targets: now, when no release
  # build is on (the browser suites use target/debug); else with the browser
  # suites (late_background), since at the same idle priority they would
  # share the idle CPU with the release build that those suites wait for.
  if [ -z "${bg_pid[release]:-}" ]; then late_background; fi
}
late_background() {
  [ "${CI_BACKGROUND:-1}" = 1 ] || return 0
  [ -z "${late_started:-}" ] || return 0
  late_started=1
  if want repro; then background repro bash scripts/check-reproducible-wasm.sh --clean-build-to "$bg_dir/repro"; fi
  if want fuzz; then background fuzz bash scripts/fuzz.sh --build; fi
}
do_fmt() { cargo fmt --all -- --check; }
# The browser host (wasm/) is built and linted for wasm32 only.
wasm_crate=lnd-web-signer-wasm
do_clippy() {
  cargo clippy -q --workspace --exclude "$wasm_crate" --all-targets -- -D warnings
  # The core as the browser host links it (getrandom's `js` feature comes
  # from the wasm crate), then the wasm crate with its test binaries.
  cargo clippy -q -p lnd-web-signer -p "$wasm_crate" --lib --target wasm32-unknown-unknown -- -D warnings
  cargo clippy -q -p "$wasm_crate" --target wasm32-unknown-unknown --all-targets -- -D warnings
}
do_native() {
  if [ "$have_vectors" = 1 ]; then
    cargo test --workspace --exclude "$wasm_crate" --no-fail-fast
  else
    # Every test that reads ../shared/vectors is skipped (loudly, above): the
    # conformance binary (it embeds the files), and in the other binaries the
    # modules that read them (`--skip module::`).
    local args=() skips=() t d m
    for d in tests/*/ native/tests/*/; do
      [ -e "$d/main.rs" ] || continue
      if [ "$(basename "$d")" = conformance ]; then continue; fi
      args+=(--test "$(basename "$d")")
      for m in "$d"*.rs; do
        grep -Eq 'shared/vectors|vector_file' "$m" && skips+=(--skip "$(basename "$m" .rs)::")
      done
    done
    for t in native/tests/*.rs; do
      grep -q 'shared/vectors' "$t" || args+=(--test "$(basename "$t" .rs)")
    done
    echo "skipping vector-driven tests (no ../shared/vectors): conformance ${skips[*]}" >&2
    cargo test --workspace --exclude "$wasm_crate" --lib --bins "${args[@]}" --no-fail-fast -- "${skips[@]}"
  fi
}
do_wasm() {
  bash scripts/build-wasm.sh
  # Size budget of the shipped module (docs/performance.md, "Size").
  local gz budget=$(( 500 * 1024 ))
  gz=$(gzip -9 -c web/pkg/lnd_web_signer_bg.wasm | wc -c)
  if [ "$gz" -gt "$budget" ]; then
    echo "web/pkg/lnd_web_signer_bg.wasm is $gz bytes gzipped, over the budget of $budget" >&2
    return 1
  fi
  echo "wasm size: $gz bytes gzipped (budget $budget)"
  if [ "$have_vectors" = 1 ]; then
    # The core's conformance binary, the same tests as natively, in headless
    # Chromium (profile wasm-test, release speed: scrypt and Argon2 are far too
    # slow unoptimised; Cargo.toml says why a profile of its own); then
    # the wasm host's unit tests (the JS side of the page bindings) and its
    # API, transport and signer-loop tests.
    cargo test --profile wasm-test -p lnd-web-signer --target wasm32-unknown-unknown --test conformance
    cargo test --profile wasm-test -p "$wasm_crate" --target wasm32-unknown-unknown --lib --test wasm --test wasm_worker
  else
    echo "skipping the wasm conformance run (no ../shared/vectors)" >&2
  fi
}
do_repro() {
  # The shipped package is reproducible: one clean build of a copy of the
  # tree, at another path with its own empty target dir, must give the same
  # bytes as web/pkg, which the wasm stage built from the warm target dir
  # (rebuilt here first: a no-op after the wasm stage, and never compares a
  # stale package when the stage runs alone).
  bash scripts/build-wasm.sh
  if await repro; then
    bash scripts/check-reproducible-wasm.sh --against web/pkg --prebuilt "$bg_dir/repro"
  else
    bash scripts/check-reproducible-wasm.sh --against web/pkg
  fi
}
do_e2e() {
  [ -z "${bg_pid[release]:-}" ] || await release || true
  # The native e2e suite (native/tests/integration/e2e_native.rs) already ran in the
  # native stage's cargo test; here the browser suites.
  if [ -x scripts/e2e.sh ]; then E2E_SUITES=${E2E_SUITES:-"wasm wasm-macaroon"} bash scripts/e2e.sh; else echo "no e2e suite yet"; fi
}
do_worker() {
  [ -z "${bg_pid[release]:-}" ] || await release || true
  if [ -x scripts/worker-tests.sh ]; then bash scripts/worker-tests.sh; else echo "no worker tests yet"; fi
}
do_fuzz() {
  # A ~10 s smoke of every fuzz target (scripts/fuzz.sh; nightly + cargo-fuzz,
  # installed there when missing; the fuzz crate has its own target dir, so
  # it never invalidates the other stages' builds). Long runs: docs/testing.md.
  await fuzz || echo "(no background fuzz build, or it failed: building now)"
  bash scripts/fuzz.sh "${FUZZ_SMOKE_SECONDS:-10}"
}
do_itest() {
  # The real lnd (scripts/itest-lnd.sh): BLOCKED, not failed, while the Go
  # module registry does not serve the pinned lnd (tools/lnd/BLOCKED).
  bash scripts/itest-lnd.sh
}
do_page() {
  [ -z "${bg_pid[release]:-}" ] || await release || true
  # Two test files at a time: most of a browser test is waiting (timers,
  # backoff, the simulator's rounds), so two share the 2 cores well.
  if [ -x scripts/page-tests.sh ]; then bash scripts/page-tests.sh --test-concurrency="${PAGE_TEST_CONCURRENCY:-2}"; else echo "no page tests yet"; fi
}

# ---- The browser suites (e2e, page, worker) spend most of their time
# waiting (the simulator's rounds, timers, backoff, lnd's deadlines are
# seconds): they run at the same time, each logging to
# target/ci-background/stage-NAME.log (printed whole when all are done),
# while the clean wasm build and the fuzz build take the CPU they leave.
# CI_CONCURRENT=0 runs them one after the other.
browser_stages() {
  local names=() n
  for n in e2e page worker; do want "$n" && names+=("$n"); done
  [ ${#names[@]} -gt 0 ] || { late_background; return 0; }
  if [ -n "${bg_pid[release]:-}" ]; then
    local t0; t0=$(date +%s)
    if await release; then export LWS_RELEASE_BUILT=1; fi
    timings+=("(release build waited for: $(( $(date +%s) - t0 ))s)")
  elif [ "$LWS_BIN_DIR" = target/debug ]; then
    # Built by the native stage: a no-op check, once, before the suites.
    (. scripts/lib.sh && build_release)
    export LWS_RELEASE_BUILT=1
  fi
  late_background
  if [ "${CI_CONCURRENT:-1}" != 1 ] || [ ${#names[@]} = 1 ]; then
    for n in "${names[@]}"; do stage "$n" "do_$n"; done
    return 0
  fi
  local t0 pids=() failed=0 dt code
  t0=$(date +%s)
  printf '\n==== stages %s, at the same time ====\n' "${names[*]}"
  for n in "${names[@]}"; do
    (
      s=$(date +%s) rc=0
      "do_$n" >"$bg_dir/stage-$n.log" 2>&1 || rc=$?
      echo "$(( $(date +%s) - s )) $rc" >"$bg_dir/stage-$n.rc"
    ) &
    pids+=($!)
  done
  for n in "${pids[@]}"; do wait "$n" || true; done
  for n in "${names[@]}"; do
    dt=? code=1
    [ -f "$bg_dir/stage-$n.rc" ] && read -r dt code <"$bg_dir/stage-$n.rc"
    printf '\n==== stage %s ====\n' "$n"
    cat "$bg_dir/stage-$n.log"
    printf '==== stage %s done in %ss (exit %s) ====\n' "$n" "$dt" "$code"
    timings+=("$n ${dt}s (concurrent)")
    [ "$code" = 0 ] || failed=1
  done
  timings+=("(${names[*]} together: $(( $(date +%s) - t0 ))s)")
  [ "$failed" = 0 ]
}

stage setup do_setup
mkdir -p "$bg_dir"
start_background
stage fmt do_fmt
stage clippy do_clippy
stage native do_native
stage wasm do_wasm
browser_stages
stage repro do_repro
stage fuzz do_fuzz
stage itest do_itest

printf '\n==== timings ====\n'
for t in "${timings[@]}"; do printf '  %s\n' "$t"; done
printf '  total %ss\n' "$(( $(date +%s) - t_all ))"
