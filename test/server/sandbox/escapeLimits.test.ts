// Escape suite: resource limits. A memory hog dies at the memory cap, a fork bomb stops at the
// pids cap, a busy loop dies at its timeout, orphans die with their exec, and the host stays fine.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describeEachDriver, probe, run, stoppedGrowing } from './drivers';

describeEachDriver('escape: resource limits', (h) => {
  it('kills a memory hog at the memory cap', async () => {
    const sandbox = await h.sandbox({ limits: { memoryBytes: 128 * 1024 ** 2 } });
    // The shell keeps the whole substitution in memory: 300 MB against a 128 MiB cap.
    const result = await probe(sandbox, 'x=$(head -c 300000000 /dev/zero | tr "\\0" a); echo "survived ${#x}"', { timeoutMs: 120_000 });
    assert.doesNotMatch(result.stdout, /survived/);
    assert.equal(result.exitCode, 137, `exit ${result.exitCode}: ${result.stderr}`);
    const after = await sandbox.exec('echo alive');
    assert.equal(after.stdout, 'alive\n', 'the sandbox itself recovers');
  });

  it('stops a fork bomb at the pids cap and the host stays fine', async () => {
    const sandbox = await h.sandbox({ limits: { pids: 64 } });
    const result = await probe(
      sandbox,
      // The forking shell dies when fork fails; the survivors are counted with builtins only, as
      // at the cap not even `ls` could start.
      '(n=0; while [ $n -lt 400 ]; do sleep 60 & n=$((n+1)); done) 2>/dev/null; c=0; for p in /proc/[0-9]*; do c=$((c+1)); done; echo $c',
      { timeoutMs: 60_000 },
    );
    const count = Number(result.stdout.trim() || NaN);
    assert.ok(count > 10 && count <= 64, `${count} processes inside a 64-pid sandbox: ${result.stdout} ${result.stderr}`);
    const host = await run('sh', ['-c', 'echo host-ok']);
    assert.equal(host.stdout, 'host-ok\n');
  });

  it('kills a busy loop at its timeout', async () => {
    const sandbox = await h.sandbox();
    const result = await probe(sandbox, 'while :; do :; done', { timeoutMs: 1500 });
    assert.equal(result.timedOut, true);
    assert.equal(result.exitCode, null);
  });

  it('kills orphans when the exec returns', async () => {
    const ws = await h.workspace();
    const sandbox = await h.sandbox({ workspaceDir: ws });
    const result = await probe(sandbox, '(trap "" HUP TERM; while :; do echo t >> /workspace/orphan; sleep 0.1; done) > /dev/null 2>&1 & sleep 0.3; exit 0');
    assert.equal(result.exitCode, 0);
    assert.ok(await stoppedGrowing(join(ws, 'orphan')), 'the orphan kept running after exec returned');
  });
});
