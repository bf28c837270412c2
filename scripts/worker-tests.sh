#!/usr/bin/env bash
# Worker tests: the wasm signer inside workerd (the npm `workerd` binary,
# worker/config.capnp), against watchonly-sim through signer-bridge
# --grpc-web, driven by node's test runner (tests/worker/*.test.mjs).
#
#   scripts/worker-tests.sh [node --test args, e.g. --test-name-pattern=stream]
#
# Builds what is missing (npm devDependencies, release binaries,
# worker/pkg), then tests/worker/run.mjs starts the stack through
# tests/stack/ (two test vaults from the public test key, watchonly-sim,
# signer-bridge, workerd A-D; worker.test.mjs starts E, F and G itself) and
# runs the tests; the last line is `worker: N passed, M failed`.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=worker-tests
. scripts/lib.sh
npm_deps
build_release
log "building the wasm signer into worker/pkg"
# wasm-opt output currently fails to load (see scripts/demo.sh): skip it.
WASM_OPT=${WASM_OPT:-0} WASM_OUT=worker/pkg bash scripts/build-wasm.sh
exec node tests/worker/run.mjs "$@"
