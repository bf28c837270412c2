#!/usr/bin/env bash
# Page tests (stage `page` of scripts/test.sh): the real signer tab in
# headless Chromium (Debian's /usr/bin/chromium through playwright-core; no
# browser download) with node's test runner:
#   tests/page/vault.test.mjs    first run, seal, unlock, lock, auto-lock, wipe,
#                                accounts.json vs the CLI, seed secrecy, CSP,
#                                offline, 360 px, keyboard
#   tests/page/connect.test.mjs  every watchonly-sim scenario through
#                                signer-bridge, bridge restart, lnd silent (idle
#                                watchdog), wrong macaroon, bridge unreachable,
#                                lnd not ready
#   tests/page/one-signer.test.mjs  two tabs (Web Locks leader, standby takes
#                                over), a tab of another origin (standby)
#   tests/page/extension.test.mjs the MV3 extension (--load-extension): popup,
#                                signing with the popup closed, lock, auto-lock,
#                                restart, secrets, tab + extension
#   tests/page/unit/             node --test unit tests of the pure web/lib/
#                                modules (no browser)
# Before them: the TypeScript check of every web module (web/tsconfig*.json).
# Screenshots of every screen go to artifacts/screenshots/.
#   scripts/page-tests.sh [node --test args, e.g. --test-name-pattern=wipe]
# The stack (simulator, bridge, static server, Chromium) is started by the
# tests through tests/stack/.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=page
. scripts/lib.sh
npm_deps
build_release
bash scripts/build-wasm.sh
bash scripts/build-extension.sh
# Every web module is `// @ts-check`ed against the generated pkg/*.d.ts.
npx --no-install tsc -p web/tsconfig.json
npx --no-install tsc -p web/tsconfig.worker.json
log "type check: web/ modules clean against pkg/lnd_web_signer.d.ts"
rm -rf artifacts/screenshots
mkdir -p artifacts/screenshots
node --test "$@" tests/page/
log "screenshots: artifacts/screenshots/"
