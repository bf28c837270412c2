// The signer worker in workerd against watchonly-sim through signer-bridge
// (stack started by scripts/worker-tests.sh; see that script for A-D).
// Tests run in order: the sim serves one signer at a time, and the first
// tests check that refused requests never reach it.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  assertNoSecrets, countMatches, health, signSession, sleep, stackEnv, waitForMatch,
} from "./support.mjs";

const env = stackEnv();
const A = env.WORKER_A_URL; // good vault, MACAROON_HEX binding
const B = env.WORKER_B_URL; // wrong VAULT_PASSPHRASE
const C = env.WORKER_C_URL; // vault with sealed macaroon, no MACAROON_HEX
const D = env.WORKER_D_URL; // no bindings
const TOKEN = env.WORKER_CONTROL_TOKEN;
// Long enough for the mixed workload (a few seconds) on a loaded 2-core machine.
const SESSION_SECONDS = 15;

const opened = () => countMatches(env.WORKER_SIM_ERR, /signer stream \d+ opened/g);

async function cliVersion() {
  const { stdout } = await promisify(execFile)(join(env.WORKER_BIN, "lnd-web-signer"), ["--version"]);
  return stdout.trim().split(/\s+/).pop();
}

test("GET /health: version of the wasm signer, what is configured, no secrets", async () => {
  const a = await health(A);
  assert.equal(a.status, 200);
  assert.equal(a.json.ok, true);
  assert.equal(a.json.version, await cliVersion(), "the worker's wasm signer and the CLI come from one crate version");
  assert.deepEqual(a.json.configured, {
    vault: true, vaultPassphrase: true, bridgeUrl: true, controlToken: true, macaroonBinding: true,
  });
  assert.equal(a.json.sessionActive, false);
  assertNoSecrets(a.text, env, "A's /health");

  const c = await health(C);
  assert.equal(c.json.configured.macaroonBinding, false);

  const d = await health(D);
  assert.equal(d.status, 200);
  assert.deepEqual(d.json.configured, {
    vault: false, vaultPassphrase: false, bridgeUrl: false, controlToken: false, macaroonBinding: false,
  });

  const post = await fetch(`${A}/health`, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
  const missing = await fetch(`${A}/nothing-here`);
  assert.equal(missing.status, 404);
  assert.equal((await missing.json()).ok, false);
});

test("unauthorised /sign-session is refused and never reaches the node", async () => {
  const before = await opened();
  const wrong = TOKEN.slice(0, -1) + (TOKEN.endsWith("0") ? "1" : "0");
  const cases = [
    ["no Authorization header", { seconds: 2 }],
    ["wrong token (last character changed)", { seconds: 2, token: wrong }],
    ["a prefix of the token", { seconds: 2, token: TOKEN.slice(0, 16) }],
    ["the token plus a character", { seconds: 2, token: `${TOKEN}x` }],
    ["Basic scheme", { seconds: 2, authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` }],
    ["empty bearer", { seconds: 2, authorization: "Bearer " }],
  ];
  for (const [what, opts] of cases) {
    const r = await signSession(A, opts);
    assert.equal(r.status, 401, `${what}: ${r.text}`);
    assert.match(r.headers.get("www-authenticate") ?? "", /^Bearer/, what);
    assert.equal(r.json.ok, false, what);
    assertNoSecrets(r.text, env, `401 answer (${what})`);
  }
  const get = await signSession(A, { seconds: 2, token: TOKEN, method: "GET" });
  assert.equal(get.status, 405);

  // No CONTROL_TOKEN configured: sessions are disabled whatever is sent.
  const d = await signSession(D, { seconds: 2, token: TOKEN });
  assert.equal(d.status, 503);
  assert.match(d.json.error, /CONTROL_TOKEN is not configured/);

  // Bad session lengths are refused before the vault is touched.
  for (const s of ["0", "901", "-1", "1.5", "abc", "99999999"]) {
    const r = await signSession(A, { seconds: s, token: TOKEN });
    assert.equal(r.status, 400, `seconds=${s}: ${r.text}`);
    assert.match(r.json.error, /seconds must be a whole number from 1 to 900/);
  }
  await sleep(300);
  assert.equal(await opened(), before, "a refused request opened a signer stream at the node");
  assert.equal((await health(A)).json.sessionActive, false);
});

test("a session signs the sim's workload: N passed, 0 failed, and the summary counts it", async () => {
  const streamsBefore = await opened();
  const session = signSession(A, { seconds: SESSION_SECONDS, token: TOKEN });

  // While it runs: the isolate refuses a second session and says one is active.
  await sleep(1_500);
  const second = await signSession(A, { seconds: 2, token: TOKEN });
  assert.equal(second.status, 409, second.text);
  assert.match(second.json.error, /already running/);
  assert.equal((await health(A)).json.sessionActive, true);

  const sim = await waitForMatch(env.WORKER_SIM_OUT, /^(\d+) passed, (\d+) failed$/m, 90_000, "the sim's summary");
  const passed = Number(sim[1]);
  const failed = Number(sim[2]);
  assert.ok(passed > 0, `the sim verified nothing: ${sim[0]}`);
  assert.equal(failed, 0, `the sim found wrong answers: ${sim[0]}`);

  const r = await session;
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get("content-type") ?? "", /^application\/json/);
  assertNoSecrets(r.text, env, "the session summary");
  const s = r.json;
  assert.equal(s.ok, true, r.text);
  assert.equal(s.network, "regtest");
  assert.equal(s.fingerprint, env.WORKER_FINGERPRINT, "vault opened in the worker = the key the CLI sealed");
  assert.equal(s.macaroon, "binding");
  assert.equal(s.seconds, SESSION_SECONDS);
  assert.ok(s.elapsedMs >= SESSION_SECONDS * 1000 - 50, `ended early: ${s.elapsedMs} ms`);
  assert.ok(s.registrations >= 1);
  assert.equal(s.connectionErrors, 0, `connection errors: ${s.lastError}`);
  assert.ok(s.handled >= passed, `worker answered ${s.handled} requests, the sim verified ${passed} checks`);
  assert.equal(s.statuses.request, s.handled);
  assert.equal(Object.values(s.requestsByKind).reduce((x, y) => x + y, 0), s.handled);
  for (const kind of ["sign_psbt", "shared_key", "sign_message", "musig2_sign"]) {
    assert.ok(s.requestsByKind[kind] > 0, `no ${kind} requests in ${JSON.stringify(s.requestsByKind)}`);
  }
  assert.equal(s.errors, s.requestErrors + s.connectionErrors);
  // mixed deliberately signs with a cleaned-up MuSig2 session (must fail):
  // any signer_error answer is one the sim expected, since it found 0 failures.
  assert.ok(s.requestErrors <= 2, `unexpected signer errors: ${s.lastError}`);
  assert.equal(s.disconnectReason, "disconnected by the user");
  assert.equal(s.statuses.disconnected, 1);
  assert.ok(Array.isArray(s.recent) && s.recent.length > 0 && s.recent.length <= 20);

  // The keys are wiped and lnd's stream released: the sim sees the signer leave.
  await waitForMatch(env.WORKER_SIM_ERR, new RegExp(`signer stream ${streamsBefore + 1} ended`), 15_000, "the sim to see the signer go");
  assert.equal((await health(A)).json.sessionActive, false);
});

test("stream=1 with the vault's sealed macaroon: NDJSON events arrive while the session runs", async () => {
  const before = await opened();
  const res = await fetch(`${C}/sign-session?seconds=4&stream=1`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}` },
    signal: AbortSignal.timeout(60_000),
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/x-ndjson/);
  const lines = [];
  const decoder = new TextDecoder();
  let buf = "";
  for await (const chunk of res.body) {
    buf += decoder.decode(chunk, { stream: true });
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.trim()) lines.push({ at: Date.now(), text: line, obj: JSON.parse(line) });
    }
  }
  assert.equal(buf.trim(), "", "output ends with a newline");
  const all = lines.map((l) => l.text).join("\n");
  assertNoSecrets(all, env, "the NDJSON stream");

  assert.equal(lines[0].obj.event, "started");
  assert.equal(lines[0].obj.macaroon, "vault");
  assert.equal(lines[0].obj.fingerprint, env.WORKER_FINGERPRINT);
  const last = lines[lines.length - 1];
  assert.equal(last.obj.event, "summary");
  const summary = last.obj.summary;
  assert.equal(summary.ok, true, all);
  assert.equal(summary.macaroon, "vault");
  assert.equal(summary.connectionErrors, 0, summary.lastError);

  const statuses = lines.filter((l) => l.obj.event === "status").map((l) => l.obj.status);
  const kinds = statuses.map((s) => s.kind);
  assert.equal(kinds[0], "connecting");
  assert.ok(kinds.includes("registered"), kinds.join(","));
  assert.equal(kinds[kinds.length - 1], "disconnected");
  assert.equal(kinds.filter((k) => k === "ping").length, summary.pings);
  assert.ok(summary.pings >= 1, "the sim pings every second; the signer answered none");
  assert.equal(statuses.length, Object.values(summary.statuses).reduce((x, y) => x + y, 0));

  // Streamed, not buffered: the registration arrived well before the end.
  const registered = lines.find((l) => l.obj.event === "status" && l.obj.status.kind === "registered");
  assert.ok(last.at - registered.at >= 1_500, `registered ${last.at - registered.at} ms before the summary`);
  assert.equal(await opened(), before + 1);
});

test("wrong vault passphrase: a clear error, no secret echoed, nothing reaches the node", async () => {
  const before = await opened();
  for (let i = 0; i < 2; i++) {
    const r = await signSession(B, { seconds: 2, token: TOKEN });
    assert.equal(r.status, 500, r.text);
    assert.equal(r.json.ok, false);
    assert.equal(r.json.error, "cannot open the vault: wrong passphrase");
    assertNoSecrets(r.text, env, "the wrong-passphrase answer");
  }
  assert.equal((await health(B)).json.sessionActive, false, "a failed open must not leave a session marked active");
  await sleep(300);
  assert.equal(await opened(), before);
});

test("workerd logs hold no secrets", async () => {
  const files = (await readdir(env.WORKER_TMP)).filter((f) => /^workerd-[A-D]\.log$/.test(f));
  assert.equal(files.length, 4);
  const texts = {};
  for (const f of files) {
    texts[f] = await readFile(join(env.WORKER_TMP, f), "utf8");
    assertNoSecrets(texts[f], env, f);
  }
  // The logs were captured (so the check above saw the worker's output).
  assert.match(texts["workerd-A.log"], /\[worker\] sign-session ended: handled \d+/);
  assert.match(texts["workerd-C.log"], /\[worker\] sign-session started: 4 s/);
});
