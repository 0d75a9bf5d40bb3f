// What review decisions mean for a diff (protocol/diff.ts acceptedHunks), and the patch the pull
// request commits from them, checked against git apply on a real repository.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptedHunks, parseUnifiedDiff } from '../../../protocol';
import { acceptedPatch } from '../../../server/src/github/pullRequestService';

const A = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
const CHANGED = A.replace('line 3\n', 'line 3 X\n').replace('line 35\n', 'line 35 Y\n');

function repoDiff(): { dir: string; diff: string } {
  const dir = mkdtempSync(join(tmpdir(), 'delegate-accept-'));
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' });
  git('init', '-q');
  writeFileSync(join(dir, 'a.txt'), A);
  writeFileSync(join(dir, 'b.txt'), 'b\n');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'base');
  writeFileSync(join(dir, 'a.txt'), CHANGED);
  writeFileSync(join(dir, 'b.txt'), 'b changed\n');
  writeFileSync(join(dir, 'c.txt'), 'new\n');
  git('add', '-N', 'c.txt');
  return { dir, diff: git('diff') };
}

describe('accepted hunks', () => {
  it('takes everything without decisions, and exactly the named hunks and files with them', () => {
    const { dir, diff } = repoDiff();
    try {
      const files = parseUnifiedDiff(diff);
      const all = acceptedHunks(files, undefined);
      assert.ok(all.ok);
      assert.deepEqual([...all.hunks.values()], ['all', 'all', 'all']);

      const some = acceptedHunks(files, { files: [{ path: 'a.txt', hunks: [1, 1] }, { path: 'c.txt' }] });
      assert.ok(some.ok);
      assert.deepEqual([...some.hunks].map(([f, h]) => [f.path, h]), [['a.txt', [1]], ['c.txt', 'all']]);

      // The patch the pull request commits: only line 35 of a.txt, all of c.txt, nothing of b.txt.
      const patch = acceptedPatch(diff, { files: [{ path: 'a.txt', hunks: [1] }, { path: 'c.txt' }] });
      execFileSync('git', ['-C', dir, 'checkout', '-q', '--', 'a.txt', 'b.txt']);
      execFileSync('git', ['-C', dir, 'rm', '-q', '--cached', 'c.txt']);
      rmSync(join(dir, 'c.txt'));
      execFileSync('git', ['-C', dir, 'apply', '-'], { input: patch });
      assert.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), A.replace('line 35\n', 'line 35 Y\n'));
      assert.equal(readFileSync(join(dir, 'b.txt'), 'utf8'), 'b\n');
      assert.equal(readFileSync(join(dir, 'c.txt'), 'utf8'), 'new\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses decisions about files or hunks the diff does not have', () => {
    const { dir, diff } = repoDiff();
    rmSync(dir, { recursive: true, force: true });
    const files = parseUnifiedDiff(diff);
    assert.deepEqual(acceptedHunks(files, { files: [{ path: 'nope.txt' }] }), { ok: false, message: "nope.txt is not among the task's changed files" });
    assert.deepEqual(acceptedHunks(files, { files: [{ path: 'a.txt', hunks: [2] }] }), { ok: false, message: 'a.txt has no hunk 2' });
    assert.throws(() => acceptedPatch(diff, { files: [{ path: 'a.txt', hunks: [2] }] }), /accept: a.txt has no hunk 2/);
  });
});
