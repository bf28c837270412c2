#!/usr/bin/env bash
# Reproducible wasm build (docs/web.md): two clean builds of the
# shipped package give the same bytes. The working tree is copied twice, to
# paths of different lengths, and each copy is built by scripts/build-wasm.sh
# into its own empty target dir; then every file of the two web/pkg outputs
# (the .wasm, the JS glue wasm-bindgen generated, the .d.ts files) must be
# identical. Exit 0 and the shared SHA-256 on success, 1 and the differing
# files otherwise.
#
#   scripts/check-reproducible-wasm.sh    (two cold release builds: about
#                                          10-15 minutes on 2 cores)
#   scripts/check-reproducible-wasm.sh --against DIR
#       one clean build, compared with the package already built in DIR
#       (e.g. web/pkg from the warm target dir of the wasm test stage):
#       what scripts/test.sh's `repro` stage runs, half the cost.
#   scripts/check-reproducible-wasm.sh --clean-build-to OUT
#       only the clean build (of the tree as it is now), its package and
#       sums left in OUT; scripts/test.sh starts it early at idle CPU priority
#   scripts/check-reproducible-wasm.sh --against DIR --prebuilt OUT
#       compares DIR with what --clean-build-to OUT built
# KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/lws-repro-XXXXXX)
cleanup() { if [ "${KEEP:-0}" != 1 ]; then rm -rf "$work"; fi; }
trap cleanup EXIT

log() { printf '[repro] %s\n' "$*" >&2; }
usage() { log "usage: $0 [--against DIR [--prebuilt OUT]] | --clean-build-to OUT"; exit 2; }
against= prebuilt= build_to=
while [ "$#" -gt 0 ]; do
  case "$1" in
    --against)
      [ -n "${2:-}" ] || { log "--against needs a directory"; exit 2; }
      against=$(cd "$2" && pwd -P) || { log "no such directory: $2"; exit 2; }
      [ -f "$against/lnd_web_signer_bg.wasm" ] || { log "$against holds no lnd_web_signer_bg.wasm (build it first: scripts/build-wasm.sh)"; exit 2; }
      shift 2 ;;
    --prebuilt)
      [ -n "${2:-}" ] || { log "--prebuilt needs a directory"; exit 2; }
      prebuilt=$2; shift 2
      [ -f "$prebuilt/sums" ] || { log "$prebuilt holds no clean build (run --clean-build-to $prebuilt first)"; exit 2; } ;;
    --clean-build-to)
      [ -n "${2:-}" ] || { log "--clean-build-to needs a directory"; exit 2; }
      build_to=$2; shift 2 ;;
    *) usage ;;
  esac
done
if [ -n "$build_to" ] && { [ -n "$against" ] || [ -n "$prebuilt" ]; }; then usage; fi
if [ -n "$prebuilt" ] && [ -z "$against" ]; then usage; fi
if [ -n "$prebuilt" ]; then
  log "comparing the clean build in $prebuilt with $against"
  (cd "$against" && sha256sum ./* | sort -k2) > "$work/sums"
  if diff "$work/sums" "$prebuilt/sums" >&2; then
    log "identical outputs:"
    sed 's/^/[repro]   /' "$work/sums" >&2
    exit 0
  fi
  log "the clean build in $prebuilt differs from $against (files above)"
  exit 1
fi
# Tracked and untracked-but-not-ignored files: what a checkout would hold.
git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf "$work/tree.tar"
copies="a build-copy-with-a-longer-path"
if [ -n "$build_to" ]; then
  copies=build-copy-with-a-longer-path
elif [ -n "$against" ]; then
  copies=build-copy-with-a-longer-path
  mkdir -p "$work/a"
  (cd "$against" && sha256sum ./* | sort -k2) > "$work/a/sums"
  log "comparing one clean build with $against"
fi
for copy in $copies; do
  dir="$work/$copy"
  mkdir -p "$dir/src"
  tar -xf "$work/tree.tar" -C "$dir/src"
  log "clean build $copy"
  t0=$(date +%s)
  (cd "$dir/src" && CARGO_TARGET_DIR="$dir/target" WASM_OUT="$dir/pkg" bash scripts/build-wasm.sh)
  log "$copy built in $(( $(date +%s) - t0 )) s"
  (cd "$dir/pkg" && sha256sum ./* | sort -k2) > "$dir/sums"
done
if [ -n "$build_to" ]; then
  rm -rf "$build_to" && mkdir -p "$build_to"
  cp -r "$work/build-copy-with-a-longer-path/pkg" "$build_to/pkg"
  cp "$work/build-copy-with-a-longer-path/sums" "$build_to/sums"
  log "clean build left in $build_to"
  exit 0
fi
if diff "$work/a/sums" "$work/build-copy-with-a-longer-path/sums" >&2; then
  log "identical outputs:"
  sed 's/^/[repro]   /' "$work/a/sums" >&2
  exit 0
fi
log "the two clean builds differ (files above); KEEP=1 keeps $work to compare them"
KEEP=1
exit 1
