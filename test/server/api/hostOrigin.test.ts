// A request whose Host is not a name the server answers to (DNS rebinding) or that comes from a
// browser page of another origin gets 403, on REST and on the WebSocket, even with the right token
// (issue #18.9).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import { hostPolicy } from '../../../server/src/api/hostPolicy';
import { SERVER_BIN, startServer, type ServerProcess } from '../../support/serverProcess';

type Reply = { status: number; body: string };

/** node:http, because fetch will not send a Host other than the URL's. */
function request(server: ServerProcess, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: server.port, method, path, headers: { authorization: `Bearer ${server.token}`, ...headers } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function upgrade(server: ServerProcess, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/v1/events?since=0`, { headers: { authorization: `Bearer ${server.token}`, ...headers } });
    ws.once('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('error', () => undefined);
  });
}

function assertForbidden(reply: Reply, what: string): void {
  assert.equal(reply.status, 403, `${what}: ${reply.status} ${reply.body}`);
  const body = JSON.parse(reply.body) as { error: { code: string; message: string } };
  assert.equal(body.error.code, 'forbidden', what);
}

describe('Host and Origin', function () {
  this.timeout(60_000);

  describe('a server on loopback', () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServer();
    });
    after(async () => {
      await server.stop();
    });

    it('refuses a Host that is not a loopback name on every route, before the token matters', async () => {
      for (const host of ['evil.example', `evil.example:${0}`, 'localhost.evil.example', '127.0.0.1.nip.io', '10.0.0.1', 'localhost@evil.example']) {
        for (const [method, path] of [['GET', '/healthz'], ['GET', '/v1/tasks'], ['GET', '/v1/tasks/x'], ['POST', '/v1/tasks/x/cancel'], ['GET', '/nothing']]) {
          assertForbidden(await request(server, method!, path!, { host }), `${method} ${path} Host ${host}`);
        }
      }
      const created = await request(server, 'POST', '/v1/tasks', { host: 'evil.example', 'content-type': 'application/json' }, JSON.stringify({ prompt: 'x', repo: { kind: 'local', path: '/tmp' } }));
      assertForbidden(created, 'POST /v1/tasks');
      assert.equal(await upgrade(server, { host: 'evil.example' }), 403);
    });

    it('answers loopback names, with or without the port', async () => {
      for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LOCALHOST:${server.port}`, `[::1]:${server.port}`, 'localhost', 'localhost.']) {
        const reply = await request(server, 'GET', '/v1/tasks', { host });
        assert.equal(reply.status, 200, `Host ${host}: ${reply.body}`);
      }
    });

    it('refuses browser pages of another origin, REST and WebSocket, and lets the same origin and non-browser clients in', async () => {
      const host = `127.0.0.1:${server.port}`;
      for (const origin of ['http://evil.example', `http://localhost:${server.port}`, 'http://127.0.0.1:3000', 'https://127.0.0.1', 'null', 'file://', `http://127.0.0.1:${server.port}/path`, 'garbage']) {
        assertForbidden(await request(server, 'GET', '/v1/tasks', { host, origin }), `Origin ${origin}`);
        assertForbidden(
          await request(server, 'POST', '/v1/tasks', { host, origin, 'content-type': 'application/json' }, JSON.stringify({ prompt: 'x', repo: { kind: 'local', path: '/tmp' } })),
          `POST with Origin ${origin}`,
        );
        assert.equal(await upgrade(server, { origin }), 403, `upgrade with Origin ${origin}`);
      }
      assert.equal((await request(server, 'GET', '/v1/tasks', { host, origin: `http://127.0.0.1:${server.port}` })).status, 200);
      assert.equal(await upgrade(server, { origin: `http://127.0.0.1:${server.port}` }), 101);
      // What the extension and the tests send: fetch and ws with no Origin.
      assert.equal((await fetch(`${server.url}/v1/tasks`, { headers: { authorization: `Bearer ${server.token}` } })).status, 200);
      assert.equal(await upgrade(server, {}), 101);
    });
  });

  describe('a team server with --allowed-hosts', () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServer({ args: ['--allowed-hosts', 'delegate.team.example,Other.Example'] });
    });
    after(async () => {
      await server.stop();
    });

    it('answers its listed names and their own origin, and still refuses others', async () => {
      for (const host of ['delegate.team.example', `delegate.team.example:${server.port}`, 'other.example', `127.0.0.1:${server.port}`]) {
        assert.equal((await request(server, 'GET', '/v1/tasks', { host })).status, 200, host);
      }
      // Behind a TLS proxy that keeps the Host: the web interface's origin is https://NAME.
      assert.equal((await request(server, 'GET', '/v1/tasks', { host: 'delegate.team.example', origin: 'https://delegate.team.example' })).status, 200);
      assert.equal(await upgrade(server, { host: 'delegate.team.example', origin: 'https://delegate.team.example' }), 101);
      assertForbidden(await request(server, 'GET', '/v1/tasks', { host: 'delegate.team.example', origin: 'https://other.example' }), 'a listed name of another origin');
      assertForbidden(await request(server, 'GET', '/v1/tasks', { host: 'evil.example' }), 'an unlisted name');
    });
  });

  it('documents --allowed-hosts in --help and refuses an entry that is not a host name', () => {
    const help = spawnSync(process.execPath, [SERVER_BIN, '--help'], { encoding: 'utf8' });
    assert.match(help.stdout, /--allowed-hosts LIST/);
    for (const bad of ['https://team.example', 'team.example:443', 'team.example/x']) {
      const run = spawnSync(process.execPath, [SERVER_BIN, '--port', '0', '--allowed-hosts', bad], { encoding: 'utf8', timeout: 20_000 });
      assert.notEqual(run.status, 0, bad);
      assert.match(run.stderr + run.stdout, /--allowed-hosts: not a host name/, bad);
    }
  });

  describe('the policy', () => {
    const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

    it('allows a non-loopback bind address itself, but not loopback names', () => {
      const policy = hostPolicy('10.1.2.3', []);
      assert.equal(policy.check(req({ host: '10.1.2.3:7420' })).ok, true);
      assert.equal(policy.check(req({ host: 'localhost:7420' })).ok, false);
      assert.equal(policy.check(req({})).ok, false);
    });

    it('allows loopback and this machine\'s addresses when bound to all of them', () => {
      const policy = hostPolicy('0.0.0.0', ['team.example']);
      for (const host of ['127.0.0.1', 'localhost', 'team.example']) assert.equal(policy.check(req({ host })).ok, true, host);
      assert.equal(policy.check(req({ host: 'evil.example' })).ok, false);
    });
  });
});
