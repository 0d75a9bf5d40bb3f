import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

const list = { toolCalls: [{ name: 'list_files', arguments: {} }] };
const read = { toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }] };

describe('agent limits', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('fails with turn_limit after maxTurns model turns, keeping the history', async () => {
    fx.fake.setScript('turns', [list, read, list, read]);
    const { outcome } = await fx.run('Go [[script:turns]]', { limits: { maxTurns: 2 } });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'turn_limit');
    assert.match(outcome.error.message, /turn limit is 2/);
    assert.equal(fx.fake.requests.filter((r) => r.script === 'turns').length, 2);
    assert.equal(outcome.history.filter((i) => i.type === 'tool_result').length, 2);
    assert.equal(outcome.usage.modelRequests, 2);
  });

  it('fails with token_limit once the run has used maxTokens', async () => {
    fx.fake.setScript('tokens', [{ ...list, usage: { input: 40_000, output: 20_000 } }, read, list]);
    const { outcome } = await fx.run('Go [[script:tokens]]', { limits: { maxTokens: 50_000 } });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'token_limit');
    assert.match(outcome.error.message, /60000 tokens/);
    assert.equal(fx.fake.requests.filter((r) => r.script === 'tokens').length, 1);
  });

  it('fails with time_limit when the wall time runs out during a command, and the command is stopped', async () => {
    fx.fake.setScript('time', [{ toolCalls: [{ name: 'shell', arguments: { command: 'sleep 60' } }] }, read]);
    const { outcome, host } = await fx.run('Go [[script:time]]', { limits: { maxWallTimeMs: 1500 } });
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'time_limit');
    const result = host.ofType('tool.result')[0]!;
    assert.equal(result.output, 'aborted');
    assert.equal(outcome.history.at(-1)?.type, 'tool_result');
  });

  it('caps a command at the task command timeout and tells the model', async () => {
    fx.fake.setScript('cmd-timeout', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 30', timeout_ms: 600_000 } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'gave up' } }] },
    ]);
    const { outcome, host } = await fx.run('Go [[script:cmd-timeout]]', { limits: { commandTimeoutMs: 500 } });
    assert.equal(outcome.status, 'completed');
    const result = host.ofType('tool.result')[0]!;
    assert.equal(result.ok, false);
    assert.match(result.output, /^killed: time limit 0\.5 s reached\./);
  });
});
