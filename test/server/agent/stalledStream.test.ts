import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { Scrubber } from '../../../server/src/log';
import { callModel } from '../../../server/src/agent/modelCall';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';

describe('agent model call: a stalled stream', function () {
  let fake: FakeModel;
  before(async () => {
    fake = await startFakeModel();
  });
  after(async () => fake?.close());

  for (const wireApi of ['responses', 'chat'] as const) {
    it(`is abandoned after the idle timeout and retried (${wireApi})`, async () => {
      let calls = 0;
      fake.setScript(`stall-${wireApi}`, [() => (++calls === 1 ? { delayMs: 30_000, text: 'late' } : { text: 'on time' })]);
      const retries: Array<{ cut: boolean; message: string }> = [];
      const result = await callModel({
        wireApi,
        scrubber: new Scrubber(),
        idleTimeoutMs: 300,
        onRetry: (info) => retries.push(info),
        request: {
          client: new OpenAI({ apiKey: 'sk-x', baseURL: fake.baseUrl, logLevel: 'off' }),
          model: 'm',
          history: [{ type: 'message', role: 'user', text: `[[script:stall-${wireApi}]]` }],
          tools: [],
          signal: new AbortController().signal,
          onDelta: () => {},
        },
      });
      assert.ok(result.ok);
      assert.deepEqual(result.turn.messages.map((m) => m.text), ['on time']);
      assert.equal(retries.length, 1);
      assert.equal(retries[0]!.cut, true);
      assert.match(retries[0]!.message, /no data from the model for 300 ms/);
      assert.equal(calls, 2);
    });
  }
});
