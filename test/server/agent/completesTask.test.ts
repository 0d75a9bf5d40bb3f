import assert from 'node:assert/strict';
import { fixSteps, startAgentFixture, type AgentFixture } from './agentFixture';

for (const wireApi of ['responses', 'chat'] as const) {
  describe(`agent completes a multi-step task over the ${wireApi} API`, function () {
    let fx: AgentFixture;
    before(async () => {
      fx = await startAgentFixture();
    });
    after(async () => fx?.close());

    it('lists, patches, runs the tests in the sandbox and finishes with a summary and test result', async () => {
      fx.fake.setScript('fix', fixSteps());
      const { outcome, host } = await fx.run('Make greet say hello. [[script:fix]]', { wireApi });

      assert.equal(outcome.status, 'completed', JSON.stringify(outcome.error));
      assert.equal(outcome.summary, 'greet() now says "Hello, NAME!".');
      assert.deepEqual(outcome.testResult, { command: 'sh test.sh', passed: true, summary: 'PASS' });

      // The change is in the workspace, made through the confined file API.
      const head = await fx.workspace.readVersion('head', 'lib/greet.sh');
      assert.equal(head?.toString(), 'greet() {\n  echo "Hello, $1!"\n}\n');

      // The test script really ran in the sandbox, after the patch.
      const results = host.ofType('tool.result');
      assert.deepEqual(results.map((r) => [r.name, r.ok]), [['list_files', true], ['apply_patch', true], ['shell', true], ['finish', true]]);
      assert.match(results[0]!.output, /lib\/greet\.sh/);
      const shell = results[2]!;
      assert.equal(shell.exitCode, 0);
      assert.match(shell.output, /^Exit code: 0/);
      assert.match(shell.output, /PASS/);
      const live = host.ofType('tool.output').filter((o) => o.callId === shell.callId).map((o) => o.chunk).join('');
      assert.match(live, /PASS/);

      // Every call is announced before its result, in order.
      const order = host.events.filter((e) => e.type === 'tool.call' || e.type === 'tool.result').map((e) => `${e.type}:${'callId' in e ? e.callId : ''}`);
      for (let i = 0; i < order.length; i += 2) assert.equal(order[i]!.replace('tool.call', 'tool.result'), order[i + 1]);

      // Text streamed as deltas and arrived once as a message.
      const messages = host.ofType('agent.message');
      assert.deepEqual(messages.map((m) => m.text), ['Let me look at the project.']);
      const deltas = host.ofType('agent.delta').filter((d) => d.messageId === messages[0]!.messageId);
      assert.equal(deltas.map((d) => d.text).join(''), 'Let me look at the project.');

      // The host was asked to re-diff after the patch and after the command; it saw the change.
      assert.equal(host.diffs.length, 2);
      assert.deepEqual(host.diffs[0]!.map((f) => [f.path, f.status]), [['lib/greet.sh', 'modified']]);
      assert.equal(host.ofType('agent.finished').length, 1);

      // Usage is cumulative, per response, with a cost for a known model.
      assert.equal(host.usages.length, 4);
      const last = host.usages[3]!;
      assert.equal(last.modelRequests, 4);
      assert.ok(last.inputTokens > host.usages[0]!.inputTokens);
      assert.ok(last.costUsd !== null && last.costUsd > 0);
      assert.deepEqual(host.ofType('usage').at(-1)?.usage, last);

      // The model saw each tool's output in the next request, over the wire API under test.
      const requests = fx.fake.requests.filter((r) => r.script === 'fix');
      assert.equal(requests.length, 4);
      assert.ok(requests.every((r) => r.api === wireApi && r.body.stream === true));
      assert.match(JSON.stringify(requests[3]!.body), /PASS/);

      // The history is complete and valid for a follow-up.
      const calls = outcome.history.filter((i) => i.type === 'tool_call').length;
      const outputs = outcome.history.filter((i) => i.type === 'tool_result').length;
      assert.equal(calls, 4);
      assert.equal(outputs, 4);
    });
  });
}
