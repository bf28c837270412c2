// @ts-check
// The extension's offscreen document: it owns the signer's dedicated
// Worker (signer-worker.js, the same as the tab's), so the keys stay in
// that worker's wasm memory while the popup is closed, and it is the only
// place they are. It relays the popup's calls to the worker and the
// worker's answers and events back (relay.js), remembers the public state
// a reopened popup needs (unlocked info, the connection asked for, recent
// events), and locks by itself: auto-lock after the configured time
// without input in the popup, the system idle for that long, or the screen
// locked (chrome.idle, through the service worker). Locking wipes the keys
// and closes this document, and the worker with it.

/// <reference types="chrome" />

import * as store from "./store.js";
import { CHANNEL } from "./relay.js";

const worker = new Worker(new URL("./signer-worker.js", import.meta.url), { type: "module" });
const channel = new BroadcastChannel(CHANNEL);

/** Most events kept for a reopened popup (status, activity, …), oldest dropped. */
const MAX_EVENTS = 1000;

const live = {
  /** @type {object | null} */
  unlocked: null,
  connected: false,
  bridgeUrl: "",
  /** @type {{ at: number, ev: any }[]} */
  events: [],
};
let lastInput = Date.now();
let closing = false;

/** @type {Map<number, { client: string, id: unknown, op: string, bridgeUrl?: string }>} */
const calls = new Map();
let nextId = 1;

/**
 * @param {string} op
 * @param {object} [args] never kept: only a connect's bridge URL is read
 * @param {{ client: string, id: unknown }} [from]
 */
function toWorker(op, args, from) {
  const id = nextId++;
  /** @type {{ client: string, id: unknown, op: string, bridgeUrl?: string }} */
  const call = { client: from?.client ?? "", id: from?.id, op };
  if (op === "connect") call.bridgeUrl = String(/** @type {any} */ (args)?.bridgeUrl ?? "");
  calls.set(id, call);
  worker.postMessage({ id, op, args });
  return id;
}

/** @param {{ op: string, bridgeUrl?: string }} call @param {any} msg */
function track(call, msg) {
  if (!msg.ok) return;
  if (call.op === "unlock") {
    live.unlocked = msg.result;
    lastInput = Date.now();
  } else if (call.op === "connect") {
    live.connected = true;
    live.bridgeUrl = call.bridgeUrl ?? "";
  } else if (call.op === "disconnect") {
    live.connected = false;
  } else if (call.op === "lock") {
    live.unlocked = null;
    live.connected = false;
  } else if (call.op === "sealMacaroon" || call.op === "importSignerBundle") {
    if (live.unlocked) live.unlocked = { ...live.unlocked, hasMacaroon: true };
  }
}

/** Requests waiting for an approval (their ids), for the action badge. */
const approvals = new Set();

/** @param {any} msg a worker event */
function noteApproval(msg) {
  if (msg.event === "approval") approvals.add(msg.request?.id);
  else if (msg.event === "approvalEnd") approvals.delete(msg.id);
  else return;
  chrome.runtime.sendMessage({ type: "lws:approval", waiting: approvals.size, asked: msg.event === "approval" }).catch(() => {});
}

worker.onmessage = (ev) => {
  const msg = ev.data;
  if (msg && typeof msg.event === "string") {
    noteApproval(msg);
    live.events.push({ at: Date.now(), ev: msg });
    if (live.events.length > MAX_EVENTS) live.events.splice(0, live.events.length - MAX_EVENTS);
    channel.postMessage({ to: "*", message: msg });
    return;
  }
  const call = calls.get(msg?.id);
  if (!call) return;
  calls.delete(msg.id);
  track(call, msg);
  if (call.client) channel.postMessage({ to: call.client, message: { ...msg, id: call.id } });
  if (call.op === "lock" && msg.ok) closeSoon();
};
worker.onerror = (ev) => console.error(`[signer] the signer worker failed: ${ev.message || "unknown error"}`);

channel.onmessage = (ev) => {
  const d = ev.data;
  if (!d || d.to !== "offscreen" || typeof d.client !== "string") return;
  if (closing) {
    // Locked and about to close: the popup sends it again to the next document.
    if (!d.input) channel.postMessage({ to: d.client, retry: d });
    return;
  }
  if (d.hello) {
    channel.postMessage({ to: d.client, live });
    return;
  }
  if (d.input) {
    lastInput = Date.now();
    return;
  }
  const m = d.message;
  if (!m || typeof m.op !== "string") return;
  lastInput = Date.now();
  toWorker(m.op, m.args, { client: d.client, id: m.id });
};

/**
 * Locks by itself: the keys are wiped, an open popup is told, this
 * document closes.
 * @param {string} reason e.g. "after 30 min without activity"
 */
function lockNow(reason) {
  if (closing || !live.unlocked) return;
  console.info(`[signer] locked ${reason}`);
  toWorker("lock", {});
  channel.postMessage({ to: "*", locked: reason });
}

/** After a lock: nothing to keep; the worker and its memory go with this document. */
function closeSoon() {
  if (closing) return;
  closing = true;
  worker.terminate();
  chrome.runtime.sendMessage({ type: "lws:close-offscreen" }).catch(() => {});
}

async function autolockMinutes() {
  return Number(await store.getSetting("autolockMinutes", 30)) || 0;
}

// The auto-lock clock (the popup's input resets it) and chrome.idle's
// interval, which follows the setting.
let idleSeconds = -1;
setInterval(async () => {
  const minutes = await autolockMinutes();
  if (minutes > 0 && minutes * 60 !== idleSeconds) {
    idleSeconds = minutes * 60;
    chrome.runtime.sendMessage({ type: "lws:idle-interval", seconds: idleSeconds }).catch(() => {});
  }
  if (live.unlocked && minutes > 0 && Date.now() - lastInput >= minutes * 60_000) {
    lockNow(`after ${minutes} min without activity`);
  }
}, 1000);

chrome.runtime.onMessage.addListener((msg) => {
  if (msg?.type !== "lws:idle") return;
  if (msg.state === "locked") lockNow("when the screen locked");
  else if (msg.state === "idle") {
    autolockMinutes().then((m) => { if (m > 0) lockNow(`after ${m} min of system idle time`); });
  }
});
