// Through the real server: once a task used a local repository, a new commit there is copied and
// gets its base before the next task asks (workspace/ahead.ts), and that task mounts it as it is.
// With --no-prepare-ahead (DELEGATE_TEST_PLAIN=1 runs every server so) nothing happens between
// the tasks, and the next task builds the base itself. Either way the task sees the new commit.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { commitAll, makeRepo } from '../../support/gitRepo';
import { PLAIN, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, until, waitForTask } from '../../support/tasks';

const STEPS = [{ toolCalls: [{ name: 'shell', arguments: { command: 'cat a.txt' } }] }, { toolCalls: [{ name: 'finish', arguments: { summary: 'Read it.' } }] }];

describe(`new commits prepared ahead through the server (${PLAIN ? 'switched off' : 'on'})`, function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;
  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // bases are for overlay views, which need root
    model = await startFakeModel();
    model.setScript('read', STEPS);
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  async function readA(repo: string): Promise<string> {
    const created = await createTask(server, repo, 'Read a.txt [[script:read]]');
    const task = await waitForTask(server, created.id, isDone);
    assert.equal(task.status, 'completed', JSON.stringify(task.error));
    const result = (await allEvents(server, task.id)).find((e): e is Extract<TaskEvent, { type: 'tool.result' }> => e.type === 'tool.result');
    return result?.output ?? '';
  }

  it(PLAIN ? 'leaves a new commit to its first task' : 'has a new commit ready before its first task, which mounts it as it is', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'delegate-ahead-'));
    makeRepo(repo, { 'a.txt': 'first\n' });
    assert.match(await readA(repo), /first/);
    writeFileSync(join(repo, 'a.txt'), 'second\n');
    const commit = commitAll(repo, 'second');
    const base = join(server.dataDir, 'bases', commit);
    let built: number | undefined;
    if (PLAIN) {
      await new Promise((r) => setTimeout(r, 1500)); // ten times the quiet time the layer waits for
      assert.equal(existsSync(base), false, 'nothing is prepared between the tasks');
    } else {
      // The base is in place before the job ends (it then waits for the copy and the scan): its
      // log line says it is done.
      await until(() => /new commit prepared ahead of its task/.test(server.logs()), 20_000, 'the commit prepared ahead');
      assert.ok(existsSync(`${base}.index`) && existsSync(base), 'the base of the new commit');
      built = statSync(base).ino;
    }
    assert.match(await readA(repo), /second/);
    if (built !== undefined) assert.equal(statSync(base).ino, built, 'the task mounted the base built ahead');
    else assert.ok(existsSync(base), 'the task built the base itself');
  });
});
