// createSandboxDriver: explicit choices, auto-detection, and a reason whenever a driver is refused.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { createSandboxDriver } from '../../../server/src/sandbox';
import { testDockerd } from './drivers';
import { loggerFrom } from '../../../server/src/log';

type Logged = { level: string; msg: string };

describe('createSandboxDriver', function () {
  this.timeout(15 * 60_000);
  let dataDir: string;
  const logged: Logged[] = [];
  const log = loggerFrom((level, msg) => void logged.push({ level, msg }));
  const noSocket = '/nonexistent/docker.sock';

  beforeEach(async () => {
    logged.length = 0;
    dataDir = await fs.mkdtemp(join(tmpdir(), 'delegate-drv-'));
  });
  afterEach(() => fs.rm(dataDir, { recursive: true, force: true }));

  it('bwrap: a working driver', async () => {
    const { driver, reason } = await createSandboxDriver('bwrap', { dataDir, log });
    assert.equal(driver?.name, 'bwrap', reason);
    assert.equal((await driver.probe()).ok, true);
  });

  it('docker without an engine: no driver and the reason', async () => {
    const { driver, reason } = await createSandboxDriver('docker', { dataDir, dockerSocket: noSocket, log });
    assert.equal(driver, null);
    assert.match(reason ?? '', /no docker engine/);
  });

  it('docker with an engine but without the image: no driver and the reason', async () => {
    const dockerd = await testDockerd();
    const { driver, reason } = await createSandboxDriver('docker', { dataDir, dockerSocket: dockerd.socket, dockerImage: 'delegate-missing:none', log });
    assert.equal(driver, null);
    assert.match(reason ?? '', /delegate-missing:none is missing/);
  });

  it('auto prefers a docker engine that has the image', async () => {
    const dockerd = await testDockerd();
    const { driver } = await createSandboxDriver('auto', { dataDir, dockerSocket: `unix://${dockerd.socket}`, log });
    assert.equal(driver?.name, 'docker');
  });

  it('docker with spares, as the server asks: containers started ahead, removed by close()', async function () {
    if (process.getuid?.() !== 0) this.skip(); // slots are mounts
    await fs.chmod(dataDir, 0o755);
    const dockerd = await testDockerd();
    const docker = new Docker({ socketPath: dockerd.socket });
    const spares = async () => (await docker.listContainers({ filters: { label: ['dev.delegate.sandbox=spare'] } })).length;
    const { driver, reason } = await createSandboxDriver('docker', { dataDir, dockerSocket: dockerd.socket, log, spares: 1 });
    assert.equal(driver?.name, 'docker', reason);
    for (const deadline = Date.now() + 30_000; (await spares()) < 1; await new Promise((r) => setTimeout(r, 50))) {
      assert.ok(Date.now() < deadline, 'no container was started ahead');
    }
    assert.equal((await fs.readdir(join(dataDir, 'sandboxes'))).length, 2, 'a slot and its stage');
    await driver.close?.();
    assert.equal(await spares(), 0);
    assert.deepEqual(await fs.readdir(join(dataDir, 'sandboxes')), []);
  });

  it('auto falls back to bwrap and says why docker was passed over', async () => {
    const { driver, reason } = await createSandboxDriver('auto', { dataDir, dockerSocket: noSocket, log });
    assert.equal(driver?.name, 'bwrap');
    assert.match(reason ?? '', /docker not used/);
  });

  it('none only when asked, warning at creation and on every sandbox', async () => {
    const { driver } = await createSandboxDriver('none', { dataDir, log });
    assert.equal(driver?.name, 'none');
    assert.equal(logged.filter((l) => l.level === 'warn' && /UNSANDBOXED/.test(l.msg)).length, 1);
    const ws = join(dataDir, 'ws');
    await fs.mkdir(ws);
    const sandbox = await driver.create({ id: 'n', workspaceDir: ws, limits: { memoryBytes: 1 << 27, pids: 64, cpus: 1, diskBytes: 1 << 25 } });
    assert.equal(logged.filter((l) => l.level === 'warn' && /UNSANDBOXED/.test(l.msg)).length, 2);
    const result = await sandbox.exec('pwd; echo "$SECRET_X"', { env: { SECRET_X: 'given' } });
    assert.equal(result.stdout, `${ws}\ngiven\n`);
    await sandbox.dispose();
  });
});
