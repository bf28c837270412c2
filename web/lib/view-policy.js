// @ts-check
// Policy tab (the signing policy sealed in the vault, the approval wait,
// the pre-authorised budget, the audit log) and the approval card shown
// while a request the policy asks about waits (docs/security.md).

import * as store from "../store.js";
import { $, busy, button, download, el, input, select, showError, toast } from "./dom.js";
import { errorMessage, isWrongPassphrase } from "./errors.js";
import { formatSat, kindName } from "./format.js";
import { call } from "./rpc.js";
import { state, update } from "./state.js";

/** @typedef {import("../pkg/lnd_web_signer.js").PolicyView} PolicyView */
/** @typedef {import("../pkg/lnd_web_signer.js").BudgetView} BudgetView */
/** @typedef {import("../pkg/lnd_web_signer.js").ApprovalRequest} ApprovalRequest */

/** Entries of the audit log listed (newest first). */
const AUDIT_SHOWN = 50;

const PRESETS = {
  default: "",
  limits: JSON.stringify({
    onchain: { max_external_per_tx: 100000, max_external_per_day: 500000, max_feerate: 500, over_limit: "ask" },
  }, null, 2),
  strict: JSON.stringify({ preset: "strict" }, null, 2),
};

/** @param {number | null} n @param {string} unit */
const limit = (n, unit = "sat") => (n === null || n === undefined ? "no limit" : unit === "sat" ? formatSat(n) : `${n.toLocaleString("en-US")} ${unit}`);

/** @param {PolicyView} p */
function summaryRows(p) {
  const over = p.overLimit === "ask" ? " (asks)" : "";
  const nonces = {
    "multisig-only": "multisig family only (taproot channels)",
    refuse: "refused (no taproot channels)",
    any: "any key (what lnd's own signer does)",
  }[p.pregeneratedNonce];
  return [
    ["Source", p.sealed === null ? "default policy" : "sealed in the vault"],
    ["Leaves the wallet, per transaction", limit(p.maxExternalPerTx) + (p.maxExternalPerTx !== null ? over : "")],
    ["Leaves the wallet, per 24 h", limit(p.maxExternalPerDay) + (p.maxExternalPerDay !== null ? over : "")],
    ["Always allowed", p.allowlist.length ? `${p.allowlist.length} address${p.allowlist.length === 1 ? "" : "es"}` : "none"],
    ["Fee", `${limit(p.maxFee)} · ${limit(p.maxFeerate, "sat/vB")}`],
    ["Sweeps of channel outputs", p.sweepsRequireOwnWallet ? "only to this wallet" : "anywhere"],
    ["Pre-generated MuSig2 nonces", nonces ?? p.pregeneratedNonce],
  ];
}

/** Shows the policy in force, the budget and the audit log. */
export async function renderPolicy() {
  if (!state.unlocked) return;
  try {
    /** @type {PolicyView} */
    const p = await call("policy");
    $("policy-summary").replaceChildren(...summaryRows(p).map(([k, v]) => el("div", {}, el("dt", { text: k }), el("dd", { text: v }))));
    const text = /** @type {HTMLTextAreaElement} */ ($("policy-text"));
    if (!text.value) text.value = p.sealed ?? "";
  } catch (e) {
    $("policy-summary").replaceChildren(el("div", {}, el("dt", { text: "Policy" }), el("dd", { text: errorMessage(e) })));
  }
  await renderBudget();
  await renderAudit();
}

// ---- budget -------------------------------------------------------------------

/** @type {ReturnType<typeof setTimeout> | undefined} */
let budgetTimer;

/** @param {BudgetView | null} [b] */
async function renderBudget(b) {
  if (b === undefined) {
    try {
      b = await call("budget");
    } catch {
      b = null;
    }
  }
  clearTimeout(budgetTimer);
  if (!b) {
    $("budget-state").textContent = "No budget: limits apply as the policy says.";
    button("budget-clear").disabled = true;
    return;
  }
  const until = new Date(b.untilMs);
  $("budget-state").textContent = `${formatSat(b.remaining)} left to any address until ${until.toLocaleTimeString()}.`;
  button("budget-clear").disabled = false;
  // Shown until it runs out (the signer ignores it from then on anyway).
  budgetTimer = setTimeout(() => void renderBudget(), Math.max(1000, Math.min(b.untilMs - Date.now() + 500, 60_000)));
}

// ---- audit log ----------------------------------------------------------------

/** @param {string} line */
function auditRow(line) {
  /** @type {any} */
  let e;
  try {
    e = JSON.parse(line);
  } catch {
    return el("div", { class: "audit-row bad", text: line.slice(0, 200) });
  }
  const time = new Date(Number(e.time) * 1000);
  const refused = e.result !== "signed";
  const what = [
    e.txid ? `tx ${String(e.txid).slice(0, 12)}…` : "",
    typeof e.external === "number" ? `${formatSat(e.external)} out` : "",
    Array.isArray(e.tags) && e.tags.length ? e.tags.join(", ") : "",
  ].filter(Boolean).join(" · ");
  return el("div", { class: `audit-row${refused ? " refused" : ""}`, title: e.reason || "" },
    el("span", { class: "audit-time", text: time.toLocaleString() }),
    el("span", { class: "audit-kind", text: String(e.kind) }),
    el("span", { class: `badge ${refused ? "badge-bad" : "badge-ok"}`, text: `${e.decision} · ${refused ? e.result : "signed"}` }),
    el("span", { class: "audit-what", text: what }),
  );
}

/** @type {{ text: string, entries: number, error: string | null } | null} */
let lastAudit = null;

async function renderAudit() {
  /** @type {{ text: string, entries: number, error: string | null }} */
  let log;
  try {
    log = await call("auditLog");
  } catch (e) {
    $("audit-state").textContent = `The audit log could not be read: ${errorMessage(e)}`;
    return;
  }
  lastAudit = log;
  const { text, entries, error } = log;
  const lines = text.split("\n").filter(Boolean);
  $("audit-state").textContent = error
    ? `Broken: ${error}`
    : `${entries} entr${entries === 1 ? "y" : "ies"}, chain intact.`;
  $("audit-state").classList.toggle("error-text", Boolean(error));
  $("audit-reset").hidden = !error;
  $("audit-list").replaceChildren(...lines.slice(-AUDIT_SHOWN).reverse().map(auditRow));
}

/** The worker stored audit lines. @param {number} entries */
export function onAudit(entries) {
  // A signed spend may have used some of the budget.
  if (!button("budget-clear").disabled) void renderBudget();
  if (!$("panel-policy").hidden) void renderAudit();
  else $("audit-state").textContent = `${entries} entr${entries === 1 ? "y" : "ies"}.`;
}

// ---- approvals ------------------------------------------------------------------

/** @type {ApprovalRequest[]} waiting, oldest first; the first is on the card */
const waiting = [];
/** @type {ReturnType<typeof setInterval> | undefined} */
let tick;

function dialog() {
  return /** @type {HTMLDialogElement} */ ($("approval-dialog"));
}

function showCurrent() {
  clearInterval(tick);
  const r = waiting[0];
  if (!r) {
    if (dialog().open) dialog().close();
    return;
  }
  $("approval-title").textContent = r.kind === "sign_psbt" ? "Approve this transaction?" : `Approve this ${kindName(r.kind)} request?`;
  $("approval-reason").textContent = r.reason;
  dialog().dataset.request = r.id;
  $("approval-outputs").replaceChildren(...r.outputs.map((o) => el("tr", { class: `whose-${o.whose}` },
    el("td", {}, el("code", { text: o.to })),
    el("td", { class: "num", text: `${formatSat(o.value)}` }),
    el("td", { text: { own: "this wallet", allowlist: "allowlisted", external: "external" }[o.whose] ?? o.whose }),
  )));
  $("approval-fee").textContent = r.fee === null ? "unknown" : `${formatSat(r.fee)}`;
  $("approval-external").textContent = r.external === null ? "—" : `${formatSat(r.external)}`;
  $("approval-txid").textContent = r.txid ?? "—";
  $("approval-more").hidden = waiting.length < 2;
  $("approval-more").textContent = `${waiting.length - 1} more request${waiting.length === 2 ? "" : "s"} waiting.`;
  const draw = () => {
    const left = Math.max(0, r.deadlineMs - Date.now());
    $("approval-left").textContent = `${(left / 1000).toFixed(1)} s left to answer`;
    /** @type {HTMLElement} */ ($("approval-bar")).style.width = `${(100 * left) / r.timeoutMs}%`;
  };
  draw();
  tick = setInterval(draw, 100);
  button("approval-approve").disabled = false;
  button("approval-deny").disabled = false;
  if (!dialog().open) dialog().showModal();
  // The title and the rule first (showModal focuses a button at the bottom).
  dialog().scrollTop = 0;
}

/** The signer asks. @param {ApprovalRequest} request */
export function onApproval(request) {
  if (request.deadlineMs <= Date.now()) return;
  waiting.push(request);
  console.info(`[signer] approval asked for request ${request.id}: ${request.reason}`);
  if (waiting.length === 1) showCurrent();
  else $("approval-more").hidden = false;
}

/** @param {string} id @param {string} outcome */
export function onApprovalEnd(id, outcome) {
  const i = waiting.findIndex((r) => r.id === id);
  if (i < 0) return;
  waiting.splice(i, 1);
  if (outcome === "expired") toast(`No answer in time: request ${id} was refused.`);
  if (i === 0) showCurrent();
}

/** @param {boolean} approve */
async function answer(approve) {
  const r = waiting[0];
  if (!r) return;
  button("approval-approve").disabled = true;
  button("approval-deny").disabled = true;
  try {
    const settled = await call("answerApproval", { id: r.id, approve });
    toast(!settled ? "Too late: the request was already refused." : approve ? "Approved: the signer signs it." : "Declined: lnd gets a refusal.");
  } catch (e) {
    toast(`The answer did not reach the signer: ${errorMessage(e)}`);
  }
  // approvalEnd from the worker removes it; a lost one must not stick.
  onApprovalEnd(r.id, "answered");
}

// ---- wiring -------------------------------------------------------------------------

export async function loadPolicySettings() {
  update({ approvalSecs: Number(await store.getSetting("approvalSecs", 4)) });
  select("approval-secs").value = String(state.approvalSecs);
}

export function bindPolicy() {
  for (const [id, key] of /** @type {const} */ ([["policy-preset-default", "default"], ["policy-preset-limits", "limits"], ["policy-preset-strict", "strict"]])) {
    $(id).addEventListener("click", () => {
      /** @type {HTMLTextAreaElement} */ ($("policy-text")).value = PRESETS[key];
      showError("policy-error", "");
    });
  }
  $("policy-seal").addEventListener("click", async () => {
    if (!state.vault) return;
    const text = /** @type {HTMLTextAreaElement} */ ($("policy-text")).value.trim();
    const pass = input("policy-pass").value;
    showError("policy-error", "");
    try {
      await call("checkPolicy", { text });
    } catch (e) {
      showError("policy-error", errorMessage(e));
      return;
    }
    if (!pass) {
      showError("policy-error", "Enter the vault passphrase: the policy is sealed with the seed.");
      $("policy-pass").focus();
      return;
    }
    busy(button("policy-seal"), true);
    try {
      /** @type {{ blob: Uint8Array, policy: PolicyView }} */
      const r = await call("sealPolicy", { blob: state.vault.blob, passphrase: pass, text });
      await store.saveVault(r.blob, state.vault.meta);
      update({ vault: await store.loadVault() });
      input("policy-pass").value = "";
      /** @type {HTMLDetailsElement} */ ($("policy-edit")).open = false;
      console.info(`[signer] signing policy sealed (${text ? "custom" : "default"})`);
      toast("Policy sealed into the vault and in force.");
      await renderPolicy();
    } catch (e) {
      const m = errorMessage(e);
      showError("policy-error", isWrongPassphrase(m) ? "Wrong vault passphrase: the policy was not changed." : m);
    } finally {
      busy(button("policy-seal"), false);
    }
  });
  $("approval-secs").addEventListener("change", async () => {
    update({ approvalSecs: Number(select("approval-secs").value) });
    await store.setSetting("approvalSecs", state.approvalSecs);
    toast(state.approvalSecs > 4
      ? `Approvals wait up to ${state.approvalSecs} s from the next connect: raise lnd's remotesigner.experimentalrequesttimeout above that first.`
      : `Approvals wait up to ${state.approvalSecs} s from the next connect.`);
  });

  $("budget-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError("budget-error", "");
    const sats = Number(input("budget-sats").value);
    const minutes = Number(select("budget-minutes").value);
    try {
      /** @type {BudgetView | null} */
      const b = await call("setBudget", { sats, minutes });
      console.info(`[signer] budget of ${sats} sat for ${minutes} min granted`);
      await renderBudget(b);
    } catch (e) {
      showError("budget-error", errorMessage(e));
    }
  });
  $("budget-clear").addEventListener("click", async () => {
    await call("clearBudget").catch(() => null);
    await renderBudget(null);
    toast("Budget revoked.");
  });

  $("audit-refresh").addEventListener("click", () => void renderAudit());
  $("audit-export").addEventListener("click", async () => {
    await renderAudit();
    const fp = state.unlocked?.fingerprint || "signer";
    download(`audit-${fp}.jsonl`, lastAudit?.text ?? "", "application/x-ndjson");
  });
  $("audit-clear").addEventListener("click", async () => {
    if (!state.vault) return;
    const pass = input("audit-pass").value;
    try {
      /** @type {{ blob: Uint8Array }} */
      const r = await call("clearAudit", { blob: state.vault.blob, passphrase: pass });
      await store.saveVault(r.blob, state.vault.meta);
      update({ vault: await store.loadVault() });
      input("audit-pass").value = "";
      toast("A new audit log was started.");
      await renderAudit();
    } catch (e) {
      const m = errorMessage(e);
      toast(isWrongPassphrase(m) ? "Wrong vault passphrase: the log was kept." : m);
    }
  });

  $("approval-approve").addEventListener("click", () => void answer(true));
  $("approval-deny").addEventListener("click", () => void answer(false));
  // Escape is a decline, never a silent wait.
  dialog().addEventListener("cancel", (ev) => {
    ev.preventDefault();
    void answer(false);
  });
  $("tab-policy").addEventListener("click", () => void renderPolicy());
}
