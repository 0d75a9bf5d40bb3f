// Best-of-N in a real VS Code: a task with two attempts lists both, the tree says which one the
// task shows, `delegate.selectAttempt` switches it, and the review diff, the open review document
// and Apply follow the selection. The timeline labels each attempt's tool calls readably.
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, env, FINISHED, setScript, until } from './helpers';

/** What the server's GET endpoints say right now (the truth the extension must mirror). */
async function serverGet(path: string): Promise<string> {
  const res = await fetch(`${env('DELEGATE_TEST_SERVER_URL').replace(/\/$/, '')}${path}`, {
    headers: { authorization: `Bearer ${env('DELEGATE_TOKEN')}` },
  });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.text();
}

describe('best-of-N attempts', () => {
  let api: DelegateApi;
  let workspace: string;
  let task: Task;
  const current = () => api.snapshot().tasks.find((t) => t.id === task.id);

  before(async () => {
    api = await delegateApi();
    workspace = env('DELEGATE_TEST_WORKSPACE');
    // Every attempt plays the same script in its own sandbox; the random number makes them differ.
    await setScript('attempts-ui', [
      { toolCalls: [{ name: 'apply_patch', arguments: { patch: '*** Begin Patch\n*** Add File: notes.txt\n+picked by the user\n*** End Patch' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo "answer $(od -An -N4 -tu4 /dev/urandom | tr -d " ")" > answer.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Wrote an answer.' } }] },
    ]);
    const created = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', {
      prompt: 'Pick a number [[script:attempts-ui]]',
      options: { attempts: 2 },
    });
    assert.ok(created, 'delegate.delegateTask returned no task');
    assert.equal(created.attempts?.length, 2, 'the server made two attempts');
    task = created;
    await until(
      () => FINISHED.includes(current()?.status ?? '') && (current()?.attempts ?? []).every((a) => FINISHED.includes(a.status)),
      120_000,
      () => `both attempts to finish (${JSON.stringify(current()?.attempts?.map((a) => a.status))})`,
    );
    assert.deepEqual(current()?.attempts?.map((a) => a.status), ['completed', 'completed'], JSON.stringify(current()?.attempts?.map((a) => a.error)));
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    for (const f of ['answer.txt', 'notes.txt']) rmSync(join(workspace, f), { force: true });
  });

  it('labels each attempt\'s tool calls with what they did', () => {
    const tools = api.timeline(task.id).flatMap((i) => (i.kind === 'tool' ? [i] : []));
    for (const attempt of [0, 1]) {
      const mine = tools.filter((t) => t.attempt === attempt);
      assert.deepEqual(mine.map((t) => t.label.split(' ')[0]), ['Add', 'echo', 'Finish'], JSON.stringify(mine.map((t) => t.label)));
      assert.equal(mine[0]?.label, 'Add notes.txt');
      assert.match(mine[1]?.label ?? '', /^echo "answer \$\(od/);
    }
  });

  it('shows which attempt the task mirrors, and switching it refreshes the review', async () => {
    const first = current()!.selectedAttempt ?? 0;
    const other = first === 0 ? 1 : 0;
    // The row says it compactly (A1/2); the tooltip in words.
    assert.match(api.treeItem(task.id).description, new RegExp(`A${first + 1}/2`));
    assert.match(api.treeItem(task.id).contextValue, / attempts$/);

    const answerOf = (text: string) => /answer \d+/.exec(text)?.[0];
    const diffAnswer = async () => answerOf((await api.diff(task.id)).find((f) => f.path === 'answer.txt')?.hunks[0]?.lines.join('\n') ?? '');
    const before = await diffAnswer();
    assert.ok(before, 'the review diff has the first attempt\'s answer');
    // A new file opens without a base side (the changes editor); its agent side is the review document.
    await vscode.commands.executeCommand('delegate.openFileDiff', task.id, 'answer.txt');
    await until(() => vscode.window.tabGroups.activeTabGroup.activeTab?.label.startsWith('answer.txt (new file)') === true, 20_000,
      () => `the new file's review (active tab: ${vscode.window.tabGroups.activeTabGroup.activeTab?.label})`);
    const headUri = vscode.Uri.from({ scheme: 'delegate-review', path: '/answer.txt', query: new URLSearchParams({ task: task.id, side: 'head' }).toString() });
    const head = await vscode.workspace.openTextDocument(headUri);
    assert.equal(answerOf(head.getText()), before);

    const selected = await vscode.commands.executeCommand<Task | undefined>('delegate.selectAttempt', task.id, other);
    assert.equal(selected?.selectedAttempt, other);
    assert.equal(current()?.selectedAttempt, other);
    const truth = answerOf(await serverGet(`/v1/tasks/${task.id}/file?path=answer.txt&side=head`));
    assert.ok(truth && truth !== before, `the attempts wrote different answers (${before} / ${truth})`);

    // The cached diff, the open review document and the tree all follow the selection.
    assert.equal(await diffAnswer(), truth);
    await until(() => answerOf(head.getText()) === truth, 15_000, () => `the open review document to show ${truth} (has ${answerOf(head.getText())})`);
    assert.match(api.treeItem(task.id).description, new RegExp(`A${other + 1}/2`));
    assert.ok(api.timeline(task.id).some((i) => i.kind === 'status' && i.text === `attempt ${other + 1} of 2 selected`), 'the timeline notes the selection');

    // An attempt that does not exist changes nothing.
    assert.equal(await vscode.commands.executeCommand('delegate.selectAttempt', task.id, 3), undefined);
    assert.equal(current()?.selectedAttempt, other);

    // Apply takes the selected attempt's files.
    const result = await vscode.commands.executeCommand<{ applied: string[]; conflicts: unknown[]; cancelled: boolean } | undefined>('delegate.applyTask', task.id, { confirm: false });
    assert.deepEqual(result?.applied.sort(), ['answer.txt', 'notes.txt']);
    assert.ok(existsSync(join(workspace, 'answer.txt')));
    assert.equal(answerOf(readFileSync(join(workspace, 'answer.txt'), 'utf8')), truth);
  });
});
