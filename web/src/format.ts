// The words and short forms the VS Code queue uses, for the same states.
import { isFinished, type Task, type TaskStatus } from '../../protocol/task';

export { formatCost, formatElapsed, formatShortElapsed, formatTokens, firstLine, shortTitle } from '../../src/util/format';

/** As the extension's queue says it (src/views/taskTree.ts). */
export function statusLabel(status: TaskStatus): string {
  return status === 'waiting_for_input' ? 'needs input' : status === 'completed' ? 'ready for review' : status.replace(/_/g, ' ');
}

export type Filter = 'all' | 'running' | 'waiting' | 'done' | 'failed';

export function matchesFilter(task: Task, filter: Filter): boolean {
  switch (filter) {
    case 'all':
      return true;
    case 'running':
      return ['queued', 'preparing', 'running'].includes(task.status);
    case 'waiting':
      return task.status === 'waiting_for_input';
    case 'done':
      return task.status === 'completed';
    case 'failed':
      return ['failed', 'cancelled', 'interrupted'].includes(task.status);
    default: {
      const never: never = filter;
      return never;
    }
  }
}

export function elapsedMs(task: Task, now: number): number {
  if (!task.startedAt) return 0;
  const end = task.finishedAt ? Date.parse(task.finishedAt) : isFinished(task.status) ? Date.parse(task.updatedAt) : now;
  return Math.max(0, end - Date.parse(task.startedAt));
}

export function lineCounts(task: Task): { adds: number; dels: number } {
  return {
    adds: task.changedFiles.reduce((n, f) => n + f.additions, 0),
    dels: task.changedFiles.reduce((n, f) => n + f.deletions, 0),
  };
}
