import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { createTask, isDone, openStream, waitForTask, getTask } from '../../support/tasks';

describe('scheduler', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let repo: string;
  before(async () => {
    model = await startFakeModel();
    repo = mkdtempSync(join(tmpdir(), 'delegate-sched-repo-'));
    makeRepo(repo, { 'a.txt': 'a\n' });
    model.setScript('short', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 0.3' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] },
    ]);
    model.setScript('long', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo started > started.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 60' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'never' } }] },
    ]);
  });
  after(async () => {
    await model?.close();
  });

  describe('with --max-parallel 3', () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--max-parallel', '3', '--sandbox', 'bwrap'] });
    });
    after(async () => server?.stop());

    it('never runs more than 3 of 20 submitted tasks at once, and all 20 complete in FIFO start order', async () => {
      const { ws, frames } = await openStream(server, 0);
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await createTask(server, repo, `task ${i} [[script:short]]`)).id);
      for (const id of ids) {
        const t = await waitForTask(server, id, isDone, 120_000);
        assert.equal(t.status, 'completed', JSON.stringify(t.error));
      }
      ws.close();
      const active = new Set<string>();
      let peak = 0;
      const startOrder: string[] = [];
      for (const f of frames) {
        if (f.type !== 'event' || f.event.type !== 'task.status') continue;
        const e = f.event;
        if (e.status === 'preparing') startOrder.push(e.taskId);
        if (['preparing', 'running', 'waiting_for_input'].includes(e.status)) active.add(e.taskId);
        else active.delete(e.taskId);
        peak = Math.max(peak, active.size);
      }
      assert.ok(peak <= 3, `peak parallelism ${peak}`);
      assert.equal(peak, 3, 'the limit was reached');
      assert.deepEqual(startOrder, ids);
    });
  });

  describe('cancel', () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--max-parallel', '1', '--sandbox', 'bwrap'] });
    });
    after(async () => server?.stop());

    it('cancels a queued task at once and a running one with its work kept', async () => {
      const a = await createTask(server, repo, 'A [[script:long]]');
      const b = await createTask(server, repo, 'B [[script:long]]');
      await waitForTask(server, a.id, (t) => t.status === 'running' && t.changedFiles.length > 0);
      assert.equal((await getTask(server, b.id)).status, 'queued');

      const cb = await api<{ status: string }>(server, 'POST', `/v1/tasks/${b.id}/cancel`);
      assert.equal(cb.status, 200);
      assert.equal(cb.body.status, 'cancelled');
      assert.equal((await getTask(server, a.id)).status, 'running');

      const ca = await api<{ status: string; changedFiles: { path: string }[] }>(server, 'POST', `/v1/tasks/${a.id}/cancel`);
      assert.equal(ca.status, 200);
      assert.equal(ca.body.status, 'cancelled');
      assert.deepEqual(ca.body.changedFiles.map((f) => f.path), ['started.txt']);
      const diff = await api<string>(server, 'GET', `/v1/tasks/${a.id}/diff`);
      assert.match(diff.body, /\+started/);

      const again = await api<{ error: { code: string } }>(server, 'POST', `/v1/tasks/${a.id}/cancel`);
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'conflict');
    });

    it('removes a task', async () => {
      const t = await createTask(server, repo, 'C [[script:short]]');
      await waitForTask(server, t.id, isDone);
      const del = await api(server, 'DELETE', `/v1/tasks/${t.id}`);
      assert.equal(del.status, 204);
      assert.equal((await api(server, 'GET', `/v1/tasks/${t.id}`)).status, 404);
    });
  });
});
