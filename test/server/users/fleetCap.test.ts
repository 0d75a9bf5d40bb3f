// Users (#16) in a fleet: the per-user cap counts an attempt from the moment a node claims it, not
// only once that node has said 'preparing' — otherwise two nodes claiming in that gap both see room
// and a user holds more slots of the fleet than --max-parallel-per-user.
import assert from 'node:assert/strict';
import { PostgresStore } from '../../../server/src/store/postgres';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import { seed } from '../store/backends';

describe('users: the per-user cap across a fleet (store)', function () {
  this.timeout(60_000);
  let cluster: TestPostgres;
  const open: PostgresStore[] = [];
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await Promise.all(open.map((s) => s.close().catch(() => undefined)));
    await cluster?.stop();
  });

  it('counts a just-claimed attempt against its owner, on every node', async () => {
    const url = await cluster.createDatabase('cap');
    const [one, two] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    open.push(one, two);
    for (const id of ['a1', 'a2', 'a3']) await seed(one, id, { owner: 'alice' });
    await seed(one, 'b1', { owner: 'bob' });
    const first = await one.claimQueued('node-1', 10_000, 1);
    assert.equal(first?.taskId, 'a1');
    // node-1 has not started a1 yet; node-2 must still see Alice at her cap of 1.
    const second = await two.claimQueued('node-2', 10_000, 1);
    assert.equal(second?.taskId, 'b1', 'Alice\'s claimed a1 counts: Bob\'s task is next');
    assert.equal(await two.claimQueued('node-2', 10_000, 1), null, 'both at the cap');
    await one.updateAttempt('a1', 0, { status: 'completed' });
    assert.equal((await two.claimQueued('node-2', 10_000, 1))?.taskId, 'a2', 'her slot freed up');
  });
});
