// Issue #19, item 4: a server without a model endpoint is found before a task fails on it. Its
// /healthz says so, the status bar says what to set, and a task that failed on it offers Retry,
// which delegates the same prompt and selection again (and shows the new task).
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, until } from './helpers';

describe('a server without a model endpoint (#19)', () => {
  let api: DelegateApi;
  const setUrl = (url: string) => vscode.workspace.getConfiguration('delegate').update('serverUrl', url, vscode.ConfigurationTarget.Global);

  before(async () => {
    api = await delegateApi();
    await until(() => api.health()?.model !== undefined, 20_000, () => `the main server's health (${JSON.stringify(api.health())})`);
    assert.equal(api.health()?.model?.ok, true, JSON.stringify(api.health()?.model));
    assert.doesNotMatch(api.statusBar().text, /model/);
    const res = await fetch(`${env('DELEGATE_TEST_CONTROL_URL')}/servers/without-model`, { method: 'POST' });
    const body = await res.text();
    assert.equal(res.status, 200, body);
    const { url } = JSON.parse(body) as { url: string };
    await setUrl(url);
    await until(() => api.connection().kind === 'connected' && api.health()?.model?.configured === false, 30_000,
      () => `connected to the server without a model (${JSON.stringify(api.connection())}, ${JSON.stringify(api.health())})`);
  });

  after(async () => {
    await setUrl(env('DELEGATE_TEST_SERVER_URL'));
    await until(() => api.connection().kind === 'connected' && api.health()?.model?.ok === true, 60_000, () => `reconnected (${JSON.stringify(api.connection())})`);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the status bar says the model is missing and what to set, before any task', () => {
    assert.match(api.statusBar().text, /no model/);
    assert.match(api.statusBar().tooltip, /OPENAI_BASE_URL/);
    assert.equal(api.health()?.model?.ok, false);
  });

  it('a task that failed on it offers Retry, which delegates the same prompt and selection again', async () => {
    const doc = await vscode.workspace.openTextDocument(join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'math.js'));
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(4, 0, 6, 1);
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: 'Document sub' });
    assert.ok(task);
    const current = (id: string) => api.snapshot().tasks.find((t) => t.id === id);
    await until(() => FINISHED.includes(current(task.id)?.status ?? ''), 60_000, () => `the task to fail (${current(task.id)?.status})`);
    assert.equal(current(task.id)?.status, 'failed');
    assert.equal(current(task.id)?.error?.code, 'model_not_configured');
    await until(() => api.panelView().taskId === task.id && api.panelView().actions.includes('retry'), 20_000,
      () => `the panel to offer Retry (${JSON.stringify(api.panelView())})`);

    editor.selection = new vscode.Selection(0, 0, 0, 0); // the retry carries the task's own selection
    const retried = await vscode.commands.executeCommand<Task | undefined>('delegate.retryTask', task.id);
    assert.ok(retried, 'Retry created no task');
    assert.notEqual(retried.id, task.id);
    assert.equal(retried.prompt, 'Document sub');
    assert.deepEqual(retried.selection, task.selection);
    assert.equal(api.panelTaskId(), retried.id, 'the retried task comes into view');
  });
});
