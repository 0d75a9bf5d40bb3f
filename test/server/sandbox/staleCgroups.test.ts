// A server that dies without disposing leaves its sandbox cgroups behind; the next server's
// driver creation removes them (and only those whose owner is gone).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSandboxDriver } from '../../../server/src/sandbox';
import { detectCgroups } from '../../../server/src/sandbox/cgroups';
import { SANDBOX_UID } from '../../../server/src/sandbox/types';

const ROOT = join(__dirname, '..', '..', '..');

describe('stale sandbox cgroups [bwrap]', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(async () => {
    dir = await fs.mkdtemp(join(tmpdir(), 'delegate-stale-'));
    await fs.chmod(dir, 0o755);
  });
  afterEach(() => fs.rm(dir, { recursive: true, force: true }));

  it('removes the cgroups of a server that was killed, keeps live ones', async () => {
    const detection = await detectCgroups();
    assert.ok(detection.ok, detection.ok ? '' : detection.reason);
    const base = detection.layout.version === 2 ? detection.layout.base : detection.layout.pids;
    const ws = join(dir, 'ws');
    await fs.mkdir(ws);
    await fs.chown(ws, SANDBOX_UID, SANDBOX_UID);
    const script = join(dir, 'server.ts');
    await fs.writeFile(
      script,
      `import { BwrapDriver } from ${JSON.stringify(join(ROOT, 'server/src/sandbox/bwrap'))};
       import { detectCgroups } from ${JSON.stringify(join(ROOT, 'server/src/sandbox/cgroups'))};
       (async () => {
         const driver = new BwrapDriver({ cgroups: await detectCgroups() });
         const sandbox = await driver.create({ id: 'crash', workspaceDir: ${JSON.stringify(ws)}, limits: { memoryBytes: 1 << 27, pids: 64, cpus: 1, diskBytes: 1 << 25 } });
         void sandbox.exec('echo up; sleep 1000', { onStdout: () => process.stdout.write('ready\\n') });
       })();`,
    );
    const child = spawn(process.execPath, ['--require', 'tsx/cjs', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => d.includes('ready') && resolve()));
    const owned = async (): Promise<string[]> => (await fs.readdir(base)).filter((n) => n.startsWith(`${child.pid}-crash-`));
    const left = await owned();
    assert.equal(left.length, 1, 'the crashing server made one cgroup');
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const live = await createSandboxDriver('bwrap', { dataDir: dir });
    assert.equal(live.driver?.name, 'bwrap');
    const mine = await live.driver.create({ id: 'alive', workspaceDir: ws, limits: { memoryBytes: 1 << 27, pids: 64, cpus: 1, diskBytes: 1 << 25 } });
    await createSandboxDriver('bwrap', { dataDir: dir });
    assert.equal(existsSync(join(base, left[0]!)), false, "the dead server's cgroup is still there");
    assert.equal((await mine.exec('echo fine')).stdout, 'fine\n', "a live server's sandbox was swept");
    await mine.dispose();
  });
});
