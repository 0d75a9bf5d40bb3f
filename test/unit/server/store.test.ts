import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EMPTY_USAGE, type Task } from '../../../protocol';
import { SqliteStore } from '../../../server/src/store/sqlite';

function task(id: string): Task {
  const now = new Date().toISOString();
  return { id, status: 'queued', prompt: 'p', repo: { kind: 'local', name: 'r', path: '/r' }, options: {}, createdAt: now, updatedAt: now, usage: EMPTY_USAGE, changedFiles: [] };
}
const attempt = (taskId: string) => ({ taskId, index: 0, status: 'queued' as const, workspaceKey: taskId, history: [], usage: EMPTY_USAGE, changedFiles: [] });

describe('SQLite store', async () => {
  it('assigns rising sequence numbers and commits task changes with their events', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'delegate-store-')), 'db.sqlite');
    const store = new SqliteStore(file);
    const created = await store.createTask(task('t1'), [attempt('t1')], { kind: 'local', path: '/r' });
    assert.equal(created.seq, 1);
    const { task: t, events } = await store.updateTask('t1', { status: 'running' }, (x) => [{ type: 'task.status', taskId: 't1', status: x.status, task: x }]);
    assert.equal(t.status, 'running');
    assert.equal(events[0]!.seq, 2);
    await store.appendEvents([{ type: 'setup.log', taskId: 't1', text: 'a' }, { type: 'setup.log', taskId: 't1', text: 'b' }]);
    assert.equal(await store.lastSeq(), 4);
    assert.deepEqual((await store.eventsSince(2, 10)).map((e) => e.seq), [3, 4]);
    await store.close();
    // Reopen: everything is there and numbering continues.
    const again = new SqliteStore(file);
    assert.equal((await again.getTask('t1'))!.status, 'running');
    assert.deepEqual(await again.getRepoSpec('t1'), { kind: 'local', path: '/r' });
    assert.equal((await again.appendEvents([{ type: 'setup.log', taskId: 't1', text: 'c' }]))[0]!.seq, 5);
    await again.close();
  });

  it('writes a cause named within its batch as that event\'s seq', async () => {
    const store = new SqliteStore(':memory:');
    await store.createTask(task('c'), [attempt('c')], { kind: 'local', path: '/c' });
    const stored = await store.appendEvents([
      { type: 'user.message', taskId: 'c', kind: 'followup', text: 'go on' },
      { type: 'setup.log', taskId: 'c', text: 'x', cause: 1 },
      { type: 'setup.log', taskId: 'c', text: 'y', cause: -2 },
    ]);
    assert.deepEqual(stored.map((e) => e.cause), [undefined, 1, stored[0]!.seq]);
    assert.equal((await store.eventsSince(0, 10)).at(-1)!.cause, stored[0]!.seq, 'stored as the seq, not the offset');
    await assert.rejects(store.appendEvents([{ type: 'setup.log', taskId: 'c', text: 'z', cause: -1 }]), /before the start of its batch/);
    await store.close();
  });

  it('pages a filtered log until it has enough matching events', async () => {
    const store = new SqliteStore(':memory:');
    await store.createTask(task('a'), [attempt('a')], { kind: 'local', path: '/a' });
    await store.createTask(task('b'), [attempt('b')], { kind: 'local', path: '/b' });
    for (let i = 0; i < 50; i++) await store.appendEvents([{ type: 'setup.log', taskId: i % 10 === 0 ? 'a' : 'b', text: String(i) }]);
    const onlyA = await store.eventsSince(0, 3, new Set(['a']));
    assert.equal(onlyA.length, 3);
    assert.ok(onlyA.every((e) => e.taskId === 'a'));
  });

  it('keeps messages per attempt and hands each out once', async () => {
    const store = new SqliteStore(':memory:');
    await store.addMessage('k', 'steer', 'one');
    await store.addMessage('k', 'steer', 'two');
    await store.addMessage('k', 'followup', 'later');
    await store.addMessage('other', 'steer', 'x');
    assert.deepEqual((await store.takeMessages('k', 'steer')).map((m) => m.text), ['one', 'two']);
    assert.deepEqual(await store.takeMessages('k', 'steer'), []);
    assert.deepEqual((await store.peekMessages('k', 'followup')).map((m) => m.text), ['later']);
    assert.deepEqual((await store.takeMessages('other', 'steer')).map((m) => m.text), ['x']);
  });

  it('hides deleted tasks and records the deletion', async () => {
    const store = new SqliteStore(':memory:');
    await store.createTask(task('gone'), [attempt('gone')], { kind: 'local', path: '/g' });
    const e = await store.deleteTask('gone');
    assert.equal(e.type, 'task.deleted');
    assert.equal(await store.getTask('gone'), undefined);
    assert.deepEqual(await store.listTasks(), []);
  });
});
