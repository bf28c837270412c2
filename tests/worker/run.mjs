// The worker tests' stack (scripts/worker-tests.sh builds, then runs this):
// two test vaults sealed from the public test key in a temporary directory,
//   watchonly-sim (regtest, scenario mixed, one round, pings every second;
//                 failed pings never stop it: the signer comes and goes)
//   signer-bridge --grpc-web pinned to the sim's tls.cert
//   workerd A  good vault, macaroon from the MACAROON_HEX binding
//   workerd B  wrong VAULT_PASSPHRASE
//   workerd C  vault with the sealed macaroon, no MACAROON_HEX; secrets
//              stored with a trailing newline, the vault base64 in 76-column lines
//   workerd D  no bindings at all
// all through tests/stack/, then node's test runner on tests/worker/ with
// the stack in WORKER_* variables (tests/worker/support.mjs). Secrets reach
// workerd only through its environment (config.capnp reads them with
// fromEnvironment); nothing secret is written outside the temporary
// directory, which is removed at exit with every process (also the
// workerd processes a test started: their pids are in extra.pids).
//
//   node tests/worker/run.mjs [node --test args, e.g. --test-name-pattern=stream]

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BIN, DEMO_TPRV, LOOPBACK, ROOT, run, sealVault, startBridge, startSim, startWorkerd, WORKERD, writeAccounts,
} from "../stack/index.mjs";

const t0 = Date.now();
const log = (line) => process.stderr.write(`[worker-tests] ${line}\n`);
const secs = () => Math.round((Date.now() - t0) / 1000);
const randHex = (n) => randomBytes(n).toString("hex");

const tmp = await mkdtemp(join(process.env.TMPDIR || tmpdir(), "lws-worker-tests."));
chmodSync(tmp, 0o700);
const procs = [];
let testRun = null;

async function cleanup(rc) {
  testRun?.kill("SIGTERM");
  let extra = [];
  try {
    extra = readFileSync(join(tmp, "extra.pids"), "utf8").split("\n").filter(Boolean).map(Number);
  } catch { /* no test started a workerd */ }
  for (const pid of extra) {
    try { process.kill(pid, "SIGKILL"); } catch { /* gone */ }
  }
  await Promise.all(procs.map((p) => p.stop().catch(() => {})));
  if (rc !== 0) {
    for (const f of ["sim.err", "bridge.log", "workerd-A.log", "workerd-B.log", "workerd-C.log", "workerd-D.log"]) {
      const text = await readFile(join(tmp, f), "utf8").catch(() => "");
      if (text) process.stderr.write(`--- ${f} (last 20 lines)\n${text.trimEnd().split("\n").slice(-20).join("\n")}\n`);
    }
  }
  await rm(tmp, { recursive: true, force: true });
}
let finishing = false;
async function finish(rc) {
  if (finishing) return;
  finishing = true;
  await cleanup(rc);
  process.exit(rc);
}
process.on("SIGINT", () => finish(130));
process.on("SIGTERM", () => finish(143));

try {
  log(`workerd ${(await run(WORKERD, ["--version"])).stdout.trim()}`);
  const PASSPHRASE = `worker test passphrase ${randHex(6)}`;
  const WRONG_PASSPHRASE = `not the passphrase ${randHex(6)}`;
  const CONTROL_TOKEN = randHex(24);
  const plain = await sealVault(tmp, { tprv: DEMO_TPRV, passphrase: PASSPHRASE, name: "plain" });
  const accounts = await writeAccounts(plain.vault, plain.passFile, join(tmp, "accounts.json"));

  log("starting watchonly-sim");
  // The simulator accepts the macaroon file it finds at its path: a real
  // lnd macaroon (remotesigner:generate), so that it fits a signer bundle.
  await copyFile(join(ROOT, "tests/fixtures/macaroons/signer.macaroon"), join(tmp, "sim.macaroon"));
  const sim = await startSim(tmp, {
    accounts, scenario: "mixed", rounds: 1,
    extra: ["--ping-interval", "1s", "--ping-attempts", "1000", "--ping-backoff", "500ms"],
    stdoutFile: join(tmp, "sim.out"), stderrFile: join(tmp, "sim.err"),
  });
  procs.push(sim.proc);
  const MACAROON_HEX = await sim.macaroonHex();

  log("starting signer-bridge --grpc-web");
  const bridgeLog = join(tmp, "bridge.log");
  const bridge = await startBridge({
    lnd: sim.addr, cert: sim.cert, origin: `http://${LOOPBACK}:8787`, stdoutFile: bridgeLog, stderrFile: bridgeLog,
  });
  procs.push(bridge.proc);

  // Worker C is provisioned from a signer bundle, as on the lnd machine:
  // `bundle signer` there, then the tool seals its macaroon and names the
  // bridge URL.
  const bundle = await run(join(BIN, "lnd-web-signer"), [
    "bundle", "signer", "--tlscertpath", sim.cert, "--macaroonpath", sim.macaroon, "--bridge-url", bridge.url, "--b64",
  ]);
  if (bundle.code !== 0) throw new Error(`lnd-web-signer bundle signer failed: ${bundle.stderr}`);
  const bundleFile = join(tmp, "credentials-bundle.tar.gz.b64");
  await writeFile(bundleFile, bundle.stdout);
  const withMacaroon = join(tmp, "with-macaroon.vault");
  const vm = await run("node", [
    "worker/tools/vault-macaroon.mjs", "--vault", plain.vault, "--passphrase-file", plain.passFile,
    "--bundle", bundleFile, "--out", withMacaroon,
  ]);
  if (vm.code !== 0) throw new Error(`worker/tools/vault-macaroon.mjs --bundle failed (exit ${vm.code}): ${vm.stderr}`);
  const bundleUrl = /^BRIDGE_URL=(\S+)$/m.exec(vm.stdout)?.[1];
  if (bundleUrl !== bridge.url) throw new Error(`vault-macaroon.mjs --bundle printed ${JSON.stringify(vm.stdout)}`);

  const vaultB64 = (await readFile(plain.vault)).toString("base64");
  const vaultMacB64 = (await readFile(withMacaroon)).toString("base64");
  const common = { CONTROL_TOKEN, BRIDGE_URL: bridge.url };
  const workers = {
    A: { ...common, VAULT: vaultB64, VAULT_PASSPHRASE: PASSPHRASE, MACAROON_HEX },
    B: { ...common, VAULT: vaultB64, VAULT_PASSPHRASE: WRONG_PASSPHRASE, MACAROON_HEX },
    // C's secrets end with a newline, as `echo ... | wrangler secret put` stores them.
    C: {
      VAULT: `${vaultMacB64.match(/.{1,76}/g).join("\n")}\n`, VAULT_PASSPHRASE: `${PASSPHRASE}\n`,
      CONTROL_TOKEN: `${CONTROL_TOKEN}\n`, BRIDGE_URL: bundleUrl,
    },
    D: {},
  };
  log("starting workerd A, B, C, D");
  const urls = {};
  await Promise.all(Object.entries(workers).map(async ([name, bindings]) => {
    const w = await startWorkerd({
      name, bindings, storage: join(tmp, `do-${name}`), log: join(tmp, `workerd-${name}.log`),
    });
    procs.push(w.proc);
    urls[name] = w.url;
  }));
  log(`stack up after ${secs()}s`);

  const env = {
    WORKER_A_URL: urls.A, WORKER_B_URL: urls.B, WORKER_C_URL: urls.C, WORKER_D_URL: urls.D,
    WORKER_TMP: tmp, WORKER_SIM_OUT: join(tmp, "sim.out"), WORKER_SIM_ERR: join(tmp, "sim.err"),
    WORKER_CONTROL_TOKEN: CONTROL_TOKEN, WORKER_PASSPHRASE: PASSPHRASE, WORKER_WRONG_PASSPHRASE: WRONG_PASSPHRASE,
    WORKER_MACAROON_HEX: MACAROON_HEX, WORKER_VAULT_B64: vaultB64, WORKER_VAULT_MAC_B64: vaultMacB64,
    WORKER_BIN: BIN, WORKER_FINGERPRINT: plain.fingerprint, WORKER_WORKERD: WORKERD, WORKER_BRIDGE_URL: bridge.url,
  };
  // One file at a time: the sim accepts one signer, so sessions must not overlap.
  testRun = spawn(process.execPath, [
    "--test", "--test-concurrency=1", "--test-timeout=180000", ...process.argv.slice(2), "tests/worker/",
  ], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  testRun.stdout.on("data", (c) => {
    out += c;
    process.stdout.write(c);
  });
  const code = await new Promise((r) => testRun.on("close", (c, sig) => r(c ?? (sig ? 1 : 0))));
  testRun = null;
  const last = (re) => [...out.matchAll(re)].pop()?.[1] ?? "0";
  log(`done in ${secs()}s`);
  process.stdout.write(`worker: ${last(/^# pass (\d+)/gm)} passed, ${last(/^# fail (\d+)/gm)} failed\n`);
  await finish(code);
} catch (e) {
  log(`error: ${e.stack ?? e}`);
  await finish(1);
}
