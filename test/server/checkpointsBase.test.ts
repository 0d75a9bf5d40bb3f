// A turn whose changes leave the diff empty (it rewrote a base file with its own content) is no
// checkpoint: before an attempt's first checkpoint the base is the state kept. Real server,
// sandbox and git.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../protocol';
import { startFakeModel, type FakeModel } from '../support/fakeModel';
import { makeRepo } from '../support/gitRepo';
import { startServer, type ServerProcess } from '../support/serverProcess';
import { allEvents, createTask, isDone, waitForTask } from '../support/tasks';

type DiffUpdated = Extract<TaskEvent, { type: 'diff.updated' }>;
const shell = (command: string) => ({ toolCalls: [{ name: 'shell', arguments: { command } }] });

describe('checkpoints: a turn that leaves the base', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let server: ServerProcess;

  before(async () => {
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('keeps no checkpoint of an empty diff before the first one', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'delegate-checkpoints-base-'));
    makeRepo(repo, { 'README.md': '# r\n' });
    model.setScript('same', [
      // The view's copy of README.md is rewritten, with the same content: the diff stays empty.
      shell('cp README.md r.bak && echo x >> README.md && cp r.bak README.md && rm r.bak'),
      shell('echo new > c.txt'),
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Wrote c.' } }] },
    ]);
    const created = await createTask(server, repo, 'Touch, then write [[script:same]]');
    const task = await waitForTask(server, created.id, isDone);
    assert.equal(task.status, 'completed', JSON.stringify(task.error));
    const checkpoints = (await allEvents(server, task.id)).filter((e): e is DiffUpdated => e.type === 'diff.updated' && e.checkpoint === true);
    assert.deepEqual(checkpoints.map((c) => c.changedFiles.map((f) => f.path)), [['c.txt']]);
  });
});
