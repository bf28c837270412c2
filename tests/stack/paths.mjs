// Where things are: the checkout, web/, the native binaries, screenshots.

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const WEB = join(ROOT, "web");
/** The native binaries: target/release, or LWS_BIN_DIR (scripts/lib.sh). */
export const BIN = process.env.LWS_BIN_DIR ? resolve(ROOT, process.env.LWS_BIN_DIR) : join(ROOT, "target/release");
export const SHOTS = process.env.SCREENSHOT_DIR || join(ROOT, "artifacts/screenshots");
export const WORKERD = join(ROOT, "node_modules/.bin/workerd");
/** scripts/build-extension.sh's unpacked extension. */
export const EXTENSION = process.env.EXTENSION_DIR || join(ROOT, "dist/extension");
