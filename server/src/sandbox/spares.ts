// Sandboxes started ahead of their tasks (root only), for every driver that binds a directory at
// /workspace. A spare binds an empty *slot* (DATA/sandboxes/<pid>-<n>): the slot is a bind mount of
// itself made shared, and the sandbox's copy is a slave (bwrap makes every mount in its namespace
// one; docker is asked for `rslave`). When a task takes the spare (attachSlot), the host mounts
// the task's view onto the slot and its git dir, read-only, onto the slot's .git, and both appear
// inside the running sandbox. A task then does not wait for a sandbox to start (50-70 ms for
// bwrap here, ~700 ms for docker).
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { MNT_DETACH, MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REMOUNT, MS_SHARED, type ProcessRunner } from '../util/processRunner';
import { parseMountInfo } from '../workspace/parse';
import { processAlive } from './cgroups';
import { perlScript } from './perl';
import { SANDBOX_BASE_ENV } from './baseEnv';
import type { SupervisorClient } from './supervisor';
import type { ProbeResult, Sandbox, SandboxDriver, SandboxLimits, SandboxSpec } from './types';
import type { Logger } from '../log';

/** A spare's mount point (`dir`, bound at /workspace) and where its git dir is made read-only. */
export interface Slot {
  dir: string;
  stage: string;
  /** The server's ProcessRunner, which mounts onto the slot and unmounts from it. */
  runner: ProcessRunner;
}

/** What the pool needs of a driver's sandbox. */
export interface SpareSandbox {
  readonly limits: SandboxLimits;
  /** It died while it waited for a task. */
  readonly broken: boolean;
  /** It is up (taken first). */
  readonly ready: boolean;
  /** Takes the task's workspace; null when done, else why not. */
  attach(spec: SandboxSpec): Promise<string | null>;
  /** Called once disposed (the pool then starts the next one). */
  afterDispose: (() => void) | undefined;
  dispose(): Promise<void>;
}

export interface SparePoolOptions<S extends SpareSandbox> {
  /** DATA/sandboxes. */
  dir: string;
  /** How many to keep started. */
  count: number;
  limits: SandboxLimits;
  /** The sandbox uid, which must reach the slot. */
  uid: number;
  /** The server's ProcessRunner: it mounts the slots. */
  runner: ProcessRunner;
  /** Starts a sandbox that binds `slot.dir` at /workspace, with its copy a slave of it. */
  start(slot: Slot, limits: SandboxLimits): Promise<S>;
  log: Logger;
}

/** Where a sandbox whose task is done may go back to (the pool that started it). */
export interface Keeper<S> {
  /** Would it take one back now (checked before the reset is paid for)? */
  wanted(): boolean;
  giveBack(spare: S): boolean;
  /** No more spares (they cannot work here): tasks get sandboxes of their own. */
  stop(reason: string): void;
}

export type Spare = Sandbox & SpareSandbox;

/** A driver whose sandboxes can be started ahead on a slot (bwrap, docker). */
export interface SlotDriver extends SandboxDriver {
  /** Whether its sandboxes can bind a slot of this machine (root; docker: a local engine). */
  readonly slotsReachable: boolean;
  /** Starts a sandbox that binds `slot.dir` at /workspace (a slave of it), kept by `keeper` when done. */
  startOnSlot(slot: Slot, limits: SandboxLimits, keeper: Keeper<Spare>): Promise<Spare>;
}

/**
 * Sandboxes started ahead of their tasks, as a layer around a driver (createSandboxDriver adds it
 * unless spares are off): create() hands out a started one when one suits the task, else asks the
 * driver. It pays for itself in the bench's start figure, "task accepted -> first command
 * started" (bwrap, 5,000 files, back to back at load average ~11 on 2 cores): median 224 ms with
 * it, 463 ms with --no-spares. A docker container takes ~700 ms to start here.
 */
export class SparingDriver implements SandboxDriver {
  readonly name: SandboxDriver['name'];
  private readonly pool: SparePool<Spare>;

  constructor(
    private readonly inner: SlotDriver,
    options: Omit<SparePoolOptions<Spare>, 'start'>,
  ) {
    this.name = inner.name;
    this.pool = new SparePool<Spare>({ ...options, start: (slot, limits) => inner.startOnSlot(slot, limits, this.pool) });
  }

  async probe(): Promise<ProbeResult> {
    const probe = await this.inner.probe();
    if (probe.ok) this.pool.fill();
    return probe;
  }

  async create(spec: SandboxSpec): Promise<Sandbox> {
    return (await this.pool.take(spec)) ?? this.inner.create(spec);
  }

  /** Disposes the sandboxes started ahead, then the driver. */
  async close(): Promise<void> {
    await this.pool.close();
    await this.inner.close?.();
  }
}

export class SparePool<S extends SpareSandbox> implements Keeper<S> {
  /** Started, oldest first. */
  private spares: S[] = [];
  private filling: Promise<void> | undefined;
  private waiters: Array<() => void> = [];
  /** Why none can be started (the slot could not be made). */
  private off: string | undefined;
  private slots = 0;
  /** Taken less than a second ago and not disposed yet: expected back before a replacement starts. */
  private onLoan = 0;
  private closing = false;

  constructor(private readonly options: SparePoolOptions<S>) {}

  /**
   * A started sandbox with the task's workspace attached, or undefined when none suits `spec` (a
   * task's workspace with its git dir and the spares' limits). One being started is waited for:
   * it is further along than one started now. A replacement starts when the taken one is
   * disposed without coming back (giveBack), or a second later if its task runs longer: not at
   * once, where its process starts would compete with the task's own first steps, nor while a
   * short task's sandbox may still come back, reset.
   */
  async take(spec: SandboxSpec): Promise<S | undefined> {
    // Spares have no network: a task whose commands all need it gets a sandbox of its own.
    // Nor are they of another image (an environment's own).
    if (!spec.gitDir || spec.network || spec.image !== undefined || !sameLimits(this.options.limits, spec.limits)) return undefined;
    if (this.spares.length === 0 && this.filling) await new Promise<void>((resolve) => this.waiters.push(resolve));
    for (const broken of this.spares.filter((s) => s.broken)) void broken.dispose();
    this.spares = this.spares.filter((s) => !s.broken);
    const spare = this.spares.find((s) => s.ready) ?? this.spares[0];
    if (!spare) return undefined;
    this.spares = this.spares.filter((s) => s !== spare);
    // On loan until disposed (it may come back, reset: giveBack) or for a second at most: until
    // then no replacement is started for it.
    this.onLoan++;
    let settled = false;
    const settle = (): void => {
      if (settled) return;
      settled = true;
      this.onLoan--;
      clearTimeout(refill);
      this.fill();
    };
    const refill = setTimeout(settle, 1000);
    refill.unref();
    spare.afterDispose = settle;
    const failure = await spare.attach(spec);
    if (failure === null) return spare;
    this.options.log.warn('a sandbox started ahead could not take the workspace; starting one for the task', { id: spec.id, reason: failure });
    void spare.dispose();
    return undefined;
  }

  /** Starts spares until there are `count` (no-op while a fill runs). */
  fill(): void {
    if (this.filling || this.closing || this.off !== undefined) return;
    this.filling = (async () => {
      while (this.spares.length + this.onLoan < this.options.count && this.off === undefined && !this.closing) {
        const slot = await makeSlot(this.options.dir, `${process.pid}-${++this.slots}`, this.options.uid, this.options.runner);
        if (typeof slot === 'string') {
          this.off = slot;
          this.options.log.info('no sandbox is started ahead of tasks', { reason: slot });
          break;
        }
        const sandbox = await this.options.start(slot, this.options.limits).catch((err: Error) => {
          this.options.log.warn('could not start a sandbox ahead of tasks', { err });
          void releaseSlot(slot);
          return undefined;
        });
        if (!sandbox) break;
        if (this.closing || this.off !== undefined) await sandbox.dispose();
        else this.spares.push(sandbox);
        this.wake();
      }
    })().finally(() => {
      this.filling = undefined;
      this.wake();
    });
  }

  wanted(): boolean {
    return !this.closing && this.off === undefined && this.spares.length < this.options.count;
  }

  /**
   * A spare whose task is done and that was reset to what it was when started: kept for the next
   * task (true), unless the pool is full, stopped or closing.
   */
  giveBack(spare: S): boolean {
    if (!this.wanted()) return false;
    this.spares.push(spare);
    this.wake();
    return true;
  }

  /** No more spares: the ones started are disposed and tasks get sandboxes of their own. */
  stop(reason: string): void {
    if (this.off !== undefined) return;
    this.off = reason;
    this.options.log.warn('no sandbox is started ahead of tasks any more', { reason });
    for (const spare of this.spares.splice(0)) void spare.dispose();
  }

  /** Disposes the spares (server shutdown). */
  async close(): Promise<void> {
    this.closing = true;
    await this.filling;
    await Promise.all(this.spares.map((s) => s.dispose()));
    this.spares = [];
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

function sameLimits(a: SandboxLimits, b: SandboxLimits): boolean {
  return a.memoryBytes === b.memoryBytes && a.pids === b.pids && a.cpus === b.cpus && a.diskBytes === b.diskBytes;
}

/**
 * The task's view onto the slot and its git dir read-only onto the slot's .git: the git dir is
 * bound on a private stage and made read-only first (a remount would not reach the sandbox's
 * copy), then the view, then the read-only git dir. Each mount reaches the sandbox's /workspace at
 * once. Null when done, else why not.
 */
export async function attachSlot(slot: Slot, spec: SandboxSpec): Promise<string | null> {
  if (!spec.gitDir) return 'no git dir';
  try {
    await fs.mkdir(join(spec.workspaceDir, '.git'), { recursive: true });
    const steps: Array<[string, string, number]> = [
      [spec.gitDir, slot.stage, MS_BIND],
      ['', slot.stage, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV],
      [spec.workspaceDir, slot.dir, MS_BIND],
      [slot.stage, join(slot.dir, '.git'), MS_BIND],
    ];
    for (const [source, target, flags] of steps) {
      const r = await slot.runner.mount(source, target, '', flags, '');
      if (!r?.ok) return `mounting ${target}: ${r ? r.reason : 'no process launcher'}`;
    }
    return null;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await slot.runner.umount(slot.stage, MNT_DETACH);
  }
}

/** `SPARE_DIR/<name>`, bound onto itself and made shared; or why it cannot be. */
async function makeSlot(spareDir: string, name: string, uid: number, runner: ProcessRunner): Promise<Slot | string> {
  const slot = { dir: join(spareDir, name), stage: join(spareDir, `${name}.git`), runner };
  try {
    await fs.mkdir(spareDir, { recursive: true, mode: 0o755 });
    await fs.mkdir(slot.dir, { mode: 0o755 });
    await fs.mkdir(slot.stage, { mode: 0o700 });
    const problem = await checkReachable(slot.dir, uid);
    if (problem) throw new Error(problem);
    for (const flags of [MS_BIND, MS_SHARED]) {
      const r = await runner.mount(flags === MS_BIND ? slot.dir : '', slot.dir, '', flags, '');
      if (!r) throw new Error('mount(2) needs the process launcher (perl)');
      if (!r.ok) throw new Error(`mount ${slot.dir}: ${r.reason}`);
    }
    return slot;
  } catch (err) {
    await releaseSlot(slot);
    return (err as Error).message;
  }
}

/**
 * bwrap resolves bind sources (a task's view, its git dir, a slot) as the sandbox uid: every
 * ancestor must be searchable by it.
 */
export async function checkReachable(path: string, uid: number): Promise<string | undefined> {
  let dir = path;
  for (;;) {
    const st = await fs.stat(dir).catch(() => undefined);
    if (!st) return `${dir} does not exist`;
    const searchable = (st.uid === uid && st.mode & 0o100) || (st.gid === uid && st.mode & 0o010) || st.mode & 0o001;
    if (st.isDirectory() && !searchable) {
      return `${dir} is not searchable by the sandbox uid ${uid} (mode ${(st.mode & 0o777).toString(8)}); make it o+x or owned by ${uid}`;
    }
    if (dir === '/') return undefined;
    dir = dirname(dir);
  }
}

/**
 * Detaches whatever is mounted on the slot (the view, its .git, the slot's own bind) and removes
 * the two directories. rmdir, never a recursive removal: a mount still there must not be emptied.
 */
export async function releaseSlot(slot: Slot): Promise<void> {
  for (const path of [slot.stage, slot.dir]) {
    for (let i = 0; i < 8; i++) {
      const r = await slot.runner.umount(path, MNT_DETACH);
      if (!r?.ok) break;
    }
    await fs.rmdir(path).catch(() => {});
  }
}


/**
 * Readies a spare whose task is done for the next task: no command running, the reset script
 * passed, nothing but the supervisor left (`alone`, checked from the host), the task's workspace
 * detached from the slot. Null when all of it holds; otherwise why not, and the sandbox must be
 * disposed.
 */
export async function resetSpare(opts: { supervisor: SupervisorClient; perl: string; slot: Slot; alone: () => Promise<boolean> }): Promise<string | null> {
  const { supervisor, perl, slot, alone } = opts;
  if (!supervisor.isReady) return 'its supervisor is not up';
  if (supervisor.busy) return 'a command is still running';
  const reset = await supervisor.exec([perl, '-e', perlScript('reset.pl')], '/', SANDBOX_BASE_ENV, { timeoutMs: 5_000 });
  if (reset.sandboxError || reset.exitCode !== 0) return `the reset failed (${reset.sandboxError ?? (reset.timedOut ? 'timed out' : `exit ${reset.exitCode}`)}): something of the task could not be removed`;
  if (!(await alone())) return 'processes besides the supervisor are left';
  if (!(await detachSlot(slot))) return 'the task\'s workspace could not be detached from the slot';
  return null;
}

/**
 * Whether the processes in a cgroup (its cgroup.procs, host pids) pass `test`, waiting up to
 * ~100 ms for processes just killed (by the supervisor's sweep) to go.
 */
export async function processesSettle(procsFile: string, test: (pids: number[]) => boolean | Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 20; i++) {
    const pids = (await fs.readFile(procsFile, 'utf8').catch(() => '')).split('\n').filter(Boolean).map(Number);
    if (pids.length > 0 && (await test(pids))) return true;
    await new Promise((r) => setTimeout(r, 5));
  }
  return false;
}

/**
 * Undoes attachSlot: the task's view and git dir leave the slot (and a sandbox bound to it), the
 * slot's own bind stays. True when exactly that is left.
 */
export async function detachSlot(slot: Slot): Promise<boolean> {
  const mounts = async () => parseMountInfo(await fs.readFile('/proc/self/mountinfo', 'utf8')).map((m) => m.mountPoint);
  const before = await mounts();
  const below = before.filter((m) => m.startsWith(`${slot.dir}/`)).reverse();
  const onTop = before.filter((m) => m === slot.dir).length - 1;
  for (const target of [...below, ...Array<string>(Math.max(0, onTop)).fill(slot.dir)]) {
    const r = await slot.runner.umount(target, MNT_DETACH);
    if (!r?.ok) return false;
  }
  const after = await mounts();
  return after.filter((m) => m === slot.dir).length === 1 && !after.some((m) => m.startsWith(`${slot.dir}/`));
}

/** Slots a server that is gone left in `spareDir` (named `<pid>-<n>`). */
export async function sweepStaleSlots(spareDir: string, runner: ProcessRunner): Promise<number> {
  let swept = 0;
  for (const name of await fs.readdir(spareDir).catch(() => [] as string[])) {
    const m = /^(\d+)-\d+$/.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    await releaseSlot({ dir: join(spareDir, name), stage: join(spareDir, `${name}.git`), runner });
    swept++;
  }
  return swept;
}
