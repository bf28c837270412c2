// @ts-check
// The extension popup's entry: the tab's views (web/lib/, the same
// modules) booted on a relay to the signer's worker in the offscreen
// document (relay.js), so closing the popup stops nothing. Reopened, it
// shows the live status and activity the offscreen document kept.
// Auto-lock runs in the offscreen document (input here resets its clock);
// one signer per node needs no tab election here (the extension has one
// worker); the bridge's origin is asked for as an optional host permission
// when the user connects.

/// <reference types="chrome" />

import { createLeadership } from "./lib/leader.js";
import { run } from "./lib/main.js";
import { normalizeBridgeUrl } from "./lib/parse.js";
import { showLocked } from "./lib/view-unlock.js";
import { createRelay } from "./relay.js";

document.documentElement.classList.add("popup");

const relay = createRelay({ onLocked: (reason) => showLocked(reason) });

// Input in the popup is activity for the offscreen auto-lock (at most every 5 s).
let lastPing = 0;
for (const type of ["pointerdown", "keydown", "wheel"]) {
  window.addEventListener(type, () => {
    if (Date.now() - lastPing < 5000) return;
    lastPing = Date.now();
    relay.input();
  }, { passive: true, capture: true });
}

// The bridge's origin as an optional host permission, asked for in the
// click itself (a permission request needs the user's gesture). Connecting
// does not wait for it: signer-bridge allows this extension's origin
// (--allow-origin chrome-extension://ID), which is enough without it.
document.getElementById("connect-btn")?.addEventListener("click", () => {
  const field = /** @type {HTMLInputElement | null} */ (document.getElementById("bridge-url"));
  const url = normalizeBridgeUrl(field?.value ?? "");
  if (!url) return;
  const origins = [`${new URL(url).origin}/*`];
  chrome.permissions.contains({ origins })
    .then((has) => (has ? true : chrome.permissions.request({ origins })))
    .then((granted) => console.info(`[signer] host permission for ${origins[0]}: ${granted ? "granted" : "not granted (the bridge's CORS allowance is used)"}`))
    .catch((e) => console.info(`[signer] host permission for ${origins[0]} not requested: ${e?.message || e}`));
});

run(relay, {
  leadership: createLeadership(null),
  pageAutolock: false,
  liveState: () => relay.liveState(),
});
