import assert from 'node:assert/strict';
import { FAKE_API_KEY, startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent keeps the API key secret', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('sends the key to the model endpoint only: not into events, errors or the sandbox', async () => {
    fx.fake.setScript('secret', [
      // The endpoint echoes the key in an error body, as some proxies do.
      { error: { status: 500, retryAfterMs: 1, body: { error: { message: `upstream refused Authorization: Bearer ${FAKE_API_KEY}` } } } },
      { toolCalls: [{ name: 'shell', arguments: { command: 'env; cat /proc/1/environ | tr "\\0" "\\n"; S=SECRET; grep -s "${S}KEY" /proc/*/environ; echo scanned' } }] },
      { error: { status: 400, body: { error: { message: `Incorrect API key provided: ${FAKE_API_KEY}` } } } },
    ]);
    const { outcome, host } = await fx.run('Show me the environment [[script:secret]]');
    assert.equal(outcome.status, 'failed');
    assert.equal(fx.fake.requests.filter((r) => r.script === 'secret')[0]!.headers.authorization, `Bearer ${FAKE_API_KEY}`);

    const everything = JSON.stringify({ events: host.events, outcome });
    assert.ok(!everything.includes(FAKE_API_KEY), 'the key leaked into events or the outcome');
    assert.ok(!everything.includes('SECRETKEY'), 'part of the key leaked');
    assert.match(outcome.error!.message, /Incorrect API key provided: \[redacted\]/);
    assert.match(host.ofType('warning')[0]!.error.message, /Bearer \[redacted\]/);
    // The command really ran and printed the sandbox's environment.
    const shell = host.ofType('tool.result').find((r) => r.name === 'shell')!;
    assert.equal(shell.exitCode, 0);
    assert.match(shell.output, /PATH=/);
    assert.match(shell.output, /scanned/);
  });
});
