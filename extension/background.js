// @ts-check
// The extension's service worker: it owns nothing secret and keeps no
// state (the browser stops it when idle). It only opens and closes the
// offscreen document — where the signer's worker lives — for the popup,
// and passes the system's idle and screen-lock events on to it
// (docs/extension.md).

/// <reference types="chrome" />

const OFFSCREEN_URL = "offscreen.html";

/** @type {Promise<void> | null} one creation at a time */
let creating = null;

async function hasOffscreen() {
  // chrome.offscreen.hasDocument (Chrome 116+); getContexts as the fallback.
  if (typeof chrome.offscreen.hasDocument === "function") return chrome.offscreen.hasDocument();
  const contexts = await chrome.runtime.getContexts({ contextTypes: ["OFFSCREEN_DOCUMENT"] });
  return contexts.length > 0;
}

async function ensureOffscreen() {
  if (await hasOffscreen()) return;
  if (!creating) {
    creating = chrome.offscreen.createDocument({
      url: OFFSCREEN_URL,
      // WORKERS: the offscreen document exists to own the dedicated Worker
      // that holds the unlocked keys in its wasm memory and keeps signing
      // while the popup is closed (a service worker cannot: the browser
      // stops it when idle, and it cannot start a Worker).
      reasons: [chrome.offscreen.Reason.WORKERS],
      justification: "Runs the signer's worker (the unlocked keys) while the popup is closed.",
    }).finally(() => { creating = null; });
  }
  await creating;
}

chrome.runtime.onMessage.addListener((msg, _sender, sendResponse) => {
  const type = msg && typeof msg === "object" ? msg.type : null;
  if (type === "lws:ensure-offscreen") {
    ensureOffscreen().then(() => sendResponse({ ok: true }), (e) => sendResponse({ ok: false, error: String(e?.message || e) }));
    return true;
  }
  if (type === "lws:close-offscreen") {
    hasOffscreen()
      .then((has) => (has ? chrome.offscreen.closeDocument() : undefined))
      .then(() => sendResponse({ ok: true }), (e) => sendResponse({ ok: false, error: String(e?.message || e) }));
    return true;
  }
  if (type === "lws:approval") {
    // A request waits for the user's approval: the badge says so, and the
    // popup opens where the browser allows it (chrome.action.openPopup,
    // Chrome 127+, needs a focused window); unanswered, it is refused.
    const waiting = Math.max(0, Number(msg.waiting) || 0);
    chrome.action.setBadgeText({ text: waiting ? String(waiting) : "" }).catch(() => {});
    chrome.action.setBadgeBackgroundColor({ color: "#c22c2c" }).catch(() => {});
    if (waiting && msg.asked && typeof chrome.action.openPopup === "function") {
      chrome.action.openPopup().catch(() => {});
    }
    sendResponse({ ok: true });
    return false;
  }
  if (type === "lws:idle-interval") {
    // chrome.idle's smallest interval is 15 s.
    chrome.idle.setDetectionInterval(Math.max(15, Math.floor(Number(msg.seconds) || 0)));
    sendResponse({ ok: true });
    return false;
  }
  return false;
});

// The screen locked, or no input anywhere for the auto-lock time: the
// offscreen document locks (when it runs; nothing to lock otherwise).
chrome.idle.onStateChanged.addListener((state) => {
  if (state === "locked" || state === "idle") {
    chrome.runtime.sendMessage({ type: "lws:idle", state }).catch(() => {});
  }
});
