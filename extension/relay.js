// @ts-check
// The popup's end of the signer: a Worker-shaped object (lib/rpc.js's
// WorkerLike) whose messages go over a BroadcastChannel of the extension's
// origin to the offscreen document (offscreen.js), which hands them to the
// signer's worker and sends the answers and events back. The offscreen
// document is opened first, through the service worker, when it is not
// running (after a lock or a browser restart).
//
// BroadcastChannel copies (no transfer): the bytes a view hands over to be
// transferred (a macaroon, a bundle) are wiped here right after the copy
// was taken, as a transfer would have detached them.

/// <reference types="chrome" />

export const CHANNEL = "lnd-web-signer/signer";

/**
 * @param {{ onLocked: (reason: string) => void }} handlers
 *   onLocked: the offscreen document locked by itself (auto-lock, idle,
 *   the screen locked)
 */
export function createRelay({ onLocked }) {
  const channel = new BroadcastChannel(CHANNEL);
  const client = crypto.randomUUID();
  /** @type {Promise<unknown>} keeps the messages in order */
  let queue = Promise.resolve();
  /** @type {((live: any) => void) | null} */
  let onLive = null;

  async function ensureOffscreen() {
    const res = await chrome.runtime.sendMessage({ type: "lws:ensure-offscreen" });
    if (!res?.ok) throw new Error(`the signer's offscreen document did not start: ${res?.error ?? "no answer"}`);
  }

  /** @param {object} payload */
  function send(payload) {
    queue = queue.then(ensureOffscreen).then(() => channel.postMessage({ to: "offscreen", client, ...payload }));
    return queue;
  }

  /** @type {import("./lib/rpc.js").WorkerLike & { liveState: () => Promise<any>, input: () => void }} */
  const relay = {
    onmessage: null,
    onerror: null,
    postMessage(message, transfer = []) {
      const sent = send({ message });
      // The structured clone is taken in postMessage: wipe the originals then.
      sent.finally(() => {
        for (const t of transfer) if (t instanceof ArrayBuffer && !t.detached) new Uint8Array(t).fill(0);
      }).catch((e) => {
        const id = /** @type {any} */ (message)?.id;
        relay.onmessage?.(/** @type {MessageEvent} */ ({ data: { id, ok: false, error: String(e?.message || e) } }));
      });
    },
    liveState() {
      return new Promise((resolve) => {
        onLive = resolve;
        send({ hello: true }).catch(() => resolve(null));
      });
    },
    input() {
      send({ input: true }).catch(() => {});
    },
  };

  channel.onmessage = (ev) => {
    const d = ev.data;
    if (!d || (d.to !== client && d.to !== "*")) return;
    if (d.retry && d.to === client) {
      // That document was closing (a lock): once it is gone, a new one starts.
      const { to: _to, client: _client, ...payload } = d.retry;
      setTimeout(() => { send(payload).catch(() => {}); }, 250);
    } else if (d.live !== undefined && d.to === client) {
      onLive?.(d.live);
      onLive = null;
    } else if (typeof d.locked === "string") {
      onLocked(d.locked);
    } else if (d.message) {
      relay.onmessage?.(/** @type {MessageEvent} */ ({ data: d.message }));
    }
  };
  return relay;
}
