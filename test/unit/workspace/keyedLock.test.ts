// Work under one key runs one at a time, in order, and a failure does not block the next.
import assert from 'node:assert/strict';
import { KeyedLock } from '../../../server/src/workspace/keyedLock';

describe('workspace keyed lock', () => {
  it('serializes per key and keeps going after a failure', async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    let inside = 0;
    const task = (name: string, fail = false) =>
      lock.run('k', async () => {
        inside++;
        assert.equal(inside, 1, 'never two at once');
        log.push(`start ${name}`);
        await new Promise((r) => setImmediate(r));
        log.push(`end ${name}`);
        inside--;
        if (fail) throw new Error(name);
        return name;
      });
    const results = await Promise.allSettled([task('a'), task('b', true), task('c')]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.deepEqual(log, ['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
  });

  it('lets different keys run side by side', async () => {
    const lock = new KeyedLock();
    let release!: () => void;
    const blocked = lock.run('a', () => new Promise<void>((r) => (release = r)));
    assert.equal(await lock.run('b', async () => 'b ran'), 'b ran');
    release();
    await blocked;
  });
});
