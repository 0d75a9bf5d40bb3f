import assert from 'node:assert/strict';
import { LIVE_OUTPUT_CAP, MODEL_OUTPUT_CAP } from '../../../server/src/agent/tools/shell';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent long command output', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('gives the model the head and tail of a huge output and caps the live stream', async () => {
    const command = 'echo FIRST-LINE; i=0; while [ $i -lt 40000 ]; do echo "line $i of filler text"; i=$((i+1)); done; echo LAST-LINE; exit 3';
    fx.fake.setScript('long', [
      { toolCalls: [{ name: 'shell', arguments: { command } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'saw it' } }] },
    ]);
    const { outcome, host } = await fx.run('Go [[script:long]]');
    assert.equal(outcome.status, 'completed');
    const result = host.ofType('tool.result')[0]!;
    assert.equal(result.exitCode, 3);
    assert.equal(result.ok, false);
    assert.match(result.output, /^Exit code: 3/);
    assert.match(result.output, /FIRST-LINE/);
    assert.match(result.output, /LAST-LINE/);
    assert.match(result.output, /characters omitted/);
    assert.ok(result.output.length < MODEL_OUTPUT_CAP + 200, `model output ${result.output.length} chars`);

    const live = host.ofType('tool.output');
    const liveChars = live.reduce((n, o) => n + o.chunk.length, 0);
    assert.ok(liveChars <= LIVE_OUTPUT_CAP + 200, `live output ${liveChars} chars`);
    assert.ok(live.length < 100, `${live.length} live events`);
    assert.match(live.at(-1)!.chunk, /live output stopped here/);
  });
});
