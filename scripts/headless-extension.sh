#!/usr/bin/env bash
# Loads the browser extension (scripts/build-extension.sh) in headless
# Chromium with a fresh profile, opens its popup, restores a vault file,
# unlocks, connects to signer-bridge, optionally closes the popup, and keeps
# signing until killed.
#
#   scripts/headless-extension.sh --bridge BRIDGE_URL --vault V --passphrase-file Q \
#       [--macaroonpath MAC] [--close-popup-after-connect] [--screenshot-prefix NAME-]
#
# BRIDGE_URL  signer-bridge's URL; its --allow-origin must be exactly the
#             extension's origin (scripts/build-extension.sh --print-origin)
# V           vault file (lnd-web-signer vault seal, or the tab's backup)
# Q           file whose first line is the vault passphrase
# MAC         macaroon file; sealed into the vault and sent to lnd
#
# stdout: one line per handled request ("#ID KIND [key=F/I] [signed=[..]] LATENCYms");
# stderr: status changes. Exit 0 on SIGTERM/SIGINT, 1 if unlock or connect failed.
# Uses /usr/bin/chromium through playwright-core (never downloads a browser).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
LOG_TAG=headless-extension
. "$root/scripts/lib.sh"
npm_deps
if [ ! -f "$root/dist/extension/manifest.json" ] || [ "${EXT_REBUILD:-0}" = 1 ]; then
  bash "$root/scripts/build-extension.sh" >&2
fi
exec node "$root/tests/page/headless-extension.mjs" "$@"
