#!/usr/bin/env bash
# Builds the wasm signer for the page, worker and extension:
#   target/wasm32-unknown-unknown/wasm-release/lnd_web_signer.wasm
# (WASM_FEATURES=bench adds the benchmark export; WASM_OUT sets the output dir)
#   -> wasm-bindgen --target web -> web/pkg/ (JS glue + .d.ts + .wasm) [-> wasm-opt -Oz]
# and fails if the module imports anything from module `env` (a sign that
# secp256k1's C code was compiled for the wrong target).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${WASM_PROFILE:-wasm-release}
features=()
if [ -n "${WASM_FEATURES:-}" ]; then features=(--features "$WASM_FEATURES"); fi
cargo rustc -q -p lnd-web-signer --lib --target wasm32-unknown-unknown --profile "$profile" "${features[@]}" --crate-type cdylib
wasm="target/wasm32-unknown-unknown/$profile/lnd_web_signer.wasm"
python3 scripts/check-wasm-imports.py "$wasm"
out=${WASM_OUT:-web/pkg}
wasm-bindgen --target web --out-dir "$out" "$wasm"
# wasm-opt is opt-in (WASM_OPT=1): Debian 12's binaryen 108 rewrites
# wasm-bindgen's externref table so that the module fails to instantiate
# ("WebAssembly.Table.set(): Argument 1 is invalid"). Use a newer binaryen.
if command -v wasm-opt >/dev/null && [ "${WASM_OPT:-0}" = 1 ]; then
  wasm-opt -Oz --strip-debug --strip-producers --enable-reference-types --enable-multivalue --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext --enable-mutable-globals \
    "$out/lnd_web_signer_bg.wasm" -o "$out/lnd_web_signer_bg.wasm.opt"
  mv "$out/lnd_web_signer_bg.wasm.opt" "$out/lnd_web_signer_bg.wasm"
fi
python3 scripts/check-wasm-imports.py "$out/lnd_web_signer_bg.wasm"
ls -l "$out/lnd_web_signer_bg.wasm" | awk '{printf "[wasm] %s: %d bytes\n", $9, $5}' >&2
