import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';

describe('scripted fake model server', function () {
  let fake: FakeModel;
  let client: OpenAI;
  before(async () => {
    fake = await startFakeModel({ defaultScript: [{ text: 'default reply' }] });
    client = new OpenAI({ apiKey: 'sk-fake-key-for-tests-000000', baseURL: fake.baseUrl, maxRetries: 0, logLevel: 'off' });
  });
  after(async () => fake?.close());

  it('is programmable over HTTP and records requests with their headers', async () => {
    const put = await fetch(`${fake.controlUrl}/scripts/remote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([{ toolCalls: [{ name: 'finish', arguments: { summary: 'remote' } }] }]),
    });
    assert.equal(put.status, 200);
    const response = await client.responses.create({ model: 'm', input: [{ role: 'user', content: 'x [[script:remote]]' }] });
    const call = response.output[0];
    assert.equal(call?.type, 'function_call');
    assert.equal(call?.type === 'function_call' && call.arguments, '{"summary":"remote"}');
    const recorded = (await (await fetch(`${fake.controlUrl}/requests`)).json()) as Array<{ script: string; headers: Record<string, string> }>;
    const mine = recorded.find((r) => r.script === 'remote')!;
    assert.equal(mine.headers.authorization, 'Bearer sk-fake-key-for-tests-000000');
  });

  it('answers non-streaming requests on both APIs and uses the default script without a marker', async () => {
    const chat = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hello' }] });
    assert.equal(chat.choices[0]?.message.content, 'default reply');
    assert.ok(chat.usage && chat.usage.prompt_tokens > 0);
    const resp = await client.responses.create({ model: 'm', input: 'hello' });
    assert.equal(resp.output_text, 'default reply');
  });

  it('streams Responses events the SDK can assemble', async () => {
    fake.setScript('stream', [{ text: 'streamed text', toolCalls: [{ name: 'shell', arguments: { command: 'ls' } }] }]);
    const stream = client.responses.stream({ model: 'm', input: [{ role: 'user', content: '[[script:stream]]' }] });
    const final = await stream.finalResponse();
    assert.equal(final.output_text, 'streamed text');
    const call = final.output.find((o) => o.type === 'function_call');
    assert.equal(call?.type === 'function_call' && call.arguments, '{"command":"ls"}');
    assert.ok(final.usage && final.usage.output_tokens > 0);
  });

  it('picks the step from the number of assistant turns, so concurrent conversations do not interfere', async () => {
    fake.setScript('turns', [{ text: 'zero' }, { text: 'one' }, (request) => ({ text: `two for ${request.api}` })]);
    const ask = (assistantTurns: number) =>
      client.chat.completions.create({
        model: 'm',
        messages: [
          { role: 'user', content: 'go [[script:turns]]' },
          ...Array.from({ length: assistantTurns }, () => [
            { role: 'assistant' as const, content: 'earlier' },
            { role: 'user' as const, content: 'more' },
          ]).flat(),
        ],
      });
    const replies = await Promise.all([2, 0, 1, 0].map(ask));
    assert.deepEqual(replies.map((r) => r.choices[0]?.message.content), ['two for chat', 'zero', 'one', 'zero']);
  });

  it('plays an error step once per script and step, then goes on', async () => {
    fake.setScript('flaky', [{ error: { status: 429, retryAfter: 7 } }, { text: 'after the error' }]);
    const first = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: '[[script:flaky]]' }] }).catch((e: unknown) => e);
    assert.ok(first instanceof OpenAI.RateLimitError);
    assert.equal(first.headers?.get('retry-after'), '7');
    const second = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: '[[script:flaky]]' }] });
    assert.equal(second.choices[0]?.message.content, 'after the error');
  });
});
