// Escape suite: the host is read-only and mostly invisible. System paths cannot be written, and
// host files (a secret in a temp dir, this repository) cannot be seen.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { describeEachDriver, probe } from './drivers';

describeEachDriver('escape: filesystem', (h) => {
  it('cannot write to /usr, /etc, /proc/sys or /', async () => {
    const sandbox = await h.sandbox();
    for (const target of ['/usr/bin/evil', '/etc/evil', '/etc/passwd', '/evil']) {
      const result = await probe(sandbox, `echo pwned > ${target} && echo WROTE`);
      assert.doesNotMatch(result.stdout, /WROTE/, `wrote ${target}`);
    }
    const sysctl = await probe(sandbox, 'echo "|/tmp/evil" > /proc/sys/kernel/core_pattern && echo WROTE');
    assert.doesNotMatch(sysctl.stdout, /WROTE/);
    assert.match(sysctl.stderr, /Read-only file system|Permission denied/);
    await assert.rejects(fs.stat('/usr/bin/evil'));
    await assert.rejects(fs.stat('/etc/evil'));
  });

  it('cannot see host files outside the workspace', async () => {
    const secretDir = await h.tempDir();
    const secret = join(secretDir, 'secret.txt');
    await fs.writeFile(secret, 'TOP-SECRET-VALUE\n', { mode: 0o644 });
    const sandbox = await h.sandbox();
    const result = await probe(sandbox, `cat ${secret}; ls /work/main/package.json; ls ${secretDir}; grep -rs TOP-SECRET-VALUE /tmp /etc /usr/local 2>/dev/null; echo END`);
    assert.doesNotMatch(result.stdout, /TOP-SECRET-VALUE|package\.json/);
    assert.match(result.stdout, /END/);
    assert.match(result.stderr, /No such file or directory/);
  });

  it('stops filling /tmp at its size cap', async () => {
    const sandbox = await h.sandbox({ limits: { diskBytes: 16 * 1024 ** 2 } });
    const result = await probe(sandbox, 'head -c 100000000 /dev/zero > /tmp/fill; echo "rc=$?"; stat -c %s /tmp/fill');
    assert.match(result.stdout, /rc=[1-9]/);
    assert.match(result.stderr, /No space left on device/);
    const size = Number(result.stdout.trim().split('\n').pop());
    assert.ok(size <= 16 * 1024 ** 2, `wrote ${size} bytes to /tmp`);
  });
});
