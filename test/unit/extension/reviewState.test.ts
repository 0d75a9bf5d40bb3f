// Review decisions: persisted, counted, lapsing when the hunk changes, whole-file for new files.
import * as assert from 'node:assert/strict';
import { parseUnifiedDiff } from '../../../protocol';
import { acceptSpec } from '../../../src/review/acceptSpec';
import { hunkAt } from '../../../src/review/hunkAt';
import { ReviewState, type KeyValueStore } from '../../../src/review/reviewState';

class MemoryStore implements KeyValueStore {
  readonly data = new Map<string, unknown>();
  get<T>(key: string): T | undefined {
    return this.data.get(key) as T | undefined;
  }
  async update(key: string, value: unknown): Promise<void> {
    if (value === undefined) this.data.delete(key);
    else this.data.set(key, JSON.parse(JSON.stringify(value)));
  }
}

const diff = (second: string) =>
  parseUnifiedDiff(
    [
      'diff --git a/f.ts b/f.ts',
      '--- a/f.ts',
      '+++ b/f.ts',
      '@@ -1,2 +1,2 @@',
      '-one',
      '+ONE',
      ' two',
      '@@ -20,2 +20,2 @@',
      ' x',
      `-${second}`,
      `+${second.toUpperCase()}`,
      'diff --git a/n.ts b/n.ts',
      'new file mode 100644',
      '--- /dev/null',
      '+++ b/n.ts',
      '@@ -0,0 +1 @@',
      '+n',
      '',
    ].join('\n'),
  );

describe('extension: review state', () => {
  it('starts undecided, records decisions and survives a new instance on the same store', async () => {
    const store = new MemoryStore();
    const files = diff('y');
    const review = new ReviewState(store);
    assert.deepEqual(review.decisions('t', files[0]!), ['undecided', 'undecided']);
    await review.set('t', files[0]!, [0], 'accepted');
    await review.set('t', files[0]!, [1], 'rejected');
    const again = new ReviewState(store);
    assert.deepEqual(again.decisions('t', files[0]!), ['accepted', 'rejected']);
    assert.deepEqual(again.counts('t', files), { total: 3, accepted: 1, rejected: 1, undecided: 1 });
    assert.deepEqual(again.taken('t', files[0]!), [0]);
  });

  it('forgets a decision when a follow-up changed that hunk', async () => {
    const review = new ReviewState(new MemoryStore());
    await review.set('t', diff('y')[0]!, [1], 'rejected');
    assert.deepEqual(review.decisions('t', diff('z')[0]!), ['undecided', 'undecided']);
  });

  it('turns decisions into the pull request accept spec (undecided counts as taken)', async () => {
    const review = new ReviewState(new MemoryStore());
    const files = diff('y');
    assert.equal(acceptSpec(review, 't', files), undefined);
    await review.set('t', files[0]!, [1], 'rejected');
    assert.deepEqual(acceptSpec(review, 't', files), { files: [{ path: 'f.ts', hunks: [0] }, { path: 'n.ts' }] });
    await review.set('t', files[1]!, [0], 'rejected');
    assert.deepEqual(acceptSpec(review, 't', files), { files: [{ path: 'f.ts', hunks: [0] }] });
  });

  it('finds the hunk under the cursor, else the next one', () => {
    const file = diff('y')[0]!;
    assert.equal(hunkAt(file, 2), 0);
    assert.equal(hunkAt(file, 10), 1);
    assert.equal(hunkAt(file, 21), 1);
    assert.equal(hunkAt(file, 99), 1);
  });
});
