// One cgroup per sandbox for memory, process count and CPU. Cgroup v2 (usual on desktops) and the
// v1 / hybrid layout (this build machine) are both supported; which one is found at driver
// creation. Sandbox cgroups nest under the server's own cgroup so whoever limits the server also
// limits its sandboxes.
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CgroupCounters } from './limits';
import type { SandboxLimits } from './types';

const CPU_PERIOD_US = 100_000;
const BASE_NAME = 'delegate';

export type CgroupLayout =
  | { version: 2; base: string }
  | { version: 1; memory: string; pids: string; cpu: string; memsw: boolean };

export type CgroupDetection = { ok: true; layout: CgroupLayout; detail: string } | { ok: false; reason: string };

export interface SandboxCgroup {
  /** The cgroup.procs files a process must join (one per v1 hierarchy, one for v2). */
  readonly procsFiles: string[];
  /** Where its OOM kills and refused forks are counted (limits.ts). */
  readonly counters: CgroupCounters;
  /** SIGKILL everything inside and remove the cgroup. Idempotent. */
  destroy(): Promise<void>;
}

interface Mount {
  root: string;
  mountPoint: string;
  fsType: string;
  superOptions: string[];
}

function parseMountInfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const right = line.slice(sep + 3).split(' ');
    if (left.length < 5 || right.length < 3) continue;
    const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    mounts.push({ root: unescape(left[3]!), mountPoint: unescape(left[4]!), fsType: right[0]!, superOptions: right[2]!.split(',') });
  }
  return mounts;
}

/** `/proc/self/cgroup` lines `id:controllers:path`, keyed by controller ('' for v2). */
function parseProcCgroup(text: string): Map<string, string> {
  const paths = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!match) continue;
    for (const controller of match[1]!.split(',')) paths.set(controller, match[2]!);
  }
  return paths;
}

function hostPath(mount: Mount, cgroupPath: string): string {
  const relative = mount.root !== '/' && cgroupPath.startsWith(mount.root) ? cgroupPath.slice(mount.root.length) : cgroupPath;
  return join(mount.mountPoint, relative);
}

async function writable(dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir, { recursive: true });
    await fs.access(dir, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The cgroup.procs file, as this process sees it, of the cgroup that holds process `pid` (one
 * started by a container engine, say): its pids hierarchy under v1, the unified one under v2.
 * Listed there are every process in it. Undefined when not found.
 */
export async function processesFileOf(pid: number): Promise<string | undefined> {
  const { pids } = await countersOf(pid);
  return pids ? join(pids, 'cgroup.procs') : undefined;
}

/** The memory and pids cgroup directories of process `pid` (a container's pid 1), as this process sees them. */
export async function countersOf(pid: number): Promise<CgroupCounters> {
  const [mountInfo, procCgroup] = await Promise.all([fs.readFile('/proc/self/mountinfo', 'utf8'), fs.readFile(`/proc/${pid}/cgroup`, 'utf8')]).catch(() => ['', '']);
  const mounts = parseMountInfo(mountInfo);
  const theirs = parseProcCgroup(procCgroup);
  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  const dir = (controller: string): string | undefined => {
    const v1 = mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
    if (v1 && theirs.has(controller)) return hostPath(v1, theirs.get(controller)!);
    return unified && theirs.has('') ? hostPath(unified, theirs.get('')!) : undefined;
  };
  return { memory: dir('memory'), pids: dir('pids') };
}

export interface DetectOptions {
  /** For tests: alternative /proc/self/mountinfo and /proc/self/cgroup contents. */
  mountInfo?: string;
  procCgroup?: string;
}

export async function detectCgroups(options: DetectOptions = {}): Promise<CgroupDetection> {
  let mountInfo: string;
  let procCgroup: string;
  try {
    mountInfo = options.mountInfo ?? (await fs.readFile('/proc/self/mountinfo', 'utf8'));
    procCgroup = options.procCgroup ?? (await fs.readFile('/proc/self/cgroup', 'utf8'));
  } catch (err) {
    return { ok: false, reason: `cannot read cgroup information: ${(err as Error).message}` };
  }
  const mounts = parseMountInfo(mountInfo);
  const own = parseProcCgroup(procCgroup);

  const v1 = (controller: string): Mount | undefined =>
    mounts.find((m) => m.fsType === 'cgroup' && m.superOptions.includes(controller));
  const memory = v1('memory');
  const pids = v1('pids');
  const cpu = v1('cpu');
  if (memory && pids && cpu) {
    const dirs = {
      memory: join(hostPath(memory, own.get('memory') ?? '/'), BASE_NAME),
      pids: join(hostPath(pids, own.get('pids') ?? '/'), BASE_NAME),
      cpu: join(hostPath(cpu, own.get('cpu') ?? '/'), BASE_NAME),
    };
    for (const dir of Object.values(dirs)) {
      if (!(await writable(dir))) return { ok: false, reason: `cgroup v1 directory ${dir} is not writable` };
    }
    const memsw = await fs.access(join(dirs.memory, 'memory.memsw.limit_in_bytes')).then(() => true, () => false);
    return {
      ok: true,
      layout: { version: 1, ...dirs, memsw },
      detail: `cgroup v1 (memory${memsw ? '+swap' : ''}, pids, cpu) under ${dirs.memory}`,
    };
  }

  const unified = mounts.find((m) => m.fsType === 'cgroup2');
  if (!unified) return { ok: false, reason: 'no cgroup v1 memory/pids/cpu hierarchies and no cgroup2 mount' };
  const controllers = await fs.readFile(join(hostPath(unified, '/'), 'cgroup.controllers'), 'utf8').catch(() => '');
  const wanted = ['memory', 'pids', 'cpu'];
  const missing = wanted.filter((c) => !controllers.split(/\s+/).includes(c));
  if (missing.length) return { ok: false, reason: `cgroup v2 lacks controllers: ${missing.join(', ')}` };
  const ownDir = hostPath(unified, own.get('') ?? '/');
  const enabled = await enableV2Controllers(ownDir, wanted);
  if (!enabled.ok) return enabled;
  return { ok: true, layout: { version: 2, base: enabled.base }, detail: `cgroup v2 (memory, pids, cpu) under ${enabled.base}` };
}

/**
 * v2 only lets a cgroup without processes hand controllers to its children ("no internal
 * processes"). When the server's own cgroup holds processes, the server moves itself into a leaf
 * beside the sandboxes first — the usual dance for a delegated subtree.
 */
async function enableV2Controllers(ownDir: string, controllers: string[]): Promise<{ ok: true; base: string } | { ok: false; reason: string }> {
  const enable = controllers.map((c) => `+${c}`).join(' ');
  const base = join(ownDir, BASE_NAME);
  try {
    try {
      await fs.writeFile(join(ownDir, 'cgroup.subtree_control'), enable);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
      const leaf = join(ownDir, `${BASE_NAME}-server`);
      await fs.mkdir(leaf, { recursive: true });
      await fs.writeFile(join(leaf, 'cgroup.procs'), String(process.pid));
      await fs.writeFile(join(ownDir, 'cgroup.subtree_control'), enable);
    }
    await fs.mkdir(base, { recursive: true });
    await fs.writeFile(join(base, 'cgroup.subtree_control'), enable);
    return { ok: true, base };
  } catch (err) {
    return { ok: false, reason: `cgroup v2 under ${ownDir} is not usable: ${(err as Error).message}` };
  }
}

function cgroupName(id: string): string {
  // Unique even when two servers (or two attempts) use the same sandbox id; the owner's pid lets
  // a later server remove what a crashed one left behind.
  return `${process.pid}-${id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}-${randomBytes(4).toString('hex')}`;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove sandbox cgroups whose owning server is gone (it crashed before disposing them). */
export async function sweepStaleCgroups(layout: CgroupLayout): Promise<number> {
  const bases = layout.version === 2 ? [layout.base] : [...new Set([layout.memory, layout.pids, layout.cpu])];
  const stale: string[] = [];
  for (const base of bases) {
    for (const entry of await fs.readdir(base, { withFileTypes: true }).catch(() => [])) {
      const owner = /^(\d+)-/.exec(entry.name);
      if (entry.isDirectory() && owner && !processAlive(Number(owner[1]))) stale.push(join(base, entry.name));
    }
  }
  await removeCgroups(stale);
  return stale.length;
}

export async function createSandboxCgroup(layout: CgroupLayout, id: string, limits: SandboxLimits): Promise<SandboxCgroup> {
  const name = cgroupName(id);
  const memory = String(Math.floor(limits.memoryBytes));
  const quota = String(Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US)));
  const dirs: string[] = [];
  try {
    // Side by side: each is a trip through libuv's thread pool, and this is on a task's way to
    // its first command.
    const made = async (dir: string): Promise<void> => {
      await fs.mkdir(dir);
      dirs.push(dir);
    };
    if (layout.version === 2) {
      const dir = join(layout.base, name);
      await made(dir);
      await Promise.all([
        fs.writeFile(join(dir, 'memory.max'), memory),
        // Without this the kernel swaps the cgroup out instead of killing at the cap.
        fs.writeFile(join(dir, 'memory.swap.max'), '0').catch(() => {}),
        fs.writeFile(join(dir, 'pids.max'), String(limits.pids)),
        fs.writeFile(join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`),
      ]);
    } else {
      const mem = join(layout.memory, name);
      const pids = join(layout.pids, name);
      const cpu = join(layout.cpu, name);
      const settled = await Promise.allSettled([...new Set([mem, pids, cpu])].map(made));
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
      await Promise.all([
        // memsw may never be below the memory limit: that one first.
        fs.writeFile(join(mem, 'memory.limit_in_bytes'), memory).then(() => (layout.memsw ? fs.writeFile(join(mem, 'memory.memsw.limit_in_bytes'), memory) : undefined)),
        fs.writeFile(join(pids, 'pids.max'), String(limits.pids)),
        // The period before the quota: a quota above the old period's would be refused.
        fs.writeFile(join(cpu, 'cpu.cfs_period_us'), String(CPU_PERIOD_US)).then(() => fs.writeFile(join(cpu, 'cpu.cfs_quota_us'), quota)),
      ]);
    }
  } catch (err) {
    await removeCgroups(dirs);
    throw new Error(`cannot set up cgroup ${name}: ${(err as Error).message}`);
  }
  let destroyed: Promise<void> | undefined;
  const counters = layout.version === 2 ? { memory: join(layout.base, name), pids: join(layout.base, name) } : { memory: join(layout.memory, name), pids: join(layout.pids, name) };
  return {
    procsFiles: dirs.map((d) => join(d, 'cgroup.procs')),
    counters,
    destroy: () => (destroyed ??= removeCgroups(dirs)),
  };
}

async function pidsIn(dir: string): Promise<number[]> {
  const text = await fs.readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

/** Kill until empty (a process may fork while we read), then rmdir. */
async function removeCgroups(dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    await fs.writeFile(join(dir, 'cgroup.kill'), '1').catch(() => {});
    for (let attempt = 0; attempt < 200; attempt++) {
      const pids = await pidsIn(dir);
      if (pids.length === 0) break;
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  for (const dir of dirs) {
    for (let attempt = 0; attempt < 100; attempt++) {
      try {
        await fs.rmdir(dir);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        // EBUSY while the last killed processes are still being reaped.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  }
}
