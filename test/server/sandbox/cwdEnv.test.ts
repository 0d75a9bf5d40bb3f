// Contract: working directory under /workspace, environment on top of a minimal base.
import assert from 'node:assert/strict';
import { describeEachDriver } from './drivers';

describeEachDriver('sandbox cwd and env', (h) => {
  it('starts in /workspace or the given subdirectory', async () => {
    const sandbox = await h.sandbox();
    assert.equal((await sandbox.exec('pwd')).stdout, '/workspace\n');
    await sandbox.exec('mkdir -p pkg/src');
    assert.equal((await sandbox.exec('pwd', { cwd: 'pkg/src' })).stdout, '/workspace/pkg/src\n');
    assert.equal((await sandbox.exec('pwd', { cwd: 'pkg/src/..' })).stdout, '/workspace/pkg\n');
  });

  it('refuses a cwd outside /workspace as a sandbox error', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('pwd', { cwd: '../etc' });
    assert.match(result.sandboxError ?? '', /workspace/);
    assert.equal(result.stdout, '');
  });

  it('passes env on top of PATH, HOME and LANG', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('echo "$GREETING|$HOME|$LANG|$PATH"', { env: { GREETING: 'hi there' } });
    assert.equal(result.stdout.split('|').slice(0, 3).join('|'), 'hi there|/tmp|C.UTF-8');
    assert.match(result.stdout, /\/usr\/bin/);
    const overridden = await sandbox.exec('echo "$HOME"', { env: { HOME: '/workspace' } });
    assert.equal(overridden.stdout, '/workspace\n');
  });
});
