// The user's repository is read from its .git directory where that is plain, and git is asked
// where it is not: every answer must be git's own, or null so that git is asked.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRepoFacts, originOf } from '../../../server/src/workspace/repoFiles';
import { git, makeRepo } from '../../support/gitRepo';

describe('workspace: reading the user repository without git', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'delegate-facts-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** What git itself says, in the form readRepoFacts answers. */
  function gitSays(dir: string) {
    const head = git(dir, 'rev-parse', 'HEAD^{commit}');
    const symbolic = git(dir, 'rev-parse', '--symbolic-full-name', 'HEAD');
    let originUrl: string | null = null;
    try {
      originUrl = git(dir, 'config', '--get', 'remote.origin.url');
    } catch {
      // none
    }
    return { head, symbolic: symbolic === 'HEAD' ? null : symbolic, originUrl };
  }

  it('agrees with git on a branch, a detached HEAD and packed refs', async () => {
    const repo = join(root, 'r');
    const first = makeRepo(repo, { 'a.txt': 'a\n' }, { branch: 'feature/x', remoteUrl: 'https://example.invalid/o/r.git' });
    let facts = await readRepoFacts(repo);
    assert.deepEqual(facts && { head: facts.head, symbolic: facts.symbolic, originUrl: facts.originUrl }, gitSays(repo));
    assert.equal(facts?.head, first);
    assert.equal(facts?.indexPath, join(repo, '.git', 'index'));

    git(repo, 'pack-refs', '--all');
    facts = await readRepoFacts(repo);
    assert.equal(facts?.head, first, 'a packed branch');

    writeFileSync(join(repo, 'b.txt'), 'b\n');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'second');
    git(repo, 'checkout', '-q', '--detach', first);
    facts = await readRepoFacts(repo);
    assert.deepEqual(facts && { head: facts.head, symbolic: facts.symbolic, originUrl: facts.originUrl }, gitSays(repo));
    assert.equal(facts?.symbolic, null);
  });

  it('passes over what only git should answer', async () => {
    const repo = join(root, 'r');
    makeRepo(repo, { 'a.txt': 'a\n' });
    assert.equal(await readRepoFacts(join(repo, 'sub-dir-that-is-not-top')), null, 'not the top');
    git(repo, 'worktree', 'add', '-q', join(root, 'wt'));
    assert.equal(await readRepoFacts(join(root, 'wt')), null, 'a worktree (.git is a file)');
    git(repo, 'checkout', '-q', '--orphan', 'unborn');
    assert.equal(await readRepoFacts(repo), null, 'an unborn branch');
  });

  it('reads remote.origin.url as git config --get does, or declines', () => {
    assert.equal(originOf('[core]\n\tbare = false\n[remote "origin"]\n\turl = git@host:o/r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n'), 'git@host:o/r.git');
    assert.equal(originOf('[remote "upstream"]\n\turl = https://x.invalid/r\n'), null);
    assert.equal(originOf('[remote "origin"]\n\turl = https://a.invalid/1\n\turl = https://a.invalid/2\n'), 'https://a.invalid/2');
    assert.equal(originOf('[include]\n\tpath = other.config\n'), undefined);
    assert.equal(originOf('[remote "origin"]\n\turl = "https://quoted.invalid/r"\n'), undefined);
    assert.equal(originOf('[remote "origin"]\n\turl = https://a.invalid/r ; comment\n'), undefined);
  });
});
