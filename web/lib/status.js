// @ts-check
// The connection status, pure: how a worker status event or an Attach
// stream's end changes the store (statusPatch, attachEndPatch) and what the
// status panel shows for a store (statusView). The view applies and renders
// them; unit-tested in tests/page/unit/status.test.mjs.

import { attachEndReason, classifyCode, silentError } from "./errors.js";
import { ago } from "./format.js";

/** @typedef {import("./state.js").State} State */
/** @typedef {import("../pkg/lnd_web_signer.js").SignerStatus} SignerStatus */

/** A reason given within this window before an Attach stream's end is replaced by the stream's own. */
export const ATTACH_END_WINDOW_MS = 3000;

/**
 * How the status event `s` changes the store (a patch for update()).
 * A ping or a request does not change the connection state shown.
 * @param {Pick<State, "attachEnd"> & Partial<Pick<State, "status">>} state
 * @param {SignerStatus} s
 * @param {number} [now]
 * @returns {Partial<State>}
 */
export function statusPatch(state, s, now = Date.now()) {
  const shown = state.status;
  const transport = shown && shown.kind === "registered" ? shown.transport : "websocket";
  switch (s.kind) {
    case "connecting":
      return { status: s, attempt: s.attempt, reconnectAt: null, attachEnd: null };
    case "registered":
      return { status: s, registeredAt: now, nodeInfo: s.nodeInfo, lastError: null };
    case "ping":
      return { status: { kind: "registered", attempt: 0, nodeInfo: "", transport }, lastPingAt: now };
    case "request":
      return { status: { kind: "registered", attempt: 0, nodeInfo: "", transport } };
    case "error": {
      if (s.silentMs !== null && s.silentMs !== undefined) {
        // The idle watchdog: nothing at all came from lnd for too long.
        return { status: s, registeredAt: null, lastError: { ...silentError(s.silentMs), code: s.code, at: now } };
      }
      // The stream's own end, when it came just before, names the cause.
      const end = state.attachEnd && now - state.attachEnd.at < ATTACH_END_WINDOW_MS ? state.attachEnd : null;
      const reason = end ? end.reason : s.reason;
      const code = end ? end.code : s.code;
      return { status: s, registeredAt: null, lastError: { reason, code, at: now, ...classifyCode(code) } };
    }
    case "reconnecting":
      return { status: s, reconnectAt: now + s.delayMs };
    case "disconnected":
      return { status: s, connected: false, registeredAt: null, reconnectAt: null };
    default:
      return { status: s };
  }
}

/**
 * The bridge's final status of an Attach stream. When lnd refuses the
 * stream after the session token was sent (e.g. a rejected macaroon), the
 * signer loop may first see a consequence (its Reply is refused), so the
 * stream's own reason replaces a reason given just before. Returns the
 * patch and whether the panel must be drawn again; null for an OK end.
 * @param {Pick<State, "lastError">} state
 * @param {import("../pkg/lnd_web_signer.js").StreamEnd | null | undefined} end
 * @param {number} [now]
 * @returns {{ patch: Partial<State>, render: boolean } | null}
 */
export function attachEndPatch(state, end, now = Date.now()) {
  const reason = attachEndReason(end);
  if (!reason) return null;
  /** @type {Partial<State>} */
  const patch = { attachEnd: { reason, code: end?.errorCode ?? null, at: now } };
  const last = state.lastError;
  // The signer itself dropped a silent link: that stays the reason shown.
  if (last?.silent) return { patch, render: false };
  if (last && now - last.at < ATTACH_END_WINDOW_MS && last.reason !== reason) {
    patch.lastError = { reason, code: end?.errorCode ?? null, at: last.at, ...classifyCode(end?.errorCode) };
    return { patch, render: true };
  }
  return { patch, render: false };
}

/**
 * @typedef {object} StatusView
 * @property {"idle" | "standby" | "connecting" | "registered" | "reconnecting" | "error" | "disconnected"} state the card's data-state
 * @property {string} title
 * @property {string} detail
 * @property {string} bridge
 * @property {string} node
 * @property {string} since
 * @property {string} ping
 * @property {string} attempt
 * @property {string} requests
 * @property {string} transport "websocket" or "grpc-web" while registered, else ""
 * @property {string | null} error the red error line, or null
 * @property {boolean} canConnect
 * @property {string} connectLabel
 * @property {boolean} canDisconnect
 */

/**
 * What the status panel shows.
 * @param {State} state
 * @param {number} [now]
 * @returns {StatusView}
 */
export function statusView(state, now = Date.now()) {
  const s = state.status;
  /** @type {StatusView["state"]} */
  let kind;
  let title;
  let detail;
  const otherSigner = state.lastError?.code === "another_signer";
  if (state.standby === "tab") {
    kind = "standby";
    title = "Standby — another tab is signing";
    detail = "Another tab of this site signs for this node (lnd accepts one signer). This tab takes over by itself within seconds when that tab closes, reloads or locks — as long as this tab stays unlocked.";
  } else if (otherSigner && (s.kind === "reconnecting" || s.kind === "error")) {
    kind = "standby";
    title = "Standby — another signer is connected to this node";
    const secs = state.reconnectAt ? Math.max(0, Math.ceil((state.reconnectAt - now) / 1000)) : null;
    detail = `lnd accepts one signer at a time, and another one holds this node (the browser extension, a tab of another site, another device). This signer ${secs === null ? "retries" : `retries in ${secs} s`} with its usual backoff and signs once that signer leaves.`;
  } else if (s.kind === "connecting") {
    kind = "connecting";
    title = "Connecting…";
    detail = `Attaching to signer-bridge (attempt ${s.attempt}).`;
  } else if (s.kind === "registered") {
    kind = "registered";
    title = "Connected · signing for lnd";
    const via = s.transport === "grpc-web" ? "grpc-web calls" : "a WebSocket";
    detail = `Registered with the watch-only node (${via} to signer-bridge). Requests are answered as they arrive.`;
  } else if (s.kind === "reconnecting" || (s.kind === "error" && state.reconnectAt)) {
    kind = "reconnecting";
    const secs = Math.max(0, Math.ceil(((state.reconnectAt ?? now) - now) / 1000));
    title = `Reconnecting in ${secs} s`;
    detail = state.lastError ? `${state.lastError.title}. ${state.lastError.help}` : "The connection ended; trying again.";
  } else if (s.kind === "error") {
    kind = "error";
    title = state.lastError?.title || "Connection error";
    detail = state.lastError?.help || "";
  } else if (s.kind === "disconnected") {
    kind = "disconnected";
    title = "Disconnected";
    detail = s.reason ? `Stopped: ${s.reason}.` : "";
  } else {
    kind = "idle";
    title = "Not connected";
    detail = state.unlocked ? "Connect to signer-bridge to start signing for your lnd node." : "Unlock the signer to connect.";
  }
  const showErr = state.lastError && (kind === "reconnecting" || kind === "error");
  const standing = kind === "standby";
  return {
    state: kind,
    title,
    detail,
    bridge: state.connected ? state.bridgeUrl : "—",
    node: kind === "registered" && state.nodeInfo ? state.nodeInfo : "—",
    since: state.registeredAt ? ago(state.registeredAt, now) : "—",
    ping: state.lastPingAt ? ago(state.lastPingAt, now) : "—",
    attempt: state.connected && state.attempt && !(standing && state.standby) ? String(state.attempt) : "—",
    requests: String(state.counters.requests),
    transport: s.kind === "registered" ? s.transport ?? "" : "",
    error: showErr && state.lastError ? `${state.lastError.title}: ${state.lastError.reason}` : null,
    canConnect: Boolean(state.unlocked),
    connectLabel: state.connected ? "Reconnect" : "Connect",
    canDisconnect: state.connected,
  };
}
