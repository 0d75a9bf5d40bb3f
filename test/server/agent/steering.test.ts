import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent steering', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`puts a message sent while the agent works into the next ${wireApi} request, after the tool output`, async () => {
      const script = `steer-${wireApi}`;
      fx.fake.setScript(script, [
        { toolCalls: [{ name: 'shell', arguments: { command: 'echo working' } }] },
        { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
      ]);
      const host = fx.newHost();
      // The user writes while the command runs.
      host.onEvent = (event) => {
        if (event.type === 'tool.call') host.steering.push('Please also update the README.');
      };
      const { outcome } = await fx.run(`Do it [[script:${script}]]`, { wireApi, host });
      assert.equal(outcome.status, 'completed');
      const [first, second] = fx.fake.requests.filter((r) => r.script === script);
      assert.doesNotMatch(JSON.stringify(first!.body), /update the README/);
      const items = (wireApi === 'chat' ? second!.body.messages : second!.body.input) as Array<Record<string, unknown>>;
      const last = items.at(-1)!;
      assert.equal(last.role, 'user');
      assert.equal(last.content, 'Please also update the README.');
      const before = items.at(-2)!;
      assert.ok(before.type === 'function_call_output' || before.role === 'tool', 'the steering message follows the tool output');
      assert.deepEqual(outcome.history.at(-3), { type: 'message', role: 'user', text: 'Please also update the README.' });
    });
  }
});
