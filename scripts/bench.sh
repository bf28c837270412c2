#!/usr/bin/env bash
# Benchmarks (not part of the tests): the same workloads natively and as wasm
# in headless Chromium, in one run, printed as a Markdown table.
#   scripts/bench.sh [BUDGET_MS]   time spent per workload (default 1000)
#   BENCH_PARTS="core stream"      which parts to run (default both)
#   BENCH_FULL_TABLES=0            skip the column of a wasm build with
#                                  libsecp256k1's full 1 MiB table of generator
#                                  multiples (the shipped build has 8 KiB)
#   BENCH_WIDE=1                   also time a wasm build whose libsecp256k1 uses
#                                  WebAssembly wide arithmetic (i64.mul_wide_u), in
#                                  Chromium with V8's --wasm-wide-arithmetic flag
#                                  (not enabled by default in Chromium 156); needs
#                                  clang >= 20, taken from PyPI's `ziglang`
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-1000}
ZIGLANG_VERSION=0.17.1
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

extra=()
if [ "${BENCH_FULL_TABLES:-1}" = 1 ]; then
  echo "[bench] wasm with libsecp256k1's full precomputed table (WASM_SECP_TABLES=full)" >&2
  rm -rf "$out/web-full" && mkdir -p "$out/web-full"
  WASM_SECP_TABLES=full WASM_FEATURES=bench WASM_OUT="$out/web-full/pkg" bash scripts/build-wasm.sh
  cp scripts/bench/index.html scripts/bench/bench.js "$out/web-full/"
  full_port=$(mktemp)
  node scripts/bench/serve.mjs "$out/web-full" 0 > "$full_port" &
  full_server=$!
  for _ in $(seq 50); do grep -q http "$full_port" && break; sleep 0.1; done
  node scripts/bench/run-browser.mjs "$(grep -o 'http://[^ ]*' "$full_port")?budget=$budget" > "$out/wasm-full.json"
  kill "$full_server" 2>/dev/null || true
  rm -f "$full_port"
  extra+=(--full "$out/wasm-full.json")
fi

if [ "${BENCH_WIDE:-0}" = 1 ]; then
  echo "[bench] wasm with wide arithmetic (clang from ziglang $ZIGLANG_VERSION, V8 flag)" >&2
  if [ ! -x target/tools/ziglang/ziglang/zig ]; then
    python3 -m pip --version >/dev/null 2>&1 || apt-get install -y -q python3-pip >/dev/null
    python3 -m pip install -q --target target/tools/ziglang "ziglang==$ZIGLANG_VERSION"
  fi
  rm -rf "$out/web-wide" && mkdir -p "$out/web-wide"
  # Only libsecp256k1's C code changes: 5x52 field, 64x64->128 products as
  # i64.mul_wide_u. The next normal build recompiles it back (about a minute).
  LWS_WASM_CLANG="$PWD/scripts/bench/zig-cc-wasm.sh" \
    CFLAGS_wasm32_unknown_unknown="-mwide-arithmetic -DLWS_ECMULT_WINDOW_SIZE=8" \
    WASM_FEATURES=bench WASM_OUT="$out/web-wide/pkg" bash scripts/build-wasm.sh
  cp scripts/bench/index.html scripts/bench/bench.js "$out/web-wide/"
  wide_port=$(mktemp)
  node scripts/bench/serve.mjs "$out/web-wide" 0 > "$wide_port" &
  wide_server=$!
  trap 'kill $server $wide_server 2>/dev/null || true; rm -f "$port_file" "$wide_port"' EXIT
  for _ in $(seq 50); do grep -q http "$wide_port" && break; sleep 0.1; done
  wide_url=$(grep -o 'http://[^ ]*' "$wide_port")
  CHROMIUM_JS_FLAGS=--wasm-wide-arithmetic \
    node scripts/bench/run-browser.mjs "${wide_url}?budget=$budget" > "$out/wasm-wide.json"
  extra+=(--wide "$out/wasm-wide.json")
fi

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
chromium_version=$(chromium --version 2>/dev/null | head -1 || true)
printf '\nMachine: %s cores, %s; %s; rustc %s\n\n' "$(nproc)" "$cpu" "$chromium_version" "$(rustc --version | awk '{print $2}')"
node scripts/bench/table.mjs "$out/native.json" "$out/wasm.json" "${extra[@]}"
kill $server ${wide_server:-} 2>/dev/null || true
fi

# ---- stream round trips: native direct vs wasm via signer-bridge,
# sustained load through the bridge. See scripts/bench-stream.sh.
if [[ "$parts" == *" stream "* ]]; then
  printf '\n## Stream round trips\n\n'
  bash scripts/bench-stream.sh
fi
