// @ts-check
// Unlock (vault passphrase → openVault in the worker), lock (button and
// auto-lock after idle time), and resuming the connection after an unlock.

import * as store from "../store.js";
import { $, busy, button, clearInputs, input, nextFrame, showError, toast } from "./dom.js";
import { errorMessage, isWrongPassphrase } from "./errors.js";
import { call } from "./rpc.js";
import { selectTab, show } from "./screens.js";
import { state, update } from "./state.js";
import { renderStatus, startSigning, stopSigning } from "./view-connection.js";
import { renderUnlockedInfo } from "./view-settings.js";

/** The unlock screen for the stored vault. */
export function openUnlock() {
  const meta = state.vault?.meta || {};
  const parts = [];
  if (meta.network) parts.push(meta.network);
  if (meta.fingerprint) parts.push(`key ${meta.fingerprint}`);
  $("unlock-meta").textContent = parts.length ? parts.join(" · ") : "Sealed vault";
  clearInputs("unlock-pass");
  showError("unlock-error", "");
  show("unlock", "unlock-pass");
}

/**
 * Opens the stored vault in the worker and shows the dashboard; reconnects
 * if the signer was connected when it was locked.
 * @param {string} passphrase
 */
export async function unlockWith(passphrase) {
  if (!state.vault) throw new Error("no vault is stored");
  /** @type {import("./state.js").UnlockedInfo} */
  const info = await call("unlock", { blob: state.vault.blob, passphrase });
  update({ unlocked: info, lastInput: Date.now() });
  await store.saveVaultMeta({ network: info.network, fingerprint: info.fingerprint, birthday: info.birthday });
  update({ vault: await store.loadVault() });
  renderUnlockedInfo();
  renderStatus();
  show("dashboard");
  console.info(`[signer] unlocked (${info.network}, key ${info.fingerprint})`);
  const resume = state.resumeUrl;
  update({ resumeUrl: null });
  if (resume) {
    selectTab("connection");
    await startSigning(resume);
    renderStatus();
    toast("Reconnecting to signer-bridge.");
  }
}

/**
 * Locks: the worker wipes the keys and stops the connection.
 * @param {string} reason e.g. "by the user"
 */
export async function lock(reason) {
  // Reconnect after the next unlock if the signer was connected.
  update({ resumeUrl: state.connected ? state.bridgeUrl : null });
  await stopSigning("lock");
  showLocked(reason);
}

/**
 * Shows the locked signer (the unlock screen). Also for a lock the host
 * did by itself (the extension's offscreen document: auto-lock, idle).
 * @param {string} reason
 */
export function showLocked(reason) {
  if (state.resumeUrl === null && state.connected) update({ resumeUrl: state.bridgeUrl });
  update({ unlocked: null, macaroonInfo: null, connected: false, standby: null, status: { kind: "idle" }, registeredAt: null, reconnectAt: null, lastError: null });
  clearInputs("mac-hex", "mac-pass", "mac-file");
  renderStatus();
  console.info(`[signer] locked (${reason})`);
  openUnlock();
  if (reason !== "by the user") toast(`Locked ${reason}.`);
}

export function bindUnlock() {
  $("unlock-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("unlock-error", "");
    const pass = input("unlock-pass").value;
    if (!pass) {
      showError("unlock-error", "Type the vault passphrase.");
      return;
    }
    const btn = button("unlock-btn");
    busy(btn, true);
    $("unlock-progress").hidden = false;
    try {
      await nextFrame();
      await unlockWith(pass);
      clearInputs("unlock-pass");
    } catch (e) {
      const message = errorMessage(e);
      showError("unlock-error", isWrongPassphrase(message) ? "Wrong passphrase. Try again." : message);
      input("unlock-pass").select();
      $("unlock-pass").focus();
    } finally {
      busy(btn, false);
      $("unlock-progress").hidden = true;
    }
  });

  $("lock-btn").addEventListener("click", () => lock("by the user"));
}

/** Starts the auto-lock: input events count as activity, checked every second. */
export function startAutolock() {
  for (const type of ["pointerdown", "keydown", "wheel", "touchstart"]) {
    window.addEventListener(type, () => { update({ lastInput: Date.now() }); }, { passive: true, capture: true });
  }
  setInterval(() => {
    if (!state.unlocked || !state.autolockMinutes) return;
    if (Date.now() - state.lastInput >= state.autolockMinutes * 60_000) {
      lock(`after ${state.autolockMinutes} min without activity`);
    }
  }, 1000);
}
