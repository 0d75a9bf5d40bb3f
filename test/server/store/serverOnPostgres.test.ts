// The real server on the fleet's store (--database-url): it refuses a database it cannot use with a
// message naming it (never the password), runs tasks with their events resumable from any seq, and
// a bundle uploaded to one node starts a task created on another.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerFrame, Task, TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { git, makeRepo } from '../../support/gitRepo';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, openStream, until, waitForTask } from '../../support/tasks';

describe('the server on PostgreSQL', function () {
  this.timeout(120_000);
  let cluster: TestPostgres;
  let model: FakeModel;
  let url: string;
  const servers: ServerProcess[] = [];
  const token = 'fleet-test-token-0123456789abcdef';
  const node = async (id: string) => {
    const s = await startServer({ modelBaseUrl: model.baseUrl, token, args: ['--sandbox', 'bwrap', '--database-url', url, '--node-id', id] });
    servers.push(s);
    return s;
  };

  before(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase('server');
    model = await startFakeModel();
    model.setScript('write', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo done > out.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Wrote out.txt.' } }] },
    ]);
  });
  after(async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    await model?.close();
    await cluster?.stop();
  });

  it('refuses to start on a database it cannot use, naming host and port and never the password', async () => {
    const wrong = url.replace(cluster.password, 'not-the-password-91b2');
    for (const how of [{ args: ['--database-url', wrong] }, { env: { DELEGATE_DATABASE_URL: wrong } }, { args: ['--database-url', `postgres://postgres:${cluster.password}@127.0.0.1:1/x`] }]) {
      const err = await startServer({ token, ...how }).then(
        (s) => (servers.push(s), undefined),
        (e: unknown) => e as Error,
      );
      assert.ok(err, 'the server must not start');
      assert.match(err.message, /exited \(1\) before listening/);
      assert.match(err.message, /delegate-server: cannot connect to the database at postgres@127\.0\.0\.1:\d+\/(server|x)/);
      assert.ok(!err.message.includes('not-the-password-91b2') && !err.message.includes(cluster.password), err.message);
    }
  });

  it('runs a task, names the node on it, and streams every event once in order from any seq', async () => {
    const a = await node('node-a');
    const repo = mkdtempSync(join(tmpdir(), 'delegate-pg-repo-'));
    makeRepo(repo, { 'README.md': 'hello\n' });
    const created = await createTask(a, repo, 'Write [[script:write]]');
    const done = await waitForTask(a, created.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.equal(done.node, 'node-a');
    assert.deepEqual(done.changedFiles.map((f) => f.path), ['out.txt']);
    // The diff's version is announced off the run's path, possibly after the end: wait for a quiet log.
    let log = await allEvents(a, created.id);
    await until(async () => {
      await new Promise((r) => setTimeout(r, 300));
      const again = await allEvents(a, created.id);
      const quiet = again.length === log.length;
      log = again;
      return quiet;
    }, 10_000, 'a quiet log');
    const seqs = log.map((e) => e.seq);
    assert.deepEqual(seqs, [...seqs].sort((x, y) => x - y));
    for (const since of [0, seqs[2]!]) {
      const { ws, frames } = await openStream(a, since);
      await until(() => frames.some((f) => f.type === 'replayed'), 10_000, 'replay');
      ws.close();
      const events = frames.filter((f): f is Extract<ServerFrame, { type: 'event' }> => f.type === 'event').map((f) => f.event);
      const expected = Array.from({ length: seqs.at(-1)! - since }, (_, i) => since + i + 1);
      assert.deepEqual(events.map((e) => e.seq), expected, `since=${since}`);
      assert.deepEqual(events.filter((e) => e.taskId === created.id), log.filter((e) => e.seq > since));
    }
  });

  it('starts a task on one node from a bundle uploaded to another', async () => {
    const a = servers.find((s) => s.logs().includes('node-a')) ?? (await node('node-a'));
    const b = await node('node-b');
    const repo = mkdtempSync(join(tmpdir(), 'delegate-pg-bundle-'));
    makeRepo(repo, { 'README.md': 'bundled\n' });
    const file = join(repo, '..', `${Date.now()}.bundle`);
    git(repo, 'bundle', 'create', file, 'HEAD');
    const head = git(repo, 'rev-parse', 'HEAD').trim();
    const up = await api<{ bundleId: string }>(a, 'POST', '/v1/bundles', new Uint8Array(readFileSync(file)), { 'content-type': 'application/octet-stream' });
    assert.equal(up.status, 201);
    const res = await api<Task>(b, 'POST', '/v1/tasks', { prompt: 'Write [[script:write]]', repo: { kind: 'bundle', bundleId: up.body.bundleId, commit: head } });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    // Node b checked the bundle from the store, keeping a copy on its disk (its cache).
    assert.ok(existsSync(join(b.dataDir, 'bundles', `${up.body.bundleId}.bundle`)), 'node b fetched the bundle');
    const done = await waitForTask(b, res.body.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.ok(done.node === 'node-a' || done.node === 'node-b', String(done.node));
    // Either node answers for it, from the one store.
    assert.equal((await api<Task>(a, 'GET', `/v1/tasks/${res.body.id}`)).body.status, 'completed');
    // (The diff's version may still be announced after the end: read until both agree.)
    const read = async (s: ServerProcess) => (await api<{ events: TaskEvent[] }>(s, 'GET', `/v1/tasks/${res.body.id}/events?since=0`)).body.events;
    await until(async () => JSON.stringify(await read(a)) === JSON.stringify(await read(b)), 10_000, 'both nodes to give the same log');
    assert.ok((await read(a)).some((e) => e.type === 'task.status' && e.status === 'completed'));
  });
});
