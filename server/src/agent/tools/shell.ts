// shell: one command in the sandbox. Output streams to the user as tool.output events (batched and
// capped so a chatty build cannot flood the event log); the model gets the exit code and the head
// and tail of the output.
import { z } from 'zod';
import type { AgentEvent } from '../types';
import { truncateMiddle } from '../truncate';
import { describeLimit } from '../../sandbox/limits';
import type { ExecResult } from '../../sandbox/types';
import { defineTool, normalizeToolPath } from './types';

/** What the model sees of a command's output. */
export const MODEL_OUTPUT_CAP = 10_000;
/** What the sandbox keeps of each stream (head + tail). */
const EXEC_OUTPUT_CAP = 256 * 1024;
/** Live output per command in the event log; the rest is summarised by one notice. */
export const LIVE_OUTPUT_CAP = 128 * 1024;
const LIVE_CHUNK = 8 * 1024;
const LIVE_FLUSH_MS = 100;

/** Batches output into events of at most LIVE_CHUNK characters, at most every LIVE_FLUSH_MS. */
export class OutputRelay {
  private readonly pending = { stdout: '', stderr: '' };
  private sent = 0;
  private capped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly callId: string,
    private readonly emit: (event: AgentEvent) => void,
  ) {}

  push(stream: 'stdout' | 'stderr', chunk: string): void {
    if (this.capped) return;
    this.pending[stream] += chunk;
    if (this.pending[stream].length >= LIVE_CHUNK) this.flush();
    else this.timer ??= setTimeout(() => this.flush(), LIVE_FLUSH_MS);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const stream of ['stdout', 'stderr'] as const) {
      let text = this.pending[stream];
      this.pending[stream] = '';
      while (text && !this.capped) {
        const room = LIVE_OUTPUT_CAP - this.sent;
        if (room <= 0) {
          this.capped = true;
          this.emit({ type: 'tool.output', callId: this.callId, stream, chunk: '\n[live output stopped here; the tool result has the end of it]\n' });
          break;
        }
        const piece = text.slice(0, Math.min(LIVE_CHUNK, room));
        text = text.slice(piece.length);
        this.sent += piece.length;
        this.emit({ type: 'tool.output', callId: this.callId, stream, chunk: piece });
      }
    }
  }

  close(): void {
    this.flush();
    clearTimeout(this.timer);
  }
}

/** How the command ended, first line of what the model sees. */
function statusLine(result: ExecResult, limit: string | undefined, timeoutMs: number): string {
  if (result.timedOut) return `killed: ${limit ?? `time limit ${timeoutMs} ms`} reached.`;
  const code = result.exitCode ?? result.signal ?? 'unknown';
  // The OOM killer's SIGKILL and SIGXFSZ end the command; a full disk or the pids cap make it fail.
  if (limit && (result.limit?.kind === 'memory' || result.limit?.kind === 'file size')) return `killed: ${limit} reached (exit code ${code}).`;
  if (limit) return `Exit code: ${code} (the sandbox's ${limit} was reached).`;
  return result.exitCode === null ? `Killed by signal ${result.signal ?? 'unknown'}.` : `Exit code: ${result.exitCode}`;
}

const ShellArgs = z.object({
  command: z.string().min(1).describe('The command line, run with /bin/sh -c in the repository (/workspace).'),
  workdir: z.string().optional().describe('Directory to run in, relative to the repository root. Default: the root.'),
  timeout_ms: z.number().int().positive().optional().describe('Kill the command after this many milliseconds.'),
});

export const shellTool = defineTool<z.infer<typeof ShellArgs>>({
  name: 'shell',
  description:
    'Run a shell command in the sandbox (bash-compatible /bin/sh, non-interactive; network only if the task allows it) with the repository as the current directory. Use it to build, run tests, inspect git status/diff, and explore. Returns the exit code and the output (long output is cut in the middle).',
  schema: ShellArgs,
  changesFiles: true,
  async run(args, ctx) {
    const relay = new OutputRelay(ctx.callId, (event) => ctx.emit(event));
    const timeoutMs = Math.min(args.timeout_ms ?? ctx.commandTimeoutMs, ctx.commandTimeoutMs);
    const cwd = normalizeToolPath(args.workdir);
    try {
      const result = await ctx.sandbox.exec(args.command, {
        cwd: cwd || undefined,
        timeoutMs,
        signal: ctx.signal,
        maxOutputBytes: EXEC_OUTPUT_CAP,
        onStdout: (chunk) => relay.push('stdout', chunk),
        onStderr: (chunk) => relay.push('stderr', chunk),
      });
      relay.close();
      if (result.sandboxError) {
        return { ok: false, output: `The sandbox could not run the command: ${result.sandboxError}`, exitCode: null };
      }
      if (result.aborted) return { ok: false, output: 'aborted', exitCode: result.exitCode, aborted: true };
      let output = result.stdout;
      if (result.stderr) output += `${output && !output.endsWith('\n') ? '\n' : ''}[stderr]\n${result.stderr}`;
      // A limit says which and how much, so the model can change course instead of retrying.
      const limit = result.limit && describeLimit(result.limit);
      if (limit) ctx.emit({ type: 'warning', error: { code: 'limit_reached', message: `A command ran into the sandbox's ${limit}: ${args.command.slice(0, 200)}` } });
      const status = statusLine(result, limit, timeoutMs);
      const took = `(${(result.durationMs / 1000).toFixed(1)} s)`;
      const body = output ? truncateMiddle(output, MODEL_OUTPUT_CAP) : '(no output)';
      const note = result.truncated ? '\n[the sandbox dropped part of a very long output]' : '';
      return {
        ok: result.exitCode === 0 && !result.timedOut,
        output: `${status} ${took}\n${body}${note}`,
        exitCode: result.exitCode,
      };
    } finally {
      relay.close();
    }
  },
});
