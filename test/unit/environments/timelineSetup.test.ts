// The panel's setup step (src/model/timeline.ts): setup.started and setup.finished join the setup
// log's block, saying whether it came from the cache, how long it took and how it ended.
import * as assert from 'node:assert/strict';
import type { TaskEvent } from '../../../protocol';
import { Timeline } from '../../../src/model/timeline';

let seq = 0;
const ev = (fields: Record<string, unknown>): TaskEvent => ({ seq: ++seq, at: '', taskId: 't', ...fields }) as TaskEvent;

describe('environments: the setup step in the panel\'s timeline', () => {
  it('a setup that ran: one block with its start, its log and how it ended', () => {
    const t = new Timeline();
    t.apply(ev({ type: 'setup.started', cached: false }));
    t.apply(ev({ type: 'setup.log', text: 'added 5 packages' }));
    t.apply(ev({ type: 'setup.finished', cached: false, ms: 2500, exitCode: 0 }));
    const setups = t.items.filter((i) => i.kind === 'setup');
    assert.deepEqual(setups.map((i) => i.text), ['Setup: running\nadded 5 packages\nSetup: done in 2.5 s']);
  });

  it('a failed or killed setup says so', () => {
    const t = new Timeline();
    t.apply(ev({ type: 'setup.started', cached: false }));
    t.apply(ev({ type: 'setup.finished', cached: false, ms: 100, exitCode: null }));
    assert.match(t.items.find((i) => i.kind === 'setup')?.text ?? '', /Setup: failed \(killed\)/);
  });

  it('a setup from the cache is one line', () => {
    const t = new Timeline();
    t.apply(ev({ type: 'setup.started', cached: true }));
    assert.equal(t.apply(ev({ type: 'setup.finished', cached: true, ms: 3, exitCode: 0 })), false);
    const setups = t.items.filter((i) => i.kind === 'setup');
    assert.equal(setups.length, 1);
    assert.match(setups[0]!.text, /^Setup: from the cache/);
    assert.doesNotMatch(setups[0]!.text, /\n/);
  });
});
