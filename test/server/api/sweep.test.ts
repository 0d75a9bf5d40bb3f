// A sweep of malformed requests over every route — wrong methods, bad ids, bad query parameters,
// bad bodies (not JSON, wrong types, unknown fields, oversized, wrong content types), bad paths,
// foreign hosts, bad upgrades — against a server holding a real finished task. Not one may get a
// 5xx, and every error must be {error: {code, message}} with the code's own status (issue #18.8).
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import WebSocket from 'ws';
import { CreateTaskRequest, MessageRequest, PullRequestRequest, SelectAttemptRequest } from '../../../protocol';
import { ERROR_STATUS, ErrorCode } from '../../../protocol/errors';
import { finishedTask, type Fixture } from './finishedTask';

interface Probe {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Declare a body this large and send only its first bytes: over a limit, the answer comes first. */
  declared?: number;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/**
 * node:http, so that any method, Host and raw path can be sent. An oversized body is answered (413)
 * and the connection closed before it is all written: the answer counts, the broken pipe does not.
 */
function send(f: Fixture, p: Probe): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(
      { host: '127.0.0.1', port: f.server.port, method: p.method, path: p.path, headers: { authorization: `Bearer ${f.server.token}`, ...p.headers }, agent: false },
      (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', () => undefined);
      },
    );
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    if (p.declared === undefined) return req.end(p.body);
    req.setHeader('content-length', p.declared);
    req.write(Buffer.alloc(1024, 0x20));
    req.once('response', (res) => res.once('end', () => req.destroy()));
  });
}

function probes(id: string): Probe[] {
  const out: Probe[] = [];
  const ids = [id, 'nope', '..', '%2e%2e', '%00', '%E0%A4%A', 'x'.repeat(3000), '%F0%9F%92%A9', encodeURIComponent("'; DROP TABLE tasks; --"), '%2F..%2Fetc'];
  const routes = ['/healthz', '/v1/tasks', '/v1/bundles', '/v1/events', ...['', '/diff', '/file', '/events', '/messages', '/cancel', '/select-attempt', '/pull-request'].map((s) => `/v1/tasks/ID${s}`)];
  // Every method on every route, with every kind of id.
  for (const route of routes) {
    for (const taskId of route.includes('ID') ? ids : ['']) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'TRACE']) {
        const path = route.replace('ID', taskId);
        // Never delete the fixture's task: the rest of the sweep needs it (cancelling it, finished, is 409).
        if (taskId === id && method === 'DELETE' && route === '/v1/tasks/ID') continue;
        out.push({ method, path, ...(method === 'POST' ? { headers: JSON_TYPE, body: '{"bogus":1}' } : {}) });
      }
    }
  }
  // Query parameters: bad values, unknown names, repeated, huge.
  const badPaths = ['../../etc/passwd', '/etc/passwd', '%00', 'calc.js%00', 'calc.js/..', '..', '', '.', 'a//b', '%2e%2e%2fx', 'x'.repeat(5000), '%E0%A4%A'];
  for (const taskId of [id, 'nope']) {
    for (const p of badPaths) {
      out.push({ method: 'GET', path: `/v1/tasks/${taskId}/diff?path=${p}` });
      out.push({ method: 'GET', path: `/v1/tasks/${taskId}/diff?path=calc.js&path=${p}` });
      for (const side of ['head', 'base', 'HEAD', '', 'x']) out.push({ method: 'GET', path: `/v1/tasks/${taskId}/file?path=${p}&side=${side}` });
    }
    out.push({ method: 'GET', path: `/v1/tasks/${taskId}/diff?${Array.from({ length: 1200 }, () => 'path=a').join('&')}` });
    out.push({ method: 'GET', path: `/v1/tasks/${taskId}/file?side=head` });
    out.push({ method: 'GET', path: `/v1/tasks/${taskId}/file?path=calc.js&path=README.md` });
    for (const v of ['-1', '1.5', 'abc', '1e309', '99999999999999999999', '', '0x10', '%201', 'NaN']) {
      out.push({ method: 'GET', path: `/v1/tasks/${taskId}/events?since=${v}` });
      out.push({ method: 'GET', path: `/v1/tasks/${taskId}/events?limit=${v}` });
    }
    for (const q of ['x=1', 'since=1&since=2', 'token=abc', '%=1', 'a=%ZZ']) out.push({ method: 'GET', path: `/v1/tasks/${taskId}?${q}` }, { method: 'GET', path: `/v1/tasks?${q}` });
  }
  // Bodies on every body route, with the real id and an unknown one.
  const junk = [1, -1, 0.5, true, null, '', 'x', [], {}, [1], { a: 1 }, 'x'.repeat(300_000)];
  const bodies: { path: (t: string) => string; schema: { safeParse(v: unknown): { success: boolean } }; shapes: unknown[] }[] = [
    {
      path: () => '/v1/tasks',
      schema: CreateTaskRequest,
      shapes: [
        ...junk.flatMap((v) => [
          { prompt: v, repo: { kind: 'local', path: '/tmp' } },
          { prompt: 'x', repo: v },
          { prompt: 'x', repo: { kind: 'remote', url: v } },
          { prompt: 'x', repo: { kind: 'bundle', bundleId: v, commit: 'a'.repeat(40) } },
          { prompt: 'x', repo: { kind: 'local', path: '/tmp' }, options: v },
          { prompt: 'x', repo: { kind: 'local', path: '/tmp' }, options: { limits: v } },
          { prompt: 'x', repo: { kind: 'local', path: '/tmp' }, options: { attempts: v, network: v } },
          { prompt: 'x', repo: { kind: 'local', path: '/tmp' }, selection: { path: v, startLine: v, endLine: v, text: v } },
        ]),
        { prompt: 'x', repo: { kind: 'local', path: '/etc' } },
        { prompt: 'x', repo: { kind: 'local', path: '/nonexistent/x' } },
        { prompt: 'x', repo: { kind: 'local', path: '/dev/null' } },
        { prompt: 'x', repo: { kind: 'local', path: '/proc/self/root' } },
        { prompt: 'x', repo: { kind: 'local', path: `/${'a/'.repeat(2000)}` } },
        { prompt: 'x', repo: { kind: 'remote', url: 'ext::sh -c id' } },
        { prompt: 'x', repo: { kind: 'remote', url: '-oProxyCommand=id' } },
        { prompt: 'x', repo: { kind: 'bundle', bundleId: 'nope', commit: 'a'.repeat(40) } },
        { prompt: 'x', repo: { kind: 'local', path: '/tmp' }, options: { netwrk: 'on', limits: { maxTurn: 1 } } },
      ],
    },
    { path: (t) => `/v1/tasks/${t}/messages`, schema: MessageRequest, shapes: [...junk.map((v) => ({ text: v })), { text: 'hi', extra: 1 }, { txt: 'hi' }] },
    { path: (t) => `/v1/tasks/${t}/select-attempt`, schema: SelectAttemptRequest, shapes: [...junk.map((v) => ({ attempt: v })), { attempt: 0, x: 1 }, { attempt: 9 }] },
    {
      path: (t) => `/v1/tasks/${t}/pull-request`,
      schema: PullRequestRequest,
      shapes: [
        ...junk.map((v) => ({ githubToken: v })),
        ...junk.map((v) => ({ githubToken: 't', accept: v })),
        ...junk.map((v) => ({ githubToken: 't', accept: { files: [{ path: v, hunks: v }] } })),
        { githubToken: 't', accept: { files: [{ path: '../../etc/passwd' }] } },
        { githubToken: 't', accept: { files: [{ path: 'calc.js', hunks: [99] }] } },
        { githubToken: 't', title: 'x'.repeat(300) },
      ],
    },
  ];
  for (const { path, schema, shapes } of bodies) {
    for (const taskId of [id, 'nope']) {
      const target = path(taskId);
      if (target === '/v1/tasks' && taskId === 'nope') continue;
      // Malformed ones only: a well-formed message would start a follow-up, a well-formed task run.
      for (const shape of shapes.filter((v) => !schema.safeParse(v).success)) out.push({ method: 'POST', path: target, headers: JSON_TYPE, body: JSON.stringify(shape) });
      for (const raw of ['{', '', ' ', 'nul', '[', '"\\u0000"', '{"a":1,}', '\u0000', '{"text":"\\ud800","x":1}', `${'['.repeat(5000)}${']'.repeat(5000)}`, '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']) {
        out.push({ method: 'POST', path: target, headers: JSON_TYPE, body: raw });
      }
      for (const type of ['text/plain', 'application/json, text/plain', 'application/json-patch+json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
        out.push({ method: 'POST', path: target, headers: type ? { 'content-type': type } : {}, body: '{"text":"x"}' });
      }
      // Past each route's limit (25 MB on /v1/tasks, less elsewhere).
      out.push({ method: 'POST', path: target, headers: JSON_TYPE, declared: (target === '/v1/tasks' ? 26 : 5) * 1024 * 1024 });
    }
  }
  // Bundles: not bundles, wrong types, empty, a header over garbage.
  for (const body of ['', 'x', '# v2 git bundle\n', `# v2 git bundle\n${'a'.repeat(40)} refs/heads/main\n\nPACK garbage`, '# v3 git bundle\n@object-format=sha999\n\n']) {
    for (const type of ['application/octet-stream', 'application/x-git-bundle', 'application/json', 'text/plain']) out.push({ method: 'POST', path: '/v1/bundles', headers: { 'content-type': type }, body });
  }
  // Foreign hosts and origins, and a missing or wrong token, on a few routes.
  for (const path of ['/healthz', '/v1/tasks', `/v1/tasks/${id}`, `/v1/tasks/${id}/diff`]) {
    out.push({ method: 'GET', path, headers: { host: 'evil.example' } });
    out.push({ method: 'GET', path, headers: { origin: 'http://evil.example' } });
    out.push({ method: 'GET', path, headers: { authorization: 'Bearer wrong-token-wrong-token' } });
    out.push({ method: 'GET', path, headers: { authorization: '' } });
  }
  // Cancelling the finished task is a conflict, not a change.
  out.push({ method: 'POST', path: `/v1/tasks/${id}/cancel` });
  // Paths that are not routes.
  for (const path of ['/', '/v1', '/v1/', '/v1/tasks/', `/v1/tasks/${id}/`, '//v1/tasks', '/v1/tasks/a/b/c', '/%', '/v1/tasks/%', '/..%2f..%2fetc%2fpasswd', '*']) out.push({ method: 'GET', path });
  return out;
}

describe('a sweep of malformed requests over every route', function () {
  this.timeout(300_000);
  let f: Fixture;
  before(async () => {
    f = await finishedTask();
  });
  after(async () => {
    await f?.stop();
  });

  it('never answers 5xx, and every error is {error: {code, message}} with its code\'s status', async () => {
    const all = probes(f.task.id);
    assert.ok(all.length > 1000 && all.length < 3000, `${all.length} probes`);
    const failures: string[] = [];
    const statuses = new Map<number, number>();
    for (const p of all) {
      const what = `${p.method} ${p.path.slice(0, 100)} ${String(p.body ?? '').slice(0, 80)}${p.declared ? ` (${p.declared} bytes)` : ''}`;
      const res = await send(f, p).catch((err: Error) => ({ status: 0, type: '', body: `${err.message} (no answer)` }));
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status >= 500 || res.status < 100) failures.push(`${what} → ${res.status} ${res.body.slice(0, 200)}`);
      if (res.status < 400 || p.method === 'HEAD') continue;
      let error: { code?: unknown; message?: unknown } | undefined;
      try {
        error = (JSON.parse(res.body) as { error?: { code?: unknown; message?: unknown } }).error;
      } catch {
        error = undefined;
      }
      const code = ErrorCode.safeParse(error?.code);
      if (!/^application\/json; charset=utf-8$/.test(res.type) || !code.success || typeof error?.message !== 'string' || !error.message) {
        failures.push(`${what} → ${res.status} ${res.type} not an error body: ${res.body.slice(0, 200)}`);
      } else if (ERROR_STATUS[code.data] !== res.status) {
        failures.push(`${what} → ${res.status} with code ${code.data} (whose status is ${ERROR_STATUS[code.data]})`);
      }
    }
    assert.deepEqual(failures, [], `${failures.length} of ${all.length} failed`);
    // The sweep reached the handlers, not only the router: many kinds of answers came back.
    for (const status of [200, 400, 403, 404, 405, 409, 413, 415, 422]) assert.ok(statuses.has(status), `no ${status} in ${JSON.stringify([...statuses])}`);
    assert.doesNotMatch(f.server.logs(), /"request failed"/);
    const again = await send(f, { method: 'GET', path: `/v1/tasks/${f.task.id}` });
    assert.equal(again.status, 200);
    assert.equal((JSON.parse(again.body) as { status: string }).status, 'completed');
  });

  it('refuses every malformed WebSocket upgrade with a JSON error and never a 5xx', async () => {
    const url = `ws://127.0.0.1:${f.server.port}`;
    const cases: [string, Record<string, string>][] = [
      ['/v1/events?since=-1', {}],
      ['/v1/events?since=abc', {}],
      ['/v1/events?since=1e309', {}],
      ['/v1/events?bogus=1', {}],
      ['/v1/events?since=0', { authorization: 'Bearer nope-nope-nope-nope' }],
      ['/v1/events?since=0', { host: 'evil.example' }],
      ['/v1/events?since=0', { origin: 'http://evil.example' }],
      ['/v1/tasks', {}],
      ['/nothing', {}],
      ['/v1/events?since=%ZZ', {}],
    ];
    for (const [path, headers] of cases) {
      const reply = await new Promise<{ status: number; body: string }>((resolve) => {
        const ws = new WebSocket(url + path, { headers: { authorization: `Bearer ${f.server.token}`, ...headers } });
        ws.once('unexpected-response', (_q, res) => {
          let body = '';
          res.on('data', (d: Buffer) => (body += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.once('open', () => {
          ws.close();
          resolve({ status: 101, body: '' });
        });
        ws.once('error', () => undefined);
      });
      assert.ok(reply.status >= 400 && reply.status < 500, `${path} ${JSON.stringify(headers)} → ${reply.status}`);
      const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
      assert.equal(ERROR_STATUS[ErrorCode.parse(body.error.code)], reply.status, reply.body);
    }
  });

  it('answers a handshake the WebSocket library refuses with the API\'s JSON error too', async () => {
    const auth = `Authorization: Bearer ${f.server.token}\r\nHost: 127.0.0.1\r\n`;
    const upgrade = 'Connection: Upgrade\r\nUpgrade: websocket\r\n';
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const cases: [string, string][] = [
      ['POST', `POST /v1/events HTTP/1.1\r\n${auth}${upgrade}${key}Sec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n`],
      ['no key', `GET /v1/events HTTP/1.1\r\n${auth}${upgrade}Sec-WebSocket-Version: 13\r\n\r\n`],
      ['a bad key', `GET /v1/events HTTP/1.1\r\n${auth}${upgrade}Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n`],
      ['a bad version', `GET /v1/events HTTP/1.1\r\n${auth}${upgrade}${key}Sec-WebSocket-Version: 99\r\n\r\n`],
      ['another protocol', `GET /v1/events HTTP/1.1\r\n${auth}Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n`],
      ['a bad subprotocol list', `GET /v1/events HTTP/1.1\r\n${auth}${upgrade}${key}Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: a,,b\r\n\r\n`],
    ];
    for (const [what, request] of cases) {
      const text = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(f.server.port, '127.0.0.1', () => sock.write(request));
        let data = '';
        sock.on('data', (d: Buffer) => (data += d.toString('utf8')));
        sock.on('end', () => resolve(data));
        sock.on('close', () => resolve(data));
        sock.on('error', reject);
      });
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);
      assert.ok(status >= 400 && status < 500, `${what}: ${text}`);
      assert.match(text, /\r\nContent-Type: application\/json; charset=utf-8\r\n/i, what);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
      assert.equal(ERROR_STATUS[ErrorCode.parse(body.error.code)], status, `${what}: ${text}`);
    }
  });
});
