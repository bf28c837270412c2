// Shared pieces of the worker tests: the environment written by
// tests/worker/run.mjs (started by scripts/worker-tests.sh), bounded waits
// on the simulator's output, and the "no secret in this text" check.

import { readFile } from "node:fs/promises";
import { DEMO_TPRV, sleep } from "../stack/index.mjs";

export { sleep };

const NAMES = [
  "WORKER_A_URL", "WORKER_B_URL", "WORKER_C_URL", "WORKER_D_URL",
  "WORKER_TMP", "WORKER_SIM_OUT", "WORKER_SIM_ERR", "WORKER_BIN",
  "WORKER_CONTROL_TOKEN", "WORKER_PASSPHRASE", "WORKER_WRONG_PASSPHRASE",
  "WORKER_MACAROON_HEX", "WORKER_VAULT_B64", "WORKER_VAULT_MAC_B64", "WORKER_FINGERPRINT",
  "WORKER_WORKERD", "WORKER_BRIDGE_URL",
];

/** The stack's environment; throws (failing every test) when run outside tests/worker/run.mjs. */
export function stackEnv() {
  const missing = NAMES.filter((n) => !process.env[n]);
  if (missing.length > 0) {
    throw new Error(
      `worker tests need the stack of tests/worker/run.mjs (missing ${missing.join(", ")}); run: bash scripts/worker-tests.sh`,
    );
  }
  return Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
}

/** The test key of tests/worker/run.mjs (public; must never be echoed either). */
export const TEST_TPRV = DEMO_TPRV;

/** Every secret value of the stack, as they could appear in text. */
export function secretValues(env) {
  const mac = env.WORKER_MACAROON_HEX;
  return {
    "vault passphrase": env.WORKER_PASSPHRASE,
    "wrong vault passphrase": env.WORKER_WRONG_PASSPHRASE,
    "control token": env.WORKER_CONTROL_TOKEN,
    "macaroon hex": mac.toLowerCase(),
    "macaroon hex (upper case)": mac.toUpperCase(),
    "macaroon (base64)": Buffer.from(mac, "hex").toString("base64"),
    "vault (base64)": env.WORKER_VAULT_B64,
    "vault with macaroon (base64)": env.WORKER_VAULT_MAC_B64,
    "vault base64 (first 40 characters)": env.WORKER_VAULT_B64.slice(0, 40),
    "seed (tprv)": TEST_TPRV,
  };
}

/** Fails when `text` contains any secret of the stack. */
export function assertNoSecrets(text, env, where) {
  for (const [name, value] of Object.entries(secretValues(env))) {
    if (value && text.includes(value)) {
      throw new Error(`${where} contains the ${name}`);
    }
  }
}

/** Waits (bounded) until `file` matches `regex`; returns the match. */
export async function waitForMatch(file, regex, timeoutMs, what) {
  const end = Date.now() + timeoutMs;
  let text = "";
  for (;;) {
    text = await readFile(file, "utf8").catch(() => "");
    const m = regex.exec(text);
    if (m) return m;
    if (Date.now() > end) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last lines:\n${text.split("\n").slice(-15).join("\n")}`);
    }
    await sleep(100);
  }
}

/** Number of matches of `regex` (global) in `file`. */
export async function countMatches(file, regex) {
  const text = await readFile(file, "utf8").catch(() => "");
  return (text.match(regex) ?? []).length;
}

/** POST /sign-session; resolves {status, headers, text, json}. */
export async function signSession(base, { token, seconds, stream = false, method = "POST", authorization } = {}) {
  const q = new URLSearchParams();
  if (seconds !== undefined) q.set("seconds", String(seconds));
  if (stream) q.set("stream", "1");
  const headers = {};
  if (authorization !== undefined) headers.authorization = authorization;
  else if (token !== undefined) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/sign-session?${q}`, { method, headers, signal: AbortSignal.timeout(120_000) });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, headers: res.headers, text, json };
}

export async function health(base) {
  const res = await fetch(`${base}/health`, { signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) };
}

/** GET /status with the control token (or `authorization` as given); resolves {status, headers, text, json}. */
export async function controlStatus(base, { token, headers = {} } = {}) {
  const h = { ...headers };
  if (token !== undefined) h.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/status`, { headers: h, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
}
