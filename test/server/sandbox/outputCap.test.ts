// Contract: output beyond maxOutputBytes is cut from the middle, keeping head and tail.
import assert from 'node:assert/strict';
import { describeEachDriver } from './drivers';

describeEachDriver('sandbox output cap', (h) => {
  it('keeps the head and the tail of long output with a marker', async () => {
    const sandbox = await h.sandbox();
    let streamed = 0;
    const result = await sandbox.exec('echo FIRST; head -c 300000 /dev/zero | tr "\\0" x; echo; echo LAST; echo E1 >&2', {
      maxOutputBytes: 2000,
      onStdout: (chunk) => (streamed += chunk.length),
    });
    assert.equal(result.exitCode, 0);
    assert.equal(result.truncated, true);
    assert.ok(result.stdout.startsWith('FIRST\nxxx'));
    assert.ok(result.stdout.endsWith('xxx\nLAST\n'));
    assert.match(result.stdout, /\[\.\.\. \d+ bytes omitted \.\.\.\]/);
    assert.ok(result.stdout.length < 2100, `kept ${result.stdout.length} chars`);
    assert.equal(streamed, 300000 + 'FIRST\n\nLAST\n'.length, 'callbacks still see everything');
    assert.equal(result.stderr, 'E1\n', 'stderr has its own cap');
  });

  it('does not mark short output as truncated', async () => {
    const sandbox = await h.sandbox();
    const result = await sandbox.exec('echo short', { maxOutputBytes: 2000 });
    assert.equal(result.truncated, false);
    assert.equal(result.stdout, 'short\n');
  });
});
