// Contract: when the sandbox itself cannot run a command (here: its working directory does not
// exist), the result says so in sandboxError instead of passing it off as the command's failure.
import assert from 'node:assert/strict';
import { describeEachDriver } from './drivers';

describeEachDriver('sandbox failures as values', (h) => {
  it('reports a failed sandbox setup as sandboxError', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('echo should-not-run', { cwd: 'no/such/dir' });
    assert.ok(result.sandboxError, `no sandboxError: exit ${result.exitCode} ${result.stderr}`);
    assert.match(result.sandboxError, /no\/such\/dir|chdir|No such file/i);
    assert.equal(result.stdout, '');
  });

  it('does not blame the sandbox for a failing command', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('echo "bwrap: looks like an error" >&2; exit 1');
    assert.equal(result.sandboxError, undefined);
    assert.equal(result.exitCode, 1);
  });
});
