// Checkpoints in the timeline (#19): a marker per agent turn that changed files, placed on that
// turn, one per turn; a restore shows as its own line and leaves the later checkpoints viewable but
// marked undone; an older server's stream (no checkpoint fields) shows no markers.
import * as assert from 'node:assert/strict';
import { EMPTY_USAGE, type TaskEvent } from '../../../protocol';
import { canFollowUpFrom, canViewCheckpoint, checkpointsOf, describeCheckpoint, type CheckpointItem } from '../../../src/model/checkpoints';
import { Timeline } from '../../../src/model/timeline';

let seq = 0;
function ev<T extends TaskEvent['type']>(type: T, fields: Omit<Extract<TaskEvent, { type: T }>, 'seq' | 'at' | 'taskId' | 'type'>): Extract<TaskEvent, { type: T }> {
  return { seq: ++seq, at: new Date().toISOString(), taskId: 't1', type, ...fields } as Extract<TaskEvent, { type: T }>;
}

const file = (path: string, additions = 1) => ({ path, status: 'modified' as const, additions, deletions: 0 });

/** One model turn with one file-changing call; answers the call's event (a checkpoint's cause). */
function turn(t: Timeline, callId: string): TaskEvent {
  t.apply(ev('usage', { usage: EMPTY_USAGE }));
  const call = ev('tool.call', { callId, name: 'apply_patch', args: { patch: '…' } });
  t.apply(call);
  t.apply(ev('tool.result', { callId, name: 'apply_patch', ok: true, output: 'ok', durationMs: 5 }));
  return call;
}

const markers = (t: Timeline): CheckpointItem[] => t.items.filter((i): i is CheckpointItem => i.kind === 'checkpoint');

/** Two turns, each changing one more file, each announced as a checkpoint; then the run ends. */
function twoTurns(): { t: Timeline; first: string; second: string } {
  const t = new Timeline();
  const c1 = turn(t, 'c1');
  t.apply(ev('diff.updated', { changedFiles: [file('a.js')], diffVersion: 'v1', checkpoint: true, cause: c1.seq }));
  const c2 = turn(t, 'c2');
  // A mid-turn state first (no checkpoint), then the turn's end.
  t.apply(ev('diff.updated', { changedFiles: [file('a.js'), file('b.js')], diffVersion: 'v2-mid', cause: c2.seq }));
  t.apply(ev('diff.updated', { changedFiles: [file('a.js'), file('b.js', 3)], diffVersion: 'v2', checkpoint: true, cause: c2.seq }));
  t.apply(ev('usage', { usage: EMPTY_USAGE }));
  t.apply(ev('agent.finished', { summary: 'Done.' }));
  return { t, first: 'v1', second: 'v2' };
}

describe('extension: checkpoints in the timeline', () => {
  it('marks each turn that changed files, right after its call, with the files so far', () => {
    const { t } = twoTurns();
    assert.deepEqual(t.items.map((i) => i.kind), ['tool', 'checkpoint', 'tool', 'checkpoint', 'finished']);
    assert.deepEqual(markers(t).map((m) => [m.turn, m.version, m.files, m.additions, m.current, m.undone]), [
      [1, 'v1', 1, 1, false, false],
      [2, 'v2', 2, 4, true, false],
    ]);
    assert.equal(describeCheckpoint(markers(t)[1]!), 'Turn 2 · 2 files +4 −0');
  });

  it('keeps one marker per turn, and the final state announced again adds none', () => {
    const t = new Timeline();
    const c1 = turn(t, 'c1');
    t.apply(ev('diff.updated', { changedFiles: [file('a.js')], diffVersion: 'v1', checkpoint: true, cause: c1.seq }));
    // The same turn's state moved on before the run ended: its marker follows.
    t.apply(ev('diff.updated', { changedFiles: [file('a.js', 2)], diffVersion: 'v1b', checkpoint: true, cause: c1.seq }));
    // The final state, the same as the turn's end, without a call of its own.
    t.apply(ev('diff.updated', { changedFiles: [file('a.js', 2)], diffVersion: 'v1b', checkpoint: true }));
    assert.deepEqual(markers(t).map((m) => [m.turn, m.version, m.current]), [[1, 'v1b', true]]);
    assert.deepEqual(t.items.map((i) => i.kind), ['tool', 'checkpoint']);
  });

  it('a restore shows as "set back to turn N"; later checkpoints stay, marked undone, and new turns go on counting', () => {
    const { t, first, second } = twoTurns();
    t.apply(ev('user.message', { kind: 'followup', text: 'Only a.js, please.' }));
    t.apply(ev('workspace.restored', { checkpoint: first, actor: null }));
    // The restored state announced as a diff (as a checkpoint or not) is not a new marker.
    t.apply(ev('diff.updated', { changedFiles: [file('a.js')], diffVersion: first, checkpoint: true }));
    const restored = t.items.find((i) => i.kind === 'restored');
    assert.ok(restored?.kind === 'restored');
    assert.equal(restored.turn, 1);
    assert.deepEqual(markers(t).map((m) => [m.version, m.current, m.undone]), [[first, true, false], [second, false, true]]);

    const c3 = turn(t, 'c3');
    t.apply(ev('diff.updated', { changedFiles: [file('a.js'), file('c.js')], diffVersion: 'v3', checkpoint: true, cause: c3.seq }));
    // The follow-up's turn is the attempt's fourth model turn (the finish took the third): numbers never repeat.
    assert.deepEqual(markers(t).map((m) => [m.turn, m.current, m.undone]), [[1, false, false], [2, false, true], [4, true, false]]);
    assert.deepEqual(checkpointsOf(t.items).map((m) => m.version), ['v3', second, first], 'newest first for the quick pick');

    // Going forward again to the undone one puts it (and those before it) back.
    t.apply(ev('workspace.restored', { checkpoint: second, actor: null }));
    assert.deepEqual(markers(t).map((m) => [m.version, m.undone, m.current]), [[first, false, false], [second, false, true], ['v3', true, false]]);
  });

  it('a first checkpoint without changes (a command that changed nothing) is the base, not a marker', () => {
    const t = new Timeline();
    const c1 = turn(t, 'c1');
    assert.equal(t.apply(ev('diff.updated', { changedFiles: [], diffVersion: 'v0', checkpoint: true, cause: c1.seq })), false);
    const c2 = turn(t, 'c2');
    t.apply(ev('diff.updated', { changedFiles: [file('a.js')], diffVersion: 'v1', checkpoint: true, cause: c2.seq }));
    // Taking everything back later is a change, though: that one shows.
    const c3 = turn(t, 'c3');
    t.apply(ev('diff.updated', { changedFiles: [], diffVersion: 'v0', checkpoint: true, cause: c3.seq }));
    assert.deepEqual(markers(t).map((m) => [m.turn, m.files]), [[2, 1], [3, 0]]);
  });

  it('an older server (no checkpoint fields) shows no markers', () => {
    const t = new Timeline();
    const c1 = turn(t, 'c1');
    assert.equal(t.apply(ev('diff.updated', { changedFiles: [file('a.js')], diffVersion: 'v1', cause: c1.seq })), false);
    t.apply(ev('diff.updated', { changedFiles: [file('a.js')] }));
    assert.deepEqual(markers(t), []);
  });

  it('keeps best-of-N attempts\' checkpoints apart', () => {
    const t = new Timeline();
    t.apply(ev('usage', { usage: EMPTY_USAGE, attempt: 1 }));
    const call = ev('tool.call', { callId: 'x', name: 'shell', args: { command: 'touch x' }, attempt: 1 });
    t.apply(call);
    t.apply(ev('diff.updated', { changedFiles: [file('x')], diffVersion: 'w1', checkpoint: true, cause: call.seq, attempt: 1 }));
    t.apply(ev('diff.updated', { changedFiles: [file('y')], diffVersion: 'z1', checkpoint: true, attempt: 0 }));
    assert.deepEqual(markers(t).map((m) => [m.attempt, m.turn, m.current]), [[1, 1, true], [0, null, true]]);
  });

  it('offers "Follow up from here" on an earlier checkpoint of a stopped task\'s mirrored attempt only', () => {
    const { t } = twoTurns();
    const [first, latest] = markers(t);
    assert.equal(canFollowUpFrom(first!, { status: 'completed' }), true);
    assert.equal(canFollowUpFrom(latest!, { status: 'completed' }), false, 'the latest is a plain follow-up');
    assert.equal(canFollowUpFrom(first!, { status: 'running' }), false, 'the server refuses while it runs');
    assert.equal(canFollowUpFrom(first!, { status: 'failed', selectedAttempt: 1 }), false, 'another attempt is mirrored');
    assert.equal(canViewCheckpoint(first!, { selectedAttempt: 1 }), false, 'the server keeps the mirrored attempt\'s checkpoints');
    assert.equal(canViewCheckpoint(first!, {}), true);
  });
});
