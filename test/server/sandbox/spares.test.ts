// bwrap keeps sandboxes started ahead of their tasks; the task's workspace reaches such a sandbox
// later, by mount propagation. It must look exactly like a sandbox started for the task: the
// workspace read-write, the git dir read-only, and nothing left mounted once it is gone. One
// whose task is done is reset and kept for the next: nothing of one task may be left for the next.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BwrapDriver } from '../../../server/src/sandbox/bwrap';
import { SparingDriver, sweepStaleSlots } from '../../../server/src/sandbox/spares';
import { detectCgroups } from '../../../server/src/sandbox/cgroups';
import { SANDBOX_UID, type Sandbox } from '../../../server/src/sandbox/types';
import { until } from '../../support/tasks';
import { leftovers, LEAVE_BEHIND, mountsUnder, NOTHING_LEFT, TEST_LIMITS } from './drivers';
import { NO_LOG } from '../../../server/src/log';
import { SpawnRunner } from '../../../server/src/util/processRunner';



describe('bwrap sandboxes started ahead of their tasks', function () {
  this.timeout(60_000);
  let root: string;
  let spareDir: string;
  let driver: SparingDriver;
  const sandboxes: Sandbox[] = [];

  beforeEach(async function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting needs root; the server does the same
    root = mkdtempSync(join(tmpdir(), 'delegate-spares-'));
    await fs.chmod(root, 0o755);
    spareDir = join(root, 'sandboxes');
    const cgroups = await detectCgroups();
    if (!cgroups.ok) throw new Error(`cgroups are needed for the sandbox tests: ${cgroups.reason}`);
    driver = new SparingDriver(new BwrapDriver({ cgroups }), { dir: spareDir, count: 1, limits: TEST_LIMITS, uid: SANDBOX_UID, runner: new SpawnRunner(), log: NO_LOG });
    const probe = await driver.probe();
    assert.ok(probe.ok, JSON.stringify(probe));
  });

  afterEach(async () => {
    if (!root) return;
    await Promise.all(sandboxes.splice(0).map((s) => s.dispose()));
    await driver?.close();
    for (const m of mountsUnder(root).reverse()) execFileSync('umount', ['-l', m.mountPoint]);
    await fs.rm(root, { recursive: true, force: true });
  });

  /** A workspace the sandbox uid owns and a git dir, as a task has them. */
  async function task(): Promise<{ ws: string; gitDir: string }> {
    const ws = join(root, `ws-${sandboxes.length}`);
    const repo = join(root, `repo-${sandboxes.length}`);
    await fs.mkdir(ws);
    await fs.writeFile(join(ws, 'from-host.txt'), 'host side\n');
    await fs.chown(ws, SANDBOX_UID, SANDBOX_UID);
    execFileSync('git', ['init', '-q', repo]);
    return { ws, gitDir: join(repo, '.git') };
  }

  const slotOf = (name: string) => join(spareDir, name);

  it('hands out a started sandbox that sees the workspace read-write and the git dir read-only', async () => {
    await until(async () => (await fs.readdir(spareDir).catch(() => [] as string[])).some((n) => /^\d+-1$/.test(n)), 15_000, 'a spare slot');
    const slot = slotOf(`${process.pid}-1`);
    const { ws, gitDir } = await task();
    const sandbox = await driver.create({ id: 'task-1', workspaceDir: ws, gitDir, limits: TEST_LIMITS });
    sandboxes.push(sandbox);
    // The spare's slot now carries the task's workspace: it was the one handed out.
    assert.ok(mountsUnder(root).some((m) => m.mountPoint === slot && m.root === ws), JSON.stringify(mountsUnder(root)));
    assert.equal(sandbox.workspaceDir, ws);

    const result = await sandbox.exec('cat from-host.txt && echo made > new.txt && id -u && git rev-parse --git-dir');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `host side\n${SANDBOX_UID}\n.git\n`);
    const st = await fs.stat(join(ws, 'new.txt'));
    assert.equal(st.uid, SANDBOX_UID);
    const write = await sandbox.exec('echo evil > .git/HEAD');
    assert.notEqual(write.exitCode, 0);
    assert.match(write.stderr, /Read-only file system/);
    assert.match(readFileSync(join(gitDir, 'HEAD'), 'utf8'), /^ref: /);
  });

  it('resets a sandbox whose task is done and hands it to the next task with nothing of the last one', async () => {
    await until(async () => (await fs.readdir(spareDir).catch(() => [] as string[])).includes(`${process.pid}-1`), 15_000, 'a spare slot');
    const slot = slotOf(`${process.pid}-1`);
    const one = await task();
    const first = await driver.create({ id: 'task-2', workspaceDir: one.ws, gitDir: one.gitDir, limits: TEST_LIMITS });
    sandboxes.push(first);
    const left = await first.exec(LEAVE_BEHIND);
    assert.equal(left.stdout, 'left\n', left.stderr);
    // /dev itself is read-only: nothing can be left there.
    assert.equal((await first.exec('touch /dev/left 2>/dev/null || echo dev read-only')).stdout, 'dev read-only\n');
    const supervisorOf = async (s: Sandbox) => (await s.exec('cat /proc/1/stat')).stdout.split(' ').slice(0, 2).join(' ');
    const before = await supervisorOf(first);
    await first.dispose();
    assert.equal((await first.exec('true')).sandboxError, 'sandbox disposed');
    assert.deepEqual(mountsUnder(root).filter((m) => m.mountPoint.startsWith(slot)).map((m) => m.root), [slot], 'only the slot\'s own bind is left');

    const two = await task();
    const second = await driver.create({ id: 'task-3', workspaceDir: two.ws, gitDir: two.gitDir, limits: TEST_LIMITS });
    sandboxes.push(second);
    assert.ok(mountsUnder(root).some((m) => m.mountPoint === slot && m.root === two.ws), 'the same slot took the next task');
    assert.equal(await supervisorOf(second), before, 'the same supervisor');
    const seen = await leftovers(second);
    assert.equal(seen.stdout, NOTHING_LEFT, seen.stderr);
    assert.equal((await second.exec('ls /workspace')).stdout, 'from-host.txt\n');
    assert.equal(await fs.readFile(join(one.ws, 'from-host.txt'), 'utf8'), 'host side\n', 'the first workspace itself is untouched');
  });

  it('back-to-back short tasks use the same two sandboxes: none is started while one is only on loan', async () => {
    await driver.close();
    driver = new SparingDriver(new BwrapDriver({ cgroups: await detectCgroups() }), { dir: spareDir, count: 2, limits: TEST_LIMITS, uid: SANDBOX_UID, runner: new SpawnRunner(), log: NO_LOG });
    assert.ok((await driver.probe()).ok);
    await until(async () => (await fs.readdir(spareDir)).filter((n) => /^\d+-\d+$/.test(n)).length === 2, 15_000, 'two spare slots');
    // Each task's sandbox is disposed while the next one starts, as the runner does.
    let previous: Promise<void> = Promise.resolve();
    for (let i = 0; i < 4; i++) {
      const { ws, gitDir } = await task();
      const sandbox = await driver.create({ id: `task-${i}`, workspaceDir: ws, gitDir, limits: TEST_LIMITS });
      sandboxes.push(sandbox);
      assert.equal((await sandbox.exec('echo ok')).stdout, 'ok\n');
      await previous;
      previous = sandbox.dispose();
    }
    await previous;
    const slots = (await fs.readdir(spareDir)).filter((n) => /^\d+-\d+$/.test(n)).sort();
    assert.deepEqual(slots, [`${process.pid}-1`, `${process.pid}-2`], 'no third sandbox was started');
  });

  it('a sandbox it cannot reset is disposed: its slot released, the next one started', async () => {
    await until(async () => (await fs.readdir(spareDir).catch(() => [] as string[])).includes(`${process.pid}-1`), 15_000, 'a spare slot');
    const { ws, gitDir } = await task();
    const sandbox = await driver.create({ id: 'task-2', workspaceDir: ws, gitDir, limits: TEST_LIMITS });
    // A directory its owner made unwritable: the reset cannot empty /tmp.
    const locked = await sandbox.exec('mkdir /tmp/locked && echo x > /tmp/locked/f && chmod 500 /tmp/locked && echo ok');
    assert.equal(locked.stdout, 'ok\n', locked.stderr);
    await sandbox.dispose();
    const slot = slotOf(`${process.pid}-1`);
    assert.deepEqual(mountsUnder(root).filter((m) => m.mountPoint.startsWith(slot)), [], 'nothing stays mounted on the slot');
    await assert.rejects(fs.stat(slot), 'the slot directory is removed');
    assert.equal(await fs.readFile(join(ws, 'from-host.txt'), 'utf8'), 'host side\n', 'the workspace itself is untouched');
    await until(async () => (await fs.readdir(spareDir)).includes(`${process.pid}-2`), 15_000, 'a second spare');
  });

  it('a sandbox with other limits, or without a git dir, is started for its task', async () => {
    await until(async () => (await fs.readdir(spareDir).catch(() => [] as string[])).includes(`${process.pid}-1`), 15_000, 'a spare slot');
    const { ws, gitDir } = await task();
    const other = await driver.create({ id: 'task-3', workspaceDir: ws, gitDir, limits: { ...TEST_LIMITS, pids: TEST_LIMITS.pids + 1 } });
    sandboxes.push(other);
    assert.equal((await other.exec('cat from-host.txt')).stdout, 'host side\n');
    assert.ok(!mountsUnder(root).some((m) => m.root === ws), 'the spare was not used');
  });

  it('close() disposes the spares and leaves no mount or slot behind', async () => {
    await until(async () => (await fs.readdir(spareDir).catch(() => [] as string[])).includes(`${process.pid}-1`), 15_000, 'a spare slot');
    await driver.close();
    assert.deepEqual(mountsUnder(root), []);
    assert.deepEqual((await fs.readdir(spareDir)).filter((n) => !n.endsWith('.git')), []);
  });

  it('sweeps the slots a dead server left mounted, not those of a live one', async () => {
    await driver.close();
    const dead = slotOf('999999999-1');
    const live = slotOf(`${process.pid}-77`);
    for (const dir of [dead, live]) {
      await fs.mkdir(dir, { recursive: true });
      execFileSync('mount', ['--bind', dir, dir]);
    }
    assert.equal(await sweepStaleSlots(spareDir, new SpawnRunner()), 1);
    assert.ok(!mountsUnder(root).some((m) => m.mountPoint === dead));
    await assert.rejects(fs.stat(dead));
    assert.ok(mountsUnder(root).some((m) => m.mountPoint === live), 'a live server keeps its slot');
  });
});
