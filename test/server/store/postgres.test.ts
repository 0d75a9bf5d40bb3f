// What only the fleet's PostgreSQL store has: migrations shared by nodes that start together, a
// schema newer than the node, connection errors that name the database but never its password,
// one gapless event sequence under concurrent writers, and riding out the database going away.
import assert from 'node:assert/strict';
import pg from 'pg';
import { PostgresStore, StoreOpenError } from '../../../server/src/store/postgres';
import { migrate, SCHEMA_VERSION } from '../../../server/src/store/pgSchema';
import type { Store } from '../../../server/src/store/types';
import { startPostgres, type TestPostgres } from '../../support/postgres';
import { seed } from './backends';
import { startCutProxy } from './cutProxy';

describe('store (postgres only)', function () {
  this.timeout(120_000);
  let cluster: TestPostgres;
  let n = 0;
  const open: Store[] = [];
  const database = () => cluster.createDatabase(`pg_${++n}`);
  const store = async (url: string) => {
    const s = await PostgresStore.open(url);
    open.push(s);
    return s;
  };

  before(async () => {
    cluster = await startPostgres();
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close().catch(() => undefined)));
  });
  after(async () => {
    await cluster?.stop();
  });

  it('migrates exactly once when nodes start together', async () => {
    const url = await database();
    const clients = Array.from({ length: 4 }, () => new pg.Client({ connectionString: url }));
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const results = await Promise.all(clients.map((c) => migrate(c)));
      assert.equal(results.filter((r) => r.from === 0).length, 1, `one node migrates: ${JSON.stringify(results)}`);
      assert.ok(results.every((r) => r.to === SCHEMA_VERSION));
      const { rows } = await clients[0]!.query<{ version: number }>('SELECT version FROM delegate_schema');
      assert.deepEqual(rows, [{ version: SCHEMA_VERSION }]);
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
    // And stores opening at once on a fresh database all come up on one schema.
    const fresh = await database();
    const stores = await Promise.all(Array.from({ length: 4 }, () => store(fresh)));
    await seed(stores[0]!, 'shared');
    assert.equal((await stores[3]!.getTask('shared'))!.id, 'shared');
  });

  it('refuses to start on a schema newer than the node, naming the version it needs', async () => {
    const url = await database();
    await (await store(url)).close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('UPDATE delegate_schema SET version = $1', [SCHEMA_VERSION + 1]);
    await admin.end();
    const err = await PostgresStore.open(url).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof StoreOpenError, String(err));
    assert.match(err.message, new RegExp(`needs schema version ${SCHEMA_VERSION}\\b`));
    assert.match(err.message, new RegExp(`version ${SCHEMA_VERSION + 1}`));
  });

  it('names the database it cannot reach, never the password', async () => {
    const wrong = cluster.url('postgres').replace(cluster.password, 'wrong-pw-7c1e');
    const denied = await PostgresStore.open(wrong).then(() => undefined, (e: unknown) => e);
    assert.ok(denied instanceof StoreOpenError, String(denied));
    assert.match(denied.message, new RegExp(`127\\.0\\.0\\.1:${cluster.port}`));
    assert.ok(!denied.message.includes('wrong-pw-7c1e'), denied.message);
    const closedPort = `postgres://postgres:${cluster.password}@127.0.0.1:1/postgres`;
    const refused = await PostgresStore.open(closedPort).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof StoreOpenError, String(refused));
    assert.match(refused.message, /127\.0\.0\.1:1\b/);
    assert.ok(!refused.message.includes(cluster.password), refused.message);
  });

  it('gives readers one gapless sequence while four nodes write at the same instant', async () => {
    const url = await database();
    const writers = await Promise.all(Array.from({ length: 4 }, () => store(url)));
    const reader = await store(url);
    // Listening before the first write: a feed that starts later may rightly never see seq 1.
    const fed = writers.map(() => [] as number[]);
    writers.forEach((w, i) => w.onEvents((events) => fed[i]!.push(...events.map((e) => e.seq))));
    await seed(writers[0]!, 'g');
    const perWriter = 150;
    const total = 1 + perWriter * writers.length;
    let done = false;
    const writing = Promise.all(
      writers.map(async (w, i) => {
        for (let k = 0; k < perWriter; k++) {
          // Batches of 1 to 3, so concurrent transactions take ranges of different sizes.
          const size = 1 + ((i + k) % 3 === 0 ? 2 : 0);
          await w.appendEvents(Array.from({ length: size }, (_, j) => ({ type: 'setup.log' as const, taskId: 'g', text: `${i}:${k}:${j}` })));
        }
      }),
    ).finally(() => (done = true));
    const seen: number[] = [];
    let last = 0;
    while (!done || last < (await reader.lastSeq())) {
      const page = await reader.eventsSince(last, 1000);
      for (const e of page) {
        assert.equal(e.seq, last + 1, `after ${last} the reader saw ${e.seq}: a later commit became visible before an earlier seq`);
        last = e.seq;
        seen.push(e.seq);
      }
    }
    await writing;
    const expected = await reader.lastSeq();
    assert.ok(expected >= total);
    assert.equal(seen.length, expected);
    // Every node's feed (its bus) gets the same stream, its own writes included, once each.
    for (const w of writers) await (w).caughtUp(expected);
    for (const f of fed) assert.deepEqual(f, Array.from({ length: expected }, (_, i) => i + 1));
  });

  it('goes on after the database goes away and comes back, losing and repeating nothing', async () => {
    const url = new URL(await database());
    const proxy = await startCutProxy(Number(url.port));
    try {
      url.port = String(proxy.port);
      const s = await store(url.toString());
      const fed: number[] = [];
      s.onEvents((events) => fed.push(...events.map((e) => e.seq)));
      await seed(s, 'r');
      const writes = 40;
      const writing = (async () => {
        for (let k = 0; k < writes; k++) {
          await s.appendEvents([{ type: 'setup.log', taskId: 'r', text: `w${k}` }]);
          await s.addMessage('r', 'steer', `m${k}`);
          await new Promise((r) => setTimeout(r, 25));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      proxy.cut();
      await new Promise((r) => setTimeout(r, 1_500));
      await proxy.restore();
      await writing;
      const events = await s.eventsSince(0, 1000);
      assert.deepEqual(events.map((e) => e.seq), Array.from({ length: writes + 1 }, (_, i) => i + 1));
      assert.deepEqual(events.slice(1).map((e) => (e as { text?: string }).text), Array.from({ length: writes }, (_, k) => `w${k}`));
      assert.deepEqual((await s.takeMessages('r', 'steer')).map((m) => m.text), Array.from({ length: writes }, (_, k) => `m${k}`));
      assert.ok(proxy.cuts > 0, 'the connections were cut');
      await (s).caughtUp(writes + 1);
      assert.deepEqual(fed, Array.from({ length: writes + 1 }, (_, i) => i + 1));
    } finally {
      await proxy.close();
    }
  });

  it('commits once when the answer to a COMMIT is lost with the connection', async () => {
    const url = new URL(await database());
    const proxy = await startCutProxy(Number(url.port));
    try {
      url.port = String(proxy.port);
      const s = await store(url.toString());
      await seed(s, 'c');
      for (let k = 0; k < 3; k++) {
        proxy.loseCommitAnswers(1);
        const [stored] = await s.appendEvents([{ type: 'setup.log', taskId: 'c', text: `once ${k}` }]);
        assert.equal(stored!.seq, k + 2);
        proxy.loseCommitAnswers(1);
        await s.addMessage('c', 'steer', `m${k}`);
      }
      assert.deepEqual((await s.eventsSince(0, 100)).map((e) => (e as { text?: string }).text ?? e.type), ['task.created', 'once 0', 'once 1', 'once 2']);
      assert.deepEqual((await s.peekMessages('c', 'steer')).map((m) => m.text), ['m0', 'm1', 'm2']);
    } finally {
      await proxy.close();
    }
  });
});
