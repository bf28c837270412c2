// The signer tab: screens, forms and the status/activity views. Everything
// that touches keys runs in signer-worker.js (wasm); this file only moves
// public data, the user's typed secrets on their way to the worker, and the
// sealed vault bytes on their way to IndexedDB.

import * as store from "./store.js";
import { passphraseStrength } from "./strength.js";

const $ = (id) => document.getElementById(id);

const NETWORKS = [
  ["mainnet", "Bitcoin mainnet"],
  ["testnet", "testnet3"],
  ["testnet4", "testnet4"],
  ["signet", "signet"],
  ["regtest", "regtest"],
  ["simnet", "simnet"],
];

const KIND_NAMES = {
  sign_psbt: "Sign PSBT",
  sign_message: "Sign message",
  shared_key: "Shared key (ECDH)",
  musig2_create_session: "MuSig2 session",
  musig2_register_nonces: "MuSig2 register nonces",
  musig2_register_combined_nonce: "MuSig2 combined nonce",
  musig2_get_combined_nonce: "MuSig2 get combined nonce",
  musig2_sign: "MuSig2 sign",
  musig2_combine_sig: "MuSig2 combine signatures",
  musig2_cleanup: "MuSig2 cleanup",
  ping: "Ping",
};

// lnd's key families (keychain/derivation.go).
const FAMILY_NAMES = {
  0: "multisig",
  1: "revocation base",
  2: "HTLC base",
  3: "payment base",
  4: "delay base",
  5: "revocation root",
  6: "node key",
  7: "backup key",
  8: "tower session",
  9: "tower id",
};

// ---- worker RPC --------------------------------------------------------------

const worker = new Worker(new URL("./signer-worker.js", import.meta.url), { type: "module" });
let nextCallId = 1;
const calls = new Map();

worker.onmessage = (ev) => {
  const msg = ev.data;
  if (msg.event === "status") return onStatus(msg.status);
  if (msg.event === "activity") return onActivity(msg.entry);
  if (msg.event === "attachEnd") return onAttachEnd(msg.end);
  if (msg.event === "inspector") return onInspector(msg);
  const pending = calls.get(msg.id);
  if (!pending) return;
  calls.delete(msg.id);
  if (msg.ok) pending.resolve(msg.result);
  else pending.reject(new Error(msg.error));
};
worker.onerror = (ev) => {
  showFatal(`The signer worker failed to start: ${ev.message || "unknown error"}`);
};

/** Calls an op of the worker; `transfer` moves buffers instead of copying them. */
function call(op, args, transfer = []) {
  const id = nextCallId++;
  return new Promise((resolve, reject) => {
    calls.set(id, { resolve, reject });
    worker.postMessage({ id, op, args }, transfer);
  });
}

// ---- state -----------------------------------------------------------------------

const state = {
  vault: null, // { blob, meta } from IndexedDB
  unlocked: null, // { network, birthday, fingerprint, hasMacaroon }
  sealSource: null, // what the seal screen seals: { source, ...}
  confirmPositions: [],
  version: "",
  autolockMinutes: 30,
  healthIntervalSecs: 60, // lnd's healthcheck.remotesigner.interval
  idleMultiple: 3, // idle watchdog: reconnect after this many silent intervals (0: never)
  lastInput: Date.now(),
  connected: false,
  status: { kind: "idle" },
  registeredAt: null,
  lastPingAt: null,
  reconnectAt: null,
  lastError: null,
  bridgeUrl: "",
  activity: [], // the latest MAX_KEPT entries (requests and pings), oldest first
  counters: newCounters(), // over every entry since the page loaded, kept or dropped
  detailsOff: null, // { reason, at } while the worker cannot describe requests
  showPings: false,
};

function newCounters() {
  return { requests: 0, psbt: 0, errors: 0, pings: 0, latencySum: 0, byKind: {}, dropped: 0 };
}

// ---- helpers ---------------------------------------------------------------------

function showError(id, text) {
  const el = $(id);
  el.textContent = text;
  el.hidden = !text;
}

let toastTimer = null;
function toast(text) {
  const el = $("toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { el.hidden = true; }, 3500);
}

function showFatal(text) {
  show("loading");
  $("loading-text").textContent = text;
  document.querySelector("#screen-loading .spinner").hidden = true;
}

function busy(button, on) {
  button.disabled = on;
  button.setAttribute("aria-busy", on ? "true" : "false");
}

/** Lets the browser paint (a spinner) before posting work. */
function nextFrame() {
  return new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
}

function download(name, data, type) {
  const blob = new Blob([data], { type });
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function formatSat(n) {
  if (n === null || n === undefined) return "?";
  // Amounts above 2^53 - 1 come as decimal strings (never valid; shown exactly).
  const v = typeof n === "string" ? BigInt(n) : n;
  return `${v.toLocaleString("en-US")} sat`;
}

function formatDate(unixSeconds) {
  return new Date(unixSeconds * 1000).toISOString().slice(0, 10);
}

function ago(ms) {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 2) return "just now";
  if (s < 60) return `${s} s ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ago`;
  return `${Math.floor(m / 60)} h ago`;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function clearInputs(...ids) {
  for (const id of ids) {
    const input = $(id);
    if (input.type === "checkbox") input.checked = false;
    else input.value = "";
  }
}

// ---- screens ---------------------------------------------------------------------

const SCREENS = ["loading", "welcome", "create", "words", "confirm", "import", "restore", "seal", "unlock", "dashboard"];

function show(name, focusId) {
  for (const s of SCREENS) $(`screen-${s}`).hidden = s !== name;
  const screen = $(`screen-${name}`);
  document.title = `${screen.dataset.title} · lnd web signer`;
  updateTopbar();
  const target = focusId ? $(focusId) : screen.querySelector("h1, h2");
  if (target) {
    if (!target.hasAttribute("tabindex") && /^H[12]$/.test(target.tagName)) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: false });
  }
  window.scrollTo(0, 0);
}

function updateTopbar() {
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

// A stale error goes away as soon as the user edits the form again.
for (const form of document.querySelectorAll("form")) {
  form.addEventListener("input", () => {
    for (const e of form.querySelectorAll(".error[role='alert']")) e.hidden = true;
  });
}

for (const b of document.querySelectorAll("[data-back]")) {
  b.addEventListener("click", () => {
    // Leaving a form forgets what was typed into it (seed words, keys).
    for (const i of b.closest("section").querySelectorAll("input:not([type=radio]):not([type=checkbox]), textarea")) i.value = "";
    if (b.closest("#screen-import")) clearImportForm();
    state.sealSource = null;
    show(b.dataset.back);
  });
}

for (const sel of document.querySelectorAll(".network-select")) {
  for (const [value, label] of NETWORKS) sel.append(el("option", { value, text: label }));
}

// ---- first run: welcome ------------------------------------------------------------

$("choose-create").addEventListener("click", () => {
  showError("create-error", "");
  show("create", "create-network");
});
$("choose-import").addEventListener("click", () => {
  showError("import-error", "");
  show("import", "import-network");
});
$("choose-restore").addEventListener("click", () => {
  showError("restore-error", "");
  show("restore", "restore-file");
});

// ---- create ---------------------------------------------------------------------------

$("create-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const btn = $("create-btn");
  busy(btn, true);
  btn.textContent = "Generating…";
  showError("create-error", "");
  try {
    await nextFrame();
    const network = $("create-network").value;
    const seed = await call("createSeed", { network, aezeedPassphrase: $("create-aezeed-pass").value });
    clearInputs("create-aezeed-pass");
    state.sealSource = { source: "pending", network };
    const list = $("seed-words");
    list.replaceChildren(...seed.words.map((w) => el("li", { text: w })));
    $("seed-birthday").textContent = `Network ${network} · wallet birthday ${formatDate(seed.birthday)}`;
    $("words-written").checked = false;
    $("words-continue").disabled = true;
    show("words");
  } catch (e) {
    showError("create-error", e.message);
  } finally {
    busy(btn, false);
    btn.textContent = "Generate seed";
  }
});

$("words-written").addEventListener("change", () => {
  $("words-continue").disabled = !$("words-written").checked;
});

function forgetShownWords() {
  $("seed-words").replaceChildren();
  $("seed-birthday").textContent = "";
  $("words-written").checked = false;
}

async function abandonNewSeed() {
  forgetShownWords();
  clearConfirmFields();
  state.sealSource = null;
  await call("discardSeed");
}

$("words-cancel").addEventListener("click", async () => {
  await abandonNewSeed();
  show("welcome");
});

function pickPositions(n, max) {
  const picked = new Set();
  const buf = new Uint32Array(1);
  while (picked.size < n) {
    crypto.getRandomValues(buf);
    picked.add((buf[0] % max) + 1);
  }
  return [...picked].sort((a, b) => a - b);
}

function clearConfirmFields() {
  $("confirm-fields").replaceChildren();
  showError("confirm-error", "");
}

$("words-continue").addEventListener("click", () => {
  // The words are shown once: they leave the page before the confirmation.
  forgetShownWords();
  state.confirmPositions = pickPositions(3, 24);
  const fields = state.confirmPositions.map((p) =>
    el("label", { class: "field" },
      el("span", { class: "label", text: `Word #${p}` }),
      el("input", { type: "text", id: `confirm-word-${p}`, autocomplete: "off", autocapitalize: "off", spellcheck: "false", "data-position": String(p) })));
  $("confirm-fields").replaceChildren(...fields);
  showError("confirm-error", "");
  show("confirm", `confirm-word-${state.confirmPositions[0]}`);
});

$("confirm-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const inputs = [...$("confirm-fields").querySelectorAll("input")];
  const answers = inputs.map((i) => ({ position: Number(i.dataset.position), word: i.value }));
  if (answers.some((a) => !a.word.trim())) {
    showError("confirm-error", "Type all the requested words.");
    return;
  }
  try {
    const { wrong } = await call("checkWords", { answers });
    for (const i of inputs) i.setAttribute("aria-invalid", wrong.includes(Number(i.dataset.position)) ? "true" : "false");
    if (wrong.length) {
      showError("confirm-error", `Word${wrong.length > 1 ? "s" : ""} #${wrong.join(", #")} ${wrong.length > 1 ? "do" : "does"} not match. Check your copy; the words cannot be shown again.`);
      return;
    }
    clearConfirmFields();
    openSeal("New seed · step 4 of 4");
  } catch (e) {
    showError("confirm-error", e.message);
  }
});

$("confirm-restart").addEventListener("click", async () => {
  await abandonNewSeed();
  show("create", "create-network");
});

// ---- import ---------------------------------------------------------------------------

function importKind() {
  return document.querySelector('input[name="import-kind"]:checked').value;
}

for (const r of document.querySelectorAll('input[name="import-kind"]')) {
  r.addEventListener("change", () => {
    const aezeed = importKind() === "aezeed";
    $("import-aezeed-fields").hidden = !aezeed;
    $("import-xprv-fields").hidden = aezeed;
    showError("import-error", "");
  });
}

function wordsOf(text) {
  return text.trim().toLowerCase().split(/[\s,]+/).filter(Boolean).map((w) => w.replace(/^\d+[.)]/, "")).filter(Boolean);
}

$("import-words").addEventListener("input", () => {
  const n = wordsOf($("import-words").value).length;
  const c = $("import-word-count");
  c.textContent = `${n} / 24`;
  c.classList.toggle("done", n === 24);
});

$("import-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  showError("import-error", "");
  const network = $("import-network").value;
  if (importKind() === "aezeed") {
    const words = wordsOf($("import-words").value);
    if (words.length !== 24) {
      showError("import-error", `An aezeed has 24 words; ${words.length} given.`);
      return;
    }
    state.sealSource = { source: "aezeed", network, words, aezeedPassphrase: $("import-aezeed-pass").value };
  } else {
    const xprv = $("import-xprv").value.trim();
    if (!xprv) {
      showError("import-error", "Paste the extended private key.");
      return;
    }
    state.sealSource = { source: "xprv", network, xprv };
  }
  openSeal("Import · step 2 of 2");
});

function clearImportForm() {
  clearInputs("import-words", "import-aezeed-pass", "import-xprv");
  $("import-word-count").textContent = "0 / 24";
  $("import-word-count").classList.remove("done");
}

// ---- restore a vault file ---------------------------------------------------------

$("restore-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("restore-error", "");
  const file = $("restore-file").files[0];
  if (!file) {
    showError("restore-error", "Choose a vault file.");
    return;
  }
  const btn = $("restore-btn");
  busy(btn, true);
  try {
    const blob = new Uint8Array(await file.arrayBuffer());
    await call("vaultInfo", { blob });
    await store.saveVault(blob, { restoredFrom: file.name });
    state.vault = await store.loadVault();
    clearInputs("restore-file");
    toast("Vault restored. Unlock it with its passphrase.");
    openUnlock();
  } catch (e) {
    showError("restore-error", `This is not a usable vault file: ${e.message}`);
  } finally {
    busy(btn, false);
  }
});

// ---- seal ---------------------------------------------------------------------------------

function openSeal(stepText) {
  $("seal-step").textContent = stepText;
  clearInputs("seal-pass", "seal-pass2");
  updateStrength();
  showError("seal-error", "");
  show("seal", "seal-pass");
}

function updateStrength() {
  const p = $("seal-pass").value;
  const s = passphraseStrength(p);
  const bar = $("seal-strength-bar");
  bar.dataset.score = p ? String(Math.max(1, s.score)) : "0";
  $("seal-strength-text").textContent = p ? `${s.label}. ${s.hint}` : "At least 8 characters. Several unrelated words make a strong passphrase.";
}
$("seal-pass").addEventListener("input", updateStrength);

$("seal-cancel").addEventListener("click", async () => {
  const pending = state.sealSource?.source === "pending";
  state.sealSource = null;
  clearInputs("seal-pass", "seal-pass2");
  clearImportForm();
  if (pending) await abandonNewSeed();
  show("welcome");
});

$("seal-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("seal-error", "");
  const pass = $("seal-pass").value;
  if (pass.length < 8) {
    showError("seal-error", "The vault passphrase needs at least 8 characters.");
    $("seal-pass").focus();
    return;
  }
  if (pass !== $("seal-pass2").value) {
    showError("seal-error", "The two passphrases differ.");
    $("seal-pass2").focus();
    return;
  }
  if (!state.sealSource) {
    showError("seal-error", "Nothing to seal: start over.");
    return;
  }
  const btn = $("seal-btn");
  busy(btn, true);
  $("seal-progress").hidden = false;
  try {
    await nextFrame();
    const blob = await call("seal", { ...state.sealSource, vaultPassphrase: pass });
    await store.saveVault(blob, { network: state.sealSource.network });
    // The seed is sealed: drop every copy the page had.
    state.sealSource = null;
    clearInputs("seal-pass", "seal-pass2");
    clearImportForm();
    forgetShownWords();
    state.vault = await store.loadVault();
    $("seal-progress").querySelector("span").textContent = "Unlocking…";
    await unlockWith(pass);
    selectTab("setup");
    toast("Vault sealed and stored in this browser.");
  } catch (e) {
    showError("seal-error", e.message);
  } finally {
    busy(btn, false);
    $("seal-progress").hidden = true;
    $("seal-progress").querySelector("span").textContent = "Sealing the vault…";
  }
});

// ---- unlock / lock ----------------------------------------------------------------------

function openUnlock() {
  const meta = state.vault?.meta || {};
  const parts = [];
  if (meta.network) parts.push(meta.network);
  if (meta.fingerprint) parts.push(`key ${meta.fingerprint}`);
  $("unlock-meta").textContent = parts.length ? parts.join(" · ") : "Sealed vault";
  clearInputs("unlock-pass");
  showError("unlock-error", "");
  show("unlock", "unlock-pass");
}

async function unlockWith(passphrase) {
  const info = await call("unlock", { blob: state.vault.blob, passphrase });
  state.unlocked = info;
  state.lastInput = Date.now();
  await store.saveVaultMeta({ network: info.network, fingerprint: info.fingerprint, birthday: info.birthday });
  state.vault = await store.loadVault();
  renderUnlockedInfo();
  renderStatus();
  show("dashboard");
  console.info(`[signer] unlocked (${info.network}, key ${info.fingerprint})`);
  const resume = state.resumeUrl;
  state.resumeUrl = null;
  if (resume) {
    selectTab("connection");
    state.connected = true;
    state.lastError = null;
    await call("connect", { bridgeUrl: resume, options: connectOptions() });
    renderStatus();
    toast("Reconnecting to signer-bridge.");
  }
}

$("unlock-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("unlock-error", "");
  const pass = $("unlock-pass").value;
  if (!pass) {
    showError("unlock-error", "Type the vault passphrase.");
    return;
  }
  const btn = $("unlock-btn");
  busy(btn, true);
  $("unlock-progress").hidden = false;
  try {
    await nextFrame();
    await unlockWith(pass);
    clearInputs("unlock-pass");
  } catch (e) {
    const wrong = /wrong passphrase/i.test(e.message);
    showError("unlock-error", wrong ? "Wrong passphrase. Try again." : e.message);
    $("unlock-pass").select();
    $("unlock-pass").focus();
  } finally {
    busy(btn, false);
    $("unlock-progress").hidden = true;
  }
});

async function lock(reason) {
  // Reconnect after the next unlock if the signer was connected.
  state.resumeUrl = state.connected ? state.bridgeUrl : null;
  await call("lock");
  state.unlocked = null;
  state.connected = false;
  state.status = { kind: "idle" };
  state.registeredAt = null;
  state.reconnectAt = null;
  state.lastError = null;
  clearInputs("mac-hex", "mac-pass", "mac-file");
  renderStatus();
  console.info(`[signer] locked (${reason})`);
  openUnlock();
  if (reason !== "by the user") toast(`Locked ${reason}.`);
}

$("lock-btn").addEventListener("click", () => lock("by the user"));

// Auto-lock after the configured idle time.
for (const type of ["pointerdown", "keydown", "wheel", "touchstart"]) {
  window.addEventListener(type, () => { state.lastInput = Date.now(); }, { passive: true, capture: true });
}
setInterval(() => {
  if (!state.unlocked || !state.autolockMinutes) return;
  if (Date.now() - state.lastInput >= state.autolockMinutes * 60_000) {
    lock(`after ${state.autolockMinutes} min without activity`);
  }
}, 1000);

// The idle watchdog's settings, passed to UnlockedSigner.connect.
function connectOptions() {
  return { healthCheckIntervalMs: state.healthIntervalSecs * 1000, idleMultiple: state.idleMultiple };
}

function idleLimitText() {
  const secs = state.healthIntervalSecs * state.idleMultiple;
  return secs >= 120 && secs % 60 === 0 ? `${secs / 60} min` : `${secs} s`;
}

$("health-interval").addEventListener("change", async () => {
  state.healthIntervalSecs = Number($("health-interval").value);
  await store.setSetting("healthIntervalSecs", state.healthIntervalSecs);
  toast(state.idleMultiple ? `Reconnect after ${idleLimitText()} without a message from lnd (from the next connect).` : "Health-check interval saved.");
});

$("idle-multiple").addEventListener("change", async () => {
  state.idleMultiple = Number($("idle-multiple").value);
  await store.setSetting("idleMultiple", state.idleMultiple);
  toast(state.idleMultiple ? `Reconnect after ${idleLimitText()} without a message from lnd (from the next connect).` : "No reconnect for silence.");
});

$("autolock").addEventListener("change", async () => {
  state.autolockMinutes = Number($("autolock").value);
  await store.setSetting("autolockMinutes", state.autolockMinutes);
  toast(state.autolockMinutes ? `Auto-lock after ${state.autolockMinutes} min.` : "Auto-lock off.");
});

// ---- wipe ---------------------------------------------------------------------------------

function openWipe() {
  $("wipe-confirm").value = "";
  $("wipe-do").disabled = true;
  $("wipe-dialog").showModal();
  $("wipe-confirm").focus();
}
$("wipe-btn").addEventListener("click", openWipe);
$("unlock-wipe").addEventListener("click", openWipe);
$("wipe-cancel").addEventListener("click", () => $("wipe-dialog").close());
$("wipe-confirm").addEventListener("input", () => {
  $("wipe-do").disabled = $("wipe-confirm").value.trim().toUpperCase() !== "WIPE";
});
$("wipe-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  if ($("wipe-confirm").value.trim().toUpperCase() !== "WIPE") return;
  $("wipe-dialog").close();
  await call("lock");
  await store.wipeVault();
  state.resumeUrl = null;
  state.vault = null;
  state.unlocked = null;
  state.connected = false;
  state.status = { kind: "idle" };
  state.activity = [];
  state.counters = newCounters();
  state.detailsOff = null;
  renderActivity();
  renderStatus();
  console.info("[signer] vault wiped");
  toast("The vault was wiped from this browser.");
  show("welcome");
});

// ---- dashboard tabs ----------------------------------------------------------------------

const TABS = ["connection", "activity", "setup", "settings"];

function selectTab(name, focus) {
  for (const t of TABS) {
    const tab = $(`tab-${t}`);
    const on = t === name;
    tab.setAttribute("aria-selected", on ? "true" : "false");
    tab.tabIndex = on ? 0 : -1;
    $(`panel-${t}`).hidden = !on;
  }
  if (focus) $(`tab-${name}`).focus();
}

for (const t of TABS) {
  $(`tab-${t}`).addEventListener("click", () => selectTab(t));
  $(`tab-${t}`).addEventListener("keydown", (ev) => {
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

function renderUnlockedInfo() {
  const u = state.unlocked;
  if (!u) return;
  $("info-network").textContent = u.network;
  $("info-fingerprint").textContent = u.fingerprint;
  $("info-birthday").textContent = formatDate(u.birthday);
  $("info-version").textContent = state.version;
  $("accounts-meta").textContent = `Network ${u.network} · master key fingerprint ${u.fingerprint} · birthday ${formatDate(u.birthday)}`;
  renderMacaroonState();
}

function renderMacaroonState() {
  const has = state.unlocked?.hasMacaroon;
  const m = $("mac-state");
  m.replaceChildren(has
    ? el("span", { class: "ok", text: "✓ Stored sealed in the vault" })
    : el("span", { text: "None stored yet. Add the macaroon baked with remotesigner:generate." }));
  $("mac-summary").textContent = has ? "Replace the macaroon" : "Add a macaroon";
  if (!has) $("mac-details").open = true;
}

// ---- watch-only setup: accounts.json ----------------------------------------------------

$("download-accounts").addEventListener("click", async () => {
  try {
    const json = await call("accounts");
    download("accounts.json", json.endsWith("\n") ? json : `${json}\n`, "application/json");
    toast("accounts.json downloaded.");
  } catch (e) {
    toast(`Could not export the accounts: ${e.message}`);
  }
});

$("download-vault").addEventListener("click", () => {
  if (!state.vault) return;
  const fp = state.vault.meta?.fingerprint || "signer";
  download(`lnd-signer-${fp}.vault`, state.vault.blob, "application/octet-stream");
});

// ---- connection ------------------------------------------------------------------------------

function classifyReason(reason) {
  const r = reason || "";
  if (/macaroon|unauthenticated|permissiondenied|permission denied/i.test(r)) {
    return {
      title: "Macaroon rejected",
      help: "lnd did not accept the macaroon. Use the one baked for this node with lncli bakemacaroon … remotesigner:generate.",
    };
  }
  if (/lnd unreachable|lnd refused|lnd ended|lnd closed|lnd's tls|certificate|only one remote signer|handshake|registration|failedprecondition|deadlineexceeded/i.test(r)) {
    return {
      title: "lnd not ready",
      help: "signer-bridge answered, but lnd's signer listener did not accept the stream (lnd starting, wrong --lnd-rpchost or tls.cert, or another signer connected).",
    };
  }
  if (/fetch|network|failed to fetch|load failed|content-type|timed out|transport|connection refused|unavailable|cors/i.test(r)) {
    return {
      title: "Bridge unreachable",
      help: "Could not reach signer-bridge. Check the URL, that the bridge runs (with --grpc-web or behind Envoy) and that it allows this page's origin.",
    };
  }
  return { title: "Connection error", help: "" };
}

const GRPC_CODES = {
  1: "Cancelled", 2: "Unknown", 3: "InvalidArgument", 4: "DeadlineExceeded", 5: "NotFound",
  7: "PermissionDenied", 8: "ResourceExhausted", 9: "FailedPrecondition", 13: "Internal",
  14: "Unavailable", 16: "Unauthenticated",
};

/**
 * The bridge's final status of an Attach stream. When lnd refuses the
 * stream after the session token was sent (e.g. a rejected macaroon), the
 * signer loop may first see a consequence (its Reply is refused), so the
 * stream's own reason replaces a reason given just before.
 */
function onAttachEnd(end) {
  if (!end || end.code === 0) return;
  const reason = `attach stream ended: ${GRPC_CODES[end.code] ?? end.code}: ${end.message}`;
  state.attachEnd = { reason, at: Date.now() };
  // The signer itself dropped a silent link: that stays the reason shown.
  if (state.lastError?.silent) return;
  if (state.lastError && Date.now() - state.lastError.at < 3000 && state.lastError.reason !== reason) {
    state.lastError = { reason, at: state.lastError.at, ...classifyReason(reason) };
    renderStatus();
  }
}

function onStatus(s) {
  state.status = s;
  switch (s.kind) {
    case "connecting":
      state.attempt = s.attempt;
      state.reconnectAt = null;
      state.attachEnd = null;
      break;
    case "registered":
      state.registeredAt = Date.now();
      state.nodeInfo = s.nodeInfo;
      state.lastError = null;
      break;
    case "ping":
      state.lastPingAt = Date.now();
      onActivity({ time: new Date().toISOString(), id: s.id, kind: "ping", keys: [], summary: "health check", psbt: null, signedInputs: null, error: null, latencyMs: Math.round(s.latencyMs * 10) / 10, signMs: 0 });
      // A ping does not change the connection state shown.
      state.status = { kind: "registered" };
      break;
    case "request":
      state.status = { kind: "registered" };
      break;
    case "error": {
      if (s.silentMs !== null && s.silentMs !== undefined) {
        // The idle watchdog: nothing at all came from lnd for too long.
        const secs = Math.round(s.silentMs / 1000);
        state.lastError = {
          reason: `no message from lnd for ${secs} s — reconnecting`,
          at: Date.now(),
          silent: true,
          title: "lnd went silent",
          help: "No message (not even lnd's health-check ping) arrived for longer than the limit in Settings → Connection, so the link is presumed dead and the signer reconnects.",
        };
        console.warn(`[signer] no message from lnd for ${secs} s — reconnecting`);
      } else {
        const recent = state.attachEnd && Date.now() - state.attachEnd.at < 3000 ? state.attachEnd.reason : null;
        const reason = recent ?? s.reason;
        state.lastError = { reason, at: Date.now(), ...classifyReason(reason) };
      }
      state.registeredAt = null;
      break;
    }
    case "reconnecting":
      state.reconnectAt = Date.now() + s.delayMs;
      break;
    case "disconnected":
      state.connected = false;
      state.registeredAt = null;
      state.reconnectAt = null;
      break;
    default:
      break;
  }
  if (s.kind !== "ping" && s.kind !== "request") {
    const extra = s.kind === "error" ? `: ${s.reason}` : s.kind === "reconnecting" ? ` in ${Math.round(s.delayMs / 1000)} s` : s.kind === "registered" ? ` (${s.nodeInfo})` : "";
    console.info(`[status] ${s.kind}${extra}`);
  }
  renderStatus();
}

function renderStatus() {
  const card = $("status-card");
  const s = state.status;
  let kind = s.kind;
  let title;
  let detail;
  if (kind === "connecting") {
    title = "Connecting…";
    detail = `Attaching to signer-bridge (attempt ${s.attempt}).`;
  } else if (kind === "registered") {
    title = "Connected · signing for lnd";
    detail = "Registered with the watch-only node. Requests are answered as they arrive.";
  } else if (kind === "reconnecting" || (kind === "error" && state.reconnectAt)) {
    kind = "reconnecting";
    const secs = Math.max(0, Math.ceil((state.reconnectAt - Date.now()) / 1000));
    title = `Reconnecting in ${secs} s`;
    detail = state.lastError ? `${state.lastError.title}. ${state.lastError.help}` : "The connection ended; trying again.";
  } else if (kind === "error") {
    title = state.lastError?.title || "Connection error";
    detail = state.lastError?.help || "";
  } else if (kind === "disconnected") {
    title = "Disconnected";
    detail = s.reason ? `Stopped: ${s.reason}.` : "";
  } else {
    kind = "idle";
    title = "Not connected";
    detail = state.unlocked ? "Connect to signer-bridge to start signing for your lnd node." : "Unlock the signer to connect.";
  }
  card.dataset.state = kind;
  $("status-title").textContent = title;
  $("status-detail").textContent = detail;
  $("st-bridge").textContent = state.connected ? state.bridgeUrl : "—";
  $("st-node").textContent = kind === "registered" && state.nodeInfo ? state.nodeInfo : "—";
  $("st-since").textContent = state.registeredAt ? ago(state.registeredAt) : "—";
  $("st-ping").textContent = state.lastPingAt ? ago(state.lastPingAt) : "—";
  $("st-attempt").textContent = state.connected && state.attempt ? String(state.attempt) : "—";
  $("st-requests").textContent = String(state.counters.requests);
  const showErr = state.lastError && (kind === "reconnecting" || kind === "error");
  $("status-error").hidden = !showErr;
  $("status-error").textContent = showErr ? `${state.lastError.title}: ${state.lastError.reason}` : "";
  $("connect-btn").disabled = !state.unlocked;
  $("connect-btn").textContent = state.connected ? "Reconnect" : "Connect";
  $("disconnect-btn").disabled = !state.connected;
}
setInterval(() => {
  if (state.connected) renderStatus();
}, 1000);

/**
 * The macaroon of the form as bytes (file, or pasted hex), or null. They go
 * to the worker once, transferred, to be sealed into the vault; the page
 * keeps no copy and never passes the macaroon to connect.
 */
async function macaroonFromForm() {
  const file = $("mac-file").files[0];
  if (file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    if (!bytes.length) throw new Error("The macaroon file is empty.");
    return bytes;
  }
  const hex = $("mac-hex").value.replace(/\s+/g, "");
  if (!hex) return null;
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2) throw new Error("The macaroon hex is not valid hex.");
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return bytes;
}

$("connect-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  showError("connect-error", "");
  let url = $("bridge-url").value.trim();
  if (!/^https?:\/\/[^/]+/i.test(url)) {
    showError("connect-error", "Enter the bridge URL, e.g. https://signer.example.com");
    $("bridge-url").focus();
    return;
  }
  url = url.replace(/\/+$/, "");
  const btn = $("connect-btn");
  busy(btn, true);
  try {
    const macaroon = await macaroonFromForm();
    if (macaroon) {
      const pass = $("mac-pass").value;
      if (!pass) {
        showError("connect-error", "Type the vault passphrase to seal the macaroon into the vault.");
        $("mac-pass").focus();
        macaroon.fill(0);
        return;
      }
      $("connect-progress").hidden = false;
      await nextFrame();
      let blob;
      try {
        blob = await call("sealMacaroon", { blob: state.vault.blob, passphrase: pass, macaroon }, [macaroon.buffer]);
      } catch (e) {
        throw new Error(/wrong passphrase/i.test(e.message) ? "Wrong vault passphrase: the macaroon was not stored." : e.message);
      }
      await store.saveVault(blob, state.vault.meta);
      state.vault = await store.loadVault();
      state.unlocked.hasMacaroon = true;
      clearInputs("mac-hex", "mac-pass", "mac-file");
      $("mac-details").open = false;
      renderMacaroonState();
    }
    state.bridgeUrl = url;
    await store.setSetting("bridgeUrl", url);
    state.connected = true;
    state.lastError = null;
    state.attempt = 0;
    await call("connect", { bridgeUrl: url, options: connectOptions() });
  } catch (e) {
    showError("connect-error", e.message);
  } finally {
    $("connect-progress").hidden = true;
    busy(btn, false);
    renderStatus();
  }
});

$("disconnect-btn").addEventListener("click", async () => {
  await call("disconnect");
  state.connected = false;
  renderStatus();
});

// ---- activity ----------------------------------------------------------------------------------

function keyText(k) {
  const name = FAMILY_NAMES[k.family];
  return `${name ? `${name} ` : "family "}${k.family}/${k.index}`;
}

function psbtTable(entry) {
  const p = entry.psbt;
  const signed = new Set(entry.signedInputs || []);
  const wrap = el("div");
  const ins = el("table", { class: "io" },
    el("caption", { text: `Inputs (${p.inputs.length})` }),
    el("thead", {}, el("tr", {},
      el("th", { class: "n", text: "#" }),
      el("th", { text: "Input" }),
      el("th", { class: "amt", text: "Amount" }),
      el("th", { class: "sig", text: "Signed" }))));
  const insBody = el("tbody");
  for (const i of p.inputs) {
    const where = el("td", {}, el("div", { text: i.address || i.outpoint }), i.address ? el("div", { class: "meta", text: i.outpoint }) : null,
      i.paths.length ? el("div", { class: "meta", text: i.paths.join(", ") }) : null);
    insBody.append(el("tr", {},
      el("td", { class: "n", text: String(i.index) }),
      where,
      el("td", { class: "amt", text: formatSat(i.amountSat) }),
      el("td", { class: "sig" }, signed.has(i.index)
        ? el("span", { class: "signed", title: "signed by this signer" }, "✓", el("span", { class: "sig-word", text: " signed" }))
        : el("span", { class: "unsigned", title: "not signed by this signer", text: "–" }))));
  }
  ins.append(insBody);
  const outs = el("table", { class: "io" },
    el("caption", { text: `Outputs (${p.outputs.length})` }),
    el("thead", {}, el("tr", {},
      el("th", { class: "n", text: "#" }),
      el("th", { text: "Output address" }),
      el("th", { class: "amt", text: "Amount" }))));
  const outsBody = el("tbody");
  for (const o of p.outputs) {
    outsBody.append(el("tr", {},
      el("td", { class: "n", text: String(o.index) }),
      el("td", { text: o.address || `script ${o.scriptHex}` }),
      el("td", { class: "amt", text: formatSat(o.amountSat) })));
  }
  outs.append(outsBody);
  wrap.append(ins, outs);
  return wrap;
}

function activityItem(entry) {
  const isPing = entry.kind === "ping";
  const li = el("li", { class: entry.error ? "err" : isPing ? "ping" : "" });
  const head = el("div", { class: "head" },
    el("span", { class: "kind", text: KIND_NAMES[entry.kind] || entry.kind }),
    el("span", { class: "id", text: `#${entry.id}` }),
    ...entry.keys.map((k) => el("span", { class: "keys", text: keyText(k) })),
    el("span", { class: "time", text: entry.time.slice(11, 19) }),
    el("span", { class: "lat", text: `${entry.latencyMs} ms` }));
  li.append(head);
  if (!isPing && entry.details === false) {
    li.append(el("div", { class: "summary unavailable", text: "Details unavailable" }));
  } else if (!isPing && entry.summary) {
    let summary = entry.summary;
    if (entry.psbt && entry.signedInputs) summary += ` · signed ${entry.signedInputs.length ? `input${entry.signedInputs.length > 1 ? "s" : ""} ${entry.signedInputs.join(", ")}` : "no inputs"}`;
    li.append(el("div", { class: "summary", text: summary }));
  }
  if (entry.error) li.append(el("div", { class: "errtext", text: entry.error }));
  if (entry.psbt && !entry.psbt.error) {
    const d = el("details", {}, el("summary", { text: `Inputs and outputs${entry.psbt.feeSat != null ? ` · fee ${formatSat(entry.psbt.feeSat)}` : ""}` }));
    d.append(psbtTable(entry));
    li.append(d);
  }
  return li;
}

// Rows in the DOM, and entries kept in memory (for "Show pings" and the
// JSON export); older ones are dropped, the counters keep counting.
const MAX_ROWS = 300;
const MAX_KEPT = 1000;

function count(entry) {
  const c = state.counters;
  if (entry.kind === "ping") {
    c.pings += 1;
    return;
  }
  c.requests += 1;
  if (entry.kind === "sign_psbt") c.psbt += 1;
  if (entry.error) c.errors += 1;
  c.latencySum += entry.latencyMs;
  c.byKind[entry.kind] = (c.byKind[entry.kind] || 0) + 1;
}

function onActivity(entry) {
  count(entry);
  state.activity.push(entry);
  if (state.activity.length > MAX_KEPT) {
    state.activity.splice(0, state.activity.length - MAX_KEPT);
    state.counters.dropped = state.counters.requests + state.counters.pings - MAX_KEPT;
  }
  if (entry.kind !== "ping") {
    const keys = entry.keys.map((k) => `${k.family}/${k.index}`).join(",");
    const signed = entry.signedInputs ? ` signed=[${entry.signedInputs.join(",")}]` : "";
    console.info(`[activity] #${entry.id} ${entry.kind}${keys ? ` key=${keys}` : ""}${signed} ${entry.latencyMs}ms${entry.error ? ` error: ${entry.error}` : ""}`);
  }
  if (!isPingHidden(entry)) {
    const log = $("activity-log");
    log.prepend(activityItem(entry));
    while (log.children.length > MAX_ROWS) log.lastElementChild.remove();
  }
  renderCounters();
}

function isPingHidden(entry) {
  return entry.kind === "ping" && !state.showPings;
}

function renderCounters() {
  const c = state.counters;
  $("c-total").textContent = String(c.requests);
  $("c-psbt").textContent = String(c.psbt);
  $("c-other").textContent = String(c.requests - c.psbt);
  $("c-errors").textContent = String(c.errors);
  $("c-pings").textContent = String(c.pings);
  $("c-latency").textContent = c.requests ? String(Math.round(c.latencySum / c.requests)) : "—";
  $("tab-activity-count").textContent = String(c.requests);
  $("st-requests").textContent = String(c.requests);
  $("activity-empty").hidden = $("activity-log").children.length > 0;
  const kept = $("activity-kept");
  kept.hidden = c.dropped === 0;
  kept.textContent = c.dropped
    ? `Showing the latest ${MAX_KEPT.toLocaleString("en-US")} entries; ${c.dropped.toLocaleString("en-US")} older ones were dropped. The counters include them.`
    : "";
}

function renderActivity() {
  const rows = state.activity.filter((a) => !isPingHidden(a)).slice(-MAX_ROWS).reverse().map(activityItem);
  $("activity-log").replaceChildren(...rows);
  renderCounters();
  renderDetailsState();
}

/** The worker could (not) describe the requests on the current stream. */
function onInspector(msg) {
  if (msg.ok) {
    state.detailsOff = null;
  } else {
    state.detailsOff = { reason: msg.reason, at: Date.now() };
    console.warn(`[signer] activity details unavailable: ${msg.reason}`);
  }
  renderDetailsState();
}

function renderDetailsState() {
  const off = state.detailsOff;
  const box = $("activity-details-off");
  box.hidden = !off;
  $("activity-details-reason").textContent = off ? off.reason : "";
}

$("show-pings").addEventListener("change", async () => {
  state.showPings = $("show-pings").checked;
  renderActivity();
  await store.setSetting("showPings", state.showPings);
});

$("export-activity").addEventListener("click", () => {
  const c = state.counters;
  const doc = {
    exportedAt: new Date().toISOString(),
    network: state.unlocked?.network ?? state.vault?.meta?.network ?? null,
    fingerprint: state.unlocked?.fingerprint ?? state.vault?.meta?.fingerprint ?? null,
    // Over everything since the page loaded; `entries` holds the latest
    // ones only (entriesDropped older ones are not in the file).
    counters: {
      requests: c.requests,
      errors: c.errors,
      pings: c.pings,
      byKind: { ...c.byKind },
    },
    entriesDropped: c.dropped,
    entries: state.activity,
  };
  download(`signer-activity-${doc.exportedAt.replace(/[:.]/g, "-")}.json`, `${JSON.stringify(doc, null, 2)}\n`, "application/json");
});

// ---- boot --------------------------------------------------------------------------------------

async function boot() {
  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("sw.js").catch((e) => console.warn(`[signer] offline cache unavailable: ${e.message}`));
  }
  try {
    const { version, wasmSha256 } = await call("init");
    state.version = version;
    state.wasmSha256 = wasmSha256;
    $("info-wasm-sha256").textContent = wasmSha256;
  } catch (e) {
    showFatal(`The signer could not load its WebAssembly module: ${e.message}`);
    return;
  }
  state.autolockMinutes = Number(await store.getSetting("autolockMinutes", 30));
  $("autolock").value = String(state.autolockMinutes);
  state.healthIntervalSecs = Number(await store.getSetting("healthIntervalSecs", 60));
  $("health-interval").value = String(state.healthIntervalSecs);
  state.idleMultiple = Number(await store.getSetting("idleMultiple", 3));
  $("idle-multiple").value = String(state.idleMultiple);
  state.showPings = Boolean(await store.getSetting("showPings", false));
  $("show-pings").checked = state.showPings;
  state.bridgeUrl = await store.getSetting("bridgeUrl", "");
  $("bridge-url").value = state.bridgeUrl;
  state.vault = await store.loadVault();
  renderActivity();
  renderStatus();
  if (state.vault) openUnlock();
  else show("welcome");
  document.documentElement.dataset.ready = "true";
}

boot();
