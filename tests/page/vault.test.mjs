// Page tests without a node: first run (create / import / restore), seal,
// unlock, lock, auto-lock, wipe, accounts.json, secrecy of the seed, layout,
// CSP and offline use. Run: node --test tests/page/ (scripts/page-tests.sh).

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import {
  downloadAccounts, importAezeed, importTprv, launch, openPage, restoreVault, unlock, usePageServer, screenshot,
  visibleScreen, waitScreen,
} from "./helpers.mjs";
import { assertNoSecrets, surfaces } from "./secrets.mjs";
import {
  BIN, DEMO_TPRV as TEST_TPRV, productionHeaders, run, tempDir, TEST_VAULT_PASSPHRASE as VAULT_PASS, WEB,
} from "../stack/index.mjs";

const AEZEED_PASS = "aezeed-test-passphrase";

const server = usePageServer();
let dir;

before(async () => {
  dir = await tempDir();
});

async function cliAccounts(args) {
  const r = await run(join(BIN, "lnd-web-signer"), ["accounts", ...args]);
  assert.equal(r.code, 0, `lnd-web-signer accounts failed: ${r.stderr}`);
  return r.stdout;
}

function sameAccounts(pageJson, cliJson) {
  assert.deepEqual(JSON.parse(pageJson), JSON.parse(cliJson));
  assert.equal(pageJson.trim(), cliJson.trim(), "accounts.json text differs from the CLI output");
}

describe("first run", () => {
  let created = null; // { words, fingerprint }

  test("create a seed: words shown once, confirmation enforced, nothing secret left after sealing", async () => {
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      assert.equal(await visibleScreen(page), "welcome");
      await screenshot(page, "01-welcome");

      await page.click("#choose-create");
      await page.selectOption("#create-network", "regtest");
      await page.fill("#create-aezeed-pass", AEZEED_PASS);
      await screenshot(page, "02-create");
      await page.click("#create-btn");
      await waitScreen(page, "words", 60_000);
      const words = await page.$$eval("#seed-words li", (lis) => lis.map((l) => l.textContent));
      assert.equal(words.length, 24);
      for (const w of words) assert.match(w, /^[a-z]{3,8}$/);
      assert.ok(await page.isDisabled("#words-continue"), "continue must wait for the checkbox");
      await screenshot(page, "03-seed-words");
      await page.check("#words-written");
      await page.click("#words-continue");
      await waitScreen(page, "confirm");

      // Shown once: the words left the DOM.
      assert.equal(await page.$$eval("#seed-words li", (l) => l.length), 0);
      const html = await page.content();
      assert.ok(!html.includes(`${words[0]} ${words[1]}`) && !html.includes(`>${words[5]}<`));

      const positions = await page.$$eval("#confirm-fields input", (ins) => ins.map((i) => Number(i.dataset.position)));
      assert.equal(positions.length, 3);
      // Wrong words are refused.
      for (const p of positions) await page.fill(`#confirm-word-${p}`, p === positions[0] ? "zzz" : words[p - 1]);
      await page.click("#confirm-btn");
      await page.waitForSelector("#confirm-error:not([hidden])");
      assert.match(await page.textContent("#confirm-error"), /does not match|do not match/);
      assert.equal(await visibleScreen(page), "confirm");
      await screenshot(page, "04-confirm-wrong");
      // Right words pass.
      for (const p of positions) await page.fill(`#confirm-word-${p}`, words[p - 1]);
      await page.click("#confirm-btn");
      await waitScreen(page, "seal");

      // Passphrase rules: too short, mismatch.
      await page.fill("#seal-pass", "short");
      await page.fill("#seal-pass2", "short");
      await page.click("#seal-btn");
      await page.waitForSelector("#seal-error:not([hidden])");
      assert.match(await page.textContent("#seal-error"), /at least 8/);
      await page.fill("#seal-pass", VAULT_PASS);
      await page.fill("#seal-pass2", `${VAULT_PASS}x`);
      await page.click("#seal-btn");
      assert.match(await page.textContent("#seal-error"), /differ/);
      await page.fill("#seal-pass2", VAULT_PASS);
      assert.match(await page.textContent("#seal-strength-text"), /Strong|Very strong/);
      await screenshot(page, "05-seal");
      await page.click("#seal-btn");
      await waitScreen(page, "dashboard", 120_000);
      assert.equal(await page.getAttribute("#tab-setup", "aria-selected"), "true");
      const fingerprint = await page.textContent("#info-fingerprint");
      assert.match(fingerprint, /^[0-9a-f]{8}$/);
      await screenshot(page, "06-watch-only-setup");

      // Only the sealed vault is stored; the words are nowhere.
      const s = await assertNoSecrets(page, tab.logs, { words, secrets: [AEZEED_PASS, VAULT_PASS] });
      // The vault's database, and the (empty) audit log's, which the Policy tab reads.
      assert.deepEqual(s.idbNames, ["lnd-web-signer", "lnd-web-signer-audit"], `IndexedDB databases: ${s.idbNames}`);
      assert.equal(s.localStorage, "{}");
      assert.equal(s.sessionStorage, "{}");
      assert.match(s.indexedDB, /LNDWSVLT/, "the sealed vault is in IndexedDB");

      // accounts.json equals the CLI's for the same words and aezeed passphrase.
      const { name, bytes } = await downloadAccounts(page);
      assert.equal(name, "accounts.json");
      const seedFile = join(dir, "created.seed");
      const passFile = join(dir, "created.aezeedpass");
      await writeFile(seedFile, `${words.join(" ")}\n`, { mode: 0o600 });
      await writeFile(passFile, `${AEZEED_PASS}\n`, { mode: 0o600 });
      sameAccounts(bytes.toString("utf8"), await cliAccounts(["--network", "regtest", "--seed-file", seedFile, "--seed-passphrase-file", passFile]));
      created = { words, fingerprint };
      assert.deepEqual(tab.errors, [], `page errors: ${tab.errors.join(" | ")}`);
    } finally {
      await tab.close();
    }
  });

  test("import aezeed words with their passphrase (and refuse a wrong aezeed passphrase)", async (t) => {
    if (!created) {
      t.skip("needs the seed of the create test");
      return;
    }
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      await page.click("#choose-import");
      await page.selectOption("#import-network", "regtest");
      await page.fill("#import-words", created.words.slice(0, 23).join(" "));
      assert.equal(await page.textContent("#import-word-count"), "23 / 24");
      await page.click("#import-btn");
      assert.match(await page.textContent("#import-error"), /24 words; 23 given/);
      await page.fill("#import-words", created.words.join("  \n"));
      await page.fill("#import-aezeed-pass", "not the passphrase");
      await screenshot(page, "07-import-aezeed");
      await page.click("#import-btn");
      await waitScreen(page, "seal");
      await page.fill("#seal-pass", VAULT_PASS);
      await page.fill("#seal-pass2", VAULT_PASS);
      await page.click("#seal-btn");
      await page.waitForSelector("#seal-error:not([hidden])", { timeout: 60_000 });
      const err = await page.textContent("#seal-error");
      assert.match(err, /passphrase|decipher|checksum|invalid/i, err);
      assert.equal(await visibleScreen(page), "seal");

      // Back, with the right aezeed passphrase.
      await page.click("#seal-cancel");
      await importAezeed(page, { words: created.words, aezeedPassphrase: AEZEED_PASS, passphrase: VAULT_PASS });
      assert.equal(await page.textContent("#info-fingerprint"), created.fingerprint);
      await assertNoSecrets(page, tab.logs, { words: created.words, secrets: [AEZEED_PASS, VAULT_PASS] });
    } finally {
      await tab.close();
    }
  });

  test("import a tprv; accounts.json equals `lnd-web-signer accounts`", async () => {
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      await page.click("#choose-import");
      await page.check('input[name="import-kind"][value="xprv"]');
      await page.selectOption("#import-network", "regtest");
      await page.fill("#import-xprv", TEST_TPRV);
      await screenshot(page, "08-import-tprv");
      await page.click("#import-btn");
      await waitScreen(page, "seal");
      await page.fill("#seal-pass", VAULT_PASS);
      await page.fill("#seal-pass2", VAULT_PASS);
      await page.click("#seal-btn");
      await waitScreen(page, "dashboard", 120_000);
      const { bytes } = await downloadAccounts(page);
      const seedFile = join(dir, "tprv.seed");
      await writeFile(seedFile, `${TEST_TPRV}\n`, { mode: 0o600 });
      sameAccounts(bytes.toString("utf8"), await cliAccounts(["--network", "regtest", "--seed-file", seedFile]));
      await assertNoSecrets(page, tab.logs, { secrets: [TEST_TPRV, VAULT_PASS] });
    } finally {
      await tab.close();
    }
  });

  test("restore a vault file sealed by the CLI", async () => {
    const seedFile = join(dir, "restore.seed");
    const passFile = join(dir, "restore.pass");
    const vault = join(dir, "restore.vault");
    await writeFile(seedFile, `${TEST_TPRV}\n`, { mode: 0o600 });
    await writeFile(passFile, `${VAULT_PASS}\n`, { mode: 0o600 });
    const r = await run(join(BIN, "lnd-web-signer"), ["vault", "seal", "--network", "regtest", "--seed-file", seedFile, "--passphrase-file", passFile, "--out", vault]);
    assert.equal(r.code, 0, r.stderr);
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      // Not a vault: refused with a reason.
      await page.click("#choose-restore");
      await page.setInputFiles("#restore-file", seedFile);
      await page.click("#restore-btn");
      await page.waitForSelector("#restore-error:not([hidden])");
      assert.match(await page.textContent("#restore-error"), /not a usable vault file/);
      await screenshot(page, "09-restore-refused");
      await page.click("#screen-restore [data-back]");
      await restoreVault(page, vault);
      await unlock(page, VAULT_PASS);
      const { bytes } = await downloadAccounts(page);
      sameAccounts(bytes.toString("utf8"), await cliAccounts(["--vault", vault, "--passphrase-file", passFile]));
    } finally {
      await tab.close();
    }
  });
});

describe("unlocking", () => {
  test("wrong passphrase, lock and unlock, progress while the KDF runs", async () => {
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      const fp = await page.textContent("#info-fingerprint");
      await page.click("#lock-btn");
      await waitScreen(page, "unlock");
      assert.equal(await page.textContent("#vault-badge"), "Locked");
      assert.match(await page.textContent("#unlock-meta"), new RegExp(`regtest · key ${fp}`));
      await screenshot(page, "10-unlock");

      // Reload: the vault is still there, locked.
      await openPage(page, server.url);
      assert.equal(await visibleScreen(page), "unlock");

      await page.fill("#unlock-pass", "wrong passphrase");
      await page.click("#unlock-btn");
      await page.waitForSelector("#unlock-progress:not([hidden])", { timeout: 5000 });
      await screenshot(page, "11-unlock-progress", { fullPage: false });
      await page.waitForSelector("#unlock-error:not([hidden])", { timeout: 60_000 });
      assert.equal(await page.textContent("#unlock-error"), "Wrong passphrase. Try again.");
      assert.equal(await visibleScreen(page), "unlock");
      await screenshot(page, "12-unlock-wrong");

      await unlock(page, VAULT_PASS);
      assert.equal(await page.textContent("#info-fingerprint"), fp);
      // After locking, the worker holds no keys: accounts export fails.
      await page.click("#lock-btn");
      await waitScreen(page, "unlock");
      const res = await page.evaluate(() => new Promise((ok) => {
        const w = new Worker("signer-worker.js", { type: "module" });
        w.onmessage = (e) => { if (e.data.id === 2) ok(e.data); };
        w.postMessage({ id: 1, op: "init" });
        w.postMessage({ id: 2, op: "accounts" });
      }));
      assert.equal(res.ok, false);
      assert.match(res.error, /locked/);
    } finally {
      await tab.close();
    }
  });

  test("auto-lock after the configured idle time", async () => {
    const tab = await launch();
    try {
      const { page } = tab;
      await page.clock.install();
      await openPage(page, server.url);
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      await page.click("#tab-settings");
      await page.selectOption("#autolock", "1");
      // The setting is saved (its toast shows) before the shot, which hides the toast.
      await page.waitForFunction(() => /Auto-lock after 1 min/.test(document.getElementById("toast")?.textContent ?? ""));
      await screenshot(page, "13-settings");
      await page.clock.fastForward("00:40");
      assert.equal(await visibleScreen(page), "dashboard", "not idle long enough yet");
      await page.clock.fastForward("00:25");
      await waitScreen(page, "unlock", 10_000);
      assert.match(await page.textContent("#toast"), /Locked after 1 min without activity/);
      // The setting is remembered.
      await unlock(page, VAULT_PASS);
      assert.equal(await page.inputValue("#autolock"), "1");
      // Input resets the idle timer.
      await page.clock.fastForward("00:45");
      await page.keyboard.press("Shift");
      await page.clock.fastForward("00:45");
      assert.equal(await visibleScreen(page), "dashboard");
    } finally {
      await tab.close();
    }
  });

  test("wipe needs confirmation and removes the vault", async () => {
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      await page.click("#tab-settings");
      await page.click("#wipe-btn");
      await page.waitForSelector("#wipe-dialog[open]");
      assert.ok(await page.isDisabled("#wipe-do"));
      await page.fill("#wipe-confirm", "wip");
      assert.ok(await page.isDisabled("#wipe-do"));
      await page.click("#wipe-cancel");
      assert.equal(await visibleScreen(page), "dashboard");
      await page.click("#wipe-btn");
      await page.fill("#wipe-confirm", "WIPE");
      await screenshot(page, "14-wipe-dialog", { fullPage: false });
      await page.click("#wipe-do");
      await waitScreen(page, "welcome");
      const s = await surfaces(page);
      assert.doesNotMatch(s.indexedDB, /LNDWSVLT/);
      await openPage(page, server.url);
      assert.equal(await visibleScreen(page), "welcome");

      // From the unlock screen too (forgotten passphrase).
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      await page.click("#lock-btn");
      await page.click("#unlock-wipe");
      await page.fill("#wipe-confirm", "wipe");
      await page.keyboard.press("Enter");
      await waitScreen(page, "welcome");
    } finally {
      await tab.close();
    }
  });
});

describe("page qualities", () => {
  test("strict CSP, no inline scripts, no third-party requests", async () => {
    const tab = await launch();
    try {
      const { page } = tab;
      const origins = new Set();
      page.on("request", (r) => origins.add(new URL(r.url()).origin));
      const resp = await page.goto(server.url);
      await page.waitForSelector("html[data-ready='true']");
      const header = resp.headers()["content-security-policy"];
      assert.match(header, /script-src 'self' 'wasm-unsafe-eval';/);
      const meta = await page.getAttribute('meta[http-equiv="Content-Security-Policy"]', "content");
      assert.match(meta, /script-src 'self' 'wasm-unsafe-eval';/);
      assert.doesNotMatch(meta, /'unsafe-inline'|'unsafe-eval'|\s\*[\s;]/);
      const inline = await page.$$eval("script", (ss) => ss.filter((s) => !s.src).length);
      assert.equal(inline, 0);
      const handlers = await page.evaluate(() => [...document.querySelectorAll("*")].filter((e) => [...e.attributes].some((a) => a.name.startsWith("on"))).length);
      assert.equal(handlers, 0);
      assert.deepEqual([...origins], [new URL(server.url).origin]);
      assert.deepEqual(tab.errors, [], `page errors: ${tab.errors.join(" | ")}`);
      assert.deepEqual(tab.logs.filter((l) => l.type === "error"), []);
    } finally {
      await tab.close();
    }
  });

  test("production headers on every file, from web/_headers", async () => {
    const want = productionHeaders();
    const names = want.map(([n]) => n.toLowerCase());
    for (const n of ["content-security-policy", "cross-origin-opener-policy", "cross-origin-resource-policy", "referrer-policy", "x-content-type-options"]) {
      assert.ok(names.includes(n), `web/_headers sets ${n}`);
    }
    const csp = want.find(([n]) => n === "Content-Security-Policy")[1];
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(want.find(([n]) => n === "Cross-Origin-Opener-Policy")[1], "same-origin");
    assert.equal(want.find(([n]) => n === "Cross-Origin-Resource-Policy")[1], "same-origin");
    assert.equal(want.find(([n]) => n === "Referrer-Policy")[1], "no-referrer");
    for (const path of ["", "index.html", "app.js", "signer-worker.js", "sw.js", "app.css", "pkg/lnd_web_signer.js", "pkg/lnd_web_signer_bg.wasm"]) {
      const r = await fetch(new URL(path, server.url));
      assert.equal(r.status, 200, path);
      for (const [n, v] of want) assert.equal(r.headers.get(n), v, `${n} of /${path}`);
      await r.arrayBuffer();
    }
    assert.notEqual((await fetch(new URL("_headers", server.url))).status, 200, "_headers itself is not served");
    // The <meta> copy (kept for offline use) is the same policy without
    // frame-ancestors, which only works as a header.
    const html = await (await fetch(server.url)).text();
    const meta = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)[1];
    assert.equal(meta, csp.replace(/; frame-ancestors 'none'$/, ""));
  });

  test("secret fields do not invite the browser to store them", async () => {
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      const fields = await page.$$eval("input[type=password], textarea", (els) => els.map((e) => ({
        id: e.id,
        autocomplete: e.getAttribute("autocomplete"),
        ignored: ["data-1p-ignore", "data-lpignore", "data-bwignore"].every((a) => e.hasAttribute(a)),
      })));
      assert.deepEqual(fields.map((f) => f.id).sort(), [
        "audit-pass", "bundle-b64", "create-aezeed-pass", "import-aezeed-pass", "import-words", "import-xprv", "mac-hex", "mac-pass",
        "policy-pass", "policy-text", "seal-pass", "seal-pass2", "unlock-pass",
      ]);
      for (const f of fields) {
        assert.equal(f.autocomplete, "off", `${f.id}: autocomplete`);
        assert.ok(f.ignored, `${f.id}: password managers asked to ignore it`);
      }
      assert.equal(await page.$$eval("[autocomplete$='password']", (els) => els.length), 0);
    } finally {
      await tab.close();
    }
  });

  test("Settings shows the SHA-256 of the running .wasm", async () => {
    const want = createHash("sha256").update(await readFile(join(WEB, "pkg/lnd_web_signer_bg.wasm"))).digest("hex");
    const tab = await launch();
    try {
      const { page } = tab;
      await openPage(page, server.url);
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      await page.click("#tab-settings");
      assert.equal(await page.textContent("#info-wasm-sha256"), want);
      await screenshot(page, "15-settings-wasm-hash");
    } finally {
      await tab.close();
    }
  });

  test("works offline once loaded", async () => {
    const tab = await launch();
    try {
      const { page, context } = tab;
      await openPage(page, server.url);
      await importTprv(page, { xprv: TEST_TPRV, passphrase: VAULT_PASS });
      await page.evaluate(() => navigator.serviceWorker.ready);
      await page.reload();
      await page.waitForSelector("html[data-ready='true']");
      await context.setOffline(true);
      await page.reload();
      await page.waitForSelector("html[data-ready='true']", { timeout: 30_000 });
      await unlock(page, VAULT_PASS);
      const { bytes } = await downloadAccounts(page);
      assert.ok(JSON.parse(bytes.toString("utf8")).accounts.length > 0);
    } finally {
      await tab.close();
    }
  });

  test("readable at 360 px and usable by keyboard", async () => {
    const tab = await launch({ viewport: { width: 360, height: 740 } });
    try {
      const { page } = tab;
      const noOverflow = async (what) => {
        const w = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(w <= 360, `${what}: page is ${w}px wide at a 360px viewport`);
      };
      await openPage(page, server.url);
      await noOverflow("welcome");
      await screenshot(page, "m01-welcome");
      // Keyboard only: Tab to "Import a seed", Enter.
      let focused = "";
      for (let i = 0; i < 10 && focused !== "choose-import"; i++) {
        await page.keyboard.press("Tab");
        focused = await page.evaluate(() => document.activeElement?.id ?? "");
      }
      assert.equal(focused, "choose-import");
      await page.keyboard.press("Enter");
      await waitScreen(page, "import");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "import-network");
      await page.keyboard.press("r"); // type-ahead: regtest
      assert.equal(await page.inputValue("#import-network"), "regtest");
      await page.keyboard.press("Tab"); // seed type radios
      await page.keyboard.press("ArrowRight"); // -> xprv
      await page.keyboard.press("Tab");
      assert.equal(await page.evaluate(() => document.activeElement?.id), "import-xprv");
      await page.keyboard.type(TEST_TPRV);
      await noOverflow("import");
      await page.keyboard.press("Enter");
      await waitScreen(page, "seal");
      await page.keyboard.type(VAULT_PASS);
      await page.keyboard.press("Tab");
      await page.keyboard.type(VAULT_PASS);
      await noOverflow("seal");
      await screenshot(page, "m02-seal");
      await page.keyboard.press("Enter");
      await waitScreen(page, "dashboard", 120_000);
      for (const t of ["connection", "activity", "setup", "policy", "settings"]) {
        await page.click(`#tab-${t}`);
        await noOverflow(t);
        await screenshot(page, `m03-${t}`);
      }
      // Tabs work with arrow keys.
      await page.focus("#tab-settings");
      await page.keyboard.press("ArrowLeft");
      assert.equal(await page.getAttribute("#tab-policy", "aria-selected"), "true");
      await page.click("#lock-btn");
      await waitScreen(page, "unlock");
      await noOverflow("unlock");
      await screenshot(page, "m04-unlock");
      await page.keyboard.type(VAULT_PASS);
      await page.keyboard.press("Enter");
      await waitScreen(page, "dashboard", 120_000);
    } finally {
      await tab.close();
    }
  });
});
