// Runs the same tests against every sandbox driver. bwrap uses this machine's cgroups; docker gets
// a private dockerd (test/support/dockerd.ts) shared by all files of one mocha run. A driver that
// cannot be set up FAILS its tests with the reason: both must run in CI.
import { execFile } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BwrapDriver } from '../../../server/src/sandbox/bwrap';
import { detectCgroups } from '../../../server/src/sandbox/cgroups';
import { DockerDriver } from '../../../server/src/sandbox/docker';
import { SANDBOX_UID, type ExecOptions, type ExecResult, type Sandbox, type SandboxDriver, type SandboxLimits } from '../../../server/src/sandbox/types';
import { startDockerd, type TestDockerd } from '../../support/dockerd';
import { processRunnerFor } from '../../../server/src/util/launcher';

export const run = promisify(execFile);

export const TEST_LIMITS: SandboxLimits = { memoryBytes: 128 * 1024 ** 2, pids: 64, cpus: 1, diskBytes: 32 * 1024 ** 2 };

export type DriverName = 'bwrap' | 'docker';
export const DRIVERS: DriverName[] = ['bwrap', 'docker'];

export interface DriverHarness {
  readonly name: DriverName;
  driver(): SandboxDriver;
  /** A fresh temp dir, removed after the test. */
  tempDir(): Promise<string>;
  /** A workspace directory the sandbox uid owns, removed after the test. */
  workspace(): Promise<string>;
  /** A sandbox on a fresh workspace (unless given), disposed after the test. */
  sandbox(options?: { limits?: Partial<SandboxLimits>; gitDir?: string; workspaceDir?: string; network?: boolean }): Promise<Sandbox>;
}

// The plain ProcessRunner (node's spawn) unless the run asks for the fast one: both must pass.
const RUNNER = processRunnerFor(process.env.DELEGATE_PROCESS_RUNNER === 'launcher' ? 'launcher' : 'spawn');

/** The server's flag when the run turns sandboxes started ahead off: the tests pass either way. */
export const SPARES_SWITCH: string[] = process.env.DELEGATE_NO_SPARES === '1' || process.env.DELEGATE_TEST_PLAIN === '1' ? ['--no-spares'] : [];

// One engine for the whole run: starting dockerd and importing the image per file would dominate.
// The root-level `after` stops it once every file is done.
let sharedDockerd: Promise<TestDockerd> | undefined;
after(async function () {
  this.timeout(60_000);
  const dockerd = await sharedDockerd?.catch(() => undefined);
  await dockerd?.stop();
});

/** The run's private docker engine, started on first use. */
export function testDockerd(): Promise<TestDockerd> {
  return (sharedDockerd ??= startDockerd());
}

async function makeDriver(name: DriverName): Promise<SandboxDriver> {
  if (name === 'bwrap') {
    const cgroups = await detectCgroups();
    if (!cgroups.ok) throw new Error(`cgroups are needed for the sandbox tests: ${cgroups.reason}`);
    return new BwrapDriver({ cgroups, runner: RUNNER });
  }
  const dockerd = await testDockerd();
  return new DockerDriver({ socket: dockerd.socket });
}

export function describeEachDriver(title: string, body: (h: DriverHarness) => void): void {
  for (const name of DRIVERS) describeDriver(name, title, body);
}

/** The same harness for one driver: for what only that driver has. */
export function describeDriver(name: DriverName, title: string, body: (h: DriverHarness) => void): void {
  {
    describe(`${title} [${name}]`, function () {
      this.timeout(120_000);
      let driver: SandboxDriver | undefined;
      const sandboxes: Sandbox[] = [];
      const dirs: string[] = [];

      before(async function () {
        this.timeout(15 * 60_000); // a first docker run may have to debootstrap the image
        driver = await makeDriver(name);
        const probe = await driver.probe();
        if (!probe.ok) throw new Error(`${name} driver unusable: ${probe.reason}`);
      });

      afterEach(async () => {
        await Promise.all(sandboxes.splice(0).map((s) => s.dispose()));
        await Promise.all(dirs.splice(0).map((d) => fs.rm(d, { recursive: true, force: true })));
      });

      const harness: DriverHarness = {
        name,
        driver: () => {
          if (!driver) throw new Error(`${name} driver was not set up`);
          return driver;
        },
        tempDir: async () => {
          const dir = await fs.mkdtemp(join(tmpdir(), 'delegate-sbx-'));
          dirs.push(dir);
          await fs.chmod(dir, 0o755);
          return dir;
        },
        workspace: async () => {
          const dir = join(await harness.tempDir(), 'ws');
          await fs.mkdir(dir);
          await fs.chown(dir, SANDBOX_UID, SANDBOX_UID);
          return dir;
        },
        sandbox: async (options = {}) => {
          const sandbox = await harness.driver().create({
            id: `test-${name}`,
            workspaceDir: options.workspaceDir ?? (await harness.workspace()),
            gitDir: options.gitDir,
            limits: { ...TEST_LIMITS, ...options.limits },
            network: options.network,
          });
          sandboxes.push(sandbox);
          return sandbox;
        },
      };
      body(harness);
    });
  }
}

/** The test process's own namespaces: an escape probe must never run in these. */
export async function hostNamespaces(): Promise<{ pid: string; mnt: string }> {
  return { pid: await fs.readlink('/proc/self/ns/pid'), mnt: await fs.readlink('/proc/self/ns/mnt') };
}

export const PROBE_ABORTED = 99;

/**
 * Runs an escape probe. The probe first compares its pid and mount namespaces with the host's and
 * refuses to run (exit 99) if they are the same, so a broken sandbox never runs a fork bomb on
 * the host. Throws when that happens.
 */
export async function probe(sandbox: Sandbox, script: string, options: ExecOptions = {}): Promise<ExecResult> {
  const host = await hostNamespaces();
  const guard =
    `[ "$(readlink /proc/self/ns/pid)" != '${host.pid}' ] && [ "$(readlink /proc/self/ns/mnt)" != '${host.mnt}' ] ` +
    `&& [ -n "$(readlink /proc/self/ns/pid)" ] || { echo 'ABORT: probe is in the host namespaces' >&2; exit ${PROBE_ABORTED}; }`;
  const result = await sandbox.exec(`${guard}\n${script}`, { timeoutMs: 60_000, ...options });
  if (result.exitCode === PROBE_ABORTED && result.stderr.includes('ABORT')) {
    throw new Error('escape probe found itself in the host namespaces and refused to run');
  }
  return result;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True when a file stops growing: whatever appended to it has been killed. */
export async function stoppedGrowing(path: string, settleMs = 700): Promise<boolean> {
  const size = async (): Promise<number> => (await fs.stat(path).catch(() => ({ size: -1 }))).size;
  const before = await size();
  await sleep(settleMs);
  return (await size()) === before;
}

/** Mounts below `root`: where, and which directory of its filesystem each shows (mountinfo fields 5 and 4). */
export function mountsUnder(root: string): Array<{ mountPoint: string; root: string }> {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f.length > 5)
    .map((f) => ({ root: unescape(f[3]!), mountPoint: unescape(f[4]!) }))
    .filter((m) => m.mountPoint.startsWith(`${root}/`));
}

/**
 * What a task can leave outside /workspace for a sandbox kept for the next task: files in /tmp and
 * /dev/shm, SysV IPC objects (perl's built-ins: a shared memory segment, a semaphore set, a
 * message queue), a daemon. Prints `left`.
 */
export const LEAVE_BEHIND =
  'echo secret > /tmp/left && mkdir -p /tmp/d/e && echo secret > /dev/shm/left && ' +
  "perl -e 'defined shmget(0x1234, 4096, 01600) && defined semget(0x1235, 1, 01600) && defined msgget(0x1236, 01600) or die \"ipc: $!\"' && " +
  '(setsid sh -c "while :; do sleep 0.05; done" > /dev/null 2>&1 < /dev/null &) && echo left';

/** What a sandbox shows of LEAVE_BEHIND: /tmp and /dev/shm, the IPC objects of each kind, every other process. */
export async function leftovers(sandbox: Sandbox): Promise<ExecResult> {
  return sandbox.exec(
    'ls -A /tmp /dev/shm; grep -cv "^ *key" /proc/sysvipc/shm /proc/sysvipc/sem /proc/sysvipc/msg; ' +
      'for p in /proc/[0-9]*; do [ "${p#/proc/}" = 1 ] || [ "${p#/proc/}" = $$ ] || cat $p/cmdline; done; echo',
  );
}

/** `leftovers()` of a sandbox in which nothing is left. */
export const NOTHING_LEFT = '/dev/shm:\n\n/tmp:\n/proc/sysvipc/shm:0\n/proc/sysvipc/sem:0\n/proc/sysvipc/msg:0\n\n';
