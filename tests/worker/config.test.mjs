// Static checks of the worker's deployment files: worker/wrangler.toml
// (parsed with Python's tomllib; wrangler itself is not installed),
// worker/config.capnp and worker/src/index.js must agree on bindings,
// class names, compatibility date and module paths, and no secret may be
// configured as a plain variable.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const WORKER = join(ROOT, "worker");
const SECRETS = ["VAULT", "VAULT_PASSPHRASE", "CONTROL_TOKEN", "MACAROON_HEX"];

const wrangler = JSON.parse(execFileSync("python3", [
  "-c", "import json, sys, tomllib; print(json.dumps(tomllib.load(open(sys.argv[1], 'rb'))))",
  join(WORKER, "wrangler.toml"),
], { encoding: "utf8" }));
const capnp = readFileSync(join(WORKER, "config.capnp"), "utf8");
const index = readFileSync(join(WORKER, "src/index.js"), "utf8");

/** Names the worker reads from `env` (env.NAME / this.env.NAME / env[name] lists). */
function envNamesUsed() {
  const names = new Set();
  for (const m of index.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)) names.add(m[1]);
  for (const m of index.matchAll(/for \(const name of \[([^\]]*)\]\)/g)) {
    for (const n of m[1].matchAll(/"([A-Z][A-Z0-9_]*)"/g)) names.add(n[1]);
  }
  return names;
}

function capnpBindings() {
  return new Set([...capnp.matchAll(/\(name = "([A-Z][A-Z0-9_]*)", (?:fromEnvironment|durableObjectNamespace) = /g)].map((m) => m[1]));
}

test("wrangler.toml: entry point, compatibility date and build output match the local workerd config", () => {
  assert.equal(wrangler.main, "src/index.js");
  assert.ok(existsSync(join(WORKER, wrangler.main)));
  const date = /compatibilityDate = "([0-9-]+)"/.exec(capnp);
  assert.ok(date, "config.capnp has a compatibilityDate");
  assert.equal(wrangler.compatibility_date, date[1]);
  assert.match(wrangler.build.command, /WASM_OUT=worker\/pkg bash scripts\/build-wasm\.sh/);
  assert.ok(existsSync(join(ROOT, "scripts/build-wasm.sh")));
  // The modules workerd embeds are what the build writes and index.js imports.
  for (const mod of ["pkg/lnd_web_signer.js", "pkg/lnd_web_signer_bg.wasm"]) {
    assert.ok(capnp.includes(`(name = "${mod}", `) && capnp.includes(`embed "${mod}"`), `config.capnp embeds ${mod}`);
    assert.ok(index.includes(`from "../${mod}"`), `index.js imports ../${mod}`);
  }
  assert.ok(capnp.includes('embed "src/util.js"'));
  assert.ok(index.includes('from "./util.js"'));
});

test("wrangler.toml: the always-on Durable Object is bound, exported and migrated", () => {
  const bindings = wrangler.durable_objects.bindings;
  assert.deepEqual(bindings, [{ name: "SIGNER", class_name: "SignerHost" }]);
  assert.match(index, /export class SignerHost extends DurableObject/);
  assert.ok(wrangler.migrations.some((m) => (m.new_sqlite_classes ?? []).includes("SignerHost")));
  assert.match(capnp, /className = "SignerHost"/);
  assert.match(capnp, /\(name = "SIGNER", durableObjectNamespace = "SignerHost"\)/);
});

test("bindings: the worker, config.capnp and wrangler.toml name the same ones; secrets are never plain vars", () => {
  const used = envNamesUsed();
  const local = capnpBindings();
  assert.deepEqual([...used].sort(), [...local].sort(), "env names read by index.js vs bindings of config.capnp");
  const vars = Object.keys(wrangler.vars ?? {});
  for (const s of SECRETS) {
    assert.ok(!vars.includes(s), `${s} must be a secret (wrangler secret put), not a [vars] entry`);
    assert.ok(used.has(s), `${s} is read by the worker`);
  }
  // Everything else the worker reads is a var, the DO binding or an optional var.
  const deployable = new Set([...vars, ...SECRETS, "SIGNER", "MAX_SESSION_SECONDS", "IDLE_TIMEOUT_SECONDS", "POLICY"]);
  for (const name of used) assert.ok(deployable.has(name), `${name} is neither a var, a secret nor a binding in wrangler.toml`);
  // POLICY is optional and shown (commented) in wrangler.toml; the local config reads it too.
  assert.ok(used.has("POLICY") && local.has("POLICY"));
  assert.match(readFileSync(join(WORKER, "wrangler.toml"), "utf8"), /^# POLICY = '\{.*\}'$/m);
  // Local config: every value comes from the environment, nothing is inlined.
  assert.doesNotMatch(capnp, /\btext = "/, "config.capnp must not inline binding values");
});
