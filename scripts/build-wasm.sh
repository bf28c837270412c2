#!/usr/bin/env bash
# Builds the wasm signer (the browser host crate wasm/, on the core) for the
# page, worker and extension:
#   <target dir>/wasm32-unknown-unknown/wasm-release/lnd_web_signer_wasm.wasm
# (WASM_FEATURES=bench adds the benchmark export; WASM_SECP_TABLES=full
# gives libsecp256k1 its full 1 MiB table instead of the shipped 8 KiB one,
# for benchmarks, see .cargo/config.toml; WASM_OUT sets the output dir)
#   -> wasm-bindgen --target web --out-name lnd_web_signer -> web/pkg/
#      (lnd_web_signer.js + .d.ts + lnd_web_signer_bg.wasm) [-> wasm-opt -Oz]
# and fails if the module imports anything from module `env` (a sign that
# secp256k1's C code was compiled for the wrong target).
#
# Supply chain: wasm-bindgen generates the JS that
# ships, so it must be exactly the version of Cargo.lock (scripts/setup.sh
# installs it with `cargo install --locked`); any other is refused. The build
# is reproducible: paths of this checkout, the target dir and the cargo home
# are remapped, so two clean builds (anywhere) give the same bytes
# (scripts/check-reproducible-wasm.sh). The SHA-256 printed at the end is the
# one the tab shows in Settings.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)
profile=${WASM_PROFILE:-wasm-release}
features=()
if [ -n "${WASM_FEATURES:-}" ]; then features=(--features "$WASM_FEATURES"); fi
if [ "${WASM_SECP_TABLES:-}" = full ]; then
  # The config's CFLAGS without -DLWS_ECMULT_WINDOW_SIZE (cargo's [env] does
  # not override a variable that is set).
  export CFLAGS_wasm32_unknown_unknown="-DUSE_FORCE_WIDEMUL_INT64=1"
fi

want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  echo "[wasm] wasm-bindgen ${have:-not found}, but Cargo.lock pins $want: run scripts/setup.sh (cargo install wasm-bindgen-cli --version $want --locked)" >&2
  exit 1
fi

target_dir=$(cargo metadata -q --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
cargo_home=$(cd "${CARGO_HOME:-$HOME/.cargo}" && pwd -P)
# When several prefixes match, rustc applies the last one given: the target
# dir (often inside the checkout) and the cargo home come after the checkout.
remap="--remap-path-prefix=$root=/lnd-web-signer --remap-path-prefix=$target_dir=/target --remap-path-prefix=$cargo_home=/cargo"
RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$remap" \
  cargo rustc -q -p lnd-web-signer-wasm --lib --target wasm32-unknown-unknown --profile "$profile" "${features[@]}" --crate-type cdylib
wasm="$target_dir/wasm32-unknown-unknown/$profile/lnd_web_signer_wasm.wasm"
python3 scripts/check-wasm-imports.py "$wasm"
out=${WASM_OUT:-web/pkg}
# --out-name: the package keeps the file names web/, worker/ and the tests import.
# The name section (145 KB: function names for stack traces) and the
# producers section are dropped; panics still print their message.
wasm-bindgen --target web --out-name lnd_web_signer --remove-name-section --remove-producers-section \
  --out-dir "$out" "$wasm"
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
printf '[wasm] %s gzipped (gzip -9): %d bytes\n' "$out/lnd_web_signer_bg.wasm" "$(gzip -9 -c "$out/lnd_web_signer_bg.wasm" | wc -c)" >&2
(cd "$out" && sha256sum lnd_web_signer_bg.wasm lnd_web_signer.js) | sed 's/^/[wasm] sha256 /' >&2
