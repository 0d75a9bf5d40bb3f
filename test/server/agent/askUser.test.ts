import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent ask_user', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('emits a question, waits for the answer without calling the model, and gives the model the answer', async () => {
    fx.fake.setScript('ask', [
      { toolCalls: [{ name: 'ask_user', arguments: { question: 'Tabs or spaces?' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'used spaces' } }] },
    ]);
    const host = fx.newHost();
    let release!: (answer: string) => void;
    let asked = '';
    host.answer = (question) => {
      asked = question;
      return new Promise<string>((resolve) => (release = resolve));
    };
    const running = fx.run('Format it [[script:ask]]', { host });
    await until(() => asked !== '');
    // Paused: one model request so far, and it stays that way while nobody answers.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(fx.fake.requests.filter((r) => r.script === 'ask').length, 1);
    assert.deepEqual(host.ofType('question').map((q) => q.text), ['Tabs or spaces?']);
    release('Spaces, please');
    const { outcome } = await running;
    assert.equal(outcome.status, 'completed');
    const second = fx.fake.requests.filter((r) => r.script === 'ask')[1]!;
    const output = (second.body.input as Array<Record<string, unknown>>).find((i) => i.type === 'function_call_output');
    assert.equal(output?.output, 'The user answered: Spaces, please');
  });

  it('ends as cancelled when the task is cancelled while it waits, with a valid history', async () => {
    fx.fake.setScript('ask-cancel', [{ toolCalls: [{ name: 'ask_user', arguments: { question: 'Which one?' } }] }]);
    const host = fx.newHost();
    const controller = new AbortController();
    host.onEvent = (event) => {
      if (event.type === 'question') setTimeout(() => controller.abort(), 50);
    };
    const { outcome } = await fx.run('Pick [[script:ask-cancel]]', { host, signal: controller.signal });
    assert.equal(outcome.status, 'cancelled');
    const last = outcome.history.at(-1);
    assert.equal(last?.type, 'tool_result');
    assert.equal(last?.type === 'tool_result' && last.output, 'aborted');
  });
});

async function until(predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise((r) => setTimeout(r, 10));
}
