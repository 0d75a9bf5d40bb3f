// The task model: ordering, at-most-once application by seq, quiet replays, live transitions.
import * as assert from 'node:assert/strict';
import { EMPTY_USAGE, type Task, type TaskStatus } from '../../../protocol';
import { TaskModel, type Transition } from '../../../src/model/taskModel';

function task(id: string, status: TaskStatus, createdAt: string): Task {
  return {
    id,
    status,
    prompt: `do ${id}`,
    repo: { kind: 'local', name: 'repo' },
    options: {},
    createdAt,
    updatedAt: createdAt,
    usage: EMPTY_USAGE,
    changedFiles: [],
  };
}

describe('extension: task model', () => {
  it('orders newest first, and a status change does not move a task', () => {
    const m = new TaskModel();
    m.upsert(task('old-done', 'completed', '2025-01-01T00:00:00Z'));
    m.upsert(task('new-done', 'failed', '2025-01-03T00:00:00Z'));
    m.upsert(task('old-running', 'running', '2025-01-02T00:00:00Z'));
    m.upsert(task('queued', 'queued', '2025-01-01T12:00:00Z'));
    const order = ['new-done', 'old-running', 'queued', 'old-done'];
    assert.deepEqual(m.list().map((t) => t.id), order);
    m.upsert(task('old-running', 'completed', '2025-01-02T00:00:00Z'));
    m.upsert(task('queued', 'running', '2025-01-01T12:00:00Z'));
    assert.deepEqual(m.list().map((t) => t.id), order);
  });

  it('applies each event once, so a replay after reconnecting changes nothing', () => {
    const m = new TaskModel();
    const t = task('a', 'running', '2025-01-01T00:00:00Z');
    const events = [
      { seq: 1, at: '', taskId: 'a', type: 'task.created' as const, task: { ...t, status: 'queued' as const } },
      { seq: 2, at: '', taskId: 'a', type: 'task.status' as const, status: 'running' as const, task: t },
      { seq: 3, at: '', taskId: 'a', type: 'agent.delta' as const, messageId: 'm', text: 'hi' },
      {
        seq: 4,
        at: '',
        taskId: 'a',
        type: 'diff.updated' as const,
        changedFiles: [{ path: 'x.ts', status: 'modified' as const, additions: 1, deletions: 0 }],
      },
    ];
    for (const e of events) m.applyEvent(e);
    for (const e of events) m.applyEvent(e);
    assert.equal(m.lastSeq, 4);
    assert.equal(m.get('a')?.status, 'running');
    assert.deepEqual(m.get('a')?.changedFiles.map((f) => f.path), ['x.ts']);
    const agent = m.timeline('a')!.items.find((i) => i.kind === 'agent');
    assert.equal(agent?.kind === 'agent' && agent.text, 'hi');
  });

  it('reports status transitions only for live events, not during a replay', () => {
    const m = new TaskModel();
    const seen: Transition[] = [];
    m.onDidTransition((t) => seen.push(t));
    m.applyFrame({ type: 'hello', protocolVersion: 1, serverVersion: 'x', lastSeq: 1 });
    m.applyFrame({ type: 'event', event: { seq: 1, at: '', taskId: 'a', type: 'task.created', task: task('a', 'queued', '2025') } });
    m.applyFrame({ type: 'replayed', lastSeq: 1 });
    assert.equal(seen.length, 0);
    m.applyFrame({ type: 'event', event: { seq: 2, at: '', taskId: 'a', type: 'task.status', status: 'completed', task: task('a', 'completed', '2025') } });
    assert.deepEqual(seen.map((s) => [s.previous, s.task.status]), [['queued', 'completed']]);
  });

  it('never lets an older REST copy overwrite a newer task', () => {
    const m = new TaskModel();
    m.upsert({ ...task('a', 'completed', '2025-01-01T00:00:00Z'), updatedAt: '2025-01-01T00:05:00Z' });
    m.upsert({ ...task('a', 'running', '2025-01-01T00:00:00Z'), updatedAt: '2025-01-01T00:01:00Z' });
    assert.equal(m.get('a')?.status, 'completed');
  });

  it('drops a deleted task', () => {
    const m = new TaskModel();
    m.applyEvent({ seq: 1, at: '', taskId: 'a', type: 'task.created', task: task('a', 'queued', '2025') });
    m.applyEvent({ seq: 2, at: '', taskId: 'a', type: 'task.deleted' });
    assert.equal(m.list().length, 0);
    assert.equal(m.timeline('a'), undefined);
  });
});
