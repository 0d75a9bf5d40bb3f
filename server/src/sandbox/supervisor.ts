// The host end of the supervisor (perl/supervisor.pl): a long-lived process inside a sandbox that
// starts the sandbox's commands, so an exec costs a fork inside the sandbox (~3 ms) instead of a
// new bwrap with its namespaces, mounts and seccomp filter (~35–45 ms here). The protocol is
// described at the top of supervisor.pl. The server also runs one on the host (util/launcher.ts)
// for its own git and mount processes: node's spawn() blocks the server's event loop for the fork
// and the exec (7–13 ms here, up to ~60 ms of lag with a few at once); the supervisor forks in
// another process.
import type { ChildProcess } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { OutputCapture, DEFAULT_MAX_OUTPUT_BYTES } from './output';
import { perlScript } from './perl';
import { DEFAULT_TIMEOUT_MS } from './processGroup';
import type { ExecOptions, ExecResult } from './types';

/** The supervisor's Perl source (perl/supervisor.pl), passed to `perl -e` (the sandbox cannot see the host's files). */
export function supervisorScript(): string {
  return perlScript('supervisor.pl');
}

/**
 * The supervisor's arguments after the script: prctl's syscall number here (0: unknown), whether
 * to sweep leftover descendants after each command (in a sandbox), and the numbers of mount,
 * umount2 and dup3.
 */
export function supervisorArgs(options: { sweep: boolean }): string[] {
  const numbers = ({ x64: [157, 165, 166, 292], arm64: [167, 40, 39, 24] } as Record<string, number[]>)[process.arch] ?? [0, 0, 0, 0];
  const [prctl, mount, umount2, dup3] = numbers;
  return [String(prctl), options.sweep ? '1' : '0', String(mount), String(umount2), String(dup3)];
}

/** Largest frame the host accepts: the supervisor sends output in chunks of at most 64 KiB. */
const MAX_FRAME = 1 << 20;
/** Data per extra fd (fits a pipe, so the supervisor's write cannot block), and per stdin frame. */
const MAX_FD_DATA = 1 << 16;

export interface SpawnRequest {
  argv: string[];
  /** Absolute. */
  cwd: string;
  /** The whole environment of the process. */
  env: Record<string, string>;
  /** Written to its stdin, which is then closed; none: /dev/null. 'stream': SpawnHandle.write/end. */
  // eslint-disable-next-line @typescript-eslint/no-redundant-type-constituents -- 'stream' is the mode, not text to write
  stdin?: string | Buffer | 'stream';
  /** Become this uid and gid first (the supervisor must be root). */
  uid?: number;
  /** Data for fds 3, 4, ... (at most 64 KiB each): a pipe each, EOF after the data. */
  fds?: Buffer[];
  /** cgroup.procs files it joins before anything else (the supervisor must be root). */
  cgroups?: string[];
  /** PR_SET_NO_NEW_PRIVS before the exec. */
  noNewPrivs?: boolean;
}

export interface SpawnEnd {
  /** null: killed by a signal, or it never started. */
  code: number | null;
  /** Signal number that ended it, 0 if none. */
  signal: number;
  /** Why it could not start or could not finish (the supervisor failed). */
  failure?: string;
}

export interface SpawnHandlers {
  stdout?(chunk: Buffer): void;
  stderr?(chunk: Buffer): void;
  end(end: SpawnEnd): void;
}

export interface SpawnHandle {
  /** Signals the process group (default SIGKILL). */
  kill(signal?: number): void;
  /** More stdin (stdin: 'stream' only). */
  write?(data: Buffer): void;
  /** No more stdin after what was written (stdin: 'stream' only). */
  end?(): void;
}

export interface SupervisorOptions {
  /** Kills the supervisor process (and with it whatever it started). */
  kill: () => void;
  /** Told when the first command starts and when the last one ends (to ref/unref the child). */
  onBusy?: (busy: boolean) => void;
  /** What errors call it (default "sandbox"). */
  name?: string;
  /**
   * How long it may take to say it is ready (default START_TIMEOUT_MS): one that never does (a
   * bwrap or engine stuck starting it) fails, and with it whatever waits for it, instead of
   * leaving a task preparing for ever.
   */
  startTimeoutMs?: number;
}

/** A supervisor starts in 50–100 ms here, seconds on a loaded machine: a minute is a stuck one. */
export const START_TIMEOUT_MS = 60_000;

export const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));
const NO_UID = 0xffffffff;

/**
 * The host end of one supervisor: framing, the processes in flight and how each ends. The caller
 * starts the supervisor process (inside a sandbox, or on the host) and hands it over; once it dies
 * (`dead`) every process in flight has ended with a failure and a new supervisor is needed.
 */
/** What SupervisorClient needs of the supervisor's process: a ChildProcess, or a LauncherRunner's start(). */
export interface SupervisorChild {
  readonly stdin: { readonly writable: boolean; write(data: Buffer): unknown; on(event: 'error', listener: (err: Error) => void): unknown } | null;
  readonly stdout: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  readonly stderr: { on(event: 'data', listener: (chunk: Buffer) => void): unknown } | null;
  on(event: 'error', listener: (err: Error) => void): unknown;
  on(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
}

export class SupervisorClient {
  readonly ready: Promise<string | null>;
  private readonly jobs = new Map<number, SpawnHandlers>();
  private nextId = 1;
  private buffer: Buffer = Buffer.alloc(0);
  private stderr = '';
  private failure: string | null = null;
  private markReady!: (failure: string | null) => void;
  private stopping = false;
  private readyNow = false;
  private readonly name: string;

  constructor(
    private readonly child: ChildProcess | SupervisorChild,
    private readonly options: SupervisorOptions,
  ) {
    this.name = options.name ?? 'sandbox';
    this.ready = new Promise((resolve) => (this.markReady = resolve));
    const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
    const startTimer = setTimeout(() => {
      if (!this.readyNow) this.fail(`the ${this.name} did not start within ${startTimeoutMs / 1000} s`);
    }, startTimeoutMs);
    startTimer.unref();
    void this.ready.then(() => clearTimeout(startTimer));
    child.stdin?.on('error', () => {});
    child.stdout?.on('data', (chunk: Buffer) => this.receive(chunk));
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString('utf8')).slice(-4000);
    });
    child.on('error', (err) => this.fail(`could not start the ${this.name}: ${err.message}`));
    child.on('exit', (code, signal) => {
      const why = this.stderr.trim() || `exit ${code ?? signal}`;
      this.fail(`the ${this.name} stopped (${why})`);
    });
  }

  /** It said it is ready (and has not died since). */
  get isReady(): boolean {
    return this.readyNow && this.failure === null;
  }

  /** Something it started (or a mount it does) has not ended yet. */
  get busy(): boolean {
    return this.jobs.size > 0;
  }

  /** Dead: a new command needs a new supervisor. */
  get dead(): boolean {
    return this.failure !== null;
  }

  /** Starts one process; `handlers.end` is called exactly once, also when it cannot start. */
  spawn(request: SpawnRequest, handlers: SpawnHandlers): SpawnHandle {
    const id = this.nextId++;
    const noop: SpawnHandle = { kill: () => {} };
    if (this.failure !== null) {
      handlers.end({ code: null, signal: 0, failure: this.failure });
      return noop;
    }
    const { argv, cwd, env } = request;
    const cgroups = request.cgroups ?? [];
    const strings = [cwd, ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv, ...cgroups];
    if (argv.length === 0 || strings.some((x) => x.includes('\0'))) {
      handlers.end({ code: null, signal: 0, failure: argv.length === 0 ? 'empty command' : 'arguments and environment cannot contain NUL bytes' });
      return noop;
    }
    const fds = request.fds ?? [];
    if (fds.some((data) => data.length > MAX_FD_DATA)) {
      handlers.end({ code: null, signal: 0, failure: `data for an extra fd is limited to ${MAX_FD_DATA} bytes` });
      return noop;
    }
    const streaming = request.stdin === 'stream';
    const header = Buffer.alloc(28);
    header.writeUInt32BE(Object.keys(env).length, 0);
    header.writeUInt32BE(argv.length, 4);
    header.writeUInt32BE(streaming ? 2 : request.stdin === undefined ? 0 : 1, 8);
    header.writeUInt32BE(request.uid ?? NO_UID, 12);
    header.writeUInt32BE(fds.length, 16);
    header.writeUInt32BE(request.noNewPrivs ? 1 : 0, 20);
    header.writeUInt32BE(cgroups.length, 24);
    const fields = Buffer.from(strings.map((x) => `${x}\0`).join(''), 'utf8');
    const stdin = streaming || request.stdin === undefined ? Buffer.alloc(0) : typeof request.stdin === 'string' ? Buffer.from(request.stdin, 'utf8') : request.stdin;
    this.begin(id, handlers, 'S', Buffer.concat([header, fields, ...fds.flatMap((data) => [u32(data.length), data]), stdin]));
    return {
      kill: (signal = 9) => this.jobs.has(id) && this.send('K', id, u32(signal)),
      write: (data) => {
        for (let at = 0; at < data.length && this.jobs.has(id); at += MAX_FD_DATA) this.send('I', id, data.subarray(at, at + MAX_FD_DATA));
      },
      end: () => this.jobs.has(id) && this.send('C', id, Buffer.alloc(0)),
    };
  }

  /**
   * mount(2) (`M`) or umount2(2) (`U`) done by the supervisor itself: resolves to 0 or the errno
   * (ENOSYS where it does not know the syscall number), or null when the supervisor failed.
   */
  syscall(op: { mount: { source: string; target: string; fstype: string; flags: number; data: string } } | { umount: { target: string; flags: number } }): Promise<number | null> {
    return new Promise((resolve) => {
      const id = this.nextId++;
      const handlers: SpawnHandlers = { end: (end) => resolve(end.failure !== undefined ? null : end.code) };
      if (this.failure !== null) return handlers.end({ code: null, signal: 0, failure: this.failure });
      const fields = 'mount' in op ? [op.mount.source, op.mount.target, op.mount.fstype, op.mount.data] : [op.umount.target];
      if (fields.some((f) => f.includes('\0'))) return resolve(null);
      const flags = u32('mount' in op ? op.mount.flags : op.umount.flags);
      this.begin(id, handlers, 'mount' in op ? 'M' : 'U', Buffer.concat([flags, Buffer.from(fields.join('\0'), 'utf8')]));
    });
  }

  /** A sandbox command: its timeout, abort signal, output caps and result. */
  exec(argv: string[], cwd: string, env: Record<string, string>, options: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const stdout = new OutputCapture(maxBytes, options.onStdout);
    const stderr = new OutputCapture(maxBytes, options.onStderr);
    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let timer: NodeJS.Timeout | undefined;
    let handle: SpawnHandle | undefined;
    const killJob = (): void => {
      if (killTimer || !handle) return;
      handle.kill(9);
      // A supervisor that cannot even kill is broken: end it, which ends this exec.
      killTimer = setTimeout(() => this.stop(`the ${this.name} did not kill a command in time`), 5_000);
    };
    const onAbort = (): void => {
      aborted = true;
      killJob();
    };
    let ended = false;
    return new Promise<ExecResult>((resolve) => {
      handle = this.spawn(
        { argv, cwd, env, stdin: options.stdin },
        {
          stdout: (chunk) => stdout.push(chunk),
          stderr: (chunk) => stderr.push(chunk),
          end: (end) => {
            ended = true;
            clearTimeout(timer);
            clearTimeout(killTimer);
            options.signal?.removeEventListener('abort', onAbort);
            stdout.end();
            stderr.end();
            // Disposed under it: the command was killed on purpose.
            if (end.failure !== undefined && this.stopping) aborted = true;
            const killed = timedOut || aborted;
            // Killed by us (timeout, abort): no exit code and the signal, as for any host process.
            // Killed by anything else (the OOM killer, itself): 128 + signal, as a shell reports
            // it and as the other drivers (a bwrap of its own, docker exec) do.
            const bySignal = end.signal !== 0 && !killed;
            resolve({
              exitCode: bySignal ? 128 + end.signal : end.code,
              signal: end.signal && !bySignal ? (SIGNAL_NAMES.get(end.signal) ?? `signal ${end.signal}`) : null,
              timedOut,
              aborted,
              stdout: stdout.text(),
              stderr: stderr.text(),
              truncated: stdout.truncated || stderr.truncated,
              durationMs: Date.now() - started,
              // A command the host killed reports that, not a sandbox error, whoever ended it.
              ...(end.failure !== undefined && !killed ? { sandboxError: end.failure } : {}),
            });
          },
        },
      );
      if (ended) return; // could not even be sent
      timer = setTimeout(() => {
        timedOut = true;
        killJob();
      }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Kills the supervisor and everything it started; what was in flight ends as killed. */
  stop(reason = 'sandbox disposed'): void {
    this.stopping = true;
    this.options.kill();
    this.fail(reason);
  }

  /** Sends a request whose answer ends with an exit frame; end() is its other half. */
  private begin(id: number, handlers: SpawnHandlers, type: string, body: Buffer): void {
    this.jobs.set(id, handlers);
    if (this.jobs.size === 1) this.options.onBusy?.(true);
    this.send(type, id, body);
  }

  private end(id: number, end: SpawnEnd): void {
    const handlers = this.jobs.get(id);
    if (!handlers) return;
    this.jobs.delete(id);
    if (this.jobs.size === 0) this.options.onBusy?.(false);
    handlers.end(end);
  }

  private fail(reason: string): void {
    if (this.failure === null) this.failure = reason;
    this.markReady(this.failure);
    if (!this.stopping) this.options.kill();
    for (const id of [...this.jobs.keys()]) this.end(id, { code: null, signal: 0, failure: this.failure });
  }

  private send(type: string, id: number, body: Buffer): void {
    if (this.failure !== null || !this.child.stdin?.writable) return;
    const head = Buffer.alloc(9);
    head.writeUInt32BE(5 + body.length, 0);
    head.write(type, 4, 'latin1');
    head.writeUInt32BE(id, 5);
    this.child.stdin.write(Buffer.concat([head, body]));
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 4) {
      const len = this.buffer.readUInt32BE(0);
      if (len < 5 || len > MAX_FRAME) return this.fail(`the ${this.name} sent a malformed frame (${len} bytes)`);
      if (this.buffer.length < 4 + len) return;
      const type = String.fromCharCode(this.buffer[4]!);
      const id = this.buffer.readUInt32BE(5);
      const body = this.buffer.subarray(9, 4 + len);
      this.buffer = this.buffer.subarray(4 + len);
      if (type === 'R' && id === 0) {
        this.readyNow = true;
        this.markReady(null);
        continue;
      }
      if (!'OEFX'.includes(type) || (type === 'X' && body.length !== 8)) return this.fail(`the ${this.name} sent an unknown frame (${JSON.stringify(type)})`);
      const handlers = this.jobs.get(id);
      if (!handlers) continue;
      if (type === 'O') handlers.stdout?.(body);
      else if (type === 'E') handlers.stderr?.(body);
      else if (type === 'F') this.end(id, { code: null, signal: 0, failure: body.toString('utf8').slice(0, 1000) || 'the command could not start' });
      else {
        const code = body.readInt32BE(0);
        this.end(id, { code: code >= 0 ? code : null, signal: body.readInt32BE(4) });
      }
    }
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}
