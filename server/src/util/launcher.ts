// The server's own short-lived processes (git, mount) start through one small Perl supervisor on
// the host (sandbox/supervisor.ts) instead of node's spawn(). Node forks the whole server and
// waits for the exec: 7–13 ms of blocked event loop per process here, up to ~60 ms with four at
// once; the supervisor forks a 6 MB process, in a process of its own. It runs as the server's
// user with a minimal environment, gets each process's full environment with the request, dies
// when the server closes its stdin, and keeps the server alive only while a process runs. Without
// perl (or with DELEGATE_NODE_SPAWN=1, for comparisons) node's spawn() does the work.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { constants as osConstants } from 'node:os';
import { killGroup } from '../sandbox/processGroup';
import { SIGNAL_NAMES, supervisorScript, SupervisorClient, supervisorArgs, type SpawnHandle, type SpawnHandlers, type SpawnRequest, type SupervisorChild } from '../sandbox/supervisor';

export type { SpawnHandle, SpawnHandlers, SpawnRequest } from '../sandbox/supervisor';

const PERL = ['/usr/bin/perl', '/bin/perl'].find((path) => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
});

let client: SupervisorClient | undefined;
/** Why the supervisor is not used (perl missing or broken); node's spawn() is. */
let unusable: string | undefined = PERL ? undefined : 'perl not found';

function supervisor(): SupervisorClient | null {
  if (unusable !== undefined || process.env.DELEGATE_NODE_SPAWN === '1') return null;
  if (client && !client.dead) return client;
  const child = spawn(PERL!, ['-e', supervisorScript(), ...supervisorArgs({ sweep: false })], {
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
  client = started;
  return client;
}

/** Starts the supervisor ahead of the first process (at server start). */
export function warmLauncher(): void {
  supervisor();
}

/** Starts one process; `handlers.end` is called exactly once, also when it could not start. */
export function launch(request: SpawnRequest & { stdin?: string | Buffer }, handlers: SpawnHandlers): SpawnHandle {
  const sup = supervisor();
  if (!sup) return spawnDirect(request, handlers);
  if (sup.isReady) return sup.spawn(request, handlers);
  // Still starting: wait for it, and if it cannot start at all, stop using it.
  let inner: SpawnHandle | undefined;
  let killWith: number | undefined;
  void sup.ready.then((failure) => {
    if (failure !== null && !sup.isReady) unusable = failure;
    inner = failure === null ? sup.spawn(request, handlers) : spawnDirect(request, handlers);
    if (killWith !== undefined) inner.kill(killWith);
  });
  return { kill: (signal = 9) => (inner ? inner.kill(signal) : (killWith = signal)) };
}

/**
 * A long-lived process started by the launcher with its stdin streamed (stdin: 'stream'), shaped
 * like a ChildProcess for SupervisorClient: a sandbox's supervisor, so that starting a sandbox does
 * not fork the server (node's spawn() blocks the event loop ~15 ms for that). Null without the
 * launcher (no perl): the caller spawns it itself.
 */
export function launchChild(request: Omit<SpawnRequest, 'stdin'>): { child: SupervisorChild; kill(): void; closed: Promise<void> } | null {
  const sup = supervisor();
  if (!sup) return null;
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
  const start = (): void => {
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
  if (sup.isReady) start();
  else void sup.ready.then((failure) => (failure === null ? start() : finish(null, 0, failure)));
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

/** launch() with node's spawn(): a process group of its own, killed as one. */
function spawnDirect(request: SpawnRequest & { stdin?: string | Buffer }, handlers: SpawnHandlers): SpawnHandle {
  let child: ChildProcess;
  const asOther = request.uid !== undefined && request.uid !== process.getuid?.();
  try {
    child = spawn(request.argv[0]!, request.argv.slice(1), {
      cwd: request.cwd,
      env: request.env,
      stdio: [request.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      detached: true,
      ...(asOther ? { uid: request.uid, gid: request.uid } : {}),
    });
  } catch (err) {
    handlers.end({ code: null, signal: 0, failure: (err as Error).message });
    return { kill: () => {} };
  }
  let failure: string | undefined;
  child.stdout?.on('data', (chunk: Buffer) => handlers.stdout?.(chunk));
  child.stderr?.on('data', (chunk: Buffer) => handlers.stderr?.(chunk));
  child.on('error', (err) => (failure = err.message));
  child.on('close', (code, signal) => {
    handlers.end({ code, signal: signal ? (osConstants.signals[signal] ?? 9) : 0, ...(failure !== undefined ? { failure } : {}) });
  });
  if (child.stdin) {
    child.stdin.on('error', () => {});
    child.stdin.end(request.stdin);
  }
  return {
    kill: (signal = 9) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // gone already
      }
    },
  };
}

export type MountResult = { ok: true } | { ok: false; reason: string } | null;

const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** mount(2) flags and umount2(2)'s lazy detach, as the callers of mountSyscall/umountSyscall need them. */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 2;

/**
 * mount(2) through the supervisor, without a mount process. null: no supervisor here (the caller
 * runs mount(8) instead).
 */
export async function mountSyscall(source: string, target: string, fstype: string, flags: number, data: string): Promise<MountResult> {
  return answer(await supervisorWhenReady()?.then((sup) => sup?.syscall({ mount: { source, target, fstype, flags, data } })));
}

/** umount2(2) through the supervisor; MNT_DETACH (2) in flags for a lazy unmount. */
export async function umountSyscall(target: string, flags: number): Promise<MountResult> {
  return answer(await supervisorWhenReady()?.then((sup) => sup?.syscall({ umount: { target, flags } })));
}

function answer(errno: number | null | undefined): MountResult {
  if (errno === null || errno === undefined || errno === osConstants.errno.ENOSYS) return null;
  return errno === 0 ? { ok: true } : { ok: false, reason: ERRNO_NAMES.get(errno) ?? `errno ${errno}` };
}

function supervisorWhenReady(): Promise<SupervisorClient | null> | undefined {
  const sup = supervisor();
  if (!sup) return undefined;
  return sup.ready.then((failure) => (failure === null ? sup : null));
}
