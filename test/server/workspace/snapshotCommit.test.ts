// Snapshots are commits the server writes itself (a loose object, no git process): git must read
// them as its own, and a snapshot of nothing new must not make a new commit.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, type Fixture } from './fixture';

for (const mode of MODES) {
  describe(`workspace (${mode}): snapshot commits`, () => {
    let fx: Fixture;
    let repo: string;
    let head: string;

    beforeEach(() => {
      fx = makeFixture('snapcommit');
      repo = join(fx.root, 'repo');
      head = makeRepo(repo, { 'a.txt': 'one\n', 'src/b.ts': 'b\n' });
    });
    afterEach(() => fx.cleanup());

    it('writes commits git reads and checks as its own', async () => {
      const ws = await fx.prepare({ key: 'snap-1', repo: { kind: 'local', path: repo }, mode });
      const gitArgs = [`--git-dir=${ws.gitDir}`];
      const untouched = await ws.record('nothing yet');
      // Nothing written yet: an overlay view knows it shows the base without asking git (no
      // snapshot at all); a checkout asks git, and its snapshot is the base commit.
      assert.equal(untouched.snapshot, mode === 'overlay' ? null : head, 'no change');
      assert.deepEqual(untouched.changedFiles, []);

      writeFileSync(join(ws.dir, 'a.txt'), 'one\ntwo\n');
      const first = await ws.record('first change');
      assert.ok(first.snapshot && first.snapshot !== head);
      const text = git(repo, ...gitArgs, 'cat-file', '-p', first.snapshot);
      assert.match(text, new RegExp(`^tree [0-9a-f]{40}\\nparent ${head}\\nauthor Delegate <delegate@localhost> \\d+ [+-]\\d{4}\\ncommitter Delegate <delegate@localhost> \\d+ [+-]\\d{4}\\n\\nfirst change$`));
      assert.equal(git(repo, ...gitArgs, 'show', `${first.snapshot}:a.txt`), 'one\ntwo');
      assert.equal(git(repo, ...gitArgs, 'rev-parse', `refs/delegate/snap-1`), first.snapshot);

      const again = await ws.record('nothing new');
      assert.equal(again.snapshot, first.snapshot, 'the same tree makes no new commit');

      writeFileSync(join(ws.dir, 'src/b.ts'), 'b\nc\n');
      const second = await ws.record('second change');
      assert.equal(git(repo, ...gitArgs, 'rev-parse', `${second.snapshot}^`), first.snapshot);
      // fsck reads every object, including the ones written here, and checks their format.
      git(repo, ...gitArgs, 'fsck', '--strict', '--no-dangling', '--no-progress');
    });

    it('a restarted server continues from the last snapshot it wrote', async () => {
      const ws = await fx.prepare({ key: 'snap-2', repo: { kind: 'local', path: repo }, mode });
      writeFileSync(join(ws.dir, 'a.txt'), 'changed\n');
      const { snapshot } = await ws.record('before restart');
      const reopened = await fx.restart().open('snap-2');
      assert.ok(reopened);
      // Nothing changed since: the same commit, found from the loose object written before.
      assert.equal((await reopened.record('after restart')).snapshot, snapshot);
    });
  });
}
