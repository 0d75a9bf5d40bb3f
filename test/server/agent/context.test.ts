/* eslint-disable @typescript-eslint/no-explicit-any -- the recorded request bodies are probed as loose JSON */
import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

const finish = { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] };

describe('agent context: system prompt, AGENTS.md, selection and request shape', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  const selection = { path: 'lib/greet.sh', startLine: 1, endLine: 3, text: 'greet() {\n  echo "Hi $1"\n}' };

  it('sends the root and the nearest AGENTS.md (nearest last) and the selection, statelessly, over Responses', async () => {
    fx.fake.setScript('ctx-r', [{ reasoning: 'I should check the tests first.', toolCalls: [{ name: 'list_files', arguments: { path: 'lib' } }] }, finish]);
    const { outcome, host } = await fx.run('Explain greet [[script:ctx-r]]', { selection, reasoningEffort: 'low' });
    assert.equal(outcome.status, 'completed');
    const [first, second] = fx.fake.requests.filter((r) => r.script === 'ctx-r');
    const body = first!.body as Record<string, any>;
    const instructions = String(body.instructions);
    const root = instructions.indexOf('Root rule: run `sh test.sh` before finishing.');
    const nearest = instructions.indexOf('Lib rule: keep functions POSIX sh.');
    assert.ok(root > 0 && nearest > root, 'both AGENTS.md files, nearest last');
    assert.match(instructions, /read the files you will change/);
    assert.equal(body.store, false);
    assert.deepEqual(body.reasoning, { effort: 'low', summary: 'auto' });
    assert.deepEqual(body.include, ['reasoning.encrypted_content']);
    assert.deepEqual(body.tools.map((t: { name: string }) => t.name), ['shell', 'apply_patch', 'read_file', 'list_files', 'search', 'ask_user', 'finish']);
    assert.equal(body.tools[0].parameters.required[0], 'command');
    const user = body.input[0];
    assert.equal(user.role, 'user');
    assert.match(user.content, /^Task:\nExplain greet/);
    assert.match(user.content, /lib\/greet\.sh \(lines 1-3\):\n```sh\ngreet\(\) \{\n {2}echo "Hi \$1"\n\}\n```/);

    // Turn 2 carries the whole conversation again, with the encrypted reasoning (no stored ids).
    const input2 = (second!.body as Record<string, any>).input as Array<Record<string, any>>;
    assert.deepEqual(input2.map((i) => i.type), ['message', 'reasoning', 'function_call', 'function_call_output']);
    assert.equal(input2[1]!.encrypted_content, `enc:${Buffer.from('I should check the tests first.').toString('base64')}`);
    assert.equal(input2[1]!.id, undefined);
    assert.match(input2[3]!.output, /lib\/greet\.sh/);
    assert.deepEqual(host.ofType('agent.reasoning').map((r) => r.text), ['I should check the tests first.']);
    assert.equal(outcome.usage.reasoningTokens > 0, true);
  });

  it('sends the same context as a system message over Chat Completions', async () => {
    fx.fake.setScript('ctx-c', [finish]);
    const { outcome } = await fx.run('Explain greet [[script:ctx-c]]', { selection, wireApi: 'chat', reasoningEffort: 'high' });
    assert.equal(outcome.status, 'completed');
    const body = fx.fake.requests.find((r) => r.script === 'ctx-c')!.body as Record<string, any>;
    assert.equal(body.messages[0].role, 'system');
    assert.match(body.messages[0].content, /Lib rule: keep functions POSIX sh\./);
    assert.equal(body.messages[1].role, 'user');
    assert.match(body.messages[1].content, /lib\/greet\.sh \(lines 1-3\)/);
    assert.deepEqual(body.stream_options, { include_usage: true });
    assert.equal(body.reasoning_effort, 'high');
    assert.equal(body.tools[0].type, 'function');
    assert.equal(body.tools[0].function.name, 'shell');
  });

  it('uses only the root AGENTS.md when nothing nearer applies', async () => {
    fx.fake.setScript('ctx-root', [finish]);
    await fx.run('No selection [[script:ctx-root]]');
    const instructions = String(fx.fake.requests.find((r) => r.script === 'ctx-root')!.body.instructions);
    assert.match(instructions, /Root rule/);
    assert.doesNotMatch(instructions, /Lib rule/);
  });
});
