// Checkpoints through the real server, sandbox and git: one per agent turn that changed files,
// even when the turns follow each other within milliseconds (no second of coalescing between
// them); the diff and files as each kept them; a follow-up that starts from an earlier one sets the
// workspace back (the later work stays reachable) and tells the agent so.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task, TaskEvent } from '../../protocol';
import { startFakeModel, type FakeModel } from '../support/fakeModel';
import { makeRepo } from '../support/gitRepo';
import { api, startServer, type ServerProcess } from '../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../support/tasks';

type DiffUpdated = Extract<TaskEvent, { type: 'diff.updated' }>;
const VERSION = 'x-delegate-diff-version';
// A model answers in a fraction of a second: the turns still follow each other well within the
// recorder's second of coalescing, and each turn's record reads the view before the next begins.
const MODEL_MS = 150;
const shell = (command: string, delayMs = MODEL_MS) => ({ delayMs, toolCalls: [{ name: 'shell', arguments: { command } }] });
const finish = (summary: string, delayMs = MODEL_MS) => ({ delayMs, toolCalls: [{ name: 'finish', arguments: { summary } }] });
/** Files named in a unified diff, in order. */
const filesOf = (diff: string) => [...diff.matchAll(/^diff --git a\/(\S+) /gm)].map((m) => m[1]);

describe('checkpoints', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-checkpoints-'));
    makeRepo(repo, { 'README.md': '# r\n' });
    model.setScript('turns', [
      shell('echo one > a.txt'),
      shell('ls'),
      // A new file, and changes to a file of the agent's and to one of the base.
      shell('echo two > b.txt; echo more >> a.txt; echo extra >> README.md'),
      finish('Wrote a and b.'),
      // The follow-up: what the agent finds in the view.
      shell('if test -e b.txt; then echo b-is-there; else echo b-is-gone; fi; cat a.txt README.md'),
      finish('Looked.'),
    ]);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  const diffUpdates = (events: TaskEvent[]) => events.filter((e): e is DiffUpdated => e.type === 'diff.updated');
  const checkpointsOf = (events: TaskEvent[]) => diffUpdates(events).filter((e) => e.checkpoint === true);
  const get = (path: string) => api<string>(server, 'GET', path);

  /** The 3-turn task, finished; its events and its two checkpoints. */
  async function threeTurns(): Promise<{ task: Task; events: TaskEvent[]; first: string; second: string }> {
    const created = await createTask(server, repo, 'Write two files [[script:turns]]');
    const task = await waitForTask(server, created.id, isDone);
    assert.equal(task.status, 'completed', JSON.stringify(task.error));
    const events = await allEvents(server, task.id);
    const [first, second] = checkpointsOf(events).map((e) => e.diffVersion!);
    return { task, events, first: first!, second: second! };
  }

  it('keeps one checkpoint per turn that changed files, each with its own diff and files', async () => {
    const { task, events, first, second } = await threeTurns();
    const calls = events.filter((e) => e.type === 'tool.call');
    const results = events.filter((e) => e.type === 'tool.result');
    assert.equal(calls.length, 4);
    // The turns ran faster than the recorder's second of coalescing: only the turn ends split them.
    const span = Date.parse(calls[2]!.at) - Date.parse(results[0]!.at);
    assert.ok(span < 1000, `turn 1's end to turn 3's call took ${span} ms; the test needs turns closer than a second`);

    const checkpoints = checkpointsOf(events);
    assert.equal(checkpoints.length, 2, `two turns changed files: ${JSON.stringify(diffUpdates(events))}`);
    assert.deepEqual(checkpoints.map((c) => c.cause), [calls[0]!.seq, calls[2]!.seq], 'each names the call that ended its turn');
    assert.ok(checkpoints[0]!.seq < checkpoints[1]!.seq);
    assert.deepEqual(checkpoints[0]!.changedFiles.map((f) => f.path), ['a.txt']);
    assert.deepEqual(checkpoints[1]!.changedFiles.map((f) => f.path).sort(), ['README.md', 'a.txt', 'b.txt']);
    assert.match(first, /^[0-9a-f]{16}$/);
    assert.notEqual(first, second);
    assert.ok(!diffUpdates(events).some((e) => e.checkpoint !== undefined && e.checkpoint !== true), 'checkpoint is true or absent');

    const atFirst = await get(`/v1/tasks/${task.id}/diff?checkpoint=${first}`);
    assert.equal(atFirst.status, 200);
    assert.equal(atFirst.headers.get(VERSION), first);
    assert.deepEqual(filesOf(atFirst.body), ['a.txt']);
    assert.match(atFirst.body, /\+one/);
    const atSecond = await get(`/v1/tasks/${task.id}/diff?checkpoint=${second}&path=b.txt`);
    assert.equal(atSecond.headers.get(VERSION), second);
    assert.deepEqual(filesOf(atSecond.body), ['b.txt'], 'combined with path=');

    assert.equal((await get(`/v1/tasks/${task.id}/file?path=a.txt&side=head&checkpoint=${first}`)).body, 'one\n');
    const missing = await get(`/v1/tasks/${task.id}/file?path=b.txt&side=head&checkpoint=${first}`);
    assert.equal(missing.status, 404, 'b.txt came a turn later');
    assert.equal((await get(`/v1/tasks/${task.id}/file?path=b.txt&checkpoint=${second}`)).body, 'two\n');
    assert.equal((await get(`/v1/tasks/${task.id}/file?path=a.txt&checkpoint=${second}`)).body, 'one\nmore\n');
    assert.equal((await get(`/v1/tasks/${task.id}/file?path=README.md&side=base&checkpoint=${first}`)).body, '# r\n', 'base is base');
  });

  it('makes no checkpoint, and no snapshot, of turns that leave the view as the base was', async () => {
    model.setScript('reads-first', [shell('ls -la; cat README.md'), shell('echo new > c.txt'), shell('cat c.txt'), finish('Wrote c.')]);
    const created = await createTask(server, repo, 'Read, then write [[script:reads-first]]');
    const task = await waitForTask(server, created.id, isDone);
    assert.equal(task.status, 'completed', JSON.stringify(task.error));
    const events = await allEvents(server, task.id);
    const calls = events.filter((e) => e.type === 'tool.call');
    const updates = diffUpdates(events);
    assert.ok(updates.length > 0 && updates.every((e) => e.seq > calls[1]!.seq), `no diff event before the first write: ${JSON.stringify(updates)}`);
    assert.deepEqual(checkpointsOf(events).map((c) => c.changedFiles.map((f) => f.path)), [['c.txt']], 'one checkpoint: the turn that wrote');
  });

  it('never gives a checkpoint a later turn\'s work when the model answers at once', async () => {
    // No model latency: a turn's record may read the view only after the next turn began; it is
    // then no checkpoint (the next turn's covers both), but no checkpoint holds a later turn's work.
    model.setScript('instant', [shell('echo one > a.txt', 0), shell('ls', 0), shell('echo two > b.txt; echo more >> a.txt', 0), finish('Done.', 0)]);
    for (let i = 0; i < 3; i++) {
      const created = await createTask(server, repo, `Write two files at once ${i} [[script:instant]]`);
      const task = await waitForTask(server, created.id, isDone);
      assert.equal(task.status, 'completed', JSON.stringify(task.error));
      const events = await allEvents(server, task.id);
      const calls = events.filter((e) => e.type === 'tool.call').map((e) => e.seq);
      // What each turn that can hold a checkpoint left. The ls turn (calls[1]) has one only when the
      // first turn's record read the view too late to be that turn's: it then covers both turns.
      const expected = new Map([[calls[0], ['a.txt']], [calls[1], ['a.txt']], [calls[2], ['a.txt', 'b.txt']]]);
      const checkpoints = checkpointsOf(events);
      assert.equal(checkpoints.at(-1)?.cause, calls[2], 'the last turn that changed files is one');
      for (const c of checkpoints) {
        assert.deepEqual(c.changedFiles.map((f) => f.path).sort(), expected.get(c.cause), `checkpoint of call ${c.cause}: ${JSON.stringify(c)}`);
        // Nor the third turn's line in a.txt.
        if (c.cause !== calls[2]) assert.equal((await get(`/v1/tasks/${task.id}/file?path=a.txt&checkpoint=${c.diffVersion!}`)).body, 'one\n', `a.txt at call ${c.cause}'s checkpoint`);
      }
      const last = await get(`/v1/tasks/${task.id}/file?path=a.txt&checkpoint=${checkpoints.at(-1)!.diffVersion!}`);
      assert.equal(last.body, 'one\nmore\n');
    }
  });

  it('starts a follow-up from an earlier checkpoint: the workspace goes back, the later one stays reachable', async () => {
    const { task, first, second } = await threeTurns();
    const before = model.requests.length;
    const posted = await api<{ kind: string }>(server, 'POST', `/v1/tasks/${task.id}/messages`, { text: 'Look again.', fromCheckpoint: first });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    assert.equal(posted.body.kind, 'followup');
    const done = await waitForTask(server, task.id, (t) => isDone(t) && t.usage.modelRequests > task.usage.modelRequests);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));

    const events = await allEvents(server, task.id);
    const restored = events.filter((e) => e.type === 'workspace.restored');
    assert.equal(restored.length, 1);
    assert.equal(restored[0]!.type === 'workspace.restored' && restored[0]!.checkpoint, first);
    assert.equal(restored[0]!.type === 'workspace.restored' && restored[0]!.actor, null, 'the admin token');
    const after = diffUpdates(events).filter((e) => e.seq > restored[0]!.seq);
    assert.equal(after[0]?.diffVersion, first, 'the restored state is the first checkpoint again');
    assert.equal(after[0]?.checkpoint, true);
    assert.deepEqual(after[0]?.changedFiles.map((f) => f.path), ['a.txt']);
    const followup = events.find((e) => e.type === 'user.message' && e.kind === 'followup');
    assert.ok(followup && followup.seq > restored[0]!.seq, 'restored before the follow-up is queued');
    assert.equal(followup.type === 'user.message' && followup.text, 'Look again.', 'the user message carries nothing new');

    const look = events.filter((e) => e.type === 'tool.result').at(-2);
    assert.ok(look?.type === 'tool.result', 'the follow-up looked');
    assert.match(look.output, /b-is-gone\none\n# r\n/, `the agent's view, its files as after turn 1: ${look.output}`);
    const request = model.requests.slice(before).find((r) => r.script === 'turns');
    assert.match(JSON.stringify(request?.body ?? {}), /set the workspace back to its state after an earlier turn/, 'the agent is told');

    const now = await get(`/v1/tasks/${task.id}/diff`);
    assert.deepEqual(filesOf(now.body), ['a.txt'], 'b.txt is gone from the diff');
    assert.equal(now.headers.get(VERSION), first);
    assert.equal((await get(`/v1/tasks/${task.id}/file?path=b.txt`)).status, 404, 'and from the view');
    assert.deepEqual(done.changedFiles.map((f) => f.path), ['a.txt']);
    const later = await get(`/v1/tasks/${task.id}/diff?checkpoint=${second}`);
    assert.equal(later.status, 200, 'the later checkpoint stays reachable');
    assert.deepEqual(filesOf(later.body).sort(), ['README.md', 'a.txt', 'b.txt']);

    // Review decisions still name the diff they were made on: the later one is stale now.
    const stale = await api<{ error: { code: string; message: string } }>(server, 'POST', `/v1/tasks/${task.id}/pull-request`, { githubToken: 'x', accept: { files: [], diffVersion: second } });
    assert.equal(stale.status, 409, JSON.stringify(stale.body));
    assert.match(stale.body.error.message, /stale_diff/);
    const current = await api<{ error: { code: string } }>(server, 'POST', `/v1/tasks/${task.id}/pull-request`, { githubToken: 'x', accept: { files: [], diffVersion: first } });
    assert.equal(current.body.error.code, 'nothing_to_commit', 'the restored diff is the current one');

    assert.equal((await api(server, 'DELETE', `/v1/tasks/${task.id}`)).status, 204);
    assert.equal((await get(`/v1/tasks/${task.id}/diff?checkpoint=${first}`)).status, 404, 'deleted with its task');
  });

  it('refuses unknown and malformed checkpoints, and a checkpoint for anything but a follow-up', async () => {
    const { task } = await threeTurns();
    const unknown = '0123456789abcdef';
    for (const path of [`/v1/tasks/${task.id}/diff?checkpoint=${unknown}`, `/v1/tasks/${task.id}/file?path=a.txt&checkpoint=${unknown}`]) {
      const r = await api<{ error: { code: string; message: string } }>(server, 'GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error.code, 'not_found');
      assert.match(r.body.error.message, new RegExp(`no checkpoint ${unknown} in this task`));
    }
    const notThere = await api<{ error: { code: string; message: string } }>(server, 'POST', `/v1/tasks/${task.id}/messages`, { text: 'Go on.', fromCheckpoint: unknown });
    assert.equal(notThere.status, 404);
    assert.match(notThere.body.error.message, new RegExp(`no checkpoint ${unknown}`));
    assert.equal((await waitForTask(server, task.id, () => true)).status, 'completed', 'no follow-up was queued');

    for (const path of [`/v1/tasks/${task.id}/diff?checkpoint=xyz`, `/v1/tasks/${task.id}/file?path=a.txt&checkpoint=ABCDEF0123456789`]) {
      const r = await api<{ error: { code: string } }>(server, 'GET', path);
      assert.equal(r.status, 422, path);
      assert.equal(r.body.error.code, 'validation_failed');
    }
    const malformed = await api<{ error: { code: string } }>(server, 'POST', `/v1/tasks/${task.id}/messages`, { text: 'Go on.', fromCheckpoint: 'nope' });
    assert.equal(malformed.status, 422);

    // Running, then waiting for an answer: a checkpoint cannot steer or answer.
    model.setScript('busy', [shell('echo x > x.txt; sleep 3'), { toolCalls: [{ name: 'ask_user', arguments: { question: 'Which one?' } }] }, finish('Done.')]);
    const busy = await createTask(server, repo, 'Busy [[script:busy]]');
    await waitForTask(server, busy.id, (t) => t.status === 'running');
    const [checkpoint] = checkpointsOf(await allEvents(server, task.id)).map((e) => e.diffVersion);
    const running = await api<{ error: { code: string; message: string } }>(server, 'POST', `/v1/tasks/${busy.id}/messages`, { text: 'Stop.', fromCheckpoint: checkpoint });
    assert.equal(running.status, 409, JSON.stringify(running.body));
    assert.match(running.body.error.message, /a checkpoint can only start a follow-up/);
    await waitForTask(server, busy.id, (t) => t.status === 'waiting_for_input', 30_000);
    const mine = checkpointsOf(await allEvents(server, busy.id)).map((e) => e.diffVersion);
    assert.equal(mine.length, 1, 'the first turn is a checkpoint');
    const waiting = await api<{ error: { code: string } }>(server, 'POST', `/v1/tasks/${busy.id}/messages`, { text: 'This one.', fromCheckpoint: mine[0] });
    assert.equal(waiting.status, 409);
    assert.equal((await api(server, 'POST', `/v1/tasks/${busy.id}/messages`, { text: 'This one.' })).status, 202);
    assert.equal((await waitForTask(server, busy.id, isDone)).status, 'completed');
  });
});
