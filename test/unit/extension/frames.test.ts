// A newer server's event of a type this extension does not know is skipped, not an invalid frame:
// the task model passes its seq and goes on with the next events.
import * as assert from 'node:assert/strict';
import { EMPTY_USAGE, type Task } from '../../../protocol';
import { TaskModel } from '../../../src/model/taskModel';
import { readFrame } from '../../../src/server/frames';

const task: Task = {
  id: 'a',
  status: 'running',
  prompt: 'do a',
  repo: { kind: 'local', name: 'repo' },
  options: {},
  createdAt: '2026-01-01T00:00:00Z',
  updatedAt: '2026-01-01T00:00:00Z',
  usage: EMPTY_USAGE,
  changedFiles: [],
};

describe('extension: reading stream frames', () => {
  it('skips an event of an unknown type, keeping its seq; the events after it apply', () => {
    const m = new TaskModel();
    const frames = [
      { type: 'event', event: { seq: 1, at: '', taskId: 'a', type: 'task.created', task } },
      { type: 'event', event: { seq: 2, at: '', taskId: 'a', type: 'task.teleported', where: 'mars' } },
      { type: 'event', event: { seq: 3, at: '', taskId: 'a', type: 'agent.message', messageId: 'm', text: 'still here' } },
    ].map(readFrame);
    assert.deepEqual(frames[1], { ok: true, frame: { type: 'skipped', seq: 2, eventType: 'task.teleported' } });
    for (const f of frames) if (f.ok) m.applyFrame(f.frame);
    m.applyFrame({ type: 'replayed', lastSeq: 3 });
    assert.equal(m.lastSeq, 3);
    assert.deepEqual(m.timeline('a')?.items.map((i) => i.kind === 'agent' && i.text), ['still here']);
    // Skipped at its seq: a replay of it changes nothing, and an older seq never moves lastSeq back.
    const again = readFrame({ type: 'event', event: { seq: 2, at: '', taskId: 'a', type: 'task.teleported' } });
    if (again.ok) m.applyFrame(again.frame);
    assert.equal(m.lastSeq, 3);
  });

  it('still drops what is not a frame, and a known event with a broken body', () => {
    assert.equal(readFrame({ type: 'event', event: { type: 'task.teleported' } }).ok, false, 'no seq');
    assert.equal(readFrame({ type: 'event', event: { seq: 4, at: '', taskId: 'a', type: 'agent.message' } }).ok, false);
    assert.equal(readFrame('hello').ok, false);
    assert.deepEqual(readFrame({ type: 'replayed', lastSeq: 9 }), { ok: true, frame: { type: 'replayed', lastSeq: 9 } });
  });
});
