// The overlay view refreshes its index from the overlay's upper layer only (not a scan of the
// whole tree). These are the changes that layer shows in unusual ways: a directory deleted and
// made again (opaque, no whiteouts for what it hid), a recorded file deleted again (gone from the
// upper layer), an ignored file created and deleted, and the file listing read from the index.
// Both modes must give the same answers.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, type Fixture } from './fixture';

for (const mode of MODES) {
  describe(`workspace (${mode}): changes the partial refresh must not miss`, () => {
    let fx: Fixture;
    let repo: string;

    beforeEach(() => {
      fx = makeFixture('partial');
      repo = join(fx.root, 'repo');
      makeRepo(repo, {
        '.gitignore': '*.log\nbuild/\n',
        'lib/a.js': 'a\n',
        'lib/b.js': 'b\n',
        'lib/deep/c.js': 'c\n',
        'top.txt': 'top\n',
      });
    });
    afterEach(() => fx.cleanup());

    it('reports the files of a directory that was deleted and made again', async () => {
      const ws = await fx.prepare({ key: 'opaque-1', repo: { kind: 'local', path: repo }, mode });
      rmSync(join(ws.dir, 'lib'), { recursive: true }); // as `rm -rf lib && mkdir lib` in the sandbox
      mkdirSync(join(ws.dir, 'lib'));
      writeFileSync(join(ws.dir, 'lib/a.js'), 'a\n');
      writeFileSync(join(ws.dir, 'lib/new.js'), 'new\n');
      const changed = (await ws.changedFiles()).map((f) => `${f.status} ${f.path}`).sort();
      assert.deepEqual(changed, ['added lib/new.js', 'deleted lib/b.js', 'deleted lib/deep/c.js']);
      const listed = (await ws.files.list()).entries;
      assert.deepEqual(listed, ['.gitignore', 'lib/a.js', 'lib/new.js', 'top.txt']);
    });

    it('forgets a file that was recorded and then deleted, and lists what is there', async () => {
      const ws = await fx.prepare({ key: 'gone-1', repo: { kind: 'local', path: repo }, mode });
      writeFileSync(join(ws.dir, 'temp.txt'), 'temporary\n');
      await ws.files.writeFile('lib/deep/d.js', 'd\n');
      assert.deepEqual((await ws.changedFiles()).map((f) => f.path).sort(), ['lib/deep/d.js', 'temp.txt']);
      assert.ok((await ws.files.list()).entries.includes('temp.txt'));
      rmSync(join(ws.dir, 'temp.txt'));
      rmSync(join(ws.dir, 'top.txt'));
      const changed = (await ws.changedFiles()).map((f) => `${f.status} ${f.path}`).sort();
      assert.deepEqual(changed, ['added lib/deep/d.js', 'deleted top.txt']);
      assert.deepEqual((await ws.files.list()).entries, ['.gitignore', 'lib/a.js', 'lib/b.js', 'lib/deep/c.js', 'lib/deep/d.js']);
      assert.deepEqual((await ws.files.list({ dir: 'lib', recursive: false })).entries, ['lib/a.js', 'lib/b.js', 'lib/deep/']);
    });

    it('lists each task its own files when tasks on one base share a listing', async () => {
      const first = await fx.prepare({ key: 'shared-1', repo: { kind: 'local', path: repo }, mode });
      const second = await fx.prepare({ key: 'shared-2', repo: { kind: 'local', path: repo }, mode });
      const base = ['.gitignore', 'lib/a.js', 'lib/b.js', 'lib/deep/c.js', 'top.txt'];
      assert.deepEqual((await first.files.list()).entries, base);
      assert.deepEqual((await second.files.list()).entries, base);
      writeFileSync(join(second.dir, 'lib/new.js'), 'new\n');
      rmSync(join(second.dir, 'top.txt'));
      assert.deepEqual((await second.files.list()).entries, ['.gitignore', 'lib/a.js', 'lib/b.js', 'lib/deep/c.js', 'lib/new.js']);
      assert.deepEqual((await first.files.list()).entries, base, 'the other task still sees the base');
      // Back to the base content: the same listing as the base again.
      rmSync(join(second.dir, 'lib/new.js'));
      writeFileSync(join(second.dir, 'top.txt'), 'top\n');
      assert.deepEqual((await second.files.list()).entries, base);
    });

    it('sees a change that keeps the size, and a change of mode alone, after a record that saw none', async () => {
      const ws = await fx.prepare({ key: 'same-size-1', repo: { kind: 'local', path: repo }, mode });
      writeFileSync(join(ws.dir, 'lib/a.js'), 'x\n');
      await ws.record('first');
      await ws.record('nothing new'); // the view did not move: nothing to look at
      writeFileSync(join(ws.dir, 'lib/a.js'), 'y\n'); // same size, same second
      assert.match(await ws.diff(['lib/a.js']), /^\+y$/m);
      chmodSync(join(ws.dir, 'lib/a.js'), 0o755);
      assert.match(await ws.diff(['lib/a.js']), /new mode 100755/);
      const { changedFiles } = await ws.record('mode');
      assert.deepEqual(changedFiles.map((f) => f.path), ['lib/a.js']);
    });

    it('is not thrown off by ignored files that come and go', async () => {
      const ws = await fx.prepare({ key: 'ignored-1', repo: { kind: 'local', path: repo }, mode });
      writeFileSync(join(ws.dir, 'debug.log'), 'noise\n');
      mkdirSync(join(ws.dir, 'build'));
      writeFileSync(join(ws.dir, 'build/out.js'), 'built\n');
      writeFileSync(join(ws.dir, 'top.txt'), 'changed\n');
      assert.deepEqual((await ws.changedFiles()).map((f) => f.path), ['top.txt']);
      rmSync(join(ws.dir, 'debug.log'));
      rmSync(join(ws.dir, 'build'), { recursive: true });
      writeFileSync(join(ws.dir, 'lib/b.js'), 'B\n');
      assert.deepEqual((await ws.changedFiles()).map((f) => f.path).sort(), ['lib/b.js', 'top.txt']);
      assert.deepEqual((await ws.files.list()).entries, ['.gitignore', 'lib/a.js', 'lib/b.js', 'lib/deep/c.js', 'top.txt']);
      // record() reports the same files and snapshots them.
      const recorded = await ws.record('check');
      assert.deepEqual(recorded.changedFiles.map((f) => f.path).sort(), ['lib/b.js', 'top.txt']);
      assert.notEqual(recorded.snapshot, ws.baseRef);
      writeFileSync(join(ws.dir, 'top.txt'), 'top\n');
      writeFileSync(join(ws.dir, 'lib/b.js'), 'b\n');
      const back = await ws.record('reverted');
      assert.deepEqual(back.changedFiles, [], 'reverting every edit leaves nothing');
    });
  });
}
