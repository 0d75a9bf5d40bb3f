// Review then Apply then one undo in a real VS Code: the review diff carries the per-hunk CodeLens
// on the agent's side only, with wording that says an undecided hunk will be applied; Apply
// writes and saves the file; a single `undo` on that document brings back the exact old text.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, patch, setScript, until } from './helpers';

describe('apply then undo', () => {
  let api: DelegateApi;
  let greetPath: string;
  let original: string;
  let task: Task;

  let autoSave: string | undefined;

  before(async () => {
    api = await delegateApi();
    // code-server (a web workbench) defaults files.autoSave to afterDelay; desktop VS Code to off.
    // Off makes "unsaved" mean unsaved here, as for most desktop users.
    const files = vscode.workspace.getConfiguration('files');
    autoSave = files.inspect<string>('autoSave')?.globalValue;
    await files.update('autoSave', 'off', vscode.ConfigurationTarget.Global);
    greetPath = join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'greet.js');
    original = readFileSync(greetPath, 'utf8');
    await setScript('undo-apply', [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: patch('src/greet.js', '  return `Hello, ${name}`;', '  return `Hello there, ${name}`;') } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Friendlier greeting.' } }] },
    ]);
    const created = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: 'Friendlier greeting [[script:undo-apply]]' });
    assert.ok(created, 'delegate.delegateTask returned no task');
    const current = () => api.snapshot().tasks.find((t) => t.id === created.id);
    await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
    assert.equal(current()?.status, 'completed', JSON.stringify(current()?.error));
    task = current()!;
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    writeFileSync(greetPath, original);
    await vscode.workspace.getConfiguration('files').update('autoSave', autoSave, vscode.ConfigurationTarget.Global);
  });

  it('shows Accept/Reject CodeLens on the agent\'s side of the review diff, with the count and wording', async () => {
    assert.equal(vscode.workspace.getConfiguration('diffEditor').get('codeLens'), true, 'diffEditor.codeLens defaults to true');
    await vscode.commands.executeCommand('delegate.openFileDiff', task.id, 'src/greet.js');
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(input instanceof vscode.TabInputTextDiff, `the active tab is not a diff: ${JSON.stringify(input)}`);
    assert.equal(input.modified.scheme, 'delegate-review');
    assert.match(input.modified.query, /side=head/, 'the modified side is the agent\'s version');

    const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', input.modified);
    const titles = lenses.map((l) => l.command?.title);
    assert.deepEqual(titles, ['Hunk 1 of 1: undecided (taken unless rejected)', '$(check) Accept', '$(close) Reject']);
    assert.deepEqual(lenses[1]?.command?.arguments, [task.id, 'src/greet.js', 0]);
    const baseLenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', input.original);
    assert.equal(baseLenses.length, 0, 'no lenses on the base side');

    // Undecided shows as undecided (#19); Apply and Pull Request say that it counts as accepted.
    await until(() => api.treeItem(task.id, 'src/greet.js').description.includes('hunk'), 10_000, () => `the file row to show the review (${api.treeItem(task.id, 'src/greet.js').description})`);
    assert.match(api.treeItem(task.id, 'src/greet.js').description, /1 hunk, undecided/);

    await vscode.commands.executeCommand('delegate.acceptHunk', task.id, 'src/greet.js', 0);
    const after = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', input.modified);
    assert.deepEqual(after.map((l) => l.command?.title), ['Hunk 1 of 1: accepted', '$(check) Accepted', '$(close) Reject']);
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('a single undo on the document restores the file exactly after Apply', async () => {
    const result = await vscode.commands.executeCommand<{ applied: string[]; conflicts: unknown[]; cancelled: boolean } | undefined>('delegate.applyTask', task.id, { confirm: false });
    assert.deepEqual(result, { applied: ['src/greet.js'], conflicts: [], cancelled: false });
    const applied = original.replace('Hello, ${name}', 'Hello there, ${name}');
    assert.notEqual(applied, original);
    assert.equal(readFileSync(greetPath, 'utf8'), applied, 'Apply saved the file');

    // The user opens the file Apply changed and presses Ctrl+Z once.
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(greetPath));
    assert.equal(doc.getText(), applied);
    assert.equal(doc.isDirty, false, 'Apply left nothing unsaved');
    await vscode.window.showTextDocument(doc, { preview: false });
    await vscode.commands.executeCommand('undo');
    await until(() => doc.getText() === original, 10_000, () => `one undo to restore the text (now ${JSON.stringify(doc.getText())})`);

    // Exactly the old text, and saving it gives back the old bytes.
    assert.equal(doc.isDirty, true);
    assert.ok(await doc.save(), 'saving the undone document');
    assert.equal(readFileSync(greetPath, 'utf8'), original);
    // One step only: a second undo has nothing of ours left to take back.
    await vscode.commands.executeCommand('undo');
    assert.equal(doc.getText(), original);
  });

  it('one undo takes back a multi-file Apply (an edit plus a new file) and keeps the user\'s unsaved edits unsaved', async () => {
    await setScript('undo-multi', [
      {
        toolCalls: [{
          name: 'apply_patch',
          arguments: { patch: '*** Begin Patch\n*** Update File: src/greet.js\n@@\n-  return `Hello, ${name}`;\n+  return `Hi, ${name}`;\n*** Add File: src/farewell.js\n+module.exports = (name) => `Bye, ${name}`;\n*** End Patch' },
        }],
      },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Hi and bye.' } }] },
    ]);
    const created = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: 'Hi and bye [[script:undo-multi]]' });
    assert.ok(created);
    const current = () => api.snapshot().tasks.find((t) => t.id === created.id);
    await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
    assert.equal(current()?.status, 'completed', JSON.stringify(current()?.error));
    const farewell = join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'farewell.js');

    // The user has greet.js open with an unsaved edit far from the agent's change.
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(greetPath));
    const editor = await vscode.window.showTextDocument(doc, { preview: false });
    assert.equal(doc.getText(), original);
    await editor.edit((b) => b.insert(new vscode.Position(doc.lineCount - 1, 0), '// mine\n'));
    const mine = doc.getText();
    editor.selection = new vscode.Selection(0, 3, 0, 3);

    try {
      const result = await vscode.commands.executeCommand<{ applied: string[]; conflicts: unknown[]; cancelled: boolean } | undefined>('delegate.applyTask', created.id, { confirm: false });
      assert.deepEqual(result?.applied.sort(), ['src/farewell.js', 'src/greet.js']);
      assert.equal(doc.getText(), mine.replace('Hello, ${name}', 'Hi, ${name}'));
      assert.equal(doc.isDirty, true, 'the user\'s unsaved edit was not saved for them');
      assert.equal(readFileSync(greetPath, 'utf8'), original, 'nothing of greet.js was written behind the user\'s back');
      assert.ok(existsSync(farewell));
      assert.deepEqual([editor.selection.active.line, editor.selection.active.character], [0, 3], 'the cursor stayed where it was');

      await vscode.window.showTextDocument(doc, { preview: false });
      const undone = vscode.commands.executeCommand('undo');
      await Promise.race([undone, new Promise((_, reject) => setTimeout(() => reject(new Error('undo did not finish (a dialog?)')), 15_000))]);
      await until(() => doc.getText() === mine, 10_000, () => `one undo to restore the text (now ${JSON.stringify(doc.getText())})`);
      await until(() => !existsSync(farewell), 10_000, () => 'the same undo to remove the created file');
    } finally {
      await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
      rmSync(farewell, { force: true });
    }
  });
});

