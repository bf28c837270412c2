// @ts-check
// The signer tab's entry: starts the signer worker, wires the views and
// boots. Everything that touches keys runs in signer-worker.js (wasm); the
// page only moves public data, the user's typed secrets on their way to the
// worker, and the sealed vault bytes on their way to IndexedDB. The modules
// in lib/ do nothing on import (an extension popup can reuse them with its
// own entry); this file is the only one with side effects.

import * as store from "./store.js";
import { $ } from "./lib/dom.js";
import { errorMessage } from "./lib/errors.js";
import { setKindTable } from "./lib/format.js";
import { attach, call } from "./lib/rpc.js";
import { bindScreens, show, showFatal } from "./lib/screens.js";
import { bindBackButtons } from "./lib/seed-forms.js";
import { update, state } from "./lib/state.js";
import { bindActivity, onActivity, onInspector, renderActivity } from "./lib/view-activity.js";
import { bindConnection, onAttachEnd, onStatus, renderStatus, startStatusClock } from "./lib/view-connection.js";
import { bindCreate } from "./lib/view-create.js";
import { bindImport } from "./lib/view-import.js";
import { bindSeal } from "./lib/view-seal.js";
import { bindSettings, loadSettings } from "./lib/view-settings.js";
import { bindUnlock, openUnlock, startAutolock } from "./lib/view-unlock.js";

attach(new Worker(new URL("./signer-worker.js", import.meta.url), { type: "module" }), {
  onEvent(ev) {
    if (ev.event === "status") onStatus(ev.status);
    else if (ev.event === "activity") onActivity(ev.entry);
    else if (ev.event === "attachEnd") onAttachEnd(ev.end);
    else if (ev.event === "inspector") onInspector(ev);
  },
  onError: showFatal,
});

bindScreens();
bindBackButtons();
bindCreate();
bindImport();
bindSeal();
bindUnlock();
bindConnection();
bindActivity();
bindSettings();
startAutolock();
startStatusClock();

async function boot() {
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("sw.js").catch((e) => console.warn(`[signer] offline cache unavailable: ${errorMessage(e)}`));
  }
  try {
    /** @type {{ version: string, wasmSha256: string, kinds: import("./pkg/lnd_web_signer.js").KindInfo[] }} */
    const { version, wasmSha256, kinds } = await call("init");
    setKindTable(kinds);
    update({ version, wasmSha256 });
    $("info-wasm-sha256").textContent = wasmSha256;
  } catch (e) {
    showFatal(`The signer could not load its WebAssembly module: ${errorMessage(e)}`);
    return;
  }
  await loadSettings();
  update({ vault: await store.loadVault() });
  renderActivity();
  renderStatus();
  if (state.vault) openUnlock();
  else show("welcome");
  document.documentElement.dataset.ready = "true";
}

boot();
