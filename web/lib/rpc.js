// @ts-check
// Talking to the signer worker (signer-worker.js): `{id, op, args}` calls
// answered by `{id, ok, result | error}`, and events `{event, ...}`.
// Importing this module starts nothing: the entry (app.js, or an extension
// popup with its own port) creates the worker and calls attach().

/**
 * What the worker posts besides answers (docs/web.md, "The worker protocol").
 * @typedef {{ event: "status", status: import("../pkg/lnd_web_signer.js").SignerStatus }
 *   | { event: "activity", entry: import("./state.js").ActivityEntry }
 *   | { event: "attachEnd", end: import("../pkg/lnd_web_signer.js").StreamEnd }
 *   | { event: "inspector", ok: boolean, reason?: string }
 *   | { event: "approval", request: import("../pkg/lnd_web_signer.js").ApprovalRequest }
 *   | { event: "approvalEnd", id: string, outcome: string }
 *   | { event: "audit", entries: number }} WorkerEvent
 */

/**
 * A worker or anything shaped like one (a MessagePort, a test double).
 * @typedef {object} WorkerLike
 * @property {(message: unknown, transfer: Transferable[]) => void} postMessage
 * @property {((ev: MessageEvent) => unknown) | null} onmessage
 * @property {((ev: ErrorEvent) => unknown) | null} [onerror]
 */

/** @typedef {(op: string, args?: object, transfer?: Transferable[]) => Promise<any>} Call */

/**
 * Wires `worker`: answers resolve (or reject with an Error of the worker's
 * text) the calls made with the returned `call`; events go to `onEvent`;
 * a failure to start goes to `onError`.
 * @param {WorkerLike} worker
 * @param {{ onEvent: (ev: WorkerEvent) => void, onError?: (message: string) => void }} handlers
 * @returns {Call}
 */
export function createRpc(worker, { onEvent, onError }) {
  let nextCallId = 1;
  /** @type {Map<number, { resolve: (v: any) => void, reject: (e: Error) => void }>} */
  const calls = new Map();
  worker.onmessage = (ev) => {
    const msg = ev.data;
    if (msg && typeof msg.event === "string") {
      onEvent(msg);
      return;
    }
    const pending = calls.get(msg?.id);
    if (!pending) return;
    calls.delete(msg.id);
    if (msg.ok) pending.resolve(msg.result);
    else pending.reject(new Error(msg.error));
  };
  if (onError) {
    worker.onerror = (ev) => onError(`The signer worker failed to start: ${ev.message || "unknown error"}`);
  }
  return (op, args, transfer = []) => {
    const id = nextCallId++;
    return new Promise((resolve, reject) => {
      calls.set(id, { resolve, reject });
      worker.postMessage({ id, op, args }, transfer);
    });
  };
}

/** @type {Call | null} */
let current = null;

/**
 * Makes `worker` the one the views call (see createRpc).
 * @param {WorkerLike} worker
 * @param {{ onEvent: (ev: WorkerEvent) => void, onError?: (message: string) => void }} handlers
 */
export function attach(worker, handlers) {
  current = createRpc(worker, handlers);
}

/**
 * Calls an op of the attached worker; `transfer` moves buffers instead of
 * copying them.
 * @type {Call}
 */
export function call(op, args, transfer = []) {
  if (!current) return Promise.reject(new Error("no signer worker attached"));
  return current(op, args, transfer);
}
