// @ts-check
// Settings tab (auto-lock, the idle watchdog, what is unlocked, the vault
// file, wipe) and the Watch-only setup tab (accounts.json).

import * as store from "../store.js";
import { $, button, download, el, input, select, toast } from "./dom.js";
import { errorMessage } from "./errors.js";
import { formatDate, idleLimitText } from "./format.js";
import { call } from "./rpc.js";
import { show } from "./screens.js";
import { newCounters, state, update } from "./state.js";
import { renderActivity } from "./view-activity.js";
import { renderPolicy } from "./view-policy.js";
import { refreshMacaroonInfo, renderStatus, stopSigning } from "./view-connection.js";

/** Reads the stored settings into the store and the form fields. */
export async function loadSettings() {
  update({
    autolockMinutes: Number(await store.getSetting("autolockMinutes", 30)),
    healthIntervalSecs: Number(await store.getSetting("healthIntervalSecs", 60)),
    idleMultiple: Number(await store.getSetting("idleMultiple", 3)),
    showPings: Boolean(await store.getSetting("showPings", false)),
    bridgeUrl: await store.getSetting("bridgeUrl", ""),
  });
  select("autolock").value = String(state.autolockMinutes);
  select("health-interval").value = String(state.healthIntervalSecs);
  select("idle-multiple").value = String(state.idleMultiple);
  input("show-pings").checked = state.showPings;
  input("bridge-url").value = state.bridgeUrl;
}

export function renderUnlockedInfo() {
  const u = state.unlocked;
  if (!u) return;
  $("info-network").textContent = u.network;
  $("info-fingerprint").textContent = u.fingerprint;
  $("info-birthday").textContent = formatDate(u.birthday);
  $("info-version").textContent = state.version;
  $("accounts-meta").textContent = `Network ${u.network} · master key fingerprint ${u.fingerprint}`;
  void renderBirthday();
  void refreshMacaroonInfo();
  void renderPolicy();
}

/** The wallet birthday for lncli createwatchonly (none for an xprv). */
async function renderBirthday() {
  try {
    /** @type {import("../pkg/lnd_web_signer.js").WalletBirthday} */
    const b = await call("walletBirthday");
    $("accounts-birthday").replaceChildren(el("strong", { text: b.lines[0] }), el("br"), el("span", { text: b.lines[1] }));
  } catch (e) {
    $("accounts-birthday").textContent = `Wallet birthday unavailable: ${errorMessage(e)}`;
  }
}

function idleToast() {
  return `Reconnect after ${idleLimitText(state.healthIntervalSecs, state.idleMultiple)} without a message from lnd (from the next connect).`;
}

function wipeDialog() {
  return /** @type {HTMLDialogElement} */ ($("wipe-dialog"));
}

function openWipe() {
  input("wipe-confirm").value = "";
  button("wipe-do").disabled = true;
  wipeDialog().showModal();
  $("wipe-confirm").focus();
}

const wipeConfirmed = () => input("wipe-confirm").value.trim().toUpperCase() === "WIPE";

export function bindSettings() {
  $("health-interval").addEventListener("change", async () => {
    update({ healthIntervalSecs: Number(select("health-interval").value) });
    await store.setSetting("healthIntervalSecs", state.healthIntervalSecs);
    toast(state.idleMultiple ? idleToast() : "Health-check interval saved.");
  });

  $("idle-multiple").addEventListener("change", async () => {
    update({ idleMultiple: Number(select("idle-multiple").value) });
    await store.setSetting("idleMultiple", state.idleMultiple);
    toast(state.idleMultiple ? idleToast() : "No reconnect for silence.");
  });

  $("autolock").addEventListener("change", async () => {
    update({ autolockMinutes: Number(select("autolock").value) });
    await store.setSetting("autolockMinutes", state.autolockMinutes);
    toast(state.autolockMinutes ? `Auto-lock after ${state.autolockMinutes} min.` : "Auto-lock off.");
  });

  $("wipe-btn").addEventListener("click", openWipe);
  $("unlock-wipe").addEventListener("click", openWipe);
  $("wipe-cancel").addEventListener("click", () => wipeDialog().close());
  $("wipe-confirm").addEventListener("input", () => {
    button("wipe-do").disabled = !wipeConfirmed();
  });
  $("wipe-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!wipeConfirmed()) return;
    wipeDialog().close();
    await stopSigning("lock");
    await store.wipeVault();
    update({
      resumeUrl: null, vault: null, unlocked: null, macaroonInfo: null, connected: false, status: { kind: "idle" },
      activity: [], counters: newCounters(), detailsOff: null,
    });
    renderActivity();
    renderStatus();
    console.info("[signer] vault wiped");
    toast("The vault was wiped from this browser.");
    show("welcome");
  });

  $("download-accounts").addEventListener("click", async () => {
    try {
      /** @type {string} */
      const json = await call("accounts");
      download("accounts.json", json.endsWith("\n") ? json : `${json}\n`, "application/json");
      toast("accounts.json downloaded.");
    } catch (e) {
      toast(`Could not export the accounts: ${errorMessage(e)}`);
    }
  });

  for (const [id, b64] of /** @type {const} */ ([["download-bundle-b64", true], ["download-bundle", false]])) {
    $(id).addEventListener("click", async () => {
      try {
        /** @type {import("../pkg/lnd_web_signer.js").WatchOnlyBundleFiles} */
        const b = await call("watchOnlyBundle");
        if (b64) download("credentials-bundle.tar.gz.b64", b.b64, "text/plain");
        else download("credentials-bundle.tar.gz", new Uint8Array(b.tarGz), "application/gzip");
        toast(`credentials-bundle.tar.gz${b64 ? ".b64" : ""} downloaded.`);
      } catch (e) {
        toast(`Could not build the bundle: ${errorMessage(e)}`);
      }
    });
  }

  $("download-vault").addEventListener("click", () => {
    if (!state.vault) return;
    const fp = state.vault.meta?.fingerprint || "signer";
    download(`lnd-signer-${fp}.vault`, state.vault.blob, "application/octet-stream");
  });
}
