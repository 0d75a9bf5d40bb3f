// Three tasks delegated at once run side by side (the server's scheduler has room for them) and
// all finish: their intervals on the server, from being picked up to finishing, overlap.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, FINISHED, serverTasks, setScript, until } from './helpers';

describe('parallel tasks', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
    await setScript('parallel', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 1; echo slept' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Slept a second.' } }] },
    ]);
    // No selection: these tasks are about the whole repository.
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('runs three delegated tasks at the same time and finishes them all', async () => {
    const created = (await Promise.all(
      [1, 2, 3].map((n) => vscode.commands.executeCommand('delegate.delegateTask', { prompt: `Parallel chore ${n} [[script:parallel]]` })),
    )) as (Task | undefined)[];
    assert.ok(created.every((t) => t), 'a delegation returned no task');
    const ids = created.map((t) => t!.id);
    assert.equal(new Set(ids).size, 3);

    const mine = (): Task[] => api.snapshot().tasks.filter((t) => ids.includes(t.id));
    await until(() => mine().length === 3 && mine().every((t) => FINISHED.includes(t.status)), 120_000,
      () => `all three to finish (${mine().map((t) => t.status).join(', ')})`);
    assert.deepEqual(mine().map((t) => t.status), ['completed', 'completed', 'completed']);

    const truth = (await serverTasks()).filter((t) => ids.includes(t.id));
    assert.equal(truth.length, 3);
    const starts = truth.map((t) => Date.parse(t.startedAt ?? ''));
    const ends = truth.map((t) => Date.parse(t.finishedAt ?? ''));
    assert.ok([...starts, ...ends].every(Number.isFinite), `startedAt/finishedAt missing: ${JSON.stringify(truth.map((t) => [t.startedAt, t.finishedAt]))}`);
    // All three were in progress at one moment: the last start comes before the first finish.
    assert.ok(Math.max(...starts) < Math.min(...ends),
      `not parallel: ${truth.map((t) => `${t.startedAt}…${t.finishedAt}`).join(', ')}`);
  });
});
