#!/usr/bin/env bash
# Benchmarks (not part of the tests): the same workloads natively and as wasm
# in headless Chromium, in one run, printed as a Markdown table.
#   scripts/bench.sh [BUDGET_MS]   time spent per workload (default 1000)
#   BENCH_PARTS="core stream"      which parts to run (default both)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-1000}
parts=" ${BENCH_PARTS:-core stream} "
bash scripts/setup.sh
if [[ "$parts" == *" core "* ]]; then
out=target/bench
mkdir -p "$out"

echo "[bench] native (release)" >&2
cargo build -q --release -p lnd-web-signer-native --bin lws-bench
target/release/lws-bench "$budget" > "$out/native.json"

echo "[bench] wasm (wasm-release, feature bench) in headless Chromium" >&2
rm -rf "$out/web" && mkdir -p "$out/web"
WASM_FEATURES=bench WASM_OUT="$out/web/pkg" bash scripts/build-wasm.sh
cp scripts/bench/index.html scripts/bench/bench.js "$out/web/"
port_file=$(mktemp)
node scripts/bench/serve.mjs "$out/web" 0 > "$port_file" &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 50); do grep -q http "$port_file" && break; sleep 0.1; done
url=$(grep -o 'http://[^ ]*' "$port_file")
node scripts/bench/run-browser.mjs "${url}?budget=$budget" > "$out/wasm.json"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
chromium_version=$(chromium --version 2>/dev/null | head -1 || true)
printf '\nMachine: %s cores, %s; %s; rustc %s\n\n' "$(nproc)" "$cpu" "$chromium_version" "$(rustc --version | awk '{print $2}')"
node scripts/bench/table.mjs "$out/native.json" "$out/wasm.json"
kill $server 2>/dev/null || true
fi

# ---- stream round trips (issue 5): native direct vs wasm via signer-bridge,
# sustained load through the bridge. See scripts/bench-stream.sh.
if [[ "$parts" == *" stream "* ]]; then
  printf '\n## Stream round trips\n\n'
  bash scripts/bench-stream.sh
fi
