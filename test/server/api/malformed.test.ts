import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import WebSocket from 'ws';
import { startServer, type ServerProcess } from '../../support/serverProcess';

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

type Case = { method: string; path: string; body?: string | Uint8Array; type?: string; expect: number; code?: string };

function cases(): Case[] {
  const json = 'application/json';
  const base: Case[] = [
    { method: 'POST', path: '/v1/tasks', body: '{', type: json, expect: 400, code: 'invalid_json' },
    { method: 'POST', path: '/v1/tasks', body: 'null', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '[]', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":123}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"x","repo":{"kind":"bogus"}}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"x","repo":{"kind":"local","path":"relative"}}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"   ","repo":{"kind":"local","path":"/tmp"}}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"x","repo":{"kind":"local","path":"/tmp"},"options":{"attempts":9}}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"x","repo":{"kind":"local","path":"/tmp"},"selection":{"path":"../etc/passwd","startLine":1,"endLine":2,"text":""}}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"x","repo":{"kind":"remote","url":"https://user:secret@example.com/r.git"}}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"x","repo":{"kind":"local","path":"/tmp"},"selection":{"path":"a.js","startLine":5,"endLine":2,"text":""}}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'GET', path: '/v1/tasks/nope/file?path=%2Fetc%2Fpasswd', expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks', body: '{"prompt":"x"}', type: 'text/plain', expect: 415, code: 'unsupported_media_type' },
    { method: 'POST', path: '/v1/tasks', body: '\u0000\u0001\u0002', type: json, expect: 400, code: 'invalid_json' },
    { method: 'POST', path: '/v1/tasks/nope/messages', body: '{"text":"hi"}', type: json, expect: 404, code: 'not_found' },
    { method: 'POST', path: '/v1/tasks/nope/messages', body: '{"text":""}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks/nope/messages', body: JSON.stringify({ text: 'x'.repeat(300 * 1024) }), type: json, expect: 413, code: 'payload_too_large' },
    { method: 'POST', path: '/v1/tasks/nope/cancel', expect: 404, code: 'not_found' },
    { method: 'GET', path: '/v1/tasks/nope', expect: 404, code: 'not_found' },
    { method: 'GET', path: '/v1/tasks/nope/diff', expect: 404, code: 'not_found' },
    { method: 'GET', path: '/v1/tasks/nope/file?path=../x', expect: 422, code: 'validation_failed' },
    { method: 'GET', path: '/v1/nothing-here', expect: 404, code: 'not_found' },
    { method: 'PATCH', path: '/v1/tasks', expect: 405, code: 'method_not_allowed' },
    { method: 'GET', path: '/v1/tasks/%E0%A4%A', expect: 400 },
    { method: 'POST', path: '/v1/bundles', body: new Uint8Array([1, 2, 3]), type: 'application/octet-stream', expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/bundles', body: 'x', type: json, expect: 415, code: 'unsupported_media_type' },
    { method: 'POST', path: '/v1/tasks/nope/pull-request', body: '{"githubToken":5}', type: json, expect: 422, code: 'validation_failed' },
    { method: 'POST', path: '/v1/tasks/nope/select-attempt', body: '{"attempt":"one"}', type: json, expect: 422, code: 'validation_failed' },
  ];
  // Random junk JSON: wrong types in every position.
  const junk = [1, true, null, [], {}, -1, Infinity, { kind: 'x' }];
  for (let i = 0; base.length < 965; i++) {
    const v = junk[i % junk.length];
    const shape = i % 4;
    const body =
      shape === 0 ? { prompt: v, repo: { kind: 'local', path: '/tmp' } } :
      shape === 1 ? { prompt: 'x', repo: v } :
      shape === 2 ? { prompt: 'x', repo: { kind: 'local', path: '/tmp' }, options: { model: v, limits: { maxTurns: v } } } :
      { prompt: 'x', repo: { kind: 'local', path: '/tmp' }, selection: { path: v, startLine: v, endLine: 1, text: '' } };
    base.push({ method: 'POST', path: '/v1/tasks', body: JSON.stringify(body), type: json, expect: 422, code: 'validation_failed' });
  }
  return base;
}

describe('malformed input', function () {
  this.timeout(120_000);
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  it('answers 1,000 malformed, oversized and wrong-typed requests and frames with typed errors and stays up with bounded memory', async () => {
    const all = cases();
    // Warm up so the baseline includes lazily allocated parts.
    for (const c of all.slice(0, 30)) await send(c);
    const before = rssKb(server.pid);
    let n = 0;
    for (const c of all) {
      const res = await send(c);
      assert.equal(res.status, c.expect, `${c.method} ${c.path} ${String(c.body).slice(0, 80)} → ${res.status} ${res.text.slice(0, 200)}`);
      const body = JSON.parse(res.text) as { error?: { code?: string; message?: string } };
      assert.equal(typeof body.error?.message, 'string', res.text);
      if (c.code) assert.equal(body.error?.code, c.code, res.text);
      n++;
    }
    // Oversized bodies: declared too big, and streamed past the limit without a declared length.
    for (let i = 0; i < 5; i++) {
      const big = Buffer.alloc(26 * 1024 * 1024, 0x61);
      const res = await send({ method: 'POST', path: '/v1/tasks', body: big, type: 'application/json', expect: 413 });
      assert.equal(res.status, 413);
      n++;
    }
    n += await rawChunkedOverflow();
    // WebSocket: bad frames get an error frame; an oversized frame closes that socket only.
    const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/events?since=0`, { headers: { authorization: `Bearer ${server.token}` } });
    const frames: { type: string }[] = [];
    ws.on('message', (d) => frames.push(JSON.parse((d as Buffer).toString('utf8')) as { type: string }));
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const bad = ['{', 'null', '{"type":"subscribe","taskIds":"x"}', '{"type":"nope"}', '[]', '"str"'];
    for (let i = 0; i < 24; i++) ws.send(bad[i % bad.length]!);
    ws.send(Buffer.from([0, 1, 2]));
    n += 25;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(frames.filter((f) => f.type === 'error').length, 25);
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send('x'.repeat(64 * 1024));
    assert.equal(await closed, 1009);
    n++;
    for (const since of ['-1', 'abc', '1.5']) {
      const status = await new Promise<number>((resolve) => {
        const w = new WebSocket(`${server.url.replace('http', 'ws')}/v1/events?since=${since}`, { headers: { authorization: `Bearer ${server.token}` } });
        w.once('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
        w.once('open', () => resolve(101));
        w.once('error', () => undefined);
      });
      assert.equal(status, 400);
      n++;
    }
    assert.ok(n >= 1000, `sent ${n}`);
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    const after = rssKb(server.pid);
    assert.ok(after - before < 80 * 1024, `RSS grew from ${before} kB to ${after} kB`);
  });

  async function send(c: Case): Promise<{ status: number; text: string }> {
    const res = await fetch(server.url + c.path, {
      method: c.method,
      headers: { authorization: `Bearer ${server.token}`, ...(c.type ? { 'content-type': c.type } : {}) },
      body: c.body as BodyInit | undefined,
    });
    return { status: res.status, text: await res.text() };
  }

  /** A chunked body with no content-length that keeps going past the limit. */
  async function rawChunkedOverflow(): Promise<number> {
    const { port } = new URL(server.url);
    const status = await new Promise<number>((resolve, reject) => {
      const sock = net.connect(Number(port), '127.0.0.1', () => {
        sock.write(`POST /v1/tasks/x/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${server.token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
        const chunk = 'a'.repeat(64 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 40 && sock.writable) {
            sent++;
            if (!sock.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`)) return sock.once('drain', pump);
          }
        };
        pump();
      });
      let data = '';
      sock.on('data', (d) => {
        data += d.toString();
        const m = /^HTTP\/1\.1 (\d+)/.exec(data);
        if (m) {
          resolve(Number(m[1]));
          sock.destroy();
        }
      });
      sock.on('error', () => undefined);
      setTimeout(() => reject(new Error('no answer to an overflowing chunked body')), 10_000);
    });
    assert.equal(status, 413);
    return 1;
  }
});
