// The overlay's upper layer lives on a tmpfs sized to the disk cap: a runaway write stops there
// and the workspace keeps working. (Checkout mode has no cap: it is the fallback without mounts.)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkspacePathError } from '../../../server/src/workspace';
import { makeRepo } from '../../support/gitRepo';
import { makeFixture, type Fixture } from './fixture';

describe('workspace (overlay): disk cap', () => {
  let fx: Fixture;

  beforeEach(() => {
    fx = makeFixture('diskcap');
    makeRepo(join(fx.root, 'repo'), { 'a.txt': 'a\n' });
  });
  afterEach(() => fx.cleanup());

  it('stops a big write at the cap and keeps the workspace usable', async () => {
    const cap = 8 * 1024 * 1024;
    const ws = await fx.prepare({ key: 'cap', repo: { kind: 'local', path: join(fx.root, 'repo') }, mode: 'overlay', diskBytes: cap });
    await assert.rejects(ws.files.writeFile('big.bin', Buffer.alloc(2 * cap, 1)), (err: unknown) => {
      assert.ok(err instanceof WorkspacePathError);
      assert.match(err.message, /disk cap/);
      return true;
    });
    // A shell in the sandbox hits the same wall.
    assert.throws(() => execFileSync('dd', ['if=/dev/zero', `of=${join(ws.dir, 'dd.bin')}`, 'bs=1M', 'count=32'], { stdio: 'pipe' }), /No space left/);
    assert.throws(() => writeFileSync(join(ws.dir, 'more.bin'), Buffer.alloc(cap)), /ENOSPC/);
    execFileSync('rm', ['-f', join(ws.dir, 'big.bin'), join(ws.dir, 'dd.bin'), join(ws.dir, 'more.bin')]);
    await ws.files.writeFile('small.txt', 'fits\n');
    assert.deepEqual((await ws.changedFiles()).map((f) => f.path), ['small.txt']);
  });
});
