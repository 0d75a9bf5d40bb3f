// Contract: an AbortSignal kills the running command; an already aborted signal runs nothing.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describeEachDriver, stoppedGrowing } from './drivers';

describeEachDriver('sandbox exec abort', (h) => {
  it('kills the command tree when the signal aborts', async () => {
    const ws = await h.workspace();
    const sandbox = await h.sandbox({ workspaceDir: ws });
    const controller = new AbortController();
    const result = await sandbox.exec('(while :; do echo t >> heartbeat; sleep 0.1; done) & echo running; sleep 1000', {
      signal: controller.signal,
      timeoutMs: 60_000,
      onStdout: (chunk) => {
        if (chunk.includes('running')) controller.abort();
      },
    });
    assert.equal(result.aborted, true);
    assert.equal(result.timedOut, false);
    assert.equal(result.exitCode, null);
    assert.ok(await stoppedGrowing(join(ws, 'heartbeat')), 'the background loop survived the abort');
  });

  it('does not start a command whose signal is already aborted', async () => {
    const ws = await h.workspace();
    const sandbox = await h.sandbox({ workspaceDir: ws });
    const result = await sandbox.exec('touch ran', { signal: AbortSignal.abort() });
    assert.equal(result.aborted, true);
    assert.equal(existsSync(join(ws, 'ran')), false);
  });
});
