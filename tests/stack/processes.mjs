// Child processes of the stack: start one and wait for a line of its
// output, run one to completion, free loopback ports, temporary
// directories. Every process started here is SIGKILLed when this node
// process exits, whatever the reason, so a failed test leaves none behind.

import { spawn } from "node:child_process";
import { appendFileSync, createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LOOPBACK } from "./constants.mjs";
import { ROOT } from "./paths.mjs";

const live = new Set();
process.on("exit", () => {
  for (const c of live) {
    try { c.kill("SIGKILL"); } catch { /* already gone */ }
  }
});

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a process and collects its output. `waitFor(re)` resolves with the
 * first match in stdout+stderr (rejects on exit or after `timeout` ms);
 * `stop()` sends SIGTERM (SIGKILL after 5 s), `kill(signal)` sends `signal`;
 * both resolve with { code, signal } once it exited.
 *
 * Options: `env` (added to this process's, or the whole environment with
 * `cleanEnv: true`), `echo` (copy each line to stderr as "[name] line"),
 * `stdoutFile`/`stderrFile` (append each stream to a file; may be the same),
 * `pidFile` (append the pid: a parent that outlives this process kills it).
 */
export function startProcess(cmd, args, {
  name = cmd, env = {}, cleanEnv = false, echo = false, cwd = ROOT, stdoutFile, stderrFile, pidFile,
} = {}) {
  const child = spawn(cmd, args, {
    cwd, env: cleanEnv ? env : { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  if (pidFile && child.pid) appendFileSync(pidFile, `${child.pid}\n`);
  const files = new Map();
  const sink = (path) => {
    if (!path) return null;
    if (!files.has(path)) files.set(path, createWriteStream(path, { flags: "a" }));
    return files.get(path);
  };
  const outSink = sink(stdoutFile);
  const errSink = sink(stderrFile);
  let out = "";
  const waiters = [];
  const onData = (fileSink) => (chunk) => {
    const text = chunk.toString();
    out += text;
    fileSink?.write(chunk);
    if (echo) for (const line of text.split("\n")) if (line) process.stderr.write(`[${name}] ${line}\n`);
    for (const w of [...waiters]) {
      const m = out.match(w.re);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  };
  child.stdout.on("data", onData(outSink));
  child.stderr.on("data", onData(errSink));
  let exitInfo = null;
  const exited = new Promise((r) => {
    child.on("error", (e) => r({ code: null, signal: null, error: e }));
    // "close": the output is read to the end (and written to the files).
    child.on("close", (code, signal) => r({ code, signal }));
  }).then(async (x) => {
    live.delete(child);
    await Promise.all([...files.values()].map((f) => new Promise((r) => f.end(r))));
    exitInfo = x;
    for (const w of waiters.splice(0)) w.reject(new Error(`${name} exited (${x.code ?? x.signal ?? x.error}) before printing ${w.re}:\n${out.slice(-3000)}`));
    return x;
  });
  const kill = async (signal = "SIGTERM") => {
    if (exitInfo) return exitInfo;
    child.kill(signal);
    return exited;
  };
  return {
    child,
    name,
    get pid() { return child.pid; },
    get output() { return out; },
    get exit() { return exitInfo; },
    exited,
    waitFor(re, timeout = 60_000) {
      const m = out.match(re);
      if (m) return Promise.resolve(m);
      if (exitInfo) return Promise.reject(new Error(`${name} already exited:\n${out.slice(-3000)}`));
      return new Promise((res, rej) => {
        const w = { re, resolve: res, reject: rej };
        waiters.push(w);
        setTimeout(() => {
          const i = waiters.indexOf(w);
          if (i >= 0) {
            waiters.splice(i, 1);
            rej(new Error(`timed out after ${timeout} ms waiting for ${re} from ${name}:\n${out.slice(-3000)}`));
          }
        }, timeout).unref();
      });
    },
    kill,
    async stop() {
      if (exitInfo) return exitInfo;
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 5000);
      const x = await exited;
      clearTimeout(t);
      return x;
    },
  };
}

/** Runs a command to completion; resolves { code, stdout, stderr }. */
export function run(cmd, args, { input, cwd = ROOT, env } = {}) {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env: env ? { ...process.env, ...env } : process.env, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => { stdout += c; });
    child.stderr.on("data", (c) => { stderr += c; });
    child.on("error", rej);
    child.on("close", (code) => res({ code, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** A free TCP port on loopback (for a process that cannot listen on port 0). */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, LOOPBACK, () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Polls `check()` until it resolves { done: true, value }; bounded by `timeoutMs`. */
export async function waitUntil(check, timeoutMs, what, everyMs = 200) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check().catch((e) => ({ error: String(e) }));
    if (last && last.done) return last.value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(last)}`);
    await sleep(everyMs);
  }
}

const tempDirs = [];

/** A new temporary directory (mode 700), removed by cleanupTempDirs(). */
export async function tempDir(prefix = "lws-page-") {
  const d = await mkdtemp(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

export async function cleanupTempDirs() {
  for (const d of tempDirs.splice(0)) await rm(d, { recursive: true, force: true });
}
