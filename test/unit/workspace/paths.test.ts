// Path, key and pathspec validation: what could name something outside the workspace is refused.
import assert from 'node:assert/strict';
import { pathspec, splitRelativePath, validateKey, mirrorName, stripCredentials } from '../../../server/src/workspace/parse';
import { WorkspacePathError } from '../../../server/src/workspace/types';

describe('workspace paths', () => {
  it('splits relative paths and drops . and empty components', () => {
    assert.deepEqual(splitRelativePath('src/a.ts'), ['src', 'a.ts']);
    assert.deepEqual(splitRelativePath('./src//a.ts/'), ['src', 'a.ts']);
    assert.deepEqual(splitRelativePath(''), []);
    assert.deepEqual(splitRelativePath('..hidden/x..y'), ['..hidden', 'x..y']);
  });

  it('refuses absolute paths, .. and NUL with actionable messages', () => {
    for (const [p, re] of [
      ['/etc/passwd', /absolute paths are not allowed/],
      ['../x', /'\.\.' is not allowed/],
      ['a/../../x', /'\.\.' is not allowed/],
      ['a/..', /'\.\.'/],
      ['a\0b', /NUL/],
    ] as const) {
      assert.throws(() => splitRelativePath(p), (err: unknown) => err instanceof WorkspacePathError && re.test(err.message), p);
    }
  });

  it('makes literal pathspecs unless a glob is meant', () => {
    assert.equal(pathspec('src/a.ts'), ':(literal)src/a.ts');
    assert.equal(pathspec(':(glob)x'), ':(literal):(glob)x');
    assert.equal(pathspec('src/**/*.ts'), ':(glob)src/**/*.ts');
    assert.equal(pathspec('.'), '.');
    assert.throws(() => pathspec('../x'), WorkspacePathError);
  });

  it('accepts only keys that are safe as directory and ref names', () => {
    for (const ok of ['task-1', 'abc_DEF.2', 'T1-0']) assert.doesNotThrow(() => validateKey(ok), ok);
    for (const bad of ['', '.hidden', '../x', 'a/b', 'a..b', 'x.lock', 'end.', 'sp ace', 'a'.repeat(200)]) {
      assert.throws(() => validateKey(bad), /invalid workspace key/, bad);
    }
  });

  it('names mirrors by identity without credentials', () => {
    assert.equal(stripCredentials('https://user:tok@example.invalid/o/r.git'), 'https://example.invalid/o/r.git');
    const a = mirrorName('remote', 'https://example.invalid/o/r.git');
    assert.match(a, /^remote-r-[0-9a-f]{16}\.git$/);
    assert.notEqual(a, mirrorName('remote', 'https://example.invalid/p/r.git'));
    assert.notEqual(mirrorName('local', '/x/r'), mirrorName('bundle', '/x/r'));
    assert.match(mirrorName('local', '/home/u/my project'), /^local-my_project-/);
  });
});
