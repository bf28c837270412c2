#!/usr/bin/env bash
# End-to-end suites (scripts/test.sh runs this as stage `e2e`; docs/testing.md).
#
#   native         `lnd-web-signer connect` <-> `watchonly-sim`: every scenario
#                  and the faults (cargo test --test integration e2e_native::, debug build).
#   wasm           the wasm signer in headless Chromium (wasm/tests/wasm_e2e.rs,
#                  wasm-bindgen-test) <-> `signer-bridge --grpc-web` <->
#                  `watchonly-sim`, one browser session through these phases:
#                    1. every scenario (gossip wallet channel taproot-channel
#                       mixed errors burst), each a fresh simulator on the same
#                       address (a restarted lnd) that must end `0 failed`;
#                    2. simulator not yet listening: ~5 s gap, the bridge sees
#                       spaced-out Attach attempts, then the simulator starts;
#                    3. bridge killed mid-stream and restarted: the simulator
#                       re-sends, every check passes;
#                    4. simulator killed mid-stream, a new one started: passes;
#                    5. a final simulator keeps sending until the wasm test has
#                       seen its quota of requests and disconnects.
#   wasm-macaroon  wrong macaroon: the wasm test must fail with lnd's macaroon
#                  error in the signer's error statuses after a few attempts.
#
# Each suite ends with `<suite>: N passed, M failed`; the script exits 1 if
# any check failed. Select suites with E2E_SUITES="native wasm wasm-macaroon".
# E2E_KEEP=1 keeps the work directory (logs) for inspection.
#
# The stack stays in shell (with scripts/lib.sh's helpers) rather than in
# tests/stack/: the browser here is wasm-bindgen-test-runner's, started by
# `cargo test` through chromedriver, and each phase SIGKILLs and restarts
# the simulator or the bridge under the running Rust test.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=e2e
. scripts/lib.sh
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
export CHROMEDRIVER=${CHROMEDRIVER:-/usr/bin/chromedriver}
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-600}
suites=${E2E_SUITES:-"native wasm wasm-macaroon"}
work=$(mktemp -d "${TMPDIR:-/tmp}/lws-e2e.XXXXXX")
rel=${LWS_BIN_DIR:-target/release}
total_failed=0

# Every process is SIGKILLed at exit; the logs stay on failure or with E2E_KEEP=1.
LWS_STOP_SIGNAL=KILL
on_cleanup() {
  if [ "${E2E_KEEP:-}" = 1 ] || [ "$total_failed" != 0 ] || [ "$1" != 0 ]; then
    log "logs kept in $work"
  else
    rm -rf "$work"
  fi
}
lws_traps

want() { case " $suites " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# ---- per-suite check counters
passed=0; failed=0
pass() { passed=$((passed + 1)); printf 'ok   %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }
suite_end() {
  printf '%s: %d passed, %d failed\n' "$1" "$passed" "$failed"
  total_failed=$((total_failed + failed))
  passed=0; failed=0
}

# sim_stat FILE WORD: the number before WORD in the simulator's stats line.
sim_stat() {
  grep 'stats: ' "$1" | tail -1 | tr -d '(' | awk -v w="$2" '{for (i = 2; i <= NF; i++) if ($i == w) {print $(i-1); exit}}'
}

# =====================================================================
# native
# =====================================================================
if want native; then
  log "suite native: cargo test -p lnd-web-signer-native --test integration e2e_native::"
  t0=$(date +%s)
  out="$work/native.log"
  code=0
  cargo test -p lnd-web-signer-native --test integration e2e_native:: -- --test-threads 2 >"$out" 2>&1 || code=$?
  grep -E '^test .* \.\.\. ' "$out" | sed -E 's/^test (.*) \.\.\. ok$/ok   native \1/; s/^test (.*) \.\.\. FAILED$/FAIL native \1/' || true
  passed=$(count_matches "$out" '^test .* \.\.\. ok$')
  failed=$(count_matches "$out" '^test .* \.\.\. FAILED$')
  if [ "$code" != 0 ] && [ "$failed" = 0 ]; then
    failed=1
    tail -40 "$out"
  elif [ "$failed" != 0 ]; then
    sed -n '/^failures:/,$p' "$out" | head -200
  fi
  log "suite native took $(( $(date +%s) - t0 )) s"
  suite_end native
fi

# =====================================================================
# wasm suites: shared setup
# =====================================================================
if want wasm || want wasm-macaroon; then
  t0=$(date +%s)
  build_release
  # The regtest test seed (entropy E2E_SEED_ENTROPY, lnd's signer test seed)
  # as a BIP-32 tprv; a public test key.
  tprv=$(lws_const E2E_TPRV)
  printf '%s\n' "$tprv" >"$work/seed.txt"
  "$rel/lnd-web-signer" accounts --network regtest --seed-file "$work/seed.txt" >"$work/accounts.json"
  sim_port=$(free_port)
  bridge_port=$(free_port)
  page_port=$(free_port)
  sim_addr="127.0.0.1:$sim_port"
  bridge_url="http://127.0.0.1:$bridge_port"
  origin="http://127.0.0.1:$page_port"
  # The simulator writes tls.cert/tls.key and the macaroon once; every later
  # simulator reuses them (like a restarted lnd).
  "$rel/watchonly-sim" --listen 127.0.0.1:0 --tls-dir "$work/tls" --macaroon-out "$work/signer.macaroon" \
    --scenario idle --startup-timeout 100ms >/dev/null 2>&1 || true
  macaroon_hex=$(od -An -v -tx1 "$work/signer.macaroon" | tr -d ' \n')
  [ -n "$macaroon_hex" ] || { echo "simulator wrote no macaroon" >&2; exit 1; }
fi

sim_n=0
sim_pid=
# start_sim NAME [ARGS...]: a simulator on $sim_addr (output $work/sim-NAME.{out,err}).
start_sim() {
  local name=$1; shift
  sim_n=$((sim_n + 1))
  sim_out="$work/sim-$sim_n-$name.out"; sim_err="$work/sim-$sim_n-$name.err"
  "$rel/watchonly-sim" --listen "$sim_addr" --tls-dir "$work/tls" --macaroon-out "$work/signer.macaroon" \
    --accounts "$work/accounts.json" --network regtest "$@" >"$sim_out" 2>"$sim_err" &
  sim_pid=$!; track "$sim_pid"
  if ! wait_line "$sim_out" '^listening on ' 30 "$sim_pid" >/dev/null; then
    cat "$sim_err" >&2
    return 1
  fi
}

bridge_n=0
bridge_pid=
start_bridge() {
  bridge_n=$((bridge_n + 1))
  bridge_err="$work/bridge-$bridge_n.err"
  "$rel/signer-bridge" --listen "127.0.0.1:$bridge_port" --lnd-rpchost "$sim_addr" \
    --lnd-tlscertpath "$work/tls/tls.cert" --grpc-web --allow-origin "$origin" >/dev/null 2>"$bridge_err" &
  bridge_pid=$!; track "$bridge_pid"
  wait_line "$bridge_err" 'listening on' 30 "$bridge_pid" >/dev/null || { cat "$bridge_err" >&2; return 1; }
}

# wait_ok_lines N SECONDS: until the current simulator listed N passed checks.
wait_ok_lines() {
  local i
  for i in $(seq $(( $2 * 20 ))); do
    [ "$(count_matches "$sim_out" '^ok ')" -ge "$1" ] && return 0
    kill -0 "$sim_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}

# check_sim NAME CODE MIN_PASSED: the simulator's exit code and summary.
check_sim() {
  local name=$1 code=$2 min=$3 summary
  summary=$(tail -1 "$sim_out")
  local p f
  p=$(echo "$summary" | awk '$2 == "passed," && $4 == "failed" {print $1}')
  f=$(echo "$summary" | awk '$2 == "passed," && $4 == "failed" {print $3}')
  if [ "$code" = 0 ] && [ "${f:-x}" = 0 ] && [ "${p:-0}" -ge "$min" ]; then
    pass "$name: exit 0, $summary"
  else
    fail "$name: exit $code, summary '$summary' (want exit 0, 0 failed, >= $min passed)"
    grep -E '^(FAIL|FATAL)' "$sim_out" | head -20 || true
    tail -20 "$sim_err"
  fi
}

# wasm_test LOG [VAR=VALUE...]: builds and runs wasm/tests/wasm_e2e.rs with the
# given compile-time settings; its output goes to LOG. Runs in the background
# (pid in $wasm_pid).
wasm_test() {
  local out=$1; shift
  env "$@" LWS_E2E_BRIDGE_URL="$bridge_url" LWS_E2E_NETWORK=regtest LWS_E2E_SEED="$tprv" \
    cargo test --profile wasm-test -p lnd-web-signer-wasm --target wasm32-unknown-unknown --test wasm_e2e --no-run \
    >"$out.build" 2>&1 || { cat "$out.build" >&2; return 1; }
  env "$@" LWS_E2E_BRIDGE_URL="$bridge_url" LWS_E2E_NETWORK=regtest LWS_E2E_SEED="$tprv" \
    WASM_BINDGEN_TEST_ADDRESS="127.0.0.1:$page_port" \
    cargo test --profile wasm-test -p lnd-web-signer-wasm --target wasm32-unknown-unknown --test wasm_e2e >"$out" 2>&1 &
  wasm_pid=$!; track "$wasm_pid"
}

scenarios="gossip wallet channel taproot-channel mixed errors burst"
scenario_args() {
  case "$1" in
    # Lists its checks (the ping check line is shown below).
    burst) echo "--ping-interval 100ms --ping-timeout 1s --ping-attempts 1" ;;
    *) echo "--quiet --ping-interval 250ms" ;;
  esac
}

# =====================================================================
# wasm
# =====================================================================
if want wasm; then
  # How many signing requests (pings excluded) the phases send: measured with
  # the native signer (release) on the same scenarios. The wasm test waits for
  # that many plus a margin; the final simulator supplies the margin.
  log "suite wasm: counting each scenario's requests with the native signer"
  expected=0
  for s in $scenarios; do
    cal_out="$work/cal-$s.out"
    # shellcheck disable=SC2046
    "$rel/watchonly-sim" --listen 127.0.0.1:0 --tls-dir "$work/tls" --macaroon-out "$work/signer.macaroon" \
      --accounts "$work/accounts.json" --network regtest --scenario "$s" --exit-when-done \
      --startup-timeout 60s $(scenario_args "$s") >"$cal_out" 2>"$work/cal-$s.err" &
    cal_sim=$!; track "$cal_sim"
    addr=$(wait_line "$cal_out" 'listening on [0-9.:]+' 30 "$cal_sim" | awk '{print $3}') || {
      cat "$work/cal-$s.err" >&2
      exit 1
    }
    "$rel/lnd-web-signer" connect --rpchost "$addr" --tlscertpath "$work/tls/tls.cert" \
      --macaroonpath "$work/signer.macaroon" --network regtest --seed-file "$work/seed.txt" \
      2>"$work/cal-$s.signer" &
    cal_signer=$!; track "$cal_signer"
    wait_exit "$cal_sim" 120; code=$exit_code
    kill "$cal_signer" 2>/dev/null || true
    wait "$cal_signer" 2>/dev/null || true
    n=$(grep 'answered' "$work/cal-$s.signer" | grep -vc 'kind="ping"' || true)
    if [ "$code" = 0 ] && [ "$n" -gt 0 ]; then
      pass "native signer ($rel), $s: $(tail -1 "$cal_out") ($n signing requests)"
    else
      fail "native signer ($rel), $s: exit $code, $(tail -1 "$cal_out")"
      tail -20 "$work/cal-$s.err"
    fi
    expected=$((expected + n))
  done
  # The fault phases' counts are not fixed (re-sends, a killed simulator):
  # a generous margin covers them; the final simulator supplies the rest.
  quota=$((expected + 1000))
  log "wasm test waits for $quota requests (scenarios: $expected)"

  start_bridge
  # Phase 1 starts before the browser: the wasm test checks that its first
  # attempt registers.
  first=${scenarios%% *}
  # shellcheck disable=SC2046
  start_sim "$first" --scenario "$first" --exit-when-done --startup-timeout 300s $(scenario_args "$first")
  wasm_log="$work/wasm-e2e.log"
  wasm_test "$wasm_log" LWS_E2E_MACAROON_HEX="$macaroon_hex" LWS_E2E_MIN_REQUESTS="$quota" \
    LWS_E2E_TIMEOUT_MS=600000
  for s in $scenarios; do
    if [ "$s" != "$first" ]; then
      # shellcheck disable=SC2046
      start_sim "$s" --scenario "$s" --exit-when-done --startup-timeout 60s $(scenario_args "$s")
    fi
    wait_exit "$sim_pid" 300; code=$exit_code
    check_sim "wasm via bridge, scenario $s" "$code" 1
    if [ "$s" = burst ]; then
      # The scenario's own check: every ping sent during the burst answered
      # within 1 s (and the 100 ms health check never failed: exit 0).
      grep 'pings during' "$sim_out" | sed 's/^/     /' || true
    fi
  done

  # Phase 2: nothing listens for ~5 s; the signer must keep trying, spaced out.
  before=$(count_matches "$bridge_err" 'attach: dialing lnd')
  sleep 5
  after=$(count_matches "$bridge_err" 'attach: dialing lnd')
  tries=$((after - before))
  if [ "$tries" -ge 2 ] && [ "$tries" -le 6 ]; then
    pass "wasm via bridge, simulator not listening: $tries Attach attempts in 5 s (backoff, no storm)"
  else
    fail "wasm via bridge, simulator not listening: $tries Attach attempts in 5 s (want 2..6)"
    tail -20 "$bridge_err"
  fi
  start_sim late --quiet --scenario gossip --exit-when-done --startup-timeout 60s --ping-interval 250ms
  wait_exit "$sim_pid" 120; code=$exit_code
  check_sim "wasm via bridge, simulator started late" "$code" 6

  # Phase 3: the bridge is killed mid-stream and restarted on the same port.
  # No pause between requests, so some are in flight when the bridge dies.
  # Pings every 250 ms (lnd: every minute), three misses allowed: the signer
  # must be back within about 3 s of the bridge's restart.
  start_sim bridge-restart --scenario wallet --rounds 30 --exit-when-done --startup-timeout 60s \
    --request-timeout 20s --ping-interval 250ms --ping-attempts 3
  if wait_ok_lines 10 60; then
    kill -KILL "$bridge_pid" 2>/dev/null || true
    wait "$bridge_pid" 2>/dev/null || true
    start_bridge
  fi
  wait_exit "$sim_pid" 180; code=$exit_code
  check_sim "wasm via bridge, bridge killed and restarted mid-stream" "$code" 150
  hs=$(sim_stat "$sim_err" signer); rs=$(sim_stat "$sim_err" re-sent)
  if [ "${hs:-0}" -ge 2 ]; then
    pass "wasm via bridge, bridge restart: $hs handshakes, $rs requests re-sent and answered"
  else
    fail "wasm via bridge, bridge restart: ${hs:-?} handshakes (want >= 2)"
  fi

  # Phase 4: the simulator is killed mid-stream; a new one must be served.
  start_sim killed --scenario wallet --rounds 0 --startup-timeout 60s --ping-interval 250ms
  wait_ok_lines 10 60 || true
  kill -KILL "$sim_pid" 2>/dev/null || true
  wait "$sim_pid" 2>/dev/null || true
  start_sim after-kill --quiet --scenario wallet --rounds 2 --exit-when-done --startup-timeout 60s --ping-interval 250ms
  wait_exit "$sim_pid" 120; code=$exit_code
  check_sim "wasm via bridge, simulator killed mid-stream and restarted" "$code" 10

  # Phase 5: keep sending until the wasm test has its quota and disconnects.
  start_sim final --quiet --scenario gossip --rounds 0 --startup-timeout 60s --ping-interval 250ms
  wait_exit "$wasm_pid" 600; code=$exit_code
  kill -TERM "$sim_pid" 2>/dev/null || true
  wait_exit "$sim_pid" 30
  if grep -q 'FAIL' "$sim_out"; then
    fail "wasm via bridge, final simulator: $(tail -1 "$sim_out")"
  fi
  if [ "$code" = 0 ] && grep -qE 'test result: ok\. 1 passed' "$wasm_log"; then
    pass "wasm e2e test (wasm/tests/wasm_e2e.rs): $(grep -m1 -E 'test result' "$wasm_log")"
  else
    fail "wasm e2e test (wasm/tests/wasm_e2e.rs): exit $code"
    tail -60 "$wasm_log"
  fi
  kill -KILL "$bridge_pid" 2>/dev/null || true
  wait "$bridge_pid" 2>/dev/null || true
  log "suite wasm took $(( $(date +%s) - t0 )) s"
  suite_end wasm
fi

# =====================================================================
# wasm-macaroon
# =====================================================================
if want wasm-macaroon; then
  t0=$(date +%s)
  log "suite wasm-macaroon: the wasm signer with a wrong macaroon"
  start_bridge
  start_sim macaroon --scenario idle --startup-timeout 120s --ping-interval 0
  wrong=$(printf '02%094d' 7)
  [ "$wrong" != "$macaroon_hex" ] || wrong=$(printf '02%094d' 9)
  # The test waits 8 s for one request, which never comes: it must fail and
  # list the signer's status kinds and error reasons.
  wasm_test "$work/wasm-macaroon.log" LWS_E2E_MACAROON_HEX="$wrong" LWS_E2E_MIN_REQUESTS=1 \
    LWS_E2E_TIMEOUT_MS=8000
  wait_exit "$wasm_pid" 300; code=$exit_code
  mlog="$work/wasm-macaroon.log"
  lnd_text='verification failed: signature mismatch after caveat verification'
  attempts=$(grep -m1 -oE 'statuses \[[^]]*\]' "$mlog" | grep -o '"connecting"' | wc -l || true)
  registered=$(grep -m1 -oE 'statuses \[[^]]*\]' "$mlog" | grep -c '"registered"' || true)
  if [ "$code" != 0 ] && grep -q "$lnd_text" "$mlog"; then
    pass "wasm, wrong macaroon: the signer's error status carries lnd's text ($lnd_text)"
  else
    fail "wasm, wrong macaroon: exit $code, lnd's text not in the signer's errors"
    tail -40 "$mlog"
  fi
  if [ "$attempts" -ge 2 ] && [ "$attempts" -le 6 ] && [ "$registered" = 0 ]; then
    pass "wasm, wrong macaroon: $attempts attempts in 8 s, never registered (backoff, no retry storm)"
  else
    fail "wasm, wrong macaroon: $attempts attempts in 8 s, registered=$registered (want 2..6, 0)"
  fi
  refused=$(count_matches "$sim_err" 'refused a signer stream: verification failed')
  if [ "$refused" -ge 1 ] && [ "$refused" -le "$attempts" ]; then
    pass "wasm, wrong macaroon: the simulator refused $refused streams"
  else
    fail "wasm, wrong macaroon: the simulator refused $refused streams (want 1..$attempts)"
  fi
  kill -TERM "$sim_pid" 2>/dev/null || true
  wait_exit "$sim_pid" 30
  kill -KILL "$bridge_pid" 2>/dev/null || true
  wait "$bridge_pid" 2>/dev/null || true
  log "suite wasm-macaroon took $(( $(date +%s) - t0 )) s"
  suite_end wasm-macaroon
fi

[ "$total_failed" = 0 ]
