// @ts-check
// Activity tab: one row per answered request (PSBTs expand to inputs and
// outputs), the counters, "Show pings", the JSON export and the warning
// when the worker cannot describe requests.

import * as store from "../store.js";
import { $, download, el, input } from "./dom.js";
import { addEntry, averageLatency, exportDocument, exportFileName, isHidden, MAX_KEPT, MAX_ROWS, visibleRows } from "./activity-log.js";
import { activityLogLine, droppedText, entrySummary, formatSat, inputWhere, keyText, kindName, outputWhere, psbtDisclosureText } from "./format.js";
import { state, update } from "./state.js";

/** @typedef {import("./state.js").ActivityEntry} ActivityEntry */

/** @param {import("../pkg/lnd_web_signer.js").PsbtInfo} p @param {number[] | null} signedInputs */
function psbtTable(p, signedInputs) {
  const signed = new Set(signedInputs || []);
  const ins = el("table", { class: "io" },
    el("caption", { text: `Inputs (${p.inputs.length})` }),
    el("thead", {}, el("tr", {},
      el("th", { class: "n", text: "#" }),
      el("th", { text: "Input" }),
      el("th", { class: "amt", text: "Amount" }),
      el("th", { class: "sig", text: "Signed" }))));
  const insBody = el("tbody");
  for (const i of p.inputs) {
    const where = el("td", {}, el("div", { text: inputWhere(i) }), i.address ? el("div", { class: "meta", text: i.outpoint }) : null,
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
      el("td", { text: outputWhere(o) }),
      el("td", { class: "amt", text: formatSat(o.amountSat) })));
  }
  outs.append(outsBody);
  return el("div", {}, ins, outs);
}

/** @param {ActivityEntry} entry */
function activityItem(entry) {
  const isPing = entry.kind === "ping";
  const li = el("li", { class: entry.error ? "err" : isPing ? "ping" : "" });
  li.append(el("div", { class: "head" },
    el("span", { class: "kind", text: kindName(entry.kind) }),
    el("span", { class: "id", text: `#${entry.id}` }),
    ...entry.keys.map((k) => el("span", { class: "keys", text: keyText(k) })),
    el("span", { class: "time", text: entry.time.slice(11, 19) }),
    el("span", { class: "lat", text: `${entry.latencyMs} ms` })));
  if (!isPing && entry.details === false) {
    li.append(el("div", { class: "summary unavailable", text: "Details unavailable" }));
  } else {
    const summary = entrySummary(entry);
    if (summary) li.append(el("div", { class: "summary", text: summary }));
  }
  if (entry.error) li.append(el("div", { class: "errtext", text: entry.error }));
  if (entry.psbt && !entry.psbt.error) {
    const d = el("details", {}, el("summary", { text: psbtDisclosureText(entry.psbt) }));
    d.append(psbtTable(entry.psbt, entry.signedInputs));
    li.append(d);
  }
  return li;
}

/** An answered request or ping: counted, kept, logged and drawn. @param {ActivityEntry} entry */
export function onActivity(entry) {
  update(addEntry(state, entry));
  if (entry.kind !== "ping") console.info(activityLogLine(entry));
  if (!isHidden(entry, state.showPings)) {
    const log = $("activity-log");
    log.prepend(activityItem(entry));
    while (log.children.length > MAX_ROWS) log.lastElementChild?.remove();
  }
  renderCounters();
}

function renderCounters() {
  const c = state.counters;
  $("c-total").textContent = String(c.requests);
  $("c-psbt").textContent = String(c.psbt);
  $("c-other").textContent = String(c.requests - c.psbt);
  $("c-errors").textContent = String(c.errors);
  $("c-pings").textContent = String(c.pings);
  $("c-latency").textContent = averageLatency(c);
  $("tab-activity-count").textContent = String(c.requests);
  $("st-requests").textContent = String(c.requests);
  $("activity-empty").hidden = $("activity-log").children.length > 0;
  const kept = $("activity-kept");
  kept.hidden = c.dropped === 0;
  kept.textContent = droppedText(c.dropped, MAX_KEPT);
}

export function renderActivity() {
  $("activity-log").replaceChildren(...visibleRows(state.activity, state.showPings).map(activityItem));
  renderCounters();
  renderDetailsState();
}

/**
 * The worker could (not) describe the requests on the current stream.
 * @param {{ ok: boolean, reason?: string }} msg
 */
export function onInspector(msg) {
  if (msg.ok) {
    update({ detailsOff: null });
  } else {
    update({ detailsOff: { reason: msg.reason ?? "", at: Date.now() } });
    console.warn(`[signer] activity details unavailable: ${msg.reason}`);
  }
  renderDetailsState();
}

function renderDetailsState() {
  const off = state.detailsOff;
  $("activity-details-off").hidden = !off;
  $("activity-details-reason").textContent = off ? off.reason : "";
}

export function bindActivity() {
  $("show-pings").addEventListener("change", async () => {
    update({ showPings: input("show-pings").checked });
    renderActivity();
    await store.setSetting("showPings", state.showPings);
  });

  $("export-activity").addEventListener("click", () => {
    const doc = exportDocument({
      activity: state.activity,
      counters: state.counters,
      network: state.unlocked?.network ?? state.vault?.meta?.network ?? null,
      fingerprint: state.unlocked?.fingerprint ?? state.vault?.meta?.fingerprint ?? null,
    });
    download(exportFileName(doc.exportedAt), `${JSON.stringify(doc, null, 2)}\n`, "application/json");
  });
}
