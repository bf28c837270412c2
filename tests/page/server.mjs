// A tiny static server for web/ (tests, demo, headless tab). Sends the
// production headers of web/_headers with every file (the CSP with
// frame-ancestors, COOP, CORP, no-referrer, nosniff: the same file a
// Netlify or Cloudflare Pages deployment uses) and the right Content-Type
// for .wasm. Loopback only.
//
//   node tests/page/server.mjs [--root web] [--host 127.0.0.1] [--port 0] [--connect-src "'self' https://bridge"]
// prints "serving http://HOST:PORT/" once listening. --connect-src narrows
// the CSP's connect-src (docs/web.md, "Hosting").

import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const DEFAULT_ROOT = join(fileURLToPath(new URL(".", import.meta.url)), "../../web");

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
export function productionHeaders(root = DEFAULT_ROOT) {
  return parseHeadersFile(readFileSync(join(root, "_headers"), "utf8"));
}

/** `csp` with its connect-src directive replaced by `sources`. */
export function withConnectSrc(csp, sources) {
  return csp.split(";").map((d) => (d.trim().startsWith("connect-src") ? ` connect-src ${sources}` : d)).join(";").trim();
}

export const CSP = productionHeaders().find(([n]) => n === "Content-Security-Policy")[1];

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
 * `connectSrc` narrows the CSP's connect-src, e.g. "'self' https://bridge".
 */
export function startServer({ root, host = "127.0.0.1", port = 0, connectSrc } = {}) {
  const base = resolve(root ?? DEFAULT_ROOT);
  const headers = productionHeaders(base).map(([n, v]) =>
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

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const { url, close } = await startServer({
    root: arg("root"), host: arg("host", "127.0.0.1"), port: Number(arg("port", "0")), connectSrc: arg("connect-src"),
  });
  console.log(`serving ${url}`);
  const stop = async () => { await close(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
