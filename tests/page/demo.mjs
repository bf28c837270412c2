// The demo behind scripts/demo.sh: watchonly-sim (regtest, scenario mixed,
// the accounts of a demo vault) + signer-bridge --grpc-web + a static
// server for web/. Interactive by default (prints what to open and click);
// --headless drives the real page in headless Chromium through
// scripts/headless-tab.sh and prints the simulator's summary.

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  cleanupTempDirs, demoVault, ROOT, SHOTS, simSummary, startBridge, startProcess, startSim, startStatic, tempDir,
} from "../stack/index.mjs";

const { values: opt } = parseArgs({
  options: {
    headless: { type: "boolean", default: false },
    "page-port": { type: "string" },
    "bridge-port": { type: "string" },
    scenario: { type: "string", default: "mixed" },
    rounds: { type: "string", default: "1" },
    verbose: { type: "boolean", default: false },
  },
  strict: true,
});

const headless = opt.headless;
const log = (line) => process.stderr.write(`[demo] ${line}\n`);
const started = [];
let server = null;
let stopping = false;

async function stopAll() {
  for (const p of started.reverse()) await p.stop().catch(() => {});
  started.length = 0;
  if (server) await server.close().catch(() => {});
  server = null;
  await cleanupTempDirs();
}

async function finish(code) {
  stopping = true;
  await stopAll();
  process.exit(code);
}
process.on("SIGINT", () => { log("stopping"); finish(130); });
process.on("SIGTERM", () => { log("stopping"); finish(143); });
process.on("SIGHUP", () => { log("stopping"); finish(129); });

try {
  // Interactive runs keep their files (the sim reuses its tls.cert and
  // macaroon, so a vault restored in your browser keeps working).
  const dir = headless ? await tempDir("lws-demo-") : join(ROOT, "artifacts/demo");
  await mkdir(dir, { recursive: true });
  const demo = await demoVault(dir);

  server = await startStatic({ port: Number(opt["page-port"] ?? (headless ? 0 : 8480)) });
  const origin = new URL(server.url).origin;

  const sim = await startSim(dir, {
    accounts: demo.accounts,
    scenario: opt.scenario,
    rounds: Number(opt.rounds),
    // Headless: fail fast if the tab never comes; interactive: wait for you.
    // Interactive: keep serving (health pings) after the workload.
    extra: [
      "--ping-interval", "5s", "--ping-timeout", "5s", "--startup-timeout", headless ? "3m" : "0",
      ...(headless ? ["--exit-when-done"] : []),
    ],
    echo: opt.verbose,
  });
  started.push(sim.proc);
  const bridge = await startBridge({
    lnd: sim.addr, cert: sim.cert, origin,
    listen: `127.0.0.1:${opt["bridge-port"] ?? (headless ? 0 : 8481)}`,
    echo: opt.verbose,
  });
  started.push(bridge.proc);

  const lines = [
    "",
    "lnd-web-signer demo: watchonly-sim (regtest, scenario " + opt.scenario + ") + signer-bridge --grpc-web + the signer tab",
    "",
    `  page            ${server.url}`,
    `  bridge URL      ${bridge.url}`,
    `  vault file      ${demo.vault}`,
    `  passphrase      ${demo.passphrase}`,
    `  macaroon file   ${sim.macaroon}`,
    `  accounts.json   ${demo.accounts}`,
    `  simulated lnd   ${sim.addr} (tls.cert ${sim.cert})`,
    "",
  ];
  if (!headless) {
    lines.push(
      "What to click (in Chromium or Firefox on this machine):",
      `  1. Open ${server.url}`,
      "  2. \"Restore a vault file\" -> pick the vault file above -> Restore",
      "     (if this browser already holds the demo vault, you land on Unlock directly)",
      `  3. Unlock with the passphrase: ${demo.passphrase}`,
      `  4. Connection: bridge URL ${bridge.url}; "Add a macaroon" -> macaroon file above,`,
      "     vault passphrase again (it seals the macaroon into the vault) -> Connect",
      "  5. Status turns green (registered); open Activity and watch the requests arrive",
      "",
      "The simulator prints its checks below and a summary at the end. Ctrl-C stops everything.",
      "",
    );
  }
  process.stdout.write(lines.join("\n") + "\n");

  if (headless) {
    await mkdir(SHOTS, { recursive: true });
    const tab = startProcess("bash", [
      join(ROOT, "scripts/headless-tab.sh"),
      "--url", server.url, "--bridge", bridge.url, "--vault", demo.vault,
      "--passphrase-file", demo.passFile, "--macaroonpath", sim.macaroon,
      "--screenshot-prefix", "demo-",
    ], { name: "headless-tab", echo: opt.verbose });
    started.push(tab);
    tab.exited.then((x) => {
      if (started.includes(tab)) log(`headless tab exited early (${x.code ?? x.signal}):\n${tab.output.slice(-2000)}`);
    });
    const summary = await Promise.race([
      simSummary(sim, 300_000),
      tab.exited.then(() => { throw new Error("the headless tab stopped before the simulator finished"); }),
    ]);
    const exit = await sim.proc.exited;
    const handled = tab.output.split("\n").filter((l) => /^#\d+ /.test(l)).length;
    started.splice(started.indexOf(tab), 1);
    await tab.stop();
    const fails = sim.proc.output.split("\n").filter((l) => l.startsWith("FAIL"));
    if (fails.length) process.stdout.write(`${fails.join("\n")}\n`);
    process.stdout.write(`headless tab handled ${handled} requests\n`);
    process.stdout.write(`watchonly-sim: ${summary.line}\n`);
    const ok = summary.failed === 0 && summary.passed > 0 && exit.code === 0;
    if (!ok) log(`failed (watchonly-sim exit code ${exit.code ?? exit.signal})\n${sim.proc.output.slice(-3000)}`);
    await finish(ok ? 0 : 1);
  } else {
    // Interactive: stream the simulator's checks; keep serving after its summary.
    sim.proc.child.stdout.on("data", (c) => process.stdout.write(c));
    const summary = await simSummary(sim, 2 ** 31 - 1);
    if (stopping) await new Promise(() => {});
    process.stdout.write(`\nwatchonly-sim: ${summary.line}. The page and bridge keep running; Ctrl-C to stop.\n`);
    await new Promise(() => {});
  }
} catch (e) {
  log(`error: ${e.message}`);
  await finish(1);
}
