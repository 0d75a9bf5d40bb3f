import assert from 'node:assert/strict';
import { applyChunks, planPatch } from '../../../server/src/agent/patch/apply';
import { parsePatch, type PatchOp } from '../../../server/src/agent/patch/parse';

function ops(text: string): PatchOp[] {
  const parsed = parsePatch(text);
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.ops;
}

function reader(files: Record<string, string>) {
  return async (path: string) => (path in files ? files[path]! : null);
}

describe('agent patch applier', () => {
  it('replaces lines found by exact context and keeps the final newline', () => {
    const r = applyChunks('a.ts', 'a\nb\nc\nd\n', [{ oldLines: ['b', 'c'], newLines: ['b', 'C'], endOfFile: false }]);
    assert.deepEqual(r, { ok: true, content: 'a\nb\nC\nd\n' });
  });

  it('matches context that differs only in trailing whitespace', () => {
    const r = applyChunks('a.ts', 'x = 1;   \ny = 2;\n', [{ oldLines: ['x = 1;', 'y = 2;'], newLines: ['x = 1;', 'y = 3;'], endOfFile: false }]);
    assert.deepEqual(r, { ok: true, content: 'x = 1;\ny = 3;\n' });
  });

  it('does not match context that differs in indentation', () => {
    const r = applyChunks('a.ts', '  x = 1;\n', [{ oldLines: ['x = 1;'], newLines: ['x = 2;'], endOfFile: false }]);
    assert.equal(r.ok, false);
  });

  it('uses the @@ anchor to pick the right one of two identical blocks', () => {
    const file = 'function a() {\n  return 1;\n}\nfunction b() {\n  return 1;\n}\n';
    const r = applyChunks('f.js', file, [{ anchor: 'function b() {', oldLines: ['  return 1;'], newLines: ['  return 2;'], endOfFile: false }]);
    assert.deepEqual(r, { ok: true, content: 'function a() {\n  return 1;\n}\nfunction b() {\n  return 2;\n}\n' });
  });

  it('anchors an end-of-file hunk at the end', () => {
    const r = applyChunks('f', 'x\ny\nx\n', [{ oldLines: ['x'], newLines: ['z'], endOfFile: true }]);
    assert.deepEqual(r, { ok: true, content: 'x\ny\nz\n' });
  });

  it('applies several hunks in order and keeps CRLF line ends', () => {
    const r = applyChunks('w.txt', 'a\r\nb\r\nc\r\nd\r\n', [
      { oldLines: ['a'], newLines: ['A'], endOfFile: false },
      { oldLines: ['c'], newLines: ['C', 'C2'], endOfFile: false },
    ]);
    assert.deepEqual(r, { ok: true, content: 'A\r\nb\r\nC\r\nC2\r\nd\r\n' });
  });

  it('inserts pure additions after the anchor', () => {
    const r = applyChunks('f', 'import a;\n\ncode\n', [{ anchor: 'import a;', oldLines: [], newLines: ['import b;'], endOfFile: false }]);
    assert.deepEqual(r, { ok: true, content: 'import a;\nimport b;\n\ncode\n' });
  });

  it('keeps a missing final newline missing', () => {
    const r = applyChunks('f', 'a\nb', [{ oldLines: ['b'], newLines: ['c'], endOfFile: false }]);
    assert.deepEqual(r, { ok: true, content: 'a\nc' });
  });

  it('reports context that is not there with the path, the line and the lines it looked for', () => {
    const r = applyChunks('src/a.ts', 'one\ntwo\n', [{ oldLines: ['three', 'four'], newLines: ['x'], endOfFile: false }]);
    assert.equal(r.ok, false);
    if (!r.ok) {
      assert.match(r.error, /Context not found in src\/a\.ts near line 1:/);
      assert.match(r.error, / {2}three\n {2}four/);
    }
  });

  it('plans add, update, move and delete together and changes nothing when one part fails', async () => {
    const files = { 'a.txt': 'hello\n', 'b.txt': 'bye\n', 'c.txt': 'same\n' };
    const good = await planPatch(
      ops('*** Begin Patch\n*** Add File: n.txt\n+new\n*** Update File: a.txt\n*** Move to: moved/a.txt\n-hello\n+hi\n*** Delete File: b.txt\n*** End Patch'),
      reader(files),
    );
    assert.ok(good.ok);
    assert.deepEqual(good.plan.writes, [
      { path: 'n.txt', content: 'new\n' },
      { path: 'a.txt', content: null },
      { path: 'moved/a.txt', content: 'hi\n' },
      { path: 'b.txt', content: null },
    ]);
    assert.deepEqual(good.plan.summary, ['A n.txt', 'R a.txt -> moved/a.txt', 'D b.txt']);

    const bad = await planPatch(ops('*** Begin Patch\n*** Update File: c.txt\n-same\n+other\n*** Update File: a.txt\n-nothere\n+x\n*** End Patch'), reader(files));
    assert.equal(bad.ok, false);
  });

  it('refuses to add a file that exists, or to update or delete one that does not', async () => {
    const files = { 'a.txt': 'x\n' };
    const add = await planPatch(ops('*** Begin Patch\n*** Add File: a.txt\n+y\n*** End Patch'), reader(files));
    assert.ok(!add.ok && /already exists/.test(add.error));
    const upd = await planPatch(ops('*** Begin Patch\n*** Update File: z.txt\n-x\n+y\n*** End Patch'), reader(files));
    assert.ok(!upd.ok && /no such file/.test(upd.error));
    const del = await planPatch(ops('*** Begin Patch\n*** Delete File: z.txt\n*** End Patch'), reader(files));
    assert.ok(!del.ok && /no such file/.test(del.error));
  });

  it('lets a later operation see an earlier one on the same file', async () => {
    const r = await planPatch(ops('*** Begin Patch\n*** Add File: a\n+1\n*** Update File: a\n-1\n+2\n*** End Patch'), reader({}));
    assert.ok(r.ok);
    assert.deepEqual(r.plan.writes, [{ path: 'a', content: '2\n' }]);
  });
});
