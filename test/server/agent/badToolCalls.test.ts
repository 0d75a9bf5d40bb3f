import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent bad tool calls from the model', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`answers invalid JSON, an unknown tool and wrong argument types with a tool result, then goes on (${wireApi})`, async () => {
      const script = `bad-${wireApi}`;
      fx.fake.setScript(script, [
        {
          toolCalls: [
            { name: 'shell', arguments: '{"command": "ls' },
            { name: 'rm_rf', arguments: { path: '/' } },
            { name: 'read_file', arguments: { path: 42 } },
          ],
        },
        { toolCalls: [{ name: 'finish', arguments: { summary: 'recovered' } }] },
      ]);
      const { outcome, host } = await fx.run(`Go [[script:${script}]]`, { wireApi });
      assert.equal(outcome.status, 'completed');
      const results = host.ofType('tool.result');
      assert.deepEqual(results.map((r) => r.ok), [false, false, false, true]);
      assert.match(results[0]!.output, /The arguments for shell are not valid JSON/);
      assert.match(results[1]!.output, /Unknown tool "rm_rf"\. Available tools: shell, apply_patch, read_file/);
      assert.match(results[2]!.output, /Invalid arguments for read_file: path: /);
      // The unparsable arguments are shown raw in the event.
      assert.equal(host.ofType('tool.call')[0]!.args, '{"command": "ls');
      // And the model received each explanation.
      const second = fx.fake.requests.filter((r) => r.script === script)[1]!;
      assert.match(JSON.stringify(second.body), /Unknown tool \\"rm_rf\\"/);
    });
  }
});
