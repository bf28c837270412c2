#!/usr/bin/env bash
# C compiler for the optional wide-arithmetic wasm build (BENCH_WIDE=1 in
# scripts/bench.sh): clang from the `ziglang` PyPI package (clang >= 20 is
# needed for -mwide-arithmetic; Debian 12 has clang 14). cc-rs passes
# --target=wasm32-unknown-unknown, which zig spells wasm32-freestanding.
set -euo pipefail
zig=${LWS_ZIG:-$(dirname "$0")/../../target/tools/ziglang/ziglang/zig}
args=()
for a in "$@"; do
  case "$a" in
    --target=*) ;;
    *) args+=("$a") ;;
  esac
done
exec "$zig" cc -target wasm32-freestanding -fno-sanitize=undefined "${args[@]}"
