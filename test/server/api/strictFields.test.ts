// Unknown request fields — often misspelled options — are refused with 422 naming the field on
// every route, never silently dropped (issue #18.2).
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { openStream, until } from '../../support/tasks';

type ErrorReply = { error: { code: string; message: string } };

describe('strict request fields', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let repo: string;
  before(async () => {
    server = await startServer();
    repo = mkdtempSync(join(tmpdir(), 'delegate-strict-repo-'));
    makeRepo(repo, { 'a.js': 'module.exports = 1;\n' });
  });
  after(async () => {
    await server.stop();
  });

  const local = () => ({ kind: 'local', path: repo });

  it('refuses unknown fields at every depth of POST /v1/tasks and creates no task', async () => {
    const cases: [unknown, string][] = [
      [{ prompt: 'x', repo: local(), bogusField: 1 }, 'bogusField'],
      [{ prompt: 'x', repo: local(), options: { netwrk: 'on' } }, 'options.netwrk'],
      [{ prompt: 'x', repo: local(), options: { limits: { maxTurn: 1 } } }, 'options.limits.maxTurn'],
      [{ prompt: 'x', repo: { ...local(), includeUncomitted: false } }, 'repo.includeUncomitted'],
      [{ prompt: 'x', repo: { kind: 'remote', url: 'https://example.invalid/r.git', token: 'x' } }, 'repo.token'],
      [{ prompt: 'x', repo: { kind: 'bundle', bundleId: 'abc', commit: 'a'.repeat(40), nam: 'r' } }, 'repo.nam'],
      [{ prompt: 'x', repo: local(), selection: { path: 'a.js', startLine: 1, endLine: 1, text: '', column: 3 } }, 'selection.column'],
    ];
    for (const [body, field] of cases) {
      const res = await api<ErrorReply>(server, 'POST', '/v1/tasks', body);
      assert.equal(res.status, 422, `${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, new RegExp(`(^|; )${field.replace(/\./g, '\\.')}: unknown field`), res.body.error.message);
    }
    const both = await api<ErrorReply>(server, 'POST', '/v1/tasks', { prompt: 'x', repo: local(), bogusField: 1, options: { netwrk: 'on', limits: { maxTurn: 1 } } });
    assert.equal(both.status, 422);
    for (const field of ['bogusField', 'options.netwrk', 'options.limits.maxTurn']) assert.ok(both.body.error.message.includes(`${field}: unknown field`), both.body.error.message);
    const list = await api<{ tasks: unknown[] }>(server, 'GET', '/v1/tasks');
    assert.deepEqual(list.body.tasks, []);
  });

  it('still accepts every field the protocol defines', async () => {
    const res = await api<{ id: string; options: unknown }>(server, 'POST', '/v1/tasks', {
      prompt: 'x',
      repo: { ...local(), includeUncommitted: false, branch: 'main', remoteUrl: 'https://example.invalid/r.git' },
      selection: { path: 'a.js', startLine: 1, endLine: 1, text: 'module.exports = 1;' },
      options: { model: 'm', reasoningEffort: 'low', attempts: 1, network: 'off', setupScript: 'true', limits: { maxTurns: 1, maxWallTimeMs: 60_000, maxTokens: 10_000, commandTimeoutMs: 1000 } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    assert.deepEqual(res.body.options, { model: 'm', reasoningEffort: 'low', attempts: 1, network: 'off', setupScript: 'true', limits: { maxTurns: 1, maxWallTimeMs: 60_000, maxTokens: 10_000, commandTimeoutMs: 1000 } });
    await api(server, 'POST', `/v1/tasks/${res.body.id}/cancel`);
  });

  it('refuses unknown fields in the other bodies, unknown query parameters and bodies on body-less routes', async () => {
    const cases: [string, string, unknown, string][] = [
      ['POST', '/v1/tasks/nope/messages', { text: 'hi', txt: 'hi' }, 'txt'],
      ['POST', '/v1/tasks/nope/pull-request', { githubToken: 't', titel: 'x' }, 'titel'],
      ['POST', '/v1/tasks/nope/pull-request', { githubToken: 't', accept: { files: [{ path: 'a.js', hunk: [0] }] } }, 'accept.files.0.hunk'],
      ['POST', '/v1/tasks/nope/pull-request', { githubToken: 't', accept: { files: [], all: true } }, 'accept.all'],
      ['POST', '/v1/tasks/nope/select-attempt', { attempt: 0, force: true }, 'force'],
      ['POST', '/v1/tasks/nope/cancel', { reason: 'x' }, 'reason'],
      ['GET', '/v1/tasks?status=running', undefined, 'status'],
      ['GET', '/v1/tasks/nope?verbose=1', undefined, 'verbose'],
      ['GET', '/v1/tasks/nope/diff?paths=a.js', undefined, 'paths'],
      ['GET', '/v1/tasks/nope/file?path=a.js&sid=base', undefined, 'sid'],
      ['GET', '/v1/tasks/nope/events?since=0&lmit=5', undefined, 'lmit'],
      ['DELETE', '/v1/tasks/nope?force=1', undefined, 'force'],
    ];
    for (const [method, path, body, field] of cases) {
      const res = await api<ErrorReply>(server, method, path, body);
      assert.equal(res.status, 422, `${method} ${path} ${JSON.stringify(body)} → ${res.status} ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.match(res.body.error.message, new RegExp(`^${field.replace(/\./g, '\\.')}: unknown (field|query parameter)`), res.body.error.message);
    }
    // What clients send to a body-less POST still passes: nothing, or an empty object.
    for (const body of [undefined, {}]) {
      const res = await api<ErrorReply>(server, 'POST', '/v1/tasks/nope/cancel', body);
      assert.equal(res.status, 404, JSON.stringify(res.body));
    }
  });

  it('answers an event-stream frame with an unknown field with an error frame', async () => {
    const { ws, frames } = await openStream(server);
    ws.send(JSON.stringify({ type: 'subscribe', taskIds: [], tasks: ['x'] }));
    ws.send(JSON.stringify({ type: 'ping' }));
    await until(() => frames.some((f) => f.type === 'error'), 5000, 'an error frame');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(frames.filter((f) => f.type === 'error').length, 1);
    ws.close();
  });
});
