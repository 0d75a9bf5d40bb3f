// Issue #19, item 9: the agent's question shows once in the task panel's timeline (not once as
// the ask_user call and again as the question), and stays once after it is answered.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, FINISHED, setScript, until } from './helpers';

const SCRIPT = 'question-once';
const QUESTION = 'Which greeting do you prefer, Hello or Hi?';

describe('a question shows once (#19)', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
    await setScript(SCRIPT, [
      { toolCalls: [{ name: 'ask_user', arguments: { question: QUESTION } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Kept Hello.' } }] },
    ]);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the timeline holds the question once, before and after the answer', async () => {
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: `Ask about the greeting [[script:${SCRIPT}]]` });
    assert.ok(task);
    const current = () => api.snapshot().tasks.find((t) => t.id === task.id);
    await until(() => current()?.status === 'waiting_for_input', 90_000, () => `the question (${current()?.status})`);
    const mentions = (): string[] =>
      api.timeline(task.id).filter((i) => JSON.stringify(i).includes(QUESTION)).map((i) => i.kind);
    assert.deepEqual(mentions(), ['question'], 'one timeline item carries the question');
    await vscode.commands.executeCommand('delegate.followUp', task.id, 'Hello.');
    await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
    assert.deepEqual(mentions(), ['question']);
  });
});
