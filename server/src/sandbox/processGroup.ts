// Runs one host process as the leader of its own process group and reports how it ended as a
// value. Timeout, abort and dispose SIGKILL the whole group; whatever the command left behind in
// the group (background jobs) is killed when the leader exits, so nothing outlives an exec.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { DEFAULT_MAX_OUTPUT_BYTES, OutputCapture } from './output';
import type { ExecOptions, ExecResult } from './types';

export const DEFAULT_TIMEOUT_MS = 120_000;

/** How long to wait for the pipes to drain after the leader died before giving up on them. */
const DRAIN_AFTER_EXIT_MS = 2_000;

export interface GroupSpawn {
  file: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
  /** Extra pipes handed to the child as fds 3, 4, ... */
  extraPipes?: number;
  /** Called once the child exists, to feed / read the extra pipes. */
  onSpawn?: (child: ChildProcess) => void;
}

export interface GroupRun {
  result: Promise<ExecResult & { spawnError?: string }>;
  /** Kill the group now; the result reports it as aborted. */
  kill(): void;
}

export function killGroup(pid: number | undefined, signal: number | NodeJS.Signals = 'SIGKILL'): void {
  if (!pid) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

export function emptyResult(started: number, fields: Partial<ExecResult>): ExecResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    aborted: false,
    stdout: '',
    stderr: '',
    truncated: false,
    durationMs: Date.now() - started,
    ...fields,
  };
}

export function runProcessGroup(spawnSpec: GroupSpawn, options: ExecOptions = {}): GroupRun {
  const started = Date.now();
  if (options.signal?.aborted) {
    return { result: Promise.resolve(emptyResult(started, { aborted: true })), kill: () => {} };
  }
  const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new OutputCapture(maxBytes, options.onStdout);
  const stderr = new OutputCapture(maxBytes, options.onStderr);
  const extra = Array.from({ length: spawnSpec.extraPipes ?? 0 }, () => 'pipe' as const);
  const child = spawn(spawnSpec.file, spawnSpec.args, {
    env: spawnSpec.env,
    cwd: spawnSpec.cwd,
    detached: true,
    stdio: [options.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe', ...extra],
  });

  let timedOut = false;
  let aborted = false;
  const kill = (): void => killGroup(child.pid);
  const onAbort = (): void => {
    aborted = true;
    kill();
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const result = new Promise<ExecResult & { spawnError?: string }>((resolve) => {
    let spawnError: string | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let drainTimer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', onAbort);
      stdout.end();
      stderr.end();
      resolve({
        exitCode: exit?.code ?? null,
        signal: exit?.signal ?? null,
        timedOut,
        aborted,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        durationMs: Date.now() - started,
        ...(spawnError ? { spawnError } : {}),
      });
    };
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (err) => {
      spawnError = err.message;
      if (child.pid === undefined) finish();
    });
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      // Background jobs of the command still hold the group (and maybe our pipes): end them.
      kill();
      drainTimer = setTimeout(() => {
        for (const stream of child.stdio) (stream as Readable | Writable | null)?.destroy();
        finish();
      }, DRAIN_AFTER_EXIT_MS);
    });
    child.on('close', finish);
  });

  if (options.stdin !== undefined && child.stdin) {
    // A command that exits without reading its input closes the pipe under us: not an error.
    child.stdin.on('error', () => {});
    child.stdin.end(options.stdin);
  }
  if (child.pid !== undefined) spawnSpec.onSpawn?.(child);
  return { result, kill: onAbort };
}
