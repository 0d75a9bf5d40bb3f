// The main flow in a real VS Code: delegate a selection (command arguments), the task is in the
// tree at once, its changed files stream in, the diff opens on our read-only scheme, one hunk is
// accepted and one rejected, and Apply writes exactly base + the accepted hunk.
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, patch, setScript, until } from './helpers';

describe('delegate → review → apply', () => {
  let api: DelegateApi;
  let workspace: string;
  let original: string;
  const mathPath = () => join(workspace, 'src', 'math.js');

  before(async () => {
    api = await delegateApi();
    workspace = env('DELEGATE_TEST_WORKSPACE');
    original = readFileSync(mathPath(), 'utf8');
    await setScript('review-apply', [
      { text: 'Adding parentheses to add and mul.', toolCalls: [{ name: 'apply_patch', arguments: { patch: patch('src/math.js', '  return a + b;', '  return (a + b);') } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 1; echo checked' } }] },
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: patch('src/math.js', '  return a * b;', '  return (a * b);') } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Parenthesized add and mul.' } }] },
    ]);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    writeFileSync(mathPath(), original);
  });

  it('delegates the selection, reviews per hunk and applies only the accepted hunk', async () => {
    const doc = await vscode.workspace.openTextDocument(mathPath());
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(0, 0, 2, 1);

    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', {
      prompt: 'Parenthesize the returns [[script:review-apply]]',
    });
    assert.ok(task, 'the command returned no task');
    // In the model (and so in the tree) before any event arrived.
    assert.ok(api.snapshot().tasks.some((t) => t.id === task.id), 'the task is not in the tree at once');
    assert.deepEqual(task.selection && { ...task.selection, text: undefined }, { path: 'src/math.js', startLine: 1, endLine: 3, text: undefined });
    assert.equal(task.selection?.text, 'function add(a, b) {\n  return a + b;\n}');

    const current = () => api.snapshot().tasks.find((t) => t.id === task.id);
    await until(() => (current()?.changedFiles.length ?? 0) > 0, 60_000, () => `changed files to stream in (${JSON.stringify(current())})`);
    assert.deepEqual(current()?.changedFiles.map((f) => f.path), ['src/math.js']);
    await until(() => FINISHED.includes(current()?.status ?? ''), 60_000, () => `the task to finish (${current()?.status})`);
    assert.equal(current()?.status, 'completed', JSON.stringify(current()?.error));
    assert.ok(api.timeline(task.id).some((i) => i.kind === 'agent' && i.text.includes('Adding parentheses')), 'agent message in the timeline');

    // With the task panel open beside the code and focused, the diff opens next to the code, not
    // in the panel's narrow column.
    await vscode.commands.executeCommand('delegate.openPanel', task.id);
    const findPanelGroup = () => vscode.window.tabGroups.all.find((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview));
    await until(() => Boolean(findPanelGroup()), 20_000, () => 'the task panel to open');
    const panelGroup = findPanelGroup()!;
    assert.equal(panelGroup.viewColumn, vscode.ViewColumn.Two, 'the panel opens beside the code');
    await vscode.commands.executeCommand('workbench.action.focusSecondEditorGroup'); // the user clicked into it
    assert.equal(vscode.window.tabGroups.activeTabGroup, panelGroup);
    await vscode.commands.executeCommand('delegate.openFileDiff', task.id, 'src/math.js');
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(input instanceof vscode.TabInputTextDiff, `the active tab is not a diff: ${JSON.stringify(input)}`);
    assert.notEqual(vscode.window.tabGroups.activeTabGroup, panelGroup, 'the diff opened in the panel\'s column');
    assert.ok(panelGroup.tabs.some((t) => t.input instanceof vscode.TabInputWebview), 'the panel stays where it was');
    assert.equal(input.original.scheme, 'delegate-review');
    assert.equal(input.modified.scheme, 'delegate-review');
    const head = await vscode.workspace.openTextDocument(input.modified);
    const base = await vscode.workspace.openTextDocument(input.original);
    assert.equal(base.getText(), original);
    assert.equal(head.getText(), original.replace('return a + b;', 'return (a + b);').replace('return a * b;', 'return (a * b);'));

    const files = await api.diff(task.id);
    assert.equal(files[0]?.hunks.length, 2, 'two separate hunks');
    assert.deepEqual(await api.decisions(task.id, 'src/math.js'), ['undecided', 'undecided']);
    assert.equal(await vscode.commands.executeCommand('delegate.acceptHunk', task.id, 'src/math.js', 0), true);
    assert.equal(await vscode.commands.executeCommand('delegate.rejectHunk', task.id, 'src/math.js', 1), true);
    assert.deepEqual(await api.decisions(task.id, 'src/math.js'), ['accepted', 'rejected']);
    assert.deepEqual(await api.reviewCounts(task.id), { total: 2, accepted: 1, rejected: 1, undecided: 0 });

    const result = await vscode.commands.executeCommand<{ applied: string[]; conflicts: unknown[]; cancelled: boolean } | undefined>('delegate.applyTask', task.id, { confirm: false });
    assert.deepEqual(result, { applied: ['src/math.js'], conflicts: [], cancelled: false });
    const expected = original.replace('return a + b;', 'return (a + b);');
    assert.notEqual(expected, original);
    assert.equal(readFileSync(mathPath(), 'utf8'), expected, 'file on disk');
    assert.equal(doc.getText(), expected, 'document in the editor');
  });

  it('finds the conflict when the user changed the same lines, and applies nothing', async () => {
    const task = api.snapshot().tasks.find((t) => t.prompt.includes('[[script:review-apply]]'));
    assert.ok(task);
    // Back to the base, then the user edits the very line the agent's second hunk changes.
    const undone = await vscode.commands.executeCommand<{ restored: string[] } | undefined>('delegate.undoApply', task.id, { confirm: false });
    assert.deepEqual(undone?.restored, ['src/math.js']);
    assert.equal(readFileSync(mathPath(), 'utf8'), original);
    writeFileSync(mathPath(), original.replace('return a * b;', 'return b * a;'));
    const before = readFileSync(mathPath(), 'utf8');
    const open = vscode.workspace.textDocuments.find((d) => d.uri.fsPath === mathPath());
    if (open) await until(() => open.getText() === before, 10_000, () => 'the open document to pick up the user\'s edit');
    await vscode.commands.executeCommand('delegate.acceptHunk', task.id, 'src/math.js', 1);
    const result = await vscode.commands.executeCommand<{ applied: string[]; conflicts: { path: string }[]; cancelled: boolean } | undefined>('delegate.applyTask', task.id, { confirm: false });
    assert.deepEqual(result?.conflicts.map((c) => c.path), ['src/math.js']);
    assert.deepEqual(result?.applied, []);
    assert.equal(readFileSync(mathPath(), 'utf8'), before);
  });
});
