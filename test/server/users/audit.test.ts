// Users (#16): creating, cancelling, deleting and opening a pull request are events that say who
// did it — the user's login, or null for the admin acting with the server token.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task, TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { isDone, waitForTask } from '../../support/tasks';
import { as, createBundleTask, fakeUsers, stream, uploadBundle, USERS, type As } from './fixture';

describe('users: audit', function () {
  this.timeout(180_000);
  let github: FakeGitHub;
  let model: FakeModel;
  let server: ServerProcess;
  let alice: As;
  let bob: As;
  before(async () => {
    // Alice's GitHub token may also push to the double's repositories (the pull request below).
    github = await startFakeGitHub({ token: USERS.alice!.token, users: fakeUsers() });
    model = await startFakeModel();
    model.setScript('edit', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo changed >> a.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Changed a.txt.' } }] },
    ]);
    model.setScript('long', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo started > started.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 60' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'never' } }] },
    ]);
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--github-allow', 'alice,Bob-Builder', '--github-api-url', github.apiBaseUrl, '--sandbox', 'bwrap'] });
    alice = as(server.url, USERS.alice!.token);
    bob = as(server.url, USERS.bob!.token);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    await github?.close();
  });

  // From the admin's stream: a deleted task's events are no longer served per task.
  const eventsOf = async (taskId: string): Promise<TaskEvent[]> => {
    const { ws, frames } = await stream(server, 0);
    ws.close();
    return frames.flatMap((f) => (f.type === 'event' && f.event.taskId === taskId ? [f.event] : []));
  };

  it('records who created, cancelled and deleted a task, the admin as null', async () => {
    const bundle = await uploadBundle(bob, { 'a.txt': 'a\n' });
    const t = await createBundleTask(bob, bundle, 'run long [[script:long]]');
    await waitForTask(server, t.id, (x) => x.status === 'running' && x.changedFiles.length > 0, 60_000);
    assert.equal((await api(bob, 'POST', `/v1/tasks/${t.id}/cancel`)).status, 200);
    await waitForTask(server, t.id, isDone);
    // The admin deletes Bob's task.
    assert.equal((await api(server, 'DELETE', `/v1/tasks/${t.id}`)).status, 204);
    const events = await eventsOf(t.id);
    const created = events.find((e) => e.type === 'task.created');
    assert.equal(created?.type === 'task.created' && created.actor, 'Bob-Builder');
    const cancelled = events.filter((e) => e.type === 'task.status' && e.status === 'cancelled');
    assert.equal(cancelled.length, 1);
    assert.equal(cancelled[0]!.type === 'task.status' && cancelled[0].actor, 'Bob-Builder');
    const deleted = events.find((e) => e.type === 'task.deleted');
    assert.ok(deleted && deleted.type === 'task.deleted');
    assert.equal(deleted.actor, null);
    // Other status changes name nobody.
    assert.ok(events.every((e) => e.type !== 'task.status' || e.status === 'cancelled' || e.actor === undefined));
  });

  it('records a queued task cancelled by its owner, and a deletion by its owner', async () => {
    const bundle = await uploadBundle(bob, { 'q.txt': 'q\n' });
    const running = await createBundleTask(bob, bundle, 'hold [[script:long]]');
    const queued: Task[] = [];
    // Enough tasks that one is still queued (the default slots are at least 2).
    for (let i = 0; i < 8; i++) queued.push(await createBundleTask(bob, bundle, `queued ${i} [[script:long]]`));
    const last = queued.at(-1)!;
    assert.equal((await api<Task>(bob, 'GET', `/v1/tasks/${last.id}`)).body.status, 'queued');
    assert.equal((await api<Task>(bob, 'POST', `/v1/tasks/${last.id}/cancel`)).body.status, 'cancelled');
    assert.equal((await api(bob, 'DELETE', `/v1/tasks/${last.id}`)).status, 204);
    const events = await eventsOf(last.id);
    const cancelled = events.find((e) => e.type === 'task.status' && e.status === 'cancelled');
    assert.equal(cancelled?.type === 'task.status' && cancelled.actor, 'Bob-Builder');
    const deleted = events.find((e) => e.type === 'task.deleted');
    assert.equal(deleted?.type === 'task.deleted' && deleted.actor, 'Bob-Builder');
    for (const t of [running, ...queued.slice(0, -1)]) assert.equal((await api(server, 'DELETE', `/v1/tasks/${t.id}`)).status, 204);
  });

  it('records who opened a pull request, and keeps the GitHub token off disk and out of the log and events', async () => {
    const { dir } = await github.createRepo('octo', 'demo', { 'a.txt': 'a\n' });
    const work = join(mkdtempSync(join(tmpdir(), 'delegate-audit-')), 'demo');
    execFileSync('git', ['clone', '-q', dir, work]);
    const file = `${work}.bundle`;
    execFileSync('git', ['-C', work, 'bundle', 'create', '-q', file, '--all']);
    const up = await api<{ bundleId: string }>(alice, 'POST', '/v1/bundles', new Uint8Array(readFileSync(file)), { 'content-type': 'application/octet-stream' });
    assert.equal(up.status, 201);
    const commit = execFileSync('git', ['-C', work, 'rev-parse', 'HEAD']).toString().trim();
    const created = await api<Task>(alice, 'POST', '/v1/tasks', {
      prompt: 'edit [[script:edit]]',
      repo: { kind: 'bundle', bundleId: up.body.bundleId, commit, branch: 'main', remoteUrl: `${github.url}/octo/demo.git` },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const done = await waitForTask(server, created.body.id, isDone, 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const pr = await api<{ number: number }>(alice, 'POST', `/v1/tasks/${done.id}/pull-request`, { githubToken: USERS.alice!.token });
    assert.equal(pr.status, 201, JSON.stringify(pr.body));
    const event = (await eventsOf(done.id)).find((e) => e.type === 'pull_request');
    assert.equal(event?.type === 'pull_request' && event.actor, 'alice');

    const all = await stream(server, 0);
    all.ws.close();
    const tokens = Object.values(USERS).map((u) => u.token);
    for (const t of tokens) assert.ok(!(JSON.stringify(all.frames) + server.logs()).includes(t), 'a GitHub token is in the events or the log');
    const walk = (d: string): string[] =>
      readdirSync(d).flatMap((n) => {
        const p = join(d, n);
        const st = statSync(p, { throwIfNoEntry: false });
        return !st ? [] : st.isDirectory() ? walk(p) : st.isFile() ? [p] : [];
      });
    for (const f of walk(server.dataDir)) {
      const data = readFileSync(f);
      for (const t of tokens) assert.ok(!data.includes(Buffer.from(t)), `${f} holds a GitHub token`);
    }
  });
});
