// Users (#16): a GitHub token is a user's credential when --github-allow names its login or one of
// its organisations; the server asks GitHub (the double) and keeps the answer only briefly.
import assert from 'node:assert/strict';
import type { Health } from '../../../protocol';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { as, fakeUsers, stream, USERS } from './fixture';

describe('users: GitHub sign-in', function () {
  this.timeout(60_000);
  let github: FakeGitHub;
  let server: ServerProcess;
  before(async () => {
    github = await startFakeGitHub({ token: 'server-side-unused-token', users: fakeUsers() });
    server = await startServer({
      args: ['--github-allow', 'alice,org:acme', '--github-api-url', github.apiBaseUrl, '--sandbox', 'none'],
      env: { DELEGATE_GITHUB_AUTH_CACHE_MS: '1500' },
    });
  });
  after(async () => {
    await server?.stop();
    await github?.close();
  });

  it('/healthz says GitHub sign-in is accepted', async () => {
    const res = await api<Health>(as(server.url, ''), 'GET', '/healthz');
    assert.deepEqual(res.body.auth, { github: true });
  });

  it('admits an allowed login and a member of an allowed organisation, on REST and the WebSocket', async () => {
    for (const u of [USERS.alice!, USERS.bob!]) {
      const res = await api<{ tasks: unknown[] }>(as(server.url, u.token), 'GET', '/v1/tasks');
      assert.equal(res.status, 200, `${u.login}: ${JSON.stringify(res.body)}`);
      const { ws, frames } = await stream(as(server.url, u.token));
      assert.equal(frames[0]?.type, 'hello');
      ws.close();
    }
    assert.deepEqual(github.schemaErrors, []);
    // Bob is admitted through org:acme, so his membership was asked for.
    assert.ok(github.log.some((l) => l.startsWith('api GET /user/memberships/orgs/acme 200')), github.log.join('\n'));
  });

  it('refuses an outsider with 403 naming who is allowed', async () => {
    const res = await api<{ error: { code: string; message: string } }>(as(server.url, USERS.eve!.token), 'GET', '/v1/tasks');
    assert.equal(res.status, 403);
    assert.equal(res.body.error.code, 'forbidden');
    assert.match(res.body.error.message, /eve/);
    assert.match(res.body.error.message, /alice/);
    assert.match(res.body.error.message, /acme/);
    await assert.rejects(stream(as(server.url, USERS.eve!.token)), (err: { status?: number; body?: string }) => err.status === 403 && /alice/.test(err.body ?? ''));
  });

  it('answers an invalid token with 401', async () => {
    const res = await api<{ error: { code: string } }>(as(server.url, 'gho_notAnyonesTokenXXXXXXXXXXXXXXXXXXXXXXX'), 'GET', '/v1/tasks');
    assert.equal(res.status, 401);
    assert.equal(res.body.error.code, 'unauthorized');
    await assert.rejects(stream(as(server.url, 'gho_notAnyonesTokenXXXXXXXXXXXXXXXXXXXXXXX')), (err: { status?: number }) => err.status === 401);
  });

  it('refuses a token revoked while in use once its cached verdict expires', async () => {
    const token = 'gho_carolCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC';
    github.setUser(token, { login: 'alice', id: 101 });
    const carol = as(server.url, token);
    assert.equal((await api(carol, 'GET', '/v1/tasks')).status, 200);
    const asked = github.log.filter((l) => l.startsWith('api GET /user ')).length;
    github.setUser(token, null);
    // Within the cache's lifetime GitHub is not asked again.
    assert.equal((await api(carol, 'GET', '/v1/tasks')).status, 200);
    assert.equal(github.log.filter((l) => l.startsWith('api GET /user ')).length, asked);
    await new Promise((r) => setTimeout(r, 1700));
    assert.equal((await api(carol, 'GET', '/v1/tasks')).status, 401);
  });

  it('asks GitHub once for a burst of requests with a new token', async () => {
    const token = 'gho_daveDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDD';
    github.setUser(token, { login: 'alice', id: 101 });
    const before = github.log.filter((l) => l.startsWith('api GET /user ')).length;
    const answers = await Promise.all(Array.from({ length: 6 }, () => api(as(server.url, token), 'GET', '/v1/tasks')));
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 200, 200, 200, 200]);
    assert.equal(github.log.filter((l) => l.startsWith('api GET /user ')).length, before + 1);
  });

  it('keeps the server token as the admin credential', async () => {
    assert.equal((await api(server, 'GET', '/v1/tasks')).status, 200);
  });

  it('never writes a GitHub token to its logs', () => {
    for (const u of Object.values(USERS)) assert.ok(!server.logs().includes(u.token), `${u.login}'s token is in the log`);
  });
});

describe('users: without --github-allow', function () {
  this.timeout(60_000);
  let github: FakeGitHub;
  let server: ServerProcess;
  before(async () => {
    github = await startFakeGitHub({ token: 'server-side-unused-token', users: fakeUsers() });
    server = await startServer({ args: ['--github-api-url', github.apiBaseUrl, '--sandbox', 'none'] });
  });
  after(async () => {
    await server?.stop();
    await github?.close();
  });

  it('accepts only the server token and never asks GitHub', async () => {
    assert.deepEqual((await api<Health>(as(server.url, ''), 'GET', '/healthz')).body.auth, { github: false });
    assert.equal((await api(as(server.url, USERS.alice!.token), 'GET', '/v1/tasks')).status, 401);
    assert.equal((await api(server, 'GET', '/v1/tasks')).status, 200);
    assert.deepEqual(github.log, []);
  });
});
