// The Docker driver: one long-lived container per sandbox. Its main process is the supervisor
// (supervisor.ts, the one bwrap runs), talked to over `docker attach`: a command costs a fork in
// the container, not a `docker exec` (~100 ms of engine round trips here). No network, read-only
// root, size-capped /tmp, no capabilities, no-new-privileges, an unprivileged uid and cgroup
// limits from the engine. As root with a local engine, containers are started ahead of their
// tasks and take the task's workspace by mount propagation (spares.ts). The image must have perl
// (perl-base, essential on Debian): the supervisor is the one way a command runs.
import type Docker from 'dockerode';
import { stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { SANDBOX_BASE_ENV } from './baseEnv';
import { countersOf, processesFileOf } from './cgroups';
import { limitReached, readCounts, type CgroupCounters, type Counts } from './limits';
import { attachedChild, dockerClient, dockerTarget, owner, OWNER_LABEL, sweepStaleContainers, withTimeout } from './dockerEngine';
import { DEFAULT_TIMEOUT_MS, emptyResult } from './processGroup';
import { attachSlot, processesSettle, releaseSlot, resetSpare, type Keeper, type Slot, type SlotDriver, type Spare, type SpareSandbox } from './spares';
import { supervisorScript, SupervisorClient, supervisorArgs } from './supervisor';
import { SANDBOX_UID, type ExecOptions, type ExecResult, type ProbeResult, type Sandbox, type SandboxLimits, type SandboxSpec } from './types';
import { NO_LOG, type Logger } from '../log';

export const DEFAULT_DOCKER_IMAGE = 'delegate-sandbox:bookworm';
const WORKSPACE = '/workspace';
const PING_TIMEOUT_MS = 3_000;
/** Where Debian (and the sandbox image) has perl: perl-base is essential there. */
const DEFAULT_PERL = '/usr/bin/perl';

export interface DockerDriverOptions {
  /** A unix socket path or a DOCKER_HOST-style URL (unix://, tcp://). Default /var/run/docker.sock. */
  socket?: string;
  image?: string;
  log?: Logger;
  uid?: number;
  /** The supervisor's interpreter in the image (default /usr/bin/perl). */
  perl?: string;
}

export class DockerDriver implements SlotDriver {
  readonly name = 'docker' as const;
  readonly image: string;
  private readonly target: ReturnType<typeof dockerTarget>;
  private client: Promise<Docker> | undefined;
  private readonly uid: number;
  private readonly log: Logger;
  /** The supervisor's interpreter in the image. */
  private readonly perl: string;
  readonly slotsReachable: boolean;
  /** Whether a slot's mounts reach a container (checked on the first spare taken). */
  private propagation: 'unknown' | 'works' = 'unknown';

  constructor(private readonly options: DockerDriverOptions = {}) {
    this.target = dockerTarget(options.socket);
    this.image = options.image ?? DEFAULT_DOCKER_IMAGE;
    this.uid = options.uid ?? SANDBOX_UID;
    this.log = options.log ?? NO_LOG;
    this.perl = options.perl ?? DEFAULT_PERL;
    if (this.uid === 0) throw new Error('the sandbox uid must not be 0');
    // The slot is a directory of this machine: only an engine on this machine can bind it.
    this.slotsReachable = 'socketPath' in this.target && process.getuid?.() === 0;
  }

  private docker(): Promise<Docker> {
    return (this.client ??= dockerClient(this.options.socket));
  }

  async probe(): Promise<ProbeResult> {
    // No socket, no engine: said without loading the client library.
    if ('socketPath' in this.target && !(await stat(this.target.socketPath).then(() => true, () => false))) {
      return { ok: false, reason: `no docker engine: ${this.target.socketPath} does not exist` };
    }
    const docker = await this.docker();
    try {
      await withTimeout(docker.ping(), PING_TIMEOUT_MS, 'docker engine');
    } catch (err) {
      return { ok: false, reason: `no docker engine: ${(err as Error).message}` };
    }
    try {
      await docker.getImage(this.image).inspect();
    } catch {
      return { ok: false, reason: `docker image ${this.image} is missing (build it with scripts/build-sandbox-image.sh)` };
    }
    const swept = await sweepStaleContainers(docker).catch(() => 0);
    if (swept) this.log.info('removed sandbox containers left by a stopped server', { count: swept });
    return { ok: true, detail: `docker, image ${this.image}, uid ${this.uid}` };
  }

  create(spec: SandboxSpec): Promise<Sandbox> {
    return this.startContainer(spec);
  }

  startOnSlot(slot: Slot, limits: SandboxLimits, keeper: Keeper<Spare>): Promise<Spare> {
    return this.startContainer({ id: 'spare', workspaceDir: slot.dir, limits }, slot, keeper);
  }

  private async startContainer(spec: SandboxSpec, slot?: Slot, keeper?: Keeper<Spare>): Promise<DockerSandbox> {
    const name = `delegate-${spec.id.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64)}-${randomBytes(4).toString('hex')}`;
    // A slot gets the view and git dir later, by mount propagation (spares.ts): rslave, so that
    // mounts made on the host's slot reach the container's /workspace.
    const binds = slot ? [`${slot.dir}:${WORKSPACE}:rw,rslave`] : [`${spec.workspaceDir}:${WORKSPACE}:rw`];
    if (spec.gitDir && !slot) binds.push(`${spec.gitDir}:${WORKSPACE}/.git:ro`);
    const perl = this.perl;
    const docker = await this.docker();
    const container = await docker.createContainer({
      name,
      Image: spec.image ?? this.image,
      // The supervisor is the container's pid 1: it reaps, and the kernel ignores whatever signal
      // a command sends it. Without it, tini reaps and `sleep` keeps the container up.
      Cmd: [perl, '-e', supervisorScript(), ...supervisorArgs({ sweep: true })],
      // StdinOnce: when the server's attach ends (it died), the supervisor's input ends and with
      // it the container, as a bwrap sandbox dies with its parent.
      OpenStdin: true,
      StdinOnce: true,
      AttachStdin: true,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
      User: `${this.uid}:${this.uid}`,
      WorkingDir: WORKSPACE,
      Hostname: 'sandbox',
      Env: Object.entries(SANDBOX_BASE_ENV).map(([k, v]) => `${k}=${v}`),
      Labels: { 'dev.delegate.sandbox': spec.id, [OWNER_LABEL]: owner() },
      HostConfig: {
        // Output reaches us over attach (or exec); the engine need not keep it on disk too.
        LogConfig: { Type: 'none', Config: {} },
        Init: false,
        // The host's network for a task that may use it (the engine here has no bridge to give).
        NetworkMode: spec.network ? 'host' : 'none',
        ReadonlyRootfs: true,
        // exec: docker's default for a tmpfs is noexec; programs (test runners, builds) run scripts
        // from /tmp, and bwrap's /tmp allows it too.
        Tmpfs: { '/tmp': `rw,exec,nosuid,nodev,size=${Math.max(1024 * 1024, Math.floor(spec.limits.diskBytes))},mode=1777` },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: Math.floor(spec.limits.memoryBytes),
        MemorySwap: Math.floor(spec.limits.memoryBytes),
        PidsLimit: spec.limits.pids,
        NanoCpus: Math.round(spec.limits.cpus * 1e9),
        Binds: binds,
      },
    });
    const sandbox = new DockerSandbox(spec, container, this.uid, {
      perl,
      slot,
      verifyAttach: (s) => this.checkPropagation(s, keeper),
      keeper,
      log: this.log,
      networked: (s) => this.startContainer({ ...s, id: `${s.id}-net`, network: true }),
    });
    const failure = await sandbox.start();
    if (failure === null) {
      this.log.info('docker sandbox created', { id: spec.id, container: name });
      return sandbox;
    }
    await container.remove({ force: true }).catch(() => {});
    if (failure.includes(perl) && /no such file|not found|executable file/i.test(failure)) {
      throw new Error(`docker image ${spec.image ?? this.image} has no ${perl}: the sandbox supervisor needs perl (perl-base); rebuild it with scripts/build-sandbox-image.sh`);
    }
    throw new Error(`cannot start sandbox container: ${failure}`);
  }

  /** Slot propagation is checked once: an engine in another mount namespace would not see the task's files. */
  async checkPropagation(sandbox: DockerSandbox, keeper: Keeper<Spare> | undefined): Promise<string | null> {
    if (this.propagation === 'works') return null;
    const seen = await sandbox.exec(['/bin/sh', '-c', `test -e ${WORKSPACE}/.git/HEAD`], { timeoutMs: 10_000 });
    if (seen.exitCode === 0) {
      this.propagation = 'works';
      return null;
    }
    // Only an answer (the file is not there) says the engine cannot see our mounts; a container
    // that failed says nothing about the others.
    if (!seen.sandboxError) keeper?.stop('the docker engine does not see mounts made on the host (another mount namespace?)');
    return `the container does not see the task's workspace mounted onto its slot (${seen.sandboxError ?? `exit ${seen.exitCode}`})`;
  }
}

interface DockerSandboxOptions {
  /** Its main process is the supervisor, run by this perl. */
  perl: string;
  /** Started ahead of its task: the view comes later, onto this slot (attach). */
  slot?: Slot;
  /** After a slot took the task's workspace: null when the container sees it, else why not. */
  verifyAttach?: (sandbox: DockerSandbox) => Promise<string | null>;
  /** Takes a container back for the next task once reset (the pool). */
  keeper?: Keeper<Spare>;
  log: Logger;
  /** Starts a container like this one's with the host's network, for execs that ask for it. */
  networked: (spec: SandboxSpec) => Promise<DockerSandbox>;
}

class DockerSandbox implements Sandbox, SpareSandbox {
  readonly driver = 'docker';
  id: string;
  workspaceDir: string;
  readonly limits: SandboxLimits;
  /** Called once disposed (the pool then starts the next spare). */
  afterDispose: (() => void) | undefined;
  private restarting: Promise<string | null> | undefined;
  private disposed: Promise<void> | undefined;
  /** The container's cgroup.procs on the host and its pid 1 there. */
  private processes: Promise<{ file: string; pid: number } | undefined> | undefined;
  /** Where the container's OOM kills and refused forks are counted (an engine on this machine). */
  private counters: Promise<CgroupCounters> | undefined;
  /** The cgroup's counters as the last command left them (limits.ts readCounts). */
  private counts: Promise<Counts> | undefined;
  private gitDir: string | undefined;
  private readonly network: boolean;
  /** Without network of its own: a container with it, for execs that ask (the setup step). */
  private networked: Promise<DockerSandbox> | undefined;

  constructor(
    spec: SandboxSpec,
    private readonly container: Docker.Container,
    private readonly uid: number,
    private readonly options: DockerSandboxOptions,
    /** A container kept from an earlier task comes with its supervisor. */
    private supervisor?: SupervisorClient,
  ) {
    this.id = spec.id;
    this.workspaceDir = spec.workspaceDir;
    this.gitDir = spec.gitDir;
    this.limits = spec.limits;
    this.network = spec.network === true;
  }

  /** Its supervisor died while it waited for a task. */
  get broken(): boolean {
    return this.supervisor?.dead === true;
  }

  /** Its supervisor is up (a container without one is up once started). */
  get ready(): boolean {
    return this.supervisor?.isReady === true;
  }

  /**
   * Starts the container; with a supervisor, attached first so that nothing it says is missed.
   * Null when started (the supervisor may still be starting: exec waits for it), else why not.
   */
  async start(): Promise<string | null> {
    let stream: Duplex;
    try {
      stream = (await this.container.attach({ stream: true, stdin: true, stdout: true, stderr: true, hijack: true })) as Duplex;
    } catch (err) {
      return `docker attach failed: ${(err as Error).message}`;
    }
    const attached = stream;
    const child = attachedChild(attached, () => this.whyStopped());
    this.supervisor = new SupervisorClient(child, {
      // The container stops with its pid 1 (on dispose it is removed anyway).
      kill: () => {
        attached.destroy();
        void this.container.kill().catch(() => {});
      },
    });
    try {
      await this.container.start();
      return null;
    } catch (err) {
      stream.destroy();
      return (err as Error).message;
    }
  }

  /** What the engine says of a container that stopped: the OOM killer, or its exit code. */
  private async whyStopped(): Promise<string | undefined> {
    const info = await this.container.inspect().catch(() => undefined);
    if (!info) return undefined;
    if (info.State.OOMKilled) return `killed by the out-of-memory killer (the sandbox's memory limit is ${Math.round(this.limits.memoryBytes / 1024 ** 2)} MiB)`;
    return info.State.Running ? undefined : `container exited with ${info.State.ExitCode}`;
  }

  /** A spare takes its task's workspace (spares.ts, attachSlot). */
  async attach(spec: SandboxSpec): Promise<string | null> {
    if (!this.options.slot) return 'not a spare';
    const failure = await attachSlot(this.options.slot, spec);
    if (failure !== null) return failure;
    const unseen = await this.options.verifyAttach?.(this);
    if (unseen) return unseen;
    this.id = spec.id;
    this.workspaceDir = spec.workspaceDir;
    this.gitDir = spec.gitDir;
    return null;
  }

  /** The supervisor, up; after it died (its container stopped with it) the container is started again. */
  private async liveSupervisor(): Promise<SupervisorClient | string> {
    if (this.supervisor?.dead && !this.disposed) {
      this.restarting ??= (async () => {
        await this.container.stop({ t: 0 }).catch(() => {});
        return this.disposed ? 'sandbox disposed' : this.start();
      })().finally(() => (this.restarting = undefined));
      const failure = await this.restarting;
      if (failure !== null) return `the sandbox container could not be started again: ${failure}`;
    }
    const supervisor = this.supervisor!;
    const failure = await supervisor.ready;
    return failure ?? supervisor;
  }

  async exec(command: string | string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (options.network && !this.network && !this.disposed) {
      const spec = { id: this.id, workspaceDir: this.workspaceDir, gitDir: this.gitDir, limits: this.limits };
      const networked = await (this.networked ??= this.options.networked(spec)).catch((err: Error) => err.message);
      if (typeof networked === 'string') return emptyResult(Date.now(), { sandboxError: `a container with network could not start: ${networked}` });
      return networked.exec(command, options);
    }
    this.counters ??= this.container.inspect().then((info) => (info.State.Pid ? countersOf(info.State.Pid) : {}), () => ({}));
    const counters = await this.counters;
    const before = await (this.counts ??= readCounts(counters));
    const result = await this.run(command, options);
    const after = (this.counts = readCounts(counters));
    const limit = await limitReached(result, { limits: this.limits, timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, before, after: await after, workspaceDir: this.workspaceDir });
    return limit ? { ...result, limit } : result;
  }

  private async run(command: string | string[], options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    if (this.disposed) return emptyResult(started, { sandboxError: 'sandbox disposed' });
    if (options.signal?.aborted) return emptyResult(started, { aborted: true });
    const argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
    if (argv.length === 0) return emptyResult(started, { sandboxError: 'empty command' });
    const cwd = posix.resolve(WORKSPACE, options.cwd ?? '.');
    if (cwd !== WORKSPACE && !cwd.startsWith(`${WORKSPACE}/`)) {
      return emptyResult(started, { sandboxError: `cwd must stay under ${WORKSPACE}: ${options.cwd}` });
    }
    const supervisor = await this.liveSupervisor();
    if (this.disposed) return emptyResult(started, { sandboxError: 'sandbox disposed' });
    if (typeof supervisor === 'string') return emptyResult(started, { sandboxError: supervisor });
    return supervisor.exec(argv, cwd, { ...SANDBOX_BASE_ENV, ...options.env }, options);
  }

  /**
   * A spare whose task is done goes back to the pool when nothing of the task is left in it: no
   * command running, /tmp, /dev/shm, message queues and SysV IPC empty, no process but the
   * supervisor, the task's workspace no longer mounted (resetSpare). Otherwise it is removed. A
   * new container costs the engine ~0.8 s of work here (create, start, remove); a reset ~30 ms.
   */
  private async recycle(): Promise<boolean> {
    const { slot, keeper } = this.options;
    const supervisor = this.supervisor;
    if (this.networked || !slot || !keeper?.wanted() || !supervisor?.isReady || supervisor.busy) return false;
    const failure = await resetSpare({ supervisor, perl: this.options.perl, slot, alone: () => this.onlySupervisorLeft() });
    if (failure !== null) {
      this.options.log.info('sandbox not kept for the next task', { id: this.id, reason: failure });
      return false;
    }
    const next = new DockerSandbox({ id: 'spare', workspaceDir: slot.dir, limits: this.limits }, this.container, this.uid, this.options, supervisor);
    next.processes = this.processes;
    return keeper.giveBack(next);
  }

  /** The container's cgroup holds its pid 1 alone (what the sweep killed may take a moment to go). */
  private async onlySupervisorLeft(): Promise<boolean> {
    this.processes ??= (async () => {
      const pid = (await this.container.inspect().catch(() => undefined))?.State.Pid;
      const file = pid ? await processesFileOf(pid) : undefined;
      return pid && file ? { file, pid } : undefined;
    })();
    const processes = await this.processes;
    if (!processes) return false;
    return processesSettle(processes.file, (pids) => pids.length === 1 && pids[0] === processes.pid);
  }

  dispose(): Promise<void> {
    return (this.disposed ??= (async () => {
      if (await this.recycle()) {
        this.afterDispose?.();
        return;
      }
      this.supervisor?.stop();
      const networked = this.networked?.then((n) => n.dispose(), () => {});
      // Removing the container kills every process in it.
      await this.container.remove({ force: true }).catch(() => {});
      await networked;
      if (this.options.slot) await releaseSlot(this.options.slot);
      this.afterDispose?.();
    })());
  }
}
