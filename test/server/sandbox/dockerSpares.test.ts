// Docker keeps containers started ahead of their tasks (a container takes ~0.6 s to start here);
// the task's workspace reaches one by mount propagation. Once its task is done a container is
// reset and kept for the next task, so nothing of one task may be left for the next: not a file
// outside /workspace, not an IPC object, not a process. One that cannot be reset is removed.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { DockerDriver } from '../../../server/src/sandbox/docker';
import { SparingDriver } from '../../../server/src/sandbox/spares';
import { SANDBOX_UID, type Sandbox } from '../../../server/src/sandbox/types';
import { until } from '../../support/tasks';
import { leftovers, LEAVE_BEHIND, mountsUnder, NOTHING_LEFT, testDockerd, TEST_LIMITS } from './drivers';
import { loggerFrom } from '../../../server/src/log';
import { SpawnRunner } from '../../../server/src/util/processRunner';



describe('docker containers started ahead of their tasks, and kept for the next', function () {
  this.timeout(120_000);
  let root: string;
  let docker: Docker;
  let driver: SparingDriver;
  const logged: string[] = [];
  const sandboxes: Sandbox[] = [];

  before(async function () {
    if (process.getuid?.() !== 0) this.skip(); // mounting needs root; the server does the same
    this.timeout(15 * 60_000); // a first run may have to debootstrap the image
    docker = new Docker({ socketPath: (await testDockerd()).socket });
  });

  beforeEach(async () => {
    root = mkdtempSync(join(tmpdir(), 'delegate-dspares-'));
    await fs.chmod(root, 0o755);
    logged.length = 0;
    const log = loggerFrom((level, msg) => void logged.push(`${level} ${msg}`));
    driver = new SparingDriver(new DockerDriver({ socket: (await testDockerd()).socket, log }), { dir: join(root, 'sandboxes'), count: 1, limits: TEST_LIMITS, uid: SANDBOX_UID, runner: new SpawnRunner(), log });
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

  /** The ids of the running containers started ahead (label dev.delegate.sandbox=spare). */
  async function spareContainers(): Promise<string[]> {
    const list = await docker.listContainers({ filters: { label: ['dev.delegate.sandbox=spare'] } });
    return list.map((c) => c.Id).sort();
  }

  async function task(n: number): Promise<{ ws: string; gitDir: string }> {
    const ws = join(root, `ws-${n}`);
    const repo = join(root, `repo-${n}`);
    await fs.mkdir(ws);
    await fs.writeFile(join(ws, `from-task-${n}.txt`), `task ${n}\n`);
    await fs.chown(ws, SANDBOX_UID, SANDBOX_UID);
    execFileSync('git', ['init', '-q', repo]);
    return { ws, gitDir: join(repo, '.git') };
  }

  async function create(n: number): Promise<Sandbox> {
    const { ws, gitDir } = await task(n);
    const sandbox = await driver.create({ id: `task-${n}`, workspaceDir: ws, gitDir, limits: TEST_LIMITS });
    sandboxes.push(sandbox);
    return sandbox;
  }

  it('hands out a started container that sees the workspace read-write and the git dir read-only', async () => {
    await until(async () => (await spareContainers()).length === 1, 30_000, 'a container started ahead');
    const [spare] = await spareContainers();
    const sandbox = await create(1);
    assert.deepEqual(await spareContainers(), [spare], 'no container was started for the task');
    const result = await sandbox.exec('cat from-task-1.txt && echo made > new.txt && id -u && git rev-parse --git-dir && echo $PPID');
    assert.equal(result.exitCode, 0, result.stderr);
    assert.equal(result.stdout, `task 1\n${SANDBOX_UID}\n.git\n1\n`);
    assert.equal((await fs.stat(join(sandbox.workspaceDir, 'new.txt'))).uid, SANDBOX_UID);
    const write = await sandbox.exec('echo evil > .git/HEAD');
    assert.notEqual(write.exitCode, 0);
    assert.match(write.stderr, /Read-only file system/);
  });

  it('resets a container whose task is done and hands it to the next task with nothing of the last one', async () => {
    await until(async () => (await spareContainers()).length === 1, 30_000, 'a container started ahead');
    const [spare] = await spareContainers();
    const first = await create(1);
    const left = await first.exec(LEAVE_BEHIND);
    assert.equal(left.stdout, 'left\n', left.stderr);
    assert.match((await first.exec('cat /proc/sysvipc/shm')).stdout, /4660/, 'the segment exists while its task runs');
    await first.dispose();
    assert.equal((await first.exec('true')).sandboxError, 'sandbox disposed');

    const second = await create(2);
    assert.deepEqual(await spareContainers(), [spare], 'the same container, kept');
    const seen = await leftovers(second);
    assert.equal(seen.stdout, NOTHING_LEFT, seen.stderr);
    assert.equal((await second.exec('ls -A /workspace')).stdout, '.git\nfrom-task-2.txt\n');
    assert.deepEqual(await fs.readdir(join(root, 'ws-1')), ['.git', 'from-task-1.txt'], 'the first task\'s workspace is its own');
  });

  it('removes a container it cannot reset and starts another', async () => {
    await until(async () => (await spareContainers()).length === 1, 30_000, 'a container started ahead');
    const [spare] = await spareContainers();
    const first = await create(1);
    // A directory its owner made unwritable: the reset cannot empty /tmp.
    const locked = await first.exec('mkdir /tmp/locked && echo x > /tmp/locked/f && chmod 500 /tmp/locked && echo ok');
    assert.equal(locked.stdout, 'ok\n', locked.stderr);
    await first.dispose();
    assert.ok(logged.includes('info sandbox not kept for the next task'), logged.join('\n'));
    await assert.rejects(docker.getContainer(spare!).inspect(), /no such container/i, 'the container is removed');
    await until(async () => (await spareContainers()).length === 1, 30_000, 'another container started ahead');
    const second = await create(2);
    assert.equal((await second.exec('ls -A /tmp')).stdout, '');
  });

  it('close() removes the containers and leaves no mount or slot behind', async () => {
    await until(async () => (await spareContainers()).length === 1, 30_000, 'a container started ahead');
    const [spare] = await spareContainers();
    await driver.close();
    await assert.rejects(docker.getContainer(spare!).inspect(), /no such container/i);
    assert.deepEqual(mountsUnder(root), []);
    assert.deepEqual(await fs.readdir(join(root, 'sandboxes')), []);
  });

  it('an image without perl is refused with a clear error (the supervisor is the one way a command runs)', async () => {
    const plain = new DockerDriver({ socket: (await testDockerd()).socket, perl: '/usr/bin/no-such-perl', log: loggerFrom((level, msg) => void logged.push(`${level} ${msg}`)) });
    const { ws } = await task(1);
    await assert.rejects(plain.create({ id: 'no-perl', workspaceDir: ws, limits: TEST_LIMITS }), /has no \/usr\/bin\/no-such-perl: the sandbox supervisor needs perl/);
    const left = await docker.listContainers({ all: true, filters: { label: ['dev.delegate.sandbox=no-perl'] } });
    assert.deepEqual(left, [], 'no container is left');
  });
});

describe('docker containers of a server that was killed', function () {
  this.timeout(120_000);

  it('stop when the server dies, and the next server on the machine removes them', async function () {
    this.timeout(15 * 60_000); // a first run may have to debootstrap the image
    const socket = (await testDockerd()).socket;
    const docker = new Docker({ socketPath: socket });
    const ws = mkdtempSync(join(tmpdir(), 'delegate-dkill-'));
    await fs.chmod(ws, 0o755);
    await fs.chown(ws, SANDBOX_UID, SANDBOX_UID);
    // A server stand-in: a process with a docker sandbox that ran a command, then SIGKILLed.
    const driverModule = join(__dirname, '..', '..', '..', 'server', 'src', 'sandbox', 'docker.ts');
    const script = `
      const { DockerDriver } = require(${JSON.stringify(driverModule)});
      (async () => {
        const sandbox = await new DockerDriver({ socket: ${JSON.stringify(socket)} }).create({ id: 'killed', workspaceDir: ${JSON.stringify(ws)}, limits: ${JSON.stringify(TEST_LIMITS)} });
        const r = await sandbox.exec('echo up');
        process.stdout.write(r.stdout);
        setInterval(() => {}, 1000);
      })();`;
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('up') && resolve());
        child.on('exit', (code) => reject(new Error(`the stand-in exited with ${code}`)));
      });
      const label = `dev.delegate.server=${hostname()}/${child.pid}`;
      const [container] = await docker.listContainers({ filters: { label: [label] } });
      assert.ok(container, 'its container runs');
      child.kill('SIGKILL');
      await until(async () => (await docker.getContainer(container.Id).inspect()).State.Running === false, 30_000, 'the container to stop');
      const driver = new DockerDriver({ socket });
      assert.ok((await driver.probe()).ok);
      await assert.rejects(docker.getContainer(container.Id).inspect(), /no such container/i, 'the next server removed it');
    } finally {
      child.kill('SIGKILL');
      await fs.rm(ws, { recursive: true, force: true });
    }
  });
});
