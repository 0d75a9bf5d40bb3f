import assert from 'node:assert/strict';
import { MAX_MODEL_ATTEMPTS } from '../../../server/src/agent';
import { startAgentFixture, type AgentFixture } from './agentFixture';

const finish = { toolCalls: [{ name: 'finish', arguments: { summary: 'made it' } }] };

describe('agent model retries', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`retries 429 and 5xx over ${wireApi}, honouring retry-after, with a warning per retry`, async () => {
      const script = `retry-${wireApi}`;
      fx.fake.setScript(script, [
        { error: { status: 429, retryAfterMs: 30 } },
        { error: { status: 503, retryAfter: 1 } },
        finish,
      ]);
      const { outcome, host } = await fx.run(`Go [[script:${script}]]`, { wireApi });
      assert.equal(outcome.status, 'completed');
      assert.equal(outcome.summary, 'made it');
      assert.equal(fx.fake.requests.filter((r) => r.script === script).length, 3, 'our retries only: the SDK does not retry on its own');
      const warnings = host.ofType('warning').map((w) => w.error);
      assert.deepEqual(warnings.map((w) => w.code), ['model_retry', 'model_retry']);
      assert.match(warnings[0]!.message, /HTTP 429.*Retrying in 0\.0 s \(retry 1\)/);
      assert.match(warnings[1]!.message, /HTTP 503.*Retrying in 1\.0 s \(retry 2\)/);
      assert.equal(outcome.usage.modelRequests, 1);
    });
  }

  it(`gives up with model_error after ${MAX_MODEL_ATTEMPTS} failed attempts`, async () => {
    const errors = Array.from({ length: MAX_MODEL_ATTEMPTS + 1 }, () => ({ error: { status: 500, retryAfterMs: 1 } }));
    fx.fake.setScript('retry-forever', [...errors, finish]);
    const { outcome, host } = await fx.run('Go [[script:retry-forever]]');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'model_error');
    assert.match(outcome.error.message, /gave up after 5 attempts: the model endpoint answered HTTP 500/);
    assert.equal(fx.fake.requests.filter((r) => r.script === 'retry-forever').length, MAX_MODEL_ATTEMPTS);
    assert.equal(host.ofType('warning').length, MAX_MODEL_ATTEMPTS - 1);
    assert.deepEqual(outcome.history.map((i) => i.type), ['message', 'message']);
  });

  it('does not retry a 400 and reports the endpoint message', async () => {
    fx.fake.setScript('bad-request', [{ error: { status: 400, body: { error: { message: "Unsupported parameter: 'tools'", type: 'invalid_request_error' } } } }, finish]);
    const { outcome } = await fx.run('Go [[script:bad-request]]');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'model_error');
    assert.match(outcome.error.message, /HTTP 400: Unsupported parameter: 'tools'/);
    assert.equal(fx.fake.requests.filter((r) => r.script === 'bad-request').length, 1);
  });
});
