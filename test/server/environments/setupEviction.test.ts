// The cache of set-up layers is bounded: beyond --environment-cache-mb the least recently used
// layers no workspace stacks on are removed (a task's layer is kept while the task exists). Real
// server, bwrap sandbox; each setup leaves a 1 MiB file, the cache holds 2.5 MiB.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, until, waitForTask } from '../../support/tasks';
import { cacheEntries, setupEvents } from './helpers';

describe('environments: the layer cache is bounded by size, least recently used first [bwrap]', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let server: ServerProcess;
  let root: string;
  let repo: string;
  let n = 0;

  /** Runs a task on environment `flavour`; whether its setup came from the cache. Deleted when `remove`. */
  async function run(flavour: string, remove: boolean): Promise<boolean> {
    const script = `evict-${n++}`;
    model.setScript(script, [{ toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
    const task = await createTask(server, repo, `Go [[script:${script}]]`, { environment: { setup: 'mkdir -p node_modules && head -c 1048576 /dev/urandom > node_modules/blob', env: { FLAVOUR: flavour } } });
    const done = await waitForTask(server, task.id, isDone, 120_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
    const cached = setupEvents(await allEvents(server, task.id)).started;
    assert.equal(cached.length, 1);
    if (remove) assert.equal((await api(server, 'DELETE', `/v1/tasks/${task.id}`)).status, 204);
    return cached[0]!;
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-env-evict-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, { 'README.md': '# evict\n', '.gitignore': 'node_modules/\n' });
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap', '--environment-cache-mb', '2.5'] });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('evicts the least recently used unpinned layer when a new one does not fit', async () => {
    assert.equal(await run('a', true), false);
    const a = cacheEntries(server.dataDir);
    assert.equal(await run('b', true), false);
    const b = cacheEntries(server.dataDir).filter((k) => !a.includes(k));
    assert.equal(b.length, 1);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await run('a', true), true, 'a from the cache: now used more recently than b');
    assert.equal(await run('c', false), false);
    await until(() => cacheEntries(server.dataDir).length === 2, 10_000, 'the eviction');
    const left = cacheEntries(server.dataDir);
    assert.ok(left.includes(a[0]!), 'a, recently used, stays');
    assert.ok(!left.includes(b[0]!), 'b, least recently used, went');
    // c's task still exists: its layer is pinned even when more layers come and go.
    const c = left.find((k) => k !== a[0])!;
    assert.equal(await run('d', true), false);
    await until(() => !cacheEntries(server.dataDir).includes(a[0]!), 10_000, 'a to go');
    assert.ok(cacheEntries(server.dataDir).includes(c), 'the layer of a task that still exists is kept');
  });
});
