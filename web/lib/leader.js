// @ts-check
// One signer per node among the tabs of one origin (the Web Locks API).
//
// lnd accepts one signer stream at a time: two tabs of this origin with the
// same vault would fight over it. So a tab signs only while it holds the
// Web Lock of its node (lockName: the vault's key fingerprint, which names
// the node's seed). The first tab takes it and connects; a later one (it
// must be unlocked to ask) is a standby: it waits in the lock's queue, and
// the browser hands it the lock the moment the leader lets go — it locks,
// disconnects, reloads or closes (a closed tab's locks are released at
// once) — and it connects then, within the bridge's reconnect time.
// Pure apart from the `locks` object passed in (navigator.locks, or a fake
// in tests/page/unit/leader.test.mjs).

export const LOCK_PREFIX = "lnd-web-signer/node/";

/**
 * The lock of the node a vault signs for.
 * @param {string} fingerprint the vault's master key fingerprint
 */
export function lockName(fingerprint) {
  return `${LOCK_PREFIX}${fingerprint}`;
}

/**
 * The part of the Web Locks API used here.
 * @typedef {{ request: (name: string, options: { ifAvailable?: boolean, signal?: AbortSignal },
 *   callback: (lock: unknown) => unknown) => Promise<unknown> }} LocksLike
 */

/**
 * @typedef {object} Leadership
 * @property {(name: string, handlers: { onLead: () => void, onStandby: () => void }) => void} acquire
 *   Asks for `name`: `onLead` once it is held (at once when free), else
 *   `onStandby` first and `onLead` when the holder lets go. A new acquire
 *   (of another name) or release ends the previous one; acquiring the
 *   name already held calls `onLead` again and keeps it.
 * @property {() => void} release lets the lock go (or leaves the queue)
 * @property {() => "none" | "waiting" | "leading"} role
 */

/**
 * @param {LocksLike | null | undefined} locks navigator.locks (null: no
 *   Web Locks, e.g. an insecure context: every tab leads)
 * @returns {Leadership}
 */
export function createLeadership(locks) {
  /** @type {object | null} the current acquire */
  let current = null;
  /** @type {"none" | "waiting" | "leading"} */
  let role = "none";
  /** @type {(() => void) | null} */
  let letGo = null;
  let heldName = "";

  function release() {
    current = null;
    heldName = "";
    role = "none";
    const f = letGo;
    letGo = null;
    if (f) f();
  }

  /**
   * @param {object} token
   * @param {() => void} onLead
   */
  function lead(token, onLead) {
    if (current !== token) return undefined;
    role = "leading";
    // Held until release() (or the tab goes away).
    const held = new Promise((resolve) => {
      letGo = () => resolve(undefined);
    });
    onLead();
    return held;
  }

  return {
    acquire(name, { onLead, onStandby }) {
      // Already leading for this node (a reconnect): keep the lock.
      if (role === "leading" && heldName === name) {
        onLead();
        return;
      }
      release();
      heldName = name;
      const token = {};
      current = token;
      if (!locks) {
        role = "leading";
        onLead();
        return;
      }
      const controller = new AbortController();
      letGo = () => controller.abort();
      const ignoreAbort = (/** @type {unknown} */ e) => {
        if (!(e instanceof Error && e.name === "AbortError") && current === token) {
          console.warn(`[signer] the tab lock failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      };
      locks.request(name, { ifAvailable: true }, (lock) => {
        if (current !== token) return undefined;
        if (lock) return lead(token, onLead);
        role = "waiting";
        onStandby();
        // Wait in the queue (released by abort when this tab stops asking).
        locks.request(name, { signal: controller.signal }, () => lead(token, onLead)).catch(ignoreAbort);
        return undefined;
      }).catch(ignoreAbort);
    },
    release,
    role: () => role,
  };
}
