// The wasm package (web/pkg, built by scripts/build-wasm.sh) loaded in
// node, for the unit tests that check the page against what the signer
// exports (the request-kind table, the error codes). Not a test file.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const pkgDir = fileURLToPath(new URL("../../../web/pkg/", import.meta.url));

let bytes;
try {
  bytes = readFileSync(`${pkgDir}lnd_web_signer_bg.wasm`);
} catch (e) {
  throw new Error(`web/pkg is missing: build it first (bash scripts/build-wasm.sh): ${e instanceof Error ? e.message : e}`);
}
const pkg = await import(new URL("../../../web/pkg/lnd_web_signer.js", import.meta.url).href);
pkg.initSync({ module: bytes });

export const { errorCodes, kindTable } = pkg;

/** The text of the generated TypeScript declarations. */
export function declarations() {
  return readFileSync(`${pkgDir}lnd_web_signer.d.ts`, "utf8");
}
