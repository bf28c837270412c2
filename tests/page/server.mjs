// The static server for web/ under its old path (native/tests/itest_support,
// scripts/bench-lnd.sh and docs/web.md start it as
// `node tests/page/server.mjs [--root web] [--host 127.0.0.1] [--port 0] [--connect-src ...]`).
// It is tests/stack/static.mjs; see tests/stack/cli.mjs for the options.

import { serveMain } from "../stack/cli.mjs";

await serveMain(process.argv.slice(2));
