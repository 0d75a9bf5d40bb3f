// Issue #19, item 8: delegating while the server is unreachable keeps the typed prompt: the panel
// opens on the prompt editor with it, says why, and offers Retry and Start Local Server.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, until } from './helpers';

describe('delegating while the server is unreachable (#19)', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    await vscode.workspace.getConfiguration('delegate').update('serverUrl', 'http://127.0.0.1:9', vscode.ConfigurationTarget.Global);
    await until(() => api.connection().kind !== 'connected', 20_000, () => 'the extension to leave the old server');
  });

  after(async () => {
    await vscode.workspace.getConfiguration('delegate').update('serverUrl', env('DELEGATE_TEST_SERVER_URL'), vscode.ConfigurationTarget.Global);
    await until(() => api.connection().kind === 'connected', 60_000, () => `reconnected (${JSON.stringify(api.connection())})`);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('keeps the prompt in the panel and offers Retry and Start Local Server', async () => {
    const prompt = 'A prompt I typed with care and do not want to type again';
    const task = await vscode.commands.executeCommand('delegate.delegateTask', { prompt });
    assert.equal(task, undefined, 'no task without a server');
    await until(() => api.panelView().view === 'compose', 10_000, () => `the prompt editor (${JSON.stringify(api.panelView())})`);
    const view = api.panelView();
    assert.equal(view.prompt, prompt);
    assert.deepEqual(view.notice?.actions, ['retry', 'startLocalServer']);
    assert.match(view.notice?.text ?? '', /cannot reach the Delegate server at http:\/\/127\.0\.0\.1:9/);
  });
});
