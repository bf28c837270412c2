// Persistent storage of the signer tab: IndexedDB only.
//   vault    "current" -> { blob: Uint8Array (the sealed vault), meta, savedAt }
//   settings <name>    -> any (bridge URL, auto-lock minutes, ...: nothing secret)
// The seed and the macaroon are never stored here except inside the sealed blob.

const DB_NAME = "lnd-web-signer";
const DB_VERSION = 1;

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

async function run(storeName, mode, fn) {
  const db = await openDb();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const store = tx.objectStore(storeName);
    let result;
    const req = fn(store);
    if (req) req.onsuccess = () => { result = req.result; };
    tx.oncomplete = () => resolve(result);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("storage transaction aborted"));
  });
}

/** The stored vault record, or null. */
export async function loadVault() {
  const rec = await run("vault", "readonly", (s) => s.get("current"));
  return rec ?? null;
}

/** Stores the sealed vault bytes (replacing any previous one). */
export async function saveVault(blob, meta = {}) {
  const bytes = blob instanceof Uint8Array ? blob : new Uint8Array(blob);
  await run("vault", "readwrite", (s) => s.put({ blob: bytes, meta, savedAt: Date.now() }, "current"));
}

/** Updates the public metadata kept beside the vault (network, fingerprint, birthday). */
export async function saveVaultMeta(meta) {
  const rec = await loadVault();
  if (!rec) return;
  await run("vault", "readwrite", (s) => s.put({ ...rec, meta: { ...rec.meta, ...meta } }, "current"));
}

/** Deletes the vault. */
export async function wipeVault() {
  await run("vault", "readwrite", (s) => s.delete("current"));
}

export async function getSetting(name, fallback) {
  const v = await run("settings", "readonly", (s) => s.get(name));
  return v === undefined ? fallback : v;
}

export async function setSetting(name, value) {
  await run("settings", "readwrite", (s) => s.put(value, name));
}
