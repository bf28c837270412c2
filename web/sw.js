// @ts-check
// Offline support: keeps the app shell and the wasm signer in a cache.
// Same-origin GETs go to the network first (so an update is picked up at
// once) and fall back to the cache when offline. Calls to signer-bridge
// (other origins, POST) are never touched.

/** The service worker's global scope. */
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));

const CACHE = "lnd-web-signer-v4";
const SHELL = [
  "./",
  "index.html",
  "app.css",
  "app.js",
  "store.js",
  "nonce-store.js",
  "audit-store.js",
  "strength.js",
  "signer-worker.js",
  "lib/activity-log.js",
  "lib/dom.js",
  "lib/errors.js",
  "lib/format.js",
  "lib/leader.js",
  "lib/main.js",
  "lib/parse.js",
  "lib/rpc.js",
  "lib/screens.js",
  "lib/seed-forms.js",
  "lib/state.js",
  "lib/status.js",
  "lib/view-activity.js",
  "lib/view-connection.js",
  "lib/view-create.js",
  "lib/view-import.js",
  "lib/view-policy.js",
  "lib/view-seal.js",
  "lib/view-settings.js",
  "lib/view-unlock.js",
  "icon.svg",
  "icon-lock.svg",
  "pkg/lnd_web_signer.js",
  "pkg/lnd_web_signer_bg.wasm",
];

sw.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => sw.skipWaiting()),
  );
});

sw.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

sw.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== sw.location.origin) return;
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE);
      try {
        const fresh = await fetch(req);
        if (fresh.ok) cache.put(req, fresh.clone());
        return fresh;
      } catch (e) {
        const cached = await cache.match(req, { ignoreSearch: true });
        if (cached) return cached;
        throw e;
      }
    })(),
  );
});
