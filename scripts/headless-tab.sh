#!/usr/bin/env bash
# Loads the real signer tab (web/) in headless Chromium, restores a vault
# file, unlocks it, connects to signer-bridge and keeps signing until killed.
#
#   scripts/headless-tab.sh --url PAGE_URL --bridge BRIDGE_URL --vault V \
#       --passphrase-file Q [--macaroonpath MAC] [--screenshot-prefix NAME-]
#
# PAGE_URL      where web/ is served (e.g. node tests/stack/cli.mjs serve)
# BRIDGE_URL    signer-bridge's grpc-web URL (its --allow-origin must list PAGE_URL's origin)
# V             vault file (lnd-web-signer vault seal, or the page's backup)
# Q             file whose first line is the vault passphrase
# MAC           macaroon file; sealed into the vault and sent to lnd
#
# stdout: one line per handled request ("#ID KIND [key=F/I] [signed=[..]] LATENCYms");
# stderr: status changes. Exit 0 on SIGTERM/SIGINT, 1 if unlock or connect failed.
# Uses /usr/bin/chromium through playwright-core (never downloads a browser;
# tests/stack/chromium.mjs).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
LOG_TAG=headless-tab
. "$root/scripts/lib.sh"
npm_deps
if [ ! -f "$root/web/pkg/lnd_web_signer_bg.wasm" ]; then
  log "web/pkg is missing; run scripts/build-wasm.sh first"
  exit 2
fi
exec node "$root/tests/page/headless-tab.mjs" "$@"
