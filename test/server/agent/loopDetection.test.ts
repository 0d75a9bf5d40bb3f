import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent loop detection', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('warns the model on the third identical call and fails with loop_detected on the fourth', async () => {
    const same = { toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }] };
    fx.fake.setScript('loop', [same, same, same, same, same]);
    const { outcome, host } = await fx.run('Go [[script:loop]]');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'loop_detected');
    const results = host.ofType('tool.result');
    assert.equal(host.ofType('tool.call').length, 3, 'the fourth call is not run');
    assert.doesNotMatch(results[1]!.output, /Harness note/);
    assert.match(results[2]!.output, /Harness note: you have made exactly this call 3 times in a row/);
    const last = outcome.history.at(-1);
    assert.ok(last?.type === 'tool_result' && /not run/.test(last.output));
  });

  it('does not count calls that differ', async () => {
    const a = { toolCalls: [{ name: 'read_file', arguments: { path: 'README.md' } }] };
    const b = { toolCalls: [{ name: 'read_file', arguments: { path: 'test.sh' } }] };
    fx.fake.setScript('noloop', [a, a, b, a, a, { toolCalls: [{ name: 'finish', arguments: { summary: 'fine' } }] }]);
    const { outcome, host } = await fx.run('Go [[script:noloop]]');
    assert.equal(outcome.status, 'completed');
    assert.ok(host.ofType('tool.result').every((r) => !/Harness note/.test(r.output)));
  });
});
