// The environment's setup runs once per (commit, environment) and becomes a read-only layer under
// later tasks' views, through the real server (bwrap sandbox, the scripted model): a hit on the
// same commit and environment, a miss when either changes, setup's changes kept out of the task's
// diff, a follow-up that does not run setup again, no cache entry after a failing setup.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TaskEvent } from '../../../protocol';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { commitAll, makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { allEvents, createTask, isDone, until, waitForTask } from '../../support/tasks';
import { cacheEntries, setupEvents } from './helpers';

const SETUP = 'mkdir -p node_modules/dep && echo "dep $(cat VERSION)" > node_modules/dep/index.txt && echo generated > tracked.txt && echo set up';

describe('environments: setup once per commit and environment, cached as a layer [bwrap]', function () {
  this.timeout(180_000);
  let model: FakeModel;
  let server: ServerProcess;
  let root: string;
  let repo: string;
  let n = 0;

  /** A task whose agent runs `command` and finishes; its events and result. */
  async function task(command: string, options: Record<string, unknown> = {}): Promise<{ id: string; status: string; output: string; events: TaskEvent[]; error?: string }> {
    const script = `env-${n++}`;
    model.setScript(script, [{ toolCalls: [{ name: 'shell', arguments: { command } }] }, { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
    const created = await createTask(server, repo, `Look [[script:${script}]]`, options);
    const done = await waitForTask(server, created.id, isDone, 120_000);
    const events = await allEvents(server, created.id);
    const result = events.find((e) => e.type === 'tool.result');
    return { id: created.id, status: done.status, output: result?.type === 'tool.result' ? result.output : '', events, error: done.error?.message };
  }

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-env-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, {
      'README.md': '# env\n',
      VERSION: '1\n',
      'tracked.txt': 'original\n',
      '.gitignore': 'node_modules/\n',
      '.delegate/environment.json': JSON.stringify({ setup: SETUP }),
    });
    model = await startFakeModel();
    server = await startServer({ modelBaseUrl: model.baseUrl, args: ['--sandbox', 'bwrap'] });
  });
  after(async () => {
    await server?.stop();
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('runs setup for the first task, reuses its layer for the next one on the same commit, and keeps it out of the diff', async () => {
    const first = await task('cat node_modules/dep/index.txt tracked.txt; git status --porcelain');
    assert.equal(first.status, 'completed', first.error);
    const s1 = setupEvents(first.events);
    assert.deepEqual(s1.started, [false]);
    assert.deepEqual(s1.finished, [{ cached: false, exitCode: 0 }]);
    assert.match(s1.log, /set up/);
    assert.match(first.output, /dep 1\s+generated/);
    assert.equal(cacheEntries(server.dataDir).length, 1);

    const second = await task('cat node_modules/dep/index.txt tracked.txt; git status --porcelain');
    assert.equal(second.status, 'completed', second.error);
    const s2 = setupEvents(second.events);
    assert.deepEqual(s2.started, [true]);
    assert.deepEqual(s2.finished, [{ cached: true, exitCode: 0 }]);
    assert.doesNotMatch(s2.log, /set up/, 'the script did not run again');
    assert.match(second.output, /dep 1\s+generated/);
    // git in the sandbox sees no change: setup's are in the task's base.
    assert.doesNotMatch(second.output, /tracked\.txt/);
    const diff = await api<string>(server, 'GET', `/v1/tasks/${second.id}/diff`);
    assert.equal(diff.status, 200);
    assert.doesNotMatch(String(diff.body), /tracked\.txt|node_modules/);
    assert.equal(cacheEntries(server.dataDir).length, 1);
  });

  it('a follow-up does not run setup again and still sees its result', async () => {
    // The scripted model plays on from the task's script: steps 3 and 4 answer the follow-up.
    const script = `env-f${n++}`;
    model.setScript(script, [
      { toolCalls: [{ name: 'shell', arguments: { command: 'true' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'cat node_modules/dep/index.txt' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'again' } }] },
    ]);
    const first = await createTask(server, repo, `Look [[script:${script}]]`);
    await waitForTask(server, first.id, isDone, 120_000);
    const before = (await allEvents(server, first.id)).length;
    const res = await api(server, 'POST', `/v1/tasks/${first.id}/messages`, { text: 'Again' });
    assert.ok(res.status < 300, JSON.stringify(res.body));
    let later: TaskEvent[] = [];
    await until(async () => (later = (await allEvents(server, first.id)).slice(before)).some((e) => e.type === 'agent.finished'), 60_000, 'the follow-up to finish');
    assert.deepEqual(setupEvents(later).started, []);
    const out = later.find((e) => e.type === 'tool.result');
    assert.ok(out?.type === 'tool.result');
    assert.match(out.output, /dep 1/);
  });

  it('misses when the commit changes, and when the environment changes', async () => {
    writeFileSync(join(repo, 'VERSION'), '2\n');
    commitAll(repo, 'version 2');
    const onNewCommit = await task('cat node_modules/dep/index.txt');
    assert.equal(onNewCommit.status, 'completed', onNewCommit.error);
    assert.deepEqual(setupEvents(onNewCommit.events).started, [false]);
    assert.match(onNewCommit.output, /dep 2/);
    const otherEnvironment = await task('cat node_modules/dep/index.txt', { environment: { setup: `${SETUP} && echo other`, env: { FLAVOUR: 'x' } } });
    assert.equal(otherEnvironment.status, 'completed', otherEnvironment.error);
    assert.deepEqual(setupEvents(otherEnvironment.events).started, [false]);
    assert.equal(cacheEntries(server.dataDir).length, 3);
    const again = await task('true', { environment: { setup: `${SETUP} && echo other`, env: { FLAVOUR: 'x' } } });
    assert.deepEqual(setupEvents(again.events).started, [true]);
  });

  it('/healthz lists the toolchains of the bwrap sandbox (the host\'s /usr), and each runs there', async () => {
    const health = await api<{ sandbox: { toolchains?: string[] } }>(server, 'GET', '/healthz');
    const toolchains = health.body.sandbox.toolchains ?? [];
    assert.ok(toolchains.includes('git'), JSON.stringify(health.body));
    const listed = await task(`for t in ${toolchains.join(' ')}; do command -v "$t" >/dev/null && echo "has $t"; done`);
    assert.equal(listed.status, 'completed', listed.error);
    for (const t of toolchains) assert.match(listed.output, new RegExp(`^has ${t.replace(/[+]/g, '\\+')}$`, 'm'));
  });

  it('a task cancelled during its setup: the step ends, no cache entry, no temp dir', async () => {
    const entries = cacheEntries(server.dataDir).length;
    model.setScript('cancel', [{ toolCalls: [{ name: 'finish', arguments: { summary: 'done' } }] }]);
    const created = await createTask(server, repo, 'Cancel [[script:cancel]]', { environment: { setup: 'mkdir -p node_modules && echo started && sleep 60' } });
    await until(async () => setupEvents(await allEvents(server, created.id)).log.includes('started'), 60_000, 'the setup to start');
    assert.ok((await api(server, 'POST', `/v1/tasks/${created.id}/cancel`)).status < 300);
    const done = await waitForTask(server, created.id, isDone, 30_000);
    assert.equal(done.status, 'cancelled');
    assert.deepEqual(setupEvents(await allEvents(server, created.id)).finished, [{ cached: false, exitCode: null }]);
    assert.equal(cacheEntries(server.dataDir).length, entries);
    assert.deepEqual(readdirSync(join(server.dataDir, 'environments')).filter((n) => n.startsWith('.')), []);
  });

  it('uncommitted changes to a file the setup also changed: the task fails saying so (they apply on top of the setup)', async () => {
    writeFileSync(join(repo, 'tracked.txt'), 'edited by the user\n');
    try {
      const clash = await task('cat tracked.txt');
      assert.equal(clash.status, 'failed');
      assert.match(clash.error ?? '', /uncommitted changes do not apply .* as the environment's setup left it/);
    } finally {
      writeFileSync(join(repo, 'tracked.txt'), 'original\n');
    }
    writeFileSync(join(repo, 'README.md'), '# env, edited\n');
    try {
      const other = await task('cat README.md tracked.txt; git status --porcelain');
      assert.equal(other.status, 'completed', other.error);
      assert.deepEqual(setupEvents(other.events).started, [true], 'uncommitted changes do not change the key');
      assert.match(other.output, /# env, edited\s+generated/);
      assert.doesNotMatch(other.output, /^.. \S/m, `the task starts clean (the user's changes are in its base): ${other.output}`);
    } finally {
      writeFileSync(join(repo, 'README.md'), '# env\n');
    }
  });

  it('an environment naming a docker image on a bwrap server: said in the setup log, and the task runs on the host\'s /usr', async () => {
    const run = await task('cat node_modules/dep/index.txt', { environment: { image: 'delegate-sandbox:universal', setup: SETUP } });
    assert.equal(run.status, 'completed', run.error);
    assert.match(setupEvents(run.events).log, /image delegate-sandbox:universal is for the docker sandbox/);
  });

  it('a failing setup fails the task and leaves no cache entry', async () => {
    const entries = cacheEntries(server.dataDir).length;
    const failed = await task('true', { environment: { setup: 'echo half > node_modules/x; echo broken >&2; exit 3' } });
    assert.equal(failed.status, 'failed');
    assert.match(failed.error ?? '', /setup script exited with 3/);
    assert.deepEqual(setupEvents(failed.events).finished, [{ cached: false, exitCode: 3 }]);
    assert.equal(cacheEntries(server.dataDir).length, entries);
    assert.deepEqual(readdirSync(join(server.dataDir, 'environments')).filter((n) => n.startsWith('.')), [], 'no temp dir left');
  });
});
