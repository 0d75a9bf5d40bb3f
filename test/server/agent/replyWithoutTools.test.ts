import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent replies without tool calls', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('treats text as a message, asks the model to continue or finish, and goes on when it does', async () => {
    fx.fake.setScript('text-once', [{ text: 'I think I am done.' }, { toolCalls: [{ name: 'finish', arguments: { summary: 'really done' } }] }]);
    const { outcome, host } = await fx.run('Go [[script:text-once]]');
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.summary, 'really done');
    assert.deepEqual(host.ofType('agent.message').map((m) => m.text), ['I think I am done.']);
    const second = fx.fake.requests.filter((r) => r.script === 'text-once')[1]!;
    const last = (second.body.input as Array<Record<string, unknown>>).at(-1)!;
    assert.equal(last.role, 'user');
    assert.match(String(last.content), /call finish/);
  });

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`completes with the text as summary after two text-only replies in a row (${wireApi})`, async () => {
      const script = `text-twice-${wireApi}`;
      fx.fake.setScript(script, [{ text: 'Here is my analysis.' }, { text: 'The bug is in greet(); no change needed.' }]);
      const { outcome, host } = await fx.run(`Go [[script:${script}]]`, { wireApi });
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.summary, 'The bug is in greet(); no change needed.');
      assert.deepEqual(host.ofType('agent.finished').map((f) => f.summary), ['The bug is in greet(); no change needed.']);
      assert.equal(fx.fake.requests.filter((r) => r.script === script).length, 2);
    });
  }

  it('fails with model_error after two empty replies in a row', async () => {
    fx.fake.setScript('empty', [{}, {}]);
    const { outcome } = await fx.run('Go [[script:empty]]');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'model_error');
    assert.match(outcome.error.message, /neither text nor a tool call/);
    const second = fx.fake.requests.filter((r) => r.script === 'empty')[1]!;
    assert.match(JSON.stringify(second.body.input), /Your last reply was empty/);
  });
});
