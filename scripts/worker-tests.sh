#!/usr/bin/env bash
# Worker tests: the wasm signer inside workerd (the npm `workerd` binary,
# worker/config.capnp), against watchonly-sim through signer-bridge
# --grpc-web, driven by node's test runner (tests/worker/*.test.mjs).
#
#   scripts/worker-tests.sh [node --test args, e.g. --test-name-pattern=stream]
#
# Builds what is missing (release binaries, worker/pkg), seals two test
# vaults from a public test key into a temporary directory, starts
#   watchonly-sim (regtest, scenario mixed, one round, pings every second;
#                 failed pings never stop it: the signer comes and goes)
#   signer-bridge --grpc-web pinned to the sim's tls.cert
#   workerd A  good vault, macaroon from the MACAROON_HEX binding
#   workerd B  wrong VAULT_PASSPHRASE
#   workerd C  vault with the sealed macaroon, no MACAROON_HEX; secrets
#              stored with a trailing newline, the vault base64 in 76-column lines
#   workerd D  no bindings at all
# and tests/worker/worker.test.mjs starts workerd E itself (always-on
# Durable Object mode: start, alarms, a killed and restarted process, stop).
# Secrets reach workerd only through its environment (config.capnp reads
# them with fromEnvironment); nothing secret is written outside the
# temporary directory, which is removed at exit with every process.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
t0=$(date +%s)
log() { printf '[worker-tests] %s\n' "$*" >&2; }

if [ ! -x node_modules/.bin/workerd ]; then
  log "installing npm devDependencies (npm ci)"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
fi
WORKERD="$root/node_modules/.bin/workerd"
log "workerd $("$WORKERD" --version)"

log "building the release binaries"
cargo build --release -q -p lnd-web-signer-native --bins
log "building the wasm signer into worker/pkg"
# wasm-opt output currently fails to load (see scripts/demo.sh): skip it.
WASM_OPT=${WASM_OPT:-0} WASM_OUT=worker/pkg bash scripts/build-wasm.sh
BIN="$root/target/release"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lws-worker-tests.XXXXXX")
chmod 700 "$tmp"
pids=()
cleanup() {
  local rc=$?
  # Workerd processes a test started itself (tests/worker/always-on) list their pids here.
  if [ -f "$tmp/extra.pids" ]; then
    while read -r p; do [ -n "$p" ] && pids+=("$p"); done <"$tmp/extra.pids"
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null || true
  done
  if [ "$rc" != 0 ] && [ -d "$tmp" ]; then
    for f in sim.err bridge.log workerd-A.log workerd-B.log workerd-C.log workerd-D.log; do
      [ -s "$tmp/$f" ] && { printf -- '--- %s (last 20 lines)\n' "$f" >&2; tail -n 20 "$tmp/$f" >&2; }
    done
  fi
  rm -rf "$tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits (bounded) until FILE has a line matching REGEX; prints the match.
wait_for_line() {
  local file=$1 regex=$2 secs=$3 what=$4
  local end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -le "$end" ]; do
    if [ -f "$file" ] && grep -Eo "$regex" "$file" | head -n 1 | grep -q .; then
      grep -Eo "$regex" "$file" | head -n 1
      return 0
    fi
    sleep 0.1
  done
  log "timed out after ${secs}s waiting for $what"
  return 1
}
# Waits (bounded) until 127.0.0.1:PORT accepts TCP connections.
wait_for_port() {
  local port=$1 secs=$2 what=$3
  local end=$(( $(date +%s) + secs ))
  while [ "$(date +%s)" -le "$end" ]; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "timed out after ${secs}s waiting for $what on port $port"
  return 1
}
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Test key: lnd's docs/remote-signing.md example tprv (public, never a wallet).
TPRV=tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg
rand_hex() { python3 -c "import secrets; print(secrets.token_hex($1))"; }
PASSPHRASE="worker test passphrase $(rand_hex 6)"
WRONG_PASSPHRASE="not the passphrase $(rand_hex 6)"
CONTROL_TOKEN=$(rand_hex 24)
printf '%s\n' "$TPRV" >"$tmp/seed"
printf '%s\n' "$PASSPHRASE" >"$tmp/passphrase"
sealed=$("$BIN/lnd-web-signer" vault seal --network regtest --seed-file "$tmp/seed" \
  --passphrase-file "$tmp/passphrase" --out "$tmp/plain.vault" 2>&1)
# "... (master key fingerprint a2e4cfba) ...": the CLI's view, checked against the worker's.
FINGERPRINT=$(printf '%s\n' "$sealed" | grep -Eo 'fingerprint [0-9a-f]{8}' | awk '{print $2}')
[ -n "$FINGERPRINT" ] || { log "lnd-web-signer vault seal printed no fingerprint: $sealed"; exit 1; }
"$BIN/lnd-web-signer" accounts --vault "$tmp/plain.vault" --passphrase-file "$tmp/passphrase" >"$tmp/accounts.json"

log "starting watchonly-sim"
"$BIN/watchonly-sim" --listen 127.0.0.1:0 --tls-dir "$tmp/sim-tls" --macaroon-out "$tmp/sim.macaroon" \
  --accounts "$tmp/accounts.json" --network regtest --scenario mixed --rounds 1 \
  --ping-interval 1s --ping-attempts 1000 --ping-backoff 500ms >"$tmp/sim.out" 2>"$tmp/sim.err" &
pids+=($!)
sim_addr=$(wait_for_line "$tmp/sim.out" 'listening on [0-9.]+:[0-9]+' 30 "watchonly-sim to listen" | awk '{print $3}')
MACAROON_HEX=$(od -An -v -tx1 "$tmp/sim.macaroon" | tr -d ' \n')

node worker/tools/vault-macaroon.mjs --vault "$tmp/plain.vault" --passphrase-file "$tmp/passphrase" \
  --macaroon-file "$tmp/sim.macaroon" --out "$tmp/with-macaroon.vault" 2>/dev/null

log "starting signer-bridge --grpc-web"
"$BIN/signer-bridge" --listen 127.0.0.1:0 --lnd-rpchost "$sim_addr" --lnd-tlscertpath "$tmp/sim-tls/tls.cert" \
  --grpc-web --allow-origin http://127.0.0.1:8787 >"$tmp/bridge.log" 2>&1 &
pids+=($!)
bridge_addr=$(wait_for_line "$tmp/bridge.log" 'listening on [0-9.]+:[0-9]+' 30 "signer-bridge to listen" | awk '{print $3}')
BRIDGE_URL="http://$bridge_addr"

# start_workerd NAME PORT VAR=VALUE... : a workerd with only these bindings set.
start_workerd() {
  local name=$1 port=$2; shift 2
  mkdir -p "$tmp/do-$name"
  env -u VAULT -u VAULT_PASSPHRASE -u CONTROL_TOKEN -u BRIDGE_URL -u MACAROON_HEX -u MAX_SESSION_SECONDS \
    -u KEEPALIVE_SECONDS "$@" "$WORKERD" serve worker/config.capnp --socket-addr "http=127.0.0.1:$port" \
    -d "do-storage=$tmp/do-$name" >"$tmp/workerd-$name.log" 2>&1 &
  pids+=($!)
}
port_a=$(free_port); port_b=$(free_port); port_c=$(free_port); port_d=$(free_port)
log "starting workerd A, B, C, D"
start_workerd A "$port_a" VAULT="$(base64 -w0 "$tmp/plain.vault")" VAULT_PASSPHRASE="$PASSPHRASE" \
  CONTROL_TOKEN="$CONTROL_TOKEN" BRIDGE_URL="$BRIDGE_URL" MACAROON_HEX="$MACAROON_HEX"
start_workerd B "$port_b" VAULT="$(base64 -w0 "$tmp/plain.vault")" VAULT_PASSPHRASE="$WRONG_PASSPHRASE" \
  CONTROL_TOKEN="$CONTROL_TOKEN" BRIDGE_URL="$BRIDGE_URL" MACAROON_HEX="$MACAROON_HEX"
# C's secrets end with a newline, as `echo ... | wrangler secret put` stores them.
start_workerd C "$port_c" VAULT="$(base64 -w76 "$tmp/with-macaroon.vault")"$'\n' VAULT_PASSPHRASE="$PASSPHRASE"$'\n' \
  CONTROL_TOKEN="$CONTROL_TOKEN"$'\n' BRIDGE_URL="$BRIDGE_URL"
start_workerd D "$port_d"
wait_for_port "$port_a" 60 "workerd A"
wait_for_port "$port_b" 60 "workerd B"
wait_for_port "$port_c" 60 "workerd C"
wait_for_port "$port_d" 60 "workerd D"
log "stack up after $(( $(date +%s) - t0 ))s"

export WORKER_A_URL="http://127.0.0.1:$port_a" WORKER_B_URL="http://127.0.0.1:$port_b"
export WORKER_C_URL="http://127.0.0.1:$port_c" WORKER_D_URL="http://127.0.0.1:$port_d"
export WORKER_TMP="$tmp" WORKER_SIM_OUT="$tmp/sim.out" WORKER_SIM_ERR="$tmp/sim.err"
export WORKER_CONTROL_TOKEN="$CONTROL_TOKEN" WORKER_PASSPHRASE="$PASSPHRASE"
export WORKER_WRONG_PASSPHRASE="$WRONG_PASSPHRASE" WORKER_MACAROON_HEX="$MACAROON_HEX"
export WORKER_VAULT_B64="$(base64 -w0 "$tmp/plain.vault")" WORKER_VAULT_MAC_B64="$(base64 -w0 "$tmp/with-macaroon.vault")"
export WORKER_BIN="$BIN" WORKER_FINGERPRINT="$FINGERPRINT" WORKER_WORKERD="$WORKERD" WORKER_BRIDGE_URL="$BRIDGE_URL"

# One file at a time: the sim accepts one signer, so sessions must not overlap.
set +e
node --test --test-concurrency=1 --test-timeout=180000 "$@" tests/worker/ 2>&1 | tee "$tmp/node-test.out"
rc=${PIPESTATUS[0]}
set -e
passed=$(grep -Eo '^# pass [0-9]+' "$tmp/node-test.out" | awk '{print $3}' | tail -n 1)
failed=$(grep -Eo '^# fail [0-9]+' "$tmp/node-test.out" | awk '{print $3}' | tail -n 1)
log "done in $(( $(date +%s) - t0 ))s"
printf 'worker: %s passed, %s failed\n' "${passed:-0}" "${failed:-0}"
exit "$rc"
