// @ts-check
// The MuSig2 used-nonce record of this origin, kept by the signer's worker
// (docs/musig2.md "Signer restart"). IndexedDB database of its own:
//   used-nonces  (auto key) -> { node: fingerprint, entries: Uint8Array, at }
// Entries are public (54-byte hashes of a nonce and of what it signed), are
// stored before the signature they belong to leaves (the wasm signer waits
// for appendUsedNonces), and are read back when a signer for the same seed
// connects: after a reload, a lock and unlock, or when a standby tab takes
// over, the new signer still refuses a nonce in any other context.

const DB_NAME = "lnd-web-signer-musig2";
const STORE = "used-nonces";
/** Bytes of one entry (lnd_web_signer::musig2::USED_NONCE_ENTRY_LEN). */
export const ENTRY_LEN = 54;
/** Entries kept per node (the signer's default record bound). */
export const MAX_ENTRIES = 100_000;
/** Stored rows per node beyond which loading compacts them into one. */
const COMPACT_ROWS = 256;

/** @type {Promise<IDBDatabase> | null} */
let dbPromise = null;

function openDb() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, 1);
      req.onupgradeneeded = () => {
        const store = req.result.createObjectStore(STORE, { autoIncrement: true });
        store.createIndex("node", "node");
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
      req.onblocked = () => reject(new Error("the nonce record database is blocked by another tab"));
    });
    // A failed open may succeed later (e.g. after a blocked upgrade).
    dbPromise.catch(() => {
      dbPromise = null;
    });
  }
  return dbPromise;
}

/**
 * Runs `fn` in one transaction on the store; resolves once it committed.
 * @template T
 * @param {IDBTransactionMode} mode
 * @param {(store: IDBObjectStore, done: (value: T) => void) => void} fn
 * @returns {Promise<T>}
 */
async function transact(mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    /** @type {T | undefined} */
    let result;
    fn(tx.objectStore(STORE), (value) => {
      result = value;
    });
    tx.oncomplete = () => resolve(/** @type {T} */ (result));
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("nonce record transaction aborted"));
  });
}

/**
 * The concatenated newest `max` entries of `rows` (oldest first).
 * @param {Uint8Array[]} rows @param {number} max
 */
export function concatNewest(rows, max) {
  const total = rows.reduce((n, r) => n + Math.floor(r.length / ENTRY_LEN), 0);
  let skip = Math.max(0, total - max);
  const out = new Uint8Array((total - skip) * ENTRY_LEN);
  let at = 0;
  for (const row of rows) {
    const n = Math.floor(row.length / ENTRY_LEN);
    const drop = Math.min(skip, n);
    skip -= drop;
    const part = row.subarray(drop * ENTRY_LEN, n * ENTRY_LEN);
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * The stored record of `node` (entries oldest first, concatenated); many
 * small rows are compacted into one on the way.
 * @param {string} node the vault's fingerprint
 * @returns {Promise<Uint8Array>}
 */
export async function loadUsedNonces(node) {
  /** @type {{ keys: IDBValidKey[], rows: Uint8Array[] }} */
  const read = await transact("readonly", (store, done) => {
    const index = store.index("node");
    const keys = index.getAllKeys(IDBKeyRange.only(node));
    const values = index.getAll(IDBKeyRange.only(node));
    // Requests of one transaction complete in order: keys first.
    values.onsuccess = () => done({ keys: keys.result, rows: values.result.map((v) => v.entries) });
  });
  const record = concatNewest(read.rows, MAX_ENTRIES);
  if (read.rows.length > COMPACT_ROWS) {
    await transact("readwrite", (store) => {
      for (const key of read.keys) store.delete(key);
      store.add({ node, entries: record, at: Date.now() });
    });
  }
  return record;
}

/**
 * Appends entries for `node`; resolves once they are committed.
 * @param {string} node @param {Uint8Array} entries
 */
export async function appendUsedNonces(node, entries) {
  if (entries.length % ENTRY_LEN !== 0) {
    throw new Error(`a nonce record of ${entries.length} bytes is not whole ${ENTRY_LEN}-byte entries`);
  }
  await transact("readwrite", (store) => {
    store.add({ node, entries: entries.slice(), at: Date.now() });
  });
}
