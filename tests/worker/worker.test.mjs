// The signer worker in workerd against watchonly-sim through signer-bridge
// (stack started by tests/worker/run.mjs; see there for A-D).
// Tests run in order: the sim serves one signer at a time, and the first
// tests check that refused requests never reach it.

import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import {
  assertNoSecrets, controlStatus, countMatches, health, signSession, sleep, stackEnv, waitForMatch,
} from "./support.mjs";
import { freePort, run, startBridge, startSim, startWorkerd, waitUntil } from "../stack/index.mjs";

const env = stackEnv();
const A = env.WORKER_A_URL; // good vault, MACAROON_HEX binding
const B = env.WORKER_B_URL; // wrong VAULT_PASSPHRASE
const C = env.WORKER_C_URL; // vault with sealed macaroon, no MACAROON_HEX, secrets with trailing newlines
const D = env.WORKER_D_URL; // no bindings
const TOKEN = env.WORKER_CONTROL_TOKEN;
// Long enough for the mixed workload (a few seconds) on a loaded 2-core machine.
const SESSION_SECONDS = 15;

const opened = () => countMatches(env.WORKER_SIM_ERR, /signer stream \d+ opened/g);

async function cliVersion() {
  const { stdout } = await promisify(execFile)(join(env.WORKER_BIN, "lnd-web-signer"), ["--version"]);
  return stdout.trim().split(/\s+/).pop();
}

test("GET /health is liveness only; GET /status (token) has the version and what is configured, no secrets", async () => {
  // Worker hardening (docs/worker.md): /health used to list which bindings are set.
  for (const w of [A, C, D]) {
    const h = await health(w);
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { ok: true }, `${w}/health says more than liveness: ${h.text}`);
  }
  const head = await fetch(`${A}/health`, { method: "HEAD" });
  assert.equal(head.status, 200);

  const anonymous = await controlStatus(A);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.json.configured, undefined);

  const a = await controlStatus(A, { token: TOKEN });
  assert.equal(a.status, 200);
  assert.equal(a.json.ok, true);
  assert.equal(a.json.version, await cliVersion(), "the worker's wasm signer and the CLI come from one crate version");
  assert.deepEqual(a.json.configured, {
    vault: true, vaultPassphrase: true, bridgeUrl: true, controlToken: true, macaroonBinding: true, alwaysOn: true,
    policy: false,
  });
  assert.equal(a.json.sessionActive, false);
  assertNoSecrets(a.text, env, "A's /status");

  const c = await controlStatus(C, { token: TOKEN });
  assert.equal(c.json.configured.macaroonBinding, false);

  // D has no CONTROL_TOKEN: /status is refused like every control route.
  assert.equal((await controlStatus(D, { token: TOKEN })).status, 503);

  const post = await fetch(`${A}/health`, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
  const postStatus = await fetch(`${A}/status`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(postStatus.status, 405);
  await postStatus.body?.cancel();
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
  assert.equal((await controlStatus(A, { token: TOKEN })).json.sessionActive, false);
});

test("a session signs the sim's workload: N passed, 0 failed, and the summary counts it", async () => {
  const streamsBefore = await opened();
  const session = signSession(A, { seconds: SESSION_SECONDS, token: TOKEN });

  // While it runs: the isolate refuses a second session and says one is active.
  await sleep(1_500);
  const second = await signSession(A, { seconds: 2, token: TOKEN });
  assert.equal(second.status, 409, second.text);
  assert.match(second.json.error, /already running/);
  assert.equal((await controlStatus(A, { token: TOKEN })).json.sessionActive, true);

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
  assert.equal((await controlStatus(A, { token: TOKEN })).json.sessionActive, false);
});

test("stream=1 with the vault's sealed macaroon (secrets stored with trailing newlines): NDJSON events arrive while the session runs", async () => {
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
  assert.equal((await controlStatus(B, { token: TOKEN })).json.sessionActive, false, "a failed open must not leave a session marked active");
  await sleep(300);
  assert.equal(await opened(), before);
});

async function getJson(url, opts = {}) {
  const res = await fetch(url, { ...opts, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  assertNoSecrets(text, env, `${opts.method ?? "GET"} ${new URL(url).pathname}`);
  return { status: res.status, json: JSON.parse(text), headers: res.headers };
}

test("failed control-token attempts are throttled per source: 429 with Retry-After, even for the right token", async () => {
  // Worker hardening (docs/worker.md): guesses used to be unlimited. CF-Connecting-IP is
  // the caller's address on Cloudflare (its edge sets it); here it picks a
  // bucket of its own so that the other tests keep theirs.
  const before = await opened();
  const attacker = { "cf-connecting-ip": "198.51.100.7" };
  const wrong = `${TOKEN.slice(0, -1)}${TOKEN.endsWith("0") ? "1" : "0"}`;
  const codes = [];
  for (let i = 0; i < 12; i++) {
    codes.push((await controlStatus(A, { token: wrong, headers: attacker })).status);
  }
  assert.deepEqual(codes.slice(0, 10), Array(10).fill(401), codes.join(","));
  assert.deepEqual(codes.slice(10), [429, 429], codes.join(","));
  const limited = await controlStatus(A, { token: wrong, headers: attacker });
  assert.equal(limited.status, 429);
  assert.match(limited.json.error, /too many failed control-token attempts; retry in \d+ s/);
  const retry = Number(limited.headers.get("retry-after"));
  assert.ok(retry >= 1 && retry <= 6, `Retry-After ${limited.headers.get("retry-after")}`);
  assertNoSecrets(limited.text, env, "the 429 answer");
  // The right token does not get through while the source is throttled...
  const right = await controlStatus(A, { token: TOKEN, headers: attacker });
  assert.equal(right.status, 429, right.text);
  // ...but another source is not affected.
  assert.equal((await controlStatus(A, { token: TOKEN, headers: { "cf-connecting-ip": "198.51.100.8" } })).status, 200);
  await sleep(300);
  assert.equal(await opened(), before, "a throttled request reached the node");
});

/** A workerd started by a test (tests/stack); run.mjs kills it too if the test file dies. */
function spawnWorkerd(name, bindings, port) {
  return startWorkerd({
    name, bindings, port, timeout: 30_000,
    storage: join(env.WORKER_TMP, `do-${name}`),
    log: join(env.WORKER_TMP, `workerd-${name}.log`),
    pidFile: join(env.WORKER_TMP, "extra.pids"),
  });
}

test("BRIDGE_URL over plain http: is refused unless it is loopback; nothing is dialed", async (t) => {
  // Worker hardening (docs/worker.md): http://bridge.invalid used to be dialed, sending
  // lnd's macaroon and every signature in clear text.
  const before = await opened();
  const f = await spawnWorkerd("F", {
    VAULT: env.WORKER_VAULT_B64,
    VAULT_PASSPHRASE: env.WORKER_PASSPHRASE,
    CONTROL_TOKEN: TOKEN,
    BRIDGE_URL: "http://bridge.invalid:8090",
    MACAROON_HEX: env.WORKER_MACAROON_HEX,
  });
  t.after(() => f.proc.kill("SIGTERM"));
  const r = await signSession(f.url, { seconds: 2, token: TOKEN });
  assert.equal(r.status, 503, r.text);
  assert.match(r.json.error, /^BRIDGE_URL must be an https: URL: plain http: is refused except for loopback/);
  assertNoSecrets(r.text, env, "the plain-http refusal");
  const auth = { authorization: `Bearer ${TOKEN}` };
  const started = await getJson(`${f.url}/signer/start`, { method: "POST", headers: auth });
  assert.equal(started.status, 503, JSON.stringify(started.json));
  assert.match(started.json.error, /plain http: is refused/);
  await getJson(`${f.url}/signer/stop`, { method: "POST", headers: auth });
  await sleep(300);
  assert.equal(await opened(), before, "a refused BRIDGE_URL reached the node");
});

test("always-on mode: a Durable Object keeps the signer connected with alarms, restarts it after a crash, stops cleanly", async (t) => {
  const KEEPALIVE = 2;
  const port = await freePort();
  const E = `http://127.0.0.1:${port}`;
  let proc = null;
  const startE = async () => {
    ({ proc } = await spawnWorkerd("E", {
      VAULT: env.WORKER_VAULT_B64,
      VAULT_PASSPHRASE: env.WORKER_PASSPHRASE,
      CONTROL_TOKEN: TOKEN,
      BRIDGE_URL: env.WORKER_BRIDGE_URL,
      MACAROON_HEX: env.WORKER_MACAROON_HEX,
      KEEPALIVE_SECONDS: String(KEEPALIVE),
    }, port));
  };
  const killE = async (signal) => {
    if (proc) await proc.kill(signal);
  };
  t.after(() => killE("SIGTERM"));
  const auth = { authorization: `Bearer ${TOKEN}` };
  const status = () => getJson(`${E}/signer/status`, { headers: auth });

  await startE();
  // Refusals first: none of them may start anything.
  assert.equal((await getJson(`${E}/signer/start`, { method: "POST" })).status, 401);
  assert.equal((await getJson(`${E}/signer/status`)).status, 401);
  assert.equal((await getJson(`${E}/signer/start`, { headers: auth })).status, 405);
  assert.equal((await getJson(`${D}/signer/start`, { method: "POST", headers: auth })).status, 503);
  let s = (await status()).json;
  assert.equal(s.wanted, false);
  assert.equal(s.running, false);
  assert.equal(s.starts, 0);
  assert.equal(s.nextAlarm, null);

  const before = await opened();
  const started = await getJson(`${E}/signer/start`, { method: "POST", headers: auth });
  assert.equal(started.status, 200, JSON.stringify(started.json));
  assert.equal(started.json.wanted, true);
  assert.equal(started.json.running, true);
  assert.equal(started.json.starts, 1);
  assert.equal(started.json.fingerprint, env.WORKER_FINGERPRINT);
  assert.ok(started.json.nextAlarm, "start arms the keep-alive alarm");

  // Alarms fire and keep the same signer (no re-open) while it stays registered.
  s = await waitUntil(async () => {
    const x = (await status()).json;
    return { done: x.registered && x.alarms >= 3, value: x };
  }, 30_000, "three alarms with the signer registered");
  assert.equal(s.starts, 1, "an alarm re-opened a signer that was still running");
  assert.equal(s.running, true);
  assert.equal(s.registrations, 1);
  assert.equal(s.connectionErrors, 0, s.lastError);
  assert.equal(await opened(), before + 1);

  // A crash (or an eviction): the process dies with the keys in memory.
  await killE("SIGKILL");
  await waitForMatch(env.WORKER_SIM_ERR, new RegExp(`signer stream ${before + 1} ended`), 15_000, "the sim to see the signer go");
  // Restarted, and with no request at all the persisted alarm brings the signer back.
  await startE();
  await waitForMatch(env.WORKER_SIM_ERR, new RegExp(`signer stream ${before + 2} opened`), 30_000, "the alarm to reconnect the signer");
  s = await waitUntil(async () => {
    const x = (await status()).json;
    return { done: x.registered, value: x };
  }, 30_000, "the restarted signer to register");
  assert.equal(s.starts, 2, "the vault was opened once more after the restart");
  assert.equal(s.wanted, true);

  const stopped = await getJson(`${E}/signer/stop`, { method: "POST", headers: auth });
  assert.equal(stopped.status, 200);
  assert.equal(stopped.json.wanted, false);
  assert.equal(stopped.json.running, false);
  assert.equal(stopped.json.nextAlarm, null);
  assert.equal(stopped.json.lastStopped.reason, "stopped");
  await waitForMatch(env.WORKER_SIM_ERR, new RegExp(`signer stream ${before + 2} ended`), 15_000, "the sim to see the signer stop");
  // No alarm brings it back.
  await sleep((KEEPALIVE * 2 + 1) * 1000);
  assert.equal(await opened(), before + 2, "a stopped always-on signer reconnected");
  assert.equal((await status()).json.running, false);
});

// The vault of workers A, B and E (tests/worker/run.mjs seals it as "plain").
const VAULT_FILE = join(env.WORKER_TMP, "plain.vault");
const PASS_FILE = join(env.WORKER_TMP, "plain.passphrase");
const AUTH = { authorization: `Bearer ${TOKEN}` };

/** GET /audit of `base`: {status, headers, text, lines (parsed)}. */
async function getAudit(base) {
  const res = await fetch(`${base}/audit`, { headers: AUTH, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  assertNoSecrets(text, env, `${base}/audit`);
  const lines = res.status === 200 && text !== "" ? text.slice(0, -1).split("\n").map((l) => JSON.parse(l)) : [];
  return { status: res.status, headers: res.headers, text, lines };
}

/** `lnd-web-signer audit verify` of `text` with the test vault: {code, stdout, stderr}. */
async function cliVerify(text, name) {
  const file = join(env.WORKER_TMP, `${name}.ndjson`);
  await writeFile(file, text);
  return run(join(env.WORKER_BIN, "lnd-web-signer"), [
    "audit", "verify", file, "--vault", VAULT_FILE, "--passphrase-file", PASS_FILE,
  ]);
}

test("sessions continue the deployment's audit log in the SignerHost object; the CLI verifies it", async () => {
  // A's SIGNER binding: the mixed session (and every session) wrote its decisions there.
  const a = await getAudit(A);
  assert.equal(a.status, 200, a.text);
  assert.match(a.headers.get("content-type") ?? "", /^application\/x-ndjson/);
  assert.ok(a.lines.length > 0, "the session wrote no audit lines");
  assert.equal(Number(a.headers.get("x-audit-entries")), a.lines.length);
  assert.ok(a.text.endsWith("\n"));
  a.lines.forEach((l, i) => assert.equal(l.seq, i));
  const kinds = new Set(a.lines.map((l) => l.kind));
  for (const kind of ["sign_psbt", "shared_key", "musig2_sign"]) assert.ok(kinds.has(kind), [...kinds].join(","));
  const v = await cliVerify(a.text, "audit-A");
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), `${a.lines.length} entries, chain intact`);
  // The control token guards it like every control route.
  assert.equal((await fetch(`${A}/audit`)).status, 401);
  const post = await fetch(`${A}/audit`, { method: "POST", headers: AUTH });
  assert.equal(post.status, 405);
  await post.body?.cancel();
  assert.equal((await fetch(`${D}/audit`, { headers: AUTH })).status, 503);
});

test("POLICY: the sendcoins payment is refused with the policy's tag, GET /audit holds the decisions, a restart continues the log, a bad POLICY or a forged log stops the start", async (t) => {
  const tmp = env.WORKER_TMP;
  const pidFile = join(tmp, "extra.pids");
  // A node of its own (watchonly-sim --scenario sendcoins: 250 000 sat to a
  // foreign address, one SignPsbt per input) behind a bridge of its own.
  const startNode = async (name) => {
    const dir = join(tmp, `policy-${name}`);
    await mkdir(dir, { recursive: true });
    const out = join(dir, "sim.out");
    const err = join(dir, "sim.err");
    const sim = await startSim(dir, {
      accounts: join(tmp, "accounts.json"), scenario: "sendcoins", rounds: 1,
      extra: ["--ping-interval", "1s", "--ping-attempts", "1000", "--ping-backoff", "500ms"],
      stdoutFile: out, stderrFile: err, pidFile,
    });
    t.after(() => sim.proc.stop());
    const log = join(dir, "bridge.log");
    const bridge = await startBridge({
      lnd: sim.addr, cert: sim.cert, origin: "http://127.0.0.1:8787", stdoutFile: log, stderrFile: log, pidFile,
    });
    t.after(() => bridge.proc.stop());
    return { out, err, bridgeUrl: bridge.url, macaroonHex: await sim.macaroonHex() };
  };
  const POLICY = '{"onchain":{"max_external_per_tx":100000}}';
  let g = null;
  const startG = async (node, policy = POLICY) => {
    g = await spawnWorkerd("G", {
      VAULT: env.WORKER_VAULT_B64, VAULT_PASSPHRASE: env.WORKER_PASSPHRASE, CONTROL_TOKEN: TOKEN,
      BRIDGE_URL: node.bridgeUrl, MACAROON_HEX: node.macaroonHex, POLICY: policy,
    });
    return g.url;
  };
  t.after(() => g?.proc.kill("SIGTERM"));
  const refusals = async (node) => {
    const sim = await waitForMatch(node.out, /^(\d+) passed, (\d+) failed$/m, 60_000, "the sendcoins sim's summary");
    assert.equal(Number(sim[1]), 0, `the policy let the payment through: ${sim[0]}`);
    assert.equal(Number(sim[2]), 2, sim[0]);
    const fails = (await readFile(node.out, "utf8")).split("\n").filter((l) => l.startsWith("FAIL"));
    assert.equal(fails.length, 2, fails.join("\n"));
    for (const f of fails) assert.match(f, /signer error: .*policy-onchain-external-per-tx: /, f);
  };

  // 1. The always-on signer under the binding's policy: both requests refused.
  const node1 = await startNode("1");
  let G = await startG(node1);
  assert.equal((await controlStatus(G, { token: TOKEN })).json.configured.policy, true);
  const started = await getJson(`${G}/signer/start`, { method: "POST", headers: AUTH });
  assert.equal(started.status, 200, JSON.stringify(started.json));
  assert.equal(started.json.policy.source, "binding");
  assert.equal(started.json.policy.maxExternalPerTx, 100000);
  assert.equal(started.json.policy.overLimit, "deny");
  assert.equal(started.json.policy.headless, "deny");
  assert.equal(started.json.policy.sealed, undefined, "the status summarises the policy, it does not echo its text");
  assert.deepEqual(started.json.audit, { entries: 0, writeError: null });
  await refusals(node1);
  const first = await getAudit(G);
  assert.equal(first.status, 200, first.text);
  const denied = first.lines.filter((l) => l.kind === "sign_psbt" && l.decision === "deny");
  assert.equal(denied.length, 2, first.text);
  for (const l of denied) {
    assert.equal(l.result, "refused");
    assert.equal(l.external, 250000);
    assert.ok(l.tags.some((tag) => /onchain-external-per-tx/.test(tag)), JSON.stringify(l.tags));
  }
  const n1 = first.lines.length;
  let s = (await getJson(`${G}/signer/status`, { headers: AUTH })).json;
  assert.deepEqual(s.audit, { entries: n1, writeError: null });
  let v = await cliVerify(first.text, "audit-G1");
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), `${n1} entries, chain intact`);
  assert.equal((await getJson(`${G}/signer/stop`, { method: "POST", headers: AUTH })).status, 200);
  await g.proc.kill("SIGTERM");

  // 2. workerd restarted with the same storage (and another node): the log
  //    is resumed, not begun again, and grows by the new decisions.
  const node2 = await startNode("2");
  G = await startG(node2);
  s = (await getJson(`${G}/signer/status`, { headers: AUTH })).json;
  assert.equal(s.audit.entries, n1, "the stored log is reported before any signer runs");
  assert.equal((await getJson(`${G}/signer/start`, { method: "POST", headers: AUTH })).status, 200);
  await refusals(node2);
  const second = await getAudit(G);
  assert.ok(second.lines.length >= n1 + 2, `${second.lines.length} entries after the restart, ${n1} before`);
  assert.ok(second.text.startsWith(first.text), "the restarted signer rewrote the stored log");
  assert.equal(second.lines[n1].seq, n1);
  assert.equal(second.lines[n1].prev, first.lines[n1 - 1].mac, "the new entries chain to the stored ones");
  v = await cliVerify(second.text, "audit-G2");
  assert.equal(v.code, 0, v.stderr);
  assert.equal(v.stdout.trim(), `${second.lines.length} entries, chain intact`);
  assert.equal((await getJson(`${G}/signer/stop`, { method: "POST", headers: AUTH })).status, 200);
  await g.proc.kill("SIGTERM");

  // 3. A POLICY that does not parse: no start at all (never the default policy).
  const streams = () => countMatches(node2.err, /signer stream \d+ opened/g);
  const before = await streams();
  G = await startG(node2, '{"onchain":{"max_fee":-1}}');
  const bad = await getJson(`${G}/signer/start`, { method: "POST", headers: AUTH });
  assert.equal(bad.status, 503, JSON.stringify(bad.json));
  assert.match(bad.json.error, /^POLICY is not a valid signing policy, so the signer does not start: policy key onchain\.max_fee: /);
  assert.equal(bad.json.running, false);
  s = (await getJson(`${G}/signer/status`, { headers: AUTH })).json;
  assert.equal(s.lastStartError, bad.json.error);
  assert.equal(s.audit.entries, second.lines.length);
  const session = await signSession(G, { seconds: 2, token: TOKEN });
  assert.equal(session.status, 503, session.text);
  assert.match(session.json.error, /policy key onchain\.max_fee: /);
  assert.equal((await getJson(`${G}/signer/stop`, { method: "POST", headers: AUTH })).status, 200);
  await sleep(300);
  assert.equal(await streams(), before, "a signer with a bad POLICY reached the node");
  assert.match(await readFile(join(tmp, "workerd-G.log"), "utf8"), /could not start: POLICY is not a valid signing policy.*onchain\.max_fee/);
  await g.proc.kill("SIGTERM");

  // 4. A forged entry in storage (the first refusal's amount lowered in the
  //    SQLite file of the Durable Object): the start stops, naming the line;
  //    the signer does not begin a new chain over it.
  const forged = await run("python3", ["-c", `
import glob, sqlite3, sys
hits = 0
for f in glob.glob(sys.argv[1] + "/**/*.sqlite", recursive=True):
    db = sqlite3.connect(f)
    if not db.execute("SELECT 1 FROM sqlite_master WHERE name = '_cf_KV'").fetchall():
        continue
    for key, value in db.execute("SELECT key, value FROM _cf_KV WHERE key LIKE 'audit:%'").fetchall():
        if b'"external":250000' in value and hits == 0:
            db.execute("UPDATE _cf_KV SET value = ? WHERE key = ?", (value.replace(b'"external":250000', b'"external":150000', 1), key))
            hits += 1
    db.commit()
print(hits)
`, join(tmp, "do-G")]);
  assert.equal(forged.stdout.trim(), "1", `could not forge an entry: ${forged.stdout}${forged.stderr}`);
  G = await startG(node2);
  const broken = await getJson(`${G}/signer/start`, { method: "POST", headers: AUTH });
  assert.equal(broken.status, 500, JSON.stringify(broken.json));
  assert.match(broken.json.error, /^the audit log is broken at line \d+: .*; the signer does not start over a broken audit log/);
  assert.equal(broken.json.running, false);
  assert.equal((await getAudit(G)).lines.length, second.lines.length, "the stored log is still served as it is");
  assert.equal((await getJson(`${G}/signer/stop`, { method: "POST", headers: AUTH })).status, 200);
  assert.equal(await streams(), before, "a signer over a broken log reached the node");
});

test("workerd logs hold no secrets", async () => {
  const files = (await readdir(env.WORKER_TMP)).filter((f) => /^workerd-[A-G]\.log$/.test(f));
  assert.ok(files.length >= 4, files.join(", "));
  const texts = {};
  for (const f of files) {
    texts[f] = await readFile(join(env.WORKER_TMP, f), "utf8");
    assertNoSecrets(texts[f], env, f);
  }
  // The logs were captured (so the check above saw the worker's output).
  assert.match(texts["workerd-A.log"], /\[worker\] sign-session ended: handled \d+/);
  assert.match(texts["workerd-C.log"], /\[worker\] sign-session started: 4 s/);
});
