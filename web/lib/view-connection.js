// @ts-check
// Connection tab: the status panel (worker status events → store → panel),
// the bridge URL and macaroon form, connect and disconnect.

import * as store from "../store.js";
import { $, busy, button, clearInputs, el, input, nextFrame, showError } from "./dom.js";
import { errorMessage, isWrongPassphrase } from "./errors.js";
import { pingEntry } from "./activity-log.js";
import { statusLogLine } from "./format.js";
import { macaroonHexBytes, normalizeBridgeUrl } from "./parse.js";
import { createLeadership, lockName } from "./leader.js";
import { call } from "./rpc.js";
import { attachEndPatch, statusPatch, statusView } from "./status.js";
import { connectOptions, state, update } from "./state.js";
import { onActivity } from "./view-activity.js";

/**
 * A status event of the worker.
 * @param {import("../pkg/lnd_web_signer.js").SignerStatus} s
 * @param {number} [at] when it happened (a replay), else now
 */
export function onStatus(s, at = Date.now()) {
  update(statusPatch(state, s, at));
  if (s.kind === "ping") onActivity(pingEntry(s));
  if (s.kind === "error" && state.lastError?.silent) console.warn(`[signer] ${state.lastError.reason}`);
  const line = statusLogLine(s);
  if (line) console.info(line);
  renderStatus();
}

/**
 * The bridge's final status of an Attach stream (see attachEndPatch).
 * @param {import("../pkg/lnd_web_signer.js").StreamEnd} end
 * @param {number} [at] when it happened (a replay), else now
 */
export function onAttachEnd(end, at = Date.now()) {
  const change = attachEndPatch(state, end, at);
  if (!change) return;
  update(change.patch);
  if (change.render) renderStatus();
}

export function renderStatus() {
  const v = statusView(state);
  $("status-card").dataset.state = v.state;
  $("status-card").dataset.transport = v.transport;
  $("status-title").textContent = v.title;
  $("status-detail").textContent = v.detail;
  $("st-bridge").textContent = v.bridge;
  $("st-node").textContent = v.node;
  $("st-since").textContent = v.since;
  $("st-ping").textContent = v.ping;
  $("st-attempt").textContent = v.attempt;
  $("st-requests").textContent = v.requests;
  $("status-error").hidden = v.error === null;
  $("status-error").textContent = v.error ?? "";
  button("connect-btn").disabled = !v.canConnect;
  button("connect-btn").textContent = v.connectLabel;
  button("disconnect-btn").disabled = !v.canDisconnect;
}

export function renderMacaroonState() {
  const has = state.unlocked?.hasMacaroon;
  const info = has ? state.macaroonInfo : null;
  /** @type {HTMLElement[]} */
  const parts = [has
    ? el("span", { class: "ok", text: "✓ Stored sealed in the vault" })
    : el("span", { text: "None stored yet. Add the macaroon baked with remotesigner:generate." })];
  if (info) {
    const perms = info.permissions.length ? info.permissions.join(", ") : "none";
    const caveats = info.caveats.length ? ` · caveats: ${info.caveats.join("; ")}` : "";
    parts.push(el("span", { class: "mac-perms", text: ` Grants ${perms}${caveats}.` }));
  }
  $("mac-state").replaceChildren(...parts);
  const warn = $("mac-warning");
  if (info && !info.leastPrivilege) {
    const why = info.permissions.includes("remotesigner:generate")
      ? "it grants more than remotesigner:generate (listed above), and signer-bridge and Envoy see it in transit."
      : "it lacks remotesigner:generate, so lnd will refuse the signer.";
    warn.replaceChildren(
      el("span", { text: `This macaroon is not least-privilege: ${why} Bake one that grants only remotesigner:generate, with the root key given to lncli createwatchonly --mac_root_key:` }),
      el("code", { text: info.bakeCommand }),
    );
    warn.hidden = false;
  } else {
    warn.replaceChildren();
    warn.hidden = true;
  }
  $("mac-summary").textContent = has ? "Replace the macaroon" : "Add a macaroon";
  if (!has) /** @type {HTMLDetailsElement} */ ($("mac-details")).open = true;
}

/** Asks the worker what the stored macaroon grants, then redraws. */
export async function refreshMacaroonInfo() {
  try {
    update({ macaroonInfo: state.unlocked?.hasMacaroon ? await call("macaroonInfo") : null });
  } catch (e) {
    update({ macaroonInfo: null });
    console.warn(`[signer] cannot read the stored macaroon: ${errorMessage(e)}`);
  }
  renderMacaroonState();
}

/**
 * Bytes from a form's file field, else from its pasted text (`fromText`),
 * else null. They go to the worker once, transferred; the page keeps no
 * copy.
 * @param {string} fileId
 * @param {string} what for the error on an empty file
 * @param {() => Uint8Array | null} fromText
 * @returns {Promise<Uint8Array | null>}
 */
async function bytesFromForm(fileId, what, fromText) {
  const file = input(fileId).files?.[0];
  if (!file) return fromText();
  const bytes = new Uint8Array(await file.arrayBuffer());
  if (!bytes.length) throw new Error(`The ${what} file is empty.`);
  return bytes;
}

/** The macaroon of the form (file, or pasted hex), or null. Never passed to connect. */
const macaroonFromForm = () => bytesFromForm("mac-file", "macaroon", () => macaroonHexBytes(input("mac-hex").value));

/** The signer bundle of the form (file, or pasted base64 text), or null. */
const bundleFromForm = () => bytesFromForm("bundle-file", "bundle", () => {
  const text = /** @type {HTMLTextAreaElement} */ ($("bundle-b64")).value.trim();
  return text ? new TextEncoder().encode(text) : null;
});

/**
 * Imports a signer bundle (in the worker): its macaroon is sealed into the
 * vault, the new vault stored; fills the bridge URL from it when the field
 * is empty. Returns a note for the user, or "".
 * @param {Uint8Array} bundle transferred to the worker
 * @param {string} passphrase
 * @returns {Promise<string>}
 */
async function importBundle(bundle, passphrase) {
  if (!state.vault || !state.unlocked) throw new Error("the signer is locked");
  /** @type {import("../pkg/lnd_web_signer.js").ImportedBundle} */
  let imported;
  try {
    imported = await call("importSignerBundle", { blob: state.vault.blob, passphrase, bundle }, [bundle.buffer]);
  } catch (e) {
    const message = errorMessage(e);
    throw new Error(isWrongPassphrase(message) ? "Wrong vault passphrase: the bundle was not imported." : message);
  }
  await store.saveVault(imported.vault, state.vault.meta);
  update({
    vault: await store.loadVault(),
    unlocked: { ...state.unlocked, hasMacaroon: true },
    macaroonInfo: imported.macaroon,
  });
  clearInputs("bundle-b64", "mac-pass", "bundle-file");
  /** @type {HTMLDetailsElement} */ ($("mac-details")).open = false;
  renderMacaroonState();
  const url = imported.endpoint.bridgeUrl;
  if (url) {
    const typed = normalizeBridgeUrl(input("bridge-url").value);
    if (!typed) {
      input("bridge-url").value = url;
      return "";
    }
    return typed === normalizeBridgeUrl(url) ? "" : `The bundle names the bridge ${url}; the URL you typed is kept.`;
  }
  return `The bundle is for the native signer (lnd at ${imported.endpoint.rpchost ?? "?"}): its macaroon is stored, but the tab needs the URL of signer-bridge.`;
}

/**
 * Seals the macaroon into the vault (in the worker) and stores the new vault.
 * @param {Uint8Array} macaroon transferred to the worker
 * @param {string} passphrase
 */
async function sealMacaroon(macaroon, passphrase) {
  if (!state.vault || !state.unlocked) throw new Error("the signer is locked");
  /** @type {Uint8Array} */
  let blob;
  try {
    blob = await call("sealMacaroon", { blob: state.vault.blob, passphrase, macaroon }, [macaroon.buffer]);
  } catch (e) {
    const message = errorMessage(e);
    throw new Error(isWrongPassphrase(message) ? "Wrong vault passphrase: the macaroon was not stored." : message);
  }
  await store.saveVault(blob, state.vault.meta);
  update({ vault: await store.loadVault(), unlocked: { ...state.unlocked, hasMacaroon: true } });
  clearInputs("mac-hex", "mac-pass", "mac-file");
  /** @type {HTMLDetailsElement} */ ($("mac-details")).open = false;
  await refreshMacaroonInfo();
}

/** One signer per node among this origin's tabs (lib/leader.js). */
let leadership = createLeadership(typeof navigator !== "undefined" ? navigator.locks : null);

/**
 * Replaces the tabs' Web Locks election (the extension popup: its one
 * signer lives in the offscreen document, whatever page shows it).
 * @param {import("./leader.js").Leadership} l
 */
export function setLeadership(l) {
  leadership = l;
}

/**
 * Starts signing for the node behind `url`: at once when no other tab of
 * this origin signs for it, else as a standby that connects the moment
 * that tab lets go (it closes, reloads, locks or disconnects).
 * @param {string} url the bridge URL
 */
export function startSigning(url) {
  const fingerprint = state.unlocked?.fingerprint;
  if (!fingerprint) return Promise.reject(new Error("the signer is locked"));
  update({ bridgeUrl: url, connected: true, lastError: null, attempt: 0 });
  return new Promise((resolve, reject) => {
    let first = true;
    leadership.acquire(lockName(fingerprint), {
      onStandby() {
        update({ standby: "tab" });
        console.info("[signer] standby: another tab of this site signs for this node");
        renderStatus();
        first = false;
        resolve(undefined);
      },
      onLead() {
        const wasStandby = state.standby === "tab";
        update({ standby: null, status: { kind: "idle" } });
        if (wasStandby) console.info("[signer] taking over from the other tab");
        const started = call("connect", { bridgeUrl: url, options: connectOptions(state) });
        renderStatus();
        if (first) {
          started.then(resolve, reject);
        } else {
          started.catch((e) => showError("connect-error", errorMessage(e)));
        }
      },
    });
  });
}

/**
 * Stops signing (the worker's connection, or the wait as a standby) and
 * lets another tab take over.
 * @param {"disconnect" | "lock"} op the worker operation
 */
export async function stopSigning(op) {
  try {
    await call(op);
  } finally {
    // After the stream is closed, so that the next tab finds lnd free.
    leadership.release();
    update({ standby: null });
  }
}

export function bindConnection() {
  $("connect-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("connect-error", "");
    const note = $("connect-note");
    note.hidden = true;
    const btn = button("connect-btn");
    busy(btn, true);
    try {
      const bundle = await bundleFromForm();
      const macaroon = bundle ? null : await macaroonFromForm();
      const secret = bundle || macaroon;
      if (secret) {
        const pass = input("mac-pass").value;
        if (!pass) {
          showError("connect-error", `Type the vault passphrase to seal the ${bundle ? "bundle's " : ""}macaroon into the vault.`);
          $("mac-pass").focus();
          secret.fill(0);
          return;
        }
        $("connect-progress").hidden = false;
        await nextFrame();
        if (bundle) {
          const text = await importBundle(bundle, pass);
          note.textContent = text;
          note.hidden = !text;
        } else if (macaroon) {
          await sealMacaroon(macaroon, pass);
        }
        $("connect-progress").hidden = true;
      }
      const url = normalizeBridgeUrl(input("bridge-url").value);
      if (!url) {
        showError("connect-error", "Enter the bridge URL, e.g. https://signer.example.com");
        $("bridge-url").focus();
        return;
      }
      if (state.macaroonInfo && !state.macaroonInfo.leastPrivilege) {
        console.warn(`[signer] connecting with a macaroon that is not least-privilege: ${state.macaroonInfo.warning}`);
      }
      await store.setSetting("bridgeUrl", url);
      await startSigning(url);
    } catch (e) {
      showError("connect-error", errorMessage(e));
    } finally {
      $("connect-progress").hidden = true;
      busy(btn, false);
      renderStatus();
    }
  });

  $("disconnect-btn").addEventListener("click", async () => {
    await stopSigning("disconnect");
    update({ connected: false });
    renderStatus();
  });
}

/** Redraws the panel every second while connected (ages, countdown). */
export function startStatusClock() {
  setInterval(() => {
    if (state.connected) renderStatus();
  }, 1000);
}
