# workerd configuration for running the signer worker locally and in the
# tests (scripts/worker-tests.sh). Nothing secret is in this file: every
# binding is read from an environment variable of the workerd process.
#
#   WASM_OPT=0 WASM_OUT=worker/pkg bash scripts/build-wasm.sh
#   mkdir -p /tmp/lws-do
#   VAULT=$(base64 -w0 my.vault) VAULT_PASSPHRASE=... CONTROL_TOKEN=... \
#   BRIDGE_URL=http://127.0.0.1:8090 \
#     node_modules/.bin/workerd serve worker/config.capnp \
#       --socket-addr http=127.0.0.1:8787 -d do-storage=/tmp/lws-do
#
# Unset variables give `null` bindings; the worker reports them as not
# configured. Module paths are relative to this file. See docs/worker.md.

using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "signer", worker = .signerWorker),
    # Outbound fetch: workerd's default "internet" service only reaches
    # public addresses; a bridge on loopback or a private network needs
    # this one.
    (name = "outbound", network = (allow = ["public", "private", "local"])),
    # Storage of the always-on Durable Object (its `wanted` flag, counters,
    # alarm and the audit log; never keys). Point it elsewhere with
    # `-d do-storage=DIR`; the directory must exist.
    (name = "do-storage", disk = (path = "/tmp/lnd-web-signer-worker-state", writable = true)),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:8787", http = (), service = "signer"),
  ],
);

const signerWorker :Workerd.Worker = (
  modules = [
    (name = "src/index.js", esModule = embed "src/index.js"),
    (name = "src/util.js", esModule = embed "src/util.js"),
    (name = "pkg/lnd_web_signer.js", esModule = embed "pkg/lnd_web_signer.js"),
    (name = "pkg/lnd_web_signer_bg.wasm", wasm = embed "pkg/lnd_web_signer_bg.wasm"),
  ],
  compatibilityDate = "2026-07-01",
  globalOutbound = "outbound",
  # Always-on mode (POST /signer/start): one SignerHost object. workerd's
  # in-memory storage does not run alarms reliably (it aborted in our
  # tests), so the local config uses SQLite files on disk.
  durableObjectNamespaces = [
    (className = "SignerHost", uniqueKey = "lnd-web-signer-signer-host", enableSql = true),
  ],
  durableObjectStorage = (localDisk = "do-storage"),
  bindings = [
    (name = "VAULT", fromEnvironment = "VAULT"),
    (name = "VAULT_PASSPHRASE", fromEnvironment = "VAULT_PASSPHRASE"),
    (name = "CONTROL_TOKEN", fromEnvironment = "CONTROL_TOKEN"),
    (name = "BRIDGE_URL", fromEnvironment = "BRIDGE_URL"),
    (name = "MACAROON_HEX", fromEnvironment = "MACAROON_HEX"),
    # Optional signing policy, JSON (docs/worker.md, docs/security.md), e.g.
    #   POLICY='{"onchain":{"max_external_per_tx":100000}}'
    # Unset: the policy sealed in the vault, or the default. One that does
    # not parse stops every start (the signer never falls back to the default).
    (name = "POLICY", fromEnvironment = "POLICY"),
    (name = "MAX_SESSION_SECONDS", fromEnvironment = "MAX_SESSION_SECONDS"),
    (name = "KEEPALIVE_SECONDS", fromEnvironment = "KEEPALIVE_SECONDS"),
    (name = "HEALTH_CHECK_INTERVAL_SECONDS", fromEnvironment = "HEALTH_CHECK_INTERVAL_SECONDS"),
    (name = "IDLE_MULTIPLE", fromEnvironment = "IDLE_MULTIPLE"),
    (name = "IDLE_TIMEOUT_SECONDS", fromEnvironment = "IDLE_TIMEOUT_SECONDS"),
    (name = "SIGNER", durableObjectNamespace = "SignerHost"),
  ],
);
