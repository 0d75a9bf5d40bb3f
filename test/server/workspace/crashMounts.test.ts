// A server killed with SIGKILL leaves mounts, cgroups and sandbox processes behind; the next one
// must release all of them before it serves, and a clean stop must leave nothing either. The
// server is killed at three moments: while a task's workspace is being prepared (view mounted, the
// user's changes not yet applied), mid-command, and while a snapshot is being written.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { detectCgroups, type CgroupLayout } from '../../../server/src/sandbox/cgroups';
import { startFakeModel, type FakeModel } from '../../support/fakeModel';
import { makeRepo } from '../../support/gitRepo';
import { api, startServer, type ServerProcess } from '../../support/serverProcess';
import { createTask, getTask, isDone, until, waitForTask } from '../../support/tasks';
import { mountsUnder } from './fixture';

const FILES = 400;

describe('crash: nothing of a killed server outlives the next one', function () {
  this.timeout(300_000);
  let model: FakeModel;
  let server: ServerProcess | undefined;
  let layout: CgroupLayout | undefined;
  const pids: number[] = [];

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // mounts and cgroups are made by a root server only
    model = await startFakeModel();
    const cgroups = await detectCgroups();
    layout = cgroups.ok ? cgroups.layout : undefined;
  });
  const dataDirs: string[] = [];
  after(async () => {
    await server?.stop();
    await model?.close();
    // After a failure: nothing of this test may stay mounted on the shared machine.
    for (const dir of dataDirs) for (const m of mountsUnder(dir).reverse()) spawnSync('umount', ['-l', m]);
  });

  /** Cgroups made by one of this test's servers (their names start with the owner's pid). */
  function ourCgroups(): string[] {
    if (!layout) return [];
    const bases = layout.version === 2 ? [layout.base] : [layout.memory, layout.pids, layout.cpu];
    return bases.flatMap((base) => (existsSync(base) ? readdirSync(base) : []).filter((n) => pids.some((p) => n.startsWith(`${p}-`))).map((n) => join(base, n)));
  }

  /** Processes that work in the data dir (sandboxes bind it; git runs in it) other than the server. */
  function processesUsing(dataDir: string, except: number[]): string[] {
    const out: string[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name) || except.includes(Number(name))) continue;
      try {
        const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
        if (cmdline.includes(dataDir)) out.push(`${name}: ${cmdline.slice(0, 200)}`);
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  async function start(dataDir?: string): Promise<ServerProcess> {
    const s = await startServer({ modelBaseUrl: model.baseUrl, args: ['--max-parallel', '4', '--sandbox', 'bwrap'], ...(dataDir ? { dataDir } : {}) });
    pids.push(s.pid);
    dataDirs.push(s.dataDir);
    return s;
  }

  /** After a restart: nothing under tasks/ is mounted and nothing the dead server ran is left. */
  async function assertReleased(s: ServerProcess, dead: number): Promise<void> {
    assert.deepEqual(mountsUnder(join(s.dataDir, 'tasks')), [], 'task views and scratch dirs unmounted before serving');
    assert.deepEqual(mountsUnder(join(s.dataDir, 'sandboxes')).filter((m) => m.includes(`/sandboxes/${dead}-`)), [], 'the dead server\'s slots released');
    assert.deepEqual(ourCgroups().filter((c) => c.includes(`/${dead}-`)), [], 'the dead server\'s cgroups removed');
    await until(() => processesUsing(s.dataDir, [s.pid]).every((p) => !p.includes(`/${dead}-`) && !p.includes('/tasks/')), 10_000, 'sandbox processes of the dead server gone')
      .catch(() => assert.fail(`processes left: ${processesUsing(s.dataDir, [s.pid]).join('\n')}`));
  }

  it('kill -9 while preparing, mid-command and during a snapshot; restart, follow up, stop: nothing is left', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'delegate-crashmounts-repo-'));
    chmodSync(repo, 0o755);
    const files: Record<string, string> = {};
    for (let i = 0; i < FILES; i++) files[`src/f${i}.txt`] = `line ${i}\n`.repeat(20);
    makeRepo(repo, files);
    // Uncommitted changes to every file: applying them takes a while after the view is mounted.
    for (let i = 0; i < FILES; i++) writeFileSync(join(repo, `src/f${i}.txt`), `changed ${i}\n`.repeat(2000));
    model.setScript('work', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'echo progress > progress.txt' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 60' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'finished' } }] },
    ]);
    model.setScript('many', [
      { toolCalls: [{ name: 'shell', arguments: { command: 'mkdir -p gen && for i in $(seq 1 4000); do echo "$i" > gen/f$i.txt; done' } }] },
      { toolCalls: [{ name: 'shell', arguments: { command: 'sleep 60' } }] },
      { toolCalls: [{ name: 'finish', arguments: { summary: 'finished' } }] },
    ]);
    server = await start();
    const dataDir = server.dataDir;
    const ids: string[] = [];

    // 1. While preparing: the view is mounted, the user's changes are being applied.
    const preparing = (await createTask(server, repo, 'prep [[script:work]]')).id;
    ids.push(preparing);
    const taskDir = join(dataDir, 'tasks', preparing);
    await until(() => mountsUnder(taskDir).some((m) => m.endsWith('/view')), 60_000, 'the view mounted');
    const halfPrepared = !existsSync(join(taskDir, 'state.json'));
    await server.kill();
    assert.ok(halfPrepared, 'killed before the workspace was complete');
    let dead = server.pid;
    server = await start(dataDir);
    await assertReleased(server, dead);

    // 2. Mid-command: a sandbox runs `sleep 60` over the task's view.
    const midCommand = (await createTask(server, repo, 'mid [[script:work]]')).id;
    ids.push(midCommand);
    await waitForTask(server, midCommand, (t) => t.status === 'running' && t.changedFiles.some((f) => f.path === 'progress.txt'), 60_000);
    await until(() => processesUsing(dataDir, [server!.pid]).length > 0, 10_000, 'a sandbox running');
    dead = server.pid;
    await server.kill();
    server = await start(dataDir);
    await assertReleased(server, dead);

    // 3. During a snapshot: git is recording 4,000 new files in the task's index.
    const snapshotting = (await createTask(server, repo, 'snap [[script:many]]')).id;
    ids.push(snapshotting);
    const lock = join(dataDir, 'tasks', snapshotting, 'git', 'delegate-index.lock');
    await waitForTask(server, snapshotting, (t) => t.status === 'running', 60_000);
    const seen = await until(() => existsSync(lock), 120_000, 'the index being written').then(() => true, () => false);
    dead = server.pid;
    await server.kill();
    assert.ok(seen, 'killed while the snapshot was written');
    server = await start(dataDir);
    await assertReleased(server, dead);

    // Every task is interrupted and continues with a follow-up.
    model.setScript('work', Array.from({ length: 6 }, () => ({ toolCalls: [{ name: 'finish', arguments: { summary: 'resumed' } }] })));
    model.setScript('many', Array.from({ length: 6 }, () => ({ toolCalls: [{ name: 'finish', arguments: { summary: 'resumed' } }] })));
    for (const id of ids) {
      await waitForTask(server, id, isDone, 30_000);
      assert.equal((await getTask(server, id)).status, 'interrupted', id);
      const res: { status: number; body: unknown } = await api(server, 'POST', `/v1/tasks/${id}/messages`, { text: 'go on' });
      assert.equal(res.status, 202, JSON.stringify(res.body));
    }
    for (const id of ids) {
      const t = await waitForTask(server, id, (x) => isDone(x) && x.status !== 'interrupted', 60_000);
      assert.equal(t.status, 'completed', `${id}: ${JSON.stringify(t.error)}`);
    }
    assert.ok((await getTask(server, midCommand)).changedFiles.some((f) => f.path === 'progress.txt'), 'the work from before the crash is kept');
    assert.ok((await getTask(server, snapshotting)).changedFiles.some((f) => f.path.startsWith('gen/')), 'the work from before the crash is kept');

    // A clean stop leaves nothing, and so does another start/stop cycle.
    await server.stop();
    assertNothingLeft(dataDir, server.logs());
    server = await start(dataDir);
    await server.stop();
    assertNothingLeft(dataDir, server.logs());
    server = undefined;

    function assertNothingLeft(dir: string, logs: string): void {
      assert.deepEqual(mountsUnder(dir), [], `no mount under the data dir; the server's log:\n${logs.slice(-4000)}`);
      assert.deepEqual(ourCgroups(), [], 'no sandbox cgroup');
      assert.deepEqual(processesUsing(dir, []), [], 'no process in the data dir');
    }
  });
});
