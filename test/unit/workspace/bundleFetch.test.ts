// A fleet node fetches a bundle another node took in from the store into its own data dir. The
// API (POST /v1/tasks checks the bundle) and a task's prepare may fetch the same bundle at once in
// one process; both must find it whole, and nothing half-written may stay behind. The same holds
// for the same bundle uploaded twice at once.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpawnRunner } from '../../../server/src/util/processRunner';
import { ensureBundleFile, storeBundle } from '../../../server/src/workspace/sources';
import { git, makeRepo } from '../../support/gitRepo';

describe('workspace: a bundle fetched from the store', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'delegate-bundle-fetch-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  const id = 'ab'.repeat(20);
  const data = Buffer.from('# v2 git bundle\n'.padEnd(64 * 1024, 'x'));

  it('is written once whole when several callers in one process fetch it in the same moment', async () => {
    let release!: () => void;
    const ready = new Promise<void>((r) => (release = r));
    let fetches = 0;
    const fetch = async () => {
      fetches++;
      await ready; // every caller is past its "not here yet" check before any has the data
      return data;
    };
    const all = Promise.all(Array.from({ length: 8 }, () => ensureBundleFile(dataDir, id, fetch)));
    await new Promise((r) => setImmediate(r));
    release();
    assert.deepEqual(await all, Array(8).fill(true));
    assert.ok(fetches >= 2, 'the callers raced (else this test proves nothing)');
    assert.deepEqual(readdirSync(join(dataDir, 'bundles')), [`${id}.bundle`], 'no temporary file left');
    assert.ok(readFileSync(join(dataDir, 'bundles', `${id}.bundle`)).equals(data));
  });

  it('is not fetched again once here, and a bundle the store lacks is reported missing', async () => {
    assert.equal(await ensureBundleFile(dataDir, id, async () => data), true);
    assert.equal(await ensureBundleFile(dataDir, id, async () => assert.fail('fetched again')), true);
    assert.equal(await ensureBundleFile(dataDir, 'cd'.repeat(20), async () => undefined), false);
    assert.equal(await ensureBundleFile(dataDir, '../escape', async () => data), false, 'not an id: never fetched');
  });

  it('is stored once whole when the same upload arrives several times at once', async () => {
    const repo = join(dataDir, 'repo');
    makeRepo(repo, { 'a.txt': 'a\n' });
    git(repo, 'bundle', 'create', '-q', join(dataDir, 'up.bundle'), '--all');
    const upload = readFileSync(join(dataDir, 'up.bundle'));
    const store = join(dataDir, 'data');
    const ids = await Promise.all(Array.from({ length: 6 }, () => storeBundle(store, upload, new SpawnRunner())));
    assert.equal(new Set(ids).size, 1, 'one content, one id');
    assert.deepEqual(readdirSync(join(store, 'bundles')), [`${ids[0]}.bundle`], 'no temporary file left');
    assert.ok(readFileSync(join(store, 'bundles', `${ids[0]}.bundle`)).equals(upload));
  });
});
