#!/usr/bin/env bash
# The main demo: watchonly-sim (a stand-in for lnd's watch-only node:
# regtest, scenario mixed, the accounts of a demo vault) + signer-bridge
# --grpc-web + a static server for web/, with the signer tab as the signer.
#
#   scripts/demo.sh              prints the page URL, the demo passphrase and
#                                what to click; runs until Ctrl-C
#   scripts/demo.sh --headless   drives the real page in headless Chromium
#                                (scripts/headless-tab.sh) through unlock and
#                                connect, prints the simulator's summary
#                                ("N passed, 0 failed"); exit 0 on success
#
# Options (after the mode): --page-port N (default 8480), --bridge-port N
# (default 8481), --scenario NAME, --rounds N, --verbose.
# Installs what is missing (scripts/setup.sh), builds the release binaries
# and the wasm signer, and stops every process it started. The demo key is a
# public test key (lnd's docs example tprv), never a real wallet.
# The stack itself is started by tests/page/demo.mjs through tests/stack/.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=demo
. scripts/lib.sh

log "checking prerequisites (scripts/setup.sh)"
bash scripts/setup.sh
build_release
log "building the wasm signer (web/pkg)"
bash scripts/build-wasm.sh
exec node tests/page/demo.mjs "$@"
