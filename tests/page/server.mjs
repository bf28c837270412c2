// A tiny static server for web/ (tests, demo, headless tab). Sends the page's
// Content-Security-Policy as a header too (frame-ancestors only works there)
// and the right Content-Type for .wasm. Loopback only.
//
//   node tests/page/server.mjs [--root web] [--host 127.0.0.1] [--port 0]
// prints "serving http://HOST:PORT/" once listening.

import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

export const CSP =
  "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self'; " +
  "font-src 'self'; worker-src 'self'; manifest-src 'self'; " +
  "connect-src 'self' https: http://localhost:* http://127.0.0.1:*; " +
  "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

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

/** Starts the server; resolves to { url, port, close() }. */
export function startServer({ root, host = "127.0.0.1", port = 0 } = {}) {
  const base = resolve(root ?? join(fileURLToPath(new URL(".", import.meta.url)), "../../web"));
  const server = createServer(async (req, res) => {
    try {
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD" }).end();
        return;
      }
      let path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      if (path.endsWith("/")) path += "index.html";
      const file = normalize(join(base, path));
      if (file !== base && !file.startsWith(base + sep)) {
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
        "Content-Type": TYPES[extname(file)] ?? "application/octet-stream",
        "Content-Length": body.length,
        "Content-Security-Policy": CSP,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
        "Cross-Origin-Opener-Policy": "same-origin",
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
      ok({ url: `http://${h}:${p}/`, port: p, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const arg = (name, dflt) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : dflt;
  };
  const { url, close } = await startServer({ root: arg("root"), host: arg("host", "127.0.0.1"), port: Number(arg("port", "0")) });
  console.log(`serving ${url}`);
  const stop = async () => { await close(); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
