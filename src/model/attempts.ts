// Best-of-N as the views show it: one row per attempt and the "attempt 2 of 3" label. Pure (no
// `vscode`), shared by the tree, the quick pick and the panel's webview script.
import type { TaskEvent } from '../../protocol/events';
import { addUsage, EMPTY_USAGE, isFinished, type AttemptInfo, type ChangedFile, type Task } from '../../protocol/task';

export interface AttemptRow {
  index: number;
  /** 1-based, as people count. */
  title: string;
  status: AttemptInfo['status'];
  files: number;
  additions: number;
  deletions: number;
  summary: string | undefined;
  error: string | undefined;
  selected: boolean;
  /** The server only lets a finished attempt be chosen. */
  selectable: boolean;
}

/** True when the task ran more than one attempt. */
export function hasAttempts(task: Task): boolean {
  return (task.attempts?.length ?? 0) > 1;
}

/** The attempt the task's top-level fields mirror. */
export function selectedIndex(task: Task): number {
  return task.selectedAttempt ?? 0;
}

/** "attempt 2 of 3" for a best-of-N task; undefined for a single attempt. */
export function attemptDescription(task: Task): string | undefined {
  if (!hasAttempts(task)) return undefined;
  return `attempt ${selectedIndex(task) + 1} of ${task.attempts!.length}`;
}

export function attemptRows(task: Task): AttemptRow[] {
  if (!hasAttempts(task)) return [];
  const selected = task.selectedAttempt;
  return [...task.attempts!]
    .sort((a, b) => a.index - b.index)
    .map((a) => ({
      index: a.index,
      title: `Attempt ${a.index + 1}`,
      status: a.status,
      files: a.changedFiles.length,
      additions: a.changedFiles.reduce((n, f) => n + f.additions, 0),
      deletions: a.changedFiles.reduce((n, f) => n + f.deletions, 0),
      summary: a.summary,
      error: a.error?.message,
      // Before the server picked one (all still running) nothing is selected yet.
      selected: selected !== undefined && a.index === selected,
      selectable: isFinished(a.status) && a.index !== selected,
    }));
}

/** "completed · 2 files +3 −1" for lists that have room for one line per attempt. */
export function describeAttempt(row: AttemptRow): string {
  const parts = [row.status.replace(/_/g, ' ')];
  if (row.files) parts.push(`${row.files} file${row.files === 1 ? '' : 's'} +${row.additions} −${row.deletions}`);
  else if (isFinished(row.status)) parts.push('no changes');
  return parts.join(' · ');
}

/**
 * Folds an attempt-scoped event into that attempt's entry. The server announces an attempt's own
 * progress only through these events (task.status fires when the whole task's status moves), so
 * without this a finished attempt would show stale numbers until the last one ends.
 */
export function reduceAttempt(task: Task, event: TaskEvent): Task {
  if (!task.attempts || task.attempts.length < 2) return task;
  const index = event.attempt ?? 0;
  const at = task.attempts.findIndex((a) => a.index === index);
  if (at < 0) return task;
  const before = task.attempts[at]!;
  let after: AttemptInfo;
  switch (event.type) {
    case 'diff.updated':
      after = { ...before, changedFiles: event.changedFiles };
      break;
    case 'usage':
      after = { ...before, usage: event.usage };
      break;
    case 'agent.finished':
      after = { ...before, summary: event.summary };
      break;
    default:
      return task;
  }
  const attempts = task.attempts.map((a, i) => (i === at ? after : a));
  return { ...task, attempts, usage: attempts.reduce((u, a) => addUsage(u, a.usage), EMPTY_USAGE) };
}

export function sameFiles(a: readonly ChangedFile[], b: readonly ChangedFile[]): boolean {
  return a.length === b.length && a.every((f, i) => JSON.stringify(f) === JSON.stringify(b[i]));
}


