// The stack from the shell (scripts/lib.sh, the bench and soak scripts):
//
//   node tests/stack/cli.mjs serve [--root DIR] [--host 127.0.0.1] [--port 0]
//        [--connect-src "'self' https://bridge"] [--csp "default-src ..."|--bench-csp]
//     the static server; prints "serving http://HOST:PORT/" once listening
//     and runs until SIGTERM/SIGINT (web/ gets the production headers of
//     web/_headers, --connect-src narrows its CSP: docs/web.md, "Hosting";
//     --bench-csp: the bench pages' CSP)
//   node tests/stack/cli.mjs const NAME
//     prints a constant of tests/stack/constants.mjs (DEMO_TPRV, E2E_TPRV, ...)

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as constants from "./constants.mjs";
import { BENCH_CSP, startStatic } from "./static.mjs";

/** Runs the static server from command-line arguments (also tests/page/server.mjs). */
export async function serveMain(argv) {
  const arg = (name, dflt) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : dflt;
  };
  const { url, close } = await startStatic({
    root: arg("root"), host: arg("host", constants.LOOPBACK), port: Number(arg("port", "0")),
    connectSrc: arg("connect-src"), csp: argv.includes("--bench-csp") ? BENCH_CSP : arg("csp"),
  });
  console.log(`serving ${url}`);
  const stop = async () => { await close(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === "serve") {
    await serveMain(rest);
  } else if (cmd === "const" && rest.length === 1 && Object.hasOwn(constants, rest[0])) {
    console.log(constants[rest[0]]);
  } else {
    process.stderr.write("usage: node tests/stack/cli.mjs serve [--root DIR] [--port N] ... | const NAME\n");
    process.exit(2);
  }
}
