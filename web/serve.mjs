// A tiny static file server for dist/, with or without cross-origin
// isolation (COOP/COEP), for `make run`, the browser tests and the browser
// benchmark. Not part of the site itself.
//
//   node web/serve.mjs dist [--host 127.0.0.1] [--port 8080] [--no-isolation]

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.csv': 'text/csv; charset=utf-8',
  '.ts': 'text/plain; charset=utf-8',
};

/**
 * Serves `root` over HTTP. With `isolate`, every response carries
 * COOP: same-origin and COEP: require-corp, so the page is
 * `crossOriginIsolated` and can use SharedArrayBuffer (the threaded build).
 * Resolves to `{ url, close() }`; port 0 picks a free port.
 */
export function serve(root, { host = '127.0.0.1', port = 0, isolate = true } = {}) {
  const base = path.resolve(root);
  const server = http.createServer((req, res) => {
    const headers = { 'Cache-Control': 'no-store' };
    if (isolate) {
      headers['Cross-Origin-Opener-Policy'] = 'same-origin';
      headers['Cross-Origin-Embedder-Policy'] = 'require-corp';
    }
    let rel;
    try {
      rel = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      res.writeHead(400, headers).end('bad request');
      return;
    }
    let file = path.join(base, rel);
    if (file !== base && !file.startsWith(base + path.sep)) {
      res.writeHead(403, headers).end('forbidden');
      return;
    }
    fs.stat(file, (err, st) => {
      if (!err && st.isDirectory()) {
        file = path.join(file, 'index.html');
        st = fs.existsSync(file) ? fs.statSync(file) : null;
      }
      if (err || !st || req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(err || !st ? 404 : 405, { ...headers, 'Content-Type': 'text/plain' }).end('not found');
        return;
      }
      headers['Content-Type'] = TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream';
      headers['Content-Length'] = st.size;
      res.writeHead(200, headers);
      if (req.method === 'HEAD') res.end();
      else fs.createReadStream(file).pipe(res);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const { port: p } = server.address();
      resolve({
        url: `http://${host}:${p}/`,
        close: () => new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        }),
      });
    });
  });
}

// Command line: node web/serve.mjs ROOT [--host H] [--port P] [--no-isolation]
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? args.splice(i, 2)[1] : dflt;
  };
  const host = opt('--host', '127.0.0.1');
  const port = Number(opt('--port', '8080'));
  const isolate = !args.includes('--no-isolation');
  const root = args.find((a) => !a.startsWith('--')) ?? 'dist';
  if (!fs.existsSync(path.join(root, 'index.html'))) {
    console.error(`serve: ${root}/index.html not found (run make dist)`);
    process.exit(1);
  }
  const { url } = await serve(root, { host, port, isolate });
  console.log(`serving ${root}/ at ${url} ${isolate ? 'with' : 'without'} COOP/COEP (threads ${isolate ? 'on' : 'off'})`);
}
