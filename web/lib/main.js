// @ts-check
// Boots the signer UI in a host: the signer tab (app.js, its own worker)
// or the extension popup (extension/popup.js, a relay to the worker of the
// extension's offscreen document). Wires the views to `worker`, loads the
// wasm module's tables, the settings and the stored vault, and shows the
// first screen — or, in the popup, the live state the host hands back.

import * as store from "../store.js";
import { $ } from "./dom.js";
import { errorMessage } from "./errors.js";
import { setKindTable } from "./format.js";
import { attach, call } from "./rpc.js";
import { bindScreens, selectTab, show, showFatal } from "./screens.js";
import { bindBackButtons } from "./seed-forms.js";
import { update, state } from "./state.js";
import { bindActivity, onActivity, onInspector, renderActivity } from "./view-activity.js";
import {
  bindConnection, onAttachEnd, onStatus, refreshMacaroonInfo, renderStatus, setLeadership, startStatusClock,
} from "./view-connection.js";
import { bindCreate } from "./view-create.js";
import { bindImport } from "./view-import.js";
import { bindSeal } from "./view-seal.js";
import { bindPolicy, loadPolicySettings, onApproval, onApprovalEnd, onAudit } from "./view-policy.js";
import { bindSettings, loadSettings, renderUnlockedInfo } from "./view-settings.js";
import { bindUnlock, openUnlock, startAutolock } from "./view-unlock.js";

/**
 * What a host that keeps the worker beyond this page hands back when the
 * page opens again (the extension's offscreen document): the signer's
 * public state and the worker events seen so far, oldest first.
 * @typedef {object} LiveState
 * @property {import("./state.js").UnlockedInfo | null} unlocked
 * @property {boolean} connected
 * @property {string} bridgeUrl
 * @property {{ at: number, ev: import("./rpc.js").WorkerEvent }[]} events
 */

/**
 * @typedef {object} Host
 * @property {boolean} [offlineCache] register sw.js (the tab)
 * @property {import("./leader.js").Leadership} [leadership] instead of the Web Locks one
 * @property {boolean} [pageAutolock] lock after idle time measured in this page (default true)
 * @property {() => Promise<LiveState | null>} [liveState]
 */

/**
 * @param {import("./rpc.js").WorkerEvent} ev
 * @param {number} [at] when the host saw it (a replay)
 */
function dispatch(ev, at) {
  if (ev.event === "status") onStatus(ev.status, at);
  else if (ev.event === "activity") onActivity(ev.entry);
  else if (ev.event === "attachEnd") onAttachEnd(ev.end, at);
  else if (ev.event === "inspector") onInspector(ev);
  else if (ev.event === "approval") onApproval(ev.request);
  else if (ev.event === "approvalEnd") onApprovalEnd(ev.id, ev.outcome);
  else if (ev.event === "audit") onAudit(ev.entries);
}

/**
 * @param {import("./rpc.js").WorkerLike} worker
 * @param {Host} [host]
 */
export async function run(worker, host = {}) {
  attach(worker, { onEvent: (ev) => dispatch(ev), onError: showFatal });
  if (host.leadership) setLeadership(host.leadership);
  bindScreens();
  bindBackButtons();
  bindCreate();
  bindImport();
  bindSeal();
  bindUnlock();
  bindConnection();
  bindActivity();
  bindSettings();
  bindPolicy();
  if (host.pageAutolock !== false) startAutolock();
  startStatusClock();

  if (host.offlineCache && "serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("sw.js").catch((e) => console.warn(`[signer] offline cache unavailable: ${errorMessage(e)}`));
  }
  try {
    /** @type {{ version: string, wasmSha256: string, kinds: import("../pkg/lnd_web_signer.js").KindInfo[] }} */
    const { version, wasmSha256, kinds } = await call("init");
    setKindTable(kinds);
    update({ version, wasmSha256 });
    $("info-wasm-sha256").textContent = wasmSha256;
  } catch (e) {
    showFatal(`The signer could not load its WebAssembly module: ${errorMessage(e)}`);
    return;
  }
  await loadSettings();
  await loadPolicySettings();
  update({ vault: await store.loadVault() });
  renderActivity();
  const live = host.liveState ? await host.liveState() : null;
  if (live?.unlocked && state.vault) {
    // The worker kept signing while this page was closed: show what it did.
    update({ unlocked: live.unlocked, connected: live.connected, bridgeUrl: live.bridgeUrl });
    for (const { at, ev } of live.events) dispatch(ev, at);
    renderUnlockedInfo();
    await refreshMacaroonInfo();
    renderStatus();
    show("dashboard");
    selectTab(live.connected ? "connection" : "activity");
  } else {
    renderStatus();
    if (state.vault) openUnlock();
    else show("welcome");
  }
  document.documentElement.dataset.ready = "true";
}
