import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent cancellation', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('stops a running command, keeps the history with an "aborted" output, and a follow-up continues it', async () => {
    fx.fake.setScript('cancel-cmd', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo started; sleep 30; echo never' } }, { name: 'read_file', arguments: { path: 'README.md' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'resumed' } }] },
    ]);
    const host = fx.newHost();
    const controller = new AbortController();
    host.onEvent = (event) => {
      if (event.type === 'tool.output' && event.chunk.includes('started')) controller.abort();
    };
    const { outcome } = await fx.run('Run it [[script:cancel-cmd]]', { host, signal: controller.signal });
    assert.equal(outcome.status, 'cancelled');
    assert.equal(outcome.error, undefined);
    const results = outcome.history.filter((i) => i.type === 'tool_result');
    assert.deepEqual(results.map((r) => r.type === 'tool_result' && r.output), ['aborted', 'aborted']);
    const shellResult = host.ofType('tool.result')[0]!;
    assert.equal(shellResult.ok, false);
    assert.doesNotMatch(host.ofType('tool.output').map((o) => o.chunk).join(''), /never/);

    // Follow-up: the same conversation plus the new message; the model continues at its next step.
    const followUp = await fx.run('Please go on', { history: outcome.history });
    assert.equal(followUp.outcome.status, 'completed');
    assert.equal(followUp.outcome.summary, 'resumed');
    const request = fx.fake.requests.filter((r) => r.script === 'cancel-cmd').at(-1)!;
    const input = request.body.input as Array<Record<string, unknown>>;
    assert.deepEqual(input.slice(-4).map((i) => i.type), ['function_call', 'function_call_output', 'function_call_output', 'message']);
    assert.equal(input.at(-1)!.content, 'Please go on');
  });

  it('stops an in-flight model request', async () => {
    fx.fake.setScript('cancel-model', [{ delayMs: 30_000, text: 'too late' }]);
    const controller = new AbortController();
    const host = fx.newHost();
    const running = fx.run('Wait [[script:cancel-model]]', { host, signal: controller.signal });
    while (!fx.fake.requests.some((r) => r.script === 'cancel-model')) await new Promise((r) => setTimeout(r, 10));
    controller.abort();
    const { outcome } = await running;
    assert.equal(outcome.status, 'cancelled');
    assert.equal(host.ofType('agent.message').length, 0);
    assert.equal(outcome.history.at(-1)?.type, 'message');
  });

  it('returns cancelled at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const before = fx.fake.requests.length;
    const { outcome } = await fx.run('Never [[script:none]]', { signal: controller.signal });
    assert.equal(outcome.status, 'cancelled');
    assert.equal(fx.fake.requests.length, before);
  });
});
