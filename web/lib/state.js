// @ts-check
// The signer tab's one store: a plain object read by the views, changed
// only through update() (a shallow merge; nested objects are replaced, not
// mutated). Importing it has no side effect besides creating the object.
// Nothing secret is ever put here: keys, seed words and passphrases stay
// in the worker or in the form fields they are typed into.

/** @typedef {import("../pkg/lnd_web_signer.js").KeyRef} KeyRef */
/** @typedef {import("../pkg/lnd_web_signer.js").PsbtInfo} PsbtInfo */
/** @typedef {import("../pkg/lnd_web_signer.js").SignerStatus} SignerStatus */

/**
 * One answered request (or a health ping), as the worker posts it.
 * @typedef {object} ActivityEntry
 * @property {string} time ISO time of the answer
 * @property {string} id lnd's 64-bit request id as a decimal string
 * @property {string} kind e.g. "sign_psbt", "ping"
 * @property {boolean} [details] false when the inspector could not describe the request
 * @property {KeyRef[]} keys
 * @property {string} summary
 * @property {PsbtInfo | null} psbt
 * @property {number[] | null} signedInputs
 * @property {string | null} error
 * @property {number} latencyMs
 * @property {number} signMs
 */

/**
 * Counters over every entry since the page loaded, kept or dropped.
 * @typedef {object} Counters
 * @property {number} requests
 * @property {number} psbt
 * @property {number} errors
 * @property {number} pings
 * @property {number} latencySum
 * @property {Record<string, number>} byKind
 * @property {number} dropped entries no longer kept in memory
 */

/**
 * @typedef {object} LastError
 * @property {string} reason the raw text
 * @property {number} at Date.now() when it was seen
 * @property {string} title
 * @property {string} help
 * @property {string} [category]
 * @property {import("../pkg/lnd_web_signer.js").ErrorCode | null} [code] the wasm signer's error code
 * @property {boolean} [silent] dropped by the idle watchdog
 */

/** @typedef {{ network: string, birthday: number, fingerprint: string, hasMacaroon: boolean }} UnlockedInfo */
/** @typedef {import("../store.js").VaultRecord} VaultRecord */
/** @typedef {import("../store.js").VaultMeta} VaultMeta */

/**
 * What the seal screen seals: the created seed waiting in the worker, or
 * an imported one (its secrets only until sealing).
 * @typedef {{ source: "pending", network: string }
 *   | { source: "aezeed", network: string, words: string[], aezeedPassphrase: string }
 *   | { source: "xprv", network: string, xprv: string }} SealSource
 */

/**
 * The status the panel shows: the worker's SignerStatus, or idle.
 * @typedef {SignerStatus | { kind: "idle" }} ShownStatus
 */

/** @returns {Counters} */
export function newCounters() {
  return { requests: 0, psbt: 0, errors: 0, pings: 0, latencySum: 0, byKind: {}, dropped: 0 };
}

/** @typedef {ReturnType<typeof initialState>} State */

export function initialState() {
  return {
    /** @type {VaultRecord | null} from IndexedDB */
    vault: null,
    /** @type {UnlockedInfo | null} */
    unlocked: null,
    /** What the stored macaroon grants (never its bytes). @type {import("../pkg/lnd_web_signer.js").MacaroonInfo | null} */
    macaroonInfo: null,
    /** @type {SealSource | null} */
    sealSource: null,
    /** @type {number[]} positions of the seed words to type back */
    confirmPositions: [],
    version: "",
    wasmSha256: "",
    autolockMinutes: 30,
    /** lnd's healthcheck.remotesigner.interval */
    healthIntervalSecs: 60,
    /** idle watchdog: reconnect after this many silent intervals (0: never) */
    idleMultiple: 3,
    /** longest wait for an approval card (keep under lnd's request timeout) */
    approvalSecs: 4,
    lastInput: Date.now(),
    /** a connection was asked for (until disconnect or lock) */
    connected: false,
    /** @type {"tab" | null} waiting for another tab of this origin to stop signing (lib/leader.js) */
    standby: null,
    /** @type {ShownStatus} */
    status: { kind: "idle" },
    attempt: 0,
    nodeInfo: "",
    /** @type {number | null} */
    registeredAt: null,
    /** @type {number | null} */
    lastPingAt: null,
    /** @type {number | null} */
    reconnectAt: null,
    /** @type {LastError | null} */
    lastError: null,
    /** @type {{ reason: string, code: import("../pkg/lnd_web_signer.js").ErrorCode | null, at: number } | null} the last Attach stream's own final status */
    attachEnd: null,
    bridgeUrl: "",
    /** @type {string | null} reconnect here after the next unlock */
    resumeUrl: null,
    /** @type {ActivityEntry[]} the latest entries (requests and pings), oldest first */
    activity: [],
    counters: newCounters(),
    /** @type {{ reason: string, at: number } | null} while the worker cannot describe requests */
    detailsOff: null,
    showPings: false,
  };
}

/** The store (read it; change it with update()). */
export const state = initialState();

/**
 * Changes the store: a shallow merge of `patch`.
 * @param {Partial<State>} patch
 */
export function update(patch) {
  Object.assign(state, patch);
}

/**
 * The idle watchdog's settings, passed to UnlockedSigner.connect.
 * @param {Pick<State, "healthIntervalSecs" | "idleMultiple" | "approvalSecs">} s
 * @returns {import("../pkg/lnd_web_signer.js").ConnectOptions}
 */
export function connectOptions(s) {
  return {
    healthCheckIntervalMs: s.healthIntervalSecs * 1000,
    idleMultiple: s.idleMultiple,
    approvalTimeoutMs: s.approvalSecs * 1000,
  };
}
