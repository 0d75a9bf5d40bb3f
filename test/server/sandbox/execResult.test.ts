// Contract: exit codes, argv vs shell string, stdout/stderr kept apart, stdin.
import assert from 'node:assert/strict';
import { describeEachDriver } from './drivers';

describeEachDriver('sandbox exec result', (h) => {
  it('reports exit codes as values', async () => {
    const sandbox = await h.sandbox();
    const ok = await sandbox.exec('true');
    assert.equal(ok.exitCode, 0);
    assert.equal(ok.sandboxError, undefined);
    const failed = await sandbox.exec('exit 42');
    assert.equal(failed.exitCode, 42);
    assert.equal(failed.timedOut, false);
    assert.equal(failed.aborted, false);
    const missing = await sandbox.exec('no-such-command-here');
    assert.equal(missing.exitCode, 127);
  });

  it('runs argv without a shell and strings through /bin/sh -c', async () => {
    const sandbox = await h.sandbox();
    const argv = await sandbox.exec(['printf', '%s|', 'a b', '$HOME', ';']);
    assert.equal(argv.stdout, 'a b|$HOME|;|');
    const shell = await sandbox.exec('printf "%s" "$HOME"; echo " $((6 * 7))"');
    assert.equal(shell.stdout, '/tmp 42\n');
  });

  it('keeps stdout and stderr apart', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('echo out1; echo err1 >&2; echo out2; echo err2 >&2');
    assert.equal(result.stdout, 'out1\nout2\n');
    assert.equal(result.stderr, 'err1\nerr2\n');
  });

  it('feeds stdin and closes it', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('tr a-z A-Z; echo "[eof]"', { stdin: 'hello\nsandbox\n' });
    assert.equal(result.stdout, 'HELLO\nSANDBOX\n[eof]\n');
    const none = await sandbox.exec('cat; echo "[eof]"');
    assert.equal(none.stdout, '[eof]\n', 'without stdin the command reads end-of-file at once');
  });
});
