// Apply planning: the taken hunks land on the user's current text; a changed file is a conflict.
import * as assert from 'node:assert/strict';
import { parseUnifiedDiff } from '../../../protocol';
import { planApply } from '../../../src/review/applyPlan';

const base = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].join('\n') + '\n';
const diff = [
  'diff --git a/m.txt b/m.txt',
  'index 1111111..2222222 100644',
  '--- a/m.txt',
  '+++ b/m.txt',
  '@@ -1,3 +1,3 @@',
  '-a',
  '+A',
  ' b',
  ' c',
  '@@ -10,3 +10,4 @@',
  ' j',
  ' k',
  ' l',
  '+m',
  'diff --git a/new.txt b/new.txt',
  'new file mode 100644',
  'index 0000000..3333333',
  '--- /dev/null',
  '+++ b/new.txt',
  '@@ -0,0 +1,2 @@',
  '+hello',
  '+world',
  'diff --git a/old.txt b/old.txt',
  'deleted file mode 100644',
  'index 4444444..0000000',
  '--- a/old.txt',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  '-bye',
  '',
].join('\n');

function reader(files: Record<string, string>) {
  return async (path: string) => files[path] ?? null;
}

describe('extension: apply plan', () => {
  const files = parseUnifiedDiff(diff);

  it('applies only the taken hunks onto the current text', async () => {
    const plan = await planApply(files, (f) => (f.path === 'm.txt' ? [1] : []), reader({ 'm.txt': base }));
    assert.deepEqual(plan.conflicts, []);
    assert.equal(plan.actions.length, 1);
    const action = plan.actions[0]!;
    assert.equal(action.kind, 'modify');
    assert.equal(action.kind === 'modify' && action.text, base + 'm\n');
  });

  it('keeps the user\'s own edits elsewhere in the file', async () => {
    const edited = base.replace('f\n', 'F (mine)\n');
    const plan = await planApply(files, (f) => (f.path === 'm.txt' ? [0, 1] : []), reader({ 'm.txt': edited }));
    const action = plan.actions[0]!;
    assert.equal(action.kind === 'modify' && action.text, 'A\n' + edited.slice(2) + 'm\n');
  });

  it('reports a conflict when the user changed the lines a hunk touches, and plans the rest', async () => {
    const edited = base.replace('a\n', 'z\n');
    const plan = await planApply(files, (f) => f.hunks.map((_, i) => i), reader({ 'm.txt': edited, 'old.txt': 'bye\n' }));
    assert.deepEqual(plan.conflicts.map((c) => c.path), ['m.txt']);
    assert.deepEqual(plan.actions.map((a) => `${a.kind}:${a.path}`), ['create:new.txt', 'delete:old.txt']);
  });

  it('creates new files and refuses to overwrite a different existing one', async () => {
    const ok = await planApply(files, (f) => (f.path === 'new.txt' ? [0] : []), reader({}));
    assert.deepEqual(ok.actions, [{ kind: 'create', path: 'new.txt', text: 'hello\nworld\n', hunks: 1 }]);
    const clash = await planApply(files, (f) => (f.path === 'new.txt' ? [0] : []), reader({ 'new.txt': 'other\n' }));
    assert.equal(clash.actions.length, 0);
    assert.equal(clash.conflicts[0]?.path, 'new.txt');
  });

  it('deletes a file only while it still has the base content', async () => {
    const take = (f: { path: string }) => (f.path === 'old.txt' ? [0] : []);
    assert.equal((await planApply(files, take, reader({ 'old.txt': 'bye\n' }))).actions[0]?.kind, 'delete');
    assert.equal((await planApply(files, take, reader({ 'old.txt': 'changed\n' }))).conflicts[0]?.path, 'old.txt');
  });

  it('plans nothing when every hunk is rejected', async () => {
    const plan = await planApply(files, () => [], reader({ 'm.txt': base }));
    assert.deepEqual(plan, { actions: [], conflicts: [] });
  });
});
