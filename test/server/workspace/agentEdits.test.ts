// The agent edits, adds, deletes, renames and writes a binary file: changedFiles and diff report
// exactly that against the base, and the diff applies to the base to give the agent's tree.
import assert from 'node:assert/strict';
import { renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseUnifiedDiff } from '../../../protocol';
import { git, makeRepo } from '../../support/gitRepo';
import { makeFixture, MODES, SANDBOX_UID, type Fixture } from './fixture';

const LONG = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';

for (const mode of MODES) {
  describe(`workspace (${mode}): the agent's changes`, () => {
    let fx: Fixture;
    let repo: string;

    beforeEach(() => {
      fx = makeFixture('edits');
      repo = join(fx.root, 'repo');
      makeRepo(repo, { 'edit.txt': 'alpha\nbeta\ngamma\n', 'delete.txt': 'doomed\n', 'old/name.txt': LONG, 'keep.txt': 'same\n' });
    });
    afterEach(() => fx.cleanup());

    it('reports edits, additions, deletions, renames and binary files', async () => {
      const ws = await fx.prepare({ key: 'edits-1', repo: { kind: 'local', path: repo }, mode });
      await ws.files.writeFile('edit.txt', 'alpha\nBETA\ngamma\ndelta\n');
      await ws.files.writeFile('added/deep/new.txt', 'fresh\n');
      await ws.files.deleteFile('delete.txt');
      renameSync(join(ws.dir, 'old/name.txt'), join(ws.dir, 'renamed.txt')); // as a shell `mv` in the sandbox would
      writeFileSync(join(ws.dir, 'image.bin'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 1, 2, 0, 255]));

      const changed = await ws.changedFiles();
      const byPath = new Map(changed.map((f) => [f.path, f]));
      assert.equal(changed.length, 5, JSON.stringify(changed));
      assert.deepEqual(byPath.get('edit.txt'), { path: 'edit.txt', status: 'modified', additions: 2, deletions: 1 });
      assert.deepEqual(byPath.get('added/deep/new.txt'), { path: 'added/deep/new.txt', status: 'added', additions: 1, deletions: 0 });
      assert.deepEqual(byPath.get('delete.txt'), { path: 'delete.txt', status: 'deleted', additions: 0, deletions: 1 });
      assert.deepEqual(byPath.get('renamed.txt'), { path: 'renamed.txt', status: 'renamed', oldPath: 'old/name.txt', additions: 0, deletions: 0 });
      assert.equal(byPath.get('image.bin')?.binary, true);
      assert.equal(byPath.get('image.bin')?.status, 'added');

      const files = parseUnifiedDiff(await ws.diff());
      assert.deepEqual(files.map((f) => f.path).sort(), ['added/deep/new.txt', 'delete.txt', 'edit.txt', 'image.bin', 'renamed.txt']);
      const edit = files.find((f) => f.path === 'edit.txt')!;
      assert.deepEqual(edit.hunks[0]!.lines, [' alpha', '-beta', '+BETA', ' gamma', '+delta']);
      assert.ok((await ws.diff()).includes('GIT binary patch'), 'binary content travels with the diff');
      assert.ok((await ws.diff(['image.bin'], { binary: false })).includes('Binary files'));
      assert.deepEqual(parseUnifiedDiff(await ws.diff(['edit.txt'])).map((f) => f.path), ['edit.txt']);
      assert.equal(await ws.diff([]), '');

      assert.equal((await ws.readVersion('base', 'edit.txt'))?.toString(), 'alpha\nbeta\ngamma\n');
      assert.equal((await ws.readVersion('head', 'edit.txt'))?.toString(), 'alpha\nBETA\ngamma\ndelta\n');
      assert.equal(await ws.readVersion('head', 'delete.txt'), null);
      assert.equal(await ws.readVersion('base', 'added/deep/new.txt'), null);
      assert.equal(statSync(join(ws.dir, 'added/deep/new.txt')).uid, SANDBOX_UID);
      assert.equal(statSync(join(ws.dir, 'added/deep')).uid, SANDBOX_UID);

      // The diff rebuilds the agent's tree from the base: nothing is lost, binary included.
      const snapshot = await ws.snapshot('agent work');
      const gitDir = `--git-dir=${ws.gitDir}`;
      const scratch = join(fx.root, 'apply-index');
      const env = { ...process.env, GIT_INDEX_FILE: scratch };
      const { execFileSync } = await import('node:child_process');
      execFileSync('git', [gitDir, 'read-tree', ws.baseRef], { env });
      execFileSync('git', [gitDir, 'apply', '--cached', '--binary', '-'], { env, input: await ws.diff() });
      const rebuilt = execFileSync('git', [gitDir, 'write-tree'], { env, encoding: 'utf8' }).trim();
      assert.equal(rebuilt, git(fx.root, gitDir, 'rev-parse', `${snapshot}^{tree}`));
    });

    it('sees a change made right after the previous look', async () => {
      const ws = await fx.prepare({ key: 'edits-2', repo: { kind: 'local', path: repo }, mode });
      for (const text of ['x\n', 'y\n', 'z\n']) {
        // Same size, same second: stat data alone cannot tell these apart.
        writeFileSync(join(ws.dir, 'keep.txt'), text);
        const [f] = await ws.changedFiles();
        assert.equal((await ws.readVersion('head', 'keep.txt'))?.toString(), text);
        assert.ok((await ws.diff(['keep.txt'])).includes(`+${text.trim()}`), `diff shows ${text.trim()}`);
        assert.equal(f?.path, 'keep.txt');
      }
      writeFileSync(join(ws.dir, 'keep.txt'), 'same\n');
      assert.deepEqual(await ws.changedFiles(), [], 'reverting the edit leaves nothing');
    });

    it('keeps ignored files out of the changes', async () => {
      writeFileSync(join(repo, '.gitignore'), 'node_modules/\n');
      git(repo, 'add', '.gitignore');
      git(repo, 'commit', '-q', '-m', 'ignore');
      const ws = await fx.prepare({ key: 'edits-3', repo: { kind: 'local', path: repo }, mode });
      await ws.files.writeFile('node_modules/pkg/index.js', 'module.exports = 1;\n');
      await ws.files.writeFile('src.js', 'x\n');
      assert.deepEqual((await ws.changedFiles()).map((f) => f.path), ['src.js']);
      rmSync(join(ws.dir, 'node_modules'), { recursive: true });
    });
  });
}
