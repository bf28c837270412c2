# Shared shell helpers of scripts/*.sh (source it; it is not run):
#   LOG_TAG=e2e; . scripts/lib.sh
# logging, free loopback ports, bounded waits for a port, a line or an exit,
# one cleanup trap that stops every tracked process, installing the npm
# devDependencies and building the release binaries once, and the test
# constants of tests/stack/constants.mjs (one definition for JS and shell).
# The JS side of the test stack is tests/stack/ (docs/testing.md).
# shellcheck shell=bash
set -euo pipefail

LWS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_TAG=${LOG_TAG:-lws}

# log MESSAGE...: "[TAG] MESSAGE" on stderr.
log() { printf '[%s] %s\n' "$LOG_TAG" "$*" >&2; }

# lws_const NAME: a constant of tests/stack/constants.mjs (DEMO_TPRV, E2E_TPRV, ...).
lws_const() { node "$LWS_ROOT/tests/stack/cli.mjs" const "$1"; }

# free_port: a free TCP port on 127.0.0.1 (for a process that cannot take port 0).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_line FILE REGEX SECONDS [PID]: waits until FILE has a line matching
# REGEX and prints the first match; fails (saying so, with FILE's last lines)
# after SECONDS, or at once when PID has exited without printing it.
wait_line() {
  local file=$1 re=$2 secs=$3 pid=${4:-} i
  for i in $(seq $(( secs * 10 ))); do
    if grep -qE "$re" "$file" 2>/dev/null; then grep -m1 -oE "$re" "$file"; return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      grep -qE "$re" "$file" 2>/dev/null && { grep -m1 -oE "$re" "$file"; return 0; }
      log "process $pid exited before /$re/ appeared in $file"
      return 1
    fi
    sleep 0.1
  done
  log "timed out after ${secs}s waiting for /$re/ in $file:"
  tail -n 20 "$file" >&2 2>/dev/null || true
  return 1
}

# wait_port PORT SECONDS [WHAT]: until 127.0.0.1:PORT accepts TCP connections.
wait_port() {
  local port=$1 secs=$2 what=${3:-port $1} i
  for i in $(seq $(( secs * 10 ))); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  log "timed out after ${secs}s waiting for $what on port $port"
  return 1
}

# wait_exit PID SECONDS: waits for a child to exit and sets $exit_code (124
# after killing it on timeout). Not in a subshell: only this shell can wait
# for its children.
exit_code=0
wait_exit() {
  local i
  for i in $(seq $(( $2 * 10 ))); do
    if ! kill -0 "$1" 2>/dev/null; then
      exit_code=0
      wait "$1" || exit_code=$?
      return 0
    fi
    sleep 0.1
  done
  kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  exit_code=124
}

# count_matches FILE REGEX: the number of matching lines (0 if none or no file).
count_matches() { grep -cE "$2" "$1" 2>/dev/null || true; }

# ---- processes: `track PID` puts a process under the cleanup trap.
pids=()
track() { pids+=("$@"); }

# stop_pids SIGNAL PID...: sends SIGNAL, waits up to 5 s each, then SIGKILL.
stop_pids() {
  local sig=$1 p i; shift
  for p in "$@"; do kill -"$sig" "$p" 2>/dev/null || true; done
  for p in "$@"; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
}

# lws_cleanup (the EXIT trap of lws_traps): stops every tracked process with
# $LWS_STOP_SIGNAL (TERM), then calls the script's on_cleanup RC if it has
# one; exits with the script's status.
lws_cleanup() {
  local rc=$?
  trap - EXIT
  [ "${#pids[@]}" = 0 ] || stop_pids "${LWS_STOP_SIGNAL:-TERM}" "${pids[@]}"
  if declare -F on_cleanup >/dev/null; then on_cleanup "$rc" || true; fi
  exit "$rc"
}
lws_traps() {
  trap lws_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# ---- building, once per process tree (a script that calls another builds once).

# npm_deps: installs the npm devDependencies (playwright-core without its
# browser download, typescript, workerd) when one is missing.
npm_deps() {
  local m
  for m in playwright-core typescript workerd; do
    if [ ! -d "$LWS_ROOT/node_modules/$m" ]; then
      log "installing npm devDependencies (npm ci)"
      (cd "$LWS_ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
      return
    fi
  done
}

# build_release: every binary of lnd-web-signer-native, release (target/release);
# with LWS_BIN_DIR=target/debug the debug ones instead (scripts/test.sh: the
# native stage's cargo test has built them, so the browser suites need no
# second build of the workspace).
build_release() {
  [ "${LWS_RELEASE_BUILT:-}" = 1 ] && return 0
  if [ "${LWS_BIN_DIR:-target/release}" = target/debug ]; then
    log "building the debug binaries (LWS_BIN_DIR=target/debug)"
    (cd "$LWS_ROOT" && cargo build -q -p lnd-web-signer-native --bins)
  else
    log "building the release binaries"
    (cd "$LWS_ROOT" && cargo build --release -q -p lnd-web-signer-native --bins)
  fi
  export LWS_RELEASE_BUILT=1
}
