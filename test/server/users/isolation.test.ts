// Users (#16): each user reaches only their own tasks — another user's task is 404 on every route,
// exactly as a task that does not exist — and their event stream carries only their tasks' events.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerFrame, Task, TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { startFakeGitHub, type FakeGitHub } from '../../support/githubDouble';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { isDone, until, waitForTask } from '../../support/tasks';
import { as, createBundleTask, fakeUsers, stream, uploadBundle, USERS, type As } from './fixture';

const events = (frames: ServerFrame[]): TaskEvent[] => frames.flatMap((f) => (f.type === 'event' ? [f.event] : []));
/** The last seq a stream's replay delivered (its `replayed` frame); 0 without one. */
function replayedUpTo(frames: ServerFrame[]): number {
  const replayed = frames.find((f) => f.type === 'replayed');
  return replayed?.type === 'replayed' ? replayed.lastSeq : 0;
}

describe('users: isolation', function () {
  this.timeout(180_000);
  let github: FakeGitHub;
  let model: FakeModel;
  let server: ServerProcess;
  let alice: As;
  let bob: As;
  let admin: As;
  const aliceTasks: Task[] = [];
  const bobTasks: Task[] = [];
  before(async () => {
    github = await startFakeGitHub({ token: 'server-side-unused-token', users: fakeUsers() });
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--github-allow', 'alice,Bob-Builder', '--github-api-url', github.apiBaseUrl, '--sandbox', 'bwrap', '--max-parallel', '2'] });
    alice = as(server.url, USERS.alice!.token);
    bob = as(server.url, USERS.bob!.token);
    admin = server;
    const aliceBundle = await uploadBundle(alice, { 'a.txt': 'alice\n' });
    const bobBundle = await uploadBundle(bob, { 'b.txt': 'bob\n' });
    for (let i = 0; i < 2; i++) aliceTasks.push(await createBundleTask(alice, aliceBundle, `alice ${i}`));
    bobTasks.push(await createBundleTask(bob, bobBundle, 'bob 0'));
    for (const t of [...aliceTasks, ...bobTasks]) await waitForTask(admin, t.id, isDone, 120_000);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    await github?.close();
  });

  it('records each user task\'s owner as its GitHub login', async () => {
    assert.equal(aliceTasks[0]!.owner, 'alice');
    assert.equal(bobTasks[0]!.owner, 'Bob-Builder');
    const done = await waitForTask(admin, aliceTasks[0]!.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
  });

  it('lists only a user\'s own tasks; the admin sees all', async () => {
    const ids = async (who: As) => (await api<{ tasks: Task[] }>(who, 'GET', '/v1/tasks')).body.tasks.map((t) => t.id).sort();
    assert.deepEqual(await ids(alice), aliceTasks.map((t) => t.id).sort());
    assert.deepEqual(await ids(bob), bobTasks.map((t) => t.id).sort());
    assert.deepEqual(await ids(admin), [...aliceTasks, ...bobTasks].map((t) => t.id).sort());
  });

  it('answers every task route on another user\'s task exactly as on a task that does not exist', async () => {
    const target = aliceTasks[0]!.id;
    const missing = randomUUID();
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/tasks/ID'],
      ['GET', '/v1/tasks/ID/diff'],
      ['GET', '/v1/tasks/ID/diff?path=a.txt'],
      ['GET', '/v1/tasks/ID/file?path=a.txt&side=head'],
      ['GET', '/v1/tasks/ID/events?since=0'],
      ['POST', '/v1/tasks/ID/messages', { text: 'let me in' }],
      ['POST', '/v1/tasks/ID/messages', { nonsense: true }],
      ['POST', '/v1/tasks/ID/cancel'],
      ['POST', '/v1/tasks/ID/select-attempt', { attempt: 0 }],
      ['POST', '/v1/tasks/ID/pull-request', { githubToken: USERS.bob!.token }],
      ['GET', '/v1/tasks/ID?bogus=1'],
      ['DELETE', '/v1/tasks/ID'],
    ];
    for (const [method, path, body] of routes) {
      const theirs = await api<unknown>(bob, method, path.replace('ID', target), body);
      const none = await api<unknown>(bob, method, path.replace('ID', missing), body);
      assert.equal(theirs.status, 404, `${method} ${path}: ${JSON.stringify(theirs.body)}`);
      assert.deepEqual(JSON.parse(JSON.stringify(theirs.body).replaceAll(target, 'ID')), JSON.parse(JSON.stringify(none.body).replaceAll(missing, 'ID')), `${method} ${path}`);
    }
    // Nothing happened to it.
    const after = (await api<Task>(alice, 'GET', `/v1/tasks/${target}`)).body;
    assert.equal(after.status, 'completed');
  });

  it('does not let a user start a task from another user\'s bundle or a server path', async () => {
    const aliceBundle = await uploadBundle(alice, { 'secret.txt': 'alice only\n' });
    const res = await api<{ error: { code: string; message: string } }>(bob, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'bundle', ...aliceBundle } });
    const none = await api<{ error: { code: string; message: string } }>(bob, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'bundle', bundleId: 'f'.repeat(40), commit: aliceBundle.commit } });
    assert.equal(res.status, none.status);
    assert.equal(res.body.error.code, 'repo_error');
    assert.equal(res.body.error.message.replace(aliceBundle.bundleId, 'ID'), none.body.error.message.replace('f'.repeat(40), 'ID'));
    const local = await api<{ error: { code: string } }>(bob, 'POST', '/v1/tasks', { prompt: 'x', repo: { kind: 'local', path: '/etc' } });
    assert.equal(local.status, 403);
  });

  it('streams to a user only their own tasks\' events, also across reconnects with since', async () => {
    const bobIds = new Set(bobTasks.map((t) => t.id));
    const first = await stream(bob, 0);
    const replay = events(first.frames);
    assert.ok(replay.length > 0);
    assert.ok(replay.every((e) => bobIds.has(e.taskId)), 'the replay carries only Bob\'s events');
    // Live: a task of each; Bob's stream gets his only.
    const beforeLive = replayedUpTo(first.frames);
    const more = await createBundleTask(alice, await uploadBundle(alice, { 'c.txt': 'c\n' }), 'alice live');
    const bobsNew = await createBundleTask(bob, await uploadBundle(bob, { 'd.txt': 'd\n' }), 'bob live');
    bobIds.add(bobsNew.id);
    aliceTasks.push(more);
    await until(() => events(first.frames).some((e) => e.taskId === bobsNew.id && e.type === 'task.status' && isDone(e.task)), 120_000, 'Bob\'s live task to finish');
    const seen = events(first.frames);
    first.ws.close();
    assert.ok(seen.every((e) => bobIds.has(e.taskId)), 'the live stream carries only Bob\'s events');
    const cut = seen[Math.floor(seen.length / 2)]!.seq;
    await waitForTask(admin, more.id, isDone, 120_000);
    const resumed = await stream(bob, cut);
    resumed.ws.close();
    const after = events(resumed.frames);
    // Everything of Bob's after the cut, exactly once and in order, and nothing else.
    // The admin's view starts before Alice's live task: a quick task of hers may end before the cut.
    const adminView = await stream(admin, Math.min(beforeLive, cut));
    adminView.ws.close();
    // A task may still add events after it finishes (its last snapshot): compare up to where Bob's replay ended.
    const upTo = replayedUpTo(resumed.frames);
    const expected = events(adminView.frames).filter((e) => bobIds.has(e.taskId) && e.seq > cut && e.seq <= upTo).map((e) => e.seq);
    assert.deepEqual(after.filter((e) => e.seq <= upTo).map((e) => e.seq), expected);
    assert.ok(after.every((e) => bobIds.has(e.taskId)));
    assert.ok(events(adminView.frames).some((e) => e.taskId === more.id), 'the admin sees Alice\'s events');
  });

  it('keeps GitHub tokens off the disk, out of the logs and out of the events', async () => {
    // Bob's token went into a pull-request body above; a deleted task's events stay in the log too.
    assert.equal((await api(alice, 'DELETE', `/v1/tasks/${aliceTasks[1]!.id}`)).status, 204);
    const all = await stream(admin, 0);
    all.ws.close();
    const tokens = Object.values(USERS).map((u) => u.token);
    const text = JSON.stringify(all.frames) + server.logs();
    for (const t of tokens) assert.ok(!text.includes(t), 'a GitHub token is in the events or logs');
    const files: string[] = [];
    const walk = (dir: string): void => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        const st = statSync(p, { throwIfNoEntry: false });
        if (!st) continue;
        if (st.isDirectory()) walk(p);
        else if (st.isFile()) files.push(p);
      }
    };
    walk(server.dataDir);
    assert.ok(files.some((f) => f.endsWith('delegate.sqlite')));
    for (const f of files) {
      const data = readFileSync(f);
      for (const t of tokens) assert.ok(!data.includes(Buffer.from(t)), `${f} holds a GitHub token`);
    }
  });
});
