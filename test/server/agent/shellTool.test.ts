import assert from 'node:assert/strict';
import { startAgentFixture, type AgentFixture } from './agentFixture';

describe('agent shell tool', function () {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgentFixture();
  });
  after(async () => fx?.close());

  it('runs in the given workdir, reports the exit code and separates stderr', async () => {
    fx.fake.setScript('shell', [
      {
        toolCalls: [
          { name: 'shell', arguments: { command: 'pwd; ls', workdir: 'lib' } },
          { name: 'shell', arguments: { command: 'echo out; echo oops >&2; exit 7' } },
          { name: 'shell', arguments: { command: 'true' } },
        ],
      },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'ok' } }] },
    ]);
    const { host } = await fx.run('Go [[script:shell]]');
    const [inLib, failing, silent] = host.ofType('tool.result');
    assert.match(inLib!.output, /^Exit code: 0 \(\d+\.\d s\)\n\/workspace\/lib\nAGENTS\.md\ngreet\.sh/);
    assert.equal(failing!.ok, false);
    assert.equal(failing!.exitCode, 7);
    assert.match(failing!.output, /^Exit code: 7 \(\d+\.\d s\)\nout\n\[stderr\]\noops/);
    assert.match(silent!.output, /\(no output\)$/);
    const stderr = host.ofType('tool.output').filter((o) => o.stream === 'stderr').map((o) => o.chunk).join('');
    assert.equal(stderr, 'oops\n');
  });
});
