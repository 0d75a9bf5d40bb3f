// A loopback stand-in for a server of another version: it passes HTTP requests to the real server
// unchanged and the event stream through a rewrite of each event (a field taken out as an older
// server would lack it, a type renamed as a newer server might send). Real sockets both ways.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export interface RewritingProxy {
  url: string;
  /** How many events the rewrite renamed (changed `type` of). */
  renamed(): number;
  /** The seq of the last event whose type the rewrite changed (0: none). */
  lastRenamedSeq(): number;
  close(): Promise<void>;
}

type Event = Record<string, unknown> & { type: string; seq: number };

/** Headers worth passing on: what says who asks and what the body is, and the diff's version. */
const PASSED = ['authorization', 'content-type', 'x-delegate-diff-version'];

export async function startRewritingProxy(target: string, rewrite: (event: Event) => Event): Promise<RewritingProxy> {
  const base = target.replace(/\/+$/, '');
  let renamed = 0;
  let lastRenamed = 0;
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const h of PASSED) if (typeof req.headers[h] === 'string') headers[h] = req.headers[h];
      const body = chunks.length ? Buffer.concat(chunks) : undefined;
      fetch(`${base}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(body ? { body } : {}) })
        .then(async (r) => {
          const out: Record<string, string> = {};
          for (const h of PASSED) {
            const v = r.headers.get(h);
            if (v !== null) out[h] = v;
          }
          res.writeHead(r.status, out);
          res.end(Buffer.from(await r.arrayBuffer()));
        })
        .catch((e: Error) => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'proxy_failed', message: e.message } }));
        });
    });
  });
  const wss = new WebSocketServer({ server: http, path: '/v1/events' });
  wss.on('connection', (client, req) => {
    const authorization = req.headers.authorization;
    const upstream = new WebSocket(`${base.replace(/^http/, 'ws')}${req.url ?? '/v1/events'}`, { headers: authorization ? { authorization } : {} });
    const early: RawData[] = [];
    upstream.on('open', () => {
      for (const d of early.splice(0)) upstream.send(d);
    });
    upstream.on('message', (data: RawData) => {
      const bytes = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      const frame = JSON.parse(bytes.toString('utf8')) as { type: string; event?: Event };
      if (frame.type === 'event' && frame.event) {
        const before = frame.event.type;
        frame.event = rewrite(frame.event);
        if (frame.event.type !== before) {
          renamed++;
          lastRenamed = Math.max(lastRenamed, frame.event.seq);
        }
      }
      if (client.readyState === WebSocket.OPEN) client.send(JSON.stringify(frame));
    });
    client.on('message', (data: RawData) => {
      if (upstream.readyState === WebSocket.OPEN) upstream.send(data);
      else early.push(data);
    });
    const closeBoth = (): void => {
      client.terminate();
      upstream.terminate();
    };
    client.on('close', closeBoth);
    upstream.on('close', closeBoth);
    client.on('error', closeBoth);
    upstream.on('error', closeBoth);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`,
    renamed: () => renamed,
    lastRenamedSeq: () => lastRenamed,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close();
        http.closeAllConnections();
        http.close(() => r());
      }),
  };
}
