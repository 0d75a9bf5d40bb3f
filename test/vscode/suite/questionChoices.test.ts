// Issue #19, suggested answers: the agent's ask_user may offer 2–4 short choices. They reach the
// panel's timeline (which shows them as buttons; the UI smoke clicks one) and the answer goes the
// usual way, as a message. Choices that break the rules (one, five, too long) are refused to the
// agent as invalid arguments, so no question with them ever reaches the user.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { Task } from '../../../protocol';
import type { DelegateApi } from '../../../src/extension';
import { delegateApi, FINISHED, modelRequests, setScript, until } from './helpers';

const SCRIPT = 'question-choices';
const QUESTION = 'Which greeting should the banner use?';
const CHOICES = ['Hello', 'Hi there', 'Good morning'];

describe('suggested answers to a question (#19)', () => {
  let api: DelegateApi;

  before(async () => {
    api = await delegateApi();
    await setScript(SCRIPT, [
      // Five choices: more than the protocol allows; the agent is told and asks again.
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Too many?', choices: ['a', 'b', 'c', 'd', 'e'] } }] },
      { toolCalls: [{ name: 'ask_user', arguments: { question: QUESTION, choices: CHOICES } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'Used the chosen greeting.' } }] },
    ]);
  });

  after(async () => {
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
  });

  it('the question carries its choices, and a choice answers it like typed text', async () => {
    const task = await vscode.commands.executeCommand<Task | undefined>('delegate.delegateTask', { prompt: `Pick a greeting [[script:${SCRIPT}]]` });
    assert.ok(task);
    const current = () => api.snapshot().tasks.find((t) => t.id === task.id);
    await until(() => current()?.status === 'waiting_for_input', 90_000, () => `the question (${current()?.status})`);
    const questions = api.timeline(task.id).filter((i) => i.kind === 'question');
    assert.deepEqual(questions.map((q) => q.kind === 'question' && { text: q.text, choices: q.choices }), [{ text: QUESTION, choices: CHOICES }],
      'only the valid question reached the user, with its choices in order');
    const refused = api.timeline(task.id).some((i) => JSON.stringify(i).includes('Too many?'));
    assert.equal(refused, false, 'the question with five choices never showed');

    // What the panel's choice button and the notification's choice button send.
    await vscode.commands.executeCommand('delegate.followUp', task.id, CHOICES[1]);
    await until(() => FINISHED.includes(current()?.status ?? ''), 90_000, () => `the task to finish (${current()?.status})`);
    assert.equal(current()?.status, 'completed');
    const answers = api.timeline(task.id).filter((i) => i.kind === 'user');
    assert.deepEqual(answers.map((a) => a.kind === 'user' && [a.messageKind, a.text]), [['answer', CHOICES[1]]]);
    const question = api.timeline(task.id).find((i) => i.kind === 'question');
    assert.ok(question?.kind === 'question' && question.answered, 'the question is marked answered');

    // The agent was told why its first question was refused, and then got the chosen answer.
    const requests = await modelRequests(SCRIPT);
    const seen = JSON.stringify(requests.map((r) => r.body));
    assert.match(seen, /Invalid arguments for ask_user: choices/);
    assert.ok(seen.includes(`The user answered: ${CHOICES[1]}`), 'the model received the chosen answer');
  });
});
