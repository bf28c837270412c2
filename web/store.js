// @ts-check
// Persistent storage of the signer tab: IndexedDB only.
//   vault    "current" -> { blob: Uint8Array (the sealed vault), meta, savedAt }
//   settings <name>    -> any (bridge URL, auto-lock minutes, ...: nothing secret)
// The seed and the macaroon are never stored here except inside the sealed blob.

/**
 * Public metadata kept beside the vault.
 * @typedef {{ network?: string, fingerprint?: string, birthday?: number, restoredFrom?: string }} VaultMeta
 */
/** @typedef {{ blob: Uint8Array<ArrayBuffer>, meta: VaultMeta, savedAt: number }} VaultRecord */

const DB_NAME = "lnd-web-signer";
const DB_VERSION = 1;

/** @type {Promise<IDBDatabase> | null} */
let dbPromise = null;

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("vault")) db.createObjectStore("vault");
        if (!db.objectStoreNames.contains("settings")) db.createObjectStore("settings");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("the vault database is blocked by another tab"));
    });
  }
  return dbPromise;
}

/**
 * Runs `fn` on an object store in one transaction; resolves with the
 * result of the request `fn` returns (once the transaction completed).
 * @param {"vault" | "settings"} storeName
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore) => IDBRequest | void} fn
 * @returns {Promise<any>}
 */
async function run(storeName, mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const store = tx.objectStore(storeName);
    /** @type {any} */
    let result;
    const req = fn(store);
    if (req) req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("storage transaction aborted"));
  });
}

/** The stored vault record, or null. @returns {Promise<VaultRecord | null>} */
export async function loadVault() {
  const rec = await run("vault", "readonly", (s) => s.get("current"));
  return rec ?? null;
}

/**
 * Stores the sealed vault bytes (replacing any previous one).
 * @param {Uint8Array | ArrayBuffer} blob
 * @param {VaultMeta} [meta]
 */
export async function saveVault(blob, meta = {}) {
  const bytes = blob instanceof Uint8Array ? blob : new Uint8Array(blob);
  await run("vault", "readwrite", (s) => s.put({ blob: bytes, meta, savedAt: Date.now() }, "current"));
}

/** Updates the public metadata kept beside the vault (network, fingerprint, birthday). @param {VaultMeta} meta */
export async function saveVaultMeta(meta) {
  const rec = await loadVault();
  if (!rec) return;
  await run("vault", "readwrite", (s) => s.put({ ...rec, meta: { ...rec.meta, ...meta } }, "current"));
}

/** Deletes the vault. */
export async function wipeVault() {
  await run("vault", "readwrite", (s) => s.delete("current"));
}

/**
 * A stored setting, or `fallback`.
 * @template T
 * @param {string} name
 * @param {T} fallback
 * @returns {Promise<T>}
 */
export async function getSetting(name, fallback) {
  const v = await run("settings", "readonly", (s) => s.get(name));
  return v === undefined ? fallback : v;
}

/** @param {string} name @param {unknown} value */
export async function setSetting(name, value) {
  await run("settings", "readwrite", (s) => s.put(value, name));
}
