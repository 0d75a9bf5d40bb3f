// A local repository with uncommitted and untracked changes: the task's view has them, they are
// part of the base (so no diff), and the user's repository is left untouched.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeRepo, commitAll } from '../../support/gitRepo';
import { makeFixture, MODES, SANDBOX_UID, type Fixture } from './fixture';

for (const mode of MODES) {
  describe(`workspace (${mode}): the user's uncommitted changes`, () => {
    let fx: Fixture;
    let repo: string;
    let head: string;

    beforeEach(() => {
      fx = makeFixture('uncommitted');
      repo = join(fx.root, 'repo');
      head = makeRepo(
        repo,
        { 'a.txt': 'one\ntwo\n', 'gone.txt': 'bye\n', 'src/keep.ts': 'export {};\n', '.gitignore': 'secret.env\nbuild/\n' },
        { remoteUrl: 'https://someone:tok123@example.invalid/org/project.git' },
      );
      writeFileSync(join(repo, 'a.txt'), 'one\ntwo\nthree\n');
      unlinkSync(join(repo, 'gone.txt'));
      writeFileSync(join(repo, 'new.txt'), 'untracked\n');
      writeFileSync(join(repo, 'secret.env'), 'TOKEN=x\n');
      git(repo, 'checkout', '-q', '-b', 'feature/x');
    });
    afterEach(() => fx.cleanup());

    it('shows them in the view, bakes them into the base and reports no changes', async () => {
      const statusBefore = git(repo, 'status', '--porcelain');
      const objectsBefore = git(repo, 'count-objects', '-v');
      const ws = await fx.prepare({ key: 'task-1', repo: { kind: 'local', path: repo }, mode });

      assert.equal(ws.mode, mode);
      assert.equal(ws.repo.commit, head);
      assert.equal(ws.repo.branch, 'feature/x');
      assert.equal(ws.repo.remoteUrl, 'https://example.invalid/org/project.git', 'credentials stripped');
      assert.equal(ws.repo.name, 'repo');
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'one\ntwo\nthree\n');
      assert.equal(readFileSync(join(ws.dir, 'new.txt'), 'utf8'), 'untracked\n');
      assert.equal(existsSync(join(ws.dir, 'gone.txt')), false);
      assert.equal(existsSync(join(ws.dir, 'secret.env')), false, 'ignored files stay home');
      assert.equal(existsSync(join(ws.dir, '.git')), false, 'the view has no git dir of its own');
      assert.notEqual(ws.baseRef, head);
      assert.equal(statSync(join(ws.dir, 'new.txt')).uid, SANDBOX_UID);
      assert.equal(statSync(join(ws.dir, 'src/keep.ts')).uid, SANDBOX_UID);

      assert.deepEqual(await ws.changedFiles(), []);
      assert.equal(await ws.diff(), '');
      assert.equal((await ws.readVersion('base', 'a.txt'))?.toString(), 'one\ntwo\nthree\n');
      assert.equal(await ws.readVersion('base', 'gone.txt'), null);

      // The base commit sits on the user's commit, in the trusted git dir.
      assert.equal(git(fx.root, `--git-dir=${ws.gitDir}`, 'rev-parse', `${ws.baseRef}^`), head);
      assert.equal(git(fx.root, `--git-dir=${ws.gitDir}`, 'rev-parse', 'HEAD'), ws.baseRef);
      assert.equal(git(fx.root, `--git-dir=${ws.gitDir}`, 'symbolic-ref', 'HEAD'), 'refs/heads/feature/x');

      assert.equal(git(repo, 'status', '--porcelain'), statusBefore, "the user's repository is untouched");
      assert.equal(git(repo, 'count-objects', '-v'), objectsBefore, 'no objects written into it');
    });

    it('takes staged edits, staged deletions and odd file names as they are', async () => {
      writeFileSync(join(repo, 'src/keep.ts'), 'export const staged = 1;\n');
      git(repo, 'add', 'src/keep.ts');
      writeFileSync(join(repo, 'src/keep.ts'), 'export const staged = 2;\n'); // and edited again after
      writeFileSync(join(repo, 'staged-new.txt'), 'staged\n');
      git(repo, 'add', 'staged-new.txt');
      git(repo, 'rm', '-q', '--cached', 'a.txt'); // untracked now, still on disk
      writeFileSync(join(repo, '*star [x].txt'), 'glob characters\n');
      writeFileSync(join(repo, 'star.txt'), 'not matched by the name above\n');
      const index = readFileSync(join(repo, '.git', 'index'));
      const ws = await fx.prepare({ key: 'task-staged', repo: { kind: 'local', path: repo }, mode });
      assert.equal(readFileSync(join(ws.dir, 'src/keep.ts'), 'utf8'), 'export const staged = 2;\n', 'the work tree wins over the index');
      assert.equal(readFileSync(join(ws.dir, 'staged-new.txt'), 'utf8'), 'staged\n');
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'one\ntwo\nthree\n');
      assert.equal(readFileSync(join(ws.dir, '*star [x].txt'), 'utf8'), 'glob characters\n');
      assert.equal(readFileSync(join(ws.dir, 'star.txt'), 'utf8'), 'not matched by the name above\n');
      assert.equal(existsSync(join(ws.dir, 'gone.txt')), false);
      assert.deepEqual(await ws.changedFiles(), []);
      assert.ok(readFileSync(join(repo, '.git', 'index')).equals(index), "the user's index is not rewritten");
    });

    it('takes a staged deletion alone', async () => {
      git(repo, 'stash', '-u', '-q');
      git(repo, 'rm', '-q', 'gone.txt');
      const ws = await fx.prepare({ key: 'task-rm', repo: { kind: 'local', path: repo }, mode });
      assert.equal(existsSync(join(ws.dir, 'gone.txt')), false);
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'one\ntwo\n');
      assert.notEqual(ws.baseRef, head);
    });

    it('leaves them out when includeUncommitted is false', async () => {
      const ws = await fx.prepare({ key: 'task-2', repo: { kind: 'local', path: repo, includeUncommitted: false }, mode });
      assert.equal(ws.baseRef, head);
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'one\ntwo\n');
      assert.equal(existsSync(join(ws.dir, 'gone.txt')), true);
      assert.equal(existsSync(join(ws.dir, 'new.txt')), false);
      assert.deepEqual(await ws.changedFiles(), []);
    });

    it('starts from a commit that is on no branch', async () => {
      git(repo, 'stash', '-u', '-q');
      writeFileSync(join(repo, 'later.txt'), 'later\n');
      const later = commitAll(repo, 'later');
      git(repo, 'reset', '-q', '--hard', head); // `later` is now reachable from no ref
      const ws = await fx.prepare({ key: 'task-3', repo: { kind: 'local', path: repo, commit: later, includeUncommitted: false }, mode });
      assert.equal(ws.repo.commit, later);
      assert.equal(readFileSync(join(ws.dir, 'later.txt'), 'utf8'), 'later\n');
    });

    it('refuses a path that is not a repository', async () => {
      await assert.rejects(fx.prepare({ key: 'task-4', repo: { kind: 'local', path: join(fx.root, 'nowhere') }, mode }), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'repo_error');
        return true;
      });
    });
  });
}
