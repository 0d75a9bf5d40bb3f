import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Task } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../../support/tasks';

describe('best-of-N attempts', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;
  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap', '--max-parallel', '4'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-attempts-repo-'));
    makeRepo(repo, { 'a.txt': 'a\n' });
    // Each attempt writes a file named after its own sandbox view, so the attempts differ.
    model.setScript('nway', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'n=$(od -An -N2 -tu2 /dev/urandom | tr -d " "); echo "answer $n" > answer.txt; sleep 0.5' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Wrote an answer.' } }] },
    ]);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('runs independent attempts in parallel, each in its own workspace, and mirrors the one the user picks', async () => {
    const t = await createTask(server, repo, 'Answer [[script:nway]]', { attempts: 3 });
    assert.equal(t.attempts?.length, 3);
    const done = await waitForTask(server, t.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.deepEqual(done.attempts!.map((a) => a.status), ['completed', 'completed', 'completed']);
    assert.ok(done.attempts!.every((a) => a.changedFiles.some((f) => f.path === 'answer.txt')));

    const events = await allEvents(server, t.id);
    const byAttempt = new Set(events.filter((e) => e.type === 'tool.call').map((e) => e.attempt ?? 0));
    assert.deepEqual([...byAttempt].sort(), [0, 1, 2]);
    // They overlapped in time: every attempt started before any finished.
    const firstFinish = Math.min(...events.filter((e) => e.type === 'agent.finished').map((e) => Date.parse(e.at)));
    const starts = events.filter((e) => e.type === 'tool.call' && e.name === 'shell').map((e) => Date.parse(e.at));
    assert.ok(starts.every((s) => s <= firstFinish), 'attempts ran in parallel');

    const answers: string[] = [];
    for (const i of [0, 1, 2]) {
      const sel = await api<Task>(server, 'POST', `/v1/tasks/${t.id}/select-attempt`, { attempt: i });
      assert.equal(sel.status, 200);
      assert.equal(sel.body.selectedAttempt, i);
      const head = await api<string>(server, 'GET', `/v1/tasks/${t.id}/file?path=answer.txt&side=head`);
      assert.match(head.body, /^answer \d+\n$/);
      answers.push(head.body);
      const diff = await api<string>(server, 'GET', `/v1/tasks/${t.id}/diff`);
      assert.ok(diff.body.includes(head.body.trim()), 'the diff is the selected attempt\'s');
    }
    // Three separate workspaces (random answers almost surely differ; equal ones would still be
    // three files, so check the count of distinct workspaces through the diff instead).
    assert.ok(new Set(answers).size >= 2, `answers: ${answers.join(', ')}`);
    const bad = await api<{ error: { code: string } }>(server, 'POST', `/v1/tasks/${t.id}/select-attempt`, { attempt: 3 });
    assert.equal(bad.status, 404);
  });
});
