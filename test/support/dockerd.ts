// Starts a private Docker engine for tests: the machine's dockerd with networking off and every
// path in a temp dir, then makes sure the sandbox image exists (scripts/build-sandbox-image.sh,
// which reuses its cached rootfs tarball). Stopped by pid; its mounts and files are removed.
import { spawn, execFile } from 'node:child_process';
import { promises as fs, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;

export interface TestDockerd {
  /** Unix socket path (use as `unix://${socket}` for DOCKER_HOST). */
  socket: string;
  pid: number;
  stop(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function mountsUnder(dir: string): Promise<string[]> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8');
  return info
    .split('\n')
    .map((line) => line.split(' ')[4])
    .filter((mp): mp is string => !!mp && (mp === dir || mp.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
}

/** Pids whose command line names `dir`: this dockerd's containerd and shims, nobody else's. */
async function processesMentioning(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await fs.readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(dir)) pids.push(Number(name));
  }
  return pids;
}

export async function startDockerd(options: { image?: string } = {}): Promise<TestDockerd> {
  const image = options.image ?? 'delegate-sandbox:bookworm';
  // Short: unix socket paths are limited to 108 bytes and containerd nests its sockets deeper.
  const dir = await fs.mkdtemp('/tmp/dd-');
  const socket = join(dir, 'sock');
  await fs.writeFile(join(dir, 'daemon.json'), '{}');
  const logFd = openSync(join(dir, 'log'), 'a');
  const child = spawn(
    'dockerd',
    [
      '--config-file', join(dir, 'daemon.json'),
      '--data-root', join(dir, 'data'),
      '--exec-root', join(dir, 'x'),
      '--pidfile', join(dir, 'pid'),
      '--host', `unix://${socket}`,
      '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false',
      '--userland-proxy=false', '--log-level=warn',
    ],
    { detached: true, stdio: ['ignore', logFd, logFd], env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } },
  );
  closeSync(logFd);
  const pid = child.pid;
  child.unref();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopped ??= (async () => {
      if (pid !== undefined && alive(pid)) {
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + STOP_TIMEOUT_MS;
        while (alive(pid) && Date.now() < deadline) await sleep(50);
      }
      // containerd and its shims may run in their own sessions: find them by our temp dir.
      for (const other of await processesMentioning(dir)) {
        try {
          process.kill(other, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      for (const mp of await mountsUnder(dir)) await run('umount', ['-l', mp]).catch(() => {});
      await fs.rm(dir, { recursive: true, force: true }).catch(() => {});
    })());

  try {
    if (pid === undefined) throw new Error('dockerd could not be spawned');
    const docker = new Docker({ socketPath: socket });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!alive(pid)) throw new Error(`dockerd exited: ${(await fs.readFile(join(dir, 'log'), 'utf8').catch(() => '')).slice(-2000)}`);
      if (await docker.ping().then(() => true, () => false)) break;
      if (Date.now() > deadline) throw new Error('dockerd did not answer within 30 s');
      await sleep(50);
    }
    const hasImage = await docker.getImage(image).inspect().then(() => true, () => false);
    if (!hasImage) {
      await run('sh', [join(ROOT, 'scripts', 'build-sandbox-image.sh'), image], {
        env: { ...process.env, DOCKER_HOST: `unix://${socket}` },
        maxBuffer: 16 * 1024 * 1024,
        timeout: 15 * 60_000,
      }).catch((err: Error & { stderr?: string }) => {
        throw new Error(`building the sandbox image failed: ${err.stderr || err.message}`);
      });
    }
    return { socket, pid, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
