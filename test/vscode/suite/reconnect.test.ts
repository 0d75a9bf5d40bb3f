// The server is killed (-9) and restarted mid-task by the harness; the extension reconnects,
// resumes from the last event it holds, and the task list ends equal to the server's without a
// reload.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, patch, serverTasks, setScript, until } from './helpers';

describe('reconnect after a server restart', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
    await setScript('slow-greet', [
      { text: 'Working on greet.', toolCalls: [{ name: 'apply_patch', arguments: { patch: patch('src/greet.js', '  return `Hello, ${name}`;', '  return `Hello, ${name}!`;') } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 3; echo waited' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Added an exclamation mark.' } }] },
    ]);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('keeps the tree right across a kill -9 and restart of the server', async () => {
    const states: string[] = [];
    const sub = api.onDidChange(() => {
      const kind = api.connection().kind;
      if (states.at(-1) !== kind) states.push(kind);
    });
    try {
      const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', {
        prompt: 'Make greet enthusiastic [[script:slow-greet]]',
      });
      assert.ok(task);
      const current = () => api.snapshot().tasks.find((t) => t.id === task.id);
      await until(() => (current()?.changedFiles.length ?? 0) > 0, 60_000, () => `the first change (${current()?.status})`);
      const seqBefore = api.snapshot().lastSeq;

      const res = await fetch(`${env('DELEGATE_TEST_CONTROL_URL')}/restart-server`, { method: 'POST' });
      assert.equal(res.status, 200, await res.text());
      await until(() => states.includes('offline') || states.includes('connecting'), 30_000, () => `the extension to notice (${states.join()})`);
      await until(() => api.connection().kind === 'connected', 60_000, () => `reconnected (${JSON.stringify(api.connection())})`);

      await until(async () => {
        const truth = (await serverTasks()).find((t) => t.id === task.id);
        return !!truth && FINISHED.includes(truth.status) && current()?.status === truth.status;
      }, 90_000, () => `the tree to show the task's final status (${current()?.status})`);

      const truth = await serverTasks();
      const mine = api.snapshot();
      assert.ok(mine.lastSeq > seqBefore, 'events after the restart were applied');
      assert.deepEqual(
        mine.tasks.map((t) => [t.id, t.status, t.changedFiles.map((f) => f.path)]).sort(),
        truth.map((t) => [t.id, t.status, t.changedFiles.map((f) => f.path)]).sort(),
      );
      // No event shows twice in the timeline after the replay.
      const ids = api.timeline(task.id).map((i) => i.id);
      assert.equal(new Set(ids).size, ids.length);
    } finally {
      sub.dispose();
    }
  });
});
