// The bubblewrap driver. A sandbox is one bwrap: its own pid, mount, network, ipc and uts
// namespaces, the host read-only, the workspace read-write, a private /tmp, a seccomp filter, and
// the sandbox's cgroup. Inside it a small supervisor (supervisor.ts) starts each command, so an
// exec does not pay for a new bwrap; whatever a command leaves running dies when it returns. That
// is the one way a command runs. An exec that needs the network in a sandbox without it (the
// setup step) goes to a second supervisor, in a bwrap that shares the host's. The bwrap is started
// by the server's ProcessRunner (util/processRunner.ts), which joins the cgroup and drops the uid
// first. See shared/ENVIRONMENT.md for why each flag is here.
import { promises as fs, constants as fsConstants } from 'node:fs';
import { posix } from 'node:path';
import { SANDBOX_BASE_ENV } from './baseEnv';
import { createSandboxCgroup, type CgroupDetection, type SandboxCgroup } from './cgroups';
import { DEFAULT_TIMEOUT_MS, emptyResult } from './processGroup';
import { limitReached, readCounts, type Counts } from './limits';
import { encodeSeccompFilter } from './seccomp';
import { supervisorScript, SupervisorClient, supervisorArgs } from './supervisor';
import { SpawnRunner, type ProcessRunner } from '../util/processRunner';
import { attachSlot, checkReachable, processesSettle, releaseSlot, resetSpare, type Keeper, type SlotDriver, type Slot, type Spare, type SpareSandbox } from './spares';
import { SANDBOX_UID, type ExecOptions, type ExecResult, type ProbeResult, type Sandbox, type SandboxLimits, type SandboxSpec } from './types';
import { NO_LOG, type Logger } from '../log';


export interface BwrapDriverOptions {
  cgroups: CgroupDetection;
  log?: Logger;
  uid?: number;
  /** The supervisor's interpreter (default: perl, which must be under /usr: only /usr is seen inside). */
  perl?: string;
  /** How the server starts processes (main.ts chooses it; default the plain SpawnRunner). */
  runner?: ProcessRunner;
}

const WORKSPACE = '/workspace';
/** The host's network namespace, and its resolver configuration. */
const SHARE_NET = ['--share-net', '--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf'];

// Host files the sandbox sees read-only. Everything else in /etc stays hidden (it may hold secrets).
const ETC_FILES = [
  '/etc/alternatives', '/etc/ssl', '/etc/ca-certificates', '/etc/ld.so.cache', '/etc/ld.so.conf',
  '/etc/ld.so.conf.d', '/etc/localtime', '/etc/nsswitch.conf', '/etc/hosts', '/etc/gitconfig',
  '/etc/mime.types', '/etc/protocols', '/etc/services',
];
const MERGED_USR_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** The data the sandbox gets on fds 3, 4, 5 (in that order): bwrap reads them at its start. */
const FD_SECCOMP = 3;
const FD_PASSWD = 4;
const FD_GROUP = 5;

async function findBinary(name: string): Promise<string | undefined> {
  for (const dir of ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin']) {
    const path = `${dir}/${name}`;
    if (await fs.access(path, fsConstants.X_OK).then(() => true, () => false)) return path;
  }
  return undefined;
}

function resolveCwd(cwd: string | undefined): string | undefined {
  const resolved = posix.resolve(WORKSPACE, cwd ?? '.');
  return resolved === WORKSPACE || resolved.startsWith(`${WORKSPACE}/`) ? resolved : undefined;
}

export class BwrapDriver implements SlotDriver {
  readonly name = 'bwrap' as const;
  private readonly uid: number;
  private readonly log: Logger;
  private readonly seccomp = encodeSeccompFilter();
  private readonly passwd: string;
  private readonly group: string;
  private binaries: Promise<Binaries | string> | undefined;
  private probed: Promise<ProbeResult> | undefined;
  private systemArgs: Promise<string[]> | undefined;

  /**
   * Not root (a desktop user running the server as themselves): bwrap still gets every namespace
   * through an unprivileged user namespace, mapping the server's uid to the sandbox uid inside;
   * there is no other uid to drop to, and no cgroup to join unless one was delegated to us.
   */
  private readonly unprivileged = process.getuid?.() !== 0;
  private readonly runner: ProcessRunner;

  constructor(private readonly options: BwrapDriverOptions) {
    this.uid = options.uid ?? SANDBOX_UID;
    this.log = options.log ?? NO_LOG;
    this.runner = options.runner ?? new SpawnRunner();
    if (this.uid === 0) throw new Error('the sandbox uid must not be 0');
    this.passwd = `root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:${this.uid}:${this.uid}:Delegate sandbox:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;
    this.group = `root:x:0:\nsandbox:x:${this.uid}:\nnogroup:x:65534:\n`;
  }

  probe(): Promise<ProbeResult> {
    return (this.probed ??= this.runProbe());
  }

  private async runProbe(): Promise<ProbeResult> {
    const bins = await this.findBinaries();
    if (typeof bins === 'string') return { ok: false, reason: bins };
    const dir = await fs.mkdtemp('/tmp/delegate-probe-');
    try {
      await fs.chmod(dir, 0o755);
      if (!this.unprivileged) await fs.chown(dir, this.uid, this.uid);
      const sandbox = await this.create({ id: 'probe', workspaceDir: dir, limits: { memoryBytes: 256 * 1024 ** 2, pids: 64, cpus: 1, diskBytes: 16 * 1024 ** 2 } });
      const result = await sandbox.exec(['/bin/sh', '-c', 'id -u'], { timeoutMs: 10_000 });
      await sandbox.dispose();
      if (result.sandboxError) return { ok: false, reason: `bwrap cannot start a sandbox: ${result.sandboxError}` };
      if (result.stdout.trim() !== String(this.uid)) return { ok: false, reason: `bwrap trial run failed: exit ${result.exitCode}, ${result.stderr.trim()}` };
      const limits = this.options.cgroups.ok
        ? this.options.cgroups.detail
        : bins.prlimit
          ? `NO memory or CPU limits (no cgroup: ${this.options.cgroups.reason}); process count and file size limited by rlimits`
          : `NO resource limits: ${this.options.cgroups.reason}`;
      const as = this.unprivileged ? `uid ${this.uid} in an unprivileged user namespace (server uid ${process.getuid?.()})` : `uid ${this.uid}`;
      return { ok: true, detail: `bubblewrap as ${as}, seccomp, ${limits}` };
    } catch (err) {
      return { ok: false, reason: `bwrap probe failed: ${(err as Error).message}` };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  private findBinaries(): Promise<Binaries | string> {
    return (this.binaries ??= (async () => {
      const [bwrap, prlimit, perlPath] = await Promise.all([findBinary('bwrap'), findBinary('prlimit'), this.options.perl ?? findBinary('perl')]);
      if (!bwrap) return 'bubblewrap is not installed (apt-get install bubblewrap)';
      // The supervisor runs inside, where only /usr of the host is visible.
      const perl = perlPath ? await fs.realpath(perlPath).catch(() => '') : '';
      if (!perl.startsWith('/usr/')) return `perl is needed under /usr for the sandbox supervisor (perl-base)${perlPath ? `: ${perlPath} is not` : ''}`;
      return { bwrap, prlimit, perl };
    })());
  }

  /** Host-layout dependent part of the command line; computed once. */
  private hostArgs(): Promise<string[]> {
    return (this.systemArgs ??= (async () => {
      const args = ['--ro-bind', '/usr', '/usr'];
      for (const path of MERGED_USR_LINKS) {
        const st = await fs.lstat(path).catch(() => undefined);
        if (!st) continue;
        if (st.isSymbolicLink()) args.push('--symlink', await fs.readlink(path), path);
        else args.push('--ro-bind', path, path);
      }
      for (const path of ETC_FILES) args.push('--ro-bind-try', path, path);
      return args;
    })());
  }

  create(spec: SandboxSpec): Promise<Sandbox> {
    return this.startSandbox(spec);
  }

  /** Root can mount: its sandboxes can be started ahead on a slot (SparingDriver). */
  get slotsReachable(): boolean {
    return !this.unprivileged;
  }

  startOnSlot(slot: Slot, limits: SandboxLimits, keeper: Keeper<Spare>): Promise<Spare> {
    return this.startSandbox({ id: 'spare', workspaceDir: slot.dir, limits }, slot, keeper);
  }

  private async startSandbox(spec: SandboxSpec, slot?: Slot, keeper?: Keeper<Spare>): Promise<BwrapSandbox> {
    const bins = await this.findBinaries();
    if (typeof bins === 'string') throw new Error(bins);
    for (const path of [spec.workspaceDir, spec.gitDir]) {
      if (!path) continue;
      if (!path.startsWith('/')) throw new Error(`sandbox paths must be absolute: ${path}`);
      // Unprivileged, bwrap resolves the paths as the server's own uid, which made them.
      const problem = this.unprivileged ? undefined : await checkReachable(path, this.uid);
      if (problem) throw new Error(problem);
    }
    let cgroup: SandboxCgroup | undefined;
    if (this.options.cgroups.ok) cgroup = await createSandboxCgroup(this.options.cgroups.layout, spec.id, spec.limits);
    else this.log.warn('sandbox runs without resource limits', { id: spec.id, reason: this.options.cgroups.reason });

    const tmpSize = String(Math.max(1024 * 1024, Math.floor(spec.limits.diskBytes)));
    const base = [
      ...(await this.hostArgs()),
      '--ro-bind-data', String(FD_PASSWD), '/etc/passwd',
      '--ro-bind-data', String(FD_GROUP), '/etc/group',
      '--proc', '/proc', '--ro-bind', '/proc/sys', '/proc/sys',
      // /dev read-only but for its own /dev/shm (bwrap's /dev is a tmpfs the sandbox user owns: a
      // command could leave files there), so a sandbox kept for the next task has nothing in it
      // that its reset does not empty.
      '--dev', '/dev',
      '--perms', '1777', '--size', tmpSize, '--tmpfs', '/dev/shm',
      '--remount-ro', '/dev',
      '--perms', '1777', '--size', tmpSize, '--tmpfs', '/tmp',
      // A slot gets the view and git dir later, by mount propagation (attach).
      '--bind', spec.workspaceDir, WORKSPACE,
      ...(spec.gitDir && !slot ? ['--ro-bind', spec.gitDir, `${WORKSPACE}/.git`] : []),
      '--unshare-all', '--unshare-user', '--disable-userns',
      '--uid', String(this.uid), '--gid', String(this.uid), '--hostname', 'sandbox',
      '--cap-drop', 'ALL', '--die-with-parent', '--new-session',
      '--seccomp', String(FD_SECCOMP),
      '--clearenv',
    ];
    // No cgroup (an ordinary user without a delegated one): rlimits still bound the process count
    // (a fork bomb) and the size of any one file. Memory has no such stand-in: RLIMIT_AS would
    // break runtimes that reserve address space (V8, the JVM).
    const rlimits = !cgroup && bins.prlimit ? [bins.prlimit, `--nproc=${spec.limits.pids}`, `--fsize=${Math.floor(spec.limits.diskBytes)}`, '--'] : [];
    const launch = {
      argv: [...rlimits, bins.bwrap],
      // Unprivileged there is no other uid to drop to: the user namespace maps ours.
      uid: this.unprivileged ? undefined : this.uid,
      cgroups: cgroup?.procsFiles ?? [],
      fds: [this.seccomp, Buffer.from(this.passwd), Buffer.from(this.group)],
    };
    const sandbox = new BwrapSandbox(spec, base, { launch, perl: bins.perl, log: this.log, runner: this.runner }, cgroup, slot, keeper);
    // Started now so that it is up by the time the first command comes (a model turn later).
    sandbox.warm();
    return sandbox;
  }
}

interface Binaries {
  bwrap: string;
  /** util-linux's prlimit: process and file-size limits where no cgroup can be had. */
  prlimit: string | undefined;
  /** Runs the in-sandbox supervisor. */
  perl: string;
}

interface FixedInputs {
  /** How the bwrap starts: through rlimits, as the sandbox uid, in the cgroup, fds 3-5 fed. */
  launch: { argv: string[]; uid: number | undefined; cgroups: string[]; fds: Buffer[] };
  perl: string;
  log: Logger;
  runner: ProcessRunner;
}

class BwrapSandbox implements Sandbox, SpareSandbox {
  readonly driver = 'bwrap';
  id: string;
  workspaceDir: string;
  readonly limits: SandboxLimits;
  /** Called once disposed (the driver then starts the next spare). */
  afterDispose: (() => void) | undefined;
  /** Commands have the host's network (spec.network). */
  private readonly network: boolean;
  /** Its supervisor: the one whose network is the sandbox's. */
  private supervisor: SupervisorClient | undefined;
  private supervisorClosed: Promise<void> = Promise.resolve();
  /** In a sandbox without network, a second one that has it, for execs that ask (the setup step). */
  private networked: { client: SupervisorClient; closed: Promise<void> } | undefined;
  private disposed: Promise<void> | undefined;

  constructor(
    spec: SandboxSpec,
    private readonly baseArgs: string[],
    private readonly inputs: FixedInputs,
    private readonly cgroup: SandboxCgroup | undefined,
    /** Started ahead of its task: the view comes later, onto this slot (attach). */
    private readonly slot?: Slot,
    /** Takes a spare back for the next task once reset (the pool). */
    private readonly keeper?: Keeper<Spare>,
  ) {
    this.id = spec.id;
    this.workspaceDir = spec.workspaceDir;
    this.limits = spec.limits;
    this.network = spec.network === true;
  }

  /** Its supervisor died while it waited for a task. */
  get broken(): boolean {
    return this.supervisor?.dead === true;
  }

  /** Its supervisor is up. */
  get ready(): boolean {
    return this.supervisor?.isReady === true;
  }

  /** A spare takes its task's workspace (spares.ts, attachSlot). */
  async attach(spec: SandboxSpec): Promise<string | null> {
    if (!this.slot) return 'not a spare';
    const failure = await attachSlot(this.slot, spec);
    if (failure !== null) return failure;
    this.id = spec.id;
    this.workspaceDir = spec.workspaceDir;
    return null;
  }

  /** Starts the supervisor ahead of the first exec. */
  warm(): void {
    if (!this.disposed) this.liveSupervisor();
  }

  private liveSupervisor(network = this.network): SupervisorClient {
    if (network !== this.network) {
      if (this.networked && !this.networked.client.dead) return this.networked.client;
      this.networked = this.startSupervisor(true);
      return this.networked.client;
    }
    if (this.supervisor && !this.supervisor.dead) return this.supervisor;
    const started = this.startSupervisor(network);
    this.supervisor = started.client;
    this.supervisorClosed = started.closed;
    return started.client;
  }

  private startSupervisor(network: boolean): { client: SupervisorClient; closed: Promise<void> } {
    // Its ready frame tells that bwrap's setup worked. It is the sandbox's pid 1 (--as-pid-1: no
    // reaper process of bwrap's, one fork less): the kernel then ignores any signal a command
    // sends it, and when it exits everything in the sandbox dies with it.
    const args = [...this.baseArgs, ...(network ? SHARE_NET : []), '--as-pid-1', '--remount-ro', '/', '--chdir', WORKSPACE, '--', this.inputs.perl, '-e', supervisorScript(), ...supervisorArgs({ sweep: true })];
    const { argv, uid, cgroups, fds } = this.inputs.launch;
    const started = this.inputs.runner.start({ argv: [...argv, ...args], cwd: '/', env: {}, fds, cgroups, uid, noNewPrivs: true });
    return { client: new SupervisorClient(started.child, { kill: () => started.kill() }), closed: started.closed };
  }

  /** The cgroup's counters as the last command left them (limits.ts readCounts). */
  private counts: Promise<Counts> | undefined;

  async exec(command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    const before = this.cgroup && (await (this.counts ??= readCounts(this.cgroup.counters)));
    const result = await this.run(command, options);
    const after = this.cgroup && (this.counts = readCounts(this.cgroup.counters));
    const limit = await limitReached(result, {
      limits: this.limits,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      before,
      after: await after,
      workspaceDir: this.workspaceDir,
      fileSizeLimited: !this.cgroup,
    });
    return limit ? { ...result, limit } : result;
  }

  private async run(command: string | string[], options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    if (this.disposed) return emptyResult(started, { sandboxError: 'sandbox disposed' });
    const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
    if (argv.length === 0) return emptyResult(started, { sandboxError: 'empty command' });
    const cwd = resolveCwd(options.cwd);
    if (!cwd) return emptyResult(started, { sandboxError: `cwd must stay under ${WORKSPACE}: ${options.cwd}` });
    if (options.signal?.aborted) return emptyResult(started, { aborted: true });
    const env: Record<string, string> = { ...SANDBOX_BASE_ENV, ...options.env };
    const supervisor = this.liveSupervisor(this.network || options.network === true);
    const failure = await supervisor.ready;
    if (this.disposed) return emptyResult(started, { sandboxError: 'sandbox disposed' });
    if (failure !== null) return emptyResult(started, { sandboxError: failure });
    return supervisor.exec(argv, cwd, env, options);
  }

  /**
   * A spare whose task is done goes back to the pool when nothing of the task is left in it
   * (resetSpare): a new sandbox costs ~50 ms of process starts here, on the next task's cores.
   * The one handed back is a new object on the same bwrap, supervisor, cgroup and slot.
   */
  private async recycle(): Promise<boolean> {
    const { slot, keeper, cgroup, supervisor } = this;
    if (!slot || !keeper?.wanted() || !cgroup || !supervisor || this.networked) return false;
    const failure = await resetSpare({ supervisor, perl: this.inputs.perl, slot, alone: () => onlySupervisorLeft(cgroup) });
    if (failure !== null) {
      this.inputs.log.info('sandbox not kept for the next task', { id: this.id, reason: failure });
      return false;
    }
    const next = new BwrapSandbox({ id: 'spare', workspaceDir: slot.dir, limits: this.limits }, this.baseArgs, this.inputs, cgroup, slot, keeper);
    next.supervisor = supervisor;
    next.supervisorClosed = this.supervisorClosed;
    return keeper.giveBack(next);
  }

  dispose(): Promise<void> {
    return (this.disposed ??= (async () => {
      if (await this.recycle()) {
        this.afterDispose?.();
        return;
      }
      this.supervisor?.stop();
      this.networked?.client.stop();
      await Promise.all([this.supervisorClosed, this.networked?.closed]);
      await this.cgroup?.destroy();
      if (this.slot) await releaseSlot(this.slot);
      this.afterDispose?.();
    })());
  }
}

/**
 * The sandbox's cgroup holds bwrap's outer process and the supervisor alone: two processes, the
 * one whose parent is outside the cgroup (bwrap, the launcher's child) and its only child (the
 * supervisor; a command, or what it left, would be the supervisor's descendant).
 */
async function onlySupervisorLeft(cgroup: SandboxCgroup): Promise<boolean> {
  const file = cgroup.procsFiles[0];
  if (!file) return false;
  const parentOf = async (pid: number): Promise<number> => {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    return Number(/\)\s+\S+\s+(\d+)/.exec(stat.slice(stat.lastIndexOf(')')))?.[1] ?? -1);
  };
  return processesSettle(file, async (pids) => {
    if (pids.length !== 2) return false;
    const [a, b] = pids as [number, number];
    const [pa, pb] = await Promise.all([parentOf(a), parentOf(b)]);
    return (pb === a && !pids.includes(pa)) || (pa === b && !pids.includes(pb));
  });
}
