/**
 * `pagetrack serve`'s HTTP server (node:http): the page, its script and uPlot, all from this
 * package and its node_modules (nothing from the network), and the JSON API (api.ts). Read-only:
 * GET only, and nothing it does writes to the log.
 *
 * Bound to loopback, it also checks the Host header, so a web page elsewhere cannot reach it
 * through a DNS name rebound to 127.0.0.1 (the browser would send that name as Host).
 */
import { readFileSync, existsSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { answerApi } from './api.js';
import type { LogView } from './log-view.js';
import { PAGE_CSS, PAGE_HTML } from './page/html.js';

/** The package's root: the folder of its package.json (from src/serve or dist/src/serve). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'pagetrack') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('the pagetrack package root (its package.json) was not found above the serve module');
    dir = up;
  }
}

interface Asset {
  readonly type: string;
  /** The file, or the text itself. */
  readonly file?: string;
  readonly text?: string;
}

/** The page's files: the compiled page script (tsc puts it in dist/), uPlot from node_modules. */
function assets(): Map<string, Asset> {
  const root = packageRoot();
  const uplot = dirname(createRequire(join(root, 'package.json')).resolve('uplot/package.json'));
  return new Map<string, Asset>([
    ['/', { type: 'text/html; charset=utf-8', text: PAGE_HTML }],
    ['/style.css', { type: 'text/css; charset=utf-8', text: PAGE_CSS }],
    ['/app.js', { type: 'text/javascript; charset=utf-8', file: join(root, 'dist', 'src', 'serve', 'page', 'app.js') }],
    ['/uPlot.esm.js', { type: 'text/javascript; charset=utf-8', file: join(uplot, 'dist', 'uPlot.esm.js') }],
    ['/uPlot.min.css', { type: 'text/css; charset=utf-8', file: join(uplot, 'dist', 'uPlot.min.css') }],
  ]);
}

const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
};

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

export interface ServeOptions {
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0: a free port. */
  readonly port?: number;
}

export interface Serving {
  readonly server: Server;
  readonly url: string;
  close(): Promise<void>;
}

export async function startServer(view: LogView, options: ServeOptions = {}): Promise<Serving> {
  const host = options.host ?? '127.0.0.1';
  const files = assets();
  const cache = new Map<string, Buffer>();
  let port = 0;
  const hostOk = (h: string | undefined) => {
    if (!LOOPBACK.has(host)) return true;
    return h !== undefined && [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(h.toLowerCase());
  };
  const send = (res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...SECURITY_HEADERS, ...extra });
    res.end(body);
  };
  const json = (res: ServerResponse, status: number, body: string, extra: Record<string, string> = {}) => send(res, status, 'application/json; charset=utf-8', body, extra);
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (!hostOk(req.headers.host)) return json(res, 403, JSON.stringify({ error: `Host '${String(req.headers.host).slice(0, 64)}' is not this server's address (http://${host}:${port}/)` }));
    if (req.method !== 'GET') return json(res, 405, JSON.stringify({ error: `method ${String(req.method).slice(0, 16)} is not allowed: this server is read-only (GET only)` }), { allow: 'GET' });
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      return json(res, 400, JSON.stringify({ error: 'the request target is not a URL path' }));
    }
    const api = await answerApi(view, url.pathname, url.searchParams);
    if (api) return json(res, api.status, api.body);
    if (url.pathname === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
    const a = files.get(url.pathname);
    if (!a) return json(res, 404, JSON.stringify({ error: `no such path '${url.pathname.slice(0, 64)}' (the page is at /, the API under /api/)` }));
    if (a.text !== undefined) return send(res, 200, a.type, a.text);
    let body = cache.get(a.file!);
    if (!body) {
      if (!existsSync(a.file!)) return json(res, 500, JSON.stringify({ error: `${a.file} is missing: build the package (npm run build)` }));
      body = readFileSync(a.file!);
      cache.set(a.file!, body);
    }
    return send(res, 200, a.type, body);
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      // A bug, not the request's fault: one line, no stack to the client.
      if (!res.headersSent) json(res, 500, JSON.stringify({ error: `internal error: ${(err as Error).message}` }));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    server,
    url: `http://${shown}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
