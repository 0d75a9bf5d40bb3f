import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { createTask, getTask, isDone, waitForTask } from '../../support/tasks';

describe('crash safety', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let server: ServerProcess;
  before(async () => {
    model = await startFakeModel();
    model.setScript('work', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo progress > progress.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 30' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'finished' } }] },
    ]);
  });
  after(async () => {
    await server?.stop();
    await model?.close();
  });

  it('after kill -9 during 6 running tasks, a restart keeps all 6, each interrupted or completed with its work', async () => {
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--max-parallel', '6', '--sandbox', 'bwrap'] });
    const repo = mkdtempSync(join(tmpdir(), 'delegate-crash-repo-'));
    makeRepo(repo, { 'a.txt': 'a\n' });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await createTask(server, repo, `work ${i} [[script:work]]`)).id);
    for (const id of ids) await waitForTask(server, id, (t) => t.status === 'running' && t.changedFiles.length > 0, 60_000);
    await server.kill();
    server = await server.restart();
    const list = await api<{ tasks: { id: string }[] }>(server, 'GET', '/v1/tasks');
    assert.deepEqual(new Set(list.body.tasks.map((t) => t.id)), new Set(ids));
    for (const id of ids) {
      const t = await waitForTask(server, id, isDone, 30_000);
      assert.ok(['interrupted', 'completed'].includes(t.status), `${id}: ${t.status}`);
      if (t.status === 'interrupted') assert.equal(t.error?.code, 'interrupted');
      const diff = await api<string>(server, 'GET', `/v1/tasks/${id}/diff`);
      assert.equal(diff.status, 200);
      assert.match(diff.body, /\+progress/, `work kept for ${id}`);
      assert.deepEqual((await getTask(server, id)).changedFiles.map((f) => f.path), ['progress.txt']);
    }
    // An interrupted task continues with a follow-up in the same workspace and conversation: it
    // was kept up to the last complete turn (the first shell call and its result), so the script
    // goes on at its second step.
    model.setScript('work', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo wrong step' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'resumed' } }] },
    ]);
    const first = ids[0]!;
    assert.equal((await getTask(server, first)).status, 'interrupted');
    const res = await api<{ kind: string }>(server, 'POST', `/v1/tasks/${first}/messages`, { text: 'continue please' });
    assert.equal(res.body.kind, 'followup');
    const resumed = await waitForTask(server, first, (t) => isDone(t) && t.status !== 'interrupted', 60_000);
    assert.equal(resumed.status, 'completed', JSON.stringify(resumed.error));
    assert.equal(resumed.summary, 'resumed');
    assert.deepEqual(resumed.changedFiles.map((f) => f.path), ['progress.txt']);
    const last = JSON.stringify(model.requests.at(-1));
    assert.ok(last.includes('echo progress > progress.txt'), 'the earlier conversation came along');
    assert.ok(last.includes('the server stopped during your previous run'), 'the agent is told the files may be further along');
    assert.ok(last.includes('continue please'));
  });
});
