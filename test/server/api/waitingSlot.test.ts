// A task waiting for its user's answer gives its slot to the queue: with --max-parallel 1, a task
// submitted after it runs to the end while it waits; the answer then takes the slot back.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';

describe('a task waiting for an answer', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap', '--max-parallel', '1'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-slot-repo-'));
    makeRepo(repo, { 'a.txt': 'a\n' });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('lets the next task run meanwhile, then continues after the answer', async () => {
    model.setScript('asker', [
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Which file?' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo asked > asked.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Asked and done.' } }] },
    ]);
    model.setScript('other', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo other > other.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Other done.' } }] },
    ]);
    const asker = await createTask(server, repo, 'Ask [[script:asker]]');
    await waitForTask(server, asker.id, (t) => t.status === 'waiting_for_input');
    const other = await createTask(server, repo, 'Other [[script:other]]');
    const otherDone = await waitForTask(server, other.id, isDone);
    assert.equal(otherDone.status, 'completed', 'the queued task ran while the first one waited');
    assert.deepEqual(otherDone.changedFiles.map((f) => f.path), ['other.txt']);

    const answer = await api<{ kind: string }>(server, 'POST', `/v1/tasks/${asker.id}/messages`, { text: 'asked.txt' });
    assert.equal(answer.body.kind, 'answer');
    const done = await waitForTask(server, asker.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.deepEqual(done.changedFiles.map((f) => f.path), ['asked.txt']);
    const statuses = (await allEvents(server, asker.id)).filter((e) => e.type === 'task.status').map((e) => (e as { status: string }).status);
    assert.deepEqual(statuses, ['preparing', 'running', 'waiting_for_input', 'running', 'completed']);
  });

  it('queues the answered task until the running one frees the slot', async () => {
    model.setScript('asker2', [
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Go on?' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Went on.' } }] },
    ]);
    model.setScript('slow', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 2' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Slept.' } }] },
    ]);
    const asker = await createTask(server, repo, 'Ask [[script:asker2]]');
    await waitForTask(server, asker.id, (t) => t.status === 'waiting_for_input');
    const slow = await createTask(server, repo, 'Slow [[script:slow]]');
    await waitForTask(server, slow.id, (t) => t.status === 'running');
    await api(server, 'POST', `/v1/tasks/${asker.id}/messages`, { text: 'yes' });
    const queued = await waitForTask(server, asker.id, (t) => t.status !== 'waiting_for_input');
    assert.equal(queued.status, 'queued', 'answered, but the only slot is taken');
    assert.equal(queued.question, undefined);
    const slowDone = await waitForTask(server, slow.id, isDone);
    const done = await waitForTask(server, asker.id, isDone);
    assert.equal(done.status, 'completed');
    assert.equal(done.summary, 'Went on.');
    assert.ok(Date.parse(done.finishedAt!) >= Date.parse(slowDone.finishedAt!), 'it went on after the slow task ended');
  });
});
