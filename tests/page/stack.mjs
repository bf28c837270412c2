// The demo/test stack: a demo vault sealed by the CLI from a fixed public
// test key, its accounts.json, watchonly-sim (regtest) and signer-bridge
// --grpc-web pinned to the sim's tls.cert. Used by the connect tests and
// scripts/demo.sh (through demo.mjs).

import { access, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { BIN, run, startProcess } from "./helpers.mjs";

// lnd's docs/remote-signing.md example root key: public, never a real wallet.
export const DEMO_TPRV =
  "tprv8ZgxMBicQKsPe6jS4vDm2n7s42Q6MpvghUQqMmSKG7bTZvGKtjrcU3PGzMNG37yzxywrcdvgkwrr8eYXJmbwdvUNVT4Ucv7ris4jvA7BUmg";
export const DEMO_PASSPHRASE = "demo passphrase, not a secret";

const exists = (p) => access(p).then(() => true, () => false);

/** Seals the demo vault and writes accounts.json into `dir` (kept if present). */
export async function demoVault(dir) {
  const seed = join(dir, "demo.seed");
  const passFile = join(dir, "demo.passphrase");
  const vault = join(dir, "demo.vault");
  const accounts = join(dir, "accounts.json");
  if (!(await exists(vault))) {
    await writeFile(seed, `${DEMO_TPRV}\n`, { mode: 0o600 });
    await writeFile(passFile, `${DEMO_PASSPHRASE}\n`, { mode: 0o600 });
    const r = await run(join(BIN, "lnd-web-signer"), [
      "vault", "seal", "--network", "regtest", "--seed-file", seed, "--passphrase-file", passFile, "--out", vault,
    ]);
    if (r.code !== 0) throw new Error(`lnd-web-signer vault seal failed: ${r.stderr}`);
  }
  if (!(await exists(accounts))) {
    const r = await run(join(BIN, "lnd-web-signer"), ["accounts", "--vault", vault, "--passphrase-file", passFile]);
    if (r.code !== 0) throw new Error(`lnd-web-signer accounts failed: ${r.stderr}`);
    await writeFile(accounts, r.stdout);
  }
  return { vault, passFile, accounts, passphrase: DEMO_PASSPHRASE };
}

/** Starts watchonly-sim; resolves { proc, addr, cert, macaroon }. */
export async function startSim(dir, { accounts, scenario = "mixed", rounds = 1, listen = "127.0.0.1:0", extra = [], echo = false }) {
  const tlsDir = join(dir, "sim-tls");
  const macaroon = join(dir, "sim.macaroon");
  const args = [
    "--listen", listen, "--tls-dir", tlsDir, "--macaroon-out", macaroon,
    "--network", "regtest", "--scenario", scenario, "--rounds", String(rounds),
  ];
  if (accounts) args.push("--accounts", accounts);
  const proc = startProcess(join(BIN, "watchonly-sim"), [...args, ...extra], { name: "watchonly-sim", echo });
  const m = await proc.waitFor(/listening on (\S+)/, 30_000);
  return { proc, addr: m[1], cert: join(tlsDir, "tls.cert"), macaroon };
}

/** Starts signer-bridge --grpc-web; resolves { proc, url, listen }. */
export async function startBridge({ lnd, cert, origin, listen = "127.0.0.1:0", echo = false }) {
  const proc = startProcess(join(BIN, "signer-bridge"), [
    "--listen", listen, "--lnd-rpchost", lnd, "--lnd-tlscertpath", cert, "--grpc-web", "--allow-origin", origin,
  ], { name: "signer-bridge", echo });
  const m = await proc.waitFor(/listening on (\d+\.\d+\.\d+\.\d+:\d+)/, 30_000);
  return { proc, url: `http://${m[1]}`, listen: m[1] };
}

/** The sim's final summary, e.g. { passed: 42, failed: 0, line }. */
export async function simSummary(sim, timeout = 240_000) {
  const m = await sim.proc.waitFor(/(\d+) passed, (\d+) failed/, timeout);
  return { passed: Number(m[1]), failed: Number(m[2]), line: m[0] };
}
