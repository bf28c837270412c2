// @ts-check
// The activity log's bookkeeping, pure: counting entries, keeping the
// latest ones, which rows are shown, and the JSON export. The Activity view
// draws it; unit-tested in tests/page/unit/activity-log.test.mjs.

/** @typedef {import("./state.js").ActivityEntry} ActivityEntry */
/** @typedef {import("./state.js").Counters} Counters */

/** Rows in the DOM. */
export const MAX_ROWS = 300;
/** Entries kept in memory (for "Show pings" and the JSON export); the counters keep counting. */
export const MAX_KEPT = 1000;

/**
 * The counters with `entry` counted (a new object).
 * @param {Counters} c
 * @param {ActivityEntry} entry
 * @returns {Counters}
 */
export function countEntry(c, entry) {
  if (entry.kind === "ping") return { ...c, pings: c.pings + 1 };
  return {
    ...c,
    requests: c.requests + 1,
    psbt: c.psbt + (entry.kind === "sign_psbt" ? 1 : 0),
    errors: c.errors + (entry.error ? 1 : 0),
    latencySum: c.latencySum + entry.latencyMs,
    byKind: { ...c.byKind, [entry.kind]: (c.byKind[entry.kind] || 0) + 1 },
  };
}

/**
 * Adds `entry` to the log: the new kept entries (at most `maxKept`, oldest
 * first) and counters (with `dropped`: entries counted but no longer kept).
 * `activity` is not changed.
 * @param {{ activity: ActivityEntry[], counters: Counters }} log
 * @param {ActivityEntry} entry
 * @param {number} [maxKept]
 * @returns {{ activity: ActivityEntry[], counters: Counters }}
 */
export function addEntry(log, entry, maxKept = MAX_KEPT) {
  const counters = countEntry(log.counters, entry);
  let activity = [...log.activity, entry];
  if (activity.length > maxKept) {
    activity = activity.slice(activity.length - maxKept);
    counters.dropped = counters.requests + counters.pings - maxKept;
  }
  return { activity, counters };
}

/**
 * Whether the row of `entry` is hidden ("Show pings" off hides pings).
 * @param {ActivityEntry} entry
 * @param {boolean} showPings
 */
export function isHidden(entry, showPings) {
  return entry.kind === "ping" && !showPings;
}

/**
 * The rows to draw, newest first (at most `maxRows`).
 * @param {ActivityEntry[]} activity
 * @param {boolean} showPings
 * @param {number} [maxRows]
 */
export function visibleRows(activity, showPings, maxRows = MAX_ROWS) {
  return activity.filter((a) => !isHidden(a, showPings)).slice(-maxRows).reverse();
}

/**
 * Average latency in ms of the counted requests, as shown ("—" for none).
 * @param {Counters} c
 */
export function averageLatency(c) {
  return c.requests ? String(Math.round(c.latencySum / c.requests)) : "—";
}

/** A ping status as an activity entry. @param {{ id: string, latencyMs: number }} s @param {Date} [at] @returns {ActivityEntry} */
export function pingEntry(s, at = new Date()) {
  return { time: at.toISOString(), id: s.id, kind: "ping", keys: [], summary: "health check", psbt: null, signedInputs: null, error: null, latencyMs: Math.round(s.latencyMs * 10) / 10, signMs: 0 };
}

/**
 * The "Export JSON" document: the kept entries, the counters over
 * everything since the page loaded and how many entries were dropped.
 * @param {{ activity: ActivityEntry[], counters: Counters, network: string | null, fingerprint: string | null }} log
 * @param {Date} [at]
 */
export function exportDocument(log, at = new Date()) {
  const c = log.counters;
  return {
    exportedAt: at.toISOString(),
    network: log.network,
    fingerprint: log.fingerprint,
    // Over everything since the page loaded; `entries` holds the latest
    // ones only (entriesDropped older ones are not in the file).
    counters: {
      requests: c.requests,
      errors: c.errors,
      pings: c.pings,
      byKind: { ...c.byKind },
    },
    entriesDropped: c.dropped,
    entries: log.activity,
  };
}

/** The export's file name. @param {string} exportedAt */
export function exportFileName(exportedAt) {
  return `signer-activity-${exportedAt.replace(/[:.]/g, "-")}.json`;
}
