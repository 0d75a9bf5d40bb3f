// A burst of file changes refreshes the diff after each one but snapshots (the commit that keeps
// the work across a reboot) at most once a second: the burst's end must still be snapshotted soon
// after, without waiting for the task to end, and a finished task's snapshot is its final state.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, until, waitForTask } from '../../support/tasks';

const shell = (command: string) => ({ toolCalls: [{ name: 'shell', arguments: { command } }] });

describe('snapshots of a burst of changes', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  let repo: string;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
    repo = mkdtempSync(join(tmpdir(), 'delegate-snap-repo-'));
    makeRepo(repo, { 'a.txt': 'a\n' });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  /** The files in the task's snapshot commit, or null before there is one. */
  function snapshotFiles(taskId: string): string[] | null {
    const gitDir = join(server.dataDir, 'tasks', taskId, 'git');
    try {
      const out = execFileSync('git', ['--git-dir', gitDir, 'ls-tree', '-r', '--name-only', `refs/delegate/${taskId}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      return out.split('\n').filter(Boolean).sort();
    } catch {
      return null;
    }
  }

  it('snapshots the end of the burst within a second or so, and the final state at the end', async () => {
    model.setScript('burst', [
      // Spaced so that the first change is snapshotted before the next ones come.
      shell('echo 1 > one.txt'),
      shell('sleep 0.3; echo 2 > two.txt'),
      shell('sleep 0.3; echo 3 > three.txt'),
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Keep going?' } }] },
      shell('echo 4 > four.txt'),
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Wrote four files.' } }] },
    ]);
    const task = await createTask(server, repo, 'Burst [[script:burst]]');
    const waiting = await waitForTask(server, task.id, (t) => t.status === 'waiting_for_input' && t.changedFiles.length === 3);
    assert.deepEqual(waiting.changedFiles.map((f) => f.path).sort(), ['one.txt', 'three.txt', 'two.txt']);
    // The snapshot catches up while the task waits (not only when it ends).
    await until(() => JSON.stringify(snapshotFiles(task.id)) === JSON.stringify(['a.txt', 'one.txt', 'three.txt', 'two.txt']), 5_000, 'a snapshot of the whole burst');

    await api(server, 'POST', `/v1/tasks/${task.id}/messages`, { text: 'yes' });
    const done = await waitForTask(server, task.id, isDone);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    assert.deepEqual(snapshotFiles(task.id), ['a.txt', 'four.txt', 'one.txt', 'three.txt', 'two.txt'], 'the finished task snapshots its final state');
    const diffEvents = (await allEvents(server, task.id)).filter((e) => e.type === 'diff.updated').length;
    assert.ok(diffEvents >= 4, `one diff update per change, got ${diffEvents}`);
  });
});
