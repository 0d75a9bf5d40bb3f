// The fleet's queue and leases on PostgreSQL: claims (oldest first, fair between owners, each
// attempt to one node only), heartbeats that extend leases and report lost ones, expired leases
// taken over with a higher fence, release and requeue. And SQLite's single-node meaning of them.
import assert from 'node:assert/strict';
import { PostgresStore } from '../../../server/src/store/postgres';
import { SqliteStore } from '../../../server/src/store/sqlite';
import { LeaseLostError, type Store } from '../../../server/src/store/types';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import { seed } from './backends';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('store fleet queries (postgres)', function () {
  this.timeout(120_000);
  let cluster: TestPostgres;
  let n = 0;
  const open: Store[] = [];
  const fresh = async (count = 1) => {
    const url = await cluster.createDatabase(`fleet_${++n}`);
    const stores = await Promise.all(Array.from({ length: count }, () => PostgresStore.open(url)));
    open.push(...stores);
    return stores;
  };
  /** Marks a claimed attempt as running (as the node's runner would). */
  const run = (s: Store, taskId: string, index: number) => s.updateAttempt(taskId, index, { status: 'running' });

  before(async () => {
    cluster = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  });
  after(async () => {
    await cluster?.stop();
  });

  it('claims the oldest queued attempt first, each once, raising its fence', async () => {
    const [s] = await fresh();
    await seed(s!, 'first');
    await seed(s!, 'second');
    const a = await s!.claimQueued('n1', 10_000, 10);
    const b = await s!.claimQueued('n2', 10_000, 10);
    assert.deepEqual(a, { taskId: 'first', index: 0, key: 'first', fence: 1 });
    assert.deepEqual(b, { taskId: 'second', index: 0, key: 'second', fence: 1 });
    assert.equal(await s!.claimQueued('n1', 10_000, 10), null);
    const [held] = await s!.getAttempts('first');
    assert.equal(held!.node, 'n1');
    assert.ok(Date.parse(held!.leaseUntil!) > Date.now());
  });

  it('gives each attempt to exactly one of many nodes claiming at once', async () => {
    const stores = await fresh(4);
    for (let i = 0; i < 12; i++) await seed(stores[0]!, `t${String(i).padStart(2, '0')}`);
    const claims = await Promise.all(stores.flatMap((s, i) => Array.from({ length: 5 }, () => s.claimQueued(`node${i}`, 10_000, 100))));
    const got = claims.filter((c) => c !== null).map((c) => c.taskId).sort();
    assert.deepEqual(got, Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`));
  });

  it('is fair between owners: fewest running first, and an owner at the cap is skipped', async () => {
    const [s] = await fresh();
    for (const id of ['a1', 'a2', 'a3']) await seed(s!, id, { owner: 'alice' });
    await seed(s!, 'b1', { owner: 'bob' });
    await seed(s!, 'admin1', { owner: null });
    const first = await s!.claimQueued('n', 10_000, 2);
    assert.equal(first!.taskId, 'a1', 'nobody runs anything: the oldest');
    await run(s!, 'a1', 0);
    const second = await s!.claimQueued('n', 10_000, 2);
    assert.equal(second!.taskId, 'b1', 'bob runs nothing, alice one: bob goes first');
    await run(s!, 'b1', 0);
    const third = await s!.claimQueued('n', 10_000, 2);
    assert.equal(third!.taskId, 'admin1', 'the admin runs nothing yet');
    await run(s!, 'admin1', 0);
    const fourth = await s!.claimQueued('n', 10_000, 2);
    assert.equal(fourth!.taskId, 'a2');
    await run(s!, 'a2', 0);
    // Alice is at the cap of 2: her a3 waits.
    assert.equal(await s!.claimQueued('n', 10_000, 2), null);
    await s!.updateAttempt('a1', 0, { status: 'completed' });
    assert.equal((await s!.claimQueued('n', 10_000, 2))!.taskId, 'a3', 'a slot of hers freed up');
  });

  it('extends the leases a node holds and reports those another node took over', async () => {
    const [s, other] = await fresh(2);
    await seed(s!, 'x');
    await seed(s!, 'y');
    const x = (await s!.claimQueued('n1', 300, 10))!;
    const y = (await s!.claimQueued('n1', 300, 10))!;
    await run(s!, 'x', 0);
    await run(s!, 'y', 0);
    assert.deepEqual(await s!.heartbeat({ id: 'n1', maxParallel: 4, running: 2 }, 300, [x, y]), { lost: [] });
    // n1 keeps beating for x only; y's lease runs out and n2 takes it over.
    for (let i = 0; i < 4; i++) {
      await sleep(150);
      await s!.heartbeat({ id: 'n1', maxParallel: 4, running: 2 }, 300, [x]);
    }
    const taken = await other!.claimExpired('n2', 10_000);
    assert.deepEqual(taken, { taskId: 'y', index: 0, key: 'y', fence: 2, previousNode: 'n1' });
    assert.equal(await other!.claimExpired('n2', 10_000), null, 'x is still held');
    assert.deepEqual((await s!.heartbeat({ id: 'n1', maxParallel: 4, running: 2 }, 300, [x, y])).lost, [y]);
    // The old holder's late write is refused; the new holder's goes through.
    await assert.rejects(s!.appendEvents([{ type: 'setup.log', taskId: 'y', text: 'late' }], y), LeaseLostError);
    await other!.appendEvents([{ type: 'setup.log', taskId: 'y', text: 'resumed' }], taken);
    const nodes = await s!.liveNodes(10_000);
    assert.deepEqual(nodes.map((n) => [n.id, n.maxParallel, n.running]), [['n1', 4, 2]]);
    assert.deepEqual(await s!.liveNodes(0), []);
  });

  it('releases a lease when the attempt ends, and requeues a held attempt for another node', async () => {
    const [s] = await fresh();
    await seed(s!, 'r');
    await seed(s!, 'q');
    const r = (await s!.claimQueued('n1', 10_000, 10))!;
    const q = (await s!.claimQueued('n1', 10_000, 10))!;
    await run(s!, 'q', 0);
    await s!.updateAttempt('r', 0, { status: 'completed' }, r);
    await s!.releaseLease(r);
    assert.equal((await s!.getAttempts('r'))[0]!.node, null);
    // A follow-up queues it again: any node may take it, under a new fence.
    await s!.updateAttempt('r', 0, { status: 'queued' });
    const again = (await s!.claimQueued('n2', 10_000, 10))!;
    assert.equal(again.taskId, 'r');
    assert.equal(again.fence, 2);
    assert.equal(await s!.requeue(q), true);
    assert.equal(await s!.requeue(q), false, 'no longer held under that fence');
    const [requeued] = await s!.getAttempts('q');
    assert.deepEqual([requeued!.status, requeued!.node, requeued!.fence], ['queued', null, 2]);
    await assert.rejects(s!.updateAttempt('q', 0, { summary: 'late' }, q), LeaseLostError);
    const taken = (await s!.claimQueued('n2', 10_000, 10))!;
    assert.deepEqual([taken.taskId, taken.fence], ['q', 3]);
  });
});

describe('store fleet queries (sqlite: one node)', () => {
  it('knows only itself, loses nothing, and leaves scheduling to the process', async () => {
    const s: Store = new SqliteStore(':memory:');
    await seed(s, 't');
    assert.deepEqual(await s.liveNodes(1_000), []);
    assert.deepEqual(await s.heartbeat({ id: 'me', maxParallel: 2, running: 1 }, 1_000, [{ key: 't', fence: 0 }]), { lost: [] });
    assert.deepEqual((await s.liveNodes(1_000)).map((n) => n.id), ['me']);
    await s.releaseLease({ key: 't', fence: 0 });
    await assert.rejects(s.claimQueued('me', 1_000, 1), /fleet operation/);
    await assert.rejects(s.claimExpired('me', 1_000), /fleet operation/);
    await assert.rejects(s.requeue({ key: 't', fence: 0 }), /fleet operation/);
    await s.close();
  });
});
