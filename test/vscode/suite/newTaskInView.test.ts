// Issue #19, items 1 and 2: a task just delegated comes into view at once (the panel shows it,
// opening if it was closed, unless delegate.openPanelOnDelegate is off; its queue row is revealed
// and selected), and a queue row shows its state as a coloured icon with a compact description
// that fits beside a short label at the default sidebar width, the whole prompt in the tooltip.
import * as assert from 'node:assert/strict';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, patch, setScript, until } from './helpers';

const SCRIPT = 'in-view';
const LONG = 'Rename the greeting helper and explain in its comment why the greeting is phrased the way it is';

describe('a new task comes into view (#19)', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
    await setScript(SCRIPT, [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: patch('src/greet.js', '  return `Hello, ${name}`;', '  return `Hello, ${name}.`;') } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Added a full stop.' } }] },
    ]);
  });

  after(async () => {
    await vscode.workspace.getConfiguration('delegate').update('openPanelOnDelegate', undefined, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  const delegate = async (prompt: string): Promise<Task> => {
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt });
    assert.ok(task, 'delegate.delegateTask returned no task');
    return task;
  };

  it('Delegate Task… opens the closed panel on the new task and selects its queue row', async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    assert.equal(api.panelTaskId(), undefined, 'the panel is closed to begin with');
    // The user works in a file; the panel opens beside it without taking the focus.
    const code = await vscode.window.showTextDocument(vscode.Uri.file(join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'greet.js')));
    const first = await delegate(`${LONG} [[script:${SCRIPT}]]`);
    assert.equal(api.panelTaskId(), first.id, 'the panel shows the new task as soon as the command returns');
    await until(() => api.queueSelection().join() === first.id, 10_000, () => `the queue to select the new row (selected: ${api.queueSelection().join()})`);

    // With the panel open on that task, the next delegation moves it to the next task.
    const second = await delegate(`Second look at greet [[script:${SCRIPT}]]`);
    assert.equal(api.panelTaskId(), second.id, 'the panel moved on to the newer task');
    await until(() => api.queueSelection().join() === second.id, 10_000, () => `the queue to select the newer row (selected: ${api.queueSelection().join()})`);
    assert.equal(vscode.window.activeTextEditor?.document, code.document, 'the panel did not take the focus from the code');
    const panelGroup = vscode.window.tabGroups.all.find((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview));
    assert.equal(panelGroup?.viewColumn, vscode.ViewColumn.Two, 'the panel opened beside the code');
    for (const t of [first, second]) {
      await until(() => FINISHED.includes(api.snapshot().tasks.find((x) => x.id === t.id)?.status ?? ''), 90_000, () => `task ${t.id} to finish`);
    }
  });

  it('with delegate.openPanelOnDelegate off, the panel stays closed and the row is still selected', async () => {
    await vscode.workspace.getConfiguration('delegate').update('openPanelOnDelegate', false, vscode.ConfigurationTarget.Global);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    const task = await delegate(`Quietly add a full stop [[script:${SCRIPT}]]`);
    await until(() => api.queueSelection().join() === task.id, 10_000, () => `the queue to select the new row (selected: ${api.queueSelection().join()})`);
    assert.equal(api.panelView().view, 'none', 'the panel stayed closed');
    await until(() => FINISHED.includes(api.snapshot().tasks.find((x) => x.id === task.id)?.status ?? ''), 90_000, () => 'the task to finish');
  });

  it('a queue row has a short label, its state as a coloured icon, "2m · +1 −1" beside it and the whole prompt in its tooltip', async () => {
    const task = api.snapshot().tasks.find((t) => t.prompt.startsWith(LONG));
    assert.ok(task);
    assert.equal(task.status, 'completed', JSON.stringify(task.error));
    const row = api.treeItem(task.id);
    assert.ok(row.label.length <= 22, `label "${row.label}" (${row.label.length} characters)`);
    assert.ok(LONG.startsWith(row.label.replace(/…$/, '')), `the label is the prompt's start: "${row.label}"`);
    assert.match(row.description, /^\d+[smh] · \+1 −1$/, 'elapsed and counts only: the state is the icon');
    // About 36 characters fit beside the icon and one inline action in the default ~300 px sidebar.
    assert.ok(row.label.length + row.description.length + 1 <= 36, `"${row.label}" + "${row.description}" is too wide for the sidebar`);
    assert.deepEqual(row.icon, { id: 'pass', color: 'testing.iconPassed' });
    // Markdown escapes: &nbsp; for spaces, backslashes before brackets.
    const tooltip = row.tooltip.replace(/&nbsp;/g, ' ').replace(/\\(.)/g, '$1');
    assert.ok(tooltip.includes(LONG), `the tooltip carries the whole prompt: ${tooltip}`);
    assert.match(row.tooltip, /ready for review/, 'the tooltip says the state in words');
    // Every state has its colour, so no row is a grey icon among coloured ones.
    for (const t of api.snapshot().tasks) assert.ok(api.treeItem(t.id).icon?.color, `${t.status} has no icon colour`);
  });
});
