// Upkeep runs one job of a kind at a time per repository; a new commit prepared ahead that is
// asked for again while it runs runs once more after (HEAD moved on meanwhile), and stop() ends
// the loop.
import assert from 'node:assert/strict';
import { hostEnvOf } from '../../../server/src/config';
import { NO_LOG } from '../../../server/src/log';
import { SpawnRunner } from '../../../server/src/util/processRunner';
import { Upkeep } from '../../../server/src/workspace/upkeep';

function upkeep(): Upkeep {
  const host = { runner: new SpawnRunner(), env: hostEnvOf(process.env) };
  return new Upkeep({ host, dataDir: '/nonexistent', sandboxUid: 1500, log: NO_LOG, underBasesLock: (fn) => fn(), flatten: false });
}

/** A job the test lets finish: `runs` counts its starts. */
function gate() {
  const state = { runs: 0, release: () => undefined as void };
  const job = () => {
    state.runs++;
    return new Promise<boolean>((resolve) => (state.release = () => resolve(true)));
  };
  return { state, job };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('workspace upkeep: new commits prepared ahead', () => {
  it('runs a job asked for while it ran once more after it, however often it was asked', async () => {
    const u = upkeep();
    const { state, job } = gate();
    u.ahead('/repo', job);
    await tick();
    u.ahead('/repo', job);
    u.ahead('/repo', job);
    assert.equal(state.runs, 1, 'one at a time');
    state.release();
    await tick();
    await tick();
    assert.equal(state.runs, 2, 'once more for the asks while it ran');
    state.release();
    await u.idle();
    assert.equal(state.runs, 2);
  });

  it('runs the jobs of different repositories side by side, and a failed one does not stop the next', async () => {
    const u = upkeep();
    const a = gate();
    const b = gate();
    u.ahead('/a', a.job);
    u.ahead('/b', b.job);
    await tick();
    assert.deepEqual([a.state.runs, b.state.runs], [1, 1]);
    a.state.release();
    b.state.release();
    await u.idle();
    u.ahead('/a', () => Promise.reject(new Error('no such repository')));
    await u.idle();
    u.ahead('/a', a.job);
    await tick();
    assert.equal(a.state.runs, 2);
    a.state.release();
    await u.idle();
  });

  it('stops asking again once stopped, and starts nothing after', async () => {
    const u = upkeep();
    const { state, job } = gate();
    let signal: AbortSignal | undefined;
    u.ahead('/repo', (s) => {
      signal = s;
      return job();
    });
    await tick();
    u.ahead('/repo', job);
    const stopped = u.stop();
    assert.equal(signal?.aborted, true, 'the job hears of the stop');
    state.release();
    await stopped;
    assert.equal(state.runs, 1);
    u.ahead('/repo', job);
    await u.idle();
    assert.equal(state.runs, 1);
  });
});
