#!/usr/bin/env bash
# Installs what the build, tests and demo need on a fresh Debian 12 machine.
# Idempotent: every step checks first and skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

# Debian packages: clang + llvm (secp256k1's C code for wasm32), chromium + driver
# (headless tests), python3 (small check scripts).
need_pkgs=()
for p in clang llvm chromium chromium-driver python3 ca-certificates pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "apt-get install ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# Node.js + npm for the page/worker tests (Debian 12 ships node 18; any >= 18 works).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  log "apt-get install nodejs npm"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi

# Rust toolchain pieces.
if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup first (https://rustup.rs)" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy
rustup target list --installed | grep -q '^wasm32-unknown-unknown$' || rustup target add wasm32-unknown-unknown

# wasm-bindgen-cli at exactly the version in Cargo.lock, built from its own
# Cargo.lock (--locked: the dependencies its authors tested, not whatever is
# newest today). It generates the JavaScript glue that ships with the page,
# so there is no plain fallback without --locked; scripts/build-wasm.sh
# refuses any other version. When the registry no longer serves a version
# its lock names (seen: webpki-roots 1.0.11, a dependency of its HTTP client,
# not of the glue generator), install_wasm_bindgen moves only that crate to
# what the registry has, in a copy of the crate's own lock, and says so.
install_wasm_bindgen() {
  local want=$1 err src tmp crate n
  err=$(mktemp)
  if cargo install -q wasm-bindgen-cli --version "=$want" --locked 2>"$err"; then
    rm -f "$err"; return 0
  fi
  src=$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"wasm-bindgen-cli-$want" 2>/dev/null | head -1)
  if [ -z "$src" ] || ! grep -q 'locked to' "$err"; then
    cat "$err" >&2; rm -f "$err"; return 1
  fi
  tmp=$(mktemp -d)
  cp -r "$src/." "$tmp/"
  for n in 1 2 3 4 5 6; do
    crate=$(sed -n 's/.*requirement `\([A-Za-z0-9_-]*\) = .*(locked to .*/\1/p' "$err" | head -1)
    [ -n "$crate" ] || break
    log "the registry does not serve the $crate version wasm-bindgen-cli $want locks: moving only $crate to the newest it serves"
    (cd "$tmp" && cargo update -q -p "$crate") 2>"$err" || { cat "$err" >&2; break; }
    if cargo install -q --path "$tmp" --locked 2>"$err"; then
      rm -rf "$tmp" "$err"; return 0
    fi
  done
  cat "$err" >&2; rm -rf "$tmp" "$err"; return 1
}
want=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ -z "$want" ]; then
  echo "Cargo.lock names no wasm-bindgen version" >&2
  exit 1
fi
if [ "$have" != "$want" ]; then
  log "cargo install wasm-bindgen-cli $want --locked (about 2 minutes)"
  install_wasm_bindgen "$want"
  have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
  if [ "$have" != "$want" ]; then
    echo "wasm-bindgen on PATH is ${have:-missing} after installing $want (another one earlier on PATH?)" >&2
    exit 1
  fi
fi

# npm packages (playwright-core, workerd, miniflare) for page and worker tests.
if [ -f package.json ]; then
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
  fi
fi
# The real peers of the interop suite (scripts/itest-lnd.sh), built from the
# Go module registry at the pins of tests/go/{lnd,btcd,grpcwebproxy} into
# tools/ (git-ignored); rebuilt only when a pin changes. SETUP_GO=0 skips it.
# When the registry refuses the pinned lnd, tools/lnd/BLOCKED records what it
# answered and the interop stage reports it (setup itself does not fail).
LND_TAGS="autopilotrpc signrpc walletrpc chainrpc invoicesrpc watchtowerrpc neutrinorpc monitoring peersrpc"
go_tools() { # name, build tags, packages...
  local name=$1 tags=$2; shift 2
  local mod=tests/go/$name out=tools/$name
  local stamp; stamp=$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)-$(go env GOVERSION)-${tags// /,}
  if [ -f "$out/.stamp" ] && [ "$(cat "$out/.stamp")" = "$stamp" ]; then return 0; fi
  rm -rf "$out" && mkdir -p "$out"
  log "go build $name ($*) from the pins in $mod (a few minutes on a cold cache)"
  local t0; t0=$(date +%s)
  (cd "$mod" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -tags "$tags" -o "../../../$out/" "$@")
  echo "$stamp" > "$out/.stamp"
  log "$name built in $(( $(date +%s) - t0 ))s"
}
if [ "${SETUP_GO:-1}" = 1 ]; then
  if ! command -v go >/dev/null; then
    mkdir -p tools/lnd && echo "go not found: the interop suite needs Go (1.25 or newer) and the Go module registry" > tools/lnd/BLOCKED
    log "go not found: interop suite peers not built"
  else
    lnd_pin=$(awk '$1 == "require" && $2 == "github.com/lightningnetwork/lnd" {print $3}' tests/go/lnd/go.mod)
    if dl=$(cd tests/go/lnd && GOFLAGS=-mod=mod go mod download -json "github.com/lightningnetwork/lnd@$lnd_pin" 2>&1); then
      rm -f tools/lnd/BLOCKED
      go_tools lnd "$LND_TAGS" github.com/lightningnetwork/lnd/cmd/lnd github.com/lightningnetwork/lnd/cmd/lncli
      go_tools btcd "" github.com/btcsuite/btcd github.com/btcsuite/btcd/cmd/btcctl
      go_tools grpcwebproxy "" github.com/improbable-eng/grpc-web/go/grpcwebproxy
    else
      mkdir -p tools/lnd
      rm -f tools/lnd/.stamp
      printf 'the Go module registry refused github.com/lightningnetwork/lnd@%s (%s):\n%s\n' \
        "$lnd_pin" "$(go env GOPROXY)" "$(printf '%s' "$dl" | grep -v '^[{}]' | head -5)" > tools/lnd/BLOCKED
      log "lnd $lnd_pin is not served by the Go module registry: interop suite blocked (tools/lnd/BLOCKED)"
    fi
  fi
fi
log "ok"
