// The one static server of the tests, the demo and the benches: serves a
// directory on loopback with the right Content-Type (.wasm needs
// application/wasm). For web/ it sends the production headers of
// web/_headers with every file (the CSP with frame-ancestors, COOP, CORP,
// no-referrer, nosniff: the same file a Netlify or Cloudflare Pages
// deployment uses); a directory without `_headers` (a bench page) gets only
// the CSP given as `csp`. `_headers` itself and paths outside the root are
// refused.

import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { LOOPBACK } from "./constants.mjs";
import { WEB } from "./paths.mjs";

/**
 * The headers of the `/*` block of a Netlify/Cloudflare-style `_headers`
 * file, as [name, value] pairs.
 */
export function parseHeadersFile(text) {
  const out = [];
  let inAll = false;
  for (const raw of text.split(/\r?\n/)) {
    if (!raw.trim() || raw.trimStart().startsWith("#")) continue;
    if (!/^\s/.test(raw)) {
      inAll = raw.trim() === "/*";
      continue;
    }
    const m = /^\s+([A-Za-z0-9-]+):\s*(.+?)\s*$/.exec(raw);
    if (inAll && m) out.push([m[1], m[2]]);
  }
  return out;
}

/** The production headers of web/_headers (or `root`'s). */
export function productionHeaders(root = WEB) {
  return parseHeadersFile(readFileSync(join(root, "_headers"), "utf8"));
}

/** `csp` with its connect-src directive replaced by `sources`. */
export function withConnectSrc(csp, sources) {
  return csp.split(";").map((d) => (d.trim().startsWith("connect-src") ? ` connect-src ${sources}` : d)).join(";").trim();
}

export const CSP = productionHeaders().find(([n]) => n === "Content-Security-Policy")[1];

/** The CSP of the bench pages (their bridge is on another port). */
export const BENCH_CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src *";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".svg": "image/svg+xml",
  ".json": "application/json",
  ".png": "image/png",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * Starts the server; resolves to { url, port, headers, close() }.
 * `root` defaults to web/; `connectSrc` narrows the CSP's connect-src, e.g.
 * "'self' https://bridge"; `csp` replaces the headers of `root`/_headers
 * (needed for a root without one).
 */
export function startStatic({ root, host = LOOPBACK, port = 0, connectSrc, csp } = {}) {
  const base = resolve(root ?? WEB);
  let headers;
  if (csp) headers = [["Content-Security-Policy", csp]];
  else if (existsSync(join(base, "_headers"))) headers = productionHeaders(base);
  else throw new Error(`${base} has no _headers file: pass csp`);
  headers = headers.map(([n, v]) =>
    (n === "Content-Security-Policy" && connectSrc ? [n, withConnectSrc(v, connectSrc)] : [n, v]));
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD" }).end();
        return;
      }
      let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path.endsWith("/")) path += "index.html";
      const file = normalize(join(base, path));
      if ((file !== base && !file.startsWith(base + sep)) || file === join(base, "_headers")) {
        res.writeHead(403).end();
        return;
      }
      const info = await stat(file).catch(() => null);
      if (!info || !info.isFile()) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, {
        ...Object.fromEntries(headers),
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Content-Length": body.length,
        "Cache-Control": "no-cache",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(500, { "Content-Type": "text/plain" }).end(`${e.message}\n`);
    }
  });
  return new Promise((ok, fail) => {
    server.once("error", fail);
    server.listen(port, host, () => {
      const p = server.address().port;
      const h = host.includes(":") ? `[${host}]` : host;
      ok({ url: `http://${h}:${p}/`, port: p, headers: Object.fromEntries(headers), close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}
