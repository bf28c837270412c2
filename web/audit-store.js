// @ts-check
// The signing audit log of this origin, kept by the signer's worker
// (docs/security.md "Audit log"). IndexedDB database of its own:
//   lines  (auto key) -> { node: fingerprint, text: string, at }
// `text` is one or more JSON lines, each ending in "\n", as the wasm signer
// hands them to its storeAudit hook before the answer they describe leaves.
// The log is hash-chained and keyed from the seed (lnd_web_signer::audit):
// whoever edits, reorders or drops a row in the middle is caught by the
// next resumeAudit/verifyAudit. Rows are never compacted or dropped here.

const DB_NAME = "lnd-web-signer-audit";
const STORE = "lines";

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
      req.onblocked = () => reject(new Error("the audit log database is blocked by another tab"));
    });
    dbPromise.catch(() => {
      dbPromise = null;
    });
  }
  return dbPromise;
}

/**
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
    tx.onabort = () => reject(tx.error || new Error("audit log transaction aborted"));
  });
}

/**
 * The whole stored log of `node`, oldest line first.
 * @param {string} node the vault's fingerprint
 * @returns {Promise<string>}
 */
export async function loadAudit(node) {
  /** @type {string[]} */
  const rows = await transact("readonly", (store, done) => {
    const req = store.index("node").getAll(IDBKeyRange.only(node));
    req.onsuccess = () => done(req.result.map((v) => String(v.text)));
  });
  return rows.join("");
}

/**
 * Appends lines for `node`; resolves once they are committed.
 * @param {string} node @param {string} text
 */
export async function appendAudit(node, text) {
  if (typeof text !== "string" || (text && !text.endsWith("\n"))) {
    throw new Error("audit lines must be text ending in a newline");
  }
  await transact("readwrite", (store) => {
    store.add({ node, text, at: Date.now() });
  });
}

/**
 * Deletes the stored log of `node` (after the user exported it, to start a
 * new chain when the old one is broken).
 * @param {string} node
 */
export async function clearAudit(node) {
  await transact("readwrite", (store) => {
    const req = store.index("node").getAllKeys(IDBKeyRange.only(node));
    req.onsuccess = () => {
      for (const key of req.result) store.delete(key);
    };
  });
}
