// Issue #19, item 7: the review says what was decided. Undecided hunks count as undecided (not as
// accepted), a rejected hunk's lines are struck through on the agent's side, Review opens every
// changed file in the multi-file diff editor, and a new file has no base side (so no stray deleted
// empty line). The CodeLens inside that editor is checked by the UI smoke test.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, FINISHED, setScript, until } from './helpers';

const SCRIPT = 'review-counts';
const PATCH = [
  '*** Begin Patch',
  '*** Update File: src/math.js',
  '@@',
  ' function add(a, b) {',
  '+  // adds',
  '   return a + b;',
  ' }',
  '@@',
  ' function mul(a, b) {',
  '+  // multiplies',
  '   return a * b;',
  ' }',
  '*** Add File: src/extra.js',
  '+module.exports = 42;',
  '*** End Patch',
].join('\n');

/** The multi-file diff editor's tab input (newer than the typings this project builds against). */
interface MultiDiffInput { textDiffs: { original: vscode.Uri | undefined; modified: vscode.Uri | undefined }[] }
const MultiDiff = (vscode as unknown as { TabInputTextMultiDiff?: new (...args: never[]) => MultiDiffInput }).TabInputTextMultiDiff;

describe('review counts and the review editor (#19)', () => {
  let api: DelegateApi;
  let task: Task;

  before(async () => {
    api = await delegateApi();
    await setScript(SCRIPT, [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: PATCH } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Comments and an extra module.' } }] },
    ]);
    const created = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: `Comment math [[script:${SCRIPT}]]` });
    assert.ok(created);
    const current = () => api.snapshot().tasks.find((t) => t.id === created.id);
    await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
    assert.equal(current()?.status, 'completed', JSON.stringify(current()?.error));
    task = current()!;
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('Review opens all changed files in the multi-file diff editor; the new file has no base side', async () => {
    assert.ok(MultiDiff, 'this VS Code has no TabInputTextMultiDiff');
    await vscode.commands.executeCommand('delegate.reviewTask', task.id);
    await until(() => vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof MultiDiff, 20_000,
      () => `the multi-file diff editor (active tab: ${JSON.stringify(vscode.window.tabGroups.activeTabGroup.activeTab?.input)})`);
    const input = vscode.window.tabGroups.activeTabGroup.activeTab!.input as MultiDiffInput;
    // VS Code lists only the entries with both sides here: the new file, passed without a base
    // side (no empty document to diff against, so no stray deleted line), is not among them.
    assert.deepEqual(input.textDiffs.map((d) => d.modified?.path), ['/src/math.js']);
    assert.equal(input.textDiffs[0]!.original?.scheme, 'delegate-review');
    assert.match(vscode.window.tabGroups.activeTabGroup.activeTab!.label, /^Review: Comment math/);

    // A single new file opens the same way: without a base side.
    await vscode.commands.executeCommand('delegate.openFileDiff', task.id, 'src/extra.js');
    await until(() => vscode.window.tabGroups.activeTabGroup.activeTab?.label.startsWith('extra.js (new file)') === true, 20_000,
      () => `the new file's diff (active tab: ${vscode.window.tabGroups.activeTabGroup.activeTab?.label})`);
    assert.ok(vscode.window.tabGroups.activeTabGroup.activeTab?.input instanceof MultiDiff, 'not a plain diff against an empty document');
  });

  it('undecided hunks read as undecided, and a rejected hunk is struck through', async () => {
    const row = () => api.treeItem(task.id, 'src/math.js').description;
    await until(() => row().includes('hunk'), 10_000, () => `the file row to show the review (${row()})`);
    assert.match(row(), /2 hunks, all undecided/);
    await vscode.commands.executeCommand('delegate.rejectHunk', task.id, 'src/math.js', 1);
    await until(() => /2 hunks: 1 rejected, 1 undecided/.test(row()), 10_000, () => `the counts after rejecting (${row()})`);

    await vscode.commands.executeCommand('delegate.openFileDiff', task.id, 'src/math.js');
    const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
    assert.ok(input instanceof vscode.TabInputTextDiff);
    const head = await vscode.workspace.openTextDocument(input.modified);
    const added = head.getText().split('\n').indexOf('  // multiplies');
    assert.ok(added > 0);
    await until(() => api.struckLines(input.modified).join() === String(added), 10_000,
      () => `line ${added} (the rejected hunk's) struck through, and only it (now ${api.struckLines(input.modified).join()})`);
    await vscode.commands.executeCommand('delegate.acceptHunk', task.id, 'src/math.js', 1);
    await until(() => api.struckLines(input.modified).length === 0, 10_000, () => 'the strike-through to go when accepted');
  });
});
