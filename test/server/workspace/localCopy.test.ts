// A local repository's new commit reaches the mirror as a pack of only the new objects
// (localCopy.ts), or by `git fetch` when that cannot work: either way the task sees the commit.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll, git, makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, type Fixture } from './fixture';

for (const mode of MODES) {
  describe(`workspace (${mode}): a local repository's new commits`, () => {
    let fx: Fixture;
    let repo: string;
    beforeEach(() => {
      fx = makeFixture('copy');
      repo = join(fx.root, 'repo');
      makeRepo(repo, { 'a.txt': 'a\n', 'dir/b.txt': 'b\n' });
    });
    afterEach(() => fx.cleanup());

    const packsOf = () => {
      const repos = join(fx.dataDir, 'repos');
      const mirror = join(repos, readdirSync(repos).find((n) => n.endsWith('.git'))!);
      return readdirSync(join(mirror, 'objects', 'pack')).filter((n) => n.endsWith('.pack')).length;
    };

    it('copies only the new objects of a follow-on commit', async () => {
      await fx.prepare({ key: 'one', repo: { kind: 'local', path: repo }, mode });
      const before = packsOf();
      writeFileSync(join(repo, 'a.txt'), 'a2\n');
      const second = commitAll(repo, 'second');
      const ws = await fx.prepare({ key: 'two', repo: { kind: 'local', path: repo }, mode });
      assert.equal(ws.repo.commit, second);
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'a2\n');
      assert.equal(packsOf(), before + 1, 'one small pack more');
      assert.deepEqual(await ws.changedFiles(), []);
    });

    it('copies a new commit once when tasks on it start together, and each sees it whole', async () => {
      await fx.prepare({ key: 'one', repo: { kind: 'local', path: repo }, mode });
      const before = packsOf();
      writeFileSync(join(repo, 'a.txt'), 'a2\n');
      writeFileSync(join(repo, 'dir', 'c.txt'), 'c\n');
      const second = commitAll(repo, 'second');
      const said: string[] = [];
      const all = await Promise.all(['two', 'three', 'four'].map((key) => fx.prepare({ key, repo: { kind: 'local', path: repo }, mode, onLog: (line) => said.push(line) })));
      // The first task copies; the others wait on the repository's lock until the copy is in.
      assert.deepEqual(said.filter((l) => l.startsWith('Fetching')), [`Fetching ${second.slice(0, 12)} from ${realpathSync(repo)}`], 'one copy of the commit, not one per task');
      assert.equal(packsOf(), before + 1);
      for (const ws of all) {
        assert.equal(ws.repo.commit, second);
        assert.equal(readFileSync(join(ws.dir, 'dir', 'c.txt'), 'utf8'), 'c\n');
        // The task's own git dir has the commit's objects (linked from the mirror after the copy).
        assert.deepEqual(await ws.changedFiles(), []);
        assert.equal(git(ws.dir, `--git-dir=${ws.gitDir}`, 'cat-file', '-p', `${second}:a.txt`), 'a2');
      }
    });

    it('takes a commit the mirror already holds unpinned (an ancestor of one copied)', async () => {
      const first = git(repo, 'rev-parse', 'HEAD');
      writeFileSync(join(repo, 'a.txt'), 'a2\n');
      commitAll(repo, 'second');
      await fx.prepare({ key: 'one', repo: { kind: 'local', path: repo }, mode });
      git(repo, 'checkout', '-q', first);
      const ws = await fx.prepare({ key: 'two', repo: { kind: 'local', path: repo }, mode });
      assert.equal(ws.repo.commit, first);
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'a\n');
      assert.deepEqual(await ws.changedFiles(), []);
    });

    it('fetches when the repository no longer has the commit copied last (history rewritten)', async () => {
      await fx.prepare({ key: 'one', repo: { kind: 'local', path: repo }, mode });
      git(repo, 'checkout', '-q', '--orphan', 'fresh');
      writeFileSync(join(repo, 'a.txt'), 'rewritten\n');
      const fresh = commitAll(repo, 'fresh start');
      git(repo, 'branch', '-D', 'main');
      git(repo, 'reflog', 'expire', '--expire=now', '--all');
      git(repo, 'gc', '-q', '--prune=now');
      const ws = await fx.prepare({ key: 'two', repo: { kind: 'local', path: repo }, mode });
      assert.equal(ws.repo.commit, fresh);
      assert.equal(readFileSync(join(ws.dir, 'a.txt'), 'utf8'), 'rewritten\n');
      assert.deepEqual(await ws.changedFiles(), []);
    });
  });
}
