// Contract: /workspace is the host directory (writes land there, owned by the sandbox uid) and the
// git dir is mounted read-only at /workspace/.git.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_UID } from '../../../server/src/sandbox/types';
import { describeEachDriver, run } from './drivers';

describeEachDriver('sandbox workspace mounts', (h) => {
  it('writes to /workspace land in the host directory, owned by the sandbox uid', async () => {
    const ws = await h.workspace();
    await fs.writeFile(join(ws, 'from-host.txt'), 'host side\n');
    const sandbox = await h.sandbox({ workspaceDir: ws });
    const result = await sandbox.exec('cat from-host.txt && mkdir -p out && echo made > out/new.txt && id -u');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `host side\n${SANDBOX_UID}\n`);
    assert.equal(await fs.readFile(join(ws, 'out', 'new.txt'), 'utf8'), 'made\n');
    const st = await fs.stat(join(ws, 'out', 'new.txt'));
    assert.equal(st.uid, SANDBOX_UID);
    assert.equal(st.gid, SANDBOX_UID);
  });

  it('mounts the git dir read-only so git works but cannot change it', async () => {
    const ws = await h.workspace();
    const repo = await h.tempDir();
    await run('git', ['init', '-q', '-b', 'main', repo]);
    await fs.writeFile(join(repo, 'a.txt'), 'one\n');
    await run('git', ['-C', repo, 'add', 'a.txt']);
    await run('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'first']);
    await fs.writeFile(join(ws, 'a.txt'), 'two\n');
    const gitDir = join(repo, '.git');
    const headBefore = await fs.readFile(join(gitDir, 'HEAD'), 'utf8');
    const sandbox = await h.sandbox({ workspaceDir: ws, gitDir });

    const status = await sandbox.exec(['git', 'status', '--porcelain']);
    assert.equal(status.exitCode, 0, status.stderr);
    assert.equal(status.stdout, ' M a.txt\n');
    const write = await sandbox.exec('echo evil > .git/HEAD; echo x > .git/new-file');
    assert.notEqual(write.exitCode, 0);
    assert.match(write.stderr, /Read-only file system/);
    assert.equal(await fs.readFile(join(gitDir, 'HEAD'), 'utf8'), headBefore);
    await assert.rejects(fs.stat(join(gitDir, 'new-file')));
  });

  it('has a scratch /tmp and /dev/shm where programs can be written and run, and nothing else outside /workspace to write to', async () => {
    const sandbox = await h.sandbox();
    const scratch = await sandbox.exec('printf "#!/bin/sh\\necho ran\\n" > /tmp/s && chmod +x /tmp/s && /tmp/s && echo shared > /dev/shm/m && cat /dev/shm/m');
    assert.equal(scratch.stdout, 'ran\nshared\n', scratch.stderr);
    const writable = await sandbox.exec('find / -path /proc -prune -o -path /sys -prune -o -path /workspace -prune -o -type d -writable -print 2>/dev/null | sort');
    // /dev/pts says writable but takes no files; /dev/mqueue exists on docker (POSIX queues).
    assert.deepEqual(writable.stdout.split('\n').filter((d) => d && d !== '/dev/pts' && d !== '/dev/mqueue'), ['/dev/shm', '/tmp']);
  });
});
