// @ts-check
// The signer tab's entry: starts the signer worker and boots the views
// (lib/main.js). Everything that touches keys runs in signer-worker.js
// (wasm); the page only moves public data, the user's typed secrets on
// their way to the worker, and the sealed vault bytes on their way to
// IndexedDB. The modules in lib/ do nothing on import (the extension popup,
// extension/popup.js, boots the same views with its own worker relay); this
// file is the only one with side effects.

import { run } from "./lib/main.js";

run(new Worker(new URL("./signer-worker.js", import.meta.url), { type: "module" }), { offlineCache: true });
