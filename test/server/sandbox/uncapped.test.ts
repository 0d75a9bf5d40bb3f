// A server run by an ordinary user cannot cap its sandboxes' disk (the workspace is a checkout on
// the host's disk) nor, without a delegated cgroup (this machine), their memory. It refuses tasks
// then, and says why, unless started with --allow-uncapped; with it, it says so at start and in
// /healthz. A root server here caps both and says nothing of the sort.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SPARES_SWITCH } from './drivers';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { createTask, isDone, waitForTask } from '../../support/tasks';

const NOBODY = 65534;

interface Health {
  ok: boolean;
  sandbox: { driver: string | null; ok: boolean; reason?: string; uncapped?: string };
}

describe('sandboxes that cannot be capped', function () {
  this.timeout(120_000);
  let model: FakeModel;
  let root: string;
  let repo: string;
  const servers: ServerProcess[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-uncapped-'));
    chmodSync(root, 0o755);
    repo = join(root, 'repo');
    makeRepo(repo, { 'README.md': '# caps\n' });
    execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, repo]);
    model = await startFakeModel();
    model.setScript('caps', [{ toolCalls: [{ name: 'finish', arguments: { summary: 'Nothing to do.' } }] }]);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    await model?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  /** A server as `nobody` (or root) with its own data dir and home. */
  async function server(name: string, options: { unprivileged: boolean; args?: string[] }): Promise<ServerProcess> {
    const dataDir = join(root, `data-${name}`);
    const home = join(root, `home-${name}`);
    mkdirSync(dataDir);
    mkdirSync(home);
    if (options.unprivileged) execFileSync('chown', ['-R', `${NOBODY}:${NOBODY}`, dataDir, home]);
    const started = await startServer({ modelBaseUrl: model.baseUrl, dataDir, args: ['--sandbox', 'bwrap', ...(options.args ?? []), ...SPARES_SWITCH], env: { HOME: home }, ...(options.unprivileged ? { unprivilegedUid: NOBODY } : {}) });
    servers.push(started);
    return started;
  }

  it('as an ordinary user, refuses tasks and says why, in the log and in /healthz', async () => {
    const s = await server('refuse', { unprivileged: true });
    const health = await api<Health>(s, 'GET', '/healthz');
    assert.equal(health.body.sandbox.ok, false);
    assert.match(health.body.sandbox.reason ?? '', /NO memory cap.*NO disk cap.*--allow-uncapped/s);
    assert.match(s.logs(), /--allow-uncapped/);
    const task = await createTask(s, repo, 'Anything [[script:caps]]');
    const done = await waitForTask(s, task.id, isDone, 60_000);
    assert.equal(done.status, 'failed');
    assert.equal(done.error?.code, 'sandbox_unavailable');
    assert.match(done.error?.message ?? '', /--allow-uncapped/);
  });

  it('as an ordinary user with --allow-uncapped, runs tasks and says what is uncapped at start and in /healthz', async () => {
    const s = await server('allow', { unprivileged: true, args: ['--allow-uncapped'] });
    const health = await api<Health>(s, 'GET', '/healthz');
    assert.equal(health.body.sandbox.ok, true);
    assert.match(health.body.sandbox.uncapped ?? '', /NO memory cap.*NO disk cap/s);
    assert.match(s.logs(), /SANDBOXES UNCAPPED/);
    const task = await createTask(s, repo, 'Anything [[script:caps]]');
    const done = await waitForTask(s, task.id, isDone, 60_000);
    assert.equal(done.status, 'completed', JSON.stringify(done.error));
  });

  it('as root with cgroups, caps both and says nothing is uncapped', async () => {
    if (process.getuid?.() !== 0) return;
    const s = await server('root', { unprivileged: false });
    const health = await api<Health>(s, 'GET', '/healthz');
    assert.equal(health.body.sandbox.ok, true);
    assert.equal(health.body.sandbox.uncapped, undefined);
    assert.doesNotMatch(s.logs(), /UNCAPPED|allow-uncapped/);
  });
});
