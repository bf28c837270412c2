// @ts-check
// Screens (one <section> each), the top bar and the dashboard's tabs.

import { $, el } from "./dom.js";
import { NETWORKS } from "./format.js";
import { state } from "./state.js";

export const SCREENS = ["loading", "welcome", "create", "words", "confirm", "import", "restore", "seal", "unlock", "dashboard"];
export const TABS = ["connection", "activity", "setup", "policy", "settings"];

/**
 * Shows one screen and moves the focus to `focusId` or its heading.
 * @param {string} name
 * @param {string} [focusId]
 */
export function show(name, focusId) {
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  const screen = $(`screen-${name}`);
  document.title = `${screen.dataset.title} · lnd web signer`;
  updateTopbar();
  const target = focusId ? $(focusId) : screen.querySelector("h1, h2");
  if (target instanceof HTMLElement) {
    if (!target.hasAttribute("tabindex") && /^H[12]$/.test(target.tagName)) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: false });
  }
  window.scrollTo(0, 0);
}

/** The loading screen with an error instead of the spinner. @param {string} text */
export function showFatal(text) {
  show("loading");
  $("loading-text").textContent = text;
  const spinner = document.querySelector("#screen-loading .spinner");
  if (spinner instanceof HTMLElement) spinner.hidden = true;
}

export function updateTopbar() {
  const badge = $("vault-badge");
  const lockBtn = $("lock-btn");
  if (state.unlocked) {
    badge.hidden = false;
    badge.className = "badge";
    badge.textContent = `${state.unlocked.network} · ${state.unlocked.fingerprint}`;
    badge.title = "Unlocked: network and master key fingerprint";
    lockBtn.hidden = false;
  } else if (state.vault) {
    badge.hidden = false;
    badge.className = "badge locked";
    badge.textContent = "Locked";
    badge.title = "";
    lockBtn.hidden = true;
  } else {
    badge.hidden = true;
    lockBtn.hidden = true;
  }
}

/**
 * Selects a dashboard tab (WAI-ARIA tabs).
 * @param {string} name
 * @param {boolean} [focus]
 */
export function selectTab(name, focus) {
  for (const t of TABS) {
    const tab = $(`tab-${t}`);
    const selected = t === name;
    tab.setAttribute("aria-selected", selected ? "true" : "false");
    tab.tabIndex = selected ? 0 : -1;
    $(`panel-${t}`).hidden = !selected;
  }
  if (focus) $(`tab-${name}`).focus();
}

/** Wires what every screen shares: stale errors, network lists, tab keys. */
export function bindScreens() {
  // A stale error goes away as soon as the user edits the form again.
  for (const form of document.querySelectorAll("form")) {
    form.addEventListener("input", () => {
      for (const e of form.querySelectorAll(".error[role='alert']")) /** @type {HTMLElement} */ (e).hidden = true;
    });
  }
  for (const sel of document.querySelectorAll(".network-select")) {
    for (const [value, label] of NETWORKS) sel.append(el("option", { value, text: label }));
  }
  for (const t of TABS) {
    const tab = $(`tab-${t}`);
    tab.addEventListener("click", () => selectTab(t));
    tab.addEventListener("keydown", (ev) => {
      const i = TABS.indexOf(t);
      let j = null;
      if (ev.key === "ArrowRight") j = (i + 1) % TABS.length;
      else if (ev.key === "ArrowLeft") j = (i + TABS.length - 1) % TABS.length;
      else if (ev.key === "Home") j = 0;
      else if (ev.key === "End") j = TABS.length - 1;
      if (j !== null) {
        ev.preventDefault();
        selectTab(TABS[j], true);
      }
    });
  }
}
