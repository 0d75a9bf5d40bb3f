import assert from 'node:assert/strict';
import { EMPTY_USAGE } from '../../../protocol';
import { combineUsage, estimateCostUsd } from '../../../server/src/agent/pricing';

describe('agent usage and cost', () => {
  it('prices known models by their longest matching name, counting cached input at its own rate', () => {
    // gpt-5-mini: $0.25 input, $0.025 cached, $2 output per million.
    const usd = estimateCostUsd('gpt-5-mini-2025-08-07', { input: 1_000_000, cached: 400_000, output: 100_000, reasoning: 50_000 });
    assert.equal(usd, 0.36);
    assert.equal(estimateCostUsd('openai/gpt-5', { input: 1_000_000, cached: 0, output: 0, reasoning: 0 }), 1.25);
  });

  it('gives null for unknown models', () => {
    assert.equal(estimateCostUsd('llama3.1:8b', { input: 10, cached: 0, output: 10, reasoning: 0 }), null);
    assert.equal(estimateCostUsd('gpt-5.9-turbo', { input: 10, cached: 0, output: 10, reasoning: 0 }), null);
  });

  it('adds a run to the usage before it and keeps an unknown cost unknown', () => {
    const before = { ...EMPTY_USAGE, inputTokens: 100, outputTokens: 10, costUsd: 0.5, modelRequests: 2 };
    const after = combineUsage(before, 'gpt-5', { input: 1_000_000, cached: 0, output: 0, reasoning: 0 }, 1);
    assert.deepEqual(after, { inputTokens: 1_000_100, cachedInputTokens: 0, outputTokens: 10, reasoningTokens: 0, costUsd: 1.75, modelRequests: 3 });
    const unknown = combineUsage({ ...before, costUsd: null }, 'gpt-5', { input: 1, cached: 0, output: 1, reasoning: 0 }, 1);
    assert.equal(unknown.costUsd, null);
  });
});
