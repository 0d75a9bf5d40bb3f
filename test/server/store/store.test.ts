// The store's behaviour, the same cases against SQLite and PostgreSQL.
import assert from 'node:assert/strict';
import type { TaskEvent } from '../../../protocol';
import { LeaseLostError, type Store } from '../../../server/src/store/types';
import { postgresBackend, seed, sqliteBackend, task, attempt, type Backend } from './backends';

for (const backend of [sqliteBackend(), postgresBackend()]) suite(backend);

function suite(backend: Backend): void {
  describe(`store (${backend.name})`, function () {
    this.timeout(60_000);
    const open: Store[] = [];
    const fresh = async () => {
      const f = await backend.fresh();
      open.push(f.store);
      return { ...f, reopen: async () => { const s = await f.reopen(); open.push(s); return s; } };
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
    });
    after(() => backend.close());

    it('says which kind it is', async () => {
      const { store } = await fresh();
      assert.equal(store.kind, backend.name);
    });

    it('assigns rising sequence numbers, commits task changes with their events, and keeps them across a reopen', async () => {
      const { store, reopen } = await fresh();
      const created = await store.createTask(task('t1'), [attempt('t1')], { kind: 'local', path: '/r' });
      assert.equal(created.seq, 1);
      assert.equal(created.type, 'task.created');
      const { task: t, events } = await store.updateTask('t1', { status: 'running' }, (x, before) => [{ type: 'task.status', taskId: 't1', status: x.status, task: { ...x, prompt: before.status } }]);
      assert.equal(t.status, 'running');
      assert.equal(events[0]!.seq, 2);
      assert.equal((events[0] as Extract<TaskEvent, { type: 'task.status' }>).task.prompt, 'queued', 'the callback sees the task as it was');
      await store.appendEvents([{ type: 'setup.log', taskId: 't1', text: 'a' }, { type: 'setup.log', taskId: 't1', text: 'b' }]);
      assert.equal(await store.lastSeq(), 4);
      assert.deepEqual((await store.eventsSince(2, 10)).map((e) => e.seq), [3, 4]);
      assert.deepEqual((await store.eventsSince(0, 2)).map((e) => e.seq), [1, 2], 'at most limit');
      await store.close();
      const again = await reopen();
      assert.equal((await again.getTask('t1'))!.status, 'running');
      assert.deepEqual(await again.getRepoSpec('t1'), { kind: 'local', path: '/r' });
      assert.equal((await again.appendEvents([{ type: 'setup.log', taskId: 't1', text: 'c' }]))[0]!.seq, 5);
      assert.equal(await again.getTask('nope'), undefined);
      await assert.rejects(again.updateTask('nope', { status: 'running' }), /no task nope/);
    });

    it('removes a patched field that is set to undefined, on tasks and attempts', async () => {
      const { store } = await fresh();
      await seed(store, 'u');
      await store.updateTask('u', { summary: 'x' });
      await store.updateTask('u', { summary: undefined });
      assert.equal('summary' in (await store.getTask('u'))!, false);
      await store.updateAttempt('u', 0, { summary: 'y' });
      const a = await store.updateAttempt('u', 0, { summary: undefined, status: 'running' });
      assert.equal('summary' in a, false);
      assert.equal((await store.getAttempts('u'))[0]!.status, 'running');
    });

    it('lists tasks oldest first and hides deleted ones, keeping their owner and recording the deletion', async () => {
      const { store } = await fresh();
      await seed(store, 'a', { owner: 'alice' });
      await seed(store, 'b');
      assert.deepEqual((await store.listTasks()).map((t) => t.id), ['a', 'b']);
      const e = await store.deleteTask('a', 'alice');
      assert.equal(e.type, 'task.deleted');
      assert.equal((e).actor, 'alice');
      assert.equal(await store.getTask('a'), undefined);
      assert.deepEqual((await store.listTasks()).map((t) => t.id), ['b']);
      assert.equal(await store.taskOwner('a'), 'alice', 'a deleted task keeps its owner');
      assert.equal(await store.taskOwner('b'), null);
      assert.equal(await store.taskOwner('zzz'), undefined);
    });

    it('writes a cause named within its batch as that event\'s seq', async () => {
      const { store } = await fresh();
      await seed(store, 'c');
      const stored = await store.appendEvents([
        { type: 'user.message', taskId: 'c', kind: 'followup', text: 'go on' },
        { type: 'setup.log', taskId: 'c', text: 'x', cause: 1 },
        { type: 'setup.log', taskId: 'c', text: 'y', cause: -2 },
      ]);
      assert.deepEqual(stored.map((e) => e.cause), [undefined, 1, stored[0]!.seq]);
      assert.equal((await store.eventsSince(0, 10)).at(-1)!.cause, stored[0]!.seq);
      await assert.rejects(store.appendEvents([{ type: 'setup.log', taskId: 'c', text: 'z', cause: -1 }]), /before the start of its batch/);
      assert.equal(await store.lastSeq(), 4, 'the refused batch left nothing');
    });

    it('pages a filtered log until it has enough matching events', async () => {
      const { store } = await fresh();
      await seed(store, 'a');
      await seed(store, 'b');
      for (let i = 0; i < 50; i++) await store.appendEvents([{ type: 'setup.log', taskId: i % 10 === 0 ? 'a' : 'b', text: String(i) }]);
      const onlyA = await store.eventsSince(0, 3, new Set(['a']));
      assert.equal(onlyA.length, 3);
      assert.ok(onlyA.every((e) => e.taskId === 'a'));
    });

    it('keeps messages per attempt and hands each out once', async () => {
      const { store } = await fresh();
      await store.addMessage('k', 'steer', 'one');
      await store.addMessage('k', 'steer', 'two');
      await store.addMessage('k', 'followup', 'later');
      await store.addMessage('other', 'steer', 'x');
      assert.deepEqual((await store.peekMessages('k', 'steer')).map((m) => m.text), ['one', 'two']);
      assert.deepEqual((await store.takeMessages('k', 'steer')).map((m) => m.text), ['one', 'two']);
      assert.deepEqual(await store.takeMessages('k', 'steer'), []);
      assert.deepEqual((await store.peekMessages('k', 'followup')).map((m) => m.text), ['later']);
      assert.deepEqual((await store.takeMessages('other', 'steer')).map((m) => m.text), ['x']);
    });

    it('updates an attempt and re-derives its task in one operation, with the events in order', async () => {
      const { store } = await fresh();
      await seed(store, 'd', { attempts: 2 });
      const { task: t, events, attempts } = await store.updateAttemptAndTask('d', 1, { status: 'running' }, (all, current) => ({
        patch: { status: all.some((a) => a.status === 'running') ? 'running' : current.status },
        events: (next, before) => [
          { type: 'setup.log', taskId: 'd', text: 'first' },
          { type: 'task.status', taskId: 'd', status: next.status, task: next, cause: -1 },
          { type: 'setup.log', taskId: 'd', text: before.status },
        ],
      }));
      assert.equal(t.status, 'running');
      assert.deepEqual(attempts.map((a) => a.status), ['queued', 'running']);
      assert.deepEqual(events.map((e) => e.type), ['setup.log', 'task.status', 'setup.log']);
      assert.equal(events[1]!.cause, events[0]!.seq);
      assert.equal((events[2] as Extract<TaskEvent, { type: 'setup.log' }>).text, 'queued');
      assert.equal((await store.getTask('d'))!.status, 'running');
      // A derive that throws leaves nothing behind: not the attempt, not the task, no event.
      const seq = await store.lastSeq();
      await assert.rejects(store.updateAttemptAndTask('d', 0, { status: 'failed' }, () => { throw new Error('boom'); }), /boom/);
      assert.equal((await store.getAttempts('d'))[0]!.status, 'queued');
      assert.equal(await store.lastSeq(), seq);
    });

    it('refuses a guarded write whose fence is not the attempt\'s, and makes none of it', async () => {
      const { store } = await fresh();
      await seed(store, 'f');
      const fence = (await store.getAttempts('f'))[0]!.fence ?? 0;
      const good = { key: 'f', fence };
      const stale = { key: 'f', fence: fence + 7 };
      await store.appendEvents([{ type: 'setup.log', taskId: 'f', text: 'ok' }], good);
      await store.updateAttempt('f', 0, { summary: 'ok' }, good);
      await store.updateTask('f', { summary: 'ok' }, undefined, good);
      await store.updateAttemptAndTask('f', 0, { status: 'running' }, () => ({ patch: { status: 'running' }, events: () => [] }), good);
      const seq = await store.lastSeq();
      const refused = async (p: Promise<unknown>) => {
        const err = await p.then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof LeaseLostError, `expected LeaseLostError, got ${String(err)}`);
        assert.equal(err.currentFence, fence);
        assert.equal(err.code, 'lease_lost');
      };
      await refused(store.appendEvents([{ type: 'setup.log', taskId: 'f', text: 'late' }], stale));
      await refused(store.updateAttempt('f', 0, { summary: 'late' }, stale));
      await refused(store.updateTask('f', { summary: 'late' }, () => [{ type: 'setup.log', taskId: 'f', text: 'late' }], stale));
      await refused(store.updateAttemptAndTask('f', 0, { status: 'failed' }, () => ({ patch: { status: 'failed' }, events: () => [] }), stale));
      assert.equal(await store.lastSeq(), seq);
      assert.equal((await store.getAttempts('f'))[0]!.summary, 'ok');
      assert.equal((await store.getAttempts('f'))[0]!.status, 'running');
      assert.equal((await store.getTask('f'))!.summary, 'ok');
      const gone = await store.appendEvents([{ type: 'setup.log', taskId: 'f', text: 'x' }], { key: 'no-such-attempt', fence: 0 }).catch((e: unknown) => e);
      assert.ok(gone instanceof LeaseLostError && gone.currentFence === undefined);
    });

    it('keeps blobs byte for byte, and deletes them by prefix', async () => {
      const { store } = await fresh();
      const bytes = Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i % 256));
      await store.putBlob('bundle/a', bytes);
      await store.putBlob('bundle/b', Buffer.from('b'));
      await store.putBlob('patch/a', Buffer.alloc(0));
      assert.deepEqual(await store.getBlob('bundle/a'), bytes);
      assert.deepEqual(await store.getBlob('patch/a'), Buffer.alloc(0));
      await store.putBlob('bundle/b', Buffer.from('replaced'));
      assert.equal((await store.getBlob('bundle/b'))!.toString(), 'replaced');
      assert.equal(await store.getBlob('nothing'), undefined);
      await store.deleteBlobs('bundle/');
      assert.equal(await store.getBlob('bundle/a'), undefined);
      assert.equal(await store.getBlob('bundle/b'), undefined);
      assert.ok(await store.getBlob('patch/a'), 'another prefix stays');
    });

    it('remembers who uploaded a bundle, the admin as null', async () => {
      const { store } = await fresh();
      assert.deepEqual(await store.bundleOwners('x'), []);
      await store.addBundleOwner('x', 'alice');
      await store.addBundleOwner('x', null);
      await store.addBundleOwner('x', 'alice');
      await store.addBundleOwner('y', 'bob');
      assert.deepEqual((await store.bundleOwners('x')).sort(), ['alice', null].sort());
      assert.deepEqual(await store.bundleOwners('y'), ['bob']);
    });

    it('hands every committed event to its listeners once, in order', async () => {
      const { store } = await fresh();
      const seen: number[] = [];
      const off = store.onEvents((events) => seen.push(...events.map((e) => e.seq)));
      await seed(store, 'e');
      for (let i = 0; i < 20; i++) await store.appendEvents([{ type: 'setup.log', taskId: 'e', text: String(i) }]);
      await store.updateTask('e', { summary: 's' }, () => [{ type: 'setup.log', taskId: 'e', text: 'u' }]);
      await store.appendEvents([{ type: 'setup.log', taskId: 'e', text: 'bad', cause: -1 }]).catch(() => undefined);
      const last = await store.lastSeq();
      const deadline = Date.now() + 5_000;
      while (seen.length < last && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(seen, Array.from({ length: last }, (_, i) => i + 1));
      off();
    });

    it('carries messages between nodes through notify/listen', async () => {
      const { store } = await fresh();
      const got: string[] = [];
      const off = await store.listen('delegate_test', (p) => got.push(p));
      await store.notify('delegate_test', 'hello');
      const deadline = Date.now() + 5_000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(got, ['hello']);
      off();
    });
  });
}
