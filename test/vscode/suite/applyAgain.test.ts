// Issue #19 (leftover of item 6): applying again with other decisions replaces the first Apply:
// it is undone, then the current decisions are applied. The same decisions again stay "already
// applied"; a file the user edited after the first Apply stops the replacement and nothing moves.
import * as assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, setScript, until } from './helpers';

const SCRIPT = 'apply-again';
const ADD_CHECK = "  if (typeof a !== 'number') throw new TypeError('add: a');";
const MUL_CHECK = "  if (typeof a !== 'number') throw new TypeError('mul: a');";
const PATCH = [
  '*** Begin Patch',
  '*** Update File: src/math.js',
  '@@',
  ' function add(a, b) {',
  `+${ADD_CHECK}`,
  '   return a + b;',
  '@@',
  ' function mul(a, b) {',
  `+${MUL_CHECK}`,
  '   return a * b;',
  '*** End Patch',
].join('\n');

interface ApplyResult { applied: string[]; conflicts: unknown[]; cancelled: boolean; alreadyApplied?: string[] }

describe('Apply again with other decisions (#19)', () => {
  let api: DelegateApi;
  let math: string;
  let original: string;

  before(async () => {
    api = await delegateApi();
    math = join(env('DELEGATE_TEST_WORKSPACE'), 'src', 'math.js');
    original = readFileSync(math, 'utf8');
    await setScript(SCRIPT, [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: PATCH } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'add and mul check a.' } }] },
    ]);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    writeFileSync(math, original);
  });

  it('undoes the first Apply and applies the new decisions; an edit since then stops it', async () => {
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: `Check a in add and mul [[script:${SCRIPT}]]` });
    assert.ok(task);
    const current = () => api.snapshot().tasks.find((t) => t.id === task.id);
    await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
    assert.equal(current()?.status, 'completed', JSON.stringify(current()?.error));
    const apply = () => vscode.commands.executeCommand<ApplyResult>('delegate.applyTask', task.id, { confirm: false });
    const both = original.replace('function add(a, b) {\n', `function add(a, b) {\n${ADD_CHECK}\n`).replace('function mul(a, b) {\n', `function mul(a, b) {\n${MUL_CHECK}\n`);
    const addOnly = original.replace('function add(a, b) {\n', `function add(a, b) {\n${ADD_CHECK}\n`);

    // Both hunks undecided (taken): the first Apply writes both.
    const first = await apply();
    assert.deepEqual(first.applied, ['src/math.js']);
    assert.equal(readFileSync(math, 'utf8'), both);

    // Reject the second hunk and apply again: the first Apply is replaced.
    assert.equal(await vscode.commands.executeCommand('delegate.rejectHunk', task.id, 'src/math.js', 1), true);
    const second = await apply();
    assert.equal(second.cancelled, false, JSON.stringify(second));
    assert.deepEqual(second.applied, ['src/math.js']);
    assert.equal(readFileSync(math, 'utf8'), addOnly, 'only the accepted hunk is applied now');
    assert.deepEqual(api.applied(task.id), ['src/math.js']);

    // The same decisions once more: already applied, nothing touched.
    const third = await apply();
    assert.deepEqual(third.alreadyApplied, ['src/math.js']);
    assert.equal(readFileSync(math, 'utf8'), addOnly);

    // The user edits the file, then changes the decisions: the replacement stops, the edit stays.
    const edited = `${addOnly}// mine\n`;
    writeFileSync(math, edited);
    await until(() => vscode.workspace.textDocuments.every((d) => d.uri.fsPath !== math || d.getText() === edited), 10_000, () => 'the editor to see the edit');
    assert.equal(await vscode.commands.executeCommand('delegate.acceptHunk', task.id, 'src/math.js', 1), true);
    const fourth = await apply();
    assert.equal(fourth.cancelled, true);
    assert.deepEqual(fourth.applied, []);
    assert.equal(readFileSync(math, 'utf8'), edited, 'neither undone nor applied over the edit');
    assert.deepEqual(api.applied(task.id), ['src/math.js'], 'the first Apply still stands');
  });
});
