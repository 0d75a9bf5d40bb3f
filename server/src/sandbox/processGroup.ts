// Runs one host process as the leader of its own process group and reports how it ended as a
// value. Timeout, abort and dispose SIGKILL the whole group; whatever the command left behind in
// the group (background jobs) is killed when the leader exits, so nothing outlives an exec.
import { constants as osConstants } from 'node:os';
import type { ProcessRunner, SpawnRequest } from '../util/processRunner';
import { DEFAULT_MAX_OUTPUT_BYTES, OutputCapture } from './output';
import type { ExecOptions, ExecResult } from './types';

export const DEFAULT_TIMEOUT_MS = 120_000;

const SIGNAL_NAMES = new Map<number, string>(Object.entries(osConstants.signals).map(([name, n]) => [n, name]));

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

/**
 * Runs one command through the server's ProcessRunner (the one exec path of a driver that starts
 * commands on the host), with the timeout, abort, output caps and streaming of ExecOptions. The
 * runner ends the command's whole group when it exits or is killed.
 */
export function runProcessGroup(runner: ProcessRunner, request: SpawnRequest, options: ExecOptions = {}): GroupRun {
  const started = Date.now();
  if (options.signal?.aborted) {
    return { result: Promise.resolve(emptyResult(started, { aborted: true })), kill: () => {} };
  }
  const maxBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new OutputCapture(maxBytes, options.onStdout);
  const stderr = new OutputCapture(maxBytes, options.onStderr);
  let timedOut = false;
  let aborted = false;
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => {};
  const result = new Promise<ExecResult & { spawnError?: string }>((resolve) => {
    const handle = runner.run(
      { ...request, ...(options.stdin !== undefined ? { stdin: options.stdin } : {}) },
      {
        stdout: (chunk) => stdout.push(chunk),
        stderr: (chunk) => stderr.push(chunk),
        end: ({ code, signal, failure }) => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          stdout.end();
          stderr.end();
          resolve({
            exitCode: code,
            signal: signal ? (SIGNAL_NAMES.get(signal) ?? `SIG${signal}`) : null,
            timedOut,
            aborted,
            stdout: stdout.text(),
            stderr: stderr.text(),
            truncated: stdout.truncated || stderr.truncated,
            durationMs: Date.now() - started,
            ...(failure !== undefined ? { spawnError: failure } : {}),
          });
        },
      },
    );
    onAbort = (): void => {
      aborted = true;
      handle.kill(9);
    };
    timer = setTimeout(() => {
      timedOut = true;
      handle.kill(9);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    options.signal?.addEventListener('abort', onAbort, { once: true });
  });
  return { result, kill: () => onAbort() };
}
