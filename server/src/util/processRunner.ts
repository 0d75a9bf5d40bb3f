// One interface for every process the server starts: its own git and mount processes (run) and a
// sandbox's long-lived supervisor (start). SpawnRunner is the plain one, node's child_process;
// the process launcher (launcher.ts) is the fast one, chosen in one place (main.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { killGroup } from '../sandbox/processGroup';
import type { SpawnHandle, SpawnHandlers, SpawnRequest, SupervisorChild } from '../sandbox/supervisor';

export type { SpawnHandle, SpawnHandlers, SpawnRequest } from '../sandbox/supervisor';

/** A long-lived process with its stdin streamed (a sandbox's supervisor). */
export interface StartedProcess {
  child: ChildProcess | SupervisorChild;
  /** Kills it and everything it started. */
  kill(): void;
  closed: Promise<void>;
}

export type MountResult = { ok: true } | { ok: false; reason: string } | null;

export interface ProcessRunner {
  readonly name: 'spawn' | 'launcher';
  /** Starts one process; `handlers.end` is called exactly once, also when it could not start. */
  run(request: SpawnRequest & { stdin?: string | Buffer }, handlers: SpawnHandlers): SpawnHandle;
  /** Starts a long-lived process whose stdin stays open (cgroups joined, uid dropped, fds 3.. fed first). */
  start(request: Omit<SpawnRequest, 'stdin'>): StartedProcess;
  /** mount(2); null where this runner leaves mounting to the caller (mount(8) with its options). */
  mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<MountResult>;
  /** umount2(2); MNT_DETACH (2) in flags for a lazy unmount. */
  umount(target: string, flags: number): Promise<MountResult>;
}

/** mount(2) flags and umount2(2)'s lazy detach, as the callers of mount/umount need them. */
export const MS_RDONLY = 1;
export const MS_NOSUID = 2;
export const MS_NODEV = 4;
export const MS_REMOUNT = 32;
export const MS_BIND = 4096;
export const MS_SHARED = 1 << 20;
export const MNT_DETACH = 2;

const SYSTEM_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';

function findBinary(name: string): string | undefined {
  return SYSTEM_PATH.split(':').map((dir) => `${dir}/${name}`).find((path) => {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * File descriptors this process inherited without close-on-exec (node's own all have it): they
 * would pass into what it starts, and through bwrap into a sandbox.
 */
function inheritedFds(): number[] {
  const O_CLOEXEC = 0o2000000;
  const fds: number[] = [];
  let names: string[] = [];
  try {
    names = readdirSync('/proc/self/fd');
  } catch {
    return fds;
  }
  for (const name of names) {
    const fd = Number(name);
    if (fd < 3) continue;
    let info = '';
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8');
    } catch {
      continue;
    }
    const flags = /^flags:\s*([0-7]+)/m.exec(info);
    if (flags && (parseInt(flags[1]!, 8) & O_CLOEXEC) === 0) fds.push(fd);
  }
  return fds;
}

// Joins the cgroups given first (a count, then the files), then becomes the rest of its arguments.
const JOIN_CGROUPS = 'n=$1; shift; while [ "$n" -gt 0 ]; do echo $$ > "$1" || exit 125; shift; n=$((n-1)); done;';

/** node's child_process: the plain way. What it cannot do itself, sh and setpriv do before the exec. */
export class SpawnRunner implements ProcessRunner {
  readonly name = 'spawn' as const;
  private readonly stray = inheritedFds();
  private readonly setpriv = findBinary('setpriv');
  private readonly bash = findBinary('bash');

  run(request: SpawnRequest & { stdin?: string | Buffer }, handlers: SpawnHandlers): SpawnHandle {
    let child: ChildProcess;
    try {
      child = this.spawn(request, [request.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe']);
    } catch (err) {
      handlers.end({ code: null, signal: 0, failure: (err as Error).message });
      return { kill: () => {} };
    }
    let failure: string | undefined;
    child.stdout?.on('data', (chunk: Buffer) => handlers.stdout?.(chunk));
    child.stderr?.on('data', (chunk: Buffer) => handlers.stderr?.(chunk));
    child.on('error', (err) => (failure = err.message));
    // As the launcher's supervisor does: what it left running in its group (background jobs
    // holding its pipes) ends with it, so nothing outlives the process.
    child.on('exit', () => killGroup(child.pid));
    child.on('close', (code, signal) => {
      handlers.end({ code, signal: signal ? (osConstants.signals[signal] ?? 9) : 0, ...(failure !== undefined ? { failure } : {}) });
    });
    if (child.stdin) {
      child.stdin.on('error', () => {});
      child.stdin.end(request.stdin);
    }
    return { kill: (signal = 9) => child.pid !== undefined && killGroup(child.pid, signal) };
  }

  start(request: Omit<SpawnRequest, 'stdin'>): StartedProcess {
    const child = this.spawn(request, ['pipe', 'pipe', 'pipe']);
    const closed = new Promise<void>((resolve) => {
      child.on('close', () => resolve());
      child.on('error', () => resolve());
    });
    return { child, kill: () => killGroup(child.pid), closed };
  }

  async mount(source: string, target: string, fstype: string, flags: number, data: string): Promise<MountResult> {
    // Binds and propagation (spares.ts); filesystems are mounted by their callers with mount(8).
    if (fstype) return null;
    const options = [flags & MS_REMOUNT ? 'remount' : '', flags & MS_BIND ? 'bind' : '', flags & MS_RDONLY ? 'ro' : '', flags & MS_NOSUID ? 'nosuid' : '', flags & MS_NODEV ? 'nodev' : '', data].filter(Boolean);
    const args = flags & MS_SHARED ? ['--make-shared', target] : flags & MS_REMOUNT ? ['-o', options.join(','), target] : ['--bind', source, target];
    return this.system('mount', args);
  }

  umount(target: string, flags: number): Promise<MountResult> {
    return this.system('umount', [...(flags & MNT_DETACH ? ['-l'] : []), target]);
  }

  private system(cmd: string, args: string[]): Promise<MountResult> {
    return new Promise((resolve) => {
      let stderr = '';
      this.run(
        { argv: [cmd, ...args], cwd: '/', env: { PATH: SYSTEM_PATH, LANG: 'C' } },
        {
          stderr: (chunk) => (stderr += chunk.toString('utf8')),
          end: ({ code, failure }) => resolve(code === 0 ? { ok: true } : { ok: false, reason: (failure ?? stderr.trim()) || `exit ${code}` }),
        },
      );
    });
  }

  /** A process group of its own; extra fds are pipes holding their data. */
  private spawn(request: Omit<SpawnRequest, 'stdin'>, stdio: Array<'pipe' | 'ignore'>): ChildProcess {
    const fds = request.fds ?? [];
    const cgroups = request.cgroups ?? [];
    const otherUid = request.uid !== undefined && request.uid !== process.getuid?.();
    const stray = this.stray.filter((fd) => fd >= 3 + fds.length);
    let file = request.argv[0]!;
    let args = request.argv.slice(1);
    let useUid = otherUid;
    if (cgroups.length > 0 || request.noNewPrivs || fds.length > 0 || stray.length > 0) {
      // Into the cgroups first (as root), so it is limited from its first instruction as that
      // uid; setpriv then drops the uid and sets no_new_privs. dash cannot name fds above 9.
      if (stray.some((fd) => fd > 9) && !this.bash) throw new Error(`inherited file descriptors ${stray.join(', ')} would leak and bash is missing to close them`);
      if ((otherUid || request.noNewPrivs) && !this.setpriv) throw new Error('setpriv (util-linux) is not installed');
      const close = stray.length ? `exec ${stray.map((fd) => `${fd}>&-`).join(' ')}; ` : '';
      const shell = stray.some((fd) => fd > 9) ? this.bash! : '/bin/sh';
      // The shell exports PWD (bash: SHLVL, even after unset): what it execs would show them.
      // Not `exec -c`: that empties the whole environment, the request's own included.
      const exec = shell === '/bin/sh' ? 'unset PWD OLDPWD; exec "$@"' : 'unset PWD OLDPWD; exec /usr/bin/env -u SHLVL -- "$@"';
      const priv = otherUid || request.noNewPrivs ? [this.setpriv!, ...(otherUid ? [`--reuid=${request.uid}`, `--regid=${request.uid}`, '--clear-groups'] : []), ...(request.noNewPrivs ? ['--no-new-privs'] : [])] : [];
      file = shell;
      // --norc: bash whose stdin is a socket (node's pipes are socketpairs) takes itself for rshd's
      // child and sources ~/.bashrc, which can take seconds (a pyenv init: 500 ms a process here).
      args = [...(shell === '/bin/sh' ? [] : ['--norc', '--noprofile']), '-c', `${close}${JOIN_CGROUPS} ${exec}`, 'sh', String(cgroups.length), ...cgroups, ...priv, ...request.argv];
      useUid = false;
    }
    const child = spawn(file, args, {
      cwd: request.cwd,
      env: request.env,
      stdio: [...stdio, ...fds.map(() => 'pipe' as const)],
      detached: true,
      ...(useUid ? { uid: request.uid, gid: request.uid } : {}),
    });
    fds.forEach((data, i) => {
      const pipe = child.stdio[3 + i] as NodeJS.WritableStream & { on(event: 'error', l: () => void): unknown };
      pipe.on('error', () => {});
      pipe.end(data);
    });
    return child;
  }
}
