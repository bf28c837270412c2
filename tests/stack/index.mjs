// The test stack, started from one place (docs/testing.md, "The test
// stack"): watchonly-sim, signer-bridge --grpc-web, workerd, the static
// server and Chromium, plus the vaults and constants they share. Used by
// the page tests, the worker tests, the demo, the headless tab, the stream
// benchmark and the soak; scripts/lib.sh is its shell counterpart.
//
//   import { startSim, startBridge, startStatic, launchChromium } from "../stack/index.mjs";

import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEMO_PASSPHRASE, DEMO_TPRV, LOOPBACK } from "./constants.mjs";
import { BIN, WORKERD } from "./paths.mjs";
import { freePort, run, startProcess, waitUntil } from "./processes.mjs";

export * from "./constants.mjs";
export * from "./paths.mjs";
export * from "./processes.mjs";
export * from "./static.mjs";
export * from "./chromium.mjs";

const exists = (p) => access(p).then(() => true, () => false);

/**
 * Seals `tprv` (regtest) with `passphrase` into `dir`/`name`.vault with the
 * CLI; resolves { vault, passFile, seedFile, fingerprint } (the master key
 * fingerprint the CLI printed). The seed file stays in `dir`.
 */
export async function sealVault(dir, { tprv = DEMO_TPRV, passphrase, name = "demo" }) {
  const seedFile = join(dir, `${name}.seed`);
  const passFile = join(dir, `${name}.passphrase`);
  const vault = join(dir, `${name}.vault`);
  await writeFile(seedFile, `${tprv}\n`, { mode: 0o600 });
  await writeFile(passFile, `${passphrase}\n`, { mode: 0o600 });
  const r = await run(join(BIN, "lnd-web-signer"), [
    "vault", "seal", "--network", "regtest", "--seed-file", seedFile, "--passphrase-file", passFile, "--out", vault,
  ]);
  if (r.code !== 0) throw new Error(`lnd-web-signer vault seal failed: ${r.stderr}`);
  // "... (master key fingerprint a2e4cfba) ...": the CLI's view of the key.
  const fingerprint = /fingerprint ([0-9a-f]{8})/.exec(r.stdout + r.stderr)?.[1];
  if (!fingerprint) throw new Error(`lnd-web-signer vault seal printed no fingerprint: ${r.stdout}${r.stderr}`);
  return { vault, passFile, seedFile, fingerprint };
}

/** `lnd-web-signer accounts` of a vault, written to `out`. */
export async function writeAccounts(vault, passFile, out) {
  const r = await run(join(BIN, "lnd-web-signer"), ["accounts", "--vault", vault, "--passphrase-file", passFile]);
  if (r.code !== 0) throw new Error(`lnd-web-signer accounts failed: ${r.stderr}`);
  await writeFile(out, r.stdout);
  return out;
}

/** Seals the demo vault and writes accounts.json into `dir` (both kept if present). */
export async function demoVault(dir) {
  const vault = join(dir, "demo.vault");
  const passFile = join(dir, "demo.passphrase");
  const accounts = join(dir, "accounts.json");
  if (!(await exists(vault))) await sealVault(dir, { tprv: DEMO_TPRV, passphrase: DEMO_PASSPHRASE, name: "demo" });
  if (!(await exists(accounts))) await writeAccounts(vault, passFile, accounts);
  return { vault, passFile, accounts, passphrase: DEMO_PASSPHRASE };
}

/**
 * Starts watchonly-sim (regtest) in `dir`; resolves { proc, addr, cert,
 * macaroon, macaroonHex() }. `extra`: more flags; the process options
 * (echo, stdoutFile, stderrFile, ...) go to startProcess.
 */
export async function startSim(dir, {
  accounts, scenario = "mixed", rounds = 1, listen = `${LOOPBACK}:0`, extra = [], ...procOptions
} = {}) {
  const tlsDir = join(dir, "sim-tls");
  const macaroon = join(dir, "sim.macaroon");
  const args = [
    "--listen", listen, "--tls-dir", tlsDir, "--macaroon-out", macaroon,
    "--network", "regtest", "--scenario", scenario, "--rounds", String(rounds),
  ];
  if (accounts) args.push("--accounts", accounts);
  const proc = startProcess(join(BIN, "watchonly-sim"), [...args, ...extra], { name: "watchonly-sim", ...procOptions });
  const m = await proc.waitFor(/listening on (\S+)/, 30_000);
  return {
    proc, addr: m[1], cert: join(tlsDir, "tls.cert"), macaroon,
    macaroonHex: async () => (await readFile(macaroon)).toString("hex"),
  };
}

/**
 * Starts signer-bridge --grpc-web (and its WebSocket channel) for `origin`,
 * with `extra` arguments; resolves { proc, url, listen }.
 */
export async function startBridge({ lnd, cert, origin, listen = `${LOOPBACK}:0`, extra = [], ...procOptions }) {
  const proc = startProcess(join(BIN, "signer-bridge"), [
    "--listen", listen, "--lnd-rpchost", lnd, "--lnd-tlscertpath", cert, "--grpc-web", "--allow-origin", origin, ...extra,
  ], { name: "signer-bridge", ...procOptions });
  const m = await proc.waitFor(/listening on (\d+\.\d+\.\d+\.\d+:\d+)/, 30_000);
  return { proc, url: `http://${m[1]}`, listen: m[1] };
}

/** The sim's final summary, e.g. { passed: 42, failed: 0, line }. */
export async function simSummary(sim, timeout = 240_000) {
  const m = await sim.proc.waitFor(/(\d+) passed, (\d+) failed/, timeout);
  return { passed: Number(m[1]), failed: Number(m[2]), line: m[0] };
}

/**
 * Starts workerd with worker/config.capnp on `port` (a free one if not
 * given), Durable Object storage in `storage`, and only `bindings` (plus
 * PATH) in its environment: config.capnp reads the secrets with
 * fromEnvironment. Waits (bounded) until it answers /health; resolves
 * { proc, url, port }. `log` (a file) gets both output streams appended.
 */
export async function startWorkerd({ name, bindings = {}, port, storage, log, pidFile, timeout = 60_000 }) {
  const p = port ?? (await freePort());
  const url = `http://${LOOPBACK}:${p}`;
  await mkdir(storage, { recursive: true });
  const proc = startProcess(WORKERD, [
    "serve", "worker/config.capnp", "--socket-addr", `http=${LOOPBACK}:${p}`, "-d", `do-storage=${storage}`,
  ], {
    name: `workerd ${name}`, cleanEnv: true, env: { PATH: process.env.PATH, ...bindings },
    stdoutFile: log, stderrFile: log, pidFile,
  });
  await waitUntil(async () => {
    if (proc.exit) return { done: true };
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5_000) });
    await res.body?.cancel();
    return { done: true };
  }, timeout, `workerd ${name} to serve on ${url}`);
  if (proc.exit) throw new Error(`workerd ${name} exited (${proc.exit.code ?? proc.exit.signal}):\n${proc.output.slice(-2000)}`);
  return { proc, url, port: p };
}
