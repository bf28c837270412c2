#!/usr/bin/env node
// Seals an lnd macaroon into an existing vault (or removes it), with the
// wasm signer's own vaultWithMacaroon: the worker can then run without a
// MACAROON_HEX binding. Runs Argon2id twice (a second or two).
//
//   node worker/tools/vault-macaroon.mjs --vault IN --passphrase-file P \
//        (--macaroon-file signer.macaroon | --bundle BUNDLE | --remove) --out OUT
//
// --bundle takes a signer bundle (credentials-bundle.tar.gz or its .b64
// text, `lnd-web-signer bundle signer … --bridge-url URL`): its macaroon is
// sealed, and the bridge URL to give the worker as BRIDGE_URL is printed on
// stdout (`BRIDGE_URL=…`). A macaroon that grants more than
// remotesigner:generate is sealed with a warning on stderr.
//
// Needs the wasm signer in worker/pkg/ (WASM_OUT=worker/pkg
// scripts/build-wasm.sh) or --pkg DIR. Prints only public facts; OUT is
// never overwritten.

import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const HERE = dirname(fileURLToPath(import.meta.url));

function usage(message) {
  if (message) process.stderr.write(`vault-macaroon: ${message}\n`);
  process.stderr.write(
    "usage: vault-macaroon.mjs --vault IN --passphrase-file P (--macaroon-file M | --bundle B | --remove) --out OUT [--pkg DIR]\n",
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { pkg: join(HERE, "..", "pkg") };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case "--vault": opts.vault = value(); break;
      case "--passphrase-file": opts.passphraseFile = value(); break;
      case "--macaroon-file": opts.macaroonFile = value(); break;
      case "--bundle": opts.bundle = value(); break;
      case "--remove": opts.remove = true; break;
      case "--out": opts.out = value(); break;
      case "--pkg": opts.pkg = value(); break;
      case "-h": case "--help": usage(); break;
      default: usage(`unknown argument ${a}`);
    }
  }
  if (!opts.vault || !opts.passphraseFile || !opts.out) usage("--vault, --passphrase-file and --out are required");
  if ([opts.macaroonFile, opts.bundle, opts.remove].filter(Boolean).length !== 1) {
    usage("give exactly one of --macaroon-file, --bundle and --remove");
  }
  return opts;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const glue = await import(pathToFileURL(resolve(opts.pkg, "lnd_web_signer.js")).href);
  glue.initSync({ module: await readFile(resolve(opts.pkg, "lnd_web_signer_bg.wasm")) });

  const blob = await readFile(opts.vault);
  // First line, like the CLI's --passphrase-file.
  const passphrase = (await readFile(opts.passphraseFile, "utf8")).split(/\r?\n/)[0];
  if (!passphrase) throw new Error(`${opts.passphraseFile}: the first line is empty`);
  let out;
  let what;
  if (opts.bundle) {
    const imported = glue.vaultWithBundle(blob, passphrase, await readFile(opts.bundle));
    out = imported.vault;
    what = `with the bundle's macaroon: ${imported.macaroon.permissions.join(", ") || "no permission"}`;
    if (!imported.macaroon.leastPrivilege) process.stderr.write(`vault-macaroon: warning: ${imported.macaroon.warning}\n`);
    if (imported.endpoint.bridgeUrl) process.stdout.write(`BRIDGE_URL=${imported.endpoint.bridgeUrl}\n`);
    else process.stderr.write(`vault-macaroon: the bundle names lnd at ${imported.endpoint.rpchost}, not a bridge URL: give the worker BRIDGE_URL yourself\n`);
  } else {
    let macaroonHex = "";
    if (opts.macaroonFile) {
      const mac = await readFile(opts.macaroonFile);
      if (mac.length === 0) throw new Error(`${opts.macaroonFile} is empty`);
      macaroonHex = mac.toString("hex");
    }
    out = glue.vaultWithMacaroon(blob, passphrase, macaroonHex);
    what = opts.remove ? "no macaroon" : "with macaroon";
  }
  await writeFile(opts.out, out, { flag: "wx", mode: 0o600 });
  const info = glue.vaultInfo(out);
  process.stderr.write(`vault-macaroon: wrote ${opts.out} (${info.bytes} bytes, vault format ${info.version}, ${what})\n`);
}

main().catch((e) => {
  process.stderr.write(`vault-macaroon: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
