import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent against an endpoint that is not an OpenAI API', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('fails with a readable model_error on an HTML page, without retrying', async () => {
    fx.fake.setScript('html', [{ raw: '<html><body><h1>502 Bad Gateway</h1></body></html>' }]);
    const { outcome } = await fx.run('Go [[script:html]]');
    assert.equal(outcome.status, 'failed');
    assert.equal(outcome.error?.code, 'model_error');
    assert.match(outcome.error.message, /answered with text\/html instead of an event stream.*It said: <html><body><h1>502 Bad Gateway/);
    assert.equal(fx.fake.requests.filter((r) => r.script === 'html').length, 1);
  });

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`fails with model_error on an event stream of non-JSON data (${wireApi})`, async () => {
      const script = `notjson-${wireApi}`;
      fx.fake.setScript(script, [{ raw: 'data: {this is not json\n\n', contentType: 'text/event-stream' }]);
      const { outcome } = await fx.run(`Go [[script:${script}]]`, { wireApi });
      assert.equal(outcome.status, 'failed');
      assert.equal(outcome.error?.code, 'model_error');
      assert.match(outcome.error.message, /not JSON/);
    });
  }

  it('fails with model_error on an empty event stream', async () => {
    fx.fake.setScript('empty-stream', [{ raw: '', contentType: 'text/event-stream' }]);
    const { outcome } = await fx.run('Go [[script:empty-stream]]');
    assert.equal(outcome.status, 'failed');
    assert.match(outcome.error!.message, /empty event stream/);
  });
});
