// Page tests of the signing policy (docs/security.md): a policy sealed in
// the vault from the Policy tab (wrong passphrase and bad keys refused),
// the approval card for an `lncli sendcoins` over the limit (watchonly-sim
// `sendcoins`: 250 000 sat out, two inputs, one SignPsbt each) approved,
// declined and left to expire while lnd's pings go on, a pre-authorised
// budget, and the audit log in IndexedDB: listed, exported and checked by
// `lnd-web-signer audit verify`, kept across a reload.

import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import {
  connect, downloadBytes, readyTab as sharedReadyTab, screenshot, unlock, waitStatus, usePageServer,
} from "./helpers.mjs";
import { BIN, demoVault, run, simSummary, startBridge, startSim, tempDir } from "../stack/index.mjs";

const server = usePageServer();
let demo;

before(async () => {
  demo = await demoVault(await tempDir());
});

const LIMITS = JSON.stringify({ onchain: { max_external_per_tx: 100000, over_limit: "ask" } });

/** The FAIL lines of a finished sim. */
const fails = (sim) => sim.proc.output.split("\n").filter((l) => l.startsWith("FAIL"));

describe("signing policy in the tab", () => {
  test("sealed limits, the approval card (approved, declined, expired), a budget and the audit log", { timeout: 600_000 }, async () => {
    const dir = await tempDir();
    const procs = [];
    let tab = null;
    try {
      tab = await sharedReadyTab(server.url, demo);
      const { page } = tab;

      // The default policy, as the Policy tab shows it.
      await page.click("#tab-policy");
      await page.waitForFunction(() => /default policy/.test(document.getElementById("policy-summary").textContent));
      assert.match(await page.textContent("#policy-summary"), /only to this wallet/);
      assert.match(await page.textContent("#policy-summary"), /multisig family only/);

      // A bad key is named; a wrong passphrase changes nothing.
      await page.evaluate(() => { document.getElementById("policy-edit").open = true; });
      await page.fill("#policy-text", JSON.stringify({ onchain: { max_fee: -1 } }));
      await page.fill("#policy-pass", demo.passphrase);
      await page.click("#policy-seal");
      await page.waitForSelector("#policy-error:not([hidden])");
      assert.match(await page.textContent("#policy-error"), /onchain\.max_fee/);
      await page.fill("#policy-text", LIMITS);
      await page.fill("#policy-pass", "not the passphrase");
      await page.click("#policy-seal");
      await page.waitForFunction(() => /Wrong vault passphrase/.test(document.getElementById("policy-error").textContent), null, { timeout: 30_000 });
      await page.fill("#policy-pass", demo.passphrase);
      await page.click("#policy-seal");
      await page.waitForFunction(() => /sealed in the vault/.test(document.getElementById("policy-summary").textContent), null, { timeout: 30_000 });
      assert.match(await page.textContent("#policy-summary"), /100,000 sat \(asks\)/);
      await screenshot(page, "60-policy-sealed");

      // 1. Approved: the card shows the outputs, fee, rule and time left.
      let sim = await startSim(dir, { accounts: demo.accounts, scenario: "sendcoins", extra: ["--exit-when-done", "--ping-interval", "1s"] });
      procs.push(sim.proc);
      const simListen = sim.addr;
      const bridge = await startBridge({ lnd: sim.addr, cert: sim.cert, origin: server.origin });
      procs.push(bridge.proc);
      await connect(page, { bridgeUrl: bridge.url, macaroonPath: sim.macaroon, passphrase: demo.passphrase });
      await page.waitForSelector("#approval-dialog[open]", { timeout: 60_000 });
      const card = await page.textContent("#approval-dialog");
      assert.match(card, /policy-onchain-external-per-tx/);
      assert.match(card, /250,000 sat/);
      assert.match(card, /this wallet/, "the change is recognised as ours");
      assert.match(card, /2,000 sat/, "the fee");
      assert.match(await page.textContent("#approval-left"), /\d\.\d s left/);
      await screenshot(page, "61-approval-card");
      await page.click("#approval-approve");
      let summary = await simSummary(sim);
      assert.equal(summary.failed, 0, `approved: ${summary.line}\n${fails(sim).join("\n")}`);
      assert.equal(summary.passed, 2, "both inputs signed after one approval (counted once)");
      assert.equal((await sim.proc.exited).code, 0);
      assert.equal(await page.isVisible("#approval-dialog"), false);
      await screenshot(page, "62-approval-approved");

      // 2. Declined: each input's request asks (the transaction was not allowed).
      sim = await startSim(dir, { accounts: demo.accounts, scenario: "sendcoins", listen: simListen, extra: ["--exit-when-done", "--ping-interval", "1s"] });
      procs.push(sim.proc);
      await page.waitForSelector("#approval-dialog[open]", { timeout: 90_000 });
      const first = await page.getAttribute("#approval-dialog", "data-request");
      await page.click("#approval-deny");
      await page.waitForSelector(`#approval-dialog[open]:not([data-request="${first}"])`, { timeout: 30_000 });
      await page.click("#approval-deny");
      summary = await simSummary(sim);
      assert.equal(summary.failed, 2, summary.line);
      for (const l of fails(sim)) assert.match(l, /policy-onchain-external-per-tx: .*250000 sat.*declined/);
      await screenshot(page, "63-approval-declined");

      // 3. Nobody answers: refused at the approval deadline, inside lnd's;
      // the 1 s pings went on meanwhile (the sim exits 3 on a missed one).
      sim = await startSim(dir, { accounts: demo.accounts, scenario: "sendcoins", listen: simListen, extra: ["--exit-when-done", "--ping-interval", "1s"] });
      procs.push(sim.proc);
      await page.waitForSelector("#approval-dialog[open]", { timeout: 90_000 });
      summary = await simSummary(sim);
      assert.equal(summary.failed, 2, summary.line);
      for (const l of fails(sim)) assert.match(l, /nobody answered/);
      await page.waitForSelector("#approval-dialog", { state: "hidden", timeout: 10_000 });
      assert.notEqual((await sim.proc.exited).code, 3, "no request or ping missed its deadline");

      // 4. A budget covers the send: no card.
      await page.click("#tab-policy");
      await page.fill("#budget-sats", "300000");
      await page.selectOption("#budget-minutes", "5");
      await page.click("#budget-grant");
      await page.waitForFunction(() => /300,000 sat left/.test(document.getElementById("budget-state").textContent));
      sim = await startSim(dir, { accounts: demo.accounts, scenario: "sendcoins", listen: simListen, extra: ["--exit-when-done", "--ping-interval", "1s"] });
      procs.push(sim.proc);
      summary = await simSummary(sim);
      assert.equal(summary.failed, 0, `budget: ${summary.line}\n${fails(sim).join("\n")}`);
      assert.equal(await page.isVisible("#approval-dialog"), false, "no card within the budget");
      // 250 000 of the 300 000 sat were used.
      await page.waitForFunction(() => /50,000 sat left/.test(document.getElementById("budget-state").textContent), null, { timeout: 30_000 });

      // 5. The audit log: every decision, chain intact, verified by the CLI.
      await page.click("#audit-refresh");
      await page.waitForFunction(() => /entries, chain intact/.test(document.getElementById("audit-state").textContent));
      const state = await page.textContent("#audit-state");
      const n = Number(/(\d+) entries/.exec(state)[1]);
      assert.ok(n >= 8, `8 SignPsbt decisions at least, got ${state}`);
      const rows = await page.locator("#audit-list .audit-row").allTextContents();
      assert.ok(rows.some((r) => /approved · signed/.test(r)), "an approved entry");
      assert.ok(rows.some((r) => /declined · refused/.test(r)), "a declined entry");
      assert.ok(rows.some((r) => /unanswered · refused/.test(r)), "an unanswered entry");
      assert.ok(rows.some((r) => /policy-onchain-external-per-tx/.test(r)));
      await page.locator("#audit-card").scrollIntoViewIfNeeded();
      await screenshot(page, "64-audit-log");
      const { name, bytes } = await downloadBytes(page, () => page.click("#audit-export"));
      assert.match(name, /^audit-[0-9a-f]{8}\.jsonl$/);
      const file = join(dir, name);
      await writeFile(file, bytes);
      const verify = await run(join(BIN, "lnd-web-signer"), ["audit", "verify", file, "--vault", demo.vault, "--passphrase-file", demo.passFile]);
      assert.equal(verify.code, 0, verify.stderr);
      assert.match(verify.stdout, new RegExp(`^${n} entries, chain intact`, "m"));
      // An edited export is caught.
      const edited = bytes.toString("utf8").replace("\"declined\"", "\"approved\"");
      await writeFile(file, edited);
      const bad = await run(join(BIN, "lnd-web-signer"), ["audit", "verify", file, "--vault", demo.vault, "--passphrase-file", demo.passFile]);
      assert.equal(bad.code, 1);
      assert.match(bad.stdout + bad.stderr, /line \d+/);

      // 6. After a reload the policy is still sealed and the log continues.
      await page.reload();
      await unlock(page, demo.passphrase);
      await page.click("#tab-policy");
      await page.waitForFunction(() => /sealed in the vault/.test(document.getElementById("policy-summary").textContent), null, { timeout: 30_000 });
      await page.waitForFunction((k) => new RegExp(`${k} entries, chain intact`).test(document.getElementById("audit-state").textContent), n, { timeout: 30_000 });
    } finally {
      await tab?.close();
      for (const p of procs) await p.stop();
    }
  });
});
