// Contract: a command past its timeout is killed together with everything it started.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describeEachDriver, stoppedGrowing } from './drivers';

describeEachDriver('sandbox exec timeout', (h) => {
  it('kills the whole process tree at the timeout', async () => {
    const ws = await h.workspace();
    const sandbox = await h.sandbox({ workspaceDir: ws });
    const result = await sandbox.exec(
      '(while :; do echo tick >> /workspace/heartbeat; sleep 0.1; done) & echo started; sleep 1000',
      { timeoutMs: 1500 },
    );
    assert.equal(result.timedOut, true);
    assert.equal(result.exitCode, null);
    assert.equal(result.signal, 'SIGKILL');
    assert.equal(result.stdout, 'started\n', 'output before the kill is kept');
    assert.ok(await stoppedGrowing(join(ws, 'heartbeat')), 'the background loop survived the timeout');
  });

  it('leaves the sandbox usable afterwards', async () => {
    const sandbox = await h.sandbox();
    const slow = await sandbox.exec('sleep 1000', { timeoutMs: 500 });
    assert.equal(slow.timedOut, true);
    const next = await sandbox.exec('echo again');
    assert.equal(next.exitCode, 0);
    assert.equal(next.stdout, 'again\n');
  });
});
