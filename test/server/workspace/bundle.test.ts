// A repository that reaches the server as an uploaded git bundle plus the uncommitted changes as a
// binary patch (what the extension sends when the server is not on the same machine).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { commitAll, git, makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, type Fixture } from './fixture';

function bundle(repo: string, ...revs: string[]): Buffer {
  const file = join(repo, '..', `b-${Date.now()}-${Math.random()}.bundle`);
  git(repo, 'bundle', 'create', '-q', file, ...revs);
  const data = readFileSync(file);
  unlinkSync(file);
  return data;
}

for (const mode of MODES) {
  describe(`workspace (${mode}): bundles`, () => {
    let fx: Fixture;
    let repo: string;
    let head: string;

    beforeEach(() => {
      fx = makeFixture('bundle');
      repo = join(fx.root, 'repo');
      head = makeRepo(repo, { 'a.txt': 'a\n', 'logo.bin': Buffer.from([1, 0, 2, 0, 3]) });
    });
    afterEach(() => fx.cleanup());

    it('round-trips commits and the uncommitted patch', async () => {
      const id = await fx.manager.importBundle(bundle(repo, '--all'));
      assert.match(id, /^[A-Za-z0-9_-]{1,64}$/);
      writeFileSync(join(repo, 'a.txt'), 'a\nlocal edit\n');
      writeFileSync(join(repo, 'logo.bin'), Buffer.from([9, 0, 9, 0, 9, 0]));
      writeFileSync(join(repo, 'untracked.txt'), 'new\n');
      git(repo, 'add', '-N', 'untracked.txt');
      const patch = git(repo, 'diff', '--binary', 'HEAD') + '\n';
      const ws = await fx.prepare({
        key: 'bundled',
        repo: { kind: 'bundle', bundleId: id, commit: head, patch, branch: 'main', name: 'project', remoteUrl: 'https://example.invalid/o/project.git' },
        mode,
      });
      assert.equal(ws.repo.commit, head);
      assert.equal(ws.repo.name, 'project');
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'a\nlocal edit\n');
      assert.deepEqual(readFileSync(join(ws.dir, 'logo.bin')), Buffer.from([9, 0, 9, 0, 9, 0]));
      assert.equal(readFileSync(join(ws.dir, 'untracked.txt'), 'utf8'), 'new\n');
      assert.deepEqual(await ws.changedFiles(), []);
      assert.equal(await ws.diff(), '');

      // A later, incremental bundle on top of what the server has.
      git(repo, 'reset', '-q', '--hard');
      writeFileSync(join(repo, 'b.txt'), 'b\n');
      const next = commitAll(repo, 'second');
      const id2 = await fx.manager.importBundle(bundle(repo, `${head}..main`));
      const ws2 = await fx.prepare({
        key: 'bundled-2',
        repo: { kind: 'bundle', bundleId: id2, commit: next, remoteUrl: 'https://example.invalid/o/project.git' },
        mode,
      });
      assert.equal(readFileSync(join(ws2.dir, 'b.txt'), 'utf8'), 'b\n');
    });

    it('refuses what is not a bundle, and bundles missing their prerequisites', async () => {
      await assert.rejects(fx.manager.importBundle(Buffer.from('not a bundle')), /not a git bundle/);
      writeFileSync(join(repo, 'b.txt'), 'b\n');
      const next = commitAll(repo, 'second');
      const thin = await fx.manager.importBundle(bundle(repo, `${head}..main`));
      await assert.rejects(
        fx.prepare({ key: 'thin', repo: { kind: 'bundle', bundleId: thin, commit: next, name: 'elsewhere' }, mode }),
        (err: Error & { code?: string }) => err.code === 'repo_error' && /commits the server does not have/.test(err.message),
      );
      await assert.rejects(
        fx.prepare({ key: 'unknown', repo: { kind: 'bundle', bundleId: 'nope', commit: next }, mode }),
        /unknown or not a valid git bundle/,
      );
      assert.equal(existsSync(join(fx.dataDir, 'tasks', 'thin')), false, 'a failed prepare leaves nothing behind');
      const full = await fx.manager.importBundle(bundle(repo, 'main'));
      await assert.rejects(
        fx.prepare({ key: 'badpatch', repo: { kind: 'bundle', bundleId: full, commit: next, patch: 'diff --git a/zz b/zz\n--- a/zz\n+++ b/zz\n@@ -1 +1 @@\n-x\n+y\n' }, mode }),
        /do not apply/,
      );
      assert.equal(existsSync(join(fx.dataDir, 'tasks', 'badpatch')), false);
      assert.equal(execFileSync('sh', ['-c', `grep -c ' ${fx.dataDir}' /proc/self/mountinfo || true`], { encoding: 'utf8' }).trim(), '0');
    });
  });
}
