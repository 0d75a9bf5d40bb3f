import assert from 'node:assert/strict';
import { statSync, readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { SERVER_BIN, startServer, type ServerProcess } from '../../support/serverProcess';

describe('server auth', () => {
  let server: ServerProcess;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.stop();
  });

  it('serves /healthz without a token', async () => {
    const res = await fetch(`${server.url}/healthz`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { ok: boolean; version: string; sandbox: { driver: string | null } };
    assert.equal(typeof body.version, 'string');
    assert.ok('driver' in body.sandbox);
  });

  for (const [what, headers] of [
    ['no token', {}],
    ['a wrong token', { authorization: 'Bearer wrong-token-wrong-token' }],
    ['a malformed header', { authorization: 'Basic abc' }],
  ] as const) {
    it(`answers 401 with ${what} on every API route`, async () => {
      for (const [method, path] of [
        ['GET', '/v1/tasks'],
        ['POST', '/v1/tasks'],
        ['GET', '/v1/tasks/x'],
        ['GET', '/v1/tasks/x/diff'],
        ['POST', '/v1/tasks/x/cancel'],
        ['POST', '/v1/tasks/x/messages'],
        ['POST', '/v1/tasks/x/pull-request'],
        ['POST', '/v1/bundles'],
        ['DELETE', '/v1/tasks/x'],
      ]) {
        const res = await fetch(server.url + path, { method, headers });
        assert.equal(res.status, 401, `${method} ${path}`);
        const body = (await res.json()) as { error: { code: string } };
        assert.equal(body.error.code, 'unauthorized');
      }
    });
  }

  it('accepts the right token', async () => {
    const res = await fetch(`${server.url}/v1/tasks`, { headers: { authorization: `Bearer ${server.token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { tasks: [] });
  });

  it('refuses a WebSocket upgrade with a wrong or missing token', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope-nope-nope-nope' }]) {
      const status = await new Promise<number>((resolve, reject) => {
        const ws = new WebSocket(`${server.url.replace('http', 'ws')}/v1/events?since=0`, { headers });
        ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.once('open', () => reject(new Error('upgrade was accepted')));
        ws.once('error', () => undefined);
      });
      assert.equal(status, 401);
    }
  });

  it('accepts a WebSocket with the token as a header or a query parameter', async () => {
    for (const [url, headers] of [
      [`${server.url.replace('http', 'ws')}/v1/events?since=0`, { authorization: `Bearer ${server.token}` }],
      [`${server.url.replace('http', 'ws')}/v1/events?since=0&token=${server.token}`, {}],
    ] as const) {
      const hello = await new Promise<{ type: string }>((resolve, reject) => {
        const ws = new WebSocket(url, { headers });
        ws.once('message', (d) => {
          resolve(JSON.parse((d as Buffer).toString('utf8')) as { type: string });
          ws.close();
        });
        ws.once('error', reject);
      });
      assert.equal(hello.type, 'hello');
    }
  });

  it('generates a token file with mode 0600 when no token is given, and reuses it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'delegate-token-'));
    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/root' };
    const start = () =>
      new Promise<{ stop: () => Promise<void>; url: string }>((resolve, reject) => {
        const child = spawn(process.execPath, [SERVER_BIN, '--port', '0', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        const onData = (c: Buffer) => {
          out += c.toString();
          const m = /"msg":"listening".*?"url":"([^"]+)"/.exec(out);
          // Stopping waits for the exit: a server whose log pipe closes mid-shutdown is another test.
          if (m) resolve({ url: m[1]!, stop: () => new Promise((done) => (child.once('exit', () => done()), child.kill('SIGTERM'))) });
        };
        child.stderr.on('data', onData);
        child.stdout.on('data', onData);
        child.once('exit', () => reject(new Error(out)));
      });
    const first = await start();
    const file = join(dataDir, 'token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const token = readFileSync(file, 'utf8').trim();
    assert.ok(token.length >= 32);
    const ok = await fetch(`${first.url}/v1/tasks`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
    await first.stop();
    const second = await start();
    assert.equal(readFileSync(file, 'utf8').trim(), token);
    await second.stop();
  });

  it('binds loopback by default', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  });
});
