// Issue #19, item 3: the task panel follows the task's real state and the server it belongs to.
// After Remove it shows a fresh prompt, not a red banner above the removed task's live buttons;
// after delegate.serverUrl changes it drops the other server's task instead of calling it gone.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, setScript, until } from './helpers';

const SCRIPT = 'panel-follows';

describe('the panel follows the task (#19)', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
    await setScript(SCRIPT, [{ toolCalls: [{ name: 'finish', arguments: { summary: 'Nothing to change.' } }] }]);
  });

  after(async () => {
    await vscode.workspace.getConfiguration('delegate').update('serverUrl', env('DELEGATE_TEST_SERVER_URL'), vscode.ConfigurationTarget.Global);
    await until(() => api.connection().kind === 'connected', 60_000, () => `reconnected (${JSON.stringify(api.connection())})`);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  const finishedTask = async (prompt: string): Promise<Task> => {
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: `${prompt} [[script:${SCRIPT}]]` });
    assert.ok(task);
    await until(() => FINISHED.includes(api.snapshot().tasks.find((t) => t.id === task.id)?.status ?? ''), 90_000, () => 'the task to finish');
    await vscode.commands.executeCommand('delegate.openPanel', task.id);
    await until(() => api.panelView().view === 'task' && api.panelView().taskId === task.id, 20_000, () => `the panel to show the task (${JSON.stringify(api.panelView())})`);
    assert.ok(api.panelView().actions.includes('remove'), JSON.stringify(api.panelView()));
    return task;
  };

  it('after Remove, the panel shows a new prompt instead of a banner above the removed task\'s buttons', async () => {
    const task = await finishedTask('Look at nothing in particular');
    assert.equal(await vscode.commands.executeCommand('delegate.removeTask', task.id, { confirm: false }), true);
    await until(() => api.panelView().view !== 'task', 10_000, () => `the panel to leave the removed task (${JSON.stringify(api.panelView())})`);
    assert.deepEqual(api.panelView(), { view: 'compose', actions: [], banner: null });
  });

  it('after delegate.serverUrl changes, the panel does not show a banner for the other server\'s task', async () => {
    await finishedTask('Another look at nothing');
    // A server URL where nothing answers: the task belongs to the server the panel got it from.
    await vscode.workspace.getConfiguration('delegate').update('serverUrl', 'http://127.0.0.1:9', vscode.ConfigurationTarget.Global);
    await until(() => api.panelView().view !== 'task', 10_000, () => `the panel to leave the other server's task (${JSON.stringify(api.panelView())})`);
    await new Promise((r) => setTimeout(r, 1500)); // a late render must not bring a banner back
    assert.deepEqual(api.panelView(), { view: 'compose', actions: [], banner: null });
  });
});
