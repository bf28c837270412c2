// The page's module layout: every module in web/lib/ imports under node
// without a DOM and starts no worker (an extension popup can import them),
// no import cycles, the service worker caches every module, every module
// is type-checked (// @ts-check).
//   node --test tests/page/unit/

import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, normalize } from "node:path";
import { test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";

const WEB = join(dirname(fileURLToPath(import.meta.url)), "../../../web");

/** Every .js module of the page, relative to web/ (not pkg/). */
async function modules() {
  const top = (await readdir(WEB)).filter((f) => f.endsWith(".js"));
  const lib = (await readdir(join(WEB, "lib"))).filter((f) => f.endsWith(".js")).map((f) => `lib/${f}`);
  return [...top, ...lib];
}

test("every web/lib module imports without a DOM and starts no worker", async () => {
  assert.equal(typeof globalThis.document, "undefined");
  const started = [];
  const saved = globalThis.Worker;
  globalThis.Worker = class { constructor(url) { started.push(String(url)); } };
  try {
    const files = (await readdir(join(WEB, "lib"))).filter((f) => f.endsWith(".js"));
    assert.ok(files.length >= 10, files.join(" "));
    for (const f of files) await import(pathToFileURL(join(WEB, "lib", f)).href);
  } finally {
    globalThis.Worker = saved;
  }
  assert.deepEqual(started, []);
});

test("sw.js caches every module of the page", async () => {
  const sw = await readFile(join(WEB, "sw.js"), "utf8");
  const shell = [...sw.matchAll(/^\s+"([^"]+)",$/gm)].map((m) => m[1]);
  const lib = (await readdir(join(WEB, "lib"))).filter((f) => f.endsWith(".js")).map((f) => `lib/${f}`);
  const top = (await readdir(WEB)).filter((f) => f.endsWith(".js") && f !== "sw.js");
  assert.ok(top.includes("nonce-store.js"), "the worker's modules are listed");
  for (const f of [...top, ...lib]) {
    assert.ok(shell.includes(f), `${f} is in sw.js's SHELL`);
  }
});

test("every web module starts with // @ts-check", async () => {
  for (const f of await modules()) {
    const text = await readFile(join(WEB, f), "utf8");
    assert.ok(text.startsWith("// @ts-check\n"), `${f} starts with // @ts-check`);
  }
});

test("no import cycles; only app.js creates the worker", async () => {
  const files = await modules();
  /** @type {Map<string, string[]>} */
  const deps = new Map();
  for (const f of files) {
    const text = await readFile(join(WEB, f), "utf8");
    const imports = [...text.matchAll(/^import\b[^;]*?from "(\.[^"]+)";/gms)].map((m) => normalize(join(dirname(f), m[1])));
    deps.set(f, imports.filter((d) => !d.startsWith("pkg/")));
    if (f !== "app.js") assert.doesNotMatch(text, /new Worker\(/, `${f} creates no worker`);
  }
  assert.ok(deps.get("app.js")?.includes("lib/main.js"));
  assert.ok(deps.get("lib/main.js")?.includes("lib/rpc.js"));
  const state = new Map();
  /** @param {string} f @param {string[]} path */
  const visit = (f, path) => {
    if (state.get(f) === "done") return;
    assert.notEqual(state.get(f), "open", `import cycle: ${[...path, f].join(" -> ")}`);
    state.set(f, "open");
    for (const d of deps.get(f) ?? []) visit(d, [...path, f]);
    state.set(f, "done");
  };
  for (const f of files) visit(f, []);
});
