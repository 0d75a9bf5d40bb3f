import assert from 'node:assert/strict';
import { Scheduler } from '../../../server/src/tasks/scheduler';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Scheduler', () => {
  it('runs at most maxParallel jobs, in FIFO order', async () => {
    const s = new Scheduler(2, () => undefined);
    let active = 0;
    let peak = 0;
    const order: number[] = [];
    const releases: (() => void)[] = [];
    for (let i = 0; i < 6; i++) {
      s.enqueue(`j${i}`, async () => {
        order.push(i);
        active++;
        peak = Math.max(peak, active);
        await new Promise<void>((r) => releases.push(r));
        active--;
      });
    }
    await tick();
    assert.equal(s.runningCount, 2);
    assert.equal(s.queuedCount, 4);
    while (order.length < 6 || active > 0) {
      releases.shift()?.();
      await tick();
    }
    assert.equal(peak, 2);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
  });

  it('runs a job whose key is still running after that run ends, not beside it', async () => {
    const s = new Scheduler(4, () => undefined);
    const log: string[] = [];
    let release!: () => void;
    s.enqueue('k', async () => {
      log.push('first start');
      await new Promise<void>((r) => (release = r));
      log.push('first end');
    });
    await tick();
    s.enqueue('k', async () => void log.push('second'));
    s.enqueue('other', async () => void log.push('other'));
    assert.throws(() => s.enqueue('k', async () => undefined), /already scheduled/);
    await tick();
    assert.deepEqual(log, ['first start', 'other'], 'another key is not held up by the waiting job');
    release();
    await tick();
    assert.deepEqual(log, ['first start', 'other', 'first end', 'second']);
  });

  it('gives a parked job\'s slot to the next job and lets it resume before queued ones', async () => {
    const s = new Scheduler(1, () => undefined);
    const log: string[] = [];
    let answer!: () => void;
    const releases: Record<string, () => void> = {};
    s.enqueue('asker', async (_signal, lease) => {
      log.push('asker asks');
      lease.park();
      await new Promise<void>((r) => (answer = r));
      let waited = false;
      await lease.resume(() => (waited = true));
      log.push(`asker resumes${waited ? ' after waiting' : ''}`);
    });
    for (const key of ['b', 'c']) {
      s.enqueue(key, async () => {
        log.push(`${key} starts`);
        await new Promise<void>((r) => (releases[key] = r));
        log.push(`${key} ends`);
      });
    }
    await tick();
    assert.deepEqual(log, ['asker asks', 'b starts'], 'the parked slot went to b');
    assert.equal(s.runningCount, 1);
    assert.equal(s.parkedCount, 1);
    answer();
    await tick();
    assert.deepEqual(log, ['asker asks', 'b starts'], 'no slot free: the asker waits, c does not jump in');
    releases.b!();
    await tick();
    // The asker resumes, finishes at once, and only then c gets the slot.
    assert.deepEqual(log, ['asker asks', 'b starts', 'b ends', 'asker resumes after waiting', 'c starts'], 'the resuming job goes before the queued c');
    releases.c!();
    await tick();
    assert.equal(s.runningCount, 0);
    assert.equal(s.parkedCount, 0);
  });

  it('frees a parked job that is cancelled without ever resuming', async () => {
    const s = new Scheduler(1, () => undefined);
    s.enqueue('asker', (signal, lease) => {
      lease.park();
      return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
    });
    let ran = false;
    s.enqueue('next', async () => void (ran = true));
    await tick();
    assert.ok(ran);
    assert.equal(s.cancel('asker'), 'aborted');
    await s.settled('asker');
    assert.equal(s.runningCount, 0);
    assert.equal(s.parkedCount, 0);
  });

  it('removes queued jobs and aborts running ones', async () => {
    const s = new Scheduler(1, () => undefined);
    let aborted = false;
    s.enqueue('a', (signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve()))));
    let ranB = false;
    s.enqueue('b', async () => void (ranB = true));
    await tick();
    assert.equal(s.cancel('b'), 'removed');
    assert.equal(s.cancel('a'), 'aborted');
    await s.settled('a');
    assert.ok(aborted);
    await tick();
    assert.equal(ranB, false);
    assert.equal(s.cancel('zzz'), 'unknown');
  });

  it('reports a crashing job and frees its slot', async () => {
    const errors: string[] = [];
    const s = new Scheduler(1, (key) => errors.push(key));
    s.enqueue('bad', async () => {
      throw new Error('boom');
    });
    let ran = false;
    s.enqueue('next', async () => void (ran = true));
    await tick();
    await tick();
    assert.deepEqual(errors, ['bad']);
    assert.ok(ran);
  });
});
