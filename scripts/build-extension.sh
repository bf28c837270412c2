#!/usr/bin/env bash
# Builds the browser extension (extension/, Manifest V3 for Chromium) from
# the same files as the signer tab: web/lib/ (the views), store.js,
# signer-worker.js, app.css and the wasm package, plus extension/'s own
# entry points (service worker, offscreen document, popup). The popup page
# is web/index.html with the popup's entry and stylesheet (no second UI).
#
#   scripts/build-extension.sh                 dist/extension/ (unpacked) and
#                                              dist/lnd-web-signer-extension.zip
#   scripts/build-extension.sh --print-origin  prints chrome-extension://ID (the
#                                              id follows from the manifest's
#                                              public `key`), for signer-bridge
#                                              --allow-origin; builds nothing
#   EXT_OUT=DIR scripts/build-extension.sh     another output directory
# Builds web/pkg first when it is missing (scripts/build-wasm.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log() { printf '[extension] %s\n' "$*" >&2; }

# The extension id: the first 32 hex digits of SHA-256 over the DER public
# key, written with the letters a-p for 0-f (what Chromium does).
extension_id() {
  python3 - "$root/extension/manifest.json" <<'PY'
import base64, hashlib, json, sys
key = json.load(open(sys.argv[1]))["key"]
digest = hashlib.sha256(base64.b64decode(key)).hexdigest()[:32]
print("".join(chr(ord("a") + int(c, 16)) for c in digest))
PY
}

if [ "${1:-}" = --print-origin ]; then
  echo "chrome-extension://$(extension_id)"
  exit 0
elif [ -n "${1:-}" ]; then
  log "usage: $0 [--print-origin]"
  exit 2
fi

if [ ! -f web/pkg/lnd_web_signer_bg.wasm ] || [ ! -f web/pkg/lnd_web_signer.js ]; then
  log "web/pkg is missing: building the wasm signer"
  bash scripts/build-wasm.sh
fi
out=${EXT_OUT:-$root/dist/extension}
rm -rf "$out"
mkdir -p "$out/lib" "$out/pkg"
cp web/lib/*.js "$out/lib/"
cp web/store.js web/nonce-store.js web/audit-store.js web/strength.js web/signer-worker.js web/app.css web/icon.svg web/icon-lock.svg "$out/"
cp web/pkg/lnd_web_signer.js web/pkg/lnd_web_signer_bg.wasm "$out/pkg/"
cp extension/manifest.json extension/background.js extension/offscreen.html extension/offscreen.js \
  extension/popup.js extension/popup.css extension/relay.js extension/events.html extension/events.js "$out/"
# The popup page: the tab's page with the popup's entry and stylesheet; the
# page's CSP meta is dropped (the manifest's extension_pages policy applies,
# and connect-src stays open to the bridge the user names).
python3 - web/index.html "$out/popup.html" <<'PY'
import re, sys
html = open(sys.argv[1], encoding="utf-8").read()
csp = re.compile(r'\s*<meta http-equiv="Content-Security-Policy"[^>]*>')
entry = '<script type="module" src="app.js"></script>'
if len(csp.findall(html)) != 1 or html.count(entry) != 1:
    sys.exit("web/index.html changed: update scripts/build-extension.sh (CSP meta / app.js entry)")
html = csp.sub("", html)
html = html.replace(entry, '<link rel="stylesheet" href="popup.css">\n  <script type="module" src="popup.js"></script>')
html = html.replace('<html lang="en">', '<html lang="en" class="popup">', 1)
open(sys.argv[2], "w", encoding="utf-8").write(html)
PY
# Nothing remote, nothing inline: every script is a file of the package.
if grep -REn '(src|href)="(https?:)?//' "$out"/*.html; then
  log "a page of the extension loads something remote"
  exit 1
fi
zip_path="$(dirname "$out")/lnd-web-signer-extension.zip"
rm -f "$zip_path"
(cd "$out" && python3 - "$zip_path" <<'PY'
import os, sys, zipfile
# Sorted names and a fixed time: the same files give the same zip.
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    for dirpath, dirs, files in os.walk("."):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(dirpath, f)[2:]
            info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            z.writestr(info, open(path, "rb").read())
PY
)
log "unpacked: $out"
log "zip for the store: $zip_path"
log "origin (signer-bridge --allow-origin): chrome-extension://$(extension_id)"
