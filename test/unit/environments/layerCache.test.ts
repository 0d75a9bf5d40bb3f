// The cache of set-up layers on disk (server/src/environments/layerCache.ts): complete entries only,
// temp dirs never read and swept, eviction by age and by size, least recently used first, pinned
// entries kept.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayerCache } from '../../../server/src/environments/layerCache';
import { SpawnRunner } from '../../../server/src/util/processRunner';
import { NO_LOG } from '../../../server/src/log';

describe('environments: the layer cache', () => {
  let data: string;
  beforeEach(() => (data = mkdtempSync(join(tmpdir(), 'delegate-cache-'))));
  afterEach(() => rmSync(data, { recursive: true, force: true }));

  const cache = (maxBytes = 1 << 30, maxAgeMs = 86_400_000) => new LayerCache(data, new SpawnRunner(), { maxBytes, maxAgeMs }, NO_LOG);

  /** A built temp dir, committed as `key`. */
  async function entry(c: LayerCache, key: string, bytes: number, usedAgoMs = 0): Promise<void> {
    const tmp = await c.temp();
    mkdirSync(join(tmp, 'layer', 'node_modules'), { recursive: true });
    writeFileSync(join(tmp, 'layer', 'node_modules', 'x'), key);
    writeFileSync(join(tmp, 'index'), '');
    await c.commit(tmp, key, { version: 1, tree: 'a'.repeat(40), bytes, createdAt: new Date().toISOString() });
    const used = new Date(Date.now() - usedAgoMs);
    utimesSync(join(c.root, key, 'used'), used, used);
  }

  it('finds only complete entries: a temp dir (a build under way, or a crashed one) is never an entry', async () => {
    const c = cache();
    assert.equal(await c.lookup('k1'), null);
    const tmp = await c.temp();
    mkdirSync(join(tmp, 'layer'));
    assert.equal(await c.lookup('k1'), null);
    await entry(c, 'k1', 10);
    const hit = await c.lookup('k1');
    assert.equal(hit?.dir, join(c.root, 'k1', 'layer'));
    assert.equal(hit?.tree, 'a'.repeat(40));
    assert.equal(await c.sweep(), 1);
    assert.deepEqual(readdirSync(c.root), ['k1']);
  });

  it('a second build of the same key keeps the first entry and drops its own temp dir', async () => {
    const c = cache();
    await entry(c, 'k1', 10);
    const tmp = await c.temp();
    mkdirSync(join(tmp, 'layer'));
    await c.commit(tmp, 'k1', { version: 1, tree: 'b'.repeat(40), bytes: 10, createdAt: new Date().toISOString() });
    assert.equal((await c.lookup('k1'))?.tree, 'a'.repeat(40));
    assert.deepEqual(readdirSync(c.root), ['k1']);
  });

  it('evicts entries unused for longer than the age bound, unless pinned', async () => {
    const c = cache(1 << 30, 60_000);
    await entry(c, 'old', 10, 120_000);
    await entry(c, 'pinned', 10, 120_000);
    await entry(c, 'fresh', 10);
    assert.deepEqual(await c.evict(async (k) => k === 'pinned'), ['old']);
    assert.deepEqual(readdirSync(c.root).sort(), ['fresh', 'pinned']);
  });

  it('evicts the least recently used until the rest fit, and a lookup counts as a use', async () => {
    const c = cache(250);
    await entry(c, 'a', 100, 30_000);
    await entry(c, 'b', 100, 20_000);
    await entry(c, 'c', 100, 10_000);
    await c.lookup('a'); // now the most recently used
    assert.deepEqual(await c.evict(async () => false), ['b']);
    assert.deepEqual(readdirSync(c.root).sort(), ['a', 'c']);
  });
});
