// The fast ProcessRunner: the server's processes start through one small Perl supervisor on the
// host (sandbox/perl/supervisor.pl) instead of node's spawn(). Node forks the whole server and
// waits for the exec: 7–13 ms of blocked event loop per process here, up to ~60 ms with four at
// once; the supervisor forks a 6 MB process, in a process of its own, and does mount(2) itself
// (a mount process costs ~25 ms on a busy machine). It runs as the server's user with a minimal
// environment, gets each process's full environment with the request, dies when the server
// closes its stdin, and keeps the server alive only while a process runs. Where it cannot start,
// the plain SpawnRunner does the work.
//
// Which runner the server uses is chosen in one place, main.ts (processRunnerFor: the launcher
// unless DELEGATE_NODE_SPAWN=1), and passed to everything that starts a process.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { killGroup } from '../sandbox/processGroup';
import { SIGNAL_NAMES, supervisorScript, SupervisorClient, supervisorArgs, type SupervisorChild } from '../sandbox/supervisor';
import { SpawnRunner, type MountResult, type ProcessRunner, type SpawnHandle, type SpawnHandlers, type SpawnRequest, type StartedProcess } from './processRunner';

export { MNT_DETACH, MS_BIND, MS_NODEV, MS_NOSUID, MS_RDONLY, MS_REMOUNT, MS_SHARED } from './processRunner';
export type { MountResult, ProcessRunner, SpawnHandle, SpawnHandlers, SpawnRequest } from './processRunner';

const PERL = ['/usr/bin/perl', '/bin/perl'].find((path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

export class LauncherRunner implements ProcessRunner {
  readonly name = 'launcher' as const;
  private client: SupervisorClient | undefined;
  /** Why the supervisor is not used (it could not start); the plain runner is. */
  private unusable: string | undefined;

  constructor(
    private readonly perl: string,
    private readonly plain: ProcessRunner = new SpawnRunner(),
  ) {}

  /** Starts the supervisor ahead of the first process (at server start). */
  warm(): void {
    this.supervisor();
  }

  run(request: SpawnRequest & { stdin?: string | Buffer }, handlers: SpawnHandlers): SpawnHandle {
    const sup = this.supervisor();
    if (!sup) return this.plain.run(request, handlers);
    if (sup.isReady) return sup.spawn(request, handlers);
    // Still starting: wait for it, and if it cannot start at all, stop using it.
    let inner: SpawnHandle | undefined;
    let killWith: number | undefined;
    void sup.ready.then((failure) => {
      if (failure !== null && !sup.isReady) this.unusable = failure;
      inner = failure === null ? sup.spawn(request, handlers) : this.plain.run(request, handlers);
      if (killWith !== undefined) inner.kill(killWith);
    });
    return { kill: (signal = 9) => (inner ? inner.kill(signal) : (killWith = signal)) };
  }

  /** Shaped like a ChildProcess for SupervisorClient: starting a sandbox does not fork the server. */
  start(request: Omit<SpawnRequest, 'stdin'>): StartedProcess {
    const sup = this.supervisor();
    if (!sup) return this.plain.start(request);
    const stdout = new EventEmitter();
    const stderr = new EventEmitter();
    const events = new EventEmitter();
    let handle: SpawnHandle | undefined;
    let ended = false;
    let killed = false;
    const queued: Buffer[] = [];
    let markClosed!: () => void;
    const closed = new Promise<void>((resolve) => (markClosed = resolve));
    const finish = (code: number | null, signal: number, failure?: string): void => {
      ended = true;
      // Later than now: a spawn refused at once ends before the caller has listened.
      process.nextTick(() => {
        if (failure !== undefined) events.emit('error', new Error(failure));
        events.emit('exit', code, signal ? ((SIGNAL_NAMES.get(signal) ?? 'SIGKILL') as NodeJS.Signals) : null);
        markClosed();
      });
    };
    const begin = (): void => {
      handle = sup.spawn(
        { ...request, stdin: 'stream' },
        {
          stdout: (chunk) => stdout.emit('data', chunk),
          stderr: (chunk) => stderr.emit('data', chunk),
          end: ({ code, signal, failure }) => finish(code, signal, failure),
        },
      );
      for (const data of queued.splice(0)) handle.write?.(data);
      if (killed) handle.kill(9);
    };
    if (sup.isReady) begin();
    else void sup.ready.then((failure) => (failure === null ? begin() : finish(null, 0, failure)));
    const stdin = {
      get writable(): boolean {
        return !ended;
      },
      write(data: Buffer): boolean {
        if (handle) handle.write?.(data);
        else queued.push(data);
        return true;
      },
      on: () => stdin,
    };
    const child: SupervisorChild = { stdin, stdout, stderr, on: (event: string, listener: Parameters<EventEmitter['on']>[1]) => events.on(event, listener) };
    return {
      child,
      kill: () => {
        killed = true;
        handle?.kill(9);
      },
      closed,
    };
  }

  async mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<MountResult> {
    const sup = await this.whenReady();
    const errno = sup && (await sup.syscall({ mount: { source, target, fstype, flags, data } }));
    return errno === null ? this.plain.mount(source, target, fstype, flags, data) : answer(errno);
  }

  async umount(target: string, flags: number): Promise<MountResult> {
    const sup = await this.whenReady();
    const errno = sup && (await sup.syscall({ umount: { target, flags } }));
    return errno === null ? this.plain.umount(target, flags) : answer(errno);
  }

  private supervisor(): SupervisorClient | null {
    if (this.unusable !== undefined) return null;
    if (this.client && !this.client.dead) return this.client;
    const child = spawn(this.perl, ['-e', supervisorScript(), ...supervisorArgs({ sweep: false })], {
      env: { PATH: '/usr/bin:/bin', LANG: 'C' },
      cwd: '/',
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let busy = false;
    const hold = (on: boolean): void => {
      // Idle, it must not keep the server (or a CLI, or a test run) from exiting; starting or
      // running a process for someone, it must.
      for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.[on ? 'ref' : 'unref']?.();
      if (on) child.ref();
      else child.unref();
    };
    const started = new SupervisorClient(child, {
      kill: () => killGroup(child.pid),
      onBusy: (now) => hold((busy = now)),
      name: 'process launcher',
    });
    void started.ready.then(() => hold(busy));
    this.client = started;
    return started;
  }

  private async whenReady(): Promise<SupervisorClient | null> {
    const sup = this.supervisor();
    if (!sup) return null;
    return (await sup.ready) === null ? sup : null;
  }
}

function answer(errno: number): MountResult {
  if (errno === osConstants.errno.ENOSYS) return null;
  return errno === 0 ? { ok: true } : { ok: false, reason: ERRNO_NAMES.get(errno) ?? `errno ${errno}` };
}

/** The server's ProcessRunner: 'launcher' (started now) where perl is, else the plain one. */
export function processRunnerFor(kind: 'spawn' | 'launcher'): ProcessRunner {
  if (kind !== 'launcher' || !PERL) return new SpawnRunner();
  const runner = new LauncherRunner(PERL);
  runner.warm();
  return runner;
}
