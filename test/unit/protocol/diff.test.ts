import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyHunks, parseUnifiedDiff, selectHunks } from '../../../protocol/diff';

const OLD = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`).join('\n') + '\n';
const NEW = OLD.replace('line 3\n', 'line three\n').replace('line 20\n', 'line 20\nline 20.5\n').replace('line 28\n', '');

/** A real git diff of OLD → NEW (and an added + a deleted file) in a scratch repo. */
function gitDiff(): { diff: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'delegate-diff-'));
  const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, encoding: 'utf8' });
  git('init', '-q');
  writeFileSync(join(dir, 'f.txt'), OLD);
  writeFileSync(join(dir, 'gone.txt'), 'bye\n');
  git('add', '-A');
  git('commit', '-qm', 'base');
  writeFileSync(join(dir, 'f.txt'), NEW);
  writeFileSync(join(dir, 'new file.txt'), 'hello\n');
  execFileSync('rm', [join(dir, 'gone.txt')]);
  git('add', '-A');
  return { diff: git('diff', '--cached'), dir };
}

describe('unified diff hunks', () => {
  it('parses files, statuses and hunks of a real git diff', () => {
    const files = parseUnifiedDiff(gitDiff().diff);
    const byPath = Object.fromEntries(files.map((f) => [f.path, f]));
    assert.deepEqual(files.map((f) => f.path).sort(), ['f.txt', 'gone.txt', 'new file.txt']);
    assert.equal(byPath['f.txt']!.status, 'modified');
    assert.equal(byPath['f.txt']!.hunks.length, 3);
    assert.equal(byPath['gone.txt']!.status, 'deleted');
    assert.equal(byPath['new file.txt']!.status, 'added');
  });

  it('applies every subset of hunks to the old text the way git apply does', () => {
    const { diff, dir } = gitDiff();
    const file = parseUnifiedDiff(diff).find((f) => f.path === 'f.txt')!;
    for (let mask = 0; mask < 8; mask++) {
      const keep = [0, 1, 2].filter((i) => mask & (1 << i));
      const ours = applyHunks(OLD, keep.map((i) => file.hunks[i]!));
      // git's answer: apply the rebuilt partial patch to the old file.
      const patch = selectHunks([file], () => keep);
      writeFileSync(join(dir, 'f.txt'), OLD);
      if (patch) {
        writeFileSync(join(dir, 'p.diff'), patch);
        execFileSync('git', ['apply', '--unidiff-zero', 'p.diff'], { cwd: dir });
      }
      assert.equal(ours, readFileSync(join(dir, 'f.txt'), 'utf8'), `hunks ${keep.join(',')}`);
    }
  });

  it('reports a conflict when the text no longer matches', () => {
    const file = parseUnifiedDiff(gitDiff().diff).find((f) => f.path === 'f.txt')!;
    assert.equal(applyHunks(OLD.replace('line 2\n', 'changed 2\n'), [file.hunks[0]!]), null);
  });

  it('creates a new file from an added file\'s hunk and handles a missing final newline', () => {
    const added = parseUnifiedDiff(gitDiff().diff).find((f) => f.status === 'added')!;
    assert.equal(applyHunks('', added.hunks), 'hello\n');
    const noEol = parseUnifiedDiff('diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n');
    assert.equal(applyHunks('a', noEol[0]!.hunks), 'b');
  });

  it('refuses to split an added file', () => {
    const files = parseUnifiedDiff('diff --git a/n b/n\nnew file mode 100644\n--- /dev/null\n+++ b/n\n@@ -0,0 +1 @@\n+x\n@@ -0,0 +3 @@\n+y\n');
    assert.throws(() => selectHunks(files, () => [0]), /only be taken whole/);
  });
});
