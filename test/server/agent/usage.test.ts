import assert from 'node:assert/strict';
import { EMPTY_USAGE } from '../../../protocol';
import { startAgentFixture, type AgentFixture } from './agentFixture';

const finish = { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] };

describe('agent usage reporting', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`adds cached input and reasoning tokens per response on top of the usage so far (${wireApi})`, async () => {
      const script = `usage-${wireApi}`;
      fx.fake.setScript(script, [
        { toolCalls: [{ name: 'list_files', arguments: {} }], usage: { input: 1000, cached: 400, output: 100, reasoning: 60 } },
        { ...finish, usage: { input: 2000, cached: 1500, output: 50, reasoning: 10 } },
      ]);
      const before = { ...EMPTY_USAGE, inputTokens: 10, outputTokens: 5, costUsd: 0.001, modelRequests: 1 };
      const { outcome, host } = await fx.run(`Go [[script:${script}]]`, { wireApi, model: 'gpt-5', usageSoFar: before });
      assert.deepEqual(
        host.usages.map((u) => [u.inputTokens, u.cachedInputTokens, u.outputTokens, u.reasoningTokens, u.modelRequests]),
        [
          [1010, 400, 105, 60, 2],
          [3010, 1900, 155, 70, 3],
        ],
      );
      // gpt-5: $1.25 per million input, $0.125 cached, $10 output.
      const expected = 0.001 + (1100 * 1.25 + 1900 * 0.125 + 150 * 10) / 1e6;
      assert.ok(Math.abs(outcome.usage.costUsd! - expected) < 1e-9, `${outcome.usage.costUsd} vs ${expected}`);
      assert.deepEqual(outcome.usage, host.usages.at(-1));
    });
  }

  it('reports a null cost for a model with no known price', async () => {
    fx.fake.setScript('usage-unknown', [finish]);
    const { outcome } = await fx.run('Go [[script:usage-unknown]]', { model: 'qwen2.5-coder:7b', wireApi: 'chat' });
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.usage.costUsd, null);
    assert.ok(outcome.usage.inputTokens > 0);
  });
});
