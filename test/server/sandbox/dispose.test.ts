// Contract: dispose kills running commands, is idempotent, and later execs fail as values.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describeEachDriver, stoppedGrowing } from './drivers';

describeEachDriver('sandbox dispose', (h) => {
  it('kills running commands and settles their exec calls', async () => {
    const ws = await h.workspace();
    const sandbox = await h.driver().create({ id: 'dispose', workspaceDir: ws, limits: { memoryBytes: 128 * 1024 ** 2, pids: 64, cpus: 1, diskBytes: 32 * 1024 ** 2 } });
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const pending = sandbox.exec('(while :; do echo t >> heartbeat; sleep 0.1; done) & echo up; sleep 1000', {
      timeoutMs: 60_000,
      onStdout: (chunk) => chunk.includes('up') && started(),
    });
    await running;
    await sandbox.dispose();
    const result = await pending;
    assert.equal(result.exitCode, null);
    assert.equal(result.aborted, true);
    assert.ok(await stoppedGrowing(join(ws, 'heartbeat')), 'a background job survived dispose');
  });

  it('is idempotent and turns later execs into sandbox errors', async () => {
    const sandbox = await h.sandbox();
    assert.equal((await sandbox.exec('true')).exitCode, 0);
    await Promise.all([sandbox.dispose(), sandbox.dispose()]);
    await sandbox.dispose();
    const after = await sandbox.exec('true');
    assert.match(after.sandboxError ?? '', /disposed/);
  });
});
