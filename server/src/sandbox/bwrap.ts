// The bubblewrap driver. A sandbox is one bwrap: its own pid, mount, network, ipc and uts
// namespaces, the host read-only, the workspace read-write, a private /tmp, a seccomp filter, and
// the sandbox's cgroup. Inside it a small supervisor (supervisor.ts) starts each command, so an
// exec does not pay for a new bwrap; whatever a command leaves running dies when it returns. An
// exec that needs the network (the setup phase) gets a bwrap of its own that shares the host's;
// where perl is missing every exec does. See shared/ENVIRONMENT.md for why each flag is here.
import { spawn } from 'node:child_process';
import { promises as fs, constants as fsConstants } from 'node:fs';
import { posix } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { SANDBOX_BASE_ENV } from './baseEnv';
import { createSandboxCgroup, type CgroupDetection, type SandboxCgroup } from './cgroups';
import { DEFAULT_TIMEOUT_MS, emptyResult, killGroup, runProcessGroup, type GroupRun } from './processGroup';
import { limitReached, readCounts } from './limits';
import { encodeSeccompFilter } from './seccomp';
import { supervisorScript, SupervisorClient, supervisorArgs } from './supervisor';
import { launchChild } from '../util/launcher';
import { attachSlot, checkReachable, processesSettle, releaseSlot, resetSpare, SparePool, type Keeper, type Slot, type SpareSandbox } from './spares';
import { DEFAULT_LIMITS, SANDBOX_UID, type ExecOptions, type ExecResult, type ProbeResult, type Sandbox, type SandboxDriver, type SandboxLimits, type SandboxSpec } from './types';

export type SandboxLog = (level: 'info' | 'warn' | 'error', msg: string, fields?: object) => void;

export interface BwrapDriverOptions {
  cgroups: CgroupDetection;
  log?: SandboxLog;
  uid?: number;
  /** The supervisor's interpreter (default: perl from PATH, if under /usr); null: none. */
  perl?: string | null;
  /**
   * Root only: a directory for the mount slots of sandboxes started ahead of their task (see
   * spares.ts). Without it every sandbox starts when its task asks for it.
   */
  spareDir?: string;
  /** How many sandboxes are kept started ahead (default 2). */
  spares?: number;
  /** Their limits (default DEFAULT_LIMITS); a sandbox with other limits starts when asked for. */
  spareLimits?: SandboxLimits;
}

const WORKSPACE = '/workspace';
/** The host's network namespace, and its resolver configuration. */
const SHARE_NET = ['--share-net', '--ro-bind-try', '/etc/resolv.conf', '/etc/resolv.conf'];

// Joins every cgroup given as arguments, then becomes the next command, so the sandbox is limited
// from its first instruction on. Runs as root with an empty environment.
const JOIN_CGROUPS = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done;';
// The shell exports PWD (and bash SHLVL) to what it execs: bwrap's pid 1 would show them.
const JOIN_CGROUPS_AND_EXEC = `unset PWD OLDPWD; ${JOIN_CGROUPS} exec "$@"`;
const JOIN_CGROUPS_AND_EXEC_BASH = `${JOIN_CGROUPS} exec -c "$@"`;

// Host files the sandbox sees read-only. Everything else in /etc stays hidden (it may hold secrets).
const ETC_FILES = [
  '/etc/alternatives', '/etc/ssl', '/etc/ca-certificates', '/etc/ld.so.cache', '/etc/ld.so.conf',
  '/etc/ld.so.conf.d', '/etc/localtime', '/etc/nsswitch.conf', '/etc/hosts', '/etc/gitconfig',
  '/etc/mime.types', '/etc/protocols', '/etc/services',
];
const MERGED_USR_LINKS = ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32'];

/** Extra fds, in the order runProcessGroup hands them to the child (3, 4, ...). */
const FD_SECCOMP = 3;
const FD_STARTED = 4;

// First thing inside the sandbox: tell the driver that bwrap's setup worked (so a later failure is
// the command's, not the sandbox's), drop that fd, and become the command.
const MARK_STARTED = `printf 1 >&${FD_STARTED}; exec ${FD_STARTED}>&-; exec "$@"`;
const FD_PASSWD = 5;
const FD_GROUP = 6;

/**
 * File descriptors this process inherited without close-on-exec (Node's own all have it). They
 * would pass through sh, setpriv and bwrap into the sandbox, so the wrapper closes them.
 */
async function inheritedFds(): Promise<number[]> {
  const O_CLOEXEC = 0o2000000;
  const fds: number[] = [];
  for (const name of await fs.readdir('/proc/self/fd').catch(() => [] as string[])) {
    const fd = Number(name);
    if (fd < 3) continue;
    const info = await fs.readFile(`/proc/self/fdinfo/${fd}`, 'utf8').catch(() => '');
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) fds.push(fd);
  }
  return fds;
}

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

export class BwrapDriver implements SandboxDriver {
  readonly name = 'bwrap' as const;
  private readonly uid: number;
  private readonly log: SandboxLog;
  private readonly seccomp = encodeSeccompFilter();
  private readonly passwd: string;
  private readonly group: string;
  private binaries: Promise<Launcher | string> | undefined;
  private probed: Promise<ProbeResult> | undefined;
  private systemArgs: Promise<string[]> | undefined;
  /** Sandboxes started ahead of their tasks (root with a spareDir). */
  private readonly spares: SparePool<BwrapSandbox> | undefined;

  /**
   * Not root (a desktop user running the server as themselves): bwrap still gets every namespace
   * through an unprivileged user namespace, mapping the server's uid to the sandbox uid inside;
   * there is no other uid to drop to, and no cgroup to join unless one was delegated to us.
   */
  private readonly unprivileged = process.getuid?.() !== 0;

  constructor(private readonly options: BwrapDriverOptions) {
    this.uid = options.uid ?? SANDBOX_UID;
    this.log = options.log ?? (() => {});
    if (this.uid === 0) throw new Error('the sandbox uid must not be 0');
    this.passwd = `root:x:0:0:root:/root:/usr/sbin/nologin\nsandbox:x:${this.uid}:${this.uid}:Delegate sandbox:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n`;
    const spareDir = options.spareDir;
    this.spares = spareDir && !this.unprivileged
      ? new SparePool({ dir: spareDir, count: options.spares ?? 2, limits: options.spareLimits ?? DEFAULT_LIMITS, uid: this.uid, log: this.log, start: (slot, limits) => this.startSandbox({ id: 'spare', workspaceDir: slot.dir, limits }, slot) })
      : undefined;
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
      this.spares?.fill();
      return { ok: true, detail: `bubblewrap as ${as}, seccomp, ${limits}` };
    } catch (err) {
      return { ok: false, reason: `bwrap probe failed: ${(err as Error).message}` };
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  }

  private findBinaries(): Promise<Launcher | string> {
    return (this.binaries ??= (async () => {
      const perlOption = this.options.perl;
      const [bwrap, setpriv, bash, prlimit, perlPath] = await Promise.all([findBinary('bwrap'), findBinary('setpriv'), findBinary('bash'), findBinary('prlimit'), perlOption === undefined ? findBinary('perl') : perlOption ?? undefined]);
      if (!bwrap) return 'bubblewrap is not installed (apt-get install bubblewrap)';
      if (!setpriv) return 'setpriv (util-linux) is not installed';
      // The supervisor runs inside, where only /usr of the host is visible.
      const perlReal = perlPath ? await fs.realpath(perlPath).catch(() => '') : '';
      const perl = perlReal.startsWith('/usr/') ? perlReal : undefined;
      if (!perl) this.log('warn', 'perl not found under /usr: every sandboxed command starts its own bwrap (slower)');
      // Fds 3..6 are ours in the child; only higher inherited ones need closing.
      const stray = (await inheritedFds()).filter((fd) => fd > FD_GROUP);
      if (stray.length === 0) return { bwrap, setpriv, prlimit, perl, shell: '/bin/sh', script: JOIN_CGROUPS_AND_EXEC };
      // dash cannot name fds above 9; bash can.
      if (!bash) return `inherited file descriptors ${stray.join(', ')} would leak into sandboxes and bash is missing to close them`;
      const close = stray.map((fd) => `${fd}>&-`).join(' ');
      return { bwrap, setpriv, prlimit, perl, shell: bash, script: `exec ${close}; ${JOIN_CGROUPS_AND_EXEC_BASH}` };
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

  async create(spec: SandboxSpec): Promise<Sandbox> {
    return (await this.spares?.take(spec)) ?? this.startSandbox(spec);
  }

  /** Disposes the sandboxes started ahead (server shutdown). */
  async close(): Promise<void> {
    await this.spares?.close();
  }

  private async startSandbox(spec: SandboxSpec, slot?: Slot): Promise<BwrapSandbox> {
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
    else this.log('warn', 'sandbox runs without resource limits', { id: spec.id, reason: this.options.cgroups.reason });

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
    const drop = this.unprivileged ? [] : [`--reuid=${this.uid}`, `--regid=${this.uid}`, '--clear-groups'];
    // No cgroup (an ordinary user without a delegated one): rlimits still bound the process count
    // (a fork bomb) and the size of any one file. Memory has no such stand-in: RLIMIT_AS would
    // break runtimes that reserve address space (V8, the JVM).
    const rlimits = !cgroup && bins.prlimit ? [bins.prlimit, `--nproc=${spec.limits.pids}`, `--fsize=${Math.floor(spec.limits.diskBytes)}`, '--'] : [];
    const prefix = [
      String(cgroup?.procsFiles.length ?? 0), ...(cgroup?.procsFiles ?? []),
      ...rlimits,
      bins.setpriv, ...drop, '--no-new-privs',
      bins.bwrap,
    ];
    // What sh and setpriv do, the process launcher can do itself (join the cgroups, drop to the
    // sandbox uid, no_new_privs), saving two process starts; not where rlimits stand in for a cgroup.
    const direct = rlimits.length === 0 ? { bwrap: bins.bwrap, cgroups: cgroup?.procsFiles ?? [], uid: this.unprivileged ? undefined : this.uid } : undefined;
    const inputs = { shell: bins.shell, script: bins.script, seccomp: this.seccomp, passwd: this.passwd, group: this.group, perl: bins.perl, direct, log: this.log };
    const sandbox = new BwrapSandbox(spec, prefix, base, inputs, cgroup, slot, this.spares);
    // Started now so that it is up by the time the first command comes (a model turn later).
    sandbox.warm();
    return sandbox;
  }
}

interface Launcher {
  bwrap: string;
  setpriv: string;
  /** util-linux's prlimit: process and file-size limits where no cgroup can be had. */
  prlimit: string | undefined;
  /** Runs the in-sandbox supervisor; without it every exec is a bwrap of its own. */
  perl: string | undefined;
  /** Runs `script`, which joins the cgroups and execs setpriv + bwrap. */
  shell: string;
  script: string;
}

interface FixedInputs {
  shell: string;
  script: string;
  seccomp: Buffer;
  passwd: string;
  group: string;
  perl: string | undefined;
  /** bwrap started by the process launcher without sh and setpriv (see startSandbox). */
  direct: { bwrap: string; cgroups: string[]; uid: number | undefined } | undefined;
  log: SandboxLog;
}

class BwrapSandbox implements Sandbox, SpareSandbox {
  readonly driver = 'bwrap';
  id: string;
  workspaceDir: string;
  readonly limits: SandboxLimits;
  /** Called once disposed (the driver then starts the next spare). */
  afterDispose: (() => void) | undefined;
  private readonly running = new Set<GroupRun>();
  /** Commands have the host's network (spec.network). */
  private readonly network: boolean;
  /** Its supervisor: the one whose network is the sandbox's. */
  private supervisor: SupervisorClient | undefined;
  private supervisorClosed: Promise<void> = Promise.resolve();
  /** In a sandbox without network, a second one that has it, for execs that ask (the setup step). */
  private networked: { client: SupervisorClient; closed: Promise<void> } | undefined;
  private supervisorUnusable = false;
  private disposed: Promise<void> | undefined;

  constructor(
    spec: SandboxSpec,
    private readonly prefix: string[],
    private readonly baseArgs: string[],
    private readonly inputs: FixedInputs,
    private readonly cgroup: SandboxCgroup | undefined,
    /** Started ahead of its task: the view comes later, onto this slot (attach). */
    private readonly slot?: Slot,
    /** Takes a spare back for the next task once reset (the pool). */
    private readonly keeper?: Keeper<BwrapSandbox>,
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

  /** Starts the supervisor ahead of the first exec (no-op without perl). */
  warm(): void {
    if (this.inputs.perl && !this.disposed) this.liveSupervisor();
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
    // Its ready frame tells that bwrap's setup worked: no start marker needed.
    // The supervisor is the sandbox's pid 1 (--as-pid-1: no reaper process of bwrap's, one fork
    // less): the kernel then ignores any signal a command sends it, and when it exits everything
    // in the sandbox dies with it.
    const args = [...this.baseArgs, ...(network ? SHARE_NET : []), '--as-pid-1', '--remount-ro', '/', '--chdir', WORKSPACE, '--', this.inputs.perl!, '-e', supervisorScript(), ...supervisorArgs({ sweep: true })];
    const argv = [this.inputs.shell, '-c', this.inputs.script, 'sh', ...this.prefix, ...args];
    // Through the server's process launcher where there is one: no fork of the server (node's
    // spawn() blocks its event loop ~15 ms). The fixed inputs go on fds 3-6 as data; fd 4 (bwrap's
    // start report, for execAlone) stays empty.
    const { seccomp, passwd, group, direct } = this.inputs;
    const fds = [seccomp, Buffer.alloc(0), Buffer.from(passwd), Buffer.from(group)];
    const launched = direct
      ? launchChild({ argv: [direct.bwrap, ...args], cwd: '/', env: {}, fds, cgroups: direct.cgroups, uid: direct.uid, noNewPrivs: true })
      : launchChild({ argv, cwd: '/', env: {}, fds });
    if (launched) return { client: new SupervisorClient(launched.child, { kill: launched.kill }), closed: launched.closed };
    const child = spawn(argv[0]!, argv.slice(1), {
      env: {},
      cwd: '/',
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    });
    const closed = new Promise<void>((resolve) => {
      child.on('close', () => resolve());
      child.on('error', () => resolve());
    });
    if (child.pid !== undefined) this.feedFixedInputs(child.stdio as unknown as Array<Writable & Readable>);
    return { client: new SupervisorClient(child, { kill: () => killGroup(child.pid) }), closed };
  }

  /** The seccomp filter, /etc/passwd and /etc/group on fds 3, 5, 6; fd 4 reports bwrap's setup. */
  private feedFixedInputs(pipes: Array<Writable & Readable>, onStarted?: () => void): void {
    for (const fd of [FD_SECCOMP, FD_STARTED, FD_PASSWD, FD_GROUP]) pipes[fd]!.on('error', () => {});
    pipes[FD_SECCOMP]!.end(this.inputs.seccomp);
    pipes[FD_PASSWD]!.end(this.inputs.passwd);
    pipes[FD_GROUP]!.end(this.inputs.group);
    pipes[FD_STARTED]!.on('data', () => onStarted?.());
  }

  async exec(command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    const before = this.cgroup && (await readCounts(this.cgroup.counters));
    const result = await this.run(command, options);
    const limit = await limitReached(result, {
      limits: this.limits,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      before,
      after: this.cgroup && (await readCounts(this.cgroup.counters)),
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
    const network = this.network || options.network === true;
    if (!this.inputs.perl || this.supervisorUnusable) return this.execAlone(argv, cwd, env, options, network);
    const supervisor = this.liveSupervisor(network);
    const failure = await supervisor.ready;
    if (this.disposed) return emptyResult(started, { sandboxError: 'sandbox disposed' });
    if (failure !== null) {
      // It could not even start: every command gets a bwrap of its own (whose error, if bwrap
      // itself is what fails, is the one to report).
      this.supervisorUnusable = true;
      return this.execAlone(argv, cwd, env, options, network);
    }
    return supervisor.exec(argv, cwd, env, options);
  }

  /** One bwrap for this command alone, where there is no supervisor. */
  private async execAlone(argv: string[], cwd: string, env: Record<string, string>, options: ExecOptions, network: boolean): Promise<ExecResult> {
    const envArgs = Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]);
    // Mounts first, then make everything not explicitly writable read-only, then the process setup.
    const args = [...this.baseArgs, ...(network ? SHARE_NET : []), '--remount-ro', '/', '--chdir', cwd, ...envArgs, '--', '/bin/sh', '-c', MARK_STARTED, 'sh', ...argv];

    let commandStarted = false;
    const run = runProcessGroup(
      {
        file: this.inputs.shell,
        args: ['-c', this.inputs.script, 'sh', ...this.prefix, ...args],
        env: {},
        cwd: '/',
        extraPipes: 4,
        onSpawn: (child) => this.feedFixedInputs(child.stdio as unknown as Array<Writable & Readable>, () => (commandStarted = true)),
      },
      options,
    );
    this.running.add(run);
    const result = await run.result;
    this.running.delete(run);
    const { spawnError, ...rest } = result;
    if (spawnError) return { ...rest, sandboxError: spawnError };
    if (!commandStarted && !rest.timedOut && !rest.aborted) {
      return { ...rest, sandboxError: rest.stderr.trim() || `bwrap exited with ${rest.exitCode ?? rest.signal}` };
    }
    return rest;
  }

  /**
   * A spare whose task is done goes back to the pool when nothing of the task is left in it
   * (resetSpare): a new sandbox costs ~50 ms of process starts here, on the next task's cores.
   * The one handed back is a new object on the same bwrap, supervisor, cgroup and slot.
   */
  private async recycle(): Promise<boolean> {
    const { slot, keeper, cgroup, supervisor } = this;
    const perl = this.inputs.perl;
    if (!slot || !keeper?.wanted() || !cgroup || !perl || !supervisor || this.running.size > 0 || this.networked) return false;
    const failure = await resetSpare({ supervisor, perl, slot, alone: () => onlySupervisorLeft(cgroup) });
    if (failure !== null) {
      this.inputs.log('info', 'sandbox not kept for the next task', { id: this.id, reason: failure });
      return false;
    }
    const next = new BwrapSandbox({ id: 'spare', workspaceDir: slot.dir, limits: this.limits }, this.prefix, this.baseArgs, this.inputs, cgroup, slot, keeper);
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
      for (const run of this.running) run.kill();
      await Promise.all([...this.running].map((run) => run.result));
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
