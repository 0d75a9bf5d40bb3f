// The web interface's files (built by esbuild.mjs into server/dist/web, next to the server bundle)
// and the headers every page of it gets: a strict Content-Security-Policy (nothing from other
// origins, no inline script), no referrer, no framing.
import { readdirSync, readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

export interface WebFiles {
  /** The asset, or undefined when there is no such file (only names listed at start are served). */
  asset(name: string): { body: Buffer; type: string } | undefined;
  /** index.html with `meta` (name → content) in its head; undefined when the app is not built. */
  page(meta: Record<string, string>): string | undefined;
}

/** Reads the built app once: what a request names is looked up in this list, never on disk. */
export function loadWebFiles(dir = join(__dirname, 'web')): WebFiles {
  const files = new Map<string, { body: Buffer; type: string }>();
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    names = [];
  }
  for (const name of names) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  const index = files.get('index.html')?.body.toString('utf8');
  files.delete('index.html');
  return {
    asset: (name) => files.get(name),
    page(meta) {
      if (index === undefined) return undefined;
      const tags = Object.entries(meta).map(([k, v]) => `<meta name="${escapeHtml(k)}" content="${escapeHtml(v)}">`).join('\n    ');
      return index.replace('<!--delegate-meta-->', tags);
    },
  };
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * Same origin only. `connect-src 'self'` covers the page's own ws:/wss: in current browsers; the
 * Host (already checked against the names the server answers to) is named too for older ones.
 */
export function securityHeaders(req: IncomingMessage): Record<string, string> {
  const host = /^[A-Za-z0-9.:[\]-]{1,300}$/.test(req.headers.host ?? '') ? req.headers.host! : '';
  const sockets = host ? ` ws://${host} wss://${host}` : '';
  return {
    'content-security-policy':
      `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'${sockets}; ` +
      `object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'`,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
  };
}

export function sendPage(req: IncomingMessage, res: ServerResponse, status: number, html: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store', ...securityHeaders(req), ...extra });
  res.end(html);
}
