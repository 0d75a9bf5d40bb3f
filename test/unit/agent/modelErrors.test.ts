import assert from 'node:assert/strict';
import { APIConnectionError, APIError } from 'openai';
import { classifyModelError, retryAfterMs } from '../../../server/src/agent/modelCall';
import { ModelProtocolError, StreamCutError } from '../../../server/src/agent/wire/turn';

describe('agent model error classification', () => {
  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    assert.equal(retryAfterMs(new Headers({ 'retry-after-ms': '250', 'retry-after': '9' })), 250);
    assert.equal(retryAfterMs(new Headers({ 'retry-after': '2' })), 2000);
    const now = Date.parse('2030-01-01T00:00:00Z');
    assert.equal(retryAfterMs(new Headers({ 'retry-after': 'Tue, 01 Jan 2030 00:00:05 GMT' }), now), 5000);
    assert.equal(retryAfterMs(new Headers({})), undefined);
  });

  it('retries 429, 5xx, connection errors and cut streams; not 400/401, garbage or bad JSON', () => {
    const api = (status: number) => APIError.generate(status, { error: { message: 'nope' } }, undefined, new Headers({ 'retry-after': '1' }));
    assert.deepEqual(classifyModelError(api(429)), { retryable: true, message: 'the model endpoint answered HTTP 429: nope', retryAfterMs: 1000 });
    assert.equal(classifyModelError(api(503)).retryable, true);
    assert.equal(classifyModelError(api(400)).retryable, false);
    assert.match(classifyModelError(api(401)).message, /rejected the API key/);
    assert.equal(classifyModelError(new APIConnectionError({ message: 'refused' })).retryable, true);
    assert.equal(classifyModelError(new StreamCutError('cut')).retryable, true);
    assert.equal(classifyModelError(new ModelProtocolError('html')).retryable, false);
    assert.equal(classifyModelError(new SyntaxError('Unexpected token <')).retryable, false);
  });
});
