// The contract between the loop and each tool. Failure is a value (ok: false with a message the
// model can act on); tools throw only for bugs.
import { type z } from 'zod';
import type { TestResult } from '../../../../protocol';
import type { Sandbox } from '../../sandbox/types';
import type { ConfinedFiles } from '../../workspace/types';
import type { AgentEvent } from '../types';
import { WorkspacePathError } from '../../workspace/types';

export interface ToolContext {
  callId: string;
  sandbox: Sandbox;
  files: ConfinedFiles;
  /** Aborted on cancel and on the wall-time limit. */
  signal: AbortSignal;
  commandTimeoutMs: number;
  emit(event: AgentEvent): void;
  ask(question: string, signal: AbortSignal): Promise<string>;
}

export interface ToolOutcome {
  ok: boolean;
  /** What the model sees (already capped). */
  output: string;
  exitCode?: number | null;
  /** The run was stopped while the tool worked. */
  aborted?: boolean;
  /** Set by finish: the run ends after this call. */
  finish?: { summary: string; testResult?: TestResult };
}

export interface Tool<A = unknown> {
  name: string;
  description: string;
  schema: z.ZodType<A>;
  /** Whether running it may change the workspace (the host then re-diffs). */
  changesFiles: boolean;
  run(args: A, ctx: ToolContext): Promise<ToolOutcome>;
}

/** Keeps each tool's argument type while storing tools in one list. */
export function defineTool<A>(tool: Tool<A>): Tool<unknown> {
  return tool;
}

/**
 * Paths as the model writes them → relative to the workspace root. The model sees /workspace as its
 * current directory, so it often writes absolute paths under it.
 */
export function normalizeToolPath(path: string | undefined): string {
  let p = (path ?? '').trim();
  if (p === '/workspace' || p === '/workspace/') return '';
  if (p.startsWith('/workspace/')) p = p.slice('/workspace/'.length);
  while (p.startsWith('./')) p = p.slice(2);
  if (p === '.') return '';
  return p.replace(/\/+$/, '');
}

/** A failed file operation as a message for the model. */
export function describeFileError(err: unknown, path: string): string {
  if (err instanceof WorkspacePathError) return err.message;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return `No such file or directory: ${path}`;
  if (code === 'EISDIR') return `${path} is a directory; use list_files to see its contents.`;
  if (code === 'ENOTDIR') return `${path}: a parent of this path is a file, not a directory.`;
  if (code === 'EACCES' || code === 'EPERM') return `Permission denied: ${path}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return `No space left in the workspace while writing ${path}.`;
  return `${path}: ${err instanceof Error ? err.message : String(err)}`;
}
