import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent stream cut mid-way', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`re-requests the turn over ${wireApi} and emits the message once, with a warning`, async () => {
      const script = `cut-${wireApi}`;
      const text = 'I will read the README and then finish the task as asked.';
      fx.fake.setScript(script, [
        { cut: true, text, toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }] },
        { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
      ]);
      const { outcome, host } = await fx.run(`Go [[script:${script}]]`, { wireApi });
      assert.equal(outcome.status, 'completed');
      assert.equal(fx.fake.requests.filter((r) => r.script === script).length, 3);
      const warnings = host.ofType('warning');
      assert.equal(warnings.length, 1);
      assert.equal(warnings[0]!.error.code, 'model_stream_cut');
      const messages = host.ofType('agent.message');
      assert.deepEqual(messages.map((m) => m.text), [text]);
      // The partial text streamed under another message id, so the complete message is not a duplicate.
      const partialIds = new Set(host.ofType('agent.delta').map((d) => d.messageId));
      assert.equal(partialIds.size, 2);
      assert.equal(host.ofType('tool.call').length, 2, 'the cut turn ran no tool');
      assert.equal(outcome.history.filter((i) => i.type === 'message' && i.role === 'assistant').length, 1);
    });
  }

  it('retries a stream cut before any complete item (a bare cut step)', async () => {
    fx.fake.setScript('cut-bare', [{ cut: true }, { cut: true }, { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] }]);
    const { outcome, host } = await fx.run('Go [[script:cut-bare]]');
    assert.equal(outcome.status, 'completed');
    assert.equal(host.ofType('warning').length, 2);
    assert.equal(host.ofType('agent.message').length, 0);
  });
});
